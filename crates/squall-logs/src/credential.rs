//! Who signed a CloudTrail record, and from where: what the stolen-credential detector learns
//! from, read without copying (one record on the hot path costs a few lookups in the parsed
//! `userIdentity`).

use std::borrow::Cow;

use crate::node::Node;
use crate::record::Record;
use crate::source::LogSource;

/// What kind of credential signed the call: decides what "from somewhere else" means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyKind<'r> {
    /// A long-term IAM user key (`AKIA...`).
    LongTerm,
    /// A role session EC2 delivered to an instance (`ec2RoleDelivery` in the session context,
    /// its session name the instance id): only the instance itself should use it.
    Instance(Cow<'r, str>),
    /// Any other temporary key: an assumed role's, a federated user's, a session token's.
    Session,
}

/// One use of a credential, as the record states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialUse<'r> {
    pub key: Cow<'r, str>,
    pub kind: KeyKind<'r>,
    /// `sourceIPAddress` as delivered: an address, or an AWS service's name.
    pub address: Cow<'r, str>,
    /// The VPC endpoint the call came through: its source address is then a private one.
    pub vpc_endpoint: Option<Cow<'r, str>>,
    /// The endpoint belongs to another account than the caller's (`vpcEndpointAccountId`
    /// differs from `userIdentity.accountId`, else `recipientAccountId`): a network not the
    /// caller's own.
    pub foreign_endpoint: Option<Cow<'r, str>>,
    /// An AWS service made the call on the principal's behalf (`userIdentity.invokedBy`).
    pub by_service: bool,
}

impl<'a> Record<'a> {
    /// The credential that signed this CloudTrail record and the address it came from; `None`
    /// for other logs, or a record without a key or an address.
    pub fn credential_use(&self) -> Option<CredentialUse<'_>> {
        if self.source() != LogSource::CloudTrail {
            return None;
        }
        let who = self.member("userIdentity")?;
        // Bounded and in AWS's own shapes, whatever the log says: a key is 16 to 128 letters
        // and digits, an address at most 45 characters, an endpoint `vpce-` and letters and
        // digits, an account digits (a separator in any of them would change how a finding
        // reads them back).
        let key = text(who.member("accessKeyId", false))
            .filter(|k| (1..=128).contains(&k.len()) && alphanumeric(k))?;
        let address = self
            .member_text("sourceIPAddress")
            .filter(|a| (1..=64).contains(&a.len()))?;
        let context = who.member("sessionContext", false);
        let delivered = context
            .and_then(|c| c.member("ec2RoleDelivery", false))
            .is_some();
        let kind = if key.starts_with("AKIA") {
            KeyKind::LongTerm
        } else if delivered {
            // The same reading as what the record touched: the session named after an
            // instance, delivered by EC2.
            match self.role_session_instance() {
                Some(Ok(instance)) => KeyKind::Instance(Cow::Owned(instance)),
                _ => KeyKind::Session,
            }
        } else {
            KeyKind::Session
        };
        let vpc_endpoint = self
            .member_text("vpcEndpointId")
            .filter(|v| v.len() <= 64 && v.strip_prefix("vpce-").is_some_and(alphanumeric));
        // The caller's own account, not the one called: an instance reading another
        // account's bucket through its own endpoint is still at home.
        let caller =
            text(who.member("accountId", false)).or_else(|| self.member_text("recipientAccountId"));
        let foreign_endpoint = match (
            &vpc_endpoint,
            self.member_text("vpcEndpointAccountId")
                .filter(|a| a.len() <= 32 && a.bytes().all(|b| b.is_ascii_digit())),
            caller,
        ) {
            (Some(_), Some(owner), Some(called)) if !owner.is_empty() && owner != called => {
                Some(owner)
            }
            _ => None,
        };
        Some(CredentialUse {
            key,
            kind,
            address,
            vpc_endpoint,
            foreign_endpoint,
            by_service: who.member("invokedBy", false).is_some(),
        })
    }
}

/// A scalar's text, borrowed from the record when it can be.
fn text<'n>(node: Option<&'n Node<'_>>) -> Option<Cow<'n, str>> {
    node.and_then(Node::as_text)
}

/// Non-empty, ASCII letters and digits only.
fn alphanumeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn used(record: serde_json::Value) -> Option<(String, KeyKind<'static>, String, bool, bool)> {
        let text = record.to_string();
        let r = Record::parse(text.as_bytes(), None).unwrap();
        r.credential_use().map(|u| {
            let kind = match u.kind {
                KeyKind::Instance(i) => KeyKind::Instance(Cow::Owned(i.into_owned())),
                KeyKind::LongTerm => KeyKind::LongTerm,
                KeyKind::Session => KeyKind::Session,
            };
            (
                u.key.into_owned(),
                kind,
                u.address.into_owned(),
                u.vpc_endpoint.is_some(),
                u.by_service,
            )
        })
    }

    fn record(identity: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
        let mut r = json!({"eventVersion": "1.09", "eventTime": "2026-11-02T10:00:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
            "userIdentity": identity});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    }

    #[test]
    fn the_kind_of_key_decides_what_a_use_from_elsewhere_means() {
        let user = json!({"type": "IAMUser", "accessKeyId": "AKIAEXAMPLE000000001"});
        assert_eq!(used(record(user, json!({}))).unwrap().1, KeyKind::LongTerm);
        let instance = json!({"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE000000001",
            "arn": "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0",
            "sessionContext": {"ec2RoleDelivery": "2.0"}});
        assert_eq!(
            used(record(instance, json!({"vpcEndpointId": "vpce-0abc"}))).unwrap(),
            (
                "ASIAEXAMPLE000000001".into(),
                KeyKind::Instance(Cow::Owned("i-0123456789abcdef0".into())),
                "198.51.100.7".into(),
                true,
                false
            )
        );
        // Named like an instance, but not delivered by EC2: anyone can name a session so.
        let named = json!({"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE000000002",
            "arn": "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0"});
        assert_eq!(used(record(named, json!({}))).unwrap().1, KeyKind::Session);
        let by_lambda = json!({"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE000000003",
            "invokedBy": "lambda.amazonaws.com"});
        assert!(used(record(by_lambda, json!({}))).unwrap().4);
        // Another account's endpoint is told apart from the caller's own.
        let session = json!({"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE000000004"});
        let owner = |account: &str| {
            let mut who = session.clone();
            who["accountId"] = json!("111122223333");
            // The call went to another account's bucket: the recipient is not the caller.
            let r = record(
                who,
                json!({"vpcEndpointId": "vpce-1", "vpcEndpointAccountId": account,
                       "recipientAccountId": "444455556666"}),
            );
            let text = r.to_string();
            let rec = Record::parse(text.as_bytes(), None).unwrap();
            rec.credential_use()
                .unwrap()
                .foreign_endpoint
                .map(|a| a.into_owned())
        };
        assert_eq!(owner("999988887777"), Some("999988887777".to_string()));
        assert_eq!(owner("111122223333"), None);
        // No key, no use to learn from.
        assert!(used(record(json!({"type": "AWSService"}), json!({}))).is_none());
    }
}
