//! `squall collect aws logs` against moto's S3 and CloudTrail, through a proxy that plays the
//! two CloudTrail calls moto does not implement (`LookupEvents`, `ListPublicKeys`) from the
//! API reference, and throttles one download. The bucket is laid out as an organization trail
//! delivers (`AWSLogs/o-…/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`), with digest files signed as
//! CloudTrail signs them (RSA, SHA-256) by a key the fake publishes; then files are altered,
//! deleted and planted after delivery, and the trail was stopped for an hour.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::moto::{Moto, moto, setup};
use common::proxy::{Answer, proxy};
use serde_json::{Value, json};

const FIXTURE: &str = r#"
import gzip, datetime, hashlib, base64
from cryptography.hazmat.primitives.asymmetric import rsa, padding
from cryptography.hazmat.primitives import hashes, serialization
s3 = boto3.client('s3', **kw)
ct = boto3.client('cloudtrail', **kw)
B, ORG, A, OTHER = 'org-trail-logs', 'o-abcdefghij', '123456789012', '111122223333'
s3.create_bucket(Bucket=B)
ct.create_trail(Name='org-main', S3BucketName=B, IsMultiRegionTrail=True, EnableLogFileValidation=True)
ct.start_logging(Name='org-main')
now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
ago = lambda m: now - datetime.timedelta(minutes=m)
ts = lambda t: t.strftime('%Y-%m-%dT%H:%M:%SZ')
def rec(m, name, id, acct=A, region='us-east-1'):
    return dict(eventVersion='1.08', eventTime=ts(ago(m)), eventSource='cloudtrail.amazonaws.com',
        eventName=name, awsRegion=region, sourceIPAddress='203.0.113.9', userAgent='aws-cli/2',
        eventID=id, eventType='AwsApiCall', recipientAccountId=acct, requestParameters={'name': 'org-main'},
        userIdentity=dict(type='IAMUser', accountId=acct, arn=f'arn:aws:iam::{acct}:user/mallory',
            userName='mallory', accessKeyId='AKIAEXAMPLEEXAMPLE01'))
def key(m, n, acct=A, region='us-east-1'):
    t = ago(m)
    return f'AWSLogs/{ORG}/{acct}/CloudTrail/{region}/{t:%Y/%m/%d}/{acct}_CloudTrail_{region}_{t:%Y%m%dT%H%M}Z_{n:016d}.json.gz'
def put(k, records):
    body = json.dumps({'Records': records}).encode()
    s3.put_object(Bucket=B, Key=k, Body=gzip.compress(body))
    return hashlib.sha256(body).hexdigest()
files = {
    't1': (170, [rec(171, 'DescribeInstances', 'e1'), rec(170, 'ListBuckets', 'e2')]),
    't2': (150, [rec(152, 'StopLogging', 'e3')]),
    't3': (88, [rec(90, 'StartLogging', 'e4'), rec(89, 'GetCallerIdentity', 'e5')]),
    't4': (60, [rec(61, 'ListUsers', 'e6')]),
    't5': (40, [rec(41, 'ListRoles', 'e7')]),
    't6': (30, [rec(32, 'GetTrailStatus', 'e8')]),
}
hashes_ = {}
for i, (name, (m, records)) in enumerate(sorted(files.items())):
    hashes_[name] = (key(m, i + 1), put(key(m, i + 1), records))
