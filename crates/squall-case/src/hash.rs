//! Streaming SHA-256 for chain of custody: files of any size, read once, with progress.

use std::io::Read;

use sha2::{Digest, Sha256};

/// Hashes everything `reader` yields; `on_progress` gets the bytes done so far.
pub fn sha256_stream(
    mut reader: impl Read,
    on_progress: &mut dyn FnMut(u64),
) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        on_progress(total);
    }
    Ok((hex(&hasher.finalize()), total))
}

/// Lower-case hex, as `sha256sum` prints digests.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_known_digest() {
        let (hex, n) = sha256_stream(&b"abc"[..], &mut |_| {}).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
