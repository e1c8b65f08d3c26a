//! Generates a CloudTrail corpus laid out as S3 delivery files, for benchmarks.
//!
//! `cargo run --release -p squall-logs --example gen_cloudtrail -- OUT_DIR SIZE_MB [--gzip] [--single-file]`
//!
//! `--single-file` writes the whole corpus as one `{"Records":[...]}` line, the worst case for
//! memory and for spreading one file over both cores.
//!
//! `--identities N` draws the caller of each record from N principals, each with its own key
//! and address (instance roles' sessions from EC2 addresses, delivered by EC2; people and
//! CI from outside AWS), as a real trail has; without it every record has a new key and
//! address, the worst case for the stolen-credential detector.
//!
//! Records are varied the way real trails are (mostly assumed roles and services, some IAM
//! users with long-term keys, reads and writes across many services, nested parameters), each
//! about 1 KB, about 2,000 per file. Deterministic: the same arguments give the same bytes.

use std::io::Write;
use std::path::PathBuf;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit((self.next() % 16) as u32, 16).unwrap())
            .collect()
    }
    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(4),
            self.hex(4),
            self.hex(12)
        )
    }
}

const CALLS: &[(&str, &str, bool)] = &[
    ("ec2.amazonaws.com", "DescribeInstances", true),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", true),
    ("ec2.amazonaws.com", "RunInstances", false),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false),
    ("ec2.amazonaws.com", "CreateTags", false),
    ("s3.amazonaws.com", "GetBucketAcl", true),
    ("s3.amazonaws.com", "ListBuckets", true),
    ("s3.amazonaws.com", "PutBucketPolicy", false),
    ("sts.amazonaws.com", "AssumeRole", true),
    ("sts.amazonaws.com", "GetCallerIdentity", true),
    ("kms.amazonaws.com", "Decrypt", true),
    ("kms.amazonaws.com", "GenerateDataKey", true),
    ("iam.amazonaws.com", "ListRoles", true),
    ("iam.amazonaws.com", "GetUser", true),
    ("iam.amazonaws.com", "CreateAccessKey", false),
    ("iam.amazonaws.com", "AttachRolePolicy", false),
    ("lambda.amazonaws.com", "Invoke", false),
    ("lambda.amazonaws.com", "ListFunctions20150331", true),
    ("logs.amazonaws.com", "CreateLogStream", false),
    ("ssm.amazonaws.com", "GetParameter", true),
    ("secretsmanager.amazonaws.com", "GetSecretValue", true),
    ("cloudtrail.amazonaws.com", "LookupEvents", true),
    ("signin.amazonaws.com", "ConsoleLogin", false),
    ("rds.amazonaws.com", "DescribeDBInstances", true),
];
const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const ROLES: &[&str] = &[
    "app-server",
    "ci-runner",
    "lambda-exec",
    "monitoring",
    "OrganizationAccountAccessRole",
];
const USERS: &[&str] = &["alice", "bob", "deploy-bot", "backup"];

/// A caller from a pool of `n`: the same index always gives the same key, kind and address.
fn pooled(rng: &mut Rng, account: &str, n: u64) -> (serde_json::Value, String) {
    let id = rng.next() % n;
    let h = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (id << 7);
    let outside = format!("198.18.{}.{}", (h >> 8) % 256, (h >> 16) % 256);
    match id % 10 {
        0..=3 => {
            let instance = format!("i-0{:016x}", h);
            let ip = format!(
                "3.{}.{}.{}",
                80 + (h >> 8) % 16,
                (h >> 16) % 256,
                (h >> 24) % 256
            );
            let who = serde_json::json!({"type": "AssumedRole",
                "arn": format!("arn:aws:sts::{account}:assumed-role/app-server/{instance}"),
                "accountId": account, "accessKeyId": format!("ASIA{:016X}", h),
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "app-server",
                    "arn": format!("arn:aws:iam::{account}:role/app-server")},
                    "ec2RoleDelivery": "2.0"}});
            (who, ip)
        }
        4..=6 => {
            let role = ROLES[(h % ROLES.len() as u64) as usize];
            let who = serde_json::json!({"type": "AssumedRole",
                "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/s{id}"),
                "accountId": account, "accessKeyId": format!("ASIA{:016X}", h),
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role}}});
            (who, outside)
        }
        7 | 8 => {
            let user = USERS[(h % USERS.len() as u64) as usize];
            let who = serde_json::json!({"type": "IAMUser",
                "arn": format!("arn:aws:iam::{account}:user/{user}"), "accountId": account,
                "accessKeyId": format!("AKIA{:016X}", h), "userName": user});
            (who, outside)
        }
        _ => (
            serde_json::json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}),
            "ec2.amazonaws.com".to_string(),
        ),
    }
}

