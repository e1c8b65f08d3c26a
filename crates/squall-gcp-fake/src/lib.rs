//! A stateful fake of the Google Cloud REST endpoints Squall calls, for its tests and
//! benchmarks. Google publishes no emulator for Compute Engine, IAM, Resource Manager or Cloud
//! Logging, so this follows the public API reference field by field for the calls Squall makes,
//! and nothing more: Google's official Rust clients reach it through their endpoint setting,
//! over HTTP, with real tokens from its OAuth and `generateAccessToken` endpoints, so
//! Application Default Credentials and impersonation run as they do against Google.
//!
//! What it keeps between calls: instances (tags and their fingerprint, access configs,
//! deletion protection, status), VPC firewall rules, hierarchical firewall policy rules a test
//! puts in place, projects and folders with their labels and IAM policies (bindings, audit
//! configs), subnets, peerings, VPN tunnels, Interconnect attachments, log sinks, operations
//! (`RUNNING` when a mutation answers, `DONE` when first polled), tokens and whom they belong
//! to, and every call made, with the caller.
//!
//! What it cannot show: real connection tracking (a rule here changes a document, not a
//! packet), real IAM permissions (only "may this caller impersonate that account", and faults
//! a test injects), quotas, or timing beyond the latency it is given.

mod compute;
mod error;
mod iam;
mod logging;
mod resourcemanager;
mod server;
mod storage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

pub use error::Fault;
pub use storage::WorkerFault;

/// The refresh token the fake's Application Default Credentials file carries.
pub const REFRESH_TOKEN: &str = "1//squall-fake-refresh-token";
/// Whom that refresh token belongs to.
pub const USER: &str = "responder@example.com";

/// One call the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    /// `user:...` or `serviceAccount:...`, from the bearer token; empty when there was none.
    pub principal: String,
    /// The HTTP status the fake answered with.
    pub status: u16,
}

/// Everything the fake holds. Resources are kept as the API's JSON documents.
#[derive(Default)]
pub(crate) struct World {
    pub(crate) instances: BTreeMap<String, Value>,
    pub(crate) firewalls: BTreeMap<String, Value>,
    /// `projects/P/zones/Z/disks/D` or `projects/P/regions/R/disks/D` → disk.
    pub(crate) disks: BTreeMap<String, Value>,
    /// `projects/P/global/snapshots/S` → snapshot.
    pub(crate) snapshots: BTreeMap<String, Value>,
    /// `projects/P/global/images/I` → image.
    pub(crate) images: BTreeMap<String, Value>,
    /// A snapshot's or image's key → its IAM policy.
    pub(crate) iam_policies: BTreeMap<String, Value>,
    pub(crate) operations: BTreeMap<String, Value>,
    /// Compute `requestId` → the operation its first request started: a retry gets it again
    /// instead of doing the change twice.
    pub(crate) request_ids: BTreeMap<String, Value>,
    /// `projects/P/global/networks/N` → its `networkFirewallPolicyEnforcementOrder`.
    pub(crate) network_order: BTreeMap<String, String>,
    /// Reserved static external addresses (the only ones an access config may ask for).
    pub(crate) static_addresses: std::collections::BTreeSet<String>,
    /// Project id → its `commonInstanceMetadata`.
    pub(crate) project_metadata: BTreeMap<String, Value>,
    /// Email → service account.
    pub(crate) accounts: BTreeMap<String, Value>,
    /// Key name → key.
    pub(crate) keys: BTreeMap<String, Value>,
    /// Project id → its log entries.
    pub(crate) log_entries: BTreeMap<String, Vec<Value>>,
    /// Per project: hierarchical firewall policies every instance's effective firewalls show.
    pub(crate) policies: BTreeMap<String, Vec<Value>>,
    /// Project id → project, as Resource Manager returns it.
    pub(crate) projects: BTreeMap<String, Value>,
    /// `folders/N` → folder.
    pub(crate) folders: BTreeMap<String, Value>,
    /// `projects/P`, `folders/N`, `organizations/N` → its IAM policy.
    pub(crate) resource_policies: BTreeMap<String, Value>,
    /// `projects/P/regions/R/subnetworks/S` → subnet.
    pub(crate) subnetworks: BTreeMap<String, Value>,
    /// `projects/P/global/networks/N` → its peerings.
    pub(crate) peerings: BTreeMap<String, Vec<Value>>,
    /// `projects/P/regions/R/interconnectAttachments/A` → attachment.
    pub(crate) interconnect_attachments: BTreeMap<String, Value>,
    /// `projects/P/regions/R/vpnTunnels/T` → tunnel.
    pub(crate) vpn_tunnels: BTreeMap<String, Value>,
    /// `projects/P`, `folders/N`, `organizations/N` → its log sinks.
    pub(crate) sinks: BTreeMap<String, Vec<Value>>,
    /// `projects/P/exclusions/NAME` → log exclusion.
    pub(crate) exclusions: BTreeMap<String, Value>,
    /// Cloud Storage buckets and their objects.
    pub(crate) buckets: storage::Buckets,
    /// What the next simulated imaging workers do wrong (the last one first).
    pub(crate) worker_faults: Vec<WorkerFault>,
    /// Access token → principal.
    pub(crate) tokens: BTreeMap<String, String>,
    /// Service accounts the user may impersonate.
    pub(crate) impersonable: Vec<String>,
    pub(crate) faults: Vec<Fault>,
    /// Changes to make mid-run: (what a call must contain, calls left, the change).
    pub(crate) changes: Vec<(String, u32, Option<Change>)>,
    pub(crate) calls: Vec<Call>,
    pub(crate) counter: u64,
    pub(crate) latency: Duration,
    /// Disks read by a simulated worker are full (`set_dense_disks`), not mostly zeros.
    pub(crate) dense_disks: bool,
    /// A generated disk's SHA-256 and CRC32C, by (seed, length, dense): computed once.
    pub(crate) disk_digests: std::collections::HashMap<(String, u64, bool), (String, u32)>,
}

