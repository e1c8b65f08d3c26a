//! `squall inventory gcp`: what a project holds and what is wrong with it, for the Prepare
//! phase, stored so triage can answer from it.
//!
//! Each project is read through Resource Manager (labels, place in the hierarchy, IAM
//! policies up to the organization), Compute Engine (instances, firewall rules, subnets,
//! peerings, Interconnect and VPN, project metadata), IAM (service accounts and their keys) and
//! Logging (sinks). A read that is refused is reported and the rest goes on: the finding it
//! would have made is not guessed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::respond::world_open;
use crate::services::compute::{self, Compute, Link, Listed, Peering, Subnet, last_segment};
use crate::services::iam::{self, Iam};
use crate::services::logging::{self, Sink};
use crate::services::resourcemanager::{self as rm, Policy, ResourceManager};
use crate::{Connection, GcpError};

/// A problem found in a project; its `kind` is one of `open-admin-port`, `old-sa-key`,
/// `data-access-logs-off`, `no-log-sink-out`, `flow-logs-off`, `project-ssh-keys`,
/// `os-login-off`, `ir-access-missing`, `unowned-project`, `project-unreadable`.
pub use squall_core::asset::{EstateFinding as Finding, most_severe_first};

/// Label keys that carry owner, purpose, environment and data classes (`--label-map`
/// changes them; a field left out of the file keeps its default keys). Labels are lowercase
/// in Google Cloud, so the defaults are too.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelMap {
    pub owner: Vec<String>,
    pub purpose: Vec<String>,
    pub env: Vec<String>,
    pub data: Vec<String>,
}

impl Default for LabelMap {
    fn default() -> Self {
        let v = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        LabelMap {
            owner: v(&["owner", "team"]),
            purpose: v(&["purpose", "app", "application"]),
            env: v(&["env", "environment"]),
            data: v(&["data-classification", "data"]),
        }
    }
}

impl LabelMap {
    /// Reads a label map from YAML (or TOML when the file ends in `.toml`).
    pub fn load(path: &std::path::Path) -> Result<LabelMap, String> {
        squall_core::files::read_yaml_or_toml(path)
    }

    fn get<'a>(keys: &[String], labels: &'a BTreeMap<String, String>) -> Option<&'a String> {
        keys.iter().find_map(|k| labels.get(k))
    }
}

/// What to read and what counts as wrong.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Projects named one by one.
    pub projects: Vec<String>,
    /// `organizations/N` or `folders/N`: every active project under them, all the way down.
    pub under: Vec<String>,
    pub labels: LabelMap,
    /// Members that must hold some role on every project, on it or inherited
    /// (`group:ir@example.com`, `serviceAccount:ir@sec.iam.gserviceaccount.com`): the team's
    /// emergency access.
    pub ir_members: Vec<String>,
    /// User-managed key age, in days, past which a key is a finding.
    pub max_key_age_days: i64,
}

/// A service account and its user-managed keys: the ones someone can hold a file of.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceAccount {
    pub email: String,
    pub disabled: bool,
    pub keys: Vec<KeyAge>,
}

/// A user-managed key and how old it is.
#[derive(Debug, Clone, Serialize)]
pub struct KeyAge {
    pub id: String,
    pub created: Option<String>,
    pub age_days: Option<i64>,
    pub disabled: bool,
}

/// A VPC firewall rule that lets the world in on an admin port or every port.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRule {
    pub name: String,
    pub network: String,
    /// `allows tcp:22 from 0.0.0.0/0`.
    pub why: String,
}

