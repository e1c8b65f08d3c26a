//! Cloud Storage reads, through the JSON API's media downloads (the official client speaks
//! HTTP for reading objects): a worker's small report, and a disk image streamed in order.

use google_cloud_storage::client::Storage;

use crate::{Connection, GcpError};

/// The Storage client of a run: Google's own retry and read-resume policies (a download cut
/// short resumes where it stopped), the run's credentials and endpoint.
pub async fn client(conn: &Connection) -> Result<Storage, GcpError> {
    let mut b = Storage::builder().with_credentials(conn.credentials.clone());
    if let Some(e) = &conn.endpoint {
        b = b.with_endpoint(e.clone());
    }
    b.build()
        .await
        .map_err(|e| GcpError::NoCredentials(e.to_string()))
}

fn bucket_path(bucket: &str) -> String {
    format!("projects/_/buckets/{bucket}")
}

fn on(bucket: &str, object: &str) -> String {
    format!("gs://{bucket}/{object}")
}

/// A small object's bytes (at most `limit`: what a worker writes is read as data, never
/// without bound); none when it does not exist.
pub async fn read_small(
    c: &Storage,
    bucket: &str,
    object: &str,
    limit: usize,
) -> Result<Option<Vec<u8>>, GcpError> {
    let call = "storage.objects.get";
    let mut r = match c.read_object(bucket_path(bucket), object).send().await {
        Ok(r) => r,
        Err(e) if super::compute::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(GcpError::call(call, &on(bucket, object), e)),
    };
    let mut out = Vec::new();
    while let Some(chunk) = r.next().await {
        let chunk = chunk.map_err(|e| GcpError::call(call, &on(bucket, object), e))?;
        if out.len() + chunk.len() > limit {
            return Err(GcpError::Call {
                call,
                on: crate::on_text(&on(bucket, object)),
                message: format!("larger than the {limit} bytes expected; not read"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// What a download is of: the object's generation (a re-written object is another one) and
/// its full size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Download {
    pub generation: i64,
    pub size: u64,
}

/// Streams `object` from byte `offset` to its end into `sink`, in order, chunk by chunk;
/// with `generation`, only that generation is read (a resumed download of an object that was
/// re-written since fails rather than splicing two). The client checks the whole object's
/// CRC32C when it is read from the start.
pub async fn download(
    c: &Storage,
    bucket: &str,
    object: &str,
    offset: u64,
    generation: Option<i64>,
    mut sink: impl FnMut(&Download, &[u8]) -> Result<(), GcpError>,
) -> Result<Download, GcpError> {
    use google_cloud_storage::model_ext::ReadRange;
    let call = "storage.objects.get";
    let at = on(bucket, object);
    let mut read = c.read_object(bucket_path(bucket), object);
    if offset > 0 {
        read = read.set_read_range(ReadRange::offset(offset));
    }
    if let Some(g) = generation {
        read = read.set_generation(g);
    }
    let mut r = read
        .send()
        .await
        .map_err(|e| GcpError::call(call, &at, e))?;
    let highlights = r.object();
    let d = Download {
        generation: highlights.generation,
        size: u64::try_from(highlights.size).unwrap_or(0),
    };
    while let Some(chunk) = r.next().await {
        let chunk = chunk.map_err(|e| GcpError::call(call, &at, e))?;
        sink(&d, &chunk)?;
    }
    Ok(d)
}
