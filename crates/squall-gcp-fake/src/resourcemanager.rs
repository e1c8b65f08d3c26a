//! Resource Manager v3 (`/v3/...`): projects and folders in their hierarchy, and the IAM
//! policies of projects, folders and organizations, as `projects.get`, `projects.list`,
//! `folders.get`, `folders.list` and `getIamPolicy` return them. Lists come in one page.

use axum::http::Method;
use serde_json::{Value, json};

use crate::World;
use crate::error::ApiError;
use crate::server::Request;

/// `Project.State` / `Folder.State` and `AuditLogConfig.LogType` numbers, for a caller asking
/// for int enums.
const STATES: [(&str, i64); 3] = [
    ("ACTIVE", 1),
    ("DELETE_REQUESTED", 2),
    ("STATE_UNSPECIFIED", 0),
];
const LOG_TYPES: [(&str, i64); 3] = [("ADMIN_READ", 1), ("DATA_WRITE", 2), ("DATA_READ", 3)];

pub(crate) fn new_project(id: &str, parent: &str, labels: Value, n: u64) -> Value {
    json!({
        "name": format!("projects/{}", 100_000_000_000u64 + n),
        "parent": parent,
        "projectId": id,
        "state": "ACTIVE",
        "displayName": id,
        "createTime": "2025-03-01T09:00:00.000Z",
        "updateTime": "2025-03-01T09:00:00.000Z",
        "etag": format!("W/\"{n}\""),
        "labels": labels,
    })
}

pub(crate) fn new_folder(number: &str, parent: &str) -> Value {
    json!({
        "name": format!("folders/{number}"),
        "parent": parent,
        "displayName": format!("folder {number}"),
        "state": "ACTIVE",
        "createTime": "2025-01-01T09:00:00.000Z",
        "etag": format!("W/\"{number}\""),
    })
}

/// A resource's policy as `getIamPolicy` returns it: no bindings and no audit configs until
/// a test adds them.
pub(crate) fn empty_policy() -> Value {
    json!({"version": 1, "etag": "BwYAAAAAAAA=", "bindings": [], "auditConfigs": []})
}

fn ints_wanted(req: &Request<'_>) -> bool {
    req.query
        .get("$alt")
        .is_some_and(|a| a.contains("enum-encoding=int"))
}

fn number(field: &mut Value, table: &[(&str, i64)]) {
    if let Some((_, n)) = table.iter().find(|(name, _)| *field == json!(name)) {
        *field = json!(n);
    }
}

fn shown_state(doc: &Value, ints: bool) -> Value {
    let mut d = doc.clone();
    if ints {
        number(&mut d["state"], &STATES);
    }
    d
}

fn shown_policy(policy: &Value, ints: bool) -> Value {
    let mut p = policy.clone();
    if ints && let Some(configs) = p["auditConfigs"].as_array_mut() {
        for c in configs {
            for l in c["auditLogConfigs"].as_array_mut().into_iter().flatten() {
                number(&mut l["logType"], &LOG_TYPES);
            }
        }
    }
    p
}

fn project<'a>(w: &'a World, id: &str) -> Result<&'a Value, ApiError> {
    w.projects
        .values()
        .find(|p| p["projectId"] == json!(id) || p["name"] == json!(format!("projects/{id}")))
        .ok_or_else(|| {
            // Google answers 403 for a project that does not exist, so as not to say which do.
            ApiError::new(
                403,
                "forbidden",
                format!(
                    "Permission 'resourcemanager.projects.get' denied on resource '//cloudresourcemanager.googleapis.com/projects/{id}' (or it may not exist)."
                ),
            )
        })
}

fn parent_of<'a>(req: &'a Request<'_>) -> Result<&'a str, ApiError> {
    req.query
        .get("parent")
        .map(String::as_str)
        .filter(|p| p.starts_with("folders/") || p.starts_with("organizations/"))
        .ok_or_else(|| ApiError::invalid("parent must be folders/{id} or organizations/{id}"))
}