private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
fingerprint = hashlib.md5(der).hexdigest()
prev = None
for start, end, names in [(180, 145, ['t1', 't2']), (90, 55, ['t3', 't4']), (55, 20, ['t5', 't6'])]:
    t = ago(end)
    k = f'AWSLogs/{ORG}/{A}/CloudTrail-Digest/us-east-1/{t:%Y/%m/%d}/{A}_CloudTrail-Digest_us-east-1_org-main_us-east-1_{t:%Y%m%dT%H%M%S}Z.json.gz'
    d = dict(awsAccountId=A, digestStartTime=ts(ago(start)), digestEndTime=ts(t), digestS3Bucket=B, digestS3Object=k,
        digestPublicKeyFingerprint=fingerprint, digestSignatureAlgorithm='SHA256withRSA',
        newestEventTime=ts(t), oldestEventTime=ts(ago(start)),
        previousDigestS3Bucket=prev and B, previousDigestS3Object=prev and prev[0],
        previousDigestHashValue=prev and prev[1], previousDigestHashAlgorithm=prev and 'SHA-256',
        previousDigestSignature=prev and prev[2],
        logFiles=[dict(s3Bucket=B, s3Object=hashes_[n][0], hashValue=hashes_[n][1], hashAlgorithm='SHA-256',
            newestEventTime=ts(t), oldestEventTime=ts(ago(start))) for n in names])
    body = json.dumps(d).encode()
    inflated = hashlib.sha256(body).hexdigest()
    signed = f"{d['digestEndTime']}\n{B}/{k}\n{inflated}\n{prev[2] if prev else 'null'}"
    sig = private.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
    s3.put_object(Bucket=B, Key=k, Body=gzip.compress(body), Metadata={'signature': sig, 'signature-algorithm': 'SHA256withRSA'})
    prev = (k, inflated, sig)
# After delivery: t4 altered, t5 deleted, a file planted, an object no trail would name.
put(hashes_['t4'][0], [rec(61, 'ListUsers', 'e6'), rec(61, 'ListUsers', 'forged')])
s3.delete_object(Bucket=B, Key=hashes_['t5'][0])
planted = key(50, 99)
put(planted, [rec(51, 'ListGroups', 'e9')])
odd = key(45, 7).rsplit('/', 1)[0] + '/\u202eevil.json.gz'
s3.put_object(Bucket=B, Key=odd, Body=b'x')
# Another account of the organization, another region, no digests.
put(key(100, 5, OTHER, 'us-west-2'), [rec(101, 'ListBuckets', 'e10', OTHER, 'us-west-2')])
# Three days before the window: never listed.
old = key(3 * 24 * 60, 6)
put(old, [rec(3 * 24 * 60, 'ListBuckets', 'old1')])
print(json.dumps(dict(since=ts(ago(165)), now=ts(now), der=base64.b64encode(der).decode(),
    fingerprint=fingerprint, t1=hashes_['t1'][0], t2=hashes_['t2'][0], t3=hashes_['t3'][0], t4=hashes_['t4'][0],
    t5=hashes_['t5'][0], late=key(5, 77), planted=planted, old=old, old_day=ago(3 * 24 * 60).strftime('%Y/%m/%d'),
    lookup=[rec(120, 'CreateUser', 'g1'), rec(100, 'AttachUserPolicy', 'g2'), rec(32, 'GetTrailStatus', 'e8'),
        rec(10, 'DeleteTrail', 'r1'), rec(170, 'ListBuckets', 'e2')])))
"#;

/// The fake's state: what LookupEvents knows (us-east-1 only) and the region's public key.
struct Fake {
    events: Vec<Value>,
    der: String,
    fingerprint: String,
    /// Whether the first download of `throttle` was answered with S3's SlowDown.
    throttled: AtomicBool,
    throttle: String,
}

