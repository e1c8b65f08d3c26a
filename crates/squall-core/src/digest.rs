//! Digests as Squall writes them everywhere (ledger, evidence, sources, images): lower-case hex
//! SHA-256, the form `sha256sum` prints, so a third party can check any of them with it.

/// Lower-case hex of a digest's bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Whether `text` is a SHA-256 as [`hex`] writes it (64 hex digits): a checksum file or a
/// report that says anything else holds no digest.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 0xab, 0x0f]), "00ab0f");
        assert!(super::is_sha256_hex(&"ab".repeat(32)));
        assert!(!super::is_sha256_hex(&"ab".repeat(31)));
        assert!(!super::is_sha256_hex(&"zz".repeat(32)));
    }
}
