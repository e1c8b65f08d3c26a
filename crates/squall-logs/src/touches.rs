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

use squall_core::touched::{Change, Kind, Rule, Touch, trail_change};

use crate::node::Node;
use crate::record::Record;
use crate::source::LogSource;

/// Lists in a detail (firewall rules, accounts shared with) stop after this many items, so a
/// record with a million rules costs a bounded line.
const DETAIL_ITEMS: usize = 8;

/// Resources one record can name (a `RunInstances` of a thousand instances is a real one);
/// past it, the last says how many more were left out, so one record's cost stays bounded.
pub const MAX_TOUCHES: usize = 1000;

impl Record<'_> {
    /// Why the call failed, or `None` when it succeeded: CloudTrail's `errorCode`, GCP's
    /// non-zero `protoPayload.status.code`, Azure's `Failure` result.
    pub fn error(&self) -> Option<String> {
        match self.source() {
            LogSource::CloudTrail => self.text_at(&["errorCode"]).or_else(|| {
                // A failed console sign-in has no errorCode, only its answer.
                let answer = self.text_at(&["responseElements.ConsoleLogin"])?;
                (answer == "Failure").then(|| "ConsoleLogin Failure".to_string())
            }),
            LogSource::GcpAudit => {
                let code = self.text_at(&["protoPayload.status.code"])?;
                (code != "0").then(|| match self.text_at(&["protoPayload.status.message"]) {
                    Some(m) => format!("{code} {m}"),
                    None => code,
                })
            }
            LogSource::AzureActivity => ["resultType", "status.value", "properties.status"]
                .iter()
                .filter_map(|p| self.text_at(&[p]))
                .find(|s| s.eq_ignore_ascii_case("failure") || s.eq_ignore_ascii_case("failed")),
            _ => None,
        }
    }

    /// The long-running operation a GCP record belongs to (`operation.id`): its first entry
    /// names the change, its last says whether it happened, so a failed last entry voids
    /// the first's change.
    pub fn operation(&self) -> Option<String> {
        match self.source() {
            LogSource::GcpAudit => self.text_at(&["operation.id"]),
            _ => None,
        }
    }

    /// The resources this record names and what it did to each; see the module documentation.
    /// The credentials come first, then the call's own changes (for a failed call, what it
    /// would have changed).
    pub fn touches(&self) -> Vec<Touch> {
        let mut out = self.touches_unbounded();
        if out.len() > MAX_TOUCHES {
            let more = out.len() - MAX_TOUCHES;
            out.truncate(MAX_TOUCHES);
            if let Some(last) = out.last_mut() {
                let said = last
                    .detail
                    .take()
                    .map(|d| format!("{d}; "))
                    .unwrap_or_default();
                last.detail = Some(format!(
                    "{said}and {more} more in the same record, not listed"
                ));
            }
        }
        out
    }

    fn touches_unbounded(&self) -> Vec<Touch> {
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
                let issuer = issuer.or_else(|| self.assumed_role().map(|(role, _)| role));
                let parent = issuer.as_ref().map(|name| match issuer_type.as_deref() {
                    Some("IAMUser") => format!("user {name}"),
                    _ => format!("role {name}"),
                });
                if let Some(p) = arn {
                    out.push(Touch::new(Kind::Principal, p, Change::Used));
                }
                let instance = self.role_session_instance();
                if let Some(k) = key {
                    let detail = instance.as_ref().map(|i| match i {
                        Ok(i) => format!("instance {i}'s role session"),
                        Err(i) => format!(
                            "a session named {i}, not shown to be that instance's \
                             (no ec2RoleDelivery)"
                        ),
                    });
                    out.push(
                        Touch::new(Kind::SessionKey, k, Change::Used)
                            .parent(parent.clone())
                            .detail(detail),
                    );
                }
                if let (Some(name), Some("Role") | None) = (&issuer, issuer_type.as_deref()) {
                    out.push(Touch::new(Kind::Role, name.clone(), Change::Used));
                }
                if let Some(Ok(i)) = instance {
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
    /// (`assumed-role/web-role/i-0abc...`) and marks the credentials it delivered
    /// (`sessionContext.ec2RoleDelivery`). Anyone calling AssumeRole can name a session
    /// `i-0abc...`, so the name alone is `Err`: said, never acted on.
    pub(crate) fn role_session_instance(&self) -> Option<Result<String, String>> {
        let session = self.assumed_role()?.1;
        if !is_instance_id(&session) {
            return None;
        }
        Some(
            match self.text_at(&["userIdentity.sessionContext.ec2RoleDelivery"]) {
                Some(_) => Ok(session),
                None => Err(session),
            },
        )
    }

    /// The role and session of an assumed-role ARN (`assumed-role/ROLE/SESSION`).
    fn assumed_role(&self) -> Option<(String, String)> {
        let arn = self.text_at(&["userIdentity.arn"])?;
        let rest = arn.split_once(":assumed-role/")?.1;
        let (role, session) = rest.split_once('/')?;
        Some((role.to_string(), session.to_string()))
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
            ("iam", "CreateUser") => {
                touch(Kind::User, r("userName"), Created).map(|t| t.unique_id(a("user.userId")))
            }
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
            ("iam", "CreateRole") => {
                touch(Kind::Role, r("roleName"), Created).map(|t| t.unique_id(a("role.roleId")))
            }
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
            )
            .map(|t| t.unique_id(a("policy.policyId"))),
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
                // A role in another account keeps its ARN: it is not this account's role of
                // the same name, and no verb here acts on it.
                let recipient = self.text_at(&["recipientAccountId"]);
                let role = r("roleArn").map(|arn| match (arn_account(&arn), &recipient) {
                    (Some(a), Some(own)) if a != own => arn.clone(),
                    _ => last_segment(&arn).to_string(),
                });
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
            ("ssm", "SendCommand") => {
                let document = r("documentName").unwrap_or_else(|| "a document".into());
                for id in texts(req, "instanceIds").into_iter().take(MAX_TOUCHES) {
                    let t = Touch::new(Kind::Instance, id, Modified);
                    out.push(t.detail(Some(format!("command sent ({document})"))));
                }
                None
            }
            ("ssm", "StartSession") => touch(Kind::Instance, r("target"), Modified)
                .map(|t| t.detail(said("shell session started (SSM)"))),
            ("ec2", "AssociateIamInstanceProfile" | "ReplaceIamInstanceProfileAssociation") => {
                let profile = r("iamInstanceProfile.arn").or(r("iamInstanceProfile.name"));
                touch(Kind::Instance, r("instanceId"), Modified).map(|t| {
                    let profile = profile.unwrap_or_else(|| "?".into());
                    t.detail(Some(format!("instance profile set: {profile}")))
                })
            }
            ("rds", "ModifyDBInstance" | "ModifyDBCluster") => {
                let id = r("dBInstanceIdentifier").or(r("dBClusterIdentifier"));
                let what = if req.is_some_and(|q| q.member("masterUserPassword", false).is_some()) {
                    "database: master password changed"
                } else {
                    "database: settings changed"
                };
                touch(Kind::Resource, id, Modified).map(|t| t.detail(said(what)))
            }
            (
                "iam",
                "CreateSAMLProvider" | "UpdateSAMLProvider" | "CreateOpenIDConnectProvider",
            ) => {
                let id = a("sAMLProviderArn")
                    .or(a("openIDConnectProviderArn"))
                    .or(r("sAMLProviderArn"))
                    .or(r("name"))
                    .or(r("url"));
                let change = if name.starts_with("Update") {
                    Modified
                } else {
                    Created
                };
                touch(Kind::Resource, id, change)
                    .map(|t| t.detail(said("identity provider: who may sign in as roles")))
            }
            ("guardduty", "CreateIPSet" | "UpdateIPSet") => {
                let change = if name.starts_with("Update") {
                    Modified
                } else {
                    Created
                };
                touch(
                    Kind::Monitoring,
                    a("ipSetId").or(r("ipSetId")).or(r("name")),
                    change,
                )
                .map(|t| t.detail(said("GuardDuty trusted IP list: no findings from these")))
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
                let (line, rules) = firewall_rules(!name.ends_with("Egress"), req, resp);
                // Opened: reachable from (or out to) any address; narrower rules modify it.
                let change = if rules.iter().any(Rule::is_world) {
                    Opened
                } else {
                    Modified
                };
                touch(Kind::Firewall, r("groupId").or(r("groupName")), change).map(|mut t| {
                    t.rules = rules;
                    t.detail(Some(line))
                })
            }
            ("ec2", "RevokeSecurityGroupIngress" | "RevokeSecurityGroupEgress") => {
                let (line, _) = firewall_rules(!name.ends_with("Egress"), req, None);
                touch(Kind::Firewall, r("groupId").or(r("groupName")), Modified)
                    .map(|t| t.detail(Some(format!("revoked {line}"))))
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
            ("cloudtrail", "UpdateTrail") => {
                // What was changed, in fixed words: what the response restores by itself and
                // what it leaves to the analyst.
                let off = |k: &str| r(k).as_deref() == Some("false");
                let changed: Vec<&str> = [
                    (off("isMultiRegionTrail"), trail_change::MULTI_REGION_OFF),
                    (
                        off("includeGlobalServiceEvents"),
                        trail_change::GLOBAL_EVENTS_OFF,
                    ),
                    (off("enableLogFileValidation"), trail_change::VALIDATION_OFF),
                    (r("s3BucketName").is_some(), trail_change::BUCKET),
                    (r("s3KeyPrefix").is_some(), trail_change::PREFIX),
                    (r("kmsKeyId").is_some(), trail_change::ENCRYPTION),
                    (
                        r("cloudWatchLogsLogGroupArn").is_some()
                            || r("cloudWatchLogsRoleArn").is_some(),
                        trail_change::CLOUDWATCH,
                    ),
                    (r("snsTopicName").is_some(), trail_change::SNS),
                    (off("isOrganizationTrail"), trail_change::ORGANIZATION_OFF),
                ]
                .into_iter()
                .filter_map(|(yes, what)| yes.then_some(what))
                .collect();
                touch(Kind::Trail, r("name"), Modified).map(|t| t.detail(Some(changed.join(", "))))
            }
            ("cloudtrail", "PutEventSelectors") => touch(Kind::Trail, r("trailName"), Modified)
                .map(|t| t.detail(said(trail_change::SELECTORS))),
            ("cloudtrail", "PutInsightSelectors") => touch(Kind::Trail, r("trailName"), Modified)
                .map(|t| t.detail(said(trail_change::INSIGHTS))),
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
            ("s3", "PutBucketPolicy" | "PutBucketAcl") => {
                // Opened only when the grant reaches everyone; any other policy modifies it.
                let (change, detail) = if req.is_some_and(grants_public) {
                    (Opened, format!("{name}: grants everyone"))
                } else {
                    (Modified, name.clone())
                };
                touch(Kind::Bucket, r("bucketName"), change).map(|t| t.detail(Some(detail)))
            }
            ("s3", "DeletePublicAccessBlock" | "PutPublicAccessBlock") => {
                let what = if name.starts_with("Delete") {
                    "removed"
                } else {
                    "set"
                };
                touch(Kind::Bucket, r("bucketName"), Modified)
                    .map(|t| t.detail(Some(format!("public access block {what}"))))
            }
            ("s3", "DeleteBucket") => touch(Kind::Bucket, r("bucketName"), Deleted),
            _ => None,
        };
        out.extend(touch);
    }
}

