//! EBS direct APIs: a snapshot's blocks read over HTTPS, without making a volume from it.

use aws_sdk_ebs::Client;

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
            Err(aws_sdk_ebs::error::SdkError::ResponseError(r)) => r
                .raw()
                .body()
                .bytes()
                .and_then(Page::lenient)
                .ok_or_else(|| AwsError::Call {
                    call: "ebs:ListSnapshotBlocks",
                    on: format!(" on {snapshot}"),
                    message: "the answer could not be read".into(),
                })?,
            Err(e) => return Err(AwsError::call("ebs:ListSnapshotBlocks", snapshot, e)),
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
            AwsError::call(
                "ebs:GetSnapshotBlock",
                &format!("{snapshot} block {index}"),
                e,
            )
        })?;
    let checksum = out.checksum().map(str::to_string);
    let data = out.block_data.collect().await.map_err(|e| AwsError::Call {
        call: "ebs:GetSnapshotBlock",
        on: format!(" on {snapshot} block {index}"),
        message: format!("the body broke off: {e}"),
    })?;
    Ok((data.into_bytes().to_vec(), checksum))
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
