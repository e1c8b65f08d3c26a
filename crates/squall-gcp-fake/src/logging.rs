//! Cloud Logging v2: sinks as a test puts them (`GET /v2/{parent}/sinks`), and
//! (`POST /v2/entries:list`) the entries a test puts in a project, filtered
//! by the filter language's forms Squall sends (`logName=(... OR ...)`,
//! `protoPayload.serviceName="..."`, `timestamp>=`, `timestamp<`, joined by `AND`) — any
//! other filter is refused, as a fake should rather than answer wrongly — ordered by timestamp
//! and paged.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::World;
use crate::error::ApiError;
use crate::server::Request;

/// Google's numbers for `LogSeverity`, for a caller asking for int enums.
const SEVERITIES: [(&str, i64); 9] = [
    ("DEFAULT", 0),
    ("DEBUG", 100),
    ("INFO", 200),
    ("NOTICE", 300),
    ("WARNING", 400),
    ("ERROR", 500),
    ("CRITICAL", 600),
    ("ALERT", 700),
    ("EMERGENCY", 800),
];

#[derive(Default)]
struct Filter {
    log_names: Option<Vec<String>>,
    /// `protoPayload.serviceName="..."`: one service's audit entries.
    service: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

fn unparseable(f: &str) -> ApiError {
    ApiError::invalid(format!("Unparseable filter: {f}"))
}

fn time(s: &str, f: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s.trim_matches('"'))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| unparseable(f))
}

fn parse(f: &str) -> Result<Filter, ApiError> {
    let mut out = Filter::default();
    for term in f.split(" AND ") {
        let term = term.trim();
        if let Some(rest) = term.strip_prefix("logName=") {
            let inner = rest.trim_start_matches('(').trim_end_matches(')');
            let names: Vec<String> = inner
                .split(" OR ")
                .map(|n| n.trim().trim_matches('"').to_string())
                .collect();
            if names.iter().any(|n| n.is_empty() || n.contains('"')) {
                return Err(unparseable(f));
            }
            out.log_names = Some(names);
        } else if let Some(v) = term.strip_prefix("protoPayload.serviceName=") {
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            match v {
                Some(v) if !v.is_empty() && !v.contains('"') => out.service = Some(v.to_string()),
                _ => return Err(unparseable(f)),
            }
        } else if let Some(t) = term.strip_prefix("timestamp>=") {
            out.from = Some(time(t, f)?);
        } else if let Some(t) = term.strip_prefix("timestamp<") {
            out.to = Some(time(t, f)?);
        } else if !term.is_empty() {
            return Err(unparseable(f));
        }
    }
    Ok(out)
}