impl Record<'_> {
    /// A log sink's or exclusion's id in a touch: `N` for the record's own project's
    /// (`projects/P/sinks/N`, P its id or number), so a verb can name it from the project;
    /// anything else (a folder's or organization's, another project's) whole, which no
    /// project verb takes. The record's project is the one its touches are placed in: its
    /// resource's label, else its log's name.
    fn config_name(&self, resource: Option<&str>, kind: &str) -> Option<String> {
        let resource = resource?;
        let own = self.account();
        match resource.split('/').collect::<Vec<_>>().as_slice() {
            ["projects", p, k, n]
                if *k == kind
                    && (own.as_deref().is_none_or(|own| own == *p)
                        || p.bytes().all(|b| b.is_ascii_digit())) =>
            {
                Some(n.to_string())
            }
            _ => Some(resource.to_string()),
        }
    }

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
            let (line, rules) = gcp_firewall_rules(req);
            // Opened: a rule that allows any address in; a deny rule or a narrower one is not.
            let world = rules.iter().any(Rule::is_world);
            let change = match call {
                "insert" if world => Some(Opened),
                "insert" => Some(Created),
                "patch" | "update" => Some(if world { Opened } else { Modified }),
                "delete" => Some(Deleted),
                _ => None,
            };
            change.and_then(|c| {
                touch(Kind::Firewall, name, c).map(|mut t| {
                    if c != Deleted {
                        t.rules = rules;
                        t = t.detail(line);
                    }
                    t
                })
            })
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
            // The new account's address, else the id it was asked for (never the project's).
            let email = resp
                .and_then(|r| r.first_text("email"))
                .or_else(|| req.and_then(|r| r.first_text("account_id")))
                .or_else(|| req.and_then(|r| r.first_text("accountId")));
            touch(Kind::User, email, Created)
        } else if call.eq_ignore_ascii_case("setIamPolicy") || call == "setIamPermissions" {
            let mut public = false;
            if let Some(r) = req {
                r.visit_strings(&mut |s| {
                    public |= s == "allUsers" || s == "allAuthenticatedUsers";
                });
            }
            // By the path's shape, not a substring: a project may be named `snapshots`.
            let parts: Vec<&str> = resource.as_deref().unwrap_or_default().split('/').collect();
            let kind = match parts.as_slice() {
                [.., "buckets", _] => Kind::Bucket,
                ["projects", _, "global", "snapshots", _] => Kind::Snapshot,
                ["projects", _, "global", "images", _] => Kind::Image,
                ["projects", _, "zones" | "regions", _, "disks", _] => Kind::Disk,
                [.., "serviceAccounts", _] => Kind::User,
                _ => Kind::Resource,
            };
            // A disk's name is unique only in its zone or region: its whole path names it.
            let id = if matches!(kind, Kind::Resource | Kind::Disk) {
                resource
            } else {
                name
            };
            let granted = gcp_granted(self.member("protoPayload"));
            if public {
                let change = if matches!(kind, Kind::Snapshot | Kind::Image | Kind::Disk) {
                    Shared
                } else {
                    Opened
                };
                touch(kind, id, change).map(|t| t.detail(said("IAM policy grants allUsers")))
            } else {
                let detail = granted.unwrap_or_else(|| "IAM policy set".to_string());
                touch(kind, id, Modified).map(|t| t.detail(Some(detail)))
            }
        } else if method.ends_with("compute.projects.setCommonInstanceMetadata") {
            touch(Kind::Resource, resource, Modified).map(|t| {
                t.detail(said(
                    "project-wide metadata set (SSH keys, startup scripts)",
                ))
            })
        } else if method.ends_with("ConfigServiceV2.CreateSink") {
            // Made by the actors: it routes logs where they chose.
            let made = made_name(req, "sink", "sinks");
            let id = self.config_name(made.as_deref().or(resource.as_deref()), "sinks");
            touch(Kind::Trail, id, Created).map(|t| t.detail(said("log sink made")))
        } else if method.ends_with("ConfigServiceV2.DeleteSink") {
            let id = self.config_name(resource.as_deref(), "sinks");
            touch(Kind::Trail, id, Deleted).map(|t| t.detail(said("log sink")))
        } else if method.ends_with("ConfigServiceV2.UpdateSink") {
            // Turned off, and nothing else, is the quiet way to stop a sink; a call that also
            // sets (or may set) its destination or filter is a change a responder reviews.
            let disabled = req
                .and_then(|r| r.first_text("sink.disabled"))
                .is_some_and(|d| d == "true");
            // Every path of the mask, whether written `"a,b"` or `{"paths": ["a", "b"]}`.
            let paths: Vec<String> = [texts(req, "updateMask"), texts(req, "updateMask.paths")]
                .concat()
                .iter()
                .flat_map(|m| m.split(','))
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            let only_disabled = !paths.is_empty() && paths.iter().all(|p| p == "disabled");
            let id = self.config_name(resource.as_deref(), "sinks");
            if disabled && only_disabled {
                touch(Kind::Trail, id, Stopped).map(|t| t.detail(said("log sink disabled")))
            } else {
                touch(Kind::Trail, id, Modified).map(|t| t.detail(said("log sink")))
            }
        } else if method.ends_with("ConfigServiceV2.CreateExclusion") {
            // Entries matching it are dropped before any sink or bucket sees them.
            let made = made_name(req, "exclusion", "exclusions");
            let named = resource.clone().filter(|r| r.contains("/exclusions/"));
            // Named `exclusions/NAME`: a sink of the same name is another resource.
            let id = self
                .config_name(named.or(made).as_deref(), "exclusions")
                .map(|n| format!("exclusions/{n}"));
            touch(Kind::Trail, id, Created).map(|t| t.detail(said("log exclusion")))
        } else if method.ends_with("ConfigServiceV2.UpdateExclusion") {
            // Widened, it drops more before any sink sees it; narrowed or disabled, less.
            let id = self
                .config_name(
                    resource
                        .clone()
                        .or_else(|| req.and_then(|r| r.first_text("name")))
                        .as_deref(),
                    "exclusions",
                )
                .map(|n| format!("exclusions/{n}"));
            touch(Kind::Trail, id, Modified).map(|t| t.detail(said("log exclusion changed")))
        } else {
            None
        };
        out.extend(touch);
    }
}

