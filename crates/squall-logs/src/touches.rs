//! What a record did to which resources ([`squall_core::touched`]), and whether the call failed.
//!
//! Every record names the credentials that signed it: the principal, its key, and for temporary
//! credentials the role that issued them and, when the session is an instance's (EC2 names
//! instance-role sessions after the instance), the instance whose credentials were used.
//! CloudTrail's write calls add what they changed, read from the request parameters and the
//! response elements (the ids AWS assigned, such as the instances `RunInstances` launched).
//! GCP's and Azure's records give their principal, key and failure only, for now.
//!
//! A call that failed changed nothing: [`Record::error`] says why, and the case lists it as a
//! failed call instead of a change.

use squall_core::touched::{Change, Kind, Touch};

use crate::node::Node;
use crate::record::Record;
use crate::source::LogSource;

/// Lists in a detail (firewall rules, accounts shared with) stop after this many items, so a
/// record with a million rules costs a bounded line.
const DETAIL_ITEMS: usize = 8;

impl Record<'_> {
    /// Why the call failed, or `None` when it succeeded: CloudTrail's `errorCode`, GCP's
    /// non-zero `protoPayload.status.code`, Azure's `Failure` result.
    pub fn error(&self) -> Option<String> {
        match self.source() {
            LogSource::CloudTrail => self.text_at(&["errorCode"]),
            LogSource::GcpAudit => {
                let code = self.text_at(&["protoPayload.status.code"])?;
                (code != "0").then(|| match self.text_at(&["protoPayload.status.message"]) {
                    Some(m) => format!("{code} {m}"),
                    None => code,
                })
            }
            LogSource::AzureActivity => {
                let status = self.text_at(&["resultType", "status.value", "properties.status"])?;
                status.eq_ignore_ascii_case("failure").then_some(status)
            }
            _ => None,
        }
    }

    /// The resources this record names and what it did to each; see the module documentation.
    /// The credentials come first, then the call's own changes (for a failed call, what it
    /// would have changed).
    pub fn touches(&self) -> Vec<Touch> {
        let mut out = Vec::new();
        match self.source() {
            LogSource::CloudTrail => {
                self.cloudtrail_credentials(&mut out);
                self.cloudtrail_changes(&mut out);
            }
            LogSource::GcpAudit => {
                let key = self.text_at(&["protoPayload.authenticationInfo.serviceAccountKeyName"]);
                let owner = self
                    .text_at(&["protoPayload.authenticationInfo.principalEmail"])
                    .filter(|_| key.is_some())
                    .map(|p| format!("service_account {p}"));
                self.principal_and_key(&mut out, key.map(|k| last_segment(&k).to_string()), owner);
                self.gcp_changes(&mut out);
            }
            _ => self.principal_and_key(&mut out, None, None),
        }
        out
    }

    fn principal_and_key(&self, out: &mut Vec<Touch>, key: Option<String>, owner: Option<String>) {
        let principal = self.text_at(self.source().summary_paths().principal);
        if let Some(p) = principal.clone() {
            out.push(Touch::new(Kind::Principal, p, Change::Used));
        }
        if let Some(k) = key {
            out.push(Touch::new(Kind::AccessKey, k, Change::Used).parent(owner));
        }
    }

    /// The principal, its key, and the user, or the role and instance, behind it.
    fn cloudtrail_credentials(&self, out: &mut Vec<Touch>) {
        let who = |p: &str| self.text_at(&[&format!("userIdentity.{p}")]);
        let key = who("accessKeyId").filter(|k| !k.is_empty());
        let arn = who("arn");
        let issuer = who("sessionContext.sessionIssuer.userName");
        let issuer_type = who("sessionContext.sessionIssuer.type");
        match who("type").as_deref() {
            Some("IAMUser") => {
                let user = who("userName");
                self.principal_and_key(out, key, user.as_ref().map(|u| format!("user {u}")));
                if let Some(u) = user {
                    out.push(Touch::new(Kind::User, u, Change::Used));
                }
            }
            Some("AssumedRole") | Some("FederatedUser") => {
                let parent = issuer.as_ref().map(|name| match issuer_type.as_deref() {
                    Some("IAMUser") => format!("user {name}"),
                    _ => format!("role {name}"),
                });
                if let Some(p) = arn {
                    out.push(Touch::new(Kind::Principal, p, Change::Used));
                }
                let instance = self.role_session_instance();
                if let Some(k) = key {
                    let detail = instance
                        .as_ref()
                        .map(|i| format!("instance {i}'s role session"));
                    out.push(
                        Touch::new(Kind::SessionKey, k, Change::Used)
                            .parent(parent.clone())
                            .detail(detail),
                    );
                }
                if let (Some(name), Some("Role") | None) = (&issuer, issuer_type.as_deref()) {
                    out.push(Touch::new(Kind::Role, name.clone(), Change::Used));
                }
                if let Some(i) = instance {
                    let detail = Some("its instance-role credentials were used".to_string());
                    out.push(
                        Touch::new(Kind::Instance, i, Change::Used)
                            .parent(parent)
                            .detail(detail),
                    );
                }
            }
            _ => self.principal_and_key(out, key, None),
        }
    }

    /// The instance behind an instance-role session: EC2 names the session after the instance
    /// (`assumed-role/web-role/i-0abc...`).
    fn role_session_instance(&self) -> Option<String> {
        let arn = self.text_at(&["userIdentity.arn"])?;
        let rest = arn.split_once(":assumed-role/")?.1;
        let session = rest.rsplit('/').next()?;
        is_instance_id(session).then(|| session.to_string())
    }

    fn cloudtrail_changes(&self, out: &mut Vec<Touch>) {
        let (Some(source), Some(name)) =
            (self.text_at(&["eventSource"]), self.text_at(&["eventName"]))
        else {
            return;
        };
        let service = source.split('.').next().unwrap_or(&source);
        let req = self.member("requestParameters");
        let resp = self.member("responseElements");
        let r = |path: &str| req.and_then(|n| n.first_text(path));
        let a = |path: &str| resp.and_then(|n| n.first_text(path));
        let caller_user = self
            .text_at(&["userIdentity.userName"])
            .filter(|_| self.text_at(&["userIdentity.type"]).as_deref() == Some("IAMUser"));
        let user_of = |u: Option<String>| u.or(caller_user.clone()).map(|u| format!("user {u}"));
        // The principal a policy or a group goes to: `user x`, `role y` or `group z`.
        let principal = || {
            r("userName")
                .map(|u| format!("user {u}"))
                .or_else(|| r("roleName").map(|n| format!("role {n}")))
                .or_else(|| r("groupName").map(|g| format!("group {g}")))
        };
        let said = |d: &str| Some(d.to_string());
        use Change::*;
        let touch = match (service, name.as_str()) {
            ("iam", "CreateUser") => touch(Kind::User, r("userName"), Created),
            ("iam", "DeleteUser") => touch(Kind::User, r("userName"), Deleted),
            ("iam", "CreateAccessKey") => {
                let user = a("accessKey.userName").or(r("userName"));
                touch(Kind::AccessKey, a("accessKey.accessKeyId"), Created)
                    .map(|t| t.parent(user_of(user)))
            }
            ("iam", "UpdateAccessKey") => {
                touch(Kind::AccessKey, r("accessKeyId"), Modified).map(|t| {
                    t.parent(user_of(r("userName")))
                        .detail(r("status").map(|s| format!("status {s}")))
                })
            }
            ("iam", "DeleteAccessKey") => touch(Kind::AccessKey, r("accessKeyId"), Deleted)
                .map(|t| t.parent(user_of(r("userName")))),
            ("iam", "CreateLoginProfile") => touch(Kind::LoginProfile, r("userName"), Created)
                .map(|t| t.parent(user_of(r("userName")))),
            ("iam", "UpdateLoginProfile") => touch(Kind::LoginProfile, r("userName"), Modified)
                .map(|t| t.parent(user_of(r("userName")))),
            ("iam", "DeleteLoginProfile") => touch(Kind::LoginProfile, r("userName"), Deleted)
                .map(|t| t.parent(user_of(r("userName")))),
            ("iam", "CreateRole") => touch(Kind::Role, r("roleName"), Created),
            ("iam", "DeleteRole") => touch(Kind::Role, r("roleName"), Deleted),
            ("iam", "UpdateAssumeRolePolicy") => touch(Kind::Role, r("roleName"), Modified)
                .map(|t| t.detail(said("trust policy replaced"))),
            ("iam", "CreateGroup") => touch(Kind::Group, r("groupName"), Created),
            ("iam", "AddUserToGroup") => touch(Kind::User, r("userName"), Attached)
                .map(|t| t.parent(r("groupName").map(|g| format!("group {g}")))),
            ("iam", "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy") => {
                touch(Kind::InlinePolicy, r("policyName"), Created).map(|t| t.parent(principal()))
            }
            ("iam", "DeleteUserPolicy" | "DeleteRolePolicy" | "DeleteGroupPolicy") => {
                touch(Kind::InlinePolicy, r("policyName"), Deleted).map(|t| t.parent(principal()))
            }
            ("iam", "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy") => {
                touch(Kind::ManagedPolicy, r("policyArn"), Attached).map(|t| t.parent(principal()))
            }
            ("iam", "DetachUserPolicy" | "DetachRolePolicy" | "DetachGroupPolicy") => {
                touch(Kind::ManagedPolicy, r("policyArn"), Detached).map(|t| t.parent(principal()))
            }
            ("iam", "CreatePolicy") => touch(
                Kind::ManagedPolicy,
                a("policy.arn").or(r("policyName")),
                Created,
            ),
            ("iam", "DeletePolicy") => touch(Kind::ManagedPolicy, r("policyArn"), Deleted),
            ("iam", "CreatePolicyVersion") => {
                let default = r("setAsDefault").filter(|d| d == "true");
                touch(Kind::PolicyVersion, a("policyVersion.versionId"), Created).map(|t| {
                    t.parent(r("policyArn").map(|p| format!("managed_policy {p}")))
                        .detail(default.and(said("set as the default")))
                })
            }
            ("iam", "SetDefaultPolicyVersion") => {
                touch(Kind::PolicyVersion, r("versionId"), Modified).map(|t| {
                    t.parent(r("policyArn").map(|p| format!("managed_policy {p}")))
                        .detail(said("made the default"))
                })
            }
            ("iam", "UploadSSHPublicKey") => touch(Kind::User, r("userName"), Modified)
                .map(|t| t.detail(said("SSH public key uploaded"))),
            ("iam", "DeactivateMFADevice" | "DeleteVirtualMFADevice") => {
                touch(Kind::User, r("userName"), Modified)
                    .map(|t| t.detail(said("MFA device removed")))
            }
            ("sts", "AssumeRole" | "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML") => {
                let role = r("roleArn").map(|arn| last_segment(&arn).to_string());
                let parent = role.as_ref().map(|n| format!("role {n}"));
                let session = r("roleSessionName").map(|s| format!("session {s}"));
                out.extend(touch(Kind::Role, role, Assumed).map(|t| t.detail(session)));
                touch(Kind::SessionKey, a("credentials.accessKeyId"), Created)
                    .map(|t| t.parent(parent))
            }
            ("sts", "GetSessionToken") => {
                touch(Kind::SessionKey, a("credentials.accessKeyId"), Created)
                    .map(|t| t.parent(user_of(None)))
            }
            ("sts", "GetFederationToken") => {
                touch(Kind::SessionKey, a("credentials.accessKeyId"), Created).map(|t| {
                    t.parent(user_of(None))
                        .detail(r("name").map(|n| format!("federated user {n}")))
                })
            }
            ("ec2", "RunInstances") => {
                launched(resp, out);
                None
            }
            ("ec2", "StartInstances" | "StopInstances" | "TerminateInstances") => {
                let (change, detail) = match name.as_str() {
                    "StartInstances" => (Modified, said("started")),
                    "StopInstances" => (Stopped, None),
                    _ => (Deleted, said("terminated")),
                };
                for id in texts(req, "instancesSet.items.instanceId") {
                    out.push(Touch::new(Kind::Instance, id, change).detail(detail.clone()));
                }
                None
            }
            ("ec2-instance-connect", "SendSSHPublicKey" | "SendSerialConsoleSSHPublicKey") => {
                touch(Kind::Instance, r("instanceId"), Modified).map(|t| {
                    t.detail(Some(match r("instanceOSUser") {
                        Some(user) => format!("temporary SSH key pushed for OS user {user}"),
                        None => "temporary SSH key pushed for the serial console".to_string(),
                    }))
                })
            }
            ("rds", "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute") => {
                let id = r("dBSnapshotIdentifier").or(r("dBClusterSnapshotIdentifier"));
                let mut added = texts(req, "valuesToAdd");
                if let Some(all) = added.iter().position(|v| v.eq_ignore_ascii_case("all")) {
                    added[all] = "everyone (public)".to_string();
                }
                let removed = texts(req, "valuesToRemove");
                if added.is_empty() {
                    let detail = (!removed.is_empty())
                        .then(|| format!("share removed from {}", bounded_list(&removed)));
                    touch(Kind::Snapshot, id, Modified).map(|t| t.detail(detail))
                } else {
                    let detail = format!("shared with {}", bounded_list(&added));
                    touch(Kind::Snapshot, id, Shared).map(|t| t.detail(Some(detail)))
                }
            }
            ("lambda", _) => {
                // Lambda's event names carry the API version: `UpdateFunctionCode20150331v2`.
                let call = name
                    .find(|c: char| c.is_ascii_digit())
                    .map_or(&name[..], |at| &name[..at]);
                let function = r("functionName").map(|f| last_segment(&f).to_string());
                match call {
                    "CreateFunction" => touch(Kind::Function, function, Created),
                    "DeleteFunction" => touch(Kind::Function, function, Deleted),
                    "UpdateFunctionCode" => touch(Kind::Function, function, Modified)
                        .map(|t| t.detail(said("code replaced"))),
                    "UpdateFunctionConfiguration" => {
                        let layers = texts(req, "layers");
                        let detail = if layers.is_empty() {
                            "configuration changed".to_string()
                        } else {
                            format!("layers set: {}", bounded_list(&layers))
                        };
                        touch(Kind::Function, function, Modified).map(|t| t.detail(Some(detail)))
                    }
                    "AddPermission" => touch(Kind::Function, function, Opened).map(|t| {
                        let who = r("principal").unwrap_or_else(|| "?".into());
                        let action = r("action").unwrap_or_else(|| "?".into());
                        t.detail(Some(format!("{action} allowed to {who}")))
                    }),
                    _ => None,
                }
            }
            ("ec2", "ModifyInstanceAttribute") => touch(Kind::Instance, r("instanceId"), Modified)
                .map(|t| t.detail(req.and_then(changed_attribute))),
            ("ec2", "CreateKeyPair" | "ImportKeyPair") => {
                touch(Kind::KeyPair, r("keyName"), Created).map(|t| t.detail(a("keyPairId")))
            }
            ("ec2", "DeleteKeyPair") => {
                touch(Kind::KeyPair, r("keyName").or(r("keyPairId")), Deleted)
            }
            ("ec2", "CreateSecurityGroup") => {
                touch(Kind::Firewall, a("groupId"), Created).map(|t| t.detail(r("groupName")))
            }
            ("ec2", "DeleteSecurityGroup") => {
                touch(Kind::Firewall, r("groupId").or(r("groupName")), Deleted)
            }
            ("ec2", "AuthorizeSecurityGroupIngress" | "AuthorizeSecurityGroupEgress") => {
                let direction = if name.ends_with("Egress") {
                    "egress"
                } else {
                    "ingress"
                };
                let rules = firewall_rules(req, resp);
                touch(Kind::Firewall, r("groupId").or(r("groupName")), Opened)
                    .map(|t| t.detail(Some(format!("{direction} {rules}"))))
            }
            ("ec2", "RevokeSecurityGroupIngress" | "RevokeSecurityGroupEgress") => {
                let rules = firewall_rules(req, None);
                touch(Kind::Firewall, r("groupId").or(r("groupName")), Modified)
                    .map(|t| t.detail(Some(format!("revoked {rules}"))))
            }
            ("ec2", "CreateSnapshot") => touch(Kind::Snapshot, a("snapshotId"), Created)
                .map(|t| t.parent(r("volumeId").map(|v| format!("volume {v}")))),
            ("ec2", "CopySnapshot") => touch(Kind::Snapshot, a("snapshotId"), Created)
                .map(|t| t.detail(r("sourceSnapshotId").map(|s| format!("copy of {s}")))),
            ("ec2", "DeleteSnapshot") => touch(Kind::Snapshot, r("snapshotId"), Deleted),
            ("ec2", "ModifySnapshotAttribute") => {
                shared(
                    req,
                    Kind::Snapshot,
                    "snapshotId",
                    "createVolumePermission",
                    out,
                );
                None
            }
            ("ec2", "CreateImage") => touch(Kind::Image, a("imageId"), Created)
                .map(|t| t.parent(r("instanceId").map(|v| format!("instance {v}")))),
            ("ec2", "DeregisterImage") => touch(Kind::Image, r("imageId"), Deleted),
            ("ec2", "ModifyImageAttribute") => {
                shared(req, Kind::Image, "imageId", "launchPermission", out);
                None
            }
            ("ec2", "DeleteFlowLogs") => {
                let ids = texts(req, "DeleteFlowLogsRequest.FlowLogId.content")
                    .into_iter()
                    .chain(texts(req, "flowLogIds"));
                for id in ids {
                    let t = Touch::new(Kind::Monitoring, id, Deleted);
                    out.push(t.detail(said("VPC flow log")));
                }
                None
            }
            ("cloudtrail", "StopLogging") => touch(Kind::Trail, r("name"), Stopped),
            ("cloudtrail", "DeleteTrail") => touch(Kind::Trail, r("name"), Deleted),
            ("cloudtrail", "UpdateTrail") => touch(Kind::Trail, r("name"), Modified),
            ("cloudtrail", "PutEventSelectors" | "PutInsightSelectors") => {
                touch(Kind::Trail, r("trailName"), Modified)
                    .map(|t| t.detail(said("event selectors replaced")))
            }
            ("guardduty", "DeleteDetector" | "UpdateDetector") => {
                let change = if name.starts_with("Delete") {
                    Deleted
                } else {
                    Modified
                };
                touch(Kind::Monitoring, r("detectorId"), change)
                    .map(|t| t.detail(said("GuardDuty detector")))
            }
            ("config", "StopConfigurationRecorder" | "DeleteConfigurationRecorder") => {
                let change = if name.starts_with("Stop") {
                    Stopped
                } else {
                    Deleted
                };
                touch(Kind::Monitoring, r("configurationRecorderName"), change)
                    .map(|t| t.detail(said("AWS Config recorder")))
            }
            ("s3", "PutBucketPolicy" | "PutBucketAcl" | "DeletePublicAccessBlock") => {
                touch(Kind::Bucket, r("bucketName"), Opened).map(|t| t.detail(Some(name.clone())))
            }
            ("s3", "DeleteBucket") => touch(Kind::Bucket, r("bucketName"), Deleted),
            _ => None,
        };
        out.extend(touch);
    }
}