pub(crate) fn handle(w: &mut World, req: &Request<'_>) -> Result<Value, ApiError> {
    let s: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let ints = ints_wanted(req);
    match s.as_slice() {
        ["v3", kind, last] if post && last.ends_with(":getIamPolicy") => {
            let id = last.trim_end_matches(":getIamPolicy");
            let resource = match *kind {
                "projects" => {
                    let p = project(w, id)?;
                    format!("projects/{}", p["projectId"].as_str().unwrap_or(id))
                }
                "folders" | "organizations" => {
                    let r = format!("{kind}/{id}");
                    if *kind == "folders" && !w.folders.contains_key(&r) {
                        return Err(ApiError::new(
                            403,
                            "forbidden",
                            format!(
                                "Permission 'resourcemanager.folders.getIamPolicy' denied on resource '//cloudresourcemanager.googleapis.com/{r}' (or it may not exist)."
                            ),
                        ));
                    }
                    r
                }
                _ => return Err(ApiError::not_found(&req.segments.join("/"))),
            };
            let policy = w
                .resource_policies
                .get(&resource)
                .cloned()
                .unwrap_or_else(empty_policy);
            Ok(shown_policy(&policy, ints))
        }
        ["v3", kind, last] if post && last.ends_with(":setIamPolicy") => {
            let id = last.trim_end_matches(":setIamPolicy");
            let resource = match *kind {
                "projects" => {
                    let p = project(w, id)?;
                    format!("projects/{}", p["projectId"].as_str().unwrap_or(id))
                }
                "folders" | "organizations" => format!("{kind}/{id}"),
                _ => return Err(ApiError::not_found(&req.segments.join("/"))),
            };
            let asked = &req.body["policy"];
            if !asked.is_object() {
                return Err(ApiError::invalid("policy is required"));
            }
            let n = w.next();
            let current = w
                .resource_policies
                .entry(resource.clone())
                .or_insert_with(empty_policy);
            // Read-modify-write: an etag other than the current one means someone changed the
            // policy in between, and Google refuses rather than overwrite their change.
            if let Some(etag) = asked["etag"].as_str()
                && current["etag"].as_str() != Some(etag)
            {
                return Err(ApiError::new(
                    409,
                    "aborted",
                    "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
                ));
            }
            // A conditional binding needs policy version 3, as Google checks.
            let conditional = asked["bindings"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| !b["condition"].is_null()));
            if conditional && asked["version"].as_i64().unwrap_or(1) < 3 {
                return Err(ApiError::invalid(
                    "Policy version 1 cannot contain conditional role bindings; use version 3",
                ));
            }
            current["bindings"] = asked["bindings"].clone();
            if asked["bindings"].is_null() {
                current["bindings"] = json!([]);
            }
            current["version"] = json!(asked["version"].as_i64().unwrap_or(1));
            current["etag"] = json!(format!("BwYAAAAA{:04}", n % 10_000));
            Ok(shown_policy(current, ints))
        }
        ["v3", "projects"] if get => {
            let parent = parent_of(req)?;
            let projects: Vec<Value> = w
                .projects
                .values()
                .filter(|p| p["parent"] == json!(parent))
                .map(|p| shown_state(p, ints))
                .collect();
            Ok(json!({"projects": projects}))
        }
        ["v3", "projects", id] if get => Ok(shown_state(project(w, id)?, ints)),
        ["v3", "folders"] if get => {
            let parent = parent_of(req)?;
            let folders: Vec<Value> = w
                .folders
                .values()
                .filter(|f| f["parent"] == json!(parent))
                .map(|f| shown_state(f, ints))
                .collect();
            Ok(json!({"folders": folders}))
        }
        ["v3", "folders", n] if get => {
            let key = format!("folders/{n}");
            w.folders
                .get(&key)
                .map(|f| shown_state(f, ints))
                .ok_or_else(|| {
                    ApiError::new(
                        403,
                        "forbidden",
                        format!(
                            "Permission 'resourcemanager.folders.get' denied on resource '//cloudresourcemanager.googleapis.com/{key}' (or it may not exist)."
                        ),
                    )
                })
        }
        _ => Err(ApiError::not_found(&req.segments.join("/"))),
    }
}
