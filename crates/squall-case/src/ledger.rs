//! The ledger: an append-only, hash-chained record of everything that happens to a case.
//!
//! Each entry's hash is the SHA-256 of its canonical JSON: the object
//! `{"seq","time","actor","kind","payload","prev_hash"}` in that key order, compact, with the
//! payload's keys sorted — exactly what `jq -cj '{seq,time,actor,kind,payload,prev_hash}'`
//! prints for a line of `squall ledger export`, so a third party can check it with `jq` and
//! `sha256sum`. The first entry's `prev_hash` is 64 zeros. Deleting the newest entries leaves a
//! valid chain, so the case also keeps the head (last seq and hash) to compare with, and
//! `ledger verify` prints it for anchoring elsewhere (a ticket, an email).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One ledger entry as stored and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 1-based position in the case's ledger.
    pub seq: u64,
    /// When it was recorded (UTC, RFC 3339 with microseconds).
    pub time: String,
    /// Who did it (`user@host` unless `--actor` says otherwise).
    pub actor: String,
    /// What happened: `case.opened`, `note`, `detection.attached`, `evidence.added`, ...
    pub kind: String,
    /// The facts of it. Numbers that are not integers are stored as strings, so that every
    /// JSON tool prints the payload the same way.
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
    /// The analyst's ed25519 public key (hex), when the entry is signed. Not hashed: the
    /// signature covers `hash`, which covers the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The ed25519 signature of `hash` (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The hashed part of an entry, in the documented key order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    time: &'a str,
    actor: &'a str,
    kind: &'a str,
    payload: &'a serde_json::Value,
    prev_hash: &'a str,
}

/// The canonical JSON text that is hashed.
pub fn canonical(
    seq: u64,
    time: &str,
    actor: &str,
    kind: &str,
    payload: &serde_json::Value,
    prev_hash: &str,
) -> String {
    let c = Canonical {
        seq,
        time,
        actor,
        kind,
        payload,
        prev_hash,
    };
    // jq escapes DEL (U+007F) inside strings and serde_json does not; DEL can only occur inside
    // strings, so matching jq here keeps the documented `jq | sha256sum` check exact.
    serde_json::to_string(&c)
        .expect("ledger entries serialize")
        .replace('\u{7f}', "\\u007f")
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Makes a payload print the same in every JSON tool: whole floats become integers (`2.0` →
/// `2`) and other floats become strings, since tools disagree on how to print them.
pub fn normalize(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Value::from(f as i64)
            } else {
                Value::String(n.to_string())
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
        }
        other => other,
    }
}

impl Entry {
    /// Builds the next entry after `prev_hash`, computing its hash. The payload is normalized
    /// first (see [`normalize`]).
    pub fn new(
        seq: u64,
        time: String,
        actor: String,
        kind: String,
        payload: serde_json::Value,
        prev_hash: String,
    ) -> Entry {
        let payload = normalize(payload);
        let hash =
            sha256_hex(canonical(seq, &time, &actor, &kind, &payload, &prev_hash).as_bytes());
        Entry {
            seq,
            time,
            actor,
            kind,
            payload,
            prev_hash,
            hash,
            signer: None,
            signature: None,
        }
    }

    /// The hash the entry's content calls for.
    pub fn computed_hash(&self) -> String {
        sha256_hex(
            canonical(
                self.seq,
                &self.time,
                &self.actor,
                &self.kind,
                &self.payload,
                &self.prev_hash,
            )
            .as_bytes(),
        )
    }
}

/// The first thing wrong with a ledger, with the entry where it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// 1-based position in the list that was checked (not the claimed seq, which may lie).
    pub position: u64,
    pub claimed_seq: Option<u64>,
    pub problem: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.claimed_seq {
            Some(seq) => write!(f, "entry {} (seq {seq}): {}", self.position, self.problem),
            None => write!(f, "entry {}: {}", self.position, self.problem),
        }
    }
}