impl Record<'_> {
    /// GCP's writes that matter in a response: instances, firewall rules, service accounts and
    /// their keys, IAM policies, log sinks. `resourceName` names the target; the request says
    /// what was asked.
    fn gcp_changes(&self, out: &mut Vec<Touch>) {
        let Some(method) = self.text_at(&["protoPayload.methodName"]) else {
            return;
        };
        let payload = self.member("protoPayload");
        let req = payload.and_then(|p| p.member("request", false));
        let resp = payload.and_then(|p| p.member("response", false));
        let resource = self.text_at(&["protoPayload.resourceName"]);
        let name = resource.as_deref().map(last_segment).map(str::to_string);
        // `v1.compute.instances.insert`, `beta.compute.firewalls.patch`, `...CreateServiceAccountKey`.
        let call = method.rsplit('.').next().unwrap_or(&method);
        let on = |what: &str| method.contains(&format!(".{what}."));
        use Change::*;
        let said = |d: &str| Some(d.to_string());
        let touch = if on("compute.instances") {
            let change = match call {
                "insert" => Some((Launched, None)),
                "delete" => Some((Deleted, None)),
                "stop" | "suspend" => Some((Stopped, None)),
                "start" | "resume" => Some((Modified, said("started"))),
                "setMetadata" => Some((Modified, said("metadata set (SSH keys, startup script)"))),
                "setServiceAccount" => Some((Modified, said("service account set"))),
                _ => None,
            };
            change.and_then(|(c, d)| touch(Kind::Instance, name, c).map(|t| t.detail(d)))
        } else if on("compute.firewalls") {
            let rule = gcp_firewall_rule(req);
            match call {
                "insert" => touch(Kind::Firewall, name, Opened).map(|t| t.detail(rule)),
                "patch" | "update" => touch(Kind::Firewall, name, Modified).map(|t| t.detail(rule)),
                "delete" => touch(Kind::Firewall, name, Deleted),
                _ => None,
            }
        } else if method.ends_with("CreateServiceAccountKey") {
            let account = req
                .and_then(|r| r.first_text("name"))
                .map(|n| format!("service_account {}", last_segment(&n)));
            let key = resp
                .and_then(|r| r.first_text("name"))
                .map(|n| last_segment(&n).to_string())
                .or_else(|| Some("(new key)".to_string()));
            touch(Kind::AccessKey, key, Created).map(|t| t.parent(account))
        } else if method.ends_with("DeleteServiceAccountKey") {
            touch(Kind::AccessKey, name, Deleted)
        } else if method.ends_with("CreateServiceAccount") {
            let email = resp.and_then(|r| r.first_text("email")).or(name);
            touch(Kind::User, email, Created)
        } else if call.eq_ignore_ascii_case("setIamPolicy") || call == "setIamPermissions" {
            let mut public = false;
            if let Some(r) = req {
                r.visit_strings(&mut |s| {
                    public |= s == "allUsers" || s == "allAuthenticatedUsers";
                });
            }
            let kind = match resource.as_deref() {
                Some(r) if r.contains("/buckets/") => Kind::Bucket,
                Some(r) if r.contains("/snapshots/") => Kind::Snapshot,
                Some(r) if r.contains("/images/") => Kind::Image,
                Some(r) if r.contains("/serviceAccounts/") => Kind::User,
                _ => Kind::Resource,
            };
            let id = if kind == Kind::Resource {
                resource
            } else {
                name
            };
            if public {
                let change = if matches!(kind, Kind::Snapshot | Kind::Image) {
                    Shared
                } else {
                    Opened
                };
                touch(kind, id, change).map(|t| t.detail(said("IAM policy grants allUsers")))
            } else {
                touch(kind, id, Modified).map(|t| t.detail(said("IAM policy set")))
            }
        } else if method.ends_with("ConfigServiceV2.DeleteSink") {
            touch(Kind::Trail, name, Deleted).map(|t| t.detail(said("log sink")))
        } else if method.ends_with("ConfigServiceV2.UpdateSink") {
            touch(Kind::Trail, name, Modified).map(|t| t.detail(said("log sink")))
        } else {
            None
        };
        out.extend(touch);
    }
}

