//! Compute Engine v1 (`/compute/v1/projects/{project}/...`): instances, VPC firewall rules,
//! effective firewalls, zonal and global operations, with the checks the API makes that a
//! client can trip over (tag fingerprints, one access config per interface, IPv4 and IPv6
//! ranges never in one rule, duplicate rule names).

use axum::http::Method;
use serde_json::{Value, json};

use crate::World;
use crate::error::ApiError;
use crate::server::Request;

const BASE: &str = "https://www.googleapis.com/compute/v1";

pub(crate) fn instance_key(project: &str, zone: &str, name: &str) -> String {
    format!("projects/{project}/zones/{zone}/instances/{name}")
}

pub(crate) fn firewall_key(project: &str, name: &str) -> String {
    format!("projects/{project}/global/firewalls/{name}")
}

/// A running instance as `instances.get` returns it: one interface on `default` with an
/// ephemeral external address, a boot disk, the default compute service account.
pub(crate) fn new_instance(project: &str, zone: &str, name: &str, n: u64) -> Value {
    let region = zone.rsplit_once('-').map_or(zone, |(r, _)| r);
    let zone_url = format!("{BASE}/projects/{project}/zones/{zone}");
    json!({
        "kind": "compute#instance",
        "id": (4_000_000_000_000_000_000u64 + n).to_string(),
        "name": name,
        "zone": zone_url,
        "selfLink": format!("{zone_url}/instances/{name}"),
        "status": "RUNNING",
        "machineType": format!("{zone_url}/machineTypes/e2-medium"),
        "creationTimestamp": "2026-11-01T10:00:00.000-07:00",
        "tags": {"items": ["web"], "fingerprint": fingerprint(n)},
        "labels": {"env": "prod"},
        "labelFingerprint": fingerprint(n + 1),
        "deletionProtection": false,
        "networkInterfaces": [{
            "kind": "compute#networkInterface",
            "name": "nic0",
            "network": format!("{BASE}/projects/{project}/global/networks/default"),
            "subnetwork": format!("{BASE}/projects/{project}/regions/{region}/subnetworks/default"),
            "networkIP": format!("10.128.{}.{}", (n / 250) % 250, n % 250 + 2),
            "fingerprint": fingerprint(n + 2),
            "stackType": "IPV4_ONLY",
            "accessConfigs": [{
                "kind": "compute#accessConfig",
                "type": "ONE_TO_ONE_NAT",
                "name": "External NAT",
                "natIP": format!("34.{}.{}.{}", 100 + (n / 62500) % 100, (n / 250) % 250, n % 250 + 1),
                "networkTier": "PREMIUM",
            }],
        }],
        "disks": [{
            "kind": "compute#attachedDisk",
            "type": "PERSISTENT",
            "mode": "READ_WRITE",
            "source": format!("{zone_url}/disks/{name}"),
            "deviceName": name,
            "index": 0,
            "boot": true,
            "autoDelete": true,
            "diskSizeGb": "10",
        }],
        "serviceAccounts": [{
            "email": "123456789-compute@developer.gserviceaccount.com",
            "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        }],
        "metadata": {"kind": "compute#metadata", "fingerprint": fingerprint(n + 3), "items": []},
    })
}

/// The boot disk `new_instance` attaches, as `disks.get` returns it.
pub(crate) fn new_disk(instance: &Value, n: u64) -> Value {
    let source = instance["disks"][0]["source"].clone();
    json!({
        "kind": "compute#disk",
        "id": (8_000_000_000_000_000_000u64 + n).to_string(),
        "name": instance["name"],
        "sizeGb": "10",
        "zone": instance["zone"],
        "selfLink": source,
        "status": "READY",
        "type": format!("{}/diskTypes/pd-balanced", instance["zone"].as_str().unwrap_or_default()),
        "users": [instance["selfLink"]],
        "labels": {},
        "labelFingerprint": fingerprint(n + 5),
    })
}

/// The disk a `sourceDisk` names (a URL or a partial path), by its key.
fn disk_key(source: &str) -> Option<String> {
    let i = source.find("projects/")?;
    let path = &source[i..];
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["projects", _, "zones" | "regions", _, "disks", _] => Some(path.to_string()),
        _ => None,
    }
}

pub(crate) fn handle(w: &mut World, req: &Request<'_>) -> Result<Value, ApiError> {
    // A request id seen before gets its first operation back, and nothing is done again.
    let id = req
        .query
        .get("requestId")
        .filter(|_| req.method != Method::GET);
    if let Some(op) = id.and_then(|id| w.request_ids.get(id)) {
        return Ok(op.clone());
    }
    let answer = answer(w, req)?;
    if let Some(id) = id
        && answer["kind"] == json!("compute#operation")
    {
        w.request_ids.insert(id.clone(), answer.clone());
    }
    Ok(answer)
}

fn answer(w: &mut World, req: &Request<'_>) -> Result<Value, ApiError> {
    let s: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let delete = req.method == Method::DELETE;
    match s.as_slice() {
        ["compute", "v1", "projects", p, "zones", z, "instances", n] if delete => {
            let key = instance_key(p, z, n);
            let doc = w
                .instances
                .get(&key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&key))?;
            if doc["deletionProtection"] == json!(true) {
                return Err(ApiError::new(
                    400,
                    "resourceInUseByAnotherResource",
                    "Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'.",
                ));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                w.instances.remove(&key);
                let link = format!("{BASE}/{key}");
                for d in doc["disks"].as_array().into_iter().flatten() {
                    let Some(k) = d["source"].as_str().and_then(disk_key) else {
                        continue;
                    };
                    if d["autoDelete"] == json!(true) {
                        w.disks.remove(&k);
                    } else if let Some(kept) = w.disks.get_mut(&k)
                        && let Some(users) = kept["users"].as_array_mut()
                    {
                        users.retain(|u| u != &json!(link));
                    }
                }
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, Some(z), "delete", &link, req, fail))
        }
        ["compute", "v1", "projects", p, "zones", z, "instances"] if post => {
            insert_instance(w, p, z, req)
        }
        ["compute", "v1", "projects", p, "zones", z, "disks", d] if delete => {
            let key = format!("projects/{p}/zones/{z}/disks/{d}");
            let disk = w.disks.get(&key).ok_or_else(|| ApiError::not_found(&key))?;
            if let Some(user) = disk["users"].as_array().and_then(|u| u.first()) {
                return Err(ApiError::new(
                    400,
                    "resourceInUseByAnotherResource",
                    format!(
                        "The disk resource '{key}' is already being used by '{}'",
                        user.as_str().unwrap_or_default()
                    ),
                ));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                w.disks.remove(&key);
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, Some(z), "delete", &link, req, fail))
        }
        ["compute", "v1", "projects", p, "zones", z, "instances"] if get => {
            let prefix = format!("projects/{p}/zones/{z}/instances/");
            let items: Vec<Value> = w
                .instances
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| v.clone())
                .collect();
            Ok(json!({"kind": "compute#instanceList", "items": items}))
        }
        ["compute", "v1", "projects", p, "zones", z, "instances", n] if get => w
            .instances
            .get(&instance_key(p, z, n))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&instance_key(p, z, n))),
        [
            "compute",
            "v1",
            "projects",
            p,
            "zones",
            z,
            "instances",
            n,
            "getEffectiveFirewalls",
        ] if get => effective_firewalls(w, p, &instance_key(p, z, n), req),
        [
            "compute",
            "v1",
            "projects",
            p,
            "zones",
            z,
            "instances",
            n,
            verb,
        ] if post => {
            let key = instance_key(p, z, n);
            if !w.instances.contains_key(&key) {
                return Err(ApiError::not_found(&key));
            }
            if *verb == "addAccessConfig" {
                address_available(w, &req.body["natIP"])?;
            }
            // A disk attached must exist; it lists the instance among its users.
            let attached = (*verb == "attachDisk")
                .then(|| {
                    let source = req.body["source"].as_str().unwrap_or_default();
                    disk_key(source)
                        .filter(|k| w.disks.contains_key(k))
                        .ok_or_else(|| ApiError::not_found(source))
                })
                .transpose()?;
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                let serial = w.next();
                let doc = w.instances.get_mut(&key).expect("checked above");
                let detached = mutate_instance(doc, verb, req, serial)?;
                let link = format!("{BASE}/{key}");
                if let Some(d) = attached.and_then(|k| w.disks.get_mut(&k)) {
                    d["users"] = json!([link]);
                }
                if let Some(d) = detached.and_then(|k| w.disks.get_mut(&k)) {
                    d["users"] = json!([]);
                }
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, Some(z), verb, &link, req, fail))
        }
        ["compute", "v1", "projects", p] if get => {
            let n = w.next();
            let metadata = w.project_metadata.entry(p.to_string()).or_insert_with(
                || json!({"kind": "compute#metadata", "fingerprint": fingerprint(n), "items": []}),
            );
            Ok(json!({
                "kind": "compute#project",
                "name": p,
                "id": (7_000_000_000_000_000_000u64 + n).to_string(),
                "commonInstanceMetadata": metadata,
                "selfLink": format!("{BASE}/projects/{p}"),
            }))
        }
        ["compute", "v1", "projects", p, "setCommonInstanceMetadata"] if post => {
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                let n = w.next();
                let current = w
                    .project_metadata
                    .get(*p)
                    .map(|m| m["fingerprint"].clone())
                    .unwrap_or(Value::Null);
                if !current.is_null() && req.body["fingerprint"] != current {
                    return Err(fingerprint_mismatch());
                }
                w.project_metadata.insert(
                    p.to_string(),
                    json!({"kind": "compute#metadata", "fingerprint": fingerprint(n), "items": req.body["items"].as_array().cloned().unwrap_or_default()}),
                );
            }
            let link = format!("{BASE}/projects/{p}");
            Ok(operation(
                w,
                p,
                None,
                "setCommonInstanceMetadata",
                &link,
                req,
                fail,
            ))
        }
        [
            "compute",
            "v1",
            "projects",
            _,
            "zones" | "regions",
            _,
            "disks",
            _,
        ] if get => {
            let key = req.segments[2..].join("/");
            w.disks
                .get(&key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&key))
        }
        ["compute", "v1", "projects", p, "zones", z, "disks"] if post => {
            // A disk made from a snapshot, as a restore makes it.
            let name = req.body["name"].as_str().unwrap_or_default().to_string();
            if !valid_name(&name) {
                return Err(ApiError::invalid(format!(
                    "Invalid value for field 'resource.name': '{name}'"
                )));
            }
            let source = req.body["sourceSnapshot"].as_str().unwrap_or_default();
            let snap_key = source
                .find("projects/")
                .map(|i| source[i..].to_string())
                .or_else(|| {
                    source
                        .strip_prefix("global/snapshots/")
                        .map(|n| format!("projects/{p}/global/snapshots/{n}"))
                })
                .ok_or_else(|| {
                    ApiError::invalid("Disk must have a source: sourceSnapshot is required here")
                })?;
            let snap = w
                .snapshots
                .get(&snap_key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&snap_key))?;
            let key = format!("projects/{p}/zones/{z}/disks/{name}");
            if w.disks.contains_key(&key) {
                return Err(ApiError::already_exists(&key));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                let n = w.next();
                w.disks.insert(
                    key.clone(),
                    json!({
                        "kind": "compute#disk",
                        "id": (8_000_000_000_000_000_000u64 + n).to_string(),
                        "name": name,
                        "sizeGb": snap["diskSizeGb"],
                        "zone": format!("{BASE}/projects/{p}/zones/{z}"),
                        "selfLink": format!("{BASE}/{key}"),
                        "status": "READY",
                        // Google's default type is pd-standard, which some machine types
                        // cannot boot from: the caller names the one it needs.
                        "type": req.body["type"].as_str().map_or_else(
                            || format!("{BASE}/projects/{p}/zones/{z}/diskTypes/pd-standard"),
                            str::to_string,
                        ),
                        "diskEncryptionKey": req.body["diskEncryptionKey"].clone(),
                        "sourceSnapshot": format!("{BASE}/{snap_key}"),
                        "sourceSnapshotId": snap["id"],
                        "labels": req.body["labels"].clone(),
                        "labelFingerprint": fingerprint(n),
                        "users": [],
                    }),
                );
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, Some(z), "insert", &link, req, fail))
        }
        [
            "compute",
            "v1",
            "projects",
            p,
            "zones",
            z,
            "disks",
            d,
            "setLabels",
        ] if post => {
            let key = format!("projects/{p}/zones/{z}/disks/{d}");
            let disk = w
                .disks
                .get_mut(&key)
                .ok_or_else(|| ApiError::not_found(&key))?;
            let current = disk["labelFingerprint"].as_str();
            if req.body["labelFingerprint"].as_str() != current {
                return Err(ApiError::new(
                    412,
                    "conditionNotMet",
                    "Labels fingerprint either invalid or resource labels have changed",
                ));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                disk["labels"] = req.body["labels"].clone();
                let n = w.next();
                w.disks.get_mut(&key).expect("found")["labelFingerprint"] = json!(fingerprint(n));
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, Some(z), "setLabels", &link, req, fail))
        }
        ["compute", "v1", "projects", p, "global", "snapshots"] if post => {
            let name = req.body["name"].as_str().unwrap_or_default().to_string();
            if !valid_name(&name) {
                return Err(ApiError::invalid(format!(
                    "Invalid value for field 'resource.name': '{name}'"
                )));
            }
            let source = req.body["sourceDisk"].as_str().unwrap_or_default();
            let disk_key = disk_key(source).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid value for field 'resource.sourceDisk': '{source}'"
                ))
            })?;
            let disk = w
                .disks
                .get(&disk_key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&disk_key))?;
            let key = format!("projects/{p}/global/snapshots/{name}");
            if w.snapshots.contains_key(&key) {
                return Err(ApiError::already_exists(&key));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                let n = w.next();
                let size: u64 = disk["sizeGb"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(10);
                w.snapshots.insert(
                    key.clone(),
                    json!({
                        "kind": "compute#snapshot",
                        "id": (9_000_000_000_000_000_000u64 + n).to_string(),
                        "name": name,
                        "description": req.body["description"],
                        "labels": req.body["labels"],
                        "status": "READY",
                        "sourceDisk": disk["selfLink"],
                        "sourceDiskId": disk["id"],
                        "diskSizeGb": disk["sizeGb"],
                        "storageBytes": (size << 28).to_string(),
                        "storageLocations": ["eu"],
                        "creationTimestamp": "2026-12-01T00:00:00.000-08:00",
                        "selfLink": format!("{BASE}/{key}"),
                    }),
                );
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, None, "insert", &link, req, fail))
        }
        [
            "compute",
            "v1",
            "projects",
            p,
            "global",
            kind @ ("snapshots" | "images"),
            name,
            verb @ ("getIamPolicy" | "setIamPolicy"),
        ] => {
            let key = format!("projects/{p}/global/{kind}/{name}");
            let exists = if *kind == "snapshots" {
                w.snapshots.contains_key(&key)
            } else {
                w.images.contains_key(&key)
            };
            if !exists {
                return Err(ApiError::not_found(&key));
            }
            iam_policy(w, key, verb, get, post, &req.body["policy"])
        }
        // `disks.getIamPolicy` and `regionDisks.getIamPolicy` (and `set`): the same policy
        // shape, asked of a disk in a zone or a region.
        [
            "compute",
            "v1",
            "projects",
            _,
            "zones" | "regions",
            _,
            "disks",
            _,
            verb @ ("getIamPolicy" | "setIamPolicy"),
        ] => {
            let key = req.segments[2..req.segments.len() - 1].join("/");
            if !w.disks.contains_key(&key) {
                return Err(ApiError::not_found(&key));
            }
            iam_policy(w, key, verb, get, post, &req.body["policy"])
        }
        ["compute", "v1", "projects", p, "global", "snapshots", name] if get => {
            let key = format!("projects/{p}/global/snapshots/{name}");
            w.snapshots
                .get(&key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&key))
        }
        ["compute", "v1", "projects", p, "global", "networks", n] if get => {
            Ok(network(w, &format!("projects/{p}/global/networks/{n}")))
        }
        ["compute", "v1", "projects", p, "global", "networks"] if get => {
            // The networks the project's instances, rules, policies and peerings name.
            let prefix = format!("projects/{p}/global/networks/");
            let named = w
                .instances
                .values()
                .flat_map(|i| {
                    i["networkInterfaces"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|n| n["network"].as_str().map(str::to_string))
                .chain(
                    w.firewalls
                        .values()
                        .filter_map(|f| f["network"].as_str().map(str::to_string)),
                )
                .chain(w.network_order.keys().cloned())
                .chain(w.peerings.keys().cloned());
            let mut keys: Vec<String> = named
                .filter_map(|n| n.find("projects/").map(|i| n[i..].to_string()))
                .filter(|k| k.starts_with(&prefix))
                .collect();
            keys.sort();
            keys.dedup();
            let items: Vec<Value> = keys.iter().map(|k| network(w, k)).collect();
            Ok(json!({"kind": "compute#networkList", "items": items}))
        }
        ["compute", "v1", "projects", p, "aggregated", what] if get => {
            // Every zone's or region's resources of one kind, keyed `zones/Z` or `regions/R`.
            let (store, field, scope, kind) = match *what {
                "instances" => (&w.instances, "instances", "zones", "instance"),
                "subnetworks" => (&w.subnetworks, "subnetworks", "regions", "subnetwork"),
                "interconnectAttachments" => (
                    &w.interconnect_attachments,
                    "interconnectAttachments",
                    "regions",
                    "interconnectAttachment",
                ),
                "vpnTunnels" => (&w.vpn_tunnels, "vpnTunnels", "regions", "vpnTunnel"),
                _ => return Err(ApiError::not_found(&req.segments.join("/"))),
            };
            let mut items = serde_json::Map::new();
            for (key, doc) in store
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("projects/{p}/")))
            {
                let parts: Vec<&str> = key.split('/').collect();
                if parts.get(2) != Some(&scope) {
                    continue;
                }
                let at = format!("{scope}/{}", parts[3]);
                items.entry(at).or_insert_with(|| json!({ field: [] }))[field]
                    .as_array_mut()
                    .expect("a list")
                    .push(doc.clone());
            }
            Ok(json!({
                "kind": format!("compute#{kind}AggregatedList"),
                "id": format!("projects/{p}/aggregated/{what}"),
                "items": items,
            }))
        }
        ["compute", "v1", "projects", p, "zones", z, "operations", op] if get => {
            poll_operation(w, &format!("projects/{p}/zones/{z}/operations/{op}"))
        }
        ["compute", "v1", "projects", p, "global", "operations", op] if get => {
            poll_operation(w, &format!("projects/{p}/global/operations/{op}"))
        }
        ["compute", "v1", "projects", p, "global", "firewalls"] if get => {
            let prefix = format!("projects/{p}/global/firewalls/");
            let items: Vec<Value> = w
                .firewalls
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| v.clone())
                .collect();
            Ok(json!({"kind": "compute#firewallList", "items": items}))
        }
        ["compute", "v1", "projects", p, "global", "firewalls"] if post => {
            let rule = checked_firewall(p, &req.body)?;
            let name = rule["name"].as_str().unwrap_or_default().to_string();
            let key = firewall_key(p, &name);
            if w.firewalls.contains_key(&key) {
                return Err(ApiError::already_exists(&key));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                let n = w.next();
                let mut rule = rule;
                rule["id"] = json!((5_000_000_000_000_000_000u64 + n).to_string());
                rule["selfLink"] = json!(format!("{BASE}/{key}"));
                rule["creationTimestamp"] = json!("2026-12-01T00:00:00.000-08:00");
                w.firewalls.insert(key.clone(), rule);
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, None, "insert", &link, req, fail))
        }
        ["compute", "v1", "projects", p, "global", "firewalls", name] if get => w
            .firewalls
            .get(&firewall_key(p, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&firewall_key(p, name))),
        ["compute", "v1", "projects", p, "global", "firewalls", name]
            if req.method == Method::PATCH =>
        {
            let key = firewall_key(p, name);
            let current = w
                .firewalls
                .get(&key)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&key))?;
            // A patch merges the fields it carries into the rule, checked as a whole.
            let mut merged = current.clone();
            if let (Some(m), Some(patch)) = (merged.as_object_mut(), req.body.as_object()) {
                for (k, v) in patch {
                    m.insert(k.clone(), v.clone());
                }
            }
            let mut rule = checked_firewall(p, &merged)?;
            for k in ["id", "selfLink", "creationTimestamp"] {
                rule[k] = current[k].clone();
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                w.firewalls.insert(key.clone(), rule);
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, None, "patch", &link, req, fail))
        }
        ["compute", "v1", "projects", p, "global", "firewalls", name] if delete => {
            let key = firewall_key(p, name);
            if !w.firewalls.contains_key(&key) {
                return Err(ApiError::not_found(&key));
            }
            let fail = req.fail_operation.clone();
            if fail.is_none() {
                w.firewalls.remove(&key);
            }
            let link = format!("{BASE}/{key}");
            Ok(operation(w, p, None, "delete", &link, req, fail))
        }
        _ => Err(ApiError::not_found(&req.segments.join("/"))),
    }
}

