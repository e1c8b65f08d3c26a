//! The ledger notices every kind of tampering with the stored entries and names the first bad
//! one: a flipped byte in each field of each entry, a deleted, inserted or moved entry, and a
//! cut-off end.

use rusqlite::{Connection, params};
use serde_json::json;
use squall_case::{NewCase, NewDetection, NewEvidence, SqliteStore, Store, verify};

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    case: String,
}

/// A case with six entries of different kinds.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("squall.db");
    let mut store = SqliteStore::open(&path).unwrap();
    // Signed, so that the signature fields are tampered with too.
    store.sign_with(squall_case::signing::AnalystKey::generate().unwrap());
    let case = store
        .open_case(
            "alice@ws1",
            &NewCase {
                title: "Leaked key".into(),
                severity: Some("high".into()),
                owner: None,
            },
        )
        .unwrap()
        .id;
    store
        .note(
            &case,
            "alice@ws1",
            "Key AKIA... seen from two addresses",
            false,
        )
        .unwrap();
    store.assign(&case, "alice@ws1", "bob").unwrap();
    let detection = NewDetection {
        rule_id: "r-1".into(),
        title: "CloudTrail Logging Stopped".into(),
        level: "high".into(),
        event_time: Some("2026-10-02T09:28:12Z".into()),
        event_id: Some("ev-1".into()),
        record_sha256: None,
        file: "/logs/a.json.gz".into(),
        record_index: 4,
        json: json!({"rule_id": "r-1", "evidence": {"event_id": "ev-1"}}),
    };
    store
        .attach_detections(&case, "alice@ws1", &[detection])
        .unwrap();
    store
        .add_evidence(
            &case,
            "bob@ws2",
            &NewEvidence {
                path: "/evidence/disk.raw".into(),
                sha256: "ab".repeat(32),
                size: 1024,
                description: "root volume".into(),
                source: Some("i-0abc".into()),
                stored_at: "/evidence/disk.raw".into(),
            },
        )
        .unwrap();
    store.note(&case, "bob@ws2", "Contained.", true).unwrap();
    Fixture {
        _dir: dir,
        path,
        case,
    }
}

/// Verifies the stored ledger against the stored head; the 1-based position of the first bad
/// entry, or `None` when intact.
fn first_bad(f: &Fixture) -> Option<u64> {
    let store = SqliteStore::open(&f.path).unwrap();
    let case = store.case(&f.case).unwrap();
    let entries = store.ledger(&f.case).unwrap();
    verify(&entries, case.head().as_ref())
        .err()
        .map(|b| b.position)
}

fn db(f: &Fixture) -> Connection {
    Connection::open(&f.path).unwrap()
}

#[test]
fn an_untouched_ledger_verifies() {
    let f = fixture();
    assert_eq!(first_bad(&f), None);
    let store = SqliteStore::open(&f.path).unwrap();
    assert_eq!(store.ledger(&f.case).unwrap().len(), 6);
}

#[test]
fn a_flipped_byte_in_any_field_of_any_entry_is_found_at_that_entry() {
    for seq in 1..=6u64 {
        for field in [
            "time",
            "actor",
            "kind",
            "payload",
            "prev_hash",
            "hash",
            "signer",
            "signature",
        ] {
            let f = fixture();
            let conn = db(&f);
            let value: String = conn
                .query_row(
                    &format!("SELECT {field} FROM ledger WHERE case_id = ?1 AND seq = ?2"),
                    params![f.case, seq],
                    |r| r.get(0),
                )
                .unwrap();
            // Flip one bit of the middle byte, keeping the text printable.
            let mut bytes = value.into_bytes();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x01;
            let flipped = String::from_utf8_lossy(&bytes).into_owned();
            conn.execute(
                &format!("UPDATE ledger SET {field} = ?3 WHERE case_id = ?1 AND seq = ?2"),
                params![f.case, seq, flipped],
            )
            .unwrap();
            assert_eq!(first_bad(&f), Some(seq), "flipped {field} of entry {seq}");
        }
        let f = fixture();
        db(&f)
            .execute(
                "UPDATE ledger SET seq = seq + 100 WHERE case_id = ?1 AND seq = ?2",
                params![f.case, seq],
            )
            .unwrap();
        assert_eq!(first_bad(&f), Some(seq), "changed seq of entry {seq}");
    }
}

#[test]
fn a_deleted_entry_is_found_where_it_was() {
    for seq in 1..=5u64 {
        let f = fixture();
        db(&f)
            .execute(
                "DELETE FROM ledger WHERE case_id = ?1 AND seq = ?2",
                params![f.case, seq],
            )
            .unwrap();
        assert_eq!(first_bad(&f), Some(seq), "deleted entry {seq}");
    }
}