/// A GCP firewall rule as asked: `ingress tcp 22 from 0.0.0.0/0`.
fn gcp_firewall_rule(req: Option<&Node<'_>>) -> Option<String> {
    let req = req?;
    let direction = req
        .first_text("direction")
        .map(|d| d.to_ascii_lowercase())
        .unwrap_or_else(|| "ingress".to_string());
    let mut allowed = Vec::new();
    for rule in elements(Some(req), "alloweds")
        .into_iter()
        .chain(elements(Some(req), "allowed"))
    {
        let protocol = rule
            .first_text("IPProtocol")
            .or_else(|| rule.first_text("ipProtocol"))
            .unwrap_or_else(|| "all".to_string());
        let ports = texts(Some(rule), "ports");
        allowed.push(if ports.is_empty() {
            protocol
        } else {
            format!("{protocol} {}", bounded_list(&ports))
        });
    }
    let from = texts(Some(req), "sourceRanges");
    let mut rule = format!("{direction} {}", bounded_list(&allowed));
    if !from.is_empty() {
        rule.push_str(&format!(" from {}", bounded_list(&from)));
    }
    Some(rule)
}

/// A touch of the resource named `id`, when the record names it.
fn touch(kind: Kind, id: Option<String>, change: Change) -> Option<Touch> {
    id.filter(|i| !i.is_empty())
        .map(|id| Touch::new(kind, id, change))
}