fn record(
    rng: &mut Rng,
    account: &str,
    region: &str,
    t: u64,
    pool: Option<u64>,
) -> serde_json::Value {
    let (source, name, read_only) = *rng.pick(CALLS);
    let secs = t % 86_400;
    let time = format!(
        "2026-09-14T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    let kind = rng.next() % 10;
    let identity = if kind < 7 {
        let role = rng.pick(ROLES);
        serde_json::json!({
            "type": "AssumedRole", "principalId": format!("AROA{}:{}", rng.hex(16).to_uppercase(), rng.hex(8)),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{}", rng.hex(8)),
            "accountId": account, "accessKeyId": format!("ASIA{}", rng.hex(16).to_uppercase()),
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", rng.hex(16).to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:role/{role}"), "accountId": account, "userName": role},
                "attributes": {"creationDate": time, "mfaAuthenticated": "false"}}
        })
    } else if kind < 9 {
        let user = rng.pick(USERS);
        serde_json::json!({
            "type": "IAMUser", "principalId": format!("AIDA{}", rng.hex(16).to_uppercase()),
            "arn": format!("arn:aws:iam::{account}:user/{user}"), "accountId": account,
            "accessKeyId": format!("AKIA{}", rng.hex(16).to_uppercase()), "userName": user
        })
    } else {
        serde_json::json!({"type": "AWSService", "invokedBy": *rng.pick(&["ec2.amazonaws.com", "lambda.amazonaws.com", "config.amazonaws.com"])})
    };
    let params = match name {
        "DescribeInstances" => {
            serde_json::json!({"instancesSet": {"items": [{"instanceId": format!("i-{}", rng.hex(17))}]}, "filterSet": {}})
        }
        "RunInstances" => {
            serde_json::json!({"instanceType": *rng.pick(&["t3.micro", "m5.large", "c5.xlarge"]),
            "instancesSet": {"items": [{"imageId": format!("ami-{}", rng.hex(17)), "minCount": 1, "maxCount": 1}]},
            "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false})
        }
        "AuthorizeSecurityGroupIngress" => {
            serde_json::json!({"groupId": format!("sg-{}", rng.hex(17)),
            "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
            "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}})
        }
        "AssumeRole" => {
            serde_json::json!({"roleArn": format!("arn:aws:iam::{account}:role/{}", rng.pick(ROLES)),
            "roleSessionName": rng.hex(12), "durationSeconds": 3600})
        }
        "Decrypt" | "GenerateDataKey" => {
            serde_json::json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{account}:function:{}", rng.hex(10))}})
        }
        "GetBucketAcl" | "PutBucketPolicy" => {
            serde_json::json!({"bucketName": format!("acme-{}", rng.hex(6)), "Host": "s3.amazonaws.com", "acl": ""})
        }
        "CreateAccessKey" | "GetUser" => serde_json::json!({"userName": *rng.pick(USERS)}),
        "AttachRolePolicy" => {
            serde_json::json!({"roleName": *rng.pick(ROLES), "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
        }
        _ => serde_json::json!({}),
    };
    let mut r = serde_json::json!({
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": time, "eventSource": source,
        "eventName": name, "awsRegion": region,
        "sourceIPAddress": format!("{}.{}.{}.{}", 1 + rng.next() % 223, rng.next() % 256, rng.next() % 256, rng.next() % 256),
        "userAgent": *rng.pick(&["aws-cli/2.15.30 Python/3.11.8 Linux/6.1", "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux",
            "aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1", "console.amazonaws.com"]),
        "requestParameters": params, "responseElements": null,
        "requestID": rng.uuid(), "eventID": rng.uuid(), "readOnly": read_only, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.split('.').next().unwrap())}
    });
    if let Some(n) = pool {
        let (who, ip) = pooled(rng, account, n);
        r["userIdentity"] = who;
        r["sourceIPAddress"] = ip.into();
    }
    if rng.next().is_multiple_of(20) {
        r["errorCode"] = "AccessDenied".into();
        r["errorMessage"] = "User is not authorized to perform this operation".into();
    }
    r
}

/// Streams one delivery file of `target` bytes, record by record, so generating it takes no
/// more memory than a record.
fn single_file(out: &std::path::Path, target: u64, gzip: bool, pool: Option<u64>) {
    std::fs::create_dir_all(out).unwrap();
    let name = if gzip {
        "single.json.gz"
    } else {
        "single.json"
    };
    let file = std::io::BufWriter::new(std::fs::File::create(out.join(name)).unwrap());
    let mut w: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::new(6),
        ))
    } else {
        Box::new(file)
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut written, mut t, mut records) = (0u64, 0u64, 0u64);
    w.write_all(b"{\"Records\":[").unwrap();
    while written < target {
        t += rng.next() % 3;
        let rec =
            serde_json::to_vec(&record(&mut rng, "100000000000", "us-east-1", t, pool)).unwrap();
        if records > 0 {
            w.write_all(b",").unwrap();
        }
        w.write_all(&rec).unwrap();
        written += rec.len() as u64 + 1;
        records += 1;
    }
    w.write_all(b"]}").unwrap();
    w.flush().unwrap();
    println!(
        "1 file, {records} records, {:.1} MB uncompressed",
        written as f64 / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gen_cloudtrail OUT_DIR SIZE_MB [--gzip]");
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[1]);
    let target = args[2].parse::<u64>().expect("SIZE_MB") << 20;
    let gzip = args.iter().any(|a| a == "--gzip");
    let pool = args
        .iter()
        .position(|a| a == "--identities")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<u64>().expect("--identities N").max(1));
    if args.iter().any(|a| a == "--single-file") {
        single_file(&out, target, gzip, pool);
        return;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut written, mut file_no, mut t, mut records) = (0u64, 0u64, 0u64, 0u64);
    while written < target {
        let account = format!("{:012}", 100_000_000_000u64 + (file_no % 3));
        let region = REGIONS[(file_no % REGIONS.len() as u64) as usize];
        let recs: Vec<_> = (0..2000)
            .map(|_| {
                t += rng.next() % 3;
                record(&mut rng, &account, region, t, pool)
            })
            .collect();
        records += recs.len() as u64;
        let body = serde_json::to_vec(&serde_json::json!({"Records": recs})).unwrap();
        let dir = out.join(format!("AWSLogs/{account}/CloudTrail/{region}/2026/09/14"));
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!(
            "{account}_CloudTrail_{region}_20260914T{:04}Z_{}.json",
            file_no % 2400,
            rng.hex(16)
        );
        if gzip {
            let f = std::fs::File::create(dir.join(format!("{name}.gz"))).unwrap();
            let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::new(6));
            enc.write_all(&body).unwrap();
            enc.finish().unwrap();
        } else {
            std::fs::write(dir.join(name), &body).unwrap();
        }
        written += body.len() as u64;
        file_no += 1;
    }
    println!(
        "{} files, {records} records, {:.1} MB uncompressed",
        file_no,
        written as f64 / 1e6
    );
}