/// An access config may ask for a reserved static address no instance uses; an ephemeral
/// address, once given back, cannot be asked for again.
fn address_available(w: &World, nat_ip: &Value) -> Result<(), ApiError> {
    let Some(ip) = nat_ip.as_str() else {
        return Ok(());
    };
    let in_use = w.instances.values().any(|i| {
        i["networkInterfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| n["accessConfigs"].as_array().into_iter().flatten())
            .any(|a| a["natIP"] == json!(ip))
    });
    if !w.static_addresses.contains(ip) || in_use {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.natIP': '{ip}'. The specified external IP address '{ip}' was not found or is in use."
        )));
    }
    Ok(())
}

/// What Compute answers a change sent with a stale fingerprint: someone else changed it since
/// it was read.
fn fingerprint_mismatch() -> ApiError {
    ApiError::new(
        412,
        "conditionNotMet",
        "Supplied fingerprint does not match current fingerprint.",
    )
}

/// A resource's fingerprint: opaque bytes, new on every change, in JSON as the discovery
/// format `byte` is written: padded base64 with the URL-safe alphabet (`-`, `_`), which is what
/// the Rust client decodes.
pub(crate) fn fingerprint(n: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(n.to_be_bytes())
}

/// Changes an instance as `verb` does; returns the key of a disk it detached.
fn mutate_instance(
    doc: &mut Value,
    verb: &str,
    req: &Request<'_>,
    serial: u64,
) -> Result<Option<String>, ApiError> {
    let nic_named = |doc: &mut Value| -> Result<usize, ApiError> {
        let wanted = req
            .query
            .get("networkInterface")
            .ok_or_else(|| ApiError::invalid("Required field 'networkInterface' not specified"))?;
        doc["networkInterfaces"]
            .as_array()
            .and_then(|nics| nics.iter().position(|n| n["name"] == json!(wanted)))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid value for field 'networkInterface': '{wanted}'"
                ))
            })
    };
    let status = doc["status"].as_str().unwrap_or_default().to_string();
    match verb {
        "setTags" => {
            let given = req.body["fingerprint"].as_str().unwrap_or_default();
            if given != doc["tags"]["fingerprint"].as_str().unwrap_or_default() {
                return Err(fingerprint_mismatch());
            }
            let items = req.body["items"].clone();
            let valid = items.as_array().is_none_or(|a| {
                a.iter().all(|t| {
                    t.as_str().is_some_and(|t| {
                        !t.is_empty()
                            && t.len() <= 63
                            && t.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    })
                })
            });
            if !valid {
                return Err(ApiError::invalid(
                    "Invalid value for field 'resource.tags.items'",
                ));
            }
            let next = fingerprint(serial);
            doc["tags"] = json!({"items": if items.is_null() { json!([]) } else { items }, "fingerprint": next});
        }
        "setMetadata" => {
            if req.body["fingerprint"] != doc["metadata"]["fingerprint"] {
                return Err(fingerprint_mismatch());
            }
            doc["metadata"] = json!({
                "kind": "compute#metadata",
                "fingerprint": fingerprint(serial),
                "items": req.body["items"].as_array().cloned().unwrap_or_default(),
            });
        }
        "deleteAccessConfig" => {
            let i = nic_named(doc)?;
            let name = req.query.get("accessConfig").cloned().unwrap_or_default();
            let configs = doc["networkInterfaces"][i]["accessConfigs"]
                .as_array_mut()
                .ok_or_else(|| ApiError::invalid("no access configs"))?;
            let before = configs.len();
            configs.retain(|c| c["name"] != json!(name));
            if configs.len() == before {
                return Err(ApiError::invalid(format!(
                    "Invalid value for field 'accessConfig': '{name}'"
                )));
            }
        }
        "addAccessConfig" => {
            let i = nic_named(doc)?;
            let nic = &mut doc["networkInterfaces"][i];
            if nic["accessConfigs"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                return Err(ApiError::invalid(
                    "At most one access config currently supported.",
                ));
            }
            let mut config = req.body.clone();
            config["kind"] = json!("compute#accessConfig");
            if config["type"].is_null() {
                config["type"] = json!("ONE_TO_ONE_NAT");
            }
            if config["natIP"].is_null() {
                config["natIP"] = json!(format!(
                    "35.{}.{}.{}",
                    200 + (serial / 62500) % 50,
                    (serial / 250) % 250,
                    serial % 250 + 1
                ));
            }
            nic["accessConfigs"] = json!([config]);
        }
        "setDeletionProtection" => {
            let on = req
                .query
                .get("deletionProtection")
                .is_none_or(|v| v == "true");
            doc["deletionProtection"] = json!(on);
        }
        "stop" => {
            if status != "RUNNING" && status != "SUSPENDED" && status != "TERMINATED" {
                return Err(ApiError::invalid(format!("instance is {status}")));
            }
            doc["status"] = json!("TERMINATED");
        }
        "suspend" => {
            if status != "RUNNING" {
                return Err(ApiError::invalid(format!(
                    "The resource is not ready: instance is {status}, not RUNNING"
                )));
            }
            doc["status"] = json!("SUSPENDED");
        }
        "resume" => {
            if status != "SUSPENDED" {
                return Err(ApiError::invalid(format!("instance is {status}")));
            }
            doc["status"] = json!("RUNNING");
        }
        "start" => {
            if status != "TERMINATED" {
                return Err(ApiError::invalid(format!("instance is {status}")));
            }
            doc["status"] = json!("RUNNING");
        }
        "detachDisk" => {
            let device = req.query.get("deviceName").cloned().unwrap_or_default();
            let disks = doc["disks"].as_array_mut().expect("disks");
            let at = disks
                .iter()
                .position(|d| d["deviceName"] == json!(device))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "No attached disk found with device name '{device}'"
                    ))
                })?;
            if disks[at]["boot"] == json!(true) && status != "TERMINATED" {
                return Err(ApiError::new(
                    400,
                    "resourceNotReady",
                    "Invalid resource usage: 'Cannot detach a boot disk from a running instance.'",
                ));
            }
            let gone = disks.remove(at);
            return Ok(gone["source"].as_str().and_then(disk_key));
        }
        "attachDisk" => {
            let boot = req.body["boot"] == json!(true);
            let disks = doc["disks"].as_array_mut().expect("disks");
            if boot && status != "TERMINATED" {
                return Err(ApiError::invalid(
                    "A boot disk can only be attached to a stopped instance",
                ));
            }
            if boot && disks.iter().any(|d| d["boot"] == json!(true)) {
                return Err(ApiError::invalid("The instance already has a boot disk"));
            }
            let source = req.body["source"].as_str().unwrap_or_default();
            let key = disk_key(source).unwrap_or_default();
            let attached = json!({
                "kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE",
                "source": format!("{BASE}/{key}"),
                "deviceName": req.body["deviceName"].as_str().unwrap_or(&key),
                "boot": boot, "autoDelete": req.body["autoDelete"] == json!(true),
            });
            if boot {
                disks.insert(0, attached);
            } else {
                disks.push(attached);
            }
            for (i, d) in disks.iter_mut().enumerate() {
                d["index"] = json!(i);
            }
        }
        other => return Err(ApiError::not_found(other)),
    }
    Ok(None)
}

