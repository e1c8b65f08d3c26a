//! EBS direct APIs: a snapshot's blocks read over HTTPS, without making a volume from it.

use aws_sdk_ebs::Client;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::AwsError;

/// The blocks that hold data; every other block of the volume reads as zeros.
#[derive(Debug, Clone)]
pub struct BlockList {
    pub block_size: u64,
    pub volume_bytes: u64,
    /// (block index, token for GetSnapshotBlock), in index order.
    pub blocks: Vec<(u64, String)>,
}

/// Every block the snapshot holds (paginated), with the sizes needed to lay out the image.
pub async fn list_blocks(client: &Client, snapshot: &str) -> Result<BlockList, AwsError> {
    let mut list = BlockList {
        block_size: 0,
        volume_bytes: 0,
        blocks: Vec::new(),
    };
    let mut token: Option<String> = None;
    loop {
        let sent = client
            .list_snapshot_blocks()
            .snapshot_id(snapshot)
            .set_next_token(token.take())
            .send()
            .await;
        let page = match sent {
            Ok(out) => Page {
                block_size: out.block_size().map(i64::from),
                volume_size: out.volume_size(),
                blocks: out
                    .blocks()
                    .iter()
                    .filter_map(|b| Some((b.block_index()? as u64, b.block_token()?.to_string())))
                    .collect(),
                next_token: out.next_token().map(str::to_string),
            },
            // Some servers (moto) send BlockIndex as a JSON string, which the SDK rejects;
            // the answer is otherwise sound, so it is read leniently from the raw body.
            Err(e) => {
                let aws_sdk_ebs::error::SdkError::ResponseError(r) = &e else {
                    return Err(with_next_step(AwsError::call(
                        "ebs:ListSnapshotBlocks",
                        snapshot,
                        e,
                    )));
                };
                let body = r.raw().body().bytes();
                match body.and_then(Page::lenient) {
                    Some(page) => page,
                    None => {
                        let why = DisplayErrorContext(&e).to_string();
                        return Err(unreadable(snapshot, r.raw().status().as_u16(), body, &why));
                    }
                }
            }
        };
        // EBS direct blocks are 512 KiB and the API gives the size in bytes; a value under
        // 4 KiB cannot be bytes (moto reports 512, i.e. KiB), so it is read as KiB.
        list.block_size = match page.block_size.unwrap_or(524_288) as u64 {
            kib if kib < 4096 => kib * 1024,
            bytes => bytes,
        };
        list.volume_bytes = page.volume_size.unwrap_or(0) as u64 * (1 << 30);
        list.blocks.extend(page.blocks);
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    list.blocks.sort_by_key(|b| b.0);
    list.blocks.dedup_by_key(|b| b.0);
    Ok(list)
}

/// One block's bytes and the SHA-256 (base64) the service computed for it.
pub async fn get_block(
    client: &Client,
    snapshot: &str,
    index: u64,
    token: &str,
) -> Result<(Vec<u8>, Option<String>), AwsError> {
    let out = client
        .get_snapshot_block()
        .snapshot_id(snapshot)
        .block_index(index as i32)
        .block_token(token)
        .send()
        .await
        .map_err(|e| {
            with_next_step(AwsError::call(
                "ebs:GetSnapshotBlock",
                &format!("{snapshot} block {index}"),
                e,
            ))
        })?;
    let checksum = out.checksum().map(str::to_string);
    let data = out.block_data.collect().await.map_err(|e| AwsError::Call {
        call: "ebs:GetSnapshotBlock",
        on: format!(" on {snapshot} block {index}"),
        message: format!(
            "the body broke off: {} ({NEXT_STEP})",
            DisplayErrorContext(&e)
        ),
    })?;
    Ok((data.into_bytes().to_vec(), checksum))
}

/// What to check when an EBS direct read fails, whatever the cause: the calls need their own
/// permissions (and the key's, for an encrypted snapshot), only a completed snapshot in the
/// client's region can be read, and an interrupted image is not lost.
const NEXT_STEP: &str = "help: the credentials need ebs:ListSnapshotBlocks and ebs:GetSnapshotBlock (and kms:Decrypt on the snapshot's key if it is encrypted); the snapshot must be completed and in the region asked for (--region); re-running resumes the image where it stopped";

/// The error, with what to check next added to what went wrong.
fn with_next_step(e: AwsError) -> AwsError {
    match e {
        AwsError::Call { call, on, message } => AwsError::Call {
            call,
            on,
            message: format!("{message} ({NEXT_STEP})"),
        },
        other => other,
    }
}

/// A ListSnapshotBlocks answer that could not be read even leniently: why, as far as the
/// answer says (the HTTP status, the service's error code and message when the body is an
/// error document, the SDK's error chain in `why`), and what to do. The body itself is never
/// quoted: it holds block tokens.
fn unreadable(snapshot: &str, status: u16, body: Option<&[u8]>, why: &str) -> AwsError {
    let doc: serde_json::Value = body
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| doc[*k].as_str())
            .map(|s| squall_core::text::terminal(s).into_owned())
    };
    // `__type` may come as `namespace#Code`.
    let code = text(&["__type", "code", "Code"]).map(|c| match c.rsplit_once('#') {
        Some((_, c)) => c.to_string(),
        None => c,
    });
    let mut message = format!("HTTP {status}");
    if let Some(code) = code {
        message.push_str(&format!(", {code}"));
    }
    if let Some(m) = text(&["message", "Message"]) {
        message.push_str(&format!(": {m}"));
    }
    AwsError::Call {
        call: "ebs:ListSnapshotBlocks",
        on: format!(" on {snapshot}"),
        message: format!("the answer could not be read ({message}; {why}) ({NEXT_STEP})"),
    }
}