/// Everything `inventory gcp` learned about one project.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcpInventory {
    pub project: String,
    /// Whether the project itself could be read (when not, only `findings` and `errors` say
    /// anything, and nothing is stored).
    pub read: bool,
    /// `projects/NUMBER`.
    pub name: String,
    pub display_name: String,
    /// Its folders and organization, nearest first.
    pub ancestors: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub instances: Vec<Listed>,
    pub firewall_rules: usize,
    pub open_rules: Vec<OpenRule>,
    pub service_accounts: Vec<ServiceAccount>,
    /// Data Access log types on for every service, here or inherited.
    pub data_access_logs: Vec<String>,
    /// The project's sinks, and its ancestors' that route their children's logs.
    pub sinks: Vec<Sink>,
    pub subnets: Vec<Subnet>,
    /// Public keys in the project-wide `ssh-keys` metadata.
    pub project_ssh_keys: usize,
    pub os_login: bool,
    pub peerings: Vec<Peering>,
    pub corp_links: Vec<Link>,
    /// Whether instances and peerings were read (what the project reaches is known).
    pub trusts_read: bool,
    /// Whether Interconnect attachments and VPN tunnels were read.
    pub corp_links_read: bool,
    pub findings: Vec<Finding>,
    /// Reads that failed, with why (the rest is still reported).
    pub errors: Vec<String>,
}

/// The clients of a run, and what one project's read learns about the hierarchy above it,
/// kept for the next: projects of one folder share their ancestors' policies and sinks.
struct Reader {
    compute: Compute,
    iam: Iam,
    rm: ResourceManager,
    logging: google_cloud_logging_v2::client::ConfigServiceV2,
    parents: Mutex<HashMap<String, Result<String, String>>>,
    policies: Mutex<HashMap<String, Result<Policy, String>>>,
    sinks: Mutex<HashMap<String, Result<Vec<Sink>, String>>>,
}

/// Reads every project `options` names, four at a time, in the order named (projects under
/// an organization or folder after them, by id). A project that cannot be read is a
/// `project-unreadable` finding, and a folder whose projects or subfolders cannot be listed a
/// warning (the second list), not the end of the run.
pub async fn inventory(
    conn: &Connection,
    options: &Options,
) -> Result<(Vec<GcpInventory>, Vec<String>), GcpError> {
    let reader = Reader {
        compute: Compute::new(conn).await?,
        iam: iam::client(conn).await?,
        rm: ResourceManager::new(conn).await?,
        logging: logging::client(conn).await?,
        parents: Mutex::default(),
        policies: Mutex::default(),
        sinks: Mutex::default(),
    };
    let mut projects = options.projects.clone();
    let mut found = Vec::new();
    let mut unlisted = Vec::new();
    for root in &options.under {
        found.extend(projects_below(&reader.rm, root, &mut unlisted).await);
    }
    found.sort();
    for p in found {
        if !projects.contains(&p) {
            projects.push(p);
        }
    }
    let reader = &reader;
    let mut read: Vec<(usize, GcpInventory)> =
        futures_util::stream::iter(projects.into_iter().enumerate())
            .map(|(i, p)| async move { (i, reader.project(&p, options).await) })
            .buffer_unordered(4)
            .collect()
            .await;
    read.sort_by_key(|(i, _)| *i);
    Ok((read.into_iter().map(|(_, inv)| inv).collect(), unlisted))
}

/// Every active project under `root`, folder by folder; a folder that cannot be listed is
/// named in `errors` and the walk goes on.
async fn projects_below(rm: &ResourceManager, root: &str, errors: &mut Vec<String>) -> Vec<String> {
    let mut folders = vec![root.to_string()];
    let mut out = Vec::new();
    while let Some(f) = folders.pop() {
        match rm::projects_under(rm, &f).await {
            Ok(projects) => out.extend(projects.into_iter().map(|p| p.id)),
            Err(e) => errors.push(e.to_string()),
        }
        match rm::folders_under(rm, &f).await {
            Ok(below) => folders.extend(below),
            Err(e) => errors.push(e.to_string()),
        }
    }
    out
}

fn cached<T: Clone>(cache: &Mutex<HashMap<String, T>>, key: &str) -> Option<T> {
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned()
}