/// A Compute resource name (RFC 1035).
/// `instances.insert`: the instance as the API would make it from the request, its boot disk
/// made from `initializeParams.sourceImage`, other disks attached by `source` (which must
/// exist in the instance's zone) in the mode asked; interfaces get no external address
/// unless an access config asks for one. An instance carrying Squall's imaging metadata then
/// runs as its worker would (see `storage`).
fn insert_instance(w: &mut World, p: &str, z: &str, req: &Request<'_>) -> Result<Value, ApiError> {
    let b = &req.body;
    let name = b["name"].as_str().unwrap_or_default().to_string();
    if !valid_name(&name) {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.name': '{name}'"
        )));
    }
    let key = instance_key(p, z, &name);
    if w.instances.contains_key(&key) {
        return Err(ApiError::already_exists(&key));
    }
    let machine = b["machineType"].as_str().unwrap_or_default();
    if !machine.contains("machineTypes/") {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.machineType': '{machine}'"
        )));
    }
    let zone_url = format!("{BASE}/projects/{p}/zones/{z}");
    let link = format!("{zone_url}/instances/{name}");
    let mut disks = Vec::new();
    let mut made = Vec::new();
    let mut attached = Vec::new();
    for (i, d) in b["disks"].as_array().into_iter().flatten().enumerate() {
        let boot = d["boot"] == json!(true);
        let mode = d["mode"].as_str().unwrap_or("READ_WRITE");
        let source = if let Some(image) = d["initializeParams"]["sourceImage"].as_str() {
            if image.is_empty() {
                return Err(ApiError::invalid("sourceImage is empty"));
            }
            let disk_name = if boot {
                name.clone()
            } else {
                format!("{name}-{i}")
            };
            let dk = format!("projects/{p}/zones/{z}/disks/{disk_name}");
            if w.disks.contains_key(&dk) {
                return Err(ApiError::already_exists(&dk));
            }
            made.push((dk.clone(), disk_name));
            format!("{BASE}/{dk}")
        } else {
            let src = d["source"].as_str().unwrap_or_default();
            let dk = disk_key(src)
                // A disk of the same project and zone only.
                .filter(|k| k.starts_with(&format!("projects/{p}/zones/{z}/disks/")))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "Invalid value for field 'resource.disks[{i}].source': '{src}'"
                    ))
                })?;
            let disk = w.disks.get(&dk).ok_or_else(|| ApiError::not_found(&dk))?;
            let users = disk["users"].as_array().cloned().unwrap_or_default();
            if !users.is_empty() && mode != "READ_ONLY" {
                return Err(ApiError::new(
                    400,
                    "resourceInUseByAnotherResource",
                    format!("The disk resource '{dk}' is already being used"),
                ));
            }
            attached.push(dk.clone());
            format!("{BASE}/{dk}")
        };
        disks.push(json!({
            "kind": "compute#attachedDisk",
            "type": "PERSISTENT",
            "mode": mode,
            "source": source,
            "deviceName": d["deviceName"].as_str().map_or_else(|| format!("persistent-disk-{i}"), str::to_string),
            "index": i,
            "boot": boot,
            "autoDelete": d["autoDelete"].as_bool().unwrap_or(false),
        }));
    }
    if !disks.iter().any(|d| d["boot"] == json!(true)) {
        return Err(ApiError::invalid("Instance must have a boot disk"));
    }
    let nics: Vec<Value> = b["networkInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, n)| {
            json!({
                "kind": "compute#networkInterface",
                "name": format!("nic{i}"),
                "network": n["network"],
                "subnetwork": n["subnetwork"],
                "networkIP": format!("10.200.0.{}", i + 2),
                "accessConfigs": n["accessConfigs"].as_array().cloned().unwrap_or_default(),
            })
        })
        .collect();
    let fail = req.fail_operation.clone();
    if fail.is_none() {
        let n = w.next();
        for (dk, disk_name) in made {
            let id = 8_000_000_000_000_000_000u64 + w.next();
            w.disks.insert(
                dk.clone(),
                json!({
                    "kind": "compute#disk",
                    "id": id.to_string(),
                    "name": disk_name,
                    "sizeGb": "10",
                    "zone": zone_url,
                    "selfLink": format!("{BASE}/{dk}"),
                    "status": "READY",
                    "type": format!("{zone_url}/diskTypes/pd-balanced"),
                    "users": [link],
                    "labels": {},
                    "labelFingerprint": fingerprint(n + 7),
                }),
            );
        }
        for dk in attached {
            if let Some(users) = w.disks.get_mut(&dk).and_then(|d| d["users"].as_array_mut()) {
                users.push(json!(link));
            }
        }
        let mut metadata = b["metadata"].clone();
        if !metadata.is_object() {
            metadata = json!({"items": []});
        }
        metadata["kind"] = json!("compute#metadata");
        metadata["fingerprint"] = json!(fingerprint(n + 3));
        w.instances.insert(
            key.clone(),
            json!({
                "kind": "compute#instance",
                "id": (4_000_000_000_000_000_000u64 + n).to_string(),
                "name": name,
                "zone": zone_url,
                "selfLink": link,
                "status": "RUNNING",
                "machineType": machine,
                "creationTimestamp": "2026-12-01T10:00:00.000-08:00",
                "tags": {"items": [], "fingerprint": fingerprint(n)},
                "labels": b["labels"],
                "labelFingerprint": fingerprint(n + 1),
                "deletionProtection": false,
                "networkInterfaces": nics,
                "disks": disks,
                "serviceAccounts": b["serviceAccounts"],
                "metadata": metadata,
            }),
        );
        crate::storage::run_worker(w, &key);
    }
    Ok(operation(w, p, Some(z), "insert", &link, req, fail))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A firewall rule as `firewalls.insert` accepts it, or the API's reason it does not.