impl Fake {
    fn answer(&self, text: &str) -> Option<Answer> {
        let json = |body: Value| Answer {
            status: "200 OK",
            content_type: "application/x-amz-json-1.1",
            body: body.to_string().into_bytes(),
        };
        let lower = text.to_ascii_lowercase();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        if lower.contains("x-amz-target: cloudtrail_20131101.listpublickeys") {
            return Some(json(json!({"PublicKeyList": [{
                "Value": self.der, "Fingerprint": self.fingerprint,
                "ValidityStartTime": 0, "ValidityEndTime": 4_000_000_000u64}]})));
        }
        if lower.contains("x-amz-target: cloudtrail_20131101.lookupevents") {
            // The region is the signature's scope; this fake knows us-east-1's events only.
            let here = lower.contains("/us-east-1/cloudtrail/aws4_request");
            let secs = |f: &str| request[f].as_f64().unwrap_or(0.0) as i64;
            let (start, end) = (secs("StartTime"), secs("EndTime"));
            let within: Vec<&Value> = self
                .events
                .iter()
                .filter(|e| {
                    let t = chrono::DateTime::parse_from_rfc3339(e["eventTime"].as_str().unwrap())
                        .unwrap()
                        .timestamp();
                    here && t >= start && t <= end
                })
                .collect();
            // One event a page, so paging is exercised.
            let at: usize = request["NextToken"]
                .as_str()
                .map_or(0, |t| t.parse().unwrap());
            let mut page = json!({"Events": within.get(at).map(|e| vec![json!({
                "EventId": e["eventID"], "EventName": e["eventName"],
                "CloudTrailEvent": e.to_string()})]).unwrap_or_default()});
            if at + 1 < within.len() {
                page["NextToken"] = json!((at + 1).to_string());
            }
            return Some(json(page));
        }
        let first_line = text.lines().next().unwrap_or_default();
        if first_line.starts_with("GET ")
            && first_line.contains(&self.throttle)
            && !self.throttled.swap(true, Ordering::SeqCst)
        {
            return Some(Answer {
                status: "503 Slow Down",
                content_type: "application/xml",
                body: b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_vec(),
            });
        }
        None
    }
}

fn collect(home: &Path, url: &str, case: &str, since: &str, more: &[&str]) -> (i32, Value, String) {
    let out = common::moto::squall(home, url)
        .args([
            "collect", "aws", "logs", "--case", case, "--since", since, "--format", "json",
        ])
        .args(more)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), value, stderr)
}

fn new_case(home: &Path, moto: &Moto, title: &str) {
    common::moto::squall(home, &moto.url)
        .args(["case", "new", "--title", title])
        .assert()
        .success();
}

