//! The ledger verifier and the case rebuild take whatever an export or an edited store holds:
//! arbitrary entries, mutated real chains, hostile payloads. They answer with a verdict and
//! never panic; a chain they accept is exactly one whose every link and hash holds.
//!
//! Each property runs proptest's default 256 cases so CI stays quick; a longer pass:
//! `PROPTEST_CASES=100000 cargo test -p squall-case --test fuzz_ledger --release`.

use proptest::prelude::*;
use serde_json::{Value, json};
use squall_case::casefile::replay;
use squall_case::signing::AnalystKey;
use squall_case::{Entry, GENESIS, SignaturePolicy, verify_signed};

/// A valid chain of `n` entries of the kinds the case rebuild reads, half of them signed.
fn chain(payloads: &[(String, Value)], key: &AnalystKey) -> Vec<Entry> {
    let mut prev = GENESIS.to_string();
    payloads
        .iter()
        .enumerate()
        .map(|(i, (kind, payload))| {
            let mut e = Entry::new(
                i as u64 + 1,
                format!("2026-11-30T10:00:{:02}.000000Z", i % 60),
                "alice".into(),
                kind.clone(),
                payload.clone(),
                prev.clone(),
            );
            if i % 2 == 0 {
                let (signer, signature) = key.sign(&e.hash);
                e.signer = Some(signer);
                e.signature = Some(signature);
            }
            prev = e.hash.clone();
            e
        })
        .collect()
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[0-9a-f]{0,130}",
        Just("é".repeat(32)),
        Just("\u{1b}[2J\r\n## Summary".to_string()),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("title".to_string()),
                    Just("evidence_id".to_string()),
                    Just("files".to_string()),
                    Just("sources".to_string()),
                    Just("event_time".to_string()),
                    Just("task".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("case.opened".to_string()),
        Just("case.status".to_string()),
        Just("case.triaged".to_string()),
        Just("detection.attached".to_string()),
        Just("evidence.added".to_string()),
        Just("task.added".to_string()),
        Just("task.done".to_string()),
        Just("hunt.run".to_string()),
        Just("note".to_string()),
        ".{0,12}",
    ]
}

proptest! {
    /// Built honestly, any payloads verify; the rebuild reads them without panicking.
    #[test]
    fn honest_chains_of_any_payload_verify(payloads in prop::collection::vec((kind(), any_json()), 0..12)) {
        let key = AnalystKey::generate().unwrap();
        let entries = chain(&payloads, &key);
        prop_assert!(verify_signed(&entries, None, &SignaturePolicy::default()).is_ok());
        let file = replay("C-0001", &entries);
        prop_assert_eq!(file.case.head_seq, entries.len() as u64);
    }

    /// One changed field anywhere is found, at or before the entry changed, never a panic.
    #[test]
    fn any_mutation_is_found_at_its_entry(
        payloads in prop::collection::vec((kind(), any_json()), 1..8),
        at in any::<prop::sample::Index>(),
        field in 0usize..8,
        text in any_text(),
        number in any::<u64>(),
    ) {
        let key = AnalystKey::generate().unwrap();
        let mut entries = chain(&payloads, &key);
        let i = at.index(entries.len());
        let before = entries[i].clone();
        let e = &mut entries[i];
        match field {
            0 => e.seq = number,
            1 => e.time = text,
            2 => e.actor = text,
            3 => e.kind = text,
            4 => e.payload = json!({"forged": text}),
            5 => e.prev_hash = text,
            6 => e.signer = Some(text),
            _ => e.signature = Some(text),
        }
        let changed = entries[i] != before;
        match verify_signed(&entries, None, &SignaturePolicy::default()) {
            Ok(_) => prop_assert!(!changed, "a changed entry {i} verified"),
            Err(b) => {
                prop_assert!(changed);
                prop_assert!(b.position as usize <= i + 1, "{b}");
            }
        }
    }

    /// Whatever lines an export file holds, reading and verifying them is a verdict.
    #[test]
    fn arbitrary_export_lines_never_panic(lines in prop::collection::vec(prop_oneof![
        any_json().prop_map(|v| v.to_string()),
        ".{0,200}",
        (any::<u64>(), any_text(), any_text(), any_text()).prop_map(|(seq, t, s, g)| json!({
            "seq": seq, "time": t, "actor": "a", "kind": "note", "payload": {},
            "prev_hash": GENESIS, "hash": s, "signer": g, "signature": t,
        }).to_string()),
    ], 0..6)) {
        let entries: Vec<Entry> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let strict = SignaturePolicy { require_signed: true, signers: vec!["ab".repeat(32)] };
        let _ = verify_signed(&entries, None, &strict);
        let _ = verify_signed(&entries, None, &SignaturePolicy::default());
        let _ = replay("C-0001", &entries);
    }
}
