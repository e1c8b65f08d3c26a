//! IAM v1 (`/v1/projects/{project}/serviceAccounts/...`): service accounts and their keys,
//! enabled and disabled. A project of `-` finds the account by its email, as Google's does.

use axum::http::Method;
use serde_json::{Value, json};

use crate::World;
use crate::error::ApiError;
use crate::server::Request;

/// A service account as `serviceAccounts.get` returns it.
pub(crate) fn new_account(project: &str, id: &str, n: u64) -> Value {
    let email = format!("{id}@{project}.iam.gserviceaccount.com");
    json!({
        "name": format!("projects/{project}/serviceAccounts/{email}"),
        "projectId": project,
        "uniqueId": (100_000_000_000_000_000_000u128 + n as u128).to_string(),
        "email": email,
        "displayName": id,
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": (100_000_000_000_000_000_000u128 + n as u128).to_string(),
    })
}

/// A key as `serviceAccounts.keys.get` returns it (no private part: Google keeps none).
pub(crate) fn new_key(account: &Value, n: u64, user_managed: bool) -> Value {
    let id = format!("{:040x}", u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    json!({
        "name": format!("{}/keys/{id}", account["name"].as_str().unwrap_or_default()),
        "validAfterTime": "2026-11-20T08:00:00Z",
        "validBeforeTime": if user_managed { "9999-12-31T23:59:59Z" } else { "2026-12-03T08:00:00Z" },
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": if user_managed { "USER_MANAGED" } else { "SYSTEM_MANAGED" },
    })
}

/// Google's int encoding of the key enums (`$alt=json;enum-encoding=int`, which the Rust
/// clients ask for): the protos' numbers.
const KEY_ENUMS: [(&str, &[(&str, i64)]); 3] = [
    ("keyType", &[("USER_MANAGED", 1), ("SYSTEM_MANAGED", 2)]),
    (
        "keyAlgorithm",
        &[("KEY_ALG_RSA_1024", 1), ("KEY_ALG_RSA_2048", 2)],
    ),
    ("keyOrigin", &[("USER_PROVIDED", 1), ("GOOGLE_PROVIDED", 2)]),
];

fn ints_wanted(req: &Request<'_>) -> bool {
    req.query
        .get("$alt")
        .is_some_and(|a| a.contains("enum-encoding=int"))
}

/// A key as the caller asked to read it: enums as names, or as numbers.
fn shown(key: &Value, ints: bool) -> Value {
    let mut k = key.clone();
    if ints {
        for (field, values) in KEY_ENUMS {
            if let Some((_, n)) = values.iter().find(|(name, _)| k[field] == json!(name)) {
                k[field] = json!(n);
            }
        }
    }
    k
}

/// Whether a key is of the type a `keyTypes` filter names (by name or number).
fn of_type(key: &Value, wanted: &str) -> bool {
    let (_, values) = KEY_ENUMS[0];
    values.iter().any(|(name, n)| {
        key["keyType"] == json!(name) && (wanted == *name || wanted == n.to_string())
    })
}

fn account_key<'a>(w: &'a World, project: &str, email: &str) -> Result<&'a str, ApiError> {
    w.accounts
        .iter()
        .find(|(e, a)| *e == email && (project == "-" || a["projectId"] == json!(project)))
        .map(|(e, _)| e.as_str())
        .ok_or_else(|| ApiError::not_found(&format!("projects/{project}/serviceAccounts/{email}")))
}

