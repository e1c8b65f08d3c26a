//! Cloud Logging's configuration: the sinks that route a project's or organization's logs.

use google_cloud_gax::paginator::ItemPaginator;
pub use google_cloud_logging_v2::client::ConfigServiceV2;
use serde::Serialize;

use crate::{Connection, GcpError};

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
    // A sink writing as its own service account must be told to keep it: Google refuses an
    // update that would fall back to the shared legacy identity.
    let unique = !sink.writer_identity.is_empty()
        && !sink
            .writer_identity
            .ends_with("cloud-logs@system.gserviceaccount.com");
    c.update_sink()
        .set_sink_name(name)
        .set_unique_writer_identity(unique)
        .set_sink(sink.set_disabled(false))
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["disabled"]))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| GcpError::call("logging.sinks.update", name, e))
}