/// `PARENT/sinks/NAME` for a creation's request (`{"parent": ..., "sink": {"name": ...}}`).
fn made_name(req: Option<&Node<'_>>, noun: &str, plural: &str) -> Option<String> {
    let req = req?;
    let name = req.first_text(&format!("{noun}.name"))?;
    let parent = req.first_text("parent").unwrap_or_default();
    Some(format!("{parent}/{plural}/{name}"))
}

/// A GCP firewall rule as asked (`ingress tcp 22 from 0.0.0.0/0`, `ingress denies tcp 22 from
/// 0.0.0.0/0`), and the rules it allows (a deny rule allows nothing).
fn gcp_firewall_rules(req: Option<&Node<'_>>) -> (Option<String>, Vec<Rule>) {
    let Some(req) = req else {
        return (None, Vec::new());
    };
    let direction = req
        .first_text("direction")
        .map(|d| d.to_ascii_lowercase())
        .unwrap_or_else(|| "ingress".to_string());
    let ingress = direction != "egress";
    let peers = if ingress {
        texts(Some(req), "sourceRanges")
    } else {
        texts(Some(req), "destinationRanges")
    };
    let mut rules = Vec::new();
    let said = |list: &str, allow: bool, rules: &mut Vec<Rule>| {
        let mut out = Vec::new();
        for rule in elements(Some(req), list) {
            let protocol = rule
                .first_text("IPProtocol")
                .or_else(|| rule.first_text("ipProtocol"))
                .map(|p| p.to_ascii_lowercase())
                .unwrap_or_else(|| "all".to_string());
            let ports = texts(Some(rule), "ports");
            out.push(if ports.is_empty() {
                protocol.clone()
            } else {
                format!("{protocol} {}", bounded_list(&ports))
            });
            if !allow {
                continue;
            }
            // `22`, `8000-8080`; no ports is every port.
            let ranges: Vec<Option<(u32, u32)>> = if ports.is_empty() {
                vec![None]
            } else {
                ports
                    .iter()
                    .take(DETAIL_ITEMS)
                    .map(|p| port_range(p))
                    .collect()
            };
            for range in ranges {
                rules.push(Rule {
                    ingress,
                    protocol: protocol.clone(),
                    ports: range,
                    peers: peers.iter().take(DETAIL_ITEMS).cloned().collect(),
                });
            }
        }
        out
    };
    let allowed = said("alloweds", true, &mut rules);
    let allowed = [allowed, said("allowed", true, &mut rules)].concat();
    let denied = [
        said("denieds", false, &mut rules),
        said("denied", false, &mut rules),
    ]
    .concat();
    rules.truncate(DETAIL_ITEMS);
    let mut line = direction;
    if !allowed.is_empty() {
        line.push_str(&format!(" {}", bounded_list(&allowed)));
    }
    if !denied.is_empty() {
        line.push_str(&format!(" denies {}", bounded_list(&denied)));
    }
    if !peers.is_empty() {
        let word = if ingress { "from" } else { "to" };
        line.push_str(&format!(" {word} {}", bounded_list(&peers)));
    }
    (Some(line), rules)
}

