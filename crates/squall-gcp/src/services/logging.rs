//! Cloud Logging's configuration: the sinks that route a project's or organization's logs.

use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_gax::paginator::ItemPaginator;
pub use google_cloud_logging_v2::client::ConfigServiceV2;
use serde::Serialize;

use crate::{Connection, GcpError};

/// The client that reads log entries: a restoration reads the audit log's history with it.
pub async fn entries_client(
    conn: &Connection,
) -> Result<google_cloud_logging_v2::client::LoggingServiceV2, GcpError> {
    conn.client(google_cloud_logging_v2::client::LoggingServiceV2::builder())
        .await
}

/// The Logging configuration client of a run.
pub async fn client(conn: &Connection) -> Result<ConfigServiceV2, GcpError> {
    conn.client(ConfigServiceV2::builder()).await
}

/// A log sink, as the inventory reads it (never its writer identity's credentials: it has
/// none to show).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sink {
    pub name: String,
    /// `storage.googleapis.com/BUCKET`, `bigquery.googleapis.com/projects/P/datasets/D`,
    /// `pubsub.googleapis.com/projects/P/topics/T`,
    /// `logging.googleapis.com/projects/P/locations/L/buckets/B`.
    pub destination: String,
    pub filter: String,
    pub disabled: bool,
    /// For an organization's or folder's sink: whether it routes its children's logs too.
    pub include_children: bool,
}

/// `logging.sinks.list` of `parent` (`projects/P`, `folders/N`, `organizations/N`).
pub async fn sinks(c: &ConfigServiceV2, parent: &str) -> Result<Vec<Sink>, GcpError> {
    let mut items = c.list_sinks().set_parent(parent).by_item();
    let mut out = Vec::new();
    while let Some(s) = items.next().await {
        let s = s.map_err(|e| GcpError::call("logging.sinks.list", parent, e))?;
        out.push(Sink {
            name: s.name,
            destination: s.destination,
            filter: s.filter,
            disabled: s.disabled,
            include_children: s.include_children,
        });
    }
    Ok(out)
}

/// A log exclusion: entries matching its filter are dropped before any sink sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    pub name: String,
    pub filter: String,
    pub description: String,
    pub disabled: bool,
}

/// `logging.exclusions.get` of `projects/P/exclusions/NAME`; none when it does not exist.
pub async fn exclusion(c: &ConfigServiceV2, name: &str) -> Result<Option<Exclusion>, GcpError> {
    match c.get_exclusion().set_name(name).send().await {
        Ok(e) => Ok(Some(Exclusion {
            name: e.name,
            filter: e.filter,
            description: e.description,
            disabled: e.disabled,
        })),
        Err(e) if crate::services::compute::is_not_found(&e) => Ok(None),
        Err(e) => Err(GcpError::call("logging.exclusions.get", name, e)),
    }
}

/// `logging.exclusions.delete`.
pub async fn delete_exclusion(c: &ConfigServiceV2, name: &str) -> Result<(), GcpError> {
    c.delete_exclusion()
        .set_name(name)
        .send()
        .await
        .map_err(|e| GcpError::call("logging.exclusions.delete", name, e))
}

/// `logging.sinks.get` of `projects/P/sinks/NAME`; none when it does not exist.
pub async fn sink(
    c: &ConfigServiceV2,
    name: &str,
) -> Result<Option<google_cloud_logging_v2::model::LogSink>, GcpError> {
    match c.get_sink().set_sink_name(name).send().await {
        Ok(s) => Ok(Some(s)),
        Err(e) if crate::services::compute::is_not_found(&e) => Ok(None),
        Err(e) => Err(GcpError::call("logging.sinks.get", name, e)),
    }
}

