//! Which provider log a record came from, and where each provider keeps the fields an analyst
//! reads first.

use std::fmt;
use std::str::FromStr;

/// A provider log that Squall reads. Each maps to one Sigma `logsource` (product, service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogSource {
    /// AWS CloudTrail management and data events.
    CloudTrail,
    /// CloudTrail digest files: integrity data, not events. Skipped without a warning.
    CloudTrailDigest,
    /// GCP Cloud Audit Logs (LogEntry with an AuditLog `protoPayload`).
    GcpAudit,
    /// Azure Activity Log (control plane).
    AzureActivity,
    /// Entra ID sign-in logs (interactive, non-interactive, service principal, managed identity).
    AzureSignIn,
    /// Entra ID audit logs.
    AzureAudit,
    /// Entra ID Identity Protection risk events.
    AzureRisk,
    /// A JSON object of no shape Squall recognises.
    Unknown,
}

/// Where the normalized fields live in a provider's records, most specific first.
pub struct SummaryPaths {
    pub principal: &'static [&'static str],
    pub source_ip: &'static [&'static str],
    pub action: &'static [&'static str],
    pub resource: &'static [&'static str],
    pub account: &'static [&'static str],
    pub region: &'static [&'static str],
    pub event_id: &'static [&'static str],
    /// The credential that signed the request, for pivoting on a leaked key.
    pub key: &'static [&'static str],
}

const CLOUDTRAIL: SummaryPaths = SummaryPaths {
    principal: &[
        "userIdentity.arn",
        "userIdentity.userName",
        "userIdentity.principalId",
        "userIdentity.invokedBy",
    ],
    source_ip: &["sourceIPAddress"],
    action: &["eventName"],
    resource: &[],
    account: &["recipientAccountId", "userIdentity.accountId"],
    region: &["awsRegion"],
    event_id: &["eventID"],
    key: &["userIdentity.accessKeyId"],
};

const GCP: SummaryPaths = SummaryPaths {
    principal: &[
        "protoPayload.authenticationInfo.principalEmail",
        "protoPayload.authenticationInfo.principalSubject",
    ],
    source_ip: &["protoPayload.requestMetadata.callerIp"],
    action: &["protoPayload.methodName"],
    resource: &["protoPayload.resourceName"],
    account: &["resource.labels.project_id"],
    region: &[
        "resource.labels.zone",
        "resource.labels.location",
        "resource.labels.region",
    ],
    event_id: &["insertId"],
    key: &["protoPayload.authenticationInfo.serviceAccountKeyName"],
};

const AZURE: SummaryPaths = SummaryPaths {
    principal: &[
        "properties.userPrincipalName",
        "userPrincipalName",
        "caller",
        "identity.claims.name",
        "properties.initiatedBy.user.userPrincipalName",
        "initiatedBy.user.userPrincipalName",
        "identity",
    ],
    source_ip: &["callerIpAddress", "properties.ipAddress", "ipAddress"],
    action: &["operationName", "activityDisplayName"],
    resource: &[
        "resourceId",
        "properties.appDisplayName",
        "appDisplayName",
        "properties.targetResources.displayName",
        "targetResources.displayName",
    ],
    account: &["tenantId", "properties.tenantId"],
    region: &["location", "properties.location.countryOrRegion"],
    event_id: &[
        "properties.id",
        "id",
        "correlationId",
        "properties.eventDataId",
    ],
    key: &[],
};

const NONE: SummaryPaths = SummaryPaths {
    principal: &[],
    source_ip: &[],
    action: &[],
    resource: &[],
    account: &[],
    region: &[],
    event_id: &[],
    key: &[],
};

impl LogSource {
    /// Every source that carries events, in a stable order.
    pub const EVENTS: [LogSource; 6] = [
        LogSource::CloudTrail,
        LogSource::GcpAudit,
        LogSource::AzureActivity,
        LogSource::AzureSignIn,
        LogSource::AzureAudit,
        LogSource::AzureRisk,
    ];

    /// The Sigma `logsource` (product, service) whose rules apply to this source.
    pub fn sigma(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            LogSource::CloudTrail => ("aws", "cloudtrail"),
            LogSource::GcpAudit => ("gcp", "gcp.audit"),
            LogSource::AzureActivity => ("azure", "activitylogs"),
            LogSource::AzureSignIn => ("azure", "signinlogs"),
            LogSource::AzureAudit => ("azure", "auditlogs"),
            LogSource::AzureRisk => ("azure", "riskdetection"),
            LogSource::CloudTrailDigest | LogSource::Unknown => return None,
        })
    }

    /// Azure's storage exports name the log in `category`.
    pub fn azure_from_category(category: &str) -> LogSource {
        match category {
            "signinlogs"
            | "noninteractiveusersigninlogs"
            | "serviceprincipalsigninlogs"
            | "managedidentitysigninlogs" => LogSource::AzureSignIn,
            "auditlogs" => LogSource::AzureAudit,
            "riskyusers"
            | "userriskevents"
            | "serviceprincipalriskevents"
            | "riskyserviceprincipals" => LogSource::AzureRisk,
            _ => LogSource::AzureActivity,
        }
    }

    pub(crate) fn time_paths(self) -> &'static [&'static str] {
        match self {
            LogSource::CloudTrail => &["eventTime"],
            LogSource::GcpAudit => &["timestamp", "receiveTimestamp"],
            LogSource::AzureActivity
            | LogSource::AzureSignIn
            | LogSource::AzureAudit
            | LogSource::AzureRisk => &[
                "time",
                "createdDateTime",
                "activityDateTime",
                "eventTimestamp",
                "properties.activityDateTime",
                "properties.createdDateTime",
            ],
            LogSource::CloudTrailDigest | LogSource::Unknown => &[],
        }
    }

    pub(crate) fn summary_paths(self) -> &'static SummaryPaths {
        match self {
            LogSource::CloudTrail => &CLOUDTRAIL,
            LogSource::GcpAudit => &GCP,
            LogSource::AzureActivity
            | LogSource::AzureSignIn
            | LogSource::AzureAudit
            | LogSource::AzureRisk => &AZURE,
            LogSource::CloudTrailDigest | LogSource::Unknown => &NONE,
        }
    }

    /// The short name used on the command line and in output.
    pub fn name(self) -> &'static str {
        match self {
            LogSource::CloudTrail => "cloudtrail",
            LogSource::CloudTrailDigest => "cloudtrail-digest",
            LogSource::GcpAudit => "gcp-audit",
            LogSource::AzureActivity => "azure-activity",
            LogSource::AzureSignIn => "azure-signin",
            LogSource::AzureAudit => "azure-audit",
            LogSource::AzureRisk => "azure-risk",
            LogSource::Unknown => "unknown",
        }
    }

    /// The provider whose estate the log describes; `None` for records of no known shape.
    pub fn provider(self) -> Option<squall_core::Provider> {
        use squall_core::Provider;
        match self {
            LogSource::CloudTrail | LogSource::CloudTrailDigest => Some(Provider::Aws),
            LogSource::GcpAudit => Some(Provider::Gcp),
            LogSource::AzureActivity
            | LogSource::AzureSignIn
            | LogSource::AzureAudit
            | LogSource::AzureRisk => Some(Provider::Azure),
            LogSource::Unknown => None,
        }
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for LogSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for LogSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogSource::EVENTS
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = LogSource::EVENTS.iter().map(|l| l.name()).collect();
                format!(
                    "unknown input format '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}
