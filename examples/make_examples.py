#!/usr/bin/env python3
"""Writes examples/logs: a small invented incident, laid out as the providers deliver logs.

Account 111122223333 (production, eu-central-1). The CI user's long-term key leaks; an actor
uses it from a second address, mints a key for another user, grants itself admin, opens SSH to
the world, shares a snapshot out, launches GPU instances and stops CloudTrail. In GCP project
acme-prod the same actor opens a firewall and creates a service account key. Azure has routine
activity only. Everything here is invented; re-run this script to regenerate (deterministic).
"""
import gzip, json, os, random, uuid

random.seed(7)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logs")
ACCT = "111122223333"
REGION = "eu-central-1"
LEAKED = "AKIA5EXAMPLELEAKED01"
CI_IP, ACTOR_IP = "52.28.10.10", "185.220.101.34"


def uid():
    return str(uuid.UUID(int=random.getrandbits(128)))


def user(name, key=LEAKED):
    return {"type": "IAMUser", "principalId": "AIDA" + name.upper().replace("-", "")[:12],
            "arn": f"arn:aws:iam::{ACCT}:user/{name}", "accountId": ACCT,
            "accessKeyId": key, "userName": name}


def role(name, session):
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLE{name.upper()[:6]}:{session}",
            "arn": f"arn:aws:sts::{ACCT}:assumed-role/{name}/{session}", "accountId": ACCT,
            "accessKeyId": "ASIA" + uid().replace("-", "")[:16].upper(),
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCT}:role/{name}",
                                                  "accountId": ACCT, "userName": name},
                               "attributes": {"creationDate": "2026-10-02T08:55:00Z", "mfaAuthenticated": "false"}}}