impl World {
    pub(crate) fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A project's sink by name (sinks are kept as their parent lists them).
    pub(crate) fn sink(&self, project: &str, name: &str) -> Option<&Value> {
        self.sinks
            .get(&format!("projects/{project}"))
            .and_then(|all| all.iter().find(|s| s["name"] == json!(name)))
    }

    pub(crate) fn sink_mut(&mut self, project: &str, name: &str) -> Option<&mut Value> {
        self.sinks
            .get_mut(&format!("projects/{project}"))
            .and_then(|all| all.iter_mut().find(|s| s["name"] == json!(name)))
    }
}

/// A running fake on 127.0.0.1; stops when dropped.
pub struct Fake {
    /// `http://127.0.0.1:PORT`: every API's endpoint.
    pub url: String,
    world: Arc<Mutex<World>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fake {
    /// Starts a fake on a free port, served from its own thread.
    pub fn start() -> Fake {
        Fake::start_on(0)
    }

    /// Starts a fake on `port` (0 for any free one).
    pub fn start_on(port: u16) -> Fake {
        let world = Arc::new(Mutex::new(World::default()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&world);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the fake");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("a port for the fake");
                let addr = listener.local_addr().expect("the fake's address");
                url_tx.send(format!("http://{addr}")).ok();
                axum::serve(listener, server::router(served))
                    .with_graceful_shutdown(async {
                        stopped.await.ok();
                    })
                    .await
                    .ok();
            });
        });
        let url = url_rx.recv().expect("the fake started");
        Fake {
            url,
            world,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Disks the simulated worker reads hold a pattern in every block (a full disk, the worst
    /// case for an image's download), not mostly zeros.
    pub fn set_dense_disks(&self, dense: bool) {
        self.world().dense_disks = dense;
    }

    /// Computes now the digests a simulated worker will report for an image of `disk` (by
    /// key), so a benchmark's clock measures the download, not the fake's own hashing.
    pub fn warm_disk_digest(&self, disk: &str) {
        let mut w = self.world();
        let d = w.disks.get(disk).expect("the disk exists");
        let size: u64 = d["sizeGb"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let content = storage::Content::disk(&w, d["id"].as_str().unwrap_or_default(), size << 30);
        content.digests_in(&mut w);
    }

    /// Every answer waits this long first: a simulated round trip.
    pub fn set_latency(&self, latency: Duration) {
        self.world().latency = latency;
    }

    /// Writes an Application Default Credentials file of a user login (what `gcloud auth
    /// application-default login` writes), whose token endpoint is this fake.
    pub fn write_adc(&self, dir: &Path) -> PathBuf {
        let path = dir.join("application_default_credentials.json");
        let adc = json!({
            "type": "authorized_user",
            "client_id": "squall-fake.apps.googleusercontent.com",
            "client_secret": "squall-fake-secret",
            "refresh_token": REFRESH_TOKEN,
            "token_uri": format!("{}/token", self.url),
        });
        std::fs::write(&path, adc.to_string()).expect("writing the fake's ADC file");
        path
    }

    /// Lets the ADC user impersonate `email` (it holds Token Creator on it).
    pub fn allow_impersonation(&self, email: &str) {
        self.world().impersonable.push(email.to_string());
    }

    /// Adds a running instance with one network interface (`nic0`) on `network`, an external
    /// address, and one boot disk. Returns its resource name
    /// (`projects/P/zones/Z/instances/N`).
    pub fn add_instance(&self, project: &str, zone: &str, name: &str) -> String {
        let mut w = self.world();
        let n = w.next();
        let doc = compute::new_instance(project, zone, name, n);
        let key = compute::instance_key(project, zone, name);
        let disk = compute::new_disk(&doc, n);
        w.disks.insert(
            format!("projects/{project}/zones/{zone}/disks/{name}"),
            disk,
        );
        w.instances.insert(key.clone(), doc);
        key
    }

    /// Changes an instance's document (a test setting up tags, a second interface, ...).
    pub fn edit_instance(&self, key: &str, edit: impl FnOnce(&mut Value)) {
        let mut w = self.world();
        let doc = w.instances.get_mut(key).expect("the instance exists");
        edit(doc);
    }

    /// An instance as the API would return it now.
    pub fn instance(&self, key: &str) -> Option<Value> {
        self.world().instances.get(key).cloned()
    }

    /// Attaches a regional disk (replicated in two zones) to an instance as a data disk.
    pub fn attach_regional_disk(&self, instance: &str, region: &str, name: &str) -> String {
        let mut w = self.world();
        let n = w.next();
        let project = instance
            .split('/')
            .nth(1)
            .expect("projects/P/...")
            .to_string();
        let key = format!("projects/{project}/regions/{region}/disks/{name}");
        let url = format!("https://www.googleapis.com/compute/v1/{key}");
        let doc = w.instances.get_mut(instance).expect("the instance exists");
        doc["disks"].as_array_mut().expect("disks").push(json!({
            "kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE",
            "source": url, "deviceName": name, "index": 1, "boot": false, "autoDelete": false,
        }));
        let disk = json!({
            "kind": "compute#disk", "id": (8_000_000_000_000_000_000u64 + n).to_string(),
            "name": name, "sizeGb": "200", "selfLink": url, "status": "READY",
            "region": format!("https://www.googleapis.com/compute/v1/projects/{project}/regions/{region}"),
            "replicaZones": [format!("{region}-b"), format!("{region}-c")],
            "users": [doc["selfLink"].clone()],
        });
        w.disks.insert(key.clone(), disk);
        key
    }

    /// A snapshot as the API would return it now (`projects/P/global/snapshots/S`).
    pub fn snapshot(&self, key: &str) -> Option<Value> {
        self.world().snapshots.get(key).cloned()
    }

    /// Every snapshot of a project.
    pub fn snapshots(&self, project: &str) -> Vec<Value> {
        let prefix = format!("projects/{project}/global/snapshots/");
        self.world()
            .snapshots
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Adds an image (`projects/P/global/images/I`); returns its key.
    pub fn add_image(&self, project: &str, name: &str) -> String {
        let key = format!("projects/{project}/global/images/{name}");
        self.world().images.insert(
            key.clone(),
            json!({"kind": "compute#image", "name": name, "status": "READY",
                "selfLink": format!("https://www.googleapis.com/compute/v1/{key}")}),
        );
        key
    }

    /// Adds a snapshot (`projects/P/global/snapshots/S`) of no disk of the fake's; returns its
    /// key.
    pub fn add_snapshot(&self, project: &str, name: &str) -> String {
        let key = format!("projects/{project}/global/snapshots/{name}");
        self.world().snapshots.insert(
            key.clone(),
            json!({"kind": "compute#snapshot", "name": name, "status": "READY",
                "selfLink": format!("https://www.googleapis.com/compute/v1/{key}")}),
        );
        key
    }

    /// Adds a snapshot of a disk (by key, `projects/P/zones/Z/disks/D`) taken at `taken`
    /// (RFC 3339): a team's nightly backup, for a restore. Returns its key.
    pub fn add_disk_snapshot(&self, project: &str, name: &str, disk: &str, taken: &str) -> String {
        let mut w = self.world();
        let n = w.next();
        let source = w.disks.get(disk).cloned().expect("the disk exists");
        let key = format!("projects/{project}/global/snapshots/{name}");
        let base = "https://www.googleapis.com/compute/v1";
        w.snapshots.insert(
            key.clone(),
            json!({"kind": "compute#snapshot", "name": name, "status": "READY",
                "id": (7_000_000_000_000_000_000u64 + n).to_string(),
                "selfLink": format!("{base}/{key}"),
                "sourceDisk": format!("{base}/{disk}"), "sourceDiskId": source["id"],
                "diskSizeGb": source["sizeGb"], "storageBytes": "1073741824",
                "creationTimestamp": taken, "labels": {}}),
        );
        key
    }

    /// Sets a disk's size (`projects/P/zones/Z/disks/D`): an imaging test reads every byte,
    /// so it wants a small one.
    pub fn set_disk_size_gb(&self, key: &str, gb: u64) {
        let mut w = self.world();
        let disk = w.disks.get_mut(key).expect("the disk exists");
        disk["sizeGb"] = json!(gb.to_string());
    }

    /// Adds an empty Cloud Storage bucket.
    pub fn add_bucket(&self, name: &str) {
        self.world().buckets.entry(name.to_string()).or_default();
    }

    /// A bucket's objects: name, size, generation.
    pub fn objects(&self, bucket: &str) -> Vec<(String, u64, i64)> {
        storage::listing(&self.world(), bucket)
    }

    /// A small object's text (a large one reads as `{"disk_bytes": N}`).
    pub fn object_text(&self, bucket: &str, name: &str) -> Option<Value> {
        storage::text(&self.world(), bucket, name)
    }

    /// Removes an object (what a responder does by hand to let a worker try again).
    pub fn delete_object(&self, bucket: &str, name: &str) {
        if let Some(b) = self.world().buckets.get_mut(bucket) {
            b.remove(name);
        }
    }

    /// Puts an object holding `bytes`.
    pub fn put_object(&self, bucket: &str, name: &str, bytes: &[u8]) {
        let mut w = self.world();
        w.buckets.entry(bucket.to_string()).or_default();
        storage::put(
            &mut w,
            bucket,
            name,
            storage::Content::Bytes(bytes.to_vec()),
        );
    }

    /// The next imaging worker started goes wrong this way (faults queue, first in first
    /// used).
    pub fn worker_fault(&self, fault: WorkerFault) {
        self.world().worker_faults.insert(0, fault);
    }

    /// A worker left running (`WorkerFault::Hangs`) finishes its read now and powers off.
    pub fn power_off(&self, key: &str) {
        let mut w = self.world();
        storage::run_worker_again(&mut w, key);
    }

    /// SHA-256 (hex) and size of what a disk made from `snapshot` holds: what its image must
    /// be.
    pub fn snapshot_digest(&self, snapshot: &str) -> Option<(String, u64)> {
        let mut w = self.world();
        let c = storage::snapshot_content(&w, snapshot)?;
        Some((c.digests_in(&mut w).0, c.len()))
    }

    /// A snapshot deleted and taken again under the same name: the same source, a new id.
    pub fn retake_snapshot(&self, key: &str) {
        let mut w = self.world();
        let n = w.next();
        let snap = w.snapshots.get_mut(key).expect("the snapshot exists");
        snap["id"] = json!((7_500_000_000_000_000_000u64 + n).to_string());
    }

    /// A disk as the API would return it now (`projects/P/zones/Z/disks/D`).
    pub fn disk(&self, key: &str) -> Option<Value> {
        self.world().disks.get(key).cloned()
    }

    /// Grants `member` `role` on a snapshot, image or disk (by key): what sharing it out
    /// looks like.
    pub fn share(&self, key: &str, role: &str, member: &str) {
        share_in(&mut self.world(), key, role, member);
    }

    /// Makes `change` once the `calls`-th call whose `METHOD path` contains `matches` has been
    /// answered: someone else acting between a verb's plan and its execution, which the verb
    /// must notice rather than overwrite.
    pub fn change_after(&self, matches: &str, calls: u32, change: Change) {
        self.world()
            .changes
            .push((matches.to_string(), calls, Some(change)));
    }

    /// A snapshot's or image's IAM policy as the API would return it now.
    pub fn iam_policy(&self, key: &str) -> Option<Value> {
        self.world().iam_policies.get(key).cloned()
    }

    /// Reserves an external address as static (`addresses.insert`), so an access config may
    /// ask for it by `natIP`.
    pub fn reserve_static_address(&self, ip: &str) {
        self.world().static_addresses.insert(ip.to_string());
    }

    /// A VPC firewall rule as the API would return it now.
    pub fn firewall(&self, project: &str, name: &str) -> Option<Value> {
        self.world()
            .firewalls
            .get(&compute::firewall_key(project, name))
            .cloned()
    }

    /// Adds a VPC firewall rule (the API's JSON; `network` defaults to `default`).
    pub fn add_firewall(&self, project: &str, rule: Value) {
        let mut w = self.world();
        let n = w.next();
        let mut rule = compute::checked_firewall(project, &rule).expect("a valid rule");
        let name = rule["name"].as_str().unwrap_or_default().to_string();
        let key = compute::firewall_key(project, &name);
        rule["id"] = json!((5_000_000_000_000_000_000u64 + n).to_string());
        rule["selfLink"] = json!(format!("https://www.googleapis.com/compute/v1/{key}"));
        w.firewalls.insert(key, rule);
    }

    /// Every VPC firewall rule of a project.
    pub fn firewalls(&self, project: &str) -> Vec<Value> {
        let prefix = format!("projects/{project}/");
        self.world()
            .firewalls
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Puts a hierarchical (organization) firewall policy rule in front of every instance of
    /// the project: `action` `allow`, `deny` or `goto_next`.
    pub fn add_org_policy_rule(
        &self,
        project: &str,
        priority: i32,
        action: &str,
        direction: &str,
        ranges: &[&str],
    ) {
        let mut w = self.world();
        let rule = policy_rule(priority, action, direction, ranges);
        let policies = w.policies.entry(project.to_string()).or_default();
        if policies.is_empty() {
            policies.push(json!({
                "name": "123456789012",
                "shortName": "org-baseline",
                "type": "HIERARCHY",
                "rules": [],
            }));
        }
        policies[0]["rules"]
            .as_array_mut()
            .expect("rules")
            .push(rule);
    }

    /// Adds a service account `id@project.iam.gserviceaccount.com`; returns its email.
    pub fn add_service_account(&self, project: &str, id: &str) -> String {
        let mut w = self.world();
        let n = w.next();
        let account = iam::new_account(project, id, n);
        let email = account["email"].as_str().unwrap_or_default().to_string();
        w.accounts.insert(email.clone(), account);
        email
    }

    /// Adds a key to a service account: user-managed (a key file someone downloaded) or
    /// system-managed. Returns the key's name (`projects/P/serviceAccounts/E/keys/ID`).
    pub fn add_key(&self, email: &str, user_managed: bool) -> String {
        let mut w = self.world();
        let n = w.next();
        let account = w.accounts.get(email).expect("the account exists").clone();
        let key = iam::new_key(&account, n, user_managed);
        let name = key["name"].as_str().unwrap_or_default().to_string();
        w.keys.insert(name.clone(), key);
        name
    }

    /// A service account as the API would return it now.
    pub fn service_account(&self, email: &str) -> Option<Value> {
        self.world().accounts.get(email).cloned()
    }

    /// A key as the API would return it now.
    pub fn key(&self, name: &str) -> Option<Value> {
        self.world().keys.get(name).cloned()
    }

    /// Sets the project's metadata items (`ssh-keys`, `enable-oslogin`, ...).
    pub fn set_project_metadata(&self, project: &str, items: &[(&str, &str)]) {
        let mut w = self.world();
        let n = w.next();
        let items: Vec<Value> = items
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        w.project_metadata.insert(
            project.to_string(),
            json!({"kind": "compute#metadata", "fingerprint": compute::fingerprint(n), "items": items}),
        );
    }

    /// The project's metadata as the API would return it now.
    pub fn project_metadata(&self, project: &str) -> Option<Value> {
        self.world().project_metadata.get(project).cloned()
    }

    /// Sets when a key became valid (when it was made): an old key for an inventory to find.
    pub fn set_key_created(&self, name: &str, rfc3339: &str) {
        let mut w = self.world();
        let key = w.keys.get_mut(name).expect("the key exists");
        key["validAfterTime"] = json!(rfc3339);
    }

    /// Adds a project under `parent` (`organizations/N`, `folders/N`, or empty) with labels.
    pub fn add_project(&self, id: &str, parent: &str, labels: &[(&str, &str)]) {
        let mut w = self.world();
        let n = w.next();
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let doc = resourcemanager::new_project(id, parent, Value::Object(labels), n);
        w.projects.insert(id.to_string(), doc);
    }

    /// Adds folder `folders/NUMBER` under `parent`.
    pub fn add_folder(&self, number: &str, parent: &str) {
        self.world().folders.insert(
            format!("folders/{number}"),
            resourcemanager::new_folder(number, parent),
        );
    }

    /// Grants `role` to `member` on `resource` (`projects/P`, `folders/N`,
    /// `organizations/N`).
    pub fn grant(&self, resource: &str, role: &str, member: &str) {
        let mut w = self.world();
        let policy = w
            .resource_policies
            .entry(resource.to_string())
            .or_insert_with(resourcemanager::empty_policy);
        add_member(policy, role, member);
    }

    /// The IAM policy of `resource` (`projects/P`, `folders/N`, `organizations/N`) as
    /// `getIamPolicy` would return it now.
    pub fn resource_policy(&self, resource: &str) -> Value {
        self.world()
            .resource_policies
            .get(resource)
            .cloned()
            .unwrap_or_else(resourcemanager::empty_policy)
    }

    /// Turns Data Access audit log types (`DATA_READ`, `DATA_WRITE`, `ADMIN_READ`) on for
    /// `service` (`allServices` for all) on `resource`.
    pub fn audit_logs(&self, resource: &str, service: &str, types: &[&str]) {
        let mut w = self.world();
        let policy = w
            .resource_policies
            .entry(resource.to_string())
            .or_insert_with(resourcemanager::empty_policy);
        let configs: Vec<Value> = types.iter().map(|t| json!({"logType": t})).collect();
        policy["auditConfigs"]
            .as_array_mut()
            .expect("auditConfigs")
            .push(json!({"service": service, "auditLogConfigs": configs}));
    }

    /// Adds a subnet, with or without VPC Flow Logs, on the project's `default` network.
    pub fn add_subnet(&self, project: &str, region: &str, name: &str, flow_logs: bool) {
        let key = format!("projects/{project}/regions/{region}/subnetworks/{name}");
        let base = "https://www.googleapis.com/compute/v1";
        let doc = json!({
            "kind": "compute#subnetwork",
            "name": name,
            "network": format!("{base}/projects/{project}/global/networks/default"),
            "region": format!("{base}/projects/{project}/regions/{region}"),
            "ipCidrRange": "10.128.0.0/20",
            "selfLink": format!("{base}/{key}"),
            "purpose": "PRIVATE",
            "logConfig": {"enable": flow_logs, "aggregationInterval": "INTERVAL_5_SEC"},
        });
        self.world().subnetworks.insert(key, doc);
    }

    /// Peers the project's `network` with `peer` (a network URL or `projects/P/global/networks/N`).
    pub fn add_peering(&self, project: &str, network: &str, name: &str, peer: &str) {
        let key = format!("projects/{project}/global/networks/{network}");
        let peer = if peer.starts_with("https://") {
            peer.to_string()
        } else {
            format!("https://www.googleapis.com/compute/v1/{peer}")
        };
        self.world().peerings.entry(key).or_default().push(json!({
            "name": name, "network": peer, "state": "ACTIVE", "autoCreateRoutes": true,
            "exchangeSubnetRoutes": true, "stackType": "IPV4_ONLY",
        }));
    }

    /// Adds a Cloud VPN tunnel to `peer_ip` (with a shared secret the API never returns
    /// whole: only its hash).
    pub fn add_vpn_tunnel(&self, project: &str, region: &str, name: &str, peer_ip: &str) {
        let key = format!("projects/{project}/regions/{region}/vpnTunnels/{name}");
        let base = "https://www.googleapis.com/compute/v1";
        let doc = json!({
            "kind": "compute#vpnTunnel", "name": name,
            "region": format!("{base}/projects/{project}/regions/{region}"),
            "peerIp": peer_ip, "status": "ESTABLISHED", "ikeVersion": 2,
            "sharedSecretHash": "AOm8ZfEiHd2gRWoqeG5cxK6TpOYq", "selfLink": format!("{base}/{key}"),
        });
        self.world().vpn_tunnels.insert(key, doc);
    }

    /// Adds a Dedicated Interconnect attachment.
    pub fn add_interconnect_attachment(&self, project: &str, region: &str, name: &str) {
        let key = format!("projects/{project}/regions/{region}/interconnectAttachments/{name}");
        let base = "https://www.googleapis.com/compute/v1";
        let doc = json!({
            "kind": "compute#interconnectAttachment", "name": name,
            "region": format!("{base}/projects/{project}/regions/{region}"),
            "type": "DEDICATED", "state": "ACTIVE", "selfLink": format!("{base}/{key}"),
        });
        self.world().interconnect_attachments.insert(key, doc);
    }

    /// Adds a log exclusion to project `project`: entries matching `filter` are dropped.
    pub fn add_exclusion(&self, project: &str, name: &str, filter: &str) -> String {
        let key = format!("projects/{project}/exclusions/{name}");
        self.world().exclusions.insert(
            key.clone(),
            json!({"name": name, "filter": filter, "description": "", "disabled": false,
                "createTime": "2026-11-28T10:00:00Z", "updateTime": "2026-11-28T10:00:00Z"}),
        );
        key
    }

    /// Changes a log exclusion as an attacker's `exclusions.patch` would.
    pub fn edit_exclusion(&self, key: &str, edit: impl FnOnce(&mut Value)) {
        edit(
            self.world()
                .exclusions
                .get_mut(key)
                .expect("the exclusion exists"),
        );
    }

    /// A log exclusion as the API would return it now.
    pub fn exclusion(&self, key: &str) -> Option<Value> {
        self.world().exclusions.get(key).cloned()
    }

    /// Turns a project's sink off or on, as `sinks.update` would.
    pub fn set_sink_disabled(&self, project: &str, name: &str, disabled: bool) {
        self.world()
            .sink_mut(project, name)
            .expect("the sink exists")["disabled"] = json!(disabled);
    }

    /// Changes a project's sink as an attacker's `sinks.update` would (or, `edit` returning
    /// false, deletes it).
    pub fn edit_sink(&self, project: &str, name: &str, edit: impl FnOnce(&mut Value) -> bool) {
        let mut w = self.world();
        let all = w
            .sinks
            .get_mut(&format!("projects/{project}"))
            .expect("the project has sinks");
        let at = all
            .iter()
            .position(|s| s["name"] == json!(name))
            .expect("the sink exists");
        if !edit(&mut all[at]) {
            all.remove(at);
        }
    }

    /// A project's sink as the API would return it now.
    pub fn sink(&self, project: &str, name: &str) -> Option<Value> {
        self.world().sink(project, name).cloned()
    }

    /// Adds a log sink to `parent` (`projects/P`, `folders/N`, `organizations/N`).
    pub fn add_sink(&self, parent: &str, name: &str, destination: &str, include_children: bool) {
        let doc = json!({
            "name": name, "destination": destination, "filter": "logName:\"cloudaudit.googleapis.com\"",
            "disabled": false, "includeChildren": include_children,
            "writerIdentity": format!("serviceAccount:service-{name}@gcp-sa-logging.iam.gserviceaccount.com"),
        });
        self.world()
            .sinks
            .entry(parent.to_string())
            .or_default()
            .push(doc);
    }

    /// Adds log entries (LogEntry JSON, as a sink writes them) to a project's logs.
    pub fn add_log_entries(&self, project: &str, entries: impl IntoIterator<Item = Value>) {
        self.world()
            .log_entries
            .entry(project.to_string())
            .or_default()
            .extend(entries);
    }

    /// Puts a global network firewall policy rule in front of the project's instances.
    pub fn add_network_policy_rule(
        &self,
        project: &str,
        priority: i32,
        action: &str,
        direction: &str,
        ranges: &[&str],
    ) {
        let mut w = self.world();
        let rule = policy_rule(priority, action, direction, ranges);
        w.policies
            .entry(project.to_string())
            .or_default()
            .push(json!({
                "name": "net-policy", "shortName": "net-policy", "type": "NETWORK", "rules": [rule],
            }));
    }

    /// Sets when a network evaluates its firewall policies: `BEFORE_CLASSIC_FIREWALL` or
    /// `AFTER_CLASSIC_FIREWALL` (the default).
    pub fn set_network_policy_order(&self, project: &str, network: &str, order: &str) {
        self.world().network_order.insert(
            format!("projects/{project}/global/networks/{network}"),
            order.to_string(),
        );
    }

    /// Injects a fault: the next `times` requests whose method and path contain `matches`
    /// fail as it says.
    pub fn inject(&self, fault: Fault) {
        self.world().faults.push(fault);
    }

    /// Every call answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// Calls whose `METHOD path` contains `matches`.
    pub fn calls_to(&self, matches: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| format!("{} {}", c.method, c.path).contains(matches))
            .collect()
    }
}

/// A firewall policy rule as `getEffectiveFirewalls` shows it, over every protocol.
fn policy_rule(priority: i32, action: &str, direction: &str, ranges: &[&str]) -> Value {
    let range_field = if direction == "INGRESS" {
        "srcIpRanges"
    } else {
        "destIpRanges"
    };
    json!({
        "kind": "compute#firewallPolicyRule",
        "priority": priority,
        "action": action,
        "direction": direction,
        "match": {range_field: ranges, "layer4Configs": [{"ipProtocol": "all"}]},
    })
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

/// What [`Fake::share`] does, on the world already held.
fn share_in(w: &mut World, key: &str, role: &str, member: &str) {
    let n = w.next();
    let policy = w
        .iam_policies
        .entry(key.to_string())
        .or_insert_with(|| json!({"version": 1, "bindings": []}));
    add_member(policy, role, member);
    policy["etag"] = json!(compute::fingerprint(n));
}

/// `member` added to `role`'s binding in an IAM policy (the binding made when there is none).
fn add_member(policy: &mut Value, role: &str, member: &str) {
    let bindings = policy["bindings"].as_array_mut().expect("bindings");
    match bindings.iter_mut().find(|b| b["role"] == json!(role)) {
        Some(b) => b["members"]
            .as_array_mut()
            .expect("members")
            .push(json!(member)),
        None => bindings.push(json!({"role": role, "members": [member]})),
    }
}

/// A change [`Fake::change_after`] makes in the middle of a run.
#[derive(Debug, Clone)]
pub enum Change {
    /// `member` granted `role` on a snapshot, image or disk (by key).
    Share {
        key: String,
        role: String,
        member: String,
    },
    /// A field of a project's sink set, as another `sinks.update` would.
    EditSink {
        project: String,
        name: String,
        field: String,
        value: Value,
    },
}

/// Makes the changes due after the call just answered (`METHOD path`).
pub(crate) fn changes_due(w: &mut World, call: &str) {
    let mut due = Vec::new();
    for (matches, left, change) in &mut w.changes {
        if *left > 0 && call.contains(matches.as_str()) {
            *left -= 1;
            if *left == 0 {
                due.extend(change.take());
            }
        }
    }
    for c in due {
        match c {
            Change::Share { key, role, member } => share_in(w, &key, &role, &member),
            Change::EditSink {
                project,
                name,
                field,
                value,
            } => {
                if let Some(sink) = w.sink_mut(&project, &name) {
                    sink[field] = value;
                }
            }
        }
    }
}
