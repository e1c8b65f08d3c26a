//! What a reader is shown is what the ledger recorded: edits to the store's tables, forged
//! signatures, decoy records and changed sources are named, never shown as verified.

use rusqlite::{Connection, params};
use serde_json::json;
use squall_case::signing::AnalystKey;
use squall_case::{
    CaseFile, HuntRun, NewCase, NewDetection, NewEvidence, SignaturePolicy, SourceDigest,
    SqliteStore, Store, verify_signed,
};

struct Fixture {
    dir: tempfile::TempDir,
    path: std::path::PathBuf,
    case: String,
    log: std::path::PathBuf,
}

fn detection(event_id: &str, digest: &str, principal: &str, index: u64) -> NewDetection {
    NewDetection {
        rule_id: "r-1".into(),
        title: "CloudTrail Logging Stopped".into(),
        level: "high".into(),
        event_time: Some("2026-10-02T09:28:12Z".into()),
        event_id: Some(event_id.into()),
        record_sha256: Some(digest.into()),
        file: "/logs/a.json".into(),
        record_index: index,
        json: json!({
            "principal": principal, "account": "111122223333",
            "evidence": {"event_id": event_id, "record_sha256": digest},
        }),
    }
}

/// A signed case with a hunt (one hashed source, one detection), evidence and a task.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("squall.db");
    let log = dir.path().join("a.json");
    std::fs::write(&log, br#"{"Records":[]}"#).unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    store.sign_with(AnalystKey::generate().unwrap());
    let case = store
        .open_case(
            "alice",
            &NewCase {
                title: "Leaked key".into(),
                severity: Some("high".into()),
                owner: None,
            },
        )
        .unwrap()
        .id;
    let (sha256, size) = squall_case::hash::sha256_file(&log, &mut |_| {}).unwrap();
    let run = HuntRun {
        inputs: vec![log.display().to_string()],
        files: vec![log.display().to_string()],
        records: 1,
        rules: 1,
        detections: 1,
        sources: vec![SourceDigest {
            path: log.display().to_string(),
            sha256,
            size,
        }],
        aws_ip_ranges: None,
    };
    store
        .record_hunt(
            squall_case::HuntCase::Existing(&case),
            "alice",
            &run,
            &[detection("ev-1", "aa", "attacker", 4)],
        )
        .unwrap();
    store
        .add_evidence(
            &case,
            "bob",
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
    store.add_task(&case, "bob", "rotate keys", None).unwrap();
    store
        .set_status(&case, "bob", "contained", "isolated")
        .unwrap();
    Fixture {
        dir,
        path,
        case,
        log,
    }
}

fn load(f: &Fixture) -> CaseFile {
    let store = SqliteStore::open(&f.path).unwrap();
    let mut file = CaseFile::load(&store, &f.case).unwrap();
    file.checked_sources();
    file
}

fn edit(f: &Fixture, sql: &str) {
    Connection::open(&f.path)
        .unwrap()
        .execute(sql, params![])
        .unwrap();
}

#[test]
fn an_untouched_case_verifies_and_matches_its_rows() {
    let f = fixture();
    let file = load(&f);
    assert!(file.integrity.verified(), "{:?}", file.integrity);
    assert_eq!(file.integrity.banner(), None);
    let store = SqliteStore::open(&f.path).unwrap();
    assert_eq!(file.case, store.case(&f.case).unwrap());
    assert_eq!(file.evidence, store.evidence(&f.case).unwrap());
    assert_eq!(file.detections.len(), 1);
    assert_eq!(file.sources[0].path, f.log.display().to_string());
}

#[test]
fn edits_to_the_stores_tables_are_named_and_not_shown() {
    for (sql, expect) in [
        ("UPDATE evidence SET sha256 = 'ff'", "evidence #1 differs"),
        (
            "UPDATE detections SET detection = json_set(detection, '$.principal', 'innocent')",
            "differs from the ledger",
        ),
        ("UPDATE cases SET title = 'Nothing happened'", "case title"),
        ("UPDATE cases SET severity = 'low'", "case severity"),
        ("DELETE FROM detections", "holds 0 detection(s)"),
        ("UPDATE tasks SET done = 1", "tasks differ"),
        (
            "UPDATE detections SET identity = 'event:a-future-event'",
            "deduplication key",
        ),
        (
            "UPDATE detections SET ledger_seq = 999, title = 'benign'",
            "lost the detection of ledger entry 3",
        ),
        (
            "INSERT INTO case_sources (case_id, path, ledger_seq) VALUES ('C-0001', '/planted.json', 2)",
            "never recorded: /planted.json",
        ),
    ] {
        let f = fixture();
        edit(&f, sql);
        let file = load(&f);
        let banner = file.integrity.banner().unwrap_or_default();
        assert!(banner.contains(expect), "{sql}: {banner}");
        // What is shown comes from the ledger, not from the edited row.
        assert_eq!(file.case.title, "Leaked key");
        assert_eq!(file.case.severity.as_deref(), Some("high"));
        assert_eq!(file.evidence[0].sha256, "ab".repeat(32));
        assert_eq!(file.detections.len(), 1);
        assert_eq!(file.detections[0].detection["principal"], "attacker");
        assert!(file.sources.iter().all(|s| s.path != "/planted.json"));
    }
}

#[test]
fn a_source_changed_or_removed_after_the_hunt_is_named_and_left_out() {
    let f = fixture();
    std::fs::write(&f.log, br#"{"Records":[{"eventName":"Forged"}]}"#).unwrap();
    let store = SqliteStore::open(&f.path).unwrap();
    let mut file = CaseFile::load(&store, &f.case).unwrap();
    assert!(file.checked_sources().is_empty());
    assert!(
        file.integrity.failures[0].contains("changed since it was hunted"),
        "{:?}",
        file.integrity
    );
    std::fs::remove_file(&f.log).unwrap();
    let mut file = CaseFile::load(&store, &f.case).unwrap();
    assert!(file.checked_sources().is_empty());
    assert!(file.integrity.failures[0].contains("cannot be read again"));
}

#[test]
fn a_forged_export_fails_every_signature_policy() {
    let f = fixture();
    let store = SqliteStore::open(&f.path).unwrap();
    let mut entries = store.ledger(&f.case).unwrap();
    let real_signer = entries[0].signer.clone().unwrap();
    // Rewritten, re-hashed, signer stripped, signature replaced: the attack of issue 8.
    let mut prev = squall_case::GENESIS.to_string();
    for e in &mut entries {
        e.actor = "mallory".into();
        e.prev_hash = prev.clone();
        e.hash = e.computed_hash();
        e.signer = None;
        e.signature = Some("not-a-signature".into());
        prev = e.hash.clone();
    }
    let strict = SignaturePolicy {
        require_signed: true,
        signers: vec![real_signer.clone()],
    };
    for policy in [
        SignaturePolicy::default(),
        SignaturePolicy {
            require_signed: true,
            signers: vec![],
        },
        strict.clone(),
    ] {
        let err = verify_signed(&entries, None, &policy).unwrap_err();
        assert_eq!(err.position, 1, "{err}");
    }
    // Unsigned entries fail --signer too: naming a signer means every entry is theirs.
    for e in &mut entries {
        e.signature = None;
    }
    let only_signer = SignaturePolicy {
        require_signed: false,
        signers: vec![real_signer],
    };
    assert!(verify_signed(&entries, None, &only_signer).is_err());
    assert!(verify_signed(&entries, None, &SignaturePolicy::default()).is_ok());
}

#[test]
fn malformed_signatures_are_a_verdict_not_a_panic() {
    let f = fixture();
    let store = SqliteStore::open(&f.path).unwrap();
    let entries = store.ledger(&f.case).unwrap();
    for (signer, signature) in [
        ("é".repeat(32), "ab".repeat(64)),
        ("ab".repeat(32), "日本".repeat(16)),
        ("a".repeat(63) + "é", "zz".repeat(64)),
        ("".into(), "".into()),
    ] {
        let mut forged = entries.clone();
        forged[0].signer = Some(signer.clone());
        forged[0].signature = Some(signature.clone());
        let err = verify_signed(&forged, None, &SignaturePolicy::default()).unwrap_err();
        assert!(err.problem.contains("bad signature"), "{signer:?}: {err}");
    }
    let key_file = f.dir.path().join("bad.key");
    std::fs::write(&key_file, "é".repeat(32)).unwrap();
    assert!(AnalystKey::load(&key_file).is_err());
}

#[test]
fn a_decoy_with_the_real_events_id_does_not_hide_it() {
    let f = fixture();
    let mut store = SqliteStore::open(&f.path).unwrap();
    // The real record has the decoy's event id but other content: attached, and named.
    let outcome = store
        .attach_detections(
            &f.case,
            "alice",
            &[detection("ev-1", "bb", "real-actor", 9)],
        )
        .unwrap();
    assert_eq!((outcome.added, outcome.already_attached), (1, 0));
    assert!(
        outcome.conflicts[0].contains("ev-1"),
        "{:?}",
        outcome.conflicts
    );
    // The same record again is recognised.
    let again = store
        .attach_detections(
            &f.case,
            "alice",
            &[detection("ev-1", "bb", "real-actor", 9)],
        )
        .unwrap();
    assert_eq!((again.added, again.already_attached), (0, 1));
    let file = CaseFile::load(&store, &f.case).unwrap();
    let principals: Vec<_> = file
        .detections
        .iter()
        .map(|d| d.detection["principal"].as_str().unwrap())
        .collect();
    assert_eq!(principals, ["attacker", "real-actor"]);
    assert!(file.integrity.verified(), "{:?}", file.integrity);
}

#[test]
fn the_identified_time_compares_instants_and_ignores_text_that_is_no_time() {
    let f = fixture();
    let mut store = SqliteStore::open(&f.path).unwrap();
    let mut hostile = detection("ev-2", "cc", "x", 10);
    hostile.event_time = Some("!! x\n## Summary\n\nAll clear".into());
    let mut offset = detection("ev-3", "dd", "x", 11);
    // 2026-10-02T08:00:00Z, written with an offset: earlier than 09:28:12Z.
    offset.event_time = Some("2026-10-02T10:00:00+02:00".into());
    store
        .attach_detections(&f.case, "alice", &[hostile, offset])
        .unwrap();
    let file = CaseFile::load(&store, &f.case).unwrap();
    assert_eq!(
        file.case.identified_at.as_deref(),
        Some("2026-10-02T08:00:00.000Z")
    );
    assert!(file.integrity.verified(), "{:?}", file.integrity);
    assert!(file.detections.iter().any(|d| d.event_time.is_none()));
}

#[test]
fn new_stores_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let path = home.join("squall.db");
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .open_case(
            "alice",
            &NewCase {
                title: "t".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&path), 0o600);
    let wal = home.join("squall.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    let folder = squall_case::home::case_dir(&home, "C-0001").unwrap();
    assert_eq!(mode(&folder), 0o700);
    assert!(squall_case::home::case_dir(&home, "../../etc").is_err());
}

#[test]
fn triage_answers_from_the_inventorys_log_and_an_edited_table_is_named() {
    use squall_case::inventory::Env;
    let f = fixture();
    let mut store = SqliteStore::open(&f.path).unwrap();
    let mut asset = asset("aws", "111122223333");
    asset.env = Some(Env::Prod);
    store
        .import_inventory("alice", "inv.yaml", std::slice::from_ref(&asset))
        .unwrap();
    let checked = store.inventory_checked().unwrap();
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);
    assert_eq!(checked.assets, vec![asset.clone()]);
    edit(
        &f,
        "UPDATE inventory SET asset = json_set(asset, '$.env', 'test')",
    );
    let checked = store.inventory_checked().unwrap();
    assert!(
        checked.failures[0].contains("differs from its log"),
        "{:?}",
        checked.failures
    );
    assert_eq!(
        checked.assets[0].env,
        Some(Env::Prod),
        "the log's record, not the table's"
    );
    edit(
        &f,
        "UPDATE inventory_log SET payload = replace(payload, 'prod', 'test')",
    );
    let checked = store.inventory_checked().unwrap();
    assert!(
        checked.failures[0].contains("tampered"),
        "{:?}",
        checked.failures
    );
}

#[test]
fn an_inventory_from_an_earlier_squall_is_adopted_at_the_next_import() {
    let f = fixture();
    let mut store = SqliteStore::open(&f.path).unwrap();
    let old = asset("gcp", "acme-prod");
    store
        .import_inventory("alice", "old.yaml", std::slice::from_ref(&old))
        .unwrap();
    // As an earlier release left it: rows, no log.
    edit(&f, "DELETE FROM inventory_log");
    edit(&f, "DELETE FROM inventory_head");
    let checked = store.inventory_checked().unwrap();
    assert!(checked.failures.is_empty() && !checked.unchecked.is_empty());
    let new = asset("aws", "111122223333");
    store
        .import_inventory("alice", "new.yaml", std::slice::from_ref(&new))
        .unwrap();
    let checked = store.inventory_checked().unwrap();
    assert!(
        checked.failures.is_empty() && checked.unchecked.is_empty(),
        "{checked:?}"
    );
    assert_eq!(checked.assets, vec![new, old]);
}

/// An inventory record with only its provider and id known.
fn asset(provider: &str, id: &str) -> squall_case::inventory::Asset {
    serde_json::from_value(json!({"provider": provider, "id": id})).unwrap()
}