/// `RunInstances`: every instance AWS launched, with its type and key pair.
fn launched(resp: Option<&Node<'_>>, out: &mut Vec<Touch>) {
    for item in elements(resp, "instancesSet.items") {
        let Some(id) = item.first_text("instanceId") else {
            continue;
        };
        let detail = [item.first_text("instanceType"), item.first_text("keyName")];
        let detail = match detail {
            [Some(t), Some(k)] => Some(format!("{t}, key pair {k}")),
            [Some(t), None] => Some(t),
            [None, Some(k)] => Some(format!("key pair {k}")),
            [None, None] => None,
        };
        out.push(Touch::new(Kind::Instance, id, Change::Launched).detail(detail));
    }
}

/// `ModifySnapshotAttribute`/`ModifyImageAttribute`: shared with accounts or with everyone
/// (`group: all`), or a share taken back.
fn shared(req: Option<&Node<'_>>, kind: Kind, id: &str, attribute: &str, out: &mut Vec<Touch>) {
    let Some(resource) = req.and_then(|r| r.first_text(id)) else {
        return;
    };
    let whom = |op: &str| {
        let mut who = texts(req, &format!("{attribute}.{op}.items.userId"));
        if texts(req, &format!("{attribute}.{op}.items.group"))
            .iter()
            .any(|g| g.eq_ignore_ascii_case("all"))
        {
            who.insert(0, "everyone (public)".to_string());
        }
        who
    };
    let (added, removed) = (whom("add"), whom("remove"));
    if !added.is_empty() {
        let detail = format!("shared with {}", bounded_list(&added));
        out.push(Touch::new(kind, resource.clone(), Change::Shared).detail(Some(detail)));
    }
    if !removed.is_empty() || added.is_empty() {
        let detail =
            (!removed.is_empty()).then(|| format!("share removed from {}", bounded_list(&removed)));
        out.push(Touch::new(kind, resource, Change::Modified).detail(detail));
    }
}