fn lookup_ids(path: &str) -> BTreeSet<String> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eventID"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_organization_trails_logs_are_collected_checked_filled_and_hunted() {
    let Some(moto) = moto() else { return };
    let fixture: Value = serde_json::from_str(&setup(&moto, FIXTURE)).unwrap();
    let s = |k: &str| fixture[k].as_str().unwrap().to_string();
    let fake = Arc::new(Fake {
        events: fixture["lookup"].as_array().unwrap().clone(),
        der: s("der"),
        fingerprint: s("fingerprint"),
        throttled: AtomicBool::new(false),
        throttle: s("t2").rsplit('/').next().unwrap().to_string(),
    });
    let answering = fake.clone();
    let proxy = proxy(&moto.url, move |text| answering.answer(text));
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto, "Logs of the org");
    let since = s("since");

    let (code, out, stderr) = collect(h, &proxy.url, "C-0001", &since, &[]);
    let c = &out["collected"];
    assert_eq!(
        code, 1,
        "files altered, deleted and planted: TAMPERED\n{out:#}\n{stderr}"
    );
    assert!(
        fake.throttled.load(Ordering::SeqCst),
        "the first download was throttled"
    );
    assert_eq!(c["source"], "s3://org-trail-logs/");
    assert!(c["trail"].as_str().unwrap().ends_with(":trail/org-main"));
    assert_eq!(c["accounts"], json!(["111122223333", "123456789012"]));
    assert_eq!(c["regions"], json!(["us-east-1", "us-west-2"]));
    // Delivered logs of A from the window (t1 before it, t5 deleted, one planted), one of the
    // other account, three digests. t1 is named by the first digest, which reaches back before
    // the window: listed, not fetched, and not taken for deleted.
    assert_eq!(c["files"], 9, "{c:#}");
    assert_eq!(
        c["failures"],
        json!([]),
        "the throttled download was retried"
    );
    assert_eq!(c["digests"], 3);
    assert_eq!(c["digests_verified"], 3, "{c:#}");
    let integrity: Vec<&str> = c["integrity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(integrity.len(), 3, "{integrity:#?}");
    assert!(
        integrity
            .iter()
            .any(|f| f.contains(&s("t4")) && f.contains("altered"))
    );
    assert!(
        integrity
            .iter()
            .any(|f| f.contains(&s("t5")) && f.contains("deleted"))
    );
    assert!(
        integrity
            .iter()
            .any(|f| f.contains(&s("planted")) && f.contains("in no digest"))
    );
    let warnings = c["warnings"].to_string();
    assert!(
        warnings.contains("not named as CloudTrail names its files"),
        "{warnings}"
    );
    assert!(
        warnings.contains("111122223333: LookupEvents not asked"),
        "{warnings}"
    );
    assert!(
        !stderr.contains('\u{202e}'),
        "a key's bidi override reached the terminal"
    );

    // The gaps: the hour the trail was stopped, the hours whose files were deleted or altered,
    // and the minutes not yet delivered, one span here, filled with only what the trusted files
    // lack (e8 is in t6; e2 is outside it).
    let gaps = c["gaps"].as_array().unwrap();
    let ours: Vec<&Value> = gaps
        .iter()
        .filter(|g| g["account"] == "123456789012")
        .collect();
    assert_eq!(ours.len(), 1, "{gaps:#?}");
    let why = ours[0]["why"].as_str().unwrap();
    for cause in [
        "StopLogging",
        "deleted or altered",
        "after the newest delivered event",
    ] {
        assert!(why.contains(cause), "{cause}: {gaps:#?}");
    }
    assert_eq!(ours[0]["events"], 3, "{c:#}");
    assert_eq!(
        lookup_ids(ours[0]["path"].as_str().unwrap()),
        ["g1", "g2", "r1"].map(String::from).into()
    );
    assert_eq!(out["recorded"], 10, "9 files and a LookupEvents file");
    let other: Vec<&Value> = gaps
        .iter()
        .filter(|g| g["account"] == "111122223333")
        .collect();
    assert_eq!(
        other[0]["note"], "not asked: no --role-name for this account",
        "{gaps:#?}"
    );

    // Only the window's day folders were listed, and nothing outside it fetched.
    let seen = proxy.seen.lock().unwrap().join("\n");
    assert!(
        !seen.contains(&s("old_day").replace('/', "%2F")),
        "an old day was listed"
    );
    assert!(
        !seen.contains(&s("old")),
        "a file outside the window was fetched"
    );

    // The ledger holds each file as evidence and the collection; the hunt reads them.
    let case = json_of(
        common::moto::squall(h, &moto.url).args(["case", "show", "C-0001", "--format", "json"]),
    );
    let evidence = case["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 10);
    for e in evidence {
        let path = e["path"].as_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(e["sha256"], squall_hex(&bytes), "{path}");
        assert!(
            e["source"]
                .as_str()
                .unwrap()
                .starts_with("s3://org-trail-logs/AWSLogs/o-abcdefghij/")
                || e["source"]
                    .as_str()
                    .unwrap()
                    .starts_with("cloudtrail:LookupEvents")
        );
    }
    common::moto::squall(h, &moto.url)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success();
    let hunt = common::moto::squall(h, &moto.url)
        .args(["hunt", "--case", "C-0001", "--format", "jsonl"])
        .output()
        .unwrap();
    let notes = String::from_utf8_lossy(&hunt.stderr);
    assert!(
        notes.contains("hunting the 7 log file(s) collected for case C-0001"),
        "{notes}"
    );
    assert!(
        notes.contains("INTEGRITY: the aws log collection")
            && notes.contains("found 3 integrity problem(s)"),
        "{notes}"
    );
    let found = String::from_utf8_lossy(&hunt.stdout);
    assert!(
        found.contains("StopLogging"),
        "the stopped trail is detected: {found}"
    );
    assert!(
        found.contains("cloudtrail:DeleteTrail"),
        "what LookupEvents filled is hunted: {found}"
    );

    // The same command again: nothing fetched twice, nothing recorded twice, no event twice.
    let (code, again, _) = collect(h, &proxy.url, "C-0001", &since, &[]);
    assert_eq!(code, 1);
    assert_eq!(again["recorded"], 0, "{again:#}");
    assert_eq!(again["collected"]["already"], 9);
    assert_eq!(again["collected"]["superseded"], json!([]));

    // Delivery catches up: the events LookupEvents gave arrive in a delivered file. Its file
    // is superseded, and a hunt reads each event once.
    setup(
        &moto,
        &format!(
            "import gzip\nr = [{}, {}, {}]\nboto3.client('s3', **kw).put_object(Bucket='org-trail-logs', Key={:?}, Body=gzip.compress(json.dumps({{'Records': r}}).encode()))",
            fixture["lookup"][0],
            fixture["lookup"][1],
            fixture["lookup"][3],
            s("late"),
        ),
    );
    let (_, caught_up, _) = collect(h, &proxy.url, "C-0001", &since, &[]);
    let superseded = caught_up["collected"]["superseded"].as_array().unwrap();
    assert_eq!(superseded.len(), 1, "{caught_up:#}");
    assert_eq!(superseded[0], ours[0]["path"]);
    let case = json_of(
        common::moto::squall(h, &moto.url).args(["case", "show", "C-0001", "--format", "json"]),
    );
    assert_eq!(case["evidence"].as_array().unwrap().len(), 11);
    let hunt = common::moto::squall(h, &moto.url)
        .args(["hunt", "--case", "C-0001", "--format", "jsonl"])
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&hunt.stdout);
    assert_eq!(found.matches("\"event_id\":\"r1\"").count(), 1, "{found}");
}

#[test]
fn a_killed_collection_resumes_without_fetching_what_it_has_and_never_overwrites_evidence() {
    let Some(moto) = moto() else { return };
    let fixture: Value = serde_json::from_str(&setup(&moto, FIXTURE)).unwrap();
    let s = |k: &str| fixture[k].as_str().unwrap().to_string();
    let gets = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = gets.clone();
    let proxy = proxy(&moto.url, move |text| {
        let line = text.lines().next().unwrap_or_default().to_string();
        if line.starts_with("GET ") {
            seen.lock().unwrap().push(line);
        }
        None
    });
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto, "Resumed");
    let since = s("since");
    let logs = h.join("cases/C-0001/logs/aws/org-trail-logs/o-abcdefghij/123456789012/us-east-1");
    let name = |k: &str| k.rsplit('/').next().unwrap().to_string();
    let day = |k: &str| {
        let parts: Vec<&str> = k.split('/').collect();
        parts[parts.len() - 4..parts.len() - 1].join("/")
    };
    // As a kill -9 leaves it: t2 whole but unrecorded, t3 half-written.
    let t2 = logs.join(day(&s("t2"))).join(name(&s("t2")));
    let t3 = logs.join(day(&s("t3"))).join(name(&s("t3")));
    std::fs::create_dir_all(t2.parent().unwrap()).unwrap();
    std::fs::create_dir_all(t3.parent().unwrap()).unwrap();
    setup(
        &moto,
        &format!(
            "open({:?}, 'wb').write(boto3.client('s3', **kw).get_object(Bucket='org-trail-logs', Key={:?})['Body'].read())",
            t2.display().to_string(),
            s("t2")
        ),
    );
    std::fs::write(format!("{}.part", t3.display()), b"half").unwrap();

    let (_, out, stderr) = collect(
        h,
        &proxy.url,
        "C-0001",
        &since,
        &["--no-lookup", "--account", "123456789012"],
    );
    let c = &out["collected"];
    assert_eq!(c["failures"], json!([]), "{c:#}\n{stderr}");
    assert_eq!(c["accounts"], json!(["123456789012"]));
    let fetched = gets.lock().unwrap().clone();
    assert!(
        !fetched.iter().any(|l| l.contains(&name(&s("t2")))),
        "t2 was fetched again"
    );
    assert!(fetched.iter().any(|l| l.contains(&name(&s("t3")))));
    assert!(!Path::new(&format!("{}.part", t3.display())).exists());
    let case = json_of(
        common::moto::squall(h, &moto.url).args(["case", "show", "C-0001", "--format", "json"]),
    );
    let evidence = case["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["path"] == t2.display().to_string()),
        "t2 recorded"
    );
    assert_eq!(
        evidence.len(),
        8,
        "the account's five logs of the window (t1 before it, t5 deleted, one planted) and three digests"
    );

    // A recorded file changed on disk: said, and left as it is.
    std::fs::write(&t2, b"edited").unwrap();
    let (code, out, _) = collect(
        h,
        &proxy.url,
        "C-0001",
        &since,
        &["--no-lookup", "--account", "123456789012"],
    );
    assert_eq!(code, 1, "{out:#}");
    let integrity = out["collected"]["integrity"].to_string();
    assert!(
        integrity.contains("changed since the case recorded it"),
        "{integrity}"
    );
    assert_eq!(std::fs::read(&t2).unwrap(), b"edited");
}