fn remember<T>(cache: &Mutex<HashMap<String, T>>, key: &str, value: T) {
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key.to_string(), value);
}

impl Reader {
    /// The folders and organization above a project whose parent is `parent`, nearest first;
    /// a folder that cannot be read ends the walk there, with why.
    async fn ancestors(&self, parent: &str) -> (Vec<String>, Option<String>) {
        let mut out = Vec::new();
        let mut at = parent.to_string();
        while !at.is_empty() && out.len() < 12 {
            out.push(at.clone());
            if !at.starts_with("folders/") {
                break;
            }
            let up = match cached(&self.parents, &at) {
                Some(up) => up,
                None => {
                    let up = rm::folder_parent(&self.rm, &at)
                        .await
                        .map_err(|e| e.to_string());
                    remember(&self.parents, &at, up.clone());
                    up
                }
            };
            match up {
                Ok(up) => at = up,
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    async fn policy(&self, resource: &str) -> Result<Policy, String> {
        if let Some(p) = cached(&self.policies, resource) {
            return p;
        }
        let p = rm::iam_policy(&self.rm, resource)
            .await
            .map_err(|e| e.to_string());
        remember(&self.policies, resource, p.clone());
        p
    }

    async fn ancestor_sinks(&self, resource: &str) -> Result<Vec<Sink>, String> {
        if let Some(s) = cached(&self.sinks, resource) {
            return s;
        }
        let s = logging::sinks(&self.logging, resource)
            .await
            .map_err(|e| e.to_string());
        remember(&self.sinks, resource, s.clone());
        s
    }

    async fn project(&self, id: &str, options: &Options) -> GcpInventory {
        let mut inv = GcpInventory {
            project: id.to_string(),
            ..GcpInventory::default()
        };
        let project = match rm::get_project(&self.rm, id).await {
            Ok(p) => p,
            Err(e) => {
                inv.findings.push(finding(
                    id,
                    "high",
                    "project-unreadable",
                    id,
                    None,
                    format!("project {id} cannot be read: {e}"),
                ));
                inv.errors.push(e.to_string());
                return inv;
            }
        };
        inv.read = true;
        inv.name = project.name.clone();
        inv.display_name = project.display_name.clone();
        inv.labels = project.labels.clone();
        let (ancestors, walk_error) = self.ancestors(&project.parent).await;
        // Above a folder that could not be read, nothing inherited is known: no finding that
        // rests on the whole hierarchy is made.
        let whole = walk_error.is_none();
        inv.errors.extend(walk_error);
        inv.ancestors = ancestors;

        let c = &self.compute;
        let own = format!("projects/{id}");
        let (instances, rules, subnets, peerings, links, metadata, accounts, own_sinks) = tokio::join!(
            compute::all_instances(c, id),
            compute::firewalls(c, id),
            compute::subnets(c, id),
            compute::peerings(c, id),
            compute::corp_links(c, id),
            compute::project_metadata(c, id),
            self.service_accounts(id),
            logging::sinks(&self.logging, &own),
        );
        let mut policies = vec![(own.clone(), self.policy(&own).await)];
        let mut inherited_sinks = Vec::new();
        for a in &inv.ancestors {
            policies.push((a.clone(), self.policy(a).await));
            inherited_sinks.push((a.clone(), self.ancestor_sinks(a).await));
        }

        let e = &mut inv.errors;
        let instances = ok(e, instances);
        let rules = ok(e, rules);
        let subnets = ok(e, subnets);
        let peerings = ok(e, peerings);
        let links = ok(e, links);
        let metadata = ok(e, metadata);
        let accounts = ok(e, accounts);
        let own_sinks = ok(e, own_sinks);

        let lm = &options.labels;
        if LabelMap::get(&lm.owner, &inv.labels).is_none() {
            inv.findings.push(finding(
                id,
                "low",
                "unowned-project",
                id,
                None,
                format!(
                    "project {id} has no owner label ({}): nobody to ask during an incident",
                    lm.owner.join(", ")
                ),
            ));
        }
        // What the project reaches is stored only when everything it is read from was read:
        // an empty list would tell triage "nothing", which a refused read does not say.
        inv.trusts_read = instances.is_some() && peerings.is_some();
        inv.corp_links_read = links.is_some();
        inv.instances = instances.unwrap_or_default();
        if let Some(rules) = rules {
            inv.firewall_rules = rules.len();
            for r in &rules {
                let Some(why) = world_open(r) else { continue };
                inv.findings.push(finding(
                    id,
                    "high",
                    "open-admin-port",
                    &r.name,
                    None,
                    format!(
                        "firewall rule {} on network {} {why}",
                        r.name,
                        last_segment(&r.network)
                    ),
                ));
                inv.open_rules.push(OpenRule {
                    name: r.name.clone(),
                    network: r.network.clone(),
                    why,
                });
            }
        }
        if let Some(accounts) = accounts {
            for a in &accounts {
                for k in &a.keys {
                    if !k.disabled
                        && !a.disabled
                        && k.age_days.is_some_and(|d| d > options.max_key_age_days)
                    {
                        inv.findings.push(finding(
                            id,
                            "medium",
                            "old-sa-key",
                            &k.id,
                            None,
                            format!(
                                "{}'s user-managed key {} is {} days old",
                                a.email,
                                k.id,
                                k.age_days.unwrap_or(0)
                            ),
                        ));
                    }
                }
            }
            inv.service_accounts = accounts;
        }
        self.judge_policies(&mut inv, &policies, options, whole);
        self.judge_sinks(&mut inv, own_sinks, inherited_sinks, whole);
        if let Some(subnets) = subnets {
            for s in subnets.iter().filter(|s| !s.flow_logs) {
                inv.findings.push(finding(
                    id,
                    "medium",
                    "flow-logs-off",
                    &format!("{}/{}", s.region, s.name),
                    Some(&s.region),
                    format!(
                        "subnet {} ({}) has no VPC Flow Logs: network activity cannot be reconstructed",
                        s.name,
                        last_segment(&s.network)
                    ),
                ));
            }
            inv.subnets = subnets;
        }
        if let Some(m) = metadata {
            let keys = ["ssh-keys", "sshKeys"]
                .iter()
                .filter_map(|k| m.get(k))
                .flat_map(|v| v.lines())
                .filter(|l| !l.trim().is_empty())
                .count();
            inv.project_ssh_keys = keys;
            if keys > 0 {
                inv.findings.push(finding(
                    id,
                    "medium",
                    "project-ssh-keys",
                    id,
                    None,
                    format!(
                        "{keys} project-wide SSH key(s) in metadata open every instance that does not block them (`contain gcp ssh-keys --project {id}` removes them)"
                    ),
                ));
            }
            inv.os_login = m
                .get("enable-oslogin")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if !inv.os_login {
                inv.findings.push(finding(
                    id,
                    "low",
                    "os-login-off",
                    id,
                    None,
                    "OS Login is off in the project's metadata: SSH access is by metadata keys, not IAM (an organization policy may still require it)".to_string(),
                ));
            }
        }
        inv.peerings = peerings.unwrap_or_default();
        inv.corp_links = links.unwrap_or_default();
        most_severe_first(&mut inv.findings);
        inv
    }

    /// Service accounts with their user-managed keys and the keys' ages.
    async fn service_accounts(&self, project: &str) -> Result<Vec<ServiceAccount>, GcpError> {
        let now = chrono::Utc::now();
        let mut out = Vec::new();
        for a in iam::accounts(&self.iam, project).await? {
            let name = format!("projects/{project}/serviceAccounts/{}", a.email);
            let keys = iam::user_keys(&self.iam, &name).await?;
            out.push(ServiceAccount {
                keys: keys
                    .into_iter()
                    .map(|k| KeyAge {
                        age_days: k
                            .created
                            .as_deref()
                            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                            .map(|c| (now - c.with_timezone(&chrono::Utc)).num_days()),
                        id: k.id,
                        created: k.created,
                        disabled: k.disabled,
                    })
                    .collect(),
                email: a.email,
                disabled: a.disabled,
            });
        }
        Ok(out)
    }

    /// Data Access logs and emergency access, from the project's policy and its ancestors'
    /// (both are inherited).
    fn judge_policies(
        &self,
        inv: &mut GcpInventory,
        policies: &[(String, Result<Policy, String>)],
        options: &Options,
        whole: bool,
    ) {
        let id = inv.project.clone();
        for (_, p) in policies {
            if let Err(e) = p {
                inv.errors.push(e.clone());
            }
        }
        let read: Vec<&Policy> = policies
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .collect();
        let mut on: Vec<String> = read
            .iter()
            .flat_map(|p| p.data_access_all_services.iter().cloned())
            .collect();
        on.sort();
        on.dedup();
        inv.data_access_logs = on.clone();
        // Something missing is a finding only when every policy that could grant it was read:
        // a refused read is a warning, never a guess.
        if !whole || read.len() < policies.len() {
            return;
        }
        let missing: Vec<&str> = ["DATA_READ", "DATA_WRITE"]
            .into_iter()
            .filter(|t| !on.iter().any(|o| o == t))
            .collect();
        if !missing.is_empty() {
            inv.findings.push(finding(
                &id,
                "medium",
                "data-access-logs-off",
                &id,
                None,
                format!(
                    "Data Access audit logs ({}) are off for all services here and above: reads of data leave no record",
                    missing.join(", ")
                ),
            ));
        }
        for m in &options.ir_members {
            let granted = read
                .iter()
                .any(|p| p.grants.iter().any(|(_, member)| member == m));
            if !granted {
                inv.findings.push(finding(
                    &id,
                    "high",
                    "ir-access-missing",
                    m,
                    None,
                    format!("{m} holds no role on project {id} or above it: no emergency access"),
                ));
            }
        }
    }

    /// Whether some sink sends the project's logs somewhere its own owners cannot erase them.
    fn judge_sinks(
        &self,
        inv: &mut GcpInventory,
        own: Option<Vec<Sink>>,
        inherited: Vec<(String, Result<Vec<Sink>, String>)>,
        whole: bool,
    ) {
        let id = inv.project.clone();
        let mut all = Vec::new();
        let mut complete = own.is_some() && whole;
        all.extend(own.unwrap_or_default());
        for (_, s) in inherited {
            match s {
                Ok(s) => all.extend(s.into_iter().filter(|s| s.include_children)),
                Err(e) => {
                    complete = false;
                    inv.errors.push(e);
                }
            }
        }
        let out = all.iter().any(|s| !s.disabled && routes_out(s, &id));
        if !out && complete {
            inv.findings.push(finding(
                &id,
                "medium",
                "no-log-sink-out",
                &id,
                None,
                format!(
                    "no sink routes project {id}'s logs out of it: whoever owns the project can change or delete the copy investigators need"
                ),
            ));
        }
        inv.sinks = all;
    }
}

/// Whether a sink's destination is outside `project`. A Cloud Storage bucket's project is
/// not in its name; it is counted as outside (a bucket of the same project is a weaker copy).
fn routes_out(s: &Sink, project: &str) -> bool {
    if s.destination.starts_with("storage.googleapis.com/") {
        return true;
    }
    let mut parts = s.destination.split('/');
    while let Some(p) = parts.next() {
        if p == "projects" {
            return parts.next().is_some_and(|p| p != project);
        }
    }
    false
}

/// The value of a read, or none with why it failed kept in `errors`.
fn ok<T>(errors: &mut Vec<String>, r: Result<T, GcpError>) -> Option<T> {
    r.map_err(|e| errors.push(e.to_string())).ok()
}

fn finding(
    project: &str,
    severity: &'static str,
    kind: &'static str,
    resource: &str,
    region: Option<&str>,
    message: String,
) -> Finding {
    Finding {
        account: project.to_string(),
        severity,
        kind,
        resource: resource.to_string(),
        region: region.map(str::to_string),
        message,
    }
}

fn env(value: &str) -> Option<squall_core::Env> {
    use squall_core::Env;
    match value.trim().to_ascii_lowercase().as_str() {
        "prod" | "production" | "prd" => Some(Env::Prod),
        "staging" | "stage" | "stg" => Some(Env::Staging),
        "test" | "qa" | "uat" => Some(Env::Test),
        "dev" | "development" | "sandbox" => Some(Env::Dev),
        _ => None,
    }
}

/// The data classes a label value names (`pii`, `pii_pci`, `phi-secrets`); none when it names
/// none of them (a value like `confidential` says nothing triage can use).
fn data_classes(value: &str) -> Option<Vec<squall_core::DataClass>> {
    use squall_core::DataClass;
    let mut out: Vec<DataClass> = value
        .split(['-', '_', ','])
        .filter_map(|w| match w.trim().to_ascii_lowercase().as_str() {
            "pii" => Some(DataClass::Pii),
            "pci" => Some(DataClass::Pci),
            "phi" => Some(DataClass::Phi),
            "secret" | "secrets" => Some(DataClass::Secrets),
            "public" => Some(DataClass::Public),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// The project a network URL is in.
fn project_of(url: &str) -> Option<&str> {
    let mut parts = url.split('/');
    while let Some(p) = parts.next() {
        if p == "projects" {
            return parts.next();
        }
    }
    None
}

impl GcpInventory {
    /// The project as a case-store inventory record: owner, purpose, environment and data
    /// from its labels; what a label does not say stays unset so an imported record's
    /// answers survive the merge.
    pub fn to_asset(&self, labels: &LabelMap) -> squall_core::Asset {
        use squall_core::{Asset, CorpReach, Provider};
        let label = |keys: &[String]| LabelMap::get(keys, &self.labels).cloned();
        let mut regions: Vec<String> = self
            .instances
            .iter()
            .map(|i| {
                i.zone
                    .rsplit_once('-')
                    .map_or(i.zone.clone(), |(r, _)| r.to_string())
            })
            .collect();
        regions.sort();
        regions.dedup();
        let mut trusts: Vec<String> = self
            .peerings
            .iter()
            .filter_map(|p| project_of(&p.peer))
            .chain(
                self.instances
                    .iter()
                    .flat_map(|i| i.networks.iter().filter_map(|n| project_of(n))),
            )
            .filter(|p| *p != self.project)
            .map(str::to_string)
            .collect();
        trusts.sort();
        trusts.dedup();
        let mut corp: Vec<CorpReach> = self
            .corp_links
            .iter()
            .map(|l| match l.kind {
                "interconnect" => CorpReach::Interconnect,
                _ => CorpReach::Vpn,
            })
            .collect();
        corp.dedup();
        Asset {
            id: self.project.clone(),
            provider: Provider::Gcp,
            name: (!self.display_name.is_empty()).then(|| self.display_name.clone()),
            owner: label(&labels.owner),
            contact: None,
            purpose: label(&labels.purpose),
            env: label(&labels.env).as_deref().and_then(env),
            data: label(&labels.data).as_deref().and_then(data_classes),
            regions: (!regions.is_empty()).then_some(regions),
            // Unset when not read: an imported answer is kept rather than overwritten by a
            // guess.
            corp_reach: self.corp_links_read.then(|| {
                if corp.is_empty() {
                    vec![CorpReach::None]
                } else {
                    corp
                }
            }),
            trusts: self.trusts_read.then_some(trusts),
        }
    }

    /// The project's instances with their labels (triage reads an instance's own `env`), and
    /// the firewall rules open to the world (a response closes them whoever opened them).
    pub fn resources(&self) -> Vec<squall_core::Resource> {
        use squall_core::{Provider, Resource};
        let mut out: Vec<Resource> = self
            .instances
            .iter()
            .map(|i| Resource {
                provider: Provider::Gcp,
                account: self.project.clone(),
                id: i.name.clone(),
                kind: Some("instance".to_string()),
                tags: i.labels.clone(),
                region: Some(i.zone.clone()),
                open_to_world: Vec::new(),
                addresses: i.external.clone(),
            })
            .collect();
        for r in &self.open_rules {
            out.push(Resource {
                provider: Provider::Gcp,
                account: self.project.clone(),
                id: r.name.clone(),
                kind: Some("firewall".to_string()),
                tags: BTreeMap::new(),
                region: None,
                open_to_world: vec![r.why.clone()],
                addresses: Vec::new(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(destination: &str) -> Sink {
        Sink {
            name: "s".into(),
            destination: destination.into(),
            filter: String::new(),
            disabled: false,
            include_children: false,
        }
    }

    #[test]
    fn a_sink_routes_out_when_its_destination_is_another_project_or_a_bucket() {
        let p = "prod-1";
        assert!(!routes_out(
            &sink("logging.googleapis.com/projects/prod-1/locations/global/buckets/_Default"),
            p
        ));
        assert!(routes_out(
            &sink("logging.googleapis.com/projects/sec-logs/locations/global/buckets/audit"),
            p
        ));
        assert!(routes_out(
            &sink("bigquery.googleapis.com/projects/sec/datasets/a"),
            p
        ));
        assert!(routes_out(
            &sink("storage.googleapis.com/org-audit-logs"),
            p
        ));
        assert!(!routes_out(
            &sink("pubsub.googleapis.com/projects/prod-1/topics/t"),
            p
        ));
    }

    #[test]
    fn labels_say_environment_and_data_classes_or_nothing() {
        assert_eq!(env("Production"), Some(squall_core::Env::Prod));
        assert_eq!(env("blue"), None);
        assert_eq!(
            data_classes("pii_pci"),
            Some(vec![
                squall_core::DataClass::Pii,
                squall_core::DataClass::Pci
            ])
        );
        assert_eq!(data_classes("confidential"), None);
    }

    #[test]
    fn trusts_are_other_projects_reached_by_peering_or_shared_vpc() {
        let inv = GcpInventory {
            project: "app".into(),
            instances: vec![Listed {
                name: "vm".into(),
                zone: "europe-west1-b".into(),
                status: "RUNNING".into(),
                labels: BTreeMap::new(),
                networks: vec![
                    "https://www.googleapis.com/compute/v1/projects/host/global/networks/shared"
                        .into(),
                ],
                external: vec![],
                service_accounts: vec![],
                disks: vec![],
            }],
            peerings: vec![Peering {
                network: "default".into(),
                name: "to-data".into(),
                peer: "https://www.googleapis.com/compute/v1/projects/data/global/networks/d"
                    .into(),
                state: "ACTIVE".into(),
            }],
            trusts_read: true,
            corp_links_read: true,
            ..GcpInventory::default()
        };
        let a = inv.to_asset(&LabelMap::default());
        assert_eq!(a.trusts, Some(vec!["data".to_string(), "host".to_string()]));
        assert_eq!(a.regions, Some(vec!["europe-west1".to_string()]));
        assert_eq!(a.corp_reach, Some(vec![squall_core::CorpReach::None]));
        // Not read: not "none", which would overwrite what the team wrote down.
        let unread = GcpInventory {
            trusts_read: false,
            corp_links_read: false,
            ..inv
        };
        let a = unread.to_asset(&LabelMap::default());
        assert_eq!((a.trusts, a.corp_reach), (None, None));
    }
}