/// `22` → (22, 22), `8000-8080` → (8000, 8080); anything else is every port.
fn port_range(p: &str) -> Option<(u32, u32)> {
    let (a, b) = p.split_once('-').unwrap_or((p, p));
    match (a.trim().parse(), b.trim().parse()) {
        (Ok(a), Ok(b)) if a <= b => Some((a, b)),
        _ => None,
    }
}

/// What a GCP IAM policy change granted, from the audit log's policy delta: `granted
/// roles/owner to user:x@example.com`.
fn gcp_granted(payload: Option<&Node<'_>>) -> Option<String> {
    let mut granted = Vec::new();
    for delta in elements(payload, "serviceData.policyDelta.bindingDeltas") {
        if delta.first_text("action").as_deref() != Some("ADD") {
            continue;
        }
        if let (Some(role), Some(member)) = (delta.first_text("role"), delta.first_text("member")) {
            granted.push(format!("{role} to {member}"));
        }
    }
    (!granted.is_empty()).then(|| format!("granted {}", bounded_list(&granted)))
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

/// The rules a firewall call added or removed, with the line that says them: `ingress tcp 22
/// from 0.0.0.0/0`. The response's rule set is what AWS applied; the request is read when the
/// response has none (older records, a revoke). At most [`DETAIL_ITEMS`] rules are kept.
fn firewall_rules(
    ingress: bool,
    req: Option<&Node<'_>>,
    resp: Option<&Node<'_>>,
) -> (String, Vec<Rule>) {
    let mut rules = Vec::new();
    for rule in elements(resp, "securityGroupRuleSet.items") {
        let peer = [
            "cidrIpv4",
            "cidrIpv6",
            "referencedGroupInfo.groupId",
            "prefixListId",
        ]
        .iter()
        .find_map(|p| rule.first_text(p));
        rules.push(aws_rule(ingress, rule, peer.into_iter().collect()));
    }
    if rules.is_empty() {
        for perm in elements(req, "ipPermissions.items") {
            let mut peers = texts(Some(perm), "ipRanges.items.cidrIp");
            peers.extend(texts(Some(perm), "ipv6Ranges.items.cidrIpv6"));
            peers.extend(texts(Some(perm), "groups.items.groupId"));
            rules.push(aws_rule(ingress, perm, peers));
        }
        // The older form: one rule in the request's own fields.
        if let Some(req) = req
            && let Some(cidr) = req.first_text("cidrIp")
        {
            rules.push(aws_rule(ingress, req, vec![cidr]));
        }
    }
    let direction = if ingress { "ingress" } else { "egress" };
    if rules.is_empty() {
        return (format!("{direction}: rules not named in the record"), rules);
    }
    let lines: Vec<String> = rules.iter().map(rule_text).collect();
    // The world-open rules first, so the kept ones are those that decide what to do.
    rules.sort_by_key(|r| !r.is_world());
    rules.truncate(DETAIL_ITEMS);
    (format!("{direction} {}", bounded_list(&lines)), rules)
}

/// A rule of an AWS security group, from its `ipProtocol`, `fromPort` and `toPort`.
fn aws_rule(ingress: bool, rule: &Node<'_>, mut peers: Vec<String>) -> Rule {
    let protocol = match rule.first_text("ipProtocol").as_deref() {
        Some("-1") | None => "all".to_string(),
        Some(p) => p.to_ascii_lowercase(),
    };
    let port = |k: &str| rule.first_text(k).and_then(|p| p.parse::<i64>().ok());
    let ports = match (port("fromPort"), port("toPort")) {
        (Some(a), Some(b)) if a >= 0 && b >= a && b <= 65535 => Some((a as u32, b as u32)),
        _ => None,
    };
    // A world-open peer is kept whatever else the rule lists.
    peers.sort_by_key(|p| !p.ends_with("/0"));
    peers.truncate(DETAIL_ITEMS);
    Rule {
        ingress,
        protocol,
        ports,
        peers,
    }
}

/// `tcp 22 from 0.0.0.0/0`, `all traffic to 0.0.0.0/0`.
fn rule_text(rule: &Rule) -> String {
    let protocol = match rule.protocol.as_str() {
        "all" => "all traffic".to_string(),
        p => p.to_string(),
    };
    let ports = match rule.ports {
        Some((a, b)) if a == b => format!(" {a}"),
        Some((a, b)) => format!(" {a}-{b}"),
        None => String::new(),
    };
    let peers = match (rule.peers.is_empty(), rule.ingress) {
        (true, _) => String::new(),
        (false, true) => format!(" from {}", bounded_list(&rule.peers)),
        (false, false) => format!(" to {}", bounded_list(&rule.peers)),
    };
    format!("{protocol}{ports}{peers}")
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

/// The account of an ARN (`arn:aws:iam::111122223333:role/x` → `111122223333`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Whether an S3 ACL or bucket policy in a request grants everyone: a public canned ACL, a
/// grant to the AllUsers or AuthenticatedUsers group, or a policy statement allowing `*`
/// without a condition.
fn grants_public(req: &Node<'_>) -> bool {
    let canned = req.first_text("x-amz-acl").is_some_and(|a| {
        matches!(
            a.as_str(),
            "public-read" | "public-read-write" | "authenticated-read"
        )
    });
    let mut public = canned;
    req.visit_strings(&mut |s| {
        public |= s.ends_with("/global/AllUsers") || s.ends_with("/global/AuthenticatedUsers");
    });
    for statement in elements(Some(req), "bucketPolicy.Statement") {
        let allows = statement.first_text("Effect").as_deref() == Some("Allow");
        let everyone = match statement.member("Principal", false) {
            Some(Node::Str(p)) => p == "*",
            Some(p) => texts(Some(p), "AWS").iter().any(|a| a == "*"),
            None => false,
        };
        let conditioned = statement.member("Condition", false).is_some();
        public |= allows && everyone && !conditioned;
    }
    public
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
    fn a_trail_update_says_what_it_changed_in_fixed_words_only() {
        let update = cloudtrail(
            "UpdateTrail",
            "cloudtrail.amazonaws.com",
            json!({"name": "org-trail", "isMultiRegionTrail": false,
                   "enableLogFileValidation": true, "s3BucketName": "evil\u{1b}[2J-logs"}),
            json!(null),
        );
        let (t, _) = touches(update);
        let trail = t.iter().find(|t| t.kind == Kind::Trail).unwrap();
        assert_eq!(
            trail.detail.as_deref(),
            Some("multi-region off, delivery bucket changed")
        );
        let selectors = cloudtrail(
            "PutEventSelectors",
            "cloudtrail.amazonaws.com",
            json!({"trailName": "org-trail", "eventSelectors": []}),
            json!(null),
        );
        let (t, _) = touches(selectors);
        assert_eq!(
            t.iter()
                .find(|t| t.kind == Kind::Trail)
                .unwrap()
                .detail
                .as_deref(),
            Some("event selectors replaced")
        );
    }

    #[test]
    fn what_iam_makes_carries_the_id_iam_gave_it() {
        let user = cloudtrail(
            "CreateUser",
            "iam.amazonaws.com",
            json!({"userName": "backup"}),
            json!({"user": {"userName": "backup", "userId": "AIDABACKUP0000000001"}}),
        );
        let role = cloudtrail(
            "CreateRole",
            "iam.amazonaws.com",
            json!({"roleName": "ops"}),
            json!({"role": {"roleName": "ops", "roleId": "AROAOPS0000000000001"}}),
        );
        let policy = cloudtrail(
            "CreatePolicy",
            "iam.amazonaws.com",
            json!({"policyName": "god"}),
            json!({"policy": {"arn": "arn:aws:iam::111122223333:policy/god",
                "policyId": "ANPAGOD0000000000001"}}),
        );
        let ids: Vec<Option<String>> = [user, role, policy]
            .into_iter()
            .map(|r| {
                touches(r)
                    .0
                    .into_iter()
                    .find(|t| t.change == Change::Created)
                    .and_then(|t| t.unique_id)
            })
            .collect();
        assert_eq!(
            ids,
            [
                Some("AIDABACKUP0000000001".to_string()),
                Some("AROAOPS0000000000001".to_string()),
                Some("ANPAGOD0000000000001".to_string())
            ]
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
        // Logging turned down the quiet ways: an exclusion made, a sink disabled.
        let (t, _) = touches(gcp(
            "google.logging.v2.ConfigServiceV2.CreateExclusion",
            "projects/p",
            json!({"parent": "projects/p", "exclusion": {"name": "drop-audit",
                "filter": "logName:cloudaudit"}}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Trail,
                "exclusions/drop-audit",
                Change::Created,
                None,
                Some("log exclusion")
            )]
        );
        let (t, _) = touches(gcp(
            "google.logging.v2.ConfigServiceV2.UpdateSink",
            "projects/p/sinks/to-sec",
            json!({"sinkName": "projects/p/sinks/to-sec", "sink": {"name": "to-sec",
                "disabled": true}, "updateMask": "disabled"}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Trail,
                "to-sec",
                Change::Stopped,
                None,
                Some("log sink disabled")
            )]
        );
        // A sink made: theirs, routing logs where they chose.
        let (t, _) = touches(gcp(
            "google.logging.v2.ConfigServiceV2.CreateSink",
            "projects/p",
            json!({"parent": "projects/p", "sink": {"name": "to-evil",
                "destination": "storage.googleapis.com/attacker"}}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Trail,
                "to-evil",
                Change::Created,
                None,
                Some("log sink made")
            )]
        );
        // Another project's or a folder's sink keeps its whole name: no project verb takes it.
        let mut folder = gcp(
            "google.logging.v2.ConfigServiceV2.DeleteSink",
            "folders/123/sinks/to-sec",
            json!({"sinkName": "folders/123/sinks/to-sec"}),
        );
        folder["resource"] = json!({"type": "logging_sink", "labels": {"project_id": "p"}});
        let (t, _) = touches(folder.clone());
        assert_eq!(changes(&t)[0].1, "folders/123/sinks/to-sec");
        folder["protoPayload"]["resourceName"] = json!("projects/other/sinks/to-sec");
        let (t, _) = touches(folder);
        assert_eq!(changes(&t)[0].1, "projects/other/sinks/to-sec");
        // So does another project's exclusion, made or changed, under `exclusions/`.
        let mut theirs = gcp(
            "google.logging.v2.ConfigServiceV2.CreateExclusion",
            "projects/other",
            json!({"parent": "projects/other", "exclusion": {"name": "x", "filter": "a"}}),
        );
        theirs["resource"] = json!({"type": "logging_exclusion", "labels": {"project_id": "p"}});
        let (t, _) = touches(theirs);
        assert_eq!(changes(&t)[0].1, "exclusions/projects/other/exclusions/x");
        // Disabled while its destination was set too: a change to review, not a sink to turn on.
        let (t, _) = touches(gcp(
            "google.logging.v2.ConfigServiceV2.UpdateSink",
            "projects/p/sinks/to-sec",
            json!({"sink": {"name": "to-sec", "disabled": true,
                "destination": "storage.googleapis.com/attacker"},
                "updateMask": "disabled,destination"}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Trail,
                "to-sec",
                Change::Modified,
                None,
                Some("log sink")
            )]
        );
        // The mask as a list of paths: every one is read, not only the first.
        let (t, _) = touches(gcp(
            "google.logging.v2.ConfigServiceV2.UpdateSink",
            "projects/p/sinks/to-sec",
            json!({"sink": {"name": "to-sec", "disabled": true},
                "updateMask": {"paths": ["disabled", "destination"]}}),
        ));
        assert_eq!(changes(&t)[0].2, Change::Modified);
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
        // A disk is named by its whole path: `data` in another zone is another disk.
        let (t, _) = touches(gcp(
            "v1.compute.disks.setIamPolicy",
            "projects/p/zones/europe-west1-b/disks/data",
            json!({"request": {"policy": {"bindings": [{"role": "roles/compute.storageAdmin",
                                            "members": ["allAuthenticatedUsers"]}]}}}),
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Disk,
                "projects/p/zones/europe-west1-b/disks/data",
                Change::Shared,
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
    fn gcp_deny_rules_open_nothing_and_grants_say_who_got_what() {
        let gcp = |method: &str, resource: &str, payload: serde_json::Value| {
            let mut p = json!({"methodName": method, "resourceName": resource, "status": {},
                "authenticationInfo": {"principalEmail": "contractor@example.com"}});
            for (k, v) in payload.as_object().unwrap() {
                p[k] = v.clone();
            }
            json!({"protoPayload": p, "insertId": "x", "timestamp": "2026-10-02T09:33:47.881Z",
                   "operation": {"id": "op-1", "first": true}})
        };
        let deny = gcp(
            "v1.compute.firewalls.insert",
            "projects/p/global/firewalls/block",
            json!({"request": {"direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                               "denieds": [{"IPProtocol": "tcp", "ports": ["22"]}]}}),
        );
        let (t, _) = touches(deny.clone());
        assert_eq!(
            changes(&t),
            vec![(
                Kind::Firewall,
                "block",
                Change::Created,
                None,
                Some("ingress denies tcp 22 from 0.0.0.0/0")
            )]
        );
        let r = Record::parse(deny.to_string().as_bytes(), None)
            .unwrap()
            .operation();
        assert_eq!(r.as_deref(), Some("op-1"));
        let grant = gcp(
            "SetIamPolicy",
            "projects/p",
            json!({"serviceData": {"policyDelta":
            {"bindingDeltas": [{"action": "ADD", "role": "roles/owner",
                                "member": "user:attacker@example.com"}]}}}),
        );
        let (t, _) = touches(grant);
        assert_eq!(
            changes(&t)[0].4,
            Some("granted roles/owner to user:attacker@example.com")
        );
        let account = gcp(
            "google.iam.admin.v1.CreateServiceAccount",
            "projects/p",
            json!({"request": {"account_id": "backdoor"}}),
        );
        let (t, _) = touches(account);
        assert_eq!(changes(&t)[0].1, "backdoor");
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
        let (t, _) = touches(r);
        // Assuming uses the role; the key it mints is the change.
        assert!(t.contains(
            &Touch::new(Kind::Role, "deploy", Change::Assumed).detail(Some("session x".into()))
        ));
        assert_eq!(
            changes(&t),
            vec![(
                Kind::SessionKey,
                "ASIAMINTED0000000001",
                Change::Created,
                Some("role deploy"),
                None
            )]
        );
        // Another account's role of the same name is not this account's: it keeps its ARN.
        let r = cloudtrail(
            "AssumeRole",
            "sts.amazonaws.com",
            json!({"roleArn": "arn:aws:iam::999900001111:role/deploy", "roleSessionName": "x"}),
            json!({"credentials": {"accessKeyId": "ASIAMINTED0000000002"}}),
        );
        let (t, _) = touches(r);
        assert!(
            t.iter()
                .any(|t| t.kind == Kind::Role && t.id == "arn:aws:iam::999900001111:role/deploy")
        );
    }

    #[test]
    fn a_session_merely_named_like_an_instance_is_no_instance() {
        // Anyone calling AssumeRole picks the session name; only EC2's own delivery counts.
        let mut r = cloudtrail("ListBuckets", "s3.amazonaws.com", json!(null), json!(null));
        r["userIdentity"] = json!({"type": "AssumedRole", "accessKeyId": "ASIA3",
            "arn": "arn:aws:sts::111122223333:assumed-role/admin/i-0123456789abcdef0"});
        let (t, _) = touches(r);
        assert!(t.iter().all(|t| t.kind != Kind::Instance), "{t:?}");
        let key = t.iter().find(|t| t.kind == Kind::SessionKey).unwrap();
        // The role comes from the ARN when the record names no session issuer.
        assert_eq!(key.parent.as_deref(), Some("role admin"));
        assert!(
            key.detail
                .as_deref()
                .unwrap()
                .contains("not shown to be that instance's")
        );
    }

    #[test]
    fn only_world_wide_grants_open_and_egress_goes_to() {
        let rule = |name: &str, cidr: &str, port: i64| {
            cloudtrail(
                name,
                "ec2.amazonaws.com",
                json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp",
                    "fromPort": port, "toPort": port,
                    "ipRanges": {"items": [{"cidrIp": cidr}]}}]}}),
                json!(null),
            )
        };
        let (t, _) = touches(rule("AuthorizeSecurityGroupIngress", "10.0.0.0/8", 5432));
        assert_eq!(changes(&t)[0].2, Change::Modified);
        let (t, _) = touches(rule("AuthorizeSecurityGroupEgress", "0.0.0.0/0", 443));
        assert_eq!(changes(&t)[0].2, Change::Opened);
        assert_eq!(changes(&t)[0].4, Some("egress tcp 443 to 0.0.0.0/0"));
        let opened = t.iter().find(|t| t.kind == Kind::Firewall).unwrap();
        assert_eq!(opened.rules[0].ports, Some((443, 443)));
        assert!(!opened.rules[0].ingress);

        let bucket = |name: &str, req: serde_json::Value| {
            let (t, _) = touches(cloudtrail(name, "s3.amazonaws.com", req, json!(null)));
            changes(&t)[0].2
        };
        assert_eq!(
            bucket(
                "PutBucketAcl",
                json!({"bucketName": "b", "x-amz-acl": ["private"]})
            ),
            Change::Modified
        );
        assert_eq!(
            bucket(
                "PutBucketAcl",
                json!({"bucketName": "b", "x-amz-acl": "public-read"})
            ),
            Change::Opened
        );
        let policy = |principal: serde_json::Value, condition: bool| {
            let mut st =
                json!({"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject"});
            if condition {
                st["Condition"] = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
            }
            json!({"bucketName": "b", "bucketPolicy": {"Statement": [st]}})
        };
        assert_eq!(
            bucket("PutBucketPolicy", policy(json!("*"), false)),
            Change::Opened
        );
        assert_eq!(
            bucket("PutBucketPolicy", policy(json!({"AWS": "*"}), true)),
            Change::Modified
        );
        assert_eq!(
            bucket(
                "PutBucketPolicy",
                policy(json!({"AWS": "arn:aws:iam::1:root"}), false)
            ),
            Change::Modified
        );
    }

    #[test]
    fn a_failed_console_sign_in_is_failed_and_one_record_names_a_bounded_number() {
        let mut login = cloudtrail(
            "ConsoleLogin",
            "signin.amazonaws.com",
            json!(null),
            json!({"ConsoleLogin": "Failure"}),
        );
        login["errorMessage"] = json!("Failed authentication");
        assert_eq!(touches(login).1.as_deref(), Some("ConsoleLogin Failure"));

        let items: Vec<_> = (0..MAX_TOUCHES + 500)
            .map(|i| json!({"instanceId": format!("i-{i:017x}")}))
            .collect();
        let run = cloudtrail(
            "RunInstances",
            "ec2.amazonaws.com",
            json!({}),
            json!({"instancesSet": {"items": items}}),
        );
        let (t, _) = touches(run);
        assert_eq!(t.len(), MAX_TOUCHES);
        assert!(
            t.last()
                .unwrap()
                .detail
                .as_deref()
                .unwrap()
                .ends_with("not listed")
        );
    }
}