/// `logging.sinks.update` of only the sink's `disabled` field, set false: the sink routes
/// again, with the destination and filter it has.
pub async fn enable_sink(
    c: &ConfigServiceV2,
    name: &str,
    sink: google_cloud_logging_v2::model::LogSink,
) -> Result<(), GcpError> {
    c.update_sink()
        .set_sink_name(name)
        .set_unique_writer_identity(own_identity(&sink))
        .set_sink(sink.set_disabled(false))
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["disabled"]))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| GcpError::call("logging.sinks.update", name, e))
}

/// The settings a restoration writes and reads back, in the API's JSON names: a sink's (its
/// own exclusions each `name`, `filter`, `description`, `disabled`), and an exclusion's.
pub const SINK_SETTINGS: [&str; 6] = [
    "destination",
    "filter",
    "description",
    "disabled",
    "includeChildren",
    "exclusions",
];
pub const EXCLUSION_SETTINGS: [&str; 3] = ["filter", "description", "disabled"];

/// A bool as the audit log may write it (`true`, `"true"`).
fn truth(v: &serde_json::Value) -> bool {
    v.as_bool().unwrap_or_else(|| v.as_str() == Some("true"))
}

/// One setting as the API states it: text, a flag, or (a sink's) exclusions, at most 100 (the
/// API's own limit is lower); an absent field is its default, as proto3 JSON leaves defaults
/// out.
pub fn setting(field: &str, v: &serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    match field {
        "disabled" | "includeChildren" => json!(truth(v)),
        "exclusions" => serde_json::Value::Array(
            v.as_array()
                .into_iter()
                .flatten()
                .take(100)
                .map(|e| settings(&["name", "filter", "description", "disabled"], e))
                .collect(),
        ),
        _ => json!(v.as_str().unwrap_or_default()),
    }
}

/// `fields` of a sink or exclusion as JSON (the API's, or an audit entry's request or
/// response), each as [`setting`] states it: one shape, whichever way it was read.
pub fn settings(fields: &[&str], object: &serde_json::Value) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .iter()
            .map(|f| (f.to_string(), setting(f, &object[*f])))
            .collect(),
    )
}

/// [`settings`] of a sink as the API returned it.
pub fn sink_settings(s: &google_cloud_logging_v2::model::LogSink) -> serde_json::Value {
    settings(&SINK_SETTINGS, &serde_json::to_value(s).unwrap_or_default())
}

/// [`settings`] of an exclusion as the API returned it.
pub fn exclusion_settings(e: &Exclusion) -> serde_json::Value {
    settings(
        &EXCLUSION_SETTINGS,
        &serde_json::to_value(e).unwrap_or_default(),
    )
}

fn text(v: &serde_json::Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_string()
}

fn flag(v: &serde_json::Value, field: &str) -> bool {
    v[field].as_bool().unwrap_or_default()
}

fn exclusion_of(v: &serde_json::Value) -> google_cloud_logging_v2::model::LogExclusion {
    google_cloud_logging_v2::model::LogExclusion::new()
        .set_name(text(v, "name"))
        .set_filter(text(v, "filter"))
        .set_description(text(v, "description"))
        .set_disabled(flag(v, "disabled"))
}

fn sink_of(name: &str, v: &serde_json::Value) -> google_cloud_logging_v2::model::LogSink {
    google_cloud_logging_v2::model::LogSink::new()
        .set_name(name)
        .set_destination(text(v, "destination"))
        .set_filter(text(v, "filter"))
        .set_description(text(v, "description"))
        .set_disabled(flag(v, "disabled"))
        .set_include_children(flag(v, "includeChildren"))
        .set_exclusions(
            v["exclusions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(exclusion_of),
        )
}

/// `logging.sinks.create` of `name` (`projects/P/sinks/N`) with `settings`, writing as a
/// service account of its own (the legacy shared identity is not offered to new sinks).
/// Returns the identity the destination must let write.
pub async fn create_sink(
    c: &ConfigServiceV2,
    name: &str,
    settings: &serde_json::Value,
) -> Result<String, GcpError> {
    let (parent, short) = name
        .rsplit_once("/sinks/")
        .ok_or_else(|| GcpError::Invalid(format!("{name:?} is not a sink")))?;
    c.create_sink()
        .set_parent(parent)
        .set_sink(sink_of(short, settings))
        .set_unique_writer_identity(true)
        .send()
        .await
        .map(|s| s.writer_identity)
        .map_err(|e| GcpError::call("logging.sinks.create", name, e))
}

/// `logging.sinks.update` of every setting a restoration writes, keeping the sink's writer
/// identity (`sink` as read).
pub async fn restore_sink(
    c: &ConfigServiceV2,
    name: &str,
    sink: &google_cloud_logging_v2::model::LogSink,
    settings: &serde_json::Value,
) -> Result<(), GcpError> {
    let short = name.rsplit('/').next().unwrap_or(name);
    c.update_sink()
        .set_sink_name(name)
        .set_unique_writer_identity(own_identity(sink))
        .set_sink(sink_of(short, settings))
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(SINK_SETTINGS))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| GcpError::call("logging.sinks.update", name, e))
}