pub(crate) fn checked_firewall(project: &str, body: &Value) -> Result<Value, ApiError> {
    let name = body["name"].as_str().unwrap_or_default();
    if !valid_name(name) {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'resource.name': '{name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{{0,61}}[a-z0-9])?)'"
        )));
    }
    let allowed = body["allowed"].as_array().is_some_and(|a| !a.is_empty());
    let denied = body["denied"].as_array().is_some_and(|a| !a.is_empty());
    if allowed == denied {
        return Err(ApiError::invalid(
            "Exactly one of 'allowed' or 'denied' must be specified.",
        ));
    }
    let direction = body["direction"].as_str().unwrap_or("INGRESS");
    let ranges: Vec<&str> = ["sourceRanges", "destinationRanges"]
        .iter()
        .flat_map(|f| body[*f].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    if ranges.iter().any(|r| r.contains(':')) && ranges.iter().any(|r| !r.contains(':')) {
        return Err(ApiError::invalid(
            "IPv4 and IPv6 ranges cannot be mixed in one firewall rule.",
        ));
    }
    // An egress rule may name source ranges too: the v1 reference's `sourceRanges` limits the
    // field to no direction, and Google's VPC firewall documentation lists source ranges among
    // egress rules' sources. Squall reads such a rule's source ranges as a filter beside its
    // destinations (`other_filters`).
    let mut rule = body.clone();
    rule["kind"] = json!("compute#firewall");
    rule["direction"] = json!(direction);
    if rule["priority"].is_null() {
        rule["priority"] = json!(1000);
    }
    if rule["disabled"].is_null() {
        rule["disabled"] = json!(false);
    }
    let network = body["network"]
        .as_str()
        .unwrap_or("global/networks/default");
    let network = match network.find("global/networks/") {
        Some(i) => format!("{BASE}/projects/{project}/{}", &network[i..]),
        None => {
            return Err(ApiError::invalid(
                "Invalid value for field 'resource.network'",
            ));
        }
    };
    rule["network"] = json!(network);
    if direction == "INGRESS"
        && rule["sourceRanges"].is_null()
        && rule["sourceTags"].is_null()
        && rule["sourceServiceAccounts"].is_null()
    {
        rule["sourceRanges"] = json!(["0.0.0.0/0"]);
    }
    if direction == "EGRESS" && rule["destinationRanges"].is_null() {
        rule["destinationRanges"] = json!(["0.0.0.0/0"]);
    }
    Ok(rule)
}