/// The last entry of a verified chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// Which signatures a verifier demands, beyond "every signature present is valid".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// Every entry must carry a valid signature.
    pub require_signed: bool,
    /// Public keys (hex) accepted as signers. When not empty, every entry must be signed by
    /// one of them: naming the signers means nobody else, and nobody, may have written it.
    pub signers: Vec<String>,
}

impl SignaturePolicy {
    fn check(&self, e: &Entry) -> Result<(), String> {
        let signed = crate::signing::check(&e.hash, e.signer.as_deref(), e.signature.as_deref())
            .map_err(|why| format!("bad signature: {why}"))?;
        if !signed && (self.require_signed || !self.signers.is_empty()) {
            return Err("not signed".into());
        }
        if !self.signers.is_empty()
            && !e.signer.as_ref().is_some_and(|s| {
                self.signers
                    .iter()
                    .any(|k| k.trim().eq_ignore_ascii_case(s.trim()))
            })
        {
            return Err("signed by a key not given with --signer".into());
        }
        Ok(())
    }
}

/// Checks a chain from its first entry: sequence, links and content. `expected_head` (kept by
/// the store, or given by the analyst) catches entries cut from the end. Returns the head.
pub fn verify(entries: &[Entry], expected_head: Option<&Head>) -> Result<Option<Head>, Break> {
    verify_signed(entries, expected_head, &SignaturePolicy::default())
}

/// [`verify`], also holding every entry to a [`SignaturePolicy`].
pub fn verify_signed(
    entries: &[Entry],
    expected_head: Option<&Head>,
    policy: &SignaturePolicy,
) -> Result<Option<Head>, Break> {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let position = i as u64 + 1;
        let at = |problem: String| Break {
            position,
            claimed_seq: Some(e.seq),
            problem,
        };
        if e.seq != position {
            return Err(at(format!(
                "sequence number {} where {position} belongs (entries deleted, inserted or reordered)",
                e.seq
            )));
        }
        if e.prev_hash != prev {
            return Err(at(
                "prev_hash does not match the previous entry's hash (an entry before it was changed, deleted or inserted)"
                    .into(),
            ));
        }
        if e.computed_hash() != e.hash {
            return Err(at(
                "content does not match its hash (the entry was modified)".into(),
            ));
        }
        if let Err(why) = policy.check(e) {
            return Err(at(why));
        }
        prev = e.hash.clone();
    }
    let head = entries.last().map(|e| Head {
        seq: e.seq,
        hash: e.hash.clone(),
    });
    if let Some(expected) = expected_head
        && head.as_ref() != Some(expected)
    {
        let position = entries.len() as u64 + 1;
        return Err(Break {
            position,
            claimed_seq: None,
            problem: format!(
                "the ledger ends at {} but its head is seq {} {} (entries were removed from the end)",
                head.map_or("nothing".to_string(), |h| format!(
                    "seq {} {}",
                    h.seq, h.hash
                )),
                expected.seq,
                expected.hash
            ),
        });
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: u64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let e = Entry::new(
                    seq,
                    format!("2026-11-28T10:00:0{seq}.000000Z"),
                    "alice@ws1".into(),
                    "note".into(),
                    json!({"text": format!("entry {seq}"), "n": seq}),
                    prev.clone(),
                );
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let c = chain(3);
        let head = verify(&c, None).unwrap().unwrap();
        assert_eq!(head.seq, 3);
        assert_eq!(verify(&c, Some(&head)).unwrap(), Some(head));
    }

    #[test]
    fn payload_numbers_print_the_same_everywhere() {
        let e = Entry::new(
            1,
            "t".into(),
            "a".into(),
            "k".into(),
            json!({"v": 2.0, "r": 0.5, "i": [3]}),
            GENESIS.into(),
        );
        assert_eq!(e.payload, json!({"v": 2, "r": "0.5", "i": [3]}));
    }

    #[test]
    fn canonical_form_has_the_documented_key_order() {
        let text = canonical(1, "t", "a", "k", &json!({"b": 1, "a": 2}), GENESIS);
        assert!(text.starts_with(
            r#"{"seq":1,"time":"t","actor":"a","kind":"k","payload":{"a":2,"b":1},"prev_hash":"000"#
        ));
    }
}