pub(crate) fn handle(w: &mut World, req: &Request<'_>) -> Result<Value, ApiError> {
    let s: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    match s.as_slice() {
        ["v1", "projects", p, "serviceAccounts", last] if post && last.ends_with(":disable") => {
            let email = account_key(w, p, last.trim_end_matches(":disable"))?.to_string();
            w.accounts.get_mut(&email).expect("found")["disabled"] = json!(true);
            Ok(json!({}))
        }
        ["v1", "projects", p, "serviceAccounts", last] if post && last.ends_with(":enable") => {
            let email = account_key(w, p, last.trim_end_matches(":enable"))?.to_string();
            w.accounts.get_mut(&email).expect("found")["disabled"] = json!(false);
            Ok(json!({}))
        }
        ["v1", "projects", p, "serviceAccounts"] if get => {
            let accounts: Vec<Value> = w
                .accounts
                .values()
                .filter(|a| a["projectId"] == json!(p))
                .cloned()
                .collect();
            Ok(json!({"accounts": accounts}))
        }
        ["v1", "projects", p, "serviceAccounts", email] if get => {
            let email = account_key(w, p, email)?.to_string();
            Ok(w.accounts[&email].clone())
        }
        ["v1", "projects", p, "serviceAccounts", email, "keys"] if get => {
            let email = account_key(w, p, email)?.to_string();
            let wanted: Vec<&str> = req
                .query
                .get("keyTypes")
                .map(String::as_str)
                .into_iter()
                .collect();
            let keys: Vec<Value> = w
                .keys
                .values()
                .filter(|k| {
                    k["name"]
                        .as_str()
                        .is_some_and(|n| n.contains(&format!("/{email}/keys/")))
                })
                .filter(|k| wanted.is_empty() || wanted.iter().any(|t| of_type(k, t)))
                .map(|k| shown(k, ints_wanted(req)))
                .collect();
            Ok(json!({"keys": keys}))
        }
        ["v1", "projects", p, "serviceAccounts", email, "keys"] if post => {
            let email = account_key(w, p, email)?.to_string();
            let user_keys = w
                .keys
                .values()
                .filter(|k| {
                    k["keyType"] == json!("USER_MANAGED")
                        && k["name"]
                            .as_str()
                            .is_some_and(|n| n.contains(&format!("/{email}/keys/")))
                })
                .count();
            if user_keys >= 10 {
                return Err(ApiError::new(
                    429,
                    "rateLimitExceeded",
                    "Precondition check failed: the service account has 10 keys, the limit.",
                ));
            }
            let n = w.next();
            let account = w.accounts[&email].clone();
            let mut key = new_key(&account, n, true);
            let name = key["name"].as_str().unwrap_or_default().to_string();
            let id = name.rsplit('/').next().unwrap_or_default().to_string();
            w.keys.insert(name, key.clone());
            // The key file, as Google hands it over once: never kept by the fake either.
            let file = json!({
                "type": "service_account",
                "project_id": account["projectId"],
                "private_key_id": id,
                "private_key": "-----BEGIN PRIVATE KEY-----\nc3F1YWxsLWZha2U=\n-----END PRIVATE KEY-----\n",
                "client_email": email,
                "token_uri": "https://oauth2.googleapis.com/token",
            });
            use base64::Engine;
            key["privateKeyData"] =
                json!(base64::engine::general_purpose::STANDARD.encode(file.to_string()));
            key["privateKeyType"] = json!(if ints_wanted(req) {
                json!(2)
            } else {
                json!("TYPE_GOOGLE_CREDENTIALS_FILE")
            });
            Ok(shown(&key, ints_wanted(req)))
        }
        ["v1", "projects", p, "serviceAccounts", email, "keys", id]
            if req.method == Method::DELETE =>
        {
            let email = account_key(w, p, email)?.to_string();
            let name = w
                .keys
                .keys()
                .find(|n| n.ends_with(&format!("/{email}/keys/{id}")))
                .cloned()
                .ok_or_else(|| {
                    ApiError::not_found(&format!("serviceAccounts/{email}/keys/{id}"))
                })?;
            w.keys.remove(&name);
            Ok(json!({}))
        }
        ["v1", "projects", p, "serviceAccounts", email, "keys", id] if get || post => {
            let email = account_key(w, p, email)?.to_string();
            let (id, verb) = match id.split_once(':') {
                Some((id, verb)) => (id, Some(verb)),
                None => (*id, None),
            };
            let name = w
                .keys
                .keys()
                .find(|n| n.ends_with(&format!("/{email}/keys/{id}")))
                .cloned()
                .ok_or_else(|| {
                    ApiError::not_found(&format!("serviceAccounts/{email}/keys/{id}"))
                })?;
            match (verb, get) {
                (None, true) => Ok(shown(&w.keys[&name], ints_wanted(req))),
                (Some("disable"), false) if w.keys[&name]["keyType"] == json!("SYSTEM_MANAGED") => {
                    Err(ApiError::invalid("System managed key cannot be disabled."))
                }
                (Some("disable"), false) => {
                    w.keys.get_mut(&name).expect("found")["disabled"] = json!(true);
                    Ok(json!({}))
                }
                (Some("enable"), false) => {
                    w.keys.get_mut(&name).expect("found")["disabled"] = json!(false);
                    Ok(json!({}))
                }
                _ => Err(ApiError::not_found(&name)),
            }
        }
        _ => Err(ApiError::not_found(&req.segments.join("/"))),
    }
}