/// The VPC rules that apply to the interface (its network, no target or a target tag the
/// instance has), and the hierarchical policies in front of them.
fn effective_firewalls(
    w: &World,
    project: &str,
    key: &str,
    req: &Request<'_>,
) -> Result<Value, ApiError> {
    let doc = w
        .instances
        .get(key)
        .ok_or_else(|| ApiError::not_found(key))?;
    let wanted = req
        .query
        .get("networkInterface")
        .ok_or_else(|| ApiError::invalid("Required field 'networkInterface' not specified"))?;
    let nic = doc["networkInterfaces"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == json!(wanted)))
        .ok_or_else(|| ApiError::invalid(format!("Invalid network interface '{wanted}'")))?;
    let tags: Vec<&Value> = doc["tags"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let accounts: Vec<&Value> = doc["serviceAccounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["email"])
        .collect();
    let firewalls: Vec<Value> = w
        .firewalls
        .values()
        .filter(|f| f["network"] == nic["network"] && f["disabled"] != json!(true))
        .filter(|f| {
            let targets = f["targetTags"].as_array();
            let sas = f["targetServiceAccounts"].as_array();
            match (targets, sas) {
                (Some(t), _) if !t.is_empty() => t.iter().any(|t| tags.contains(&t)),
                (_, Some(s)) if !s.is_empty() => s.iter().any(|s| accounts.contains(&s)),
                _ => true,
            }
        })
        .cloned()
        .collect();
    Ok(json!({
        "firewalls": firewalls,
        "firewallPolicys": w.policies.get(project).cloned().unwrap_or_default(),
    }))
}

/// The operation a mutation answers with: `RUNNING`, finished when first polled.
fn operation(
    w: &mut World,
    project: &str,
    zone: Option<&str>,
    kind: &str,
    target: &str,
    req: &Request<'_>,
    fail: Option<ApiError>,
) -> Value {
    let n = w.next();
    let name = format!("operation-{n}-squall-fake");
    let key = match zone {
        Some(z) => format!("projects/{project}/zones/{z}/operations/{name}"),
        None => format!("projects/{project}/global/operations/{name}"),
    };
    let mut op = json!({
        "kind": "compute#operation",
        "id": (6_000_000_000_000_000_000u64 + n).to_string(),
        "name": name,
        "operationType": kind,
        "targetLink": target,
        "status": "RUNNING",
        "progress": 0,
        "user": req.principal.split_once(':').map_or("", |(_, e)| e),
        "insertTime": "2026-12-01T00:00:00.000-08:00",
        "startTime": "2026-12-01T00:00:00.000-08:00",
        "selfLink": format!("{BASE}/{key}"),
    });
    if let Some(z) = zone {
        op["zone"] = json!(format!("{BASE}/projects/{project}/zones/{z}"));
    }
    if let Some(e) = fail {
        op["squallFakeError"] = json!({"code": e.code, "message": e.message});
    }
    w.operations.insert(key, op.clone());
    op.as_object_mut().map(|o| o.remove("squallFakeError"));
    op
}

fn poll_operation(w: &mut World, key: &str) -> Result<Value, ApiError> {
    let op = w
        .operations
        .get_mut(key)
        .ok_or_else(|| ApiError::not_found(key))?;
    op["status"] = json!("DONE");
    op["progress"] = json!(100);
    op["endTime"] = json!("2026-12-01T00:00:01.000-08:00");
    let mut shown = op.clone();
    if let Some(e) = shown
        .as_object_mut()
        .and_then(|o| o.remove("squallFakeError"))
    {
        shown["error"] = json!({"errors": [{"code": "INVALID_USAGE", "message": e["message"]}]});
        shown["httpErrorStatusCode"] = e["code"].clone();
        shown["httpErrorMessage"] = json!("BAD REQUEST");
    }
    Ok(shown)
}

/// A network as `networks.get` returns it: its policy enforcement order and peerings.
fn network(w: &World, key: &str) -> Value {
    let order = w
        .network_order
        .get(key)
        .cloned()
        .unwrap_or_else(|| "AFTER_CLASSIC_FIREWALL".to_string());
    json!({
        "kind": "compute#network",
        "name": key.rsplit('/').next().unwrap_or_default(),
        "selfLink": format!("{BASE}/{key}"),
        "autoCreateSubnetworks": true,
        "networkFirewallPolicyEnforcementOrder": order,
        "peerings": w.peerings.get(key).cloned().unwrap_or_default(),
    })
}

/// An IAM policy's read or write on a resource that exists (`key`): none stored reads as no
/// bindings; a write must carry the etag last read (412 otherwise) and no empty binding.
fn iam_policy(
    w: &mut World,
    key: String,
    verb: &str,
    get: bool,
    post: bool,
    policy: &Value,
) -> Result<Value, ApiError> {
    let n = w.next();
    let current = w
        .iam_policies
        .entry(key.clone())
        .or_insert_with(|| json!({"version": 1, "bindings": [], "etag": fingerprint(n)}))
        .clone();
    match (verb, get, post) {
        ("getIamPolicy", true, _) => return Ok(current),
        ("setIamPolicy", _, true) => {}
        _ => return Err(ApiError::not_found(&key)),
    }
    if !policy["etag"].is_null() && policy["etag"] != current["etag"] {
        return Err(ApiError::new(
            412,
            "conditionNotMet",
            "The etag of the policy does not match: it was changed since it was read.",
        ));
    }
    let m = w.next();
    let mut stored = json!({
        "version": 1,
        "bindings": policy["bindings"].as_array().cloned().unwrap_or_default(),
        "etag": fingerprint(m),
    });
    if stored["bindings"].as_array().is_some_and(|b| {
        b.iter()
            .any(|b| b["members"].as_array().is_none_or(|m| m.is_empty()))
    }) {
        return Err(ApiError::invalid(
            "A binding must have at least one member.",
        ));
    }
    w.iam_policies.insert(key, stored.clone());
    stored["kind"] = json!("compute#policy");
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_use_the_url_safe_alphabet_the_clients_decode() {
        // Serials whose bytes encode to the two letters the alphabets differ in.
        let all: String = (0..5000u64).map(fingerprint).collect();
        assert!(!all.contains('+') && !all.contains('/'), "{all}");
        assert!(all.contains('-') || all.contains('_'));
    }
}
