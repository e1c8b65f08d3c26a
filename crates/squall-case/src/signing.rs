//! Optional ed25519 signatures on ledger entries, with an analyst's own key: the hash chain
//! shows that nothing changed; a signature shows who vouched for each entry.
//!
//! A signature covers the entry's `hash` (its 64 hex characters, as ASCII), which covers
//! everything else, so the hash chain stays checkable with `jq` and `sha256sum` alone.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use squall_core::digest::hex;

/// Hex digits to bytes; anything else (odd length, a non-hex or multi-byte character) is
/// `None`, never a panic: signer and signature fields come from files an attacker can edit.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    t.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// An analyst's signing key.
pub struct AnalystKey(SigningKey);

impl AnalystKey {
    /// A new random key.
    pub fn generate() -> Result<AnalystKey, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| format!("no randomness for a key: {e}"))?;
        Ok(AnalystKey(SigningKey::from_bytes(&seed)))
    }

    /// Reads a key file (the 32-byte seed in hex, as `key generate` writes it).
    pub fn load(path: &Path) -> Result<AnalystKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("signing key {}: {e}", path.display()))?;
        let bytes = unhex(&text).filter(|b| b.len() == 32).ok_or_else(|| {
            format!("signing key {}: not a 64-hex-digit ed25519 seed (help: `squall key generate -o FILE`)", path.display())
        })?;
        let seed: [u8; 32] = bytes.try_into().expect("32 bytes");
        Ok(AnalystKey(SigningKey::from_bytes(&seed)))
    }

    /// Writes the key readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        use std::io::Write;
        let mut f = crate::home::new_private_file(path).map_err(|e| {
            format!(
                "cannot create {}: {e} (an existing key is never overwritten)",
                path.display()
            )
        })?;
        writeln!(f, "{}", hex(&self.0.to_bytes())).map_err(|e| e.to_string())
    }

    /// The public half, in hex, to give to whoever verifies.
    pub fn public_hex(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }

    /// (signer, signature) for an entry hash.
    pub fn sign(&self, hash: &str) -> (String, String) {
        (
            self.public_hex(),
            hex(&self.0.sign(hash.as_bytes()).to_bytes()),
        )
    }
}

/// Checks an entry's signature over its hash: `Ok(true)` signed and valid, `Ok(false)` carrying neither a
/// signer nor a signature, `Err` for anything else. Half a signature (a signature without its
/// signer, or a signer without a signature) is an error, not "unsigned": otherwise stripping
/// the signer would turn a forged signature into one nobody checks.
pub fn check(hash: &str, signer: Option<&str>, signature: Option<&str>) -> Result<bool, String> {
    let (signer, signature) = match (signer, signature) {
        (None, None) => return Ok(false),
        (Some(signer), Some(signature)) => (signer, signature),
        (None, Some(_)) => return Err("a signature without a signer".into()),
        (Some(_), None) => return Err("a signer without a signature".into()),
    };
    let key = unhex(signer)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or("the signer is not an ed25519 public key")?;
    let sig = unhex(signature)
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or("the signature is not 64 bytes of hex")?;
    key.verify_strict(hash.as_bytes(), &sig)
        .map(|()| true)
        .map_err(|_| "the signature does not match the entry (or not by this signer)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Entry, GENESIS};

    #[test]
    fn a_signed_entry_verifies_and_a_resigned_one_does_not() {
        let key = AnalystKey::generate().unwrap();
        let mut e = Entry::new(
            1,
            "t".into(),
            "a".into(),
            "note".into(),
            serde_json::json!({}),
            GENESIS.into(),
        );
        let (signer, sig) = key.sign(&e.hash);
        e.signer = Some(signer);
        e.signature = Some(sig);
        assert_eq!(
            check(&e.hash, e.signer.as_deref(), e.signature.as_deref()),
            Ok(true)
        );
        let other = AnalystKey::generate().unwrap();
        e.signer = Some(other.public_hex());
        assert!(check(&e.hash, e.signer.as_deref(), e.signature.as_deref()).is_err());
    }

    #[test]
    fn keys_round_trip_through_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.key");
        let key = AnalystKey::generate().unwrap();
        key.save(&path).unwrap();
        assert_eq!(
            AnalystKey::load(&path).unwrap().public_hex(),
            key.public_hex()
        );
        assert!(key.save(&path).is_err(), "never overwrites a key");
    }
}