#[test]
fn a_cut_off_end_is_found_against_the_head() {
    let f = fixture();
    db(&f)
        .execute(
            "DELETE FROM ledger WHERE case_id = ?1 AND seq >= 5",
            params![f.case],
        )
        .unwrap();
    assert_eq!(first_bad(&f), Some(5));
}

#[test]
fn an_inserted_entry_is_found_where_it_was_put() {
    let f = fixture();
    let conn = db(&f);
    // Make room after entry 3 and forge an entry that links to it, as an attacker would.
    let prev: String = conn
        .query_row(
            "SELECT hash FROM ledger WHERE case_id = ?1 AND seq = 3",
            params![f.case],
            |r| r.get(0),
        )
        .unwrap();
    let forged = squall_case::Entry::new(
        4,
        "2026-10-02T10:00:00.000000Z".into(),
        "mallory".into(),
        "note".into(),
        json!({"text": "nothing happened"}),
        prev,
    );
    let rows: Vec<(i64, u64)> = {
        let mut stmt = conn
            .prepare("SELECT rowid, seq FROM ledger WHERE case_id = ?1 ORDER BY seq DESC")
            .unwrap();
        stmt.query_map(params![f.case], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // Rebuild the table in the forged order (rowid order is the stored order).
    conn.execute_batch("CREATE TABLE old AS SELECT * FROM ledger; DELETE FROM ledger;")
        .unwrap();
    for seq in 1..=3u64 {
        conn.execute(
            "INSERT INTO ledger SELECT * FROM old WHERE seq = ?1",
            params![seq],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO ledger (case_id, seq, time, actor, kind, payload, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            f.case,
            forged.seq,
            forged.time,
            forged.actor,
            forged.kind,
            forged.payload.to_string(),
            forged.prev_hash,
            forged.hash
        ],
    )
    .unwrap();
    for (_, seq) in rows.iter().rev().filter(|(_, s)| *s >= 4) {
        conn.execute("INSERT INTO ledger SELECT case_id, seq + 1, time, actor, kind, payload, prev_hash, hash, signer, signature FROM old WHERE seq = ?1", params![seq]).unwrap();
    }
    // The forged entry itself is consistent; the entry after it no longer links.
    assert_eq!(first_bad(&f), Some(5));
}

#[test]
fn reordered_entries_are_found_at_the_first_moved_one() {
    let f = fixture();
    let conn = db(&f);
    conn.execute_batch(&format!(
        "UPDATE ledger SET seq = -1 WHERE case_id = '{c}' AND seq = 2;
         UPDATE ledger SET seq = 2 WHERE case_id = '{c}' AND seq = 3;
         UPDATE ledger SET seq = 3 WHERE case_id = '{c}' AND seq = -1;",
        c = f.case
    ))
    .unwrap();
    // Rows keep their stored order, so entry 2 now claims to be 3.
    assert_eq!(first_bad(&f), Some(2));
}

#[test]
fn detections_are_never_attached_twice() {
    let f = fixture();
    let mut store = SqliteStore::open(&f.path).unwrap();
    let same = NewDetection {
        rule_id: "r-1".into(),
        title: "CloudTrail Logging Stopped".into(),
        level: "high".into(),
        event_time: Some("2026-10-02T09:28:12Z".into()),
        event_id: Some("ev-1".into()),
        record_sha256: None,
        // The same event found through another path to the same delivery.
        file: "/mnt/copy/a.json.gz".into(),
        record_index: 4,
        json: json!({}),
    };
    let outcome = store.attach_detections(&f.case, "carol", &[same]).unwrap();
    assert_eq!((outcome.added, outcome.already_attached), (0, 1));
    assert_eq!(store.detections(&f.case).unwrap().len(), 1);
    assert_eq!(first_bad(&f), None);
}

#[test]
fn closed_cases_refuse_changes_and_statuses_only_move_forward() {
    let f = fixture();
    let mut store = SqliteStore::open(&f.path).unwrap();
    store
        .set_status(&f.case, "bob", "contained", "isolated i-0abc")
        .unwrap();
    assert!(store.set_status(&f.case, "bob", "triaged", "late").is_err());
    let case = store.case(&f.case).unwrap();
    assert!(case.contained_at.is_some() && case.triaged_at.is_none());
    store.set_status(&f.case, "bob", "closed", "done").unwrap();
    assert!(store.note(&f.case, "bob", "after close", false).is_err());
    assert_eq!(first_bad(&f), None);
}
