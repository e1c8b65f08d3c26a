//! Cloud Logging's configuration: the sinks that route a project's or organization's logs.

use google_cloud_gax::paginator::ItemPaginator;
use google_cloud_logging_v2::client::ConfigServiceV2;
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