/// One page of ListSnapshotBlocks.
struct Page {
    block_size: Option<i64>,
    volume_size: Option<i64>,
    blocks: Vec<(u64, String)>,
    next_token: Option<String>,
}

impl Page {
    fn lenient(body: &[u8]) -> Option<Page> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let number = |v: &serde_json::Value| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        Some(Page {
            block_size: number(&v["BlockSize"]),
            volume_size: number(&v["VolumeSize"]),
            blocks: v["Blocks"]
                .as_array()?
                .iter()
                .filter_map(|b| {
                    Some((
                        number(&b["BlockIndex"])? as u64,
                        b["BlockToken"].as_str()?.to_string(),
                    ))
                })
                .collect(),
            next_token: v["NextToken"].as_str().map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_answer_says_why_and_what_to_do() {
        let body = br#"{"__type": "com.amazon#AccessDeniedException", "message": "not authorized to perform ebs:ListSnapshotBlocks"}"#;
        let e = unreadable("snap-1", 403, Some(body), "response error: unexpected body");
        let shown = e.to_string();
        assert!(
            shown.starts_with(
                "ebs:ListSnapshotBlocks failed on snap-1: the answer could not be read (HTTP 403, AccessDeniedException: not authorized to perform ebs:ListSnapshotBlocks; response error: unexpected body)"
            ),
            "{shown}"
        );
        for step in [
            "ebs:ListSnapshotBlocks and ebs:GetSnapshotBlock",
            "must be completed",
            "--region",
            "re-running resumes",
        ] {
            assert!(shown.contains(step), "{step} missing from {shown}");
        }
    }

    #[test]
    fn an_unreadable_answer_never_quotes_its_body() {
        // A page whose blocks cannot be read: its tokens must not reach the message.
        let body = br#"{"Blocks": "not a list", "BlockToken": "SECRET-TOKEN"}"#;
        let shown = unreadable("snap-1", 200, Some(body), "deserialization failed").to_string();
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(
            shown.contains("(HTTP 200; deserialization failed)"),
            "{shown}"
        );
        let shown = unreadable("snap-1", 502, None, "io error").to_string();
        assert!(shown.contains("(HTTP 502; io error)"), "{shown}");
    }

    #[test]
    fn every_failed_call_ends_with_the_next_step() {
        let e = with_next_step(AwsError::Call {
            call: "ebs:GetSnapshotBlock",
            on: " on snap-1 block 3".into(),
            message: "ValidationException: snapshot is pending".into(),
        });
        assert!(
            e.to_string().starts_with(
                "ebs:GetSnapshotBlock failed on snap-1 block 3: ValidationException: snapshot is pending (help: the credentials need"
            ),
            "{e}"
        );
        // Missing credentials keep their own help.
        assert!(matches!(
            with_next_step(AwsError::NoCredentials),
            AwsError::NoCredentials
        ));
    }
}