fn entry_time(e: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(e["timestamp"].as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The fields a request's `updateMask` names (each one of `allowed`) set on `doc` from its
/// body. Proto3 JSON leaves a default value out: a field the mask names but the body omits is
/// set to its default (false, empty), as Google does.
fn masked(doc: &mut Value, req: &Request<'_>, allowed: &[&str]) -> Result<(), ApiError> {
    let mask = req
        .query
        .get("updateMask")
        .ok_or_else(|| ApiError::invalid("updateMask is required"))?;
    for field in mask.split(',').map(str::trim) {
        if !allowed.contains(&field) {
            return Err(ApiError::invalid(format!(
                "Invalid update mask path: {field}"
            )));
        }
        doc[field] = match (&req.body[field], field) {
            (Value::Null, "disabled" | "includeChildren") => json!(false),
            (Value::Null, "exclusions") => json!([]),
            (Value::Null, _) => json!(""),
            (v, _) => v.clone(),
        };
    }
    Ok(())
}

pub(crate) fn handle(w: &mut World, req: &Request<'_>) -> Result<Value, ApiError> {
    let s: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    // `sinks.list` of a project, folder or organization: its sinks, in one page.
    if let [
        "v2",
        kind @ ("projects" | "folders" | "organizations"),
        id,
        "sinks",
    ] = s.as_slice()
        && req.method == axum::http::Method::GET
    {
        let parent = format!("{kind}/{id}");
        let sinks = w.sinks.get(&parent).cloned().unwrap_or_default();
        return Ok(json!({"sinks": sinks}));
    }
    // A sink made (`sinks.create`, writing as an identity of its own when asked), or an
    // exclusion (`exclusions.create`); a name taken is 409.
    if let ["v2", "projects", p, kind @ ("sinks" | "exclusions")] = s.as_slice()
        && req.method == axum::http::Method::POST
    {
        let parent = format!("projects/{p}");
        let name = req.body["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() {
            return Err(ApiError::invalid("name is required"));
        }
        let taken = || {
            ApiError::new(
                409,
                "alreadyExists",
                format!("{parent}/{kind}/{name} already exists"),
            )
        };
        let mut doc = req.body.clone();
        for f in ["disabled", "includeChildren"] {
            if doc[f].is_null() && (*kind == "sinks" || f == "disabled") {
                doc[f] = json!(false);
            }
        }
        if *kind == "exclusions" {
            let key = format!("{parent}/exclusions/{name}");
            if w.exclusions.contains_key(&key) {
                return Err(taken());
            }
            if doc["filter"].as_str().is_none_or(str::is_empty) {
                return Err(ApiError::invalid("filter is required"));
            }
            w.exclusions.insert(key, doc.clone());
            return Ok(doc);
        }
        if doc["destination"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::invalid("destination is required"));
        }
        let n = w.next();
        let all = w.sinks.entry(parent.clone()).or_default();
        if all.iter().any(|x| x["name"] == json!(name)) {
            return Err(taken());
        }
        doc["writerIdentity"] =
            if req.query.get("uniqueWriterIdentity").map(String::as_str) == Some("true") {
                json!(format!(
                    "serviceAccount:service-{n}@gcp-sa-logging.iam.gserviceaccount.com"
                ))
            } else {
                json!("serviceAccount:cloud-logs@system.gserviceaccount.com")
            };
        all.push(doc.clone());
        return Ok(doc);
    }
    // One sink or exclusion: read, updated (the fields its update mask names), an exclusion
    // deleted.
    if let ["v2", "projects", p, kind @ ("sinks" | "exclusions"), name] = s.as_slice() {
        let full = format!("projects/{p}/{kind}/{name}");
        let missing = || ApiError::not_found(&full);
        let method = req.method;
        return match (*kind, method) {
            ("exclusions", &axum::http::Method::GET) => {
                w.exclusions.get(&full).cloned().ok_or_else(missing)
            }
            ("exclusions", &axum::http::Method::PATCH) => {
                let e = w.exclusions.get_mut(&full).ok_or_else(missing)?;
                masked(e, req, &["filter", "description", "disabled"])?;
                Ok(e.clone())
            }
            ("exclusions", &axum::http::Method::DELETE) => w
                .exclusions
                .remove(&full)
                .map(|_| json!({}))
                .ok_or_else(missing),
            ("sinks", &axum::http::Method::GET) => w.sink(p, name).cloned().ok_or_else(missing),
            ("sinks", &axum::http::Method::PUT) => {
                let sink = w.sink_mut(p, name).ok_or_else(missing)?;
                // A sink with its own writer identity keeps it only when asked to: an update
                // that would default `uniqueWriterIdentity` to false is an error.
                let own = !sink["writerIdentity"]
                    .as_str()
                    .unwrap_or("serviceAccount:cloud-logs@system.gserviceaccount.com")
                    .ends_with("cloud-logs@system.gserviceaccount.com");
                if own && req.query.get("uniqueWriterIdentity").map(String::as_str) != Some("true")
                {
                    return Err(ApiError::invalid(
                        "uniqueWriterIdentity cannot be changed from true to false",
                    ));
                }
                masked(
                    sink,
                    req,
                    &[
                        "disabled",
                        "destination",
                        "filter",
                        "description",
                        "includeChildren",
                        "exclusions",
                    ],
                )?;
                Ok(sink.clone())
            }
            _ => Err(missing()),
        };
    }
    if s.as_slice() != ["v2", "entries:list"] || req.method != axum::http::Method::POST {
        return Err(ApiError::not_found(&req.segments.join("/")));
    }
    let b = &req.body;
    let resources: Vec<&str> = b["resourceNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if resources.is_empty() {
        return Err(ApiError::invalid("resourceNames is required"));
    }
    let filter = parse(b["filter"].as_str().unwrap_or_default())?;
    let descending = match b["orderBy"].as_str().unwrap_or("timestamp asc") {
        "timestamp asc" | "" => false,
        "timestamp desc" => true,
        other => return Err(ApiError::invalid(format!("Invalid orderBy: {other}"))),
    };
    let size = match &b["pageSize"] {
        Value::Null => 50,
        v => v
            .as_u64()
            .or_else(|| v.as_str()?.parse().ok())
            .unwrap_or(50),
    }
    .clamp(1, 1000) as usize;
    let start: usize = match b["pageToken"].as_str() {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix("page-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::invalid("Invalid page token"))?,
    };
    let mut entries: Vec<&Value> = Vec::new();
    for r in resources {
        let project = r
            .strip_prefix("projects/")
            .ok_or_else(|| ApiError::invalid(format!("Invalid resource name {r}")))?;
        entries.extend(w.log_entries.get(project).into_iter().flatten());
    }
    entries.retain(|e| {
        let t = entry_time(e);
        filter
            .log_names
            .as_ref()
            .is_none_or(|n| n.iter().any(|n| e["logName"] == json!(n)))
            && filter
                .service
                .as_ref()
                .is_none_or(|s| e["protoPayload"]["serviceName"] == json!(s))
            && filter.from.is_none_or(|f| t.is_some_and(|t| t >= f))
            && filter.to.is_none_or(|to| t.is_some_and(|t| t < to))
    });
    entries.sort_by_key(|e| entry_time(e));
    if descending {
        entries.reverse();
    }
    let ints = req
        .query
        .get("$alt")
        .is_some_and(|a| a.contains("enum-encoding=int"));
    let page: Vec<Value> = entries
        .iter()
        .skip(start)
        .take(size)
        .map(|e| {
            let mut e = (*e).clone();
            if ints && let Some((_, n)) = SEVERITIES.iter().find(|(s, _)| e["severity"] == json!(s))
            {
                e["severity"] = json!(n);
            }
            e
        })
        .collect();
    let mut answer = json!({"entries": page});
    if start + size < entries.len() {
        answer["nextPageToken"] = json!(format!("page-{}", start + size));
    }
    Ok(answer)
}