def ct(t, source, name, ident, ip, params=None, resp=None, err=None, extra=None, read_only=False):
    r = {"eventVersion": "1.09", "userIdentity": ident, "eventTime": t, "eventSource": source,
         "eventName": name, "awsRegion": REGION, "sourceIPAddress": ip,
         "userAgent": "aws-cli/2.17.20 md/Botocore#1.34.150 ua/2.0 os/linux#6.1",
         "requestParameters": params, "responseElements": resp, "requestID": uid(), "eventID": uid(),
         "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
         "recipientAccountId": ACCT, "eventCategory": "Management",
         "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                        "clientProvidedHostHeader": f"{source.split('.')[0]}.{REGION}.amazonaws.com"}}
    if err:
        r["errorCode"], r["errorMessage"] = err, "You are not authorized to perform this operation."
    if extra:
        r.update(extra)
    return r


def routine(t):
    """Background noise: services and people doing their jobs."""
    app = role("app-server", "i-0f3e2d1c0b9a8f7e6")
    return random.choice([
        ct(t, "s3.amazonaws.com", "GetBucketLocation", app, "10.0.12.34", {"bucketName": "acme-prod-assets"}, None, read_only=True),
        ct(t, "ec2.amazonaws.com", "DescribeInstances", role("monitoring", "prom"), "10.0.40.2", {"instancesSet": {}, "filterSet": {}}, None, read_only=True),
        ct(t, "kms.amazonaws.com", "Decrypt", app, "10.0.12.34", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None, read_only=True),
        ct(t, "sts.amazonaws.com", "AssumeRole", {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}, "ec2.amazonaws.com",
           {"roleArn": f"arn:aws:iam::{ACCT}:role/app-server", "roleSessionName": "i-0f3e2d1c0b9a8f7e6"}, None, read_only=True),
    ])


def first_file():
    recs = []
    for m in range(10, 14):
        recs.append(routine(f"2026-10-02T09:{m:02d}:{random.randint(0, 59):02d}Z"))
    ci = user("ci-deployer")
    recs.append(ct("2026-10-02T09:11:02Z", "ecr.amazonaws.com", "GetAuthorizationToken", ci, CI_IP, {}, None, read_only=True))
    recs.append(ct("2026-10-02T09:12:40Z", "sts.amazonaws.com", "GetCallerIdentity", ci, ACTOR_IP, None, None, read_only=True))
    recs.append(ct("2026-10-02T09:12:55Z", "iam.amazonaws.com", "ListUsers", ci, ACTOR_IP, {}, None, read_only=True))
    recs.append(ct("2026-10-02T09:13:20Z", "iam.amazonaws.com", "CreateAccessKey", ci, ACTOR_IP, {"userName": "backup-admin"},
                   {"accessKey": {"accessKeyId": "AKIA5EXAMPLEBACKUP02", "status": "Active", "userName": "backup-admin",
                                  "createDate": "Oct 2, 2026 9:13:20 AM"}}))
    recs.append(ct("2026-10-02T09:13:41Z", "iam.amazonaws.com", "AttachUserPolicy", ci, ACTOR_IP,
                   {"userName": "ci-deployer", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))
    recs.sort(key=lambda r: r["eventTime"])
    return recs


def second_file():
    recs = [routine(f"2026-10-02T09:2{m}:{random.randint(0, 59):02d}Z") for m in range(5, 9)]
    ci = user("ci-deployer")
    recs.append(ct("2026-10-02T09:25:10Z", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", ci, ACTOR_IP,
                   {"groupId": "sg-0c1d2e3f4a5b6c7d8", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                    "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
                   {"_return": True, "securityGroupRuleSet": {"items": [{"groupOwnerId": ACCT, "groupId": "sg-0c1d2e3f4a5b6c7d8",
                    "securityGroupRuleId": "sgr-0a9b8c7d6e5f4a3b2", "isEgress": False, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                    "cidrIpv4": "0.0.0.0/0"}]}}))
    recs.append(ct("2026-10-02T09:26:03Z", "ec2.amazonaws.com", "ModifySnapshotAttribute", ci, ACTOR_IP,
                   {"snapshotId": "snap-0e1f2a3b4c5d6e7f8", "attributeType": "CREATE_VOLUME_PERMISSION",
                    "createVolumePermission": {"add": {"items": [{"userId": "999988887777"}]}}}, {"_return": True}))
    recs.append(ct("2026-10-02T09:27:30Z", "ec2.amazonaws.com", "RunInstances", ci, ACTOR_IP,
                   {"instanceType": "p3.8xlarge", "instancesSet": {"items": [{"imageId": "ami-0a1b2c3d4e5f60718", "minCount": 1, "maxCount": 20}]},
                    "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False},
                   None, "Client.InstanceLimitExceeded"))
    recs.append(ct("2026-10-02T09:28:12Z", "cloudtrail.amazonaws.com", "StopLogging", ci, ACTOR_IP,
                   {"name": f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/org-trail"}, None))
    recs.append(ct("2026-10-02T09:29:40Z", "signin.amazonaws.com", "ConsoleLogin",
                   {"type": "IAMUser", "principalId": "AIDABACKUPADMIN", "arn": f"arn:aws:iam::{ACCT}:user/backup-admin",
                    "accountId": ACCT, "userName": "backup-admin"}, ACTOR_IP, None, {"ConsoleLogin": "Success"},
                   extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                                  "MobileVersion": "No", "MFAUsed": "No"}, "eventType": "AwsConsoleSignIn"}))
    recs.sort(key=lambda r: r["eventTime"])
    return recs


def write_cloudtrail(name, recs):
    path = os.path.join(ROOT, f"AWSLogs/{ACCT}/CloudTrail/{REGION}/2026/10/02/{name}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = json.dumps({"Records": recs}, separators=(",", ":")).encode()
    with open(path, "wb") as f:
        f.write(gzip.compress(data, mtime=0))


def write_digest():
    path = os.path.join(ROOT, f"AWSLogs/{ACCT}/CloudTrail-Digest/{REGION}/2026/10/02/"
                        f"{ACCT}_CloudTrail-Digest_{REGION}_org-trail_{REGION}_20261002T0930Z.json.gz")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    digest = {"awsAccountId": ACCT, "digestStartTime": "2026-10-02T08:30:00Z", "digestEndTime": "2026-10-02T09:30:00Z",
              "digestS3Bucket": "acme-cloudtrail", "digestPublicKeyFingerprint": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
              "digestSignatureAlgorithm": "SHA256withRSA", "logFiles": []}
    with open(path, "wb") as f:
        f.write(gzip.compress(json.dumps(digest).encode(), mtime=0))


def gcp_entry(t, method, service, resource_name, request=None, email="ops-bot@acme-prod.iam.gserviceaccount.com",
              ip="10.128.0.7", rtype="gce_instance", read=False, extra=None):
    pp = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": {},
          "authenticationInfo": {"principalEmail": email},
          "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": "google-cloud-sdk gcloud/460.0.0 command/gcloud"},
          "serviceName": service, "methodName": method, "resourceName": resource_name,
          "authorizationInfo": [{"permission": method.split(".")[-1], "granted": True}]}
    if request is not None:
        pp["request"] = request
    if extra:
        pp.update(extra)
    log = "data_access" if read else "activity"
    return {"protoPayload": pp, "insertId": uid().replace("-", "")[:12],
            "resource": {"type": rtype, "labels": {"project_id": "acme-prod", "zone": "europe-west3-a"}},
            "timestamp": t, "severity": "INFO" if read else "NOTICE",
            "logName": f"projects/acme-prod/logs/cloudaudit.googleapis.com%2F{log}",
            "receiveTimestamp": t.replace("Z", "1Z")}


def write_gcp():
    actor = "contractor-7@acme.example"
    entries = [
        gcp_entry("2026-10-02T09:31:05.120Z", "v1.compute.instances.list", "compute.googleapis.com", "projects/acme-prod/zones/europe-west3-a/instances", read=True),
        gcp_entry("2026-10-02T09:33:47.881Z", "v1.compute.firewalls.insert", "compute.googleapis.com", "projects/acme-prod/global/firewalls/allow-ssh-temp",
                  {"@type": "type.googleapis.com/compute.firewalls.insert", "name": "allow-ssh-temp", "direction": "INGRESS",
                   "network": "projects/acme-prod/global/networks/default", "sourceRanges": ["0.0.0.0/0"],
                   "alloweds": [{"IPProtocol": "tcp", "ports": ["22"]}]}, email=actor, ip=ACTOR_IP, rtype="gce_firewall_rule"),
        gcp_entry("2026-10-02T09:35:02.004Z", "google.iam.admin.v1.CreateServiceAccountKey", "iam.googleapis.com",
                  "projects/-/serviceAccounts/114208846293877812345",
                  {"@type": "type.googleapis.com/google.iam.admin.v1.CreateServiceAccountKeyRequest",
                   "name": "projects/-/serviceAccounts/deployer@acme-prod.iam.gserviceaccount.com", "private_key_type": 2},
                  email=actor, ip=ACTOR_IP, rtype="service_account"),
        gcp_entry("2026-10-02T09:40:19.553Z", "storage.objects.get", "storage.googleapis.com", "projects/_/buckets/acme-prod-exports/objects/daily.csv",
                  read=True, rtype="gcs_bucket"),
    ]
    path = os.path.join(ROOT, "gcp/cloudaudit.googleapis.com/activity/2026/10/02/09:00:00_09:59:59_S0.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for e in entries:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")


def write_azure():
    sub = "7A1C2B3D-0000-4E5F-8A9B-C0D1E2F3A4B5"
    def act(t, op, caller, ip, rid, status="Succeeded"):
        return {"time": t, "resourceId": f"/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/RG-WEB/PROVIDERS/{rid}",
                "operationName": op, "category": "Administrative", "resultType": status, "resultSignature": "Succeeded.",
                "durationMs": "0", "callerIpAddress": ip, "correlationId": uid(),
                "identity": {"claims": {"name": caller, "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller}},
                "level": "Information", "location": "westeurope",
                "properties": {"statusCode": "OK", "eventCategory": "Administrative", "entity": f"/subscriptions/{sub}/resourceGroups/rg-web",
                               "message": op, "hierarchy": f"tenant/{sub}"}}
    recs = [
        act("2026-10-02T09:05:11.2812934Z", "MICROSOFT.WEB/SITES/RESTART/ACTION", "ops@acme.example", "198.51.100.20", "MICROSOFT.WEB/SITES/ACME-WEB"),
        act("2026-10-02T09:44:02.0148720Z", "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION", "ops@acme.example", "198.51.100.20",
            "MICROSOFT.STORAGE/STORAGEACCOUNTS/ACMEWEBSTATIC"),
    ]
    path = os.path.join(ROOT, f"azure/insights-activity-logs/resourceId=/SUBSCRIPTIONS/{sub}/y=2026/m=10/d=02/h=09/m=00/PT1H.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


write_cloudtrail(f"{ACCT}_CloudTrail_{REGION}_20261002T0910Z_q8Zk3vRf2LwU1pYt.json.gz", first_file())
write_cloudtrail(f"{ACCT}_CloudTrail_{REGION}_20261002T0925Z_Hn4cXe7Ja0GmBs5d.json.gz", second_file())
write_digest()
write_gcp()
write_azure()