/// The values at `path` under a member, an array's elements one by one.
fn elements<'n, 'a>(node: Option<&'n Node<'a>>, path: &str) -> Vec<&'n Node<'a>> {
    let mut found = Vec::new();
    if let Some(n) = node {
        n.collect(path, false, &mut found);
    }
    found
        .into_iter()
        .flat_map(|n| match n {
            Node::Array(items) => items.iter().collect(),
            other => vec![other],
        })
        .collect()
}

/// Every scalar at `path` under a member, as text.
fn texts(node: Option<&Node<'_>>, path: &str) -> Vec<String> {
    elements(node, path)
        .into_iter()
        .filter_map(|n| n.as_text().map(|t| t.into_owned()))
        .filter(|t| !t.is_empty())
        .collect()
}

/// The rules a firewall call added: `tcp 22 from 0.0.0.0/0`. The response's rule set is what
/// AWS applied; the request is read when the response has none (older records, a revoke).
fn firewall_rules(req: Option<&Node<'_>>, resp: Option<&Node<'_>>) -> String {
    let mut rules = Vec::new();
    for rule in elements(resp, "securityGroupRuleSet.items") {
        let from = [
            "cidrIpv4",
            "cidrIpv6",
            "referencedGroupInfo.groupId",
            "prefixListId",
        ]
        .iter()
        .find_map(|p| rule.first_text(p));
        rules.push(rule_text(rule, from.into_iter().collect()));
    }
    if rules.is_empty() {
        for perm in elements(req, "ipPermissions.items") {
            let mut from = texts(Some(perm), "ipRanges.items.cidrIp");
            from.extend(texts(Some(perm), "ipv6Ranges.items.cidrIpv6"));
            from.extend(texts(Some(perm), "groups.items.groupId"));
            rules.push(rule_text(perm, from));
        }
        // The older form: one rule in the request's own fields.
        if let Some(req) = req
            && let Some(cidr) = req.first_text("cidrIp")
        {
            rules.push(rule_text(req, vec![cidr]));
        }
    }
    if rules.is_empty() {
        return "rules not named in the record".to_string();
    }
    bounded_list(&rules)
}

