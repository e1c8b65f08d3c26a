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

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 0xab, 0x0f]), "00ab0f");
    }
}