/// Whether a sink writes as its own service account: Google refuses an update that would fall
/// back to the shared legacy identity, so such a sink's updates must say to keep it.
fn own_identity(sink: &google_cloud_logging_v2::model::LogSink) -> bool {
    !sink.writer_identity.is_empty()
        && !sink
            .writer_identity
            .ends_with("cloud-logs@system.gserviceaccount.com")
}

/// `logging.exclusions.create` in `parent`, or (`exists`) `logging.exclusions.patch` of its
/// filter, description and disabled flag.
pub async fn restore_exclusion(
    c: &ConfigServiceV2,
    name: &str,
    exists: bool,
    settings: &serde_json::Value,
) -> Result<(), GcpError> {
    let (parent, short) = name.rsplit_once("/exclusions/").unwrap_or((name, name));
    let mut e = exclusion_of(settings);
    e.name = short.to_string();
    if exists {
        c.update_exclusion()
            .set_name(name)
            .set_exclusion(e)
            .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(EXCLUSION_SETTINGS))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| GcpError::call("logging.exclusions.patch", name, e))
    } else {
        c.create_exclusion()
            .set_parent(parent)
            .set_exclusion(e)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| GcpError::call("logging.exclusions.create", name, e))
    }
}

/// The most entries of Logging's own configuration changes read back for one restoration:
/// a project's sinks and exclusions change rarely; more than this is a log to read by hand.
pub const MAX_CONFIG_ENTRIES: usize = 50_000;

/// The project's Admin Activity audit entries written by Logging itself (sinks and exclusions
/// made, changed, deleted) before `before`, oldest first, each handed to `each` as LogEntry
/// JSON as it arrives (none is kept). Returns how many there were.
pub async fn config_history(
    c: &google_cloud_logging_v2::client::LoggingServiceV2,
    project: &str,
    before: chrono::DateTime<chrono::Utc>,
    mut each: impl FnMut(&serde_json::Value),
) -> Result<usize, GcpError> {
    let filter = format!(
        "logName=\"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity\" AND \
         protoPayload.serviceName=\"logging.googleapis.com\" AND timestamp<\"{}\"",
        before.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    let on = format!("projects/{project}");
    let mut items = c
        .list_log_entries()
        .set_resource_names([on.clone()])
        .set_filter(filter)
        .set_order_by("timestamp asc")
        .set_page_size(1000)
        .with_idempotency(true)
        .by_item();
    let mut read = 0;
    while let Some(e) = items.next().await {
        let e = e.map_err(|e| GcpError::call("logging.entries.list", &on, e))?;
        if read == MAX_CONFIG_ENTRIES {
            return Err(GcpError::Invalid(format!(
                "more than {MAX_CONFIG_ENTRIES} Logging configuration entries in the audit log of {on}: read it by hand"
            )));
        }
        read += 1;
        each(&serde_json::to_value(&e).map_err(|e| {
            GcpError::Invalid(format!("an audit entry of {on} did not encode: {e}"))
        })?);
    }
    Ok(read)
}