fn rule_text(rule: &Node<'_>, from: Vec<String>) -> String {
    let protocol = match rule.first_text("ipProtocol").as_deref() {
        Some("-1") | None => "all traffic".to_string(),
        Some(p) => p.to_string(),
    };
    let ports = match (rule.first_text("fromPort"), rule.first_text("toPort")) {
        (Some(a), Some(b)) if a == b && a != "-1" => format!(" {a}"),
        (Some(a), Some(b)) if a != "-1" => format!(" {a}-{b}"),
        _ => String::new(),
    };
    let from = if from.is_empty() {
        String::new()
    } else {
        format!(" from {}", bounded_list(&from))
    };
    format!("{protocol}{ports}{from}")
}

/// The attribute `ModifyInstanceAttribute` changed (`userData`, `groupSet`, ...).
fn changed_attribute(req: &Node<'_>) -> Option<String> {
    let Node::Object(members) = req else {
        return None;
    };
    let names: Vec<String> = members
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k != "instanceId")
        .collect();
    (!names.is_empty()).then(|| format!("{} changed", bounded_list(&names)))
}

/// `a, b, c` and, past [`DETAIL_ITEMS`], how many more.
fn bounded_list(items: &[String]) -> String {
    let shown = items
        .iter()
        .take(DETAIL_ITEMS)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match items.len().saturating_sub(DETAIL_ITEMS) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// The name at the end of an ARN (`arn:aws:iam::1:role/path/name` → `name`).
fn last_segment(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// `i-` and 8 or 17 hexadecimal digits (case aside: some exports randomize it).
fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn touches(record: serde_json::Value) -> (Vec<Touch>, Option<String>) {
        let text = record.to_string();
        let r = Record::parse(text.as_bytes(), None).unwrap();
        (r.touches(), r.error())
    }

    fn cloudtrail(
        name: &str,
        source: &str,
        req: serde_json::Value,
        resp: serde_json::Value,
    ) -> serde_json::Value {
        json!({"eventVersion": "1.09", "eventTime": "2026-11-02T10:00:00Z",
               "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
               "sourceIPAddress": "203.0.113.7", "recipientAccountId": "111122223333",
               "userIdentity": {"type": "IAMUser", "userName": "ci-deployer",
                                "arn": "arn:aws:iam::111122223333:user/ci-deployer",
                                "accessKeyId": "AKIACIDEPLOYER000001"},
               "requestParameters": req, "responseElements": resp})
    }

    /// A change as (kind, id, change, parent, detail).
    type Row<'a> = (Kind, &'a str, Change, Option<&'a str>, Option<&'a str>);

    fn changes(t: &[Touch]) -> Vec<Row<'_>> {
        t.iter()
            .filter(|t| t.change.is_change())
            .map(|t| {
                (
                    t.kind,
                    t.id.as_str(),
                    t.change,
                    t.parent.as_deref(),
                    t.detail.as_deref(),
                )
            })
            .collect()
    }

    #[test]
    fn a_long_term_key_is_traced_to_its_user() {
        let (t, error) = touches(cloudtrail(
            "ListBuckets",
            "s3.amazonaws.com",
            json!(null),
            json!(null),
        ));
        assert_eq!(error, None);
        assert!(
            t.contains(
                &Touch::new(Kind::AccessKey, "AKIACIDEPLOYER000001", Change::Used)
                    .parent(Some("user ci-deployer".into()))
            )
        );
        assert!(t.contains(&Touch::new(Kind::User, "ci-deployer", Change::Used)));
        assert!(t.contains(&Touch::new(
            Kind::Principal,
            "arn:aws:iam::111122223333:user/ci-deployer",
            Change::Used
        )));
    }

    #[test]
    fn an_instance_role_session_leads_to_the_role_and_the_instance() {
        let mut r = cloudtrail(
            "GetCallerIdentity",
            "sts.amazonaws.com",
            json!(null),
            json!(null),
        );
        r["userIdentity"] = json!({"type": "AssumedRole", "accessKeyId": "ASIASTOLEN0000000001",
            "arn": "arn:aws:sts::111122223333:assumed-role/web-role/i-0123456789abcdef0",
            "sessionContext": {"ec2RoleDelivery": "2.0", "sessionIssuer": {"type": "Role",
                "userName": "web-role", "arn": "arn:aws:iam::111122223333:role/web-role"}}});
        let (t, _) = touches(r);
        assert!(
            t.contains(
                &Touch::new(Kind::SessionKey, "ASIASTOLEN0000000001", Change::Used)
                    .parent(Some("role web-role".into()))
                    .detail(Some("instance i-0123456789abcdef0's role session".into()))
            )
        );
        assert!(t.contains(&Touch::new(Kind::Role, "web-role", Change::Used)));
        let instance = t.iter().find(|t| t.kind == Kind::Instance).unwrap();
        assert_eq!(instance.id, "i-0123456789abcdef0");
        assert_eq!(instance.parent.as_deref(), Some("role web-role"));
        // A session named otherwise is no instance.
        let mut r = cloudtrail(
            "GetCallerIdentity",
            "sts.amazonaws.com",
            json!(null),
            json!(null),
        );
        r["userIdentity"] = json!({"type": "AssumedRole", "accessKeyId": "ASIA2",
            "arn": "arn:aws:sts::1:assumed-role/admin/i-am-not-an-instance"});
        assert!(touches(r).0.iter().all(|t| t.kind != Kind::Instance));
    }

    #[test]
    fn a_leaked_key_minting_keys_granting_admin_launching_and_blinding_is_read_as_changes() {
        let key = cloudtrail(
            "CreateAccessKey",
            "iam.amazonaws.com",
            json!({"userName": "backup-admin"}),
            json!({"accessKey": {"accessKeyId": "AKIANEWKEY0000000001", "status": "Active",
                                 "userName": "backup-admin"}}),
        );
        assert_eq!(
            changes(&touches(key).0),
            vec![(
                Kind::AccessKey,
                "AKIANEWKEY0000000001",
                Change::Created,
                Some("user backup-admin"),
                None
            )]
        );
        let attach = cloudtrail(
            "AttachUserPolicy",
            "iam.amazonaws.com",
            json!({"userName": "backup-admin",
                   "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            json!(null),
        );
        assert_eq!(
            changes(&touches(attach).0),
            vec![(
                Kind::ManagedPolicy,
                "arn:aws:iam::aws:policy/AdministratorAccess",
                Change::Attached,
                Some("user backup-admin"),
                None
            )]
        );
        let items: Vec<_> = (0..20)
            .map(|i| {
                json!({"instanceId": format!("i-{i:017x}"),
            "instanceType": "p4d.24xlarge", "keyName": "miner"})
            })
            .collect();
        let run = cloudtrail(
            "RunInstances",
            "ec2.amazonaws.com",
            json!({"instanceType": "p4d.24xlarge"}),
            json!({"instancesSet": {"items": items}}),
        );
        let (run, _) = touches(run);
        let launched = changes(&run);
        assert_eq!(launched.len(), 20);
        assert!(launched.iter().all(|(k, _, c, _, d)| *k == Kind::Instance
            && *c == Change::Launched
            && *d == Some("p4d.24xlarge, key pair miner")));
        let stop = cloudtrail(
            "StopLogging",
            "cloudtrail.amazonaws.com",
            json!({"name": "org-trail"}),
            json!(null),
        );
        assert_eq!(
            changes(&touches(stop).0),
            vec![(Kind::Trail, "org-trail", Change::Stopped, None, None)]
        );
        let keypair = cloudtrail(
            "ImportKeyPair",
            "ec2.amazonaws.com",
            json!({"keyName": "miner"}),
            json!({"keyPairId": "key-0abc"}),
        );
        assert_eq!(
            changes(&touches(keypair).0),
            vec![(
                Kind::KeyPair,
                "miner",
                Change::Created,
                None,
                Some("key-0abc")
            )]
        );
    }

    #[test]
    fn a_failed_call_says_why() {
        let mut r = cloudtrail(
            "CreateUser",
            "iam.amazonaws.com",
            json!({"userName": "evil"}),
            json!(null),
        );
        r["errorCode"] = json!("AccessDenied");
        let (t, error) = touches(r);
        assert_eq!(error.as_deref(), Some("AccessDenied"));
        // What it would have changed is still named, for the failed-call list.
        assert_eq!(
            changes(&t),
            vec![(Kind::User, "evil", Change::Created, None, None)]
        );
        let gcp = json!({"protoPayload": {"methodName": "SetIamPolicy",
            "status": {"code": 7, "message": "PERMISSION_DENIED"},
            "authenticationInfo": {"principalEmail": "a@example.com"}}});
        assert_eq!(touches(gcp).1.as_deref(), Some("7 PERMISSION_DENIED"));
        let gcp_ok = json!({"protoPayload": {"methodName": "x", "status": {}}});
        assert_eq!(touches(gcp_ok).1, None);
    }

    #[test]
    fn gcp_firewalls_keys_and_public_policies_are_changes() {
        let gcp = |method: &str, resource: &str, request: serde_json::Value| {
            json!({"protoPayload": {"methodName": method, "resourceName": resource,
                "status": {}, "request": request,
                "authenticationInfo": {"principalEmail": "contractor@example.com"}},
                "insertId": "x", "timestamp": "2026-10-02T09:33:47.881Z"})
        };
        let (t, error) = touches(gcp(
            "v1.compute.firewalls.insert",
            "projects/p/global/firewalls/allow-ssh",
            json!({"direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                   "alloweds": [{"IPProtocol": "tcp", "ports": ["22"]}]}),
        ));
        assert_eq!(error, None);
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Firewall,
                "allow-ssh",
                Change::Opened,
                None,
                Some("ingress tcp 22 from 0.0.0.0/0")
            )]
        );
        let (t, _) = touches(gcp(
            "google.iam.admin.v1.CreateServiceAccountKey",
            "projects/-/serviceAccounts/1142",
            json!({"name": "projects/-/serviceAccounts/deployer@p.iam.gserviceaccount.com"}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::AccessKey,
                "(new key)",
                Change::Created,
                Some("service_account deployer@p.iam.gserviceaccount.com"),
                None
            )]
        );
        let (t, _) = touches(gcp(
            "storage.setIamPermissions",
            "projects/_/buckets/exports",
            json!({"policy": {"bindings": [{"role": "roles/storage.objectViewer",
                                            "members": ["allUsers"]}]}}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Bucket,
                "exports",
                Change::Opened,
                None,
                Some("IAM policy grants allUsers")
            )]
        );
        let (t, _) = touches(gcp(
            "v1.compute.instances.insert",
            "projects/p/zones/z/instances/miner-1",
            json!({}),
        ));
        assert_eq!(changes(&t)[0].2, Change::Launched);
    }

    #[test]
    fn firewall_rules_and_shares_say_what_was_opened_and_to_whom() {
        let open = cloudtrail(
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp",
                "fromPort": 22, "toPort": 22,
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"_return": true}),
        );
        assert_eq!(
            changes(&touches(open).0),
            vec![(
                Kind::Firewall,
                "sg-1",
                Change::Opened,
                None,
                Some("ingress tcp 22 from 0.0.0.0/0")
            )]
        );
        // The older single-rule form, and the applied rule set when AWS returns it.
        let old = cloudtrail(
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            json!({"groupId": "sg-2", "cidrIp": "0.0.0.0/0", "ipProtocol": "-1"}),
            json!(null),
        );
        assert_eq!(
            changes(&touches(old).0)[0].4,
            Some("ingress all traffic from 0.0.0.0/0")
        );
        let share = cloudtrail(
            "ModifySnapshotAttribute",
            "ec2.amazonaws.com",
            json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [
                {"userId": "999988887777"}, {"group": "all"}]}}}),
            json!(null),
        );
        assert_eq!(
            changes(&touches(share).0),
            vec![(
                Kind::Snapshot,
                "snap-1",
                Change::Shared,
                None,
                Some("shared with everyone (public), 999988887777")
            )]
        );
        // A hostile record with thousands of rules costs one bounded line.
        let many: Vec<_> = (0..5000)
            .map(|i| {
                json!({"ipProtocol": "tcp", "fromPort": i,
            "toPort": i, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}})
            })
            .collect();
        let flood = cloudtrail(
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            json!({"groupId": "sg-3", "ipPermissions": {"items": many}}),
            json!(null),
        );
        let (flood, _) = touches(flood);
        let detail = changes(&flood)[0].4.unwrap().to_string();
        assert!(detail.ends_with("and 4992 more"), "{detail}");
        assert!(detail.len() < 400, "{detail}");
    }

    #[test]
    fn a_role_assumed_mints_a_session_key_traced_to_it() {
        let r = cloudtrail(
            "AssumeRole",
            "sts.amazonaws.com",
            json!({"roleArn": "arn:aws:iam::111122223333:role/ops/deploy", "roleSessionName": "x"}),
            json!({"credentials": {"accessKeyId": "ASIAMINTED0000000001"}}),
        );
        assert_eq!(
            changes(&touches(r).0),
            vec![
                (
                    Kind::Role,
                    "deploy",
                    Change::Assumed,
                    None,
                    Some("session x")
                ),
                (
                    Kind::SessionKey,
                    "ASIAMINTED0000000001",
                    Change::Created,
                    Some("role deploy"),
                    None
                ),
            ]
        );
    }
}