fn json_of(cmd: &mut assert_cmd::Command) -> Value {
    common::json_of(cmd)
}

fn squall_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    squall_core::digest::hex(&sha2::Sha256::digest(bytes))
}

#[test]
fn a_log_archive_accounts_bucket_is_read_through_the_ir_role() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        r#"
import gzip, datetime
creds = boto3.client('sts', **kw).assume_role(RoleArn='arn:aws:iam::999988887777:role/IR', RoleSessionName='setup')['Credentials']
there = dict(kw, aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
s3 = boto3.client('s3', **there)
s3.create_bucket(Bucket='archive-logs', CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'})
t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=30)
record = dict(eventVersion='1.08', eventTime=t.strftime('%Y-%m-%dT%H:%M:%SZ'), eventName='ListBuckets', eventID='a1',
    eventSource='s3.amazonaws.com', awsRegion='eu-west-1', recipientAccountId='123456789012')
key = f'central/AWSLogs/123456789012/CloudTrail/eu-west-1/{t:%Y/%m/%d}/123456789012_CloudTrail_eu-west-1_{t:%Y%m%dT%H%M}Z_abcdefabcdef0001.json.gz'
s3.put_object(Bucket='archive-logs', Key=key, Body=gzip.compress(json.dumps({'Records': [record]}).encode()))
"#,
    );
    let proxy = proxy(&moto.url, |_| None);
    let home = tempfile::tempdir().unwrap();
    new_case(home.path(), &moto, "Archive");
    let (code, out, stderr) = collect(
        home.path(),
        &proxy.url,
        "C-0001",
        "2h",
        &[
            "--bucket",
            "archive-logs",
            "--prefix",
            "central",
            "--log-account",
            "999988887777",
            "--role-name",
            "IR",
            "--no-lookup",
        ],
    );
    let c = &out["collected"];
    assert_eq!(c["files"], 1, "{out:#}\n{stderr}");
    assert_eq!(c["source"], "s3://archive-logs/central/");
    assert_eq!(c["regions"], json!(["eu-west-1"]));
    assert_eq!(code, 0, "no digests is unchecked, not tampering: {out:#}");
    assert!(
        c["unchecked"]
            .to_string()
            .contains("log file validation is off"),
        "{c:#}"
    );
    let seen = proxy.seen.lock().unwrap().join("\n");
    assert!(
        seen.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A999988887777%3Arole%2FIR")
            && seen.contains("RoleSessionName=squall-C-0001"),
        "the bucket is read as the IR role in the log-archive account"
    );
}
