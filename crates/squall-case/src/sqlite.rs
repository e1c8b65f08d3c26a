//! The embedded store: one SQLite file in the Squall home, in WAL mode so several `squall`
//! processes can read while one writes. Writes take the write lock up front
//! (`BEGIN IMMEDIATE`) and wait for it, so two processes appending to one ledger serialize
//! instead of failing, and each write is one transaction: a crash leaves either all of it or
//! none of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use squall_core::entry::{
    CaseAssigned, CaseOpened, CaseStatus, DetectionAttached, EvidenceAdded, InventoryAdopted,
    InventoryImported, Kind, Note, Payload, TaskAdded, TaskDone,
};
use squall_core::finding::Finding;

use crate::inventory::{Asset, Provider, Resource};
use crate::ledger::{Entry, GENESIS, Head};
use crate::signing::AnalystKey;
use crate::store::{
    Attached, AttachedDetection, Case, CheckedInventory, Evidence, HuntCase, HuntRun, NewCase,
    NewDetection, NewEvidence, Result, STATUSES, Store, StoreError, Task,
};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE cases (
    id            TEXT PRIMARY KEY,
    number        INTEGER NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    status        TEXT NOT NULL,
    severity      TEXT,
    owner         TEXT,
    created_at    TEXT NOT NULL,
    identified_at TEXT,
    triaged_at    TEXT,
    contained_at  TEXT,
    recovered_at  TEXT,
    closed_at     TEXT,
    head_seq      INTEGER NOT NULL,
    head_hash     TEXT NOT NULL
);
CREATE TABLE ledger (
    case_id   TEXT NOT NULL REFERENCES cases(id),
    seq       INTEGER NOT NULL,
    time      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE TABLE detections (
    case_id    TEXT NOT NULL REFERENCES cases(id),
    rule_id    TEXT NOT NULL,
    identity   TEXT NOT NULL,
    title      TEXT NOT NULL,
    level      TEXT NOT NULL,
    event_time TEXT,
    detection  TEXT NOT NULL,
    ledger_seq INTEGER NOT NULL,
    UNIQUE (case_id, rule_id, identity)
);
CREATE TABLE evidence (
    case_id     TEXT NOT NULL REFERENCES cases(id),
    id          INTEGER NOT NULL,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    description TEXT NOT NULL,
    source      TEXT,
    stored_at   TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    ledger_seq  INTEGER NOT NULL,
    PRIMARY KEY (case_id, id)
);
"#,
    r#"
CREATE TABLE case_sources (
    case_id    TEXT NOT NULL REFERENCES cases(id),
    path       TEXT NOT NULL,
    ledger_seq INTEGER NOT NULL,
    UNIQUE (case_id, path)
);
"#,
    r#"
CREATE TABLE inventory (
    provider    TEXT NOT NULL,
    id          TEXT NOT NULL,
    asset       TEXT NOT NULL,
    source      TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (provider, id)
);
"#,
    r#"
ALTER TABLE ledger ADD COLUMN signer TEXT;
ALTER TABLE ledger ADD COLUMN signature TEXT;
"#,
    r#"
CREATE TABLE tasks (
    case_id    TEXT NOT NULL REFERENCES cases(id),
    id         INTEGER NOT NULL,
    text       TEXT NOT NULL,
    owner      TEXT,
    done       INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    done_at    TEXT,
    PRIMARY KEY (case_id, id)
);
"#,
    // The inventory gets its own hash chain: triage answers from it, so an edit to the
    // inventory table must show, like an edit to a case's tables. One row holds its head.
    r#"
CREATE TABLE inventory_log (
    seq       INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    signer    TEXT,
    signature TEXT
);
CREATE TABLE inventory_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
-- Every append asks the ledger for the case's last status change; without this index that is a
-- scan of the case's ledger per entry, quadratic in a hunt's detections.
CREATE INDEX ledger_kind ON ledger (case_id, kind, seq);
"#,
];

/// The SQLite case store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Signs every entry this store appends, when the analyst has a key.
    signer: Option<AnalystKey>,
    /// Opened from storage that cannot be written: reads work, writes are refused.
    read_only: bool,
}

/// Creates the home (and its parents) readable by its owner only.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    crate::home::private_dir(dir)
        .map_err(|e| StoreError::Invalid(format!("cannot create {}: {e}", dir.display())))
}

/// Creates an empty store file with owner-only permissions before SQLite does (SQLite gives
/// its -wal and -shm files the store's permissions). An existing file is left as it is.
fn create_private_file(path: &Path) {
    // Failure is fine here: the file exists, or SQLite will say why it cannot be created.
    let _ = crate::home::new_private_file(path);
}

/// Errors that mean "this storage cannot be written", after which a read-only open is tried.
fn cannot_write(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

/// A path as the path part of an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.display().to_string().bytes() {
        match b {
            b'?' | b'#' | b'%' | 0x80.. => out.push_str(&format!("%{b:02X}")),
            b => out.push(b as char),
        }
    }
    out
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date. A new
    /// home and store are readable by their owner only: a case holds credentials' names,
    /// attacker addresses and evidence locations. A store that cannot be written (an archived
    /// case on read-only media) opens read-only, so it can still be shown and verified.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        create_private_file(path);
        let opened = Connection::open(path)
            .map_err(|source| StoreError::Sqlite {
                path: path.display().to_string(),
                source,
            })
            .and_then(|conn| {
                let mut store = SqliteStore {
                    conn,
                    path: path.to_path_buf(),
                    signer: None,
                    read_only: false,
                };
                store.setup().map(|()| store)
            });
        match opened {
            Ok(store) => Ok(store),
            Err(StoreError::Sqlite { source, .. }) if cannot_write(&source) && path.exists() => {
                SqliteStore::open_read_only(path)
            }
            Err(e) => Err(e),
        }
    }

    /// Opens an existing store without writing anything: not its journal, not its schema.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
        use rusqlite::OpenFlags;
        let shown = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let err = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        // A WAL store whose -wal and -shm files exist opens read-only as it is; one whose
        // journal was checkpointed away is opened as immutable (no -shm needed).
        let wal = PathBuf::from(format!("{shown}-wal"));
        let wal_empty = std::fs::metadata(&wal).map_or(true, |m| m.len() == 0);
        let conn = Connection::open_with_flags(path, flags)
            .and_then(|c| {
                c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                    .map(|_| c)
            })
            .or_else(|e| {
                if !wal_empty {
                    return Err(e);
                }
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(uri, flags)
            })
            .map_err(&err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&err)?;
        let known = MIGRATIONS.len() as i64;
        if version != known {
            return Err(StoreError::Invalid(format!(
                "case store {shown} is read-only and has schema {version}, this squall needs \
                 {known} (help: copy it to writable storage and open it there)"
            )));
        }
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            signer: None,
            read_only: true,
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn setup(&mut self) -> Result<()> {
        let path = self.path.display().to_string();
        let e = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        self.conn
            .busy_timeout(Duration::from_secs(30))
            .map_err(&e)?;
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(&e)?;
        // FULL: a transaction reported as committed survives power loss, not just a crash.
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(&e)?;
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(&e)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&e)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&e)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path,
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(&e)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(&e)?;
        }
        tx.commit().map_err(&e)
    }

    /// Runs a read query and maps each row.
    fn query<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare(sql).map_err(self.err())?;
        let rows = stmt.query_map(params, map).map_err(self.err())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }

    /// Signs the entries appended from now on with `key`.
    pub fn sign_with(&mut self, key: AnalystKey) {
        self.signer = Some(key);
    }

    /// Runs `f` in a write transaction (with the signing key, if any), mapping errors.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction, &Writing<'_>) -> Result<T>) -> Result<T> {
        let path = self.path.display().to_string();
        if self.read_only {
            return Err(StoreError::Invalid(format!(
                "case store {path} is on storage that cannot be written; it can be shown and \
                 verified, not changed (help: copy it elsewhere, or use --home)"
            )));
        }
        let e = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let writing = Writing {
            path: &path,
            signer: self.signer.as_ref(),
        };
        let out = f(&tx, &writing)?;
        tx.commit().map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        Ok(out)
    }
}

fn sql(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_string(),
        source,
    }
}

/// What a write transaction's body needs besides the transaction: the store's name for error
/// messages and the analyst's signing key, if any.
struct Writing<'a> {
    path: &'a str,
    signer: Option<&'a AnalystKey>,
}

/// One piece of evidence, in the transaction that records it.
fn insert_evidence(
    tx: &Transaction,
    w: &Writing<'_>,
    case: &str,
    actor: &str,
    ev: &NewEvidence,
) -> Result<Evidence> {
    // A relative path names another file from every other folder the case is read in.
    // Ledgers of releases that recorded relative paths still read: this holds for writing.
    // Evidence kept in a cloud (a snapshot) is named by the provider's own identifier.
    let files = [("path", &ev.path), ("storage path", &ev.stored_at)];
    for (what, path) in files.into_iter().filter(|_| !in_a_cloud(&ev.path)) {
        if !std::path::Path::new(path).is_absolute() {
            return Err(StoreError::Invalid(format!(
                "{case}: evidence {what} {path} is relative; a case records evidence by \
                 absolute paths"
            )));
        }
    }
    let id: u64 = tx
        .query_row(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM evidence WHERE case_id = ?1",
            [case],
            |r| r.get(0),
        )
        .map_err(sql(w.path))?;
    let payload = EvidenceAdded {
        evidence_id: id,
        path: ev.path.clone(),
        sha256: ev.sha256.clone(),
        size: ev.size,
        description: ev.description.clone(),
        source: ev.source.clone(),
        stored_at: ev.stored_at.clone(),
    };
    let entry = record(tx, w, case, actor, &payload)?;
    tx.execute(
        "INSERT INTO evidence (case_id, id, path, sha256, size, description, source,
         stored_at, added_by, added_at, ledger_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            case,
            id,
            ev.path,
            ev.sha256,
            ev.size,
            ev.description,
            ev.source,
            ev.stored_at,
            actor,
            entry.time,
            entry.seq
        ],
    )
    .map_err(sql(w.path))?;
    Ok(Evidence {
        id,
        path: ev.path.clone(),
        sha256: ev.sha256.clone(),
        size: ev.size,
        description: ev.description.clone(),
        source: ev.source.clone(),
        stored_at: ev.stored_at.clone(),
        added_by: actor.to_string(),
        added_at: entry.time,
        ledger_seq: entry.seq,
    })
}

/// Appends a typed payload to a case's ledger under its kind, inside `tx`.
fn record<P: Payload>(
    tx: &Transaction,
    w: &Writing<'_>,
    case: &str,
    actor: &str,
    payload: &P,
) -> Result<Entry> {
    append(tx, w, case, actor, P::KIND, payload.to_value())
}

/// Appends one entry to a case's ledger and moves its head, inside `tx`.
fn append(
    tx: &Transaction,
    w: &Writing<'_>,
    case: &str,
    actor: &str,
    kind: Kind,
    payload: serde_json::Value,
) -> Result<Entry> {
    let head: Option<(u64, String, String)> = tx
        .query_row(
            "SELECT head_seq, head_hash, status FROM cases WHERE id = ?1",
            [case],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(sql(w.path))?;
    let Some((seq, prev, status)) = head else {
        return Err(StoreError::NoCase(case.to_string()));
    };
    // Closed is what the ledger's last status change says; the table's column alone could be
    // edited to reopen a closed case (or to close an open one).
    let last_status: Option<String> = tx
        .query_row(
            "SELECT json_extract(payload, '$.to') FROM ledger
             WHERE case_id = ?1 AND kind = ?2 ORDER BY seq DESC LIMIT 1",
            [case, Kind::CaseStatus.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql(w.path))?
        .flatten();
    if last_status.as_deref() == Some("closed") {
        return Err(StoreError::Closed(case.to_string()));
    }
    if status != last_status.as_deref().unwrap_or(&status) && kind != Kind::CaseStatus {
        return Err(StoreError::Invalid(format!(
            "case {case}: the store says {status} but its ledger says {}; nothing recorded \
             (help: `squall ledger verify {case}`)",
            last_status.unwrap_or_default()
        )));
    }
    let entry = next_entry(w, seq, prev, actor, kind, payload);
    tx.execute(
        "INSERT INTO ledger (case_id, seq, time, actor, kind, payload, prev_hash, hash, signer, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            case,
            entry.seq,
            entry.time,
            entry.actor,
            entry.kind,
            entry.payload.to_string(),
            entry.prev_hash,
            entry.hash,
            entry.signer,
            entry.signature
        ],
    )
    .map_err(sql(w.path))?;
    tx.execute(
        "UPDATE cases SET head_seq = ?2, head_hash = ?3 WHERE id = ?1",
        params![case, entry.seq, entry.hash],
    )
    .map_err(sql(w.path))?;
    Ok(entry)
}

/// Attaches detections inside `tx`, each at most once. A detection is the same as one already
/// attached when the rule, the event id and the record's digest agree; the same rule and event
/// id with another digest is attached too, and named as a conflict.
fn attach(
    tx: &Transaction,
    w: &Writing<'_>,
    case: &str,
    actor: &str,
    detections: &[NewDetection],
) -> Result<Attached> {
    let mut outcome = Attached::default();
    // The incident was identified no later than its earliest detection; instants are compared,
    // not text, and the ledger's rebuild (casefile.rs) decides the same way. Read and written
    // once per attachment, not once per detection.
    let identified_before: Option<String> = tx
        .query_row(
            "SELECT identified_at FROM cases WHERE id = ?1",
            [case],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql(w.path))?
        .flatten();
    let mut identified = identified_before.clone();
    for d in detections {
        let legacy = match &d.event_id {
            Some(id) => format!("event:{id}"),
            None => format!("record:{}#{}", d.file, d.record_index),
        };
        let identity = match &d.record_sha256 {
            Some(digest) => format!("{legacy}#sha256:{digest}"),
            None => legacy.clone(),
        };
        // `legacy` (the id, or the place, alone) is how earlier releases keyed a detection:
        // the same record hunted again must not be attached twice.
        let known: bool = tx
            .prepare_cached(
                "SELECT 1 FROM detections WHERE case_id = ?1 AND rule_id = ?2
                 AND (identity = ?3 OR identity = ?4)",
            )
            .and_then(|mut stmt| stmt.exists(params![case, d.rule_id, identity, legacy]))
            .map_err(sql(w.path))?;
        if known {
            outcome.already_attached += 1;
            continue;
        }
        if let Some(id) = &d.event_id {
            // Every identity of this rule and event id with a digest, as an index range
            // (`:` + 1 is `;`), so a hunt of many detections stays linear.
            let prefix = format!("event:{id}#sha256:");
            let end = format!("event:{id}#sha256;");
            // The first twin is enough to name; one row, however many decoys share the id.
            let twin: Option<u64> = tx
                .prepare_cached(
                    "SELECT ledger_seq FROM detections WHERE case_id = ?1 AND rule_id = ?2
                     AND identity >= ?3 AND identity < ?4 LIMIT 1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![case, d.rule_id, prefix, end], |r| r.get(0))
                        .optional()
                })
                .map_err(sql(w.path))?;
            if let Some(seq) = twin {
                outcome.conflicts.push(format!(
                    "event id {id} of rule {} is attached already (ledger entry {seq}) with \
                     other content; {}#{} differs from it, and one of them is not the event \
                     the provider logged",
                    d.rule_id, d.file, d.record_index
                ));
            }
        }
        let event_time = d
            .event_time
            .as_deref()
            .and_then(crate::casefile::normalize_time);
        // The row's columns are what the ledger's payload says, by construction: the case is
        // rebuilt from the payload (casefile.rs) and compared with the row.
        let payload = DetectionAttached::new(
            &d.json,
            &d.rule_id,
            &d.title,
            &d.level,
            d.event_time.as_deref(),
        );
        let entry = record(tx, w, case, actor, &payload)?;
        tx.execute(
            "INSERT INTO detections (case_id, rule_id, identity, title, level, event_time,
             detection, ledger_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                case,
                d.rule_id,
                identity,
                d.title,
                d.level,
                event_time,
                entry.payload.to_string(),
                entry.seq
            ],
        )
        .map_err(sql(w.path))?;
        if let Some(t) = event_time
            && identified
                .as_deref()
                .is_none_or(|c| crate::casefile::earlier(&t, c))
        {
            identified = Some(t);
        }
        outcome.added += 1;
    }
    if identified != identified_before {
        tx.execute(
            "UPDATE cases SET identified_at = ?2 WHERE id = ?1",
            params![case, identified],
        )
        .map_err(sql(w.path))?;
    }
    Ok(outcome)
}

/// Opens a case inside `tx`; returns its id.
fn insert_case(tx: &Transaction, w: &Writing<'_>, actor: &str, new: &NewCase) -> Result<String> {
    if new.title.trim().is_empty() {
        return Err(StoreError::Invalid("a case needs a title (--title)".into()));
    }
    let number: u64 = tx
        .query_row("SELECT COALESCE(MAX(number), 0) + 1 FROM cases", [], |r| {
            r.get(0)
        })
        .map_err(sql(w.path))?;
    let id = format!("C-{number:04}");
    let created = now();
    tx.execute(
        "INSERT INTO cases (id, number, title, status, severity, owner, created_at,
         identified_at, head_seq, head_hash)
         VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, ?6, 0, ?7)",
        params![
            id,
            number,
            new.title,
            new.severity,
            new.owner,
            created,
            GENESIS
        ],
    )
    .map_err(sql(w.path))?;
    let payload = CaseOpened {
        title: new.title.clone(),
        severity: new.severity.clone(),
        owner: new.owner.clone(),
    };
    let entry = record(tx, w, &id, actor, &payload)?;
    // The case opened when its first entry says so, to the microsecond.
    tx.execute(
        "UPDATE cases SET created_at = ?2, identified_at = ?2 WHERE id = ?1",
        params![id, entry.time],
    )
    .map_err(sql(w.path))?;
    Ok(id)
}

/// The entry after `seq`/`prev`, stamped now and signed with the analyst's key if there is one:
/// the one way a case's ledger and the inventory's log make entries.
fn next_entry(
    w: &Writing<'_>,
    seq: u64,
    prev: String,
    actor: &str,
    kind: Kind,
    payload: serde_json::Value,
) -> Entry {
    let mut entry = Entry::new(
        seq + 1,
        now(),
        actor.to_string(),
        kind.as_str().to_string(),
        payload,
        prev,
    );
    if let Some(key) = w.signer {
        let (public, signature) = key.sign(&entry.hash);
        entry.signer = Some(public);
        entry.signature = Some(signature);
    }
    entry
}

/// Appends a typed payload to the inventory's log and moves its head, inside `tx`.
fn append_inventory<P: Payload>(
    tx: &Transaction,
    w: &Writing<'_>,
    (seq, prev): (u64, String),
    actor: &str,
    payload: &P,
) -> Result<(u64, String)> {
    let entry = next_entry(w, seq, prev, actor, P::KIND, payload.to_value());
    tx.execute(
        "INSERT INTO inventory_log (seq, time, actor, kind, payload, prev_hash, hash, signer, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            entry.seq,
            entry.time,
            entry.actor,
            entry.kind,
            entry.payload.to_string(),
            entry.prev_hash,
            entry.hash,
            entry.signer,
            entry.signature
        ],
    )
    .map_err(sql(w.path))?;
    tx.execute(
        "INSERT INTO inventory_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![entry.seq, entry.hash],
    )
    .map_err(sql(w.path))?;
    Ok((entry.seq, entry.hash))
}

/// The inventory table's records, in the order `inventory()` lists them.
fn inventory_rows(tx: &Transaction, path: &str) -> Result<Vec<serde_json::Value>> {
    let mut stmt = tx
        .prepare("SELECT asset FROM inventory ORDER BY provider, id")
        .map_err(sql(path))?;
    let texts = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql(path))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql(path))?;
    Ok(texts
        .iter()
        .map(|t| serde_json::from_str(t).unwrap_or(serde_json::Value::String(t.clone())))
        .collect())
}

/// The records an inventory log entry holds, each read on its own: an entry whose records do
/// not all read (a tampered log) still gives the ones that do, and names each one that does
/// not. Entries of other kinds, or of no inventory shape at all, hold none.
fn logged_assets(e: &Entry) -> Vec<std::result::Result<Asset, serde_json::Error>> {
    let imported = e.kind == Kind::InventoryImported;
    if imported && let Some(p) = InventoryImported::from_value(&e.payload) {
        return p.assets.into_iter().map(Ok).collect();
    }
    // Adopted records are as found; an imported entry that failed above is read the same way.
    if (imported || e.kind == Kind::InventoryAdopted)
        && let Some(p) = InventoryAdopted::from_value(&e.payload)
    {
        return p.assets.into_iter().map(serde_json::from_value).collect();
    }
    Vec::new()
}

/// A ledger (or inventory log) row; a payload that no longer parses is itself tampering, so
/// its text is kept for verification to report instead of failing the read.
fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let payload: String = r.get(4)?;
    Ok(Entry {
        seq: r.get(0)?,
        time: r.get(1)?,
        actor: r.get(2)?,
        kind: r.get(3)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
        prev_hash: r.get(5)?,
        hash: r.get(6)?,
        signer: r.get(7)?,
        signature: r.get(8)?,
    })
}

fn case_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Case> {
    Ok(Case {
        id: r.get(0)?,
        title: r.get(1)?,
        status: r.get(2)?,
        severity: r.get(3)?,
        owner: r.get(4)?,
        created_at: r.get(5)?,
        identified_at: r.get(6)?,
        triaged_at: r.get(7)?,
        contained_at: r.get(8)?,
        recovered_at: r.get(9)?,
        closed_at: r.get(10)?,
        head_seq: r.get(11)?,
        head_hash: r.get(12)?,
    })
}

const CASE_COLUMNS: &str = "id, title, status, severity, owner, created_at, identified_at, \
    triaged_at, contained_at, recovered_at, closed_at, head_seq, head_hash";

impl Store for SqliteStore {
    fn open_case(&mut self, actor: &str, new: &NewCase) -> Result<Case> {
        let id = self.write(|tx, w| insert_case(tx, w, actor, new))?;
        self.case(&id)
    }

    fn note(&mut self, case: &str, actor: &str, text: &str, lesson: bool) -> Result<Entry> {
        let payload = Note {
            text: text.to_string(),
            lesson,
        };
        self.write(|tx, w| record(tx, w, case, actor, &payload))
    }

    fn record_action(
        &mut self,
        case: &str,
        actor: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<Entry> {
        let Some(stage) = Kind::parse(kind).filter(|k| k.is_action()) else {
            return Err(StoreError::Invalid(format!("not an action stage: {kind}")));
        };
        self.write(|tx, w| append(tx, w, case, actor, stage, payload))
    }

    fn record_response(
        &mut self,
        case: &str,
        actor: &str,
        kind: Kind,
        payload: serde_json::Value,
    ) -> Result<Entry> {
        if !kind.is_response() {
            return Err(StoreError::Invalid(format!("not a response entry: {kind}")));
        }
        self.write(|tx, w| append(tx, w, case, actor, kind, payload))
    }

    fn assign(&mut self, case: &str, actor: &str, owner: &str) -> Result<Entry> {
        self.write(|tx, w| {
            let payload = CaseAssigned {
                owner: owner.to_string(),
            };
            let entry = record(tx, w, case, actor, &payload)?;
            tx.execute(
                "UPDATE cases SET owner = ?2 WHERE id = ?1",
                params![case, owner],
            )
            .map_err(sql(w.path))?;
            Ok(entry)
        })
    }

    fn set_status(&mut self, case: &str, actor: &str, status: &str, reason: &str) -> Result<Entry> {
        let Some(rank) = STATUSES.iter().position(|s| *s == status) else {
            return Err(StoreError::Invalid(format!(
                "unknown status '{status}' (expected one of {})",
                STATUSES.join(", ")
            )));
        };
        self.write(|tx, w| {
            let current: Option<String> = tx
                .query_row("SELECT status FROM cases WHERE id = ?1", [case], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql(w.path))?;
            let current = current.ok_or_else(|| StoreError::NoCase(case.to_string()))?;
            let current_rank = STATUSES.iter().position(|s| *s == current).unwrap_or(0);
            if rank <= current_rank && status != "closed" {
                return Err(StoreError::Invalid(format!(
                    "case {case} is already {current}; statuses only move forward"
                )));
            }
            let payload = CaseStatus {
                from: current,
                to: status.to_string(),
                reason: reason.to_string(),
            };
            let entry = record(tx, w, case, actor, &payload)?;
            let column = format!("{status}_at");
            let stamp = if status == "open" {
                String::new()
            } else {
                format!(", {column} = COALESCE({column}, ?3)")
            };
            tx.execute(
                &format!("UPDATE cases SET status = ?2{stamp} WHERE id = ?1"),
                params![case, status, entry.time],
            )
            .map_err(sql(w.path))?;
            Ok(entry)
        })
    }

    fn attach_detections(
        &mut self,
        case: &str,
        actor: &str,
        detections: &[NewDetection],
    ) -> Result<Attached> {
        self.write(|tx, w| attach(tx, w, case, actor, detections))
    }

    fn add_evidence(&mut self, case: &str, actor: &str, ev: &NewEvidence) -> Result<Evidence> {
        self.write(|tx, w| insert_evidence(tx, w, case, actor, ev))
    }

    fn add_evidence_batch(
        &mut self,
        case: &str,
        actor: &str,
        evidence: &[NewEvidence],
    ) -> Result<Vec<Evidence>> {
        self.write(|tx, w| {
            evidence
                .iter()
                .map(|ev| insert_evidence(tx, w, case, actor, ev))
                .collect()
        })
    }

    fn record_collection(
        &mut self,
        case: &str,
        actor: &str,
        collected: &squall_core::entry::LogsCollected,
    ) -> Result<Entry> {
        self.write(|tx, w| record(tx, w, case, actor, collected))
    }

    fn record_hunt(
        &mut self,
        case: HuntCase<'_>,
        actor: &str,
        run: &HuntRun,
        detections: &[NewDetection],
    ) -> Result<(String, Entry, Attached)> {
        self.write(|tx, w| {
            let id = match case {
                HuntCase::Existing(id) => id.to_string(),
                HuntCase::New(new) => insert_case(tx, w, actor, new)?,
            };
            let case = id.as_str();
            let entry = record(tx, w, case, actor, run)?;
            for file in &run.files {
                tx.execute(
                    "INSERT OR IGNORE INTO case_sources (case_id, path, ledger_seq) VALUES (?1, ?2, ?3)",
                    params![case, file, entry.seq],
                )
                .map_err(sql(w.path))?;
            }
            let attached = attach(tx, w, case, actor, detections)?;
            Ok((id.clone(), entry, attached))
        })
    }

    fn import_resources(
        &mut self,
        actor: &str,
        source: &str,
        assets: &[Asset],
        resources: &[Resource],
    ) -> Result<usize> {
        self.write(|tx, w| {
            let head: Option<(u64, String)> = tx
                .query_row(
                    "SELECT seq, hash FROM inventory_head WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql(w.path))?;
            let mut head = head.unwrap_or((0, GENESIS.to_string()));
            if head.0 == 0 {
                // A store from before the inventory had its chain: what it holds is taken in
                // as it stands, said so in the entry, before the first import is recorded.
                let existing = inventory_rows(tx, w.path)?;
                if !existing.is_empty() {
                    let payload = InventoryAdopted {
                        source: "(inventory of an earlier squall, adopted as found)".into(),
                        assets: existing,
                    };
                    head = append_inventory(tx, w, head, actor, &payload)?;
                }
            }
            let payload = InventoryImported {
                source: source.to_string(),
                assets: assets.to_vec(),
                resources: resources.to_vec(),
            };
            append_inventory(tx, w, head, actor, &payload)?;
            let at = now();
            for a in assets {
                let provider = serde_json::to_value(a.provider)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                tx.execute(
                    "INSERT INTO inventory (provider, id, asset, source, imported_by, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (provider, id) DO UPDATE SET asset = excluded.asset,
                       source = excluded.source, imported_by = excluded.imported_by,
                       imported_at = excluded.imported_at",
                    params![
                        provider.as_str().unwrap_or_default(),
                        a.id,
                        serde_json::to_string(a).map_err(|e| StoreError::Invalid(e.to_string()))?,
                        source,
                        actor,
                        at
                    ],
                )
                .map_err(sql(w.path))?;
            }
            Ok(assets.len())
        })
    }

    fn inventory_checked(&self) -> Result<CheckedInventory> {
        let entries = self.query(
            "SELECT seq, time, actor, kind, payload, prev_hash, hash, signer, signature
             FROM inventory_log ORDER BY seq",
            [],
            entry_from_row,
        )?;
        let head: Option<Head> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM inventory_head WHERE id = 1",
                [],
                |r| {
                    Ok(Head {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(self.err())?;
        let rows = self.inventory()?;
        let mut out = CheckedInventory::default();
        if entries.is_empty() && head.is_none() {
            if !rows.is_empty() {
                out.unchecked.push(format!(
                    "the inventory ({} record(s)) was imported by an earlier squall and has no log to check it against until the next import",
                    rows.len()
                ));
            }
            out.assets = rows;
            return Ok(out);
        }
        if let Err(b) = crate::ledger::verify(&entries, head.as_ref()) {
            out.failures
                .push(format!("the inventory's log is tampered at {b}"));
        }
        // Replay: later imports replace earlier records of the same provider and id.
        let mut replayed: std::collections::BTreeMap<(String, String), Asset> = Default::default();
        for e in &entries {
            for read in logged_assets(e) {
                match read {
                    Ok(asset) => {
                        let provider = serde_json::to_value(asset.provider)
                            .ok()
                            .and_then(|p| p.as_str().map(str::to_string))
                            .unwrap_or_default();
                        replayed.insert((provider, asset.id.clone()), asset);
                    }
                    Err(err) => out.failures.push(format!(
                        "inventory log entry {} holds a record that is not one ({err})",
                        e.seq
                    )),
                }
            }
        }
        // Resources replay the same way, by provider, account and id; each is read on its own
        // so one that does not read is named rather than losing the entry's others.
        let mut resources: std::collections::BTreeMap<(Provider, String, String), Resource> =
            Default::default();
        for e in entries.iter().filter(|e| e.kind == Kind::InventoryImported) {
            let listed = e.payload.get("resources").and_then(|r| r.as_array());
            for r in listed.into_iter().flatten() {
                match serde_json::from_value::<Resource>(r.clone()) {
                    Ok(r) => {
                        resources.insert((r.provider, r.account.clone(), r.id.clone()), r);
                    }
                    Err(err) => out.failures.push(format!(
                        "inventory log entry {} holds a resource that is not one ({err})",
                        e.seq
                    )),
                }
            }
        }
        out.resources = resources.into_values().collect();
        let logged: Vec<Asset> = replayed.into_values().collect();
        if logged != rows {
            out.failures.push(format!(
                "the inventory table ({} record(s)) differs from its log ({} record(s)); triage answers from the log",
                rows.len(),
                logged.len()
            ));
        }
        out.assets = logged;
        Ok(out)
    }

    fn inventory(&self) -> Result<Vec<Asset>> {
        let texts: Vec<String> = self.query(
            "SELECT asset FROM inventory ORDER BY provider, id",
            [],
            |r| r.get(0),
        )?;
        texts
            .iter()
            .map(|t| {
                serde_json::from_str(t)
                    .map_err(|e| StoreError::Invalid(format!("inventory record: {e}")))
            })
            .collect()
    }

    fn record_triage(
        &mut self,
        case: &str,
        actor: &str,
        severity: &str,
        payload: serde_json::Value,
    ) -> Result<Entry> {
        self.write(|tx, w| {
            let entry = append(tx, w, case, actor, Kind::CaseTriaged, payload)?;
            tx.execute(
                "UPDATE cases SET severity = ?2, triaged_at = COALESCE(triaged_at, ?3),
                 status = CASE WHEN status = 'open' THEN 'triaged' ELSE status END WHERE id = ?1",
                params![case, severity, entry.time],
            )
            .map_err(sql(w.path))?;
            Ok(entry)
        })
    }

    fn add_task(
        &mut self,
        case: &str,
        actor: &str,
        text: &str,
        owner: Option<&str>,
    ) -> Result<Task> {
        self.write(|tx, w| {
            let id: u64 = tx
                .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM tasks WHERE case_id = ?1", [case], |r| r.get(0))
                .map_err(sql(w.path))?;
            let payload = TaskAdded {
                task: id,
                text: text.to_string(),
                owner: owner.map(str::to_string),
            };
            let entry = record(tx, w, case, actor, &payload)?;
            tx.execute(
                "INSERT INTO tasks (case_id, id, text, owner, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![case, id, text, owner, entry.time],
            )
            .map_err(sql(w.path))?;
            Ok(Task { id, text: text.to_string(), owner: owner.map(str::to_string), done: false, created_at: entry.time, done_at: None })
        })
    }

    fn finish_task(&mut self, case: &str, actor: &str, id: u64, result: &str) -> Result<Entry> {
        self.write(|tx, w| {
            let done: Option<bool> = tx
                .query_row(
                    "SELECT done FROM tasks WHERE case_id = ?1 AND id = ?2",
                    params![case, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql(w.path))?;
            match done {
                None => return Err(StoreError::Invalid(format!("case {case} has no task {id}"))),
                Some(true) => {
                    return Err(StoreError::Invalid(format!(
                        "task {id} of {case} is already done"
                    )));
                }
                Some(false) => {}
            }
            let payload = TaskDone {
                task: id,
                result: result.to_string(),
            };
            let entry = record(tx, w, case, actor, &payload)?;
            tx.execute(
                "UPDATE tasks SET done = 1, done_at = ?3 WHERE case_id = ?1 AND id = ?2",
                params![case, id, entry.time],
            )
            .map_err(sql(w.path))?;
            Ok(entry)
        })
    }

    fn tasks(&self, case: &str) -> Result<Vec<Task>> {
        self.query(
            "SELECT id, text, owner, done, created_at, done_at FROM tasks WHERE case_id = ?1 ORDER BY id",
            [case],
            |r| {
                Ok(Task {
                    id: r.get(0)?,
                    text: r.get(1)?,
                    owner: r.get(2)?,
                    done: r.get(3)?,
                    created_at: r.get(4)?,
                    done_at: r.get(5)?,
                })
            },
        )
    }

    fn sources(&self, case: &str) -> Result<Vec<String>> {
        self.case(case)?;
        self.query(
            "SELECT path FROM case_sources WHERE case_id = ?1 ORDER BY path",
            [case],
            |r| r.get(0),
        )
    }

    fn case(&self, id: &str) -> Result<Case> {
        self.conn
            .query_row(
                &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?1"),
                [id],
                case_from_row,
            )
            .optional()
            .map_err(self.err())?
            .ok_or_else(|| StoreError::NoCase(id.to_string()))
    }

    fn cases(&self) -> Result<Vec<Case>> {
        self.query(
            &format!("SELECT {CASE_COLUMNS} FROM cases ORDER BY number"),
            [],
            case_from_row,
        )
    }

    fn ledger(&self, case: &str) -> Result<Vec<Entry>> {
        self.case(case)?;
        self.query(
            "SELECT seq, time, actor, kind, payload, prev_hash, hash, signer, signature FROM ledger
             WHERE case_id = ?1 ORDER BY rowid",
            [case],
            entry_from_row,
        )
    }

    fn entry(&self, case: &str, seq: u64) -> Result<Option<Entry>> {
        Ok(self
            .query(
                "SELECT seq, time, actor, kind, payload, prev_hash, hash, signer, signature FROM ledger
                 WHERE case_id = ?1 AND seq = ?2",
                rusqlite::params![case, seq],
                entry_from_row,
            )?
            .pop())
    }

    fn detections(&self, case: &str) -> Result<Vec<AttachedDetection>> {
        self.query(
            "SELECT rule_id, title, level, event_time, detection, ledger_seq, identity
             FROM detections WHERE case_id = ?1 ORDER BY event_time, ledger_seq",
            [case],
            |r| {
                let json: String = r.get(4)?;
                let detection = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
                Ok(AttachedDetection {
                    rule_id: r.get(0)?,
                    title: r.get(1)?,
                    level: r.get(2)?,
                    event_time: r.get(3)?,
                    finding: Finding::from_detection(&detection),
                    detection,
                    ledger_seq: r.get(5)?,
                    identity: Some(r.get(6)?),
                })
            },
        )
    }

    fn evidence(&self, case: &str) -> Result<Vec<Evidence>> {
        self.query(
            "SELECT id, path, sha256, size, description, source, stored_at, added_by,
             added_at, ledger_seq FROM evidence WHERE case_id = ?1 ORDER BY id",
            [case],
            |r| {
                Ok(Evidence {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    sha256: r.get(2)?,
                    size: r.get(3)?,
                    description: r.get(4)?,
                    source: r.get(5)?,
                    stored_at: r.get(6)?,
                    added_by: r.get(7)?,
                    added_at: r.get(8)?,
                    ledger_seq: r.get(9)?,
                })
            },
        )
    }
}

/// Whether evidence is named by a provider's identifier rather than a file: an AWS ARN, a GCP
/// full resource name (`//compute.googleapis.com/...`).
fn in_a_cloud(path: &str) -> bool {
    path.starts_with("arn:") || path.starts_with("//")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::store::SourceDigest;

    /// Every verb's entry, kind and payload, is what the store wrote before its payloads had
    /// types: the `json!` of each verb as it was, from the same inputs (issue 9).
    #[test]
    fn every_verb_records_the_json_earlier_releases_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let new = NewCase {
            title: "Leaked key".into(),
            severity: Some("high".into()),
            owner: None,
        };
        let case = store.open_case("alice", &new).unwrap().id;
        let c = case.as_str();
        store.note(c, "alice", "plain", false).unwrap();
        store.note(c, "alice", "learned", true).unwrap();
        store.assign(c, "alice", "bob").unwrap();
        store.add_task(c, "alice", "Rotate", Some("carol")).unwrap();
        store.add_task(c, "alice", "Ask", None).unwrap();
        store.finish_task(c, "alice", 1, "rotated").unwrap();
        let ev = NewEvidence {
            path: "/e/disk.raw".into(),
            sha256: "ab".repeat(32),
            size: 16,
            description: "disk".into(),
            source: None,
            stored_at: "/h/disk.raw".into(),
        };
        store.add_evidence(c, "alice", &ev).unwrap();
        let run = HuntRun {
            inputs: vec!["logs".into()],
            files: vec!["/l/a.json".into()],
            records: 3,
            rules: 2,
            detections: 1,
            sources: vec![SourceDigest {
                path: "/l/a.json".into(),
                sha256: "cd".repeat(32),
                size: 10,
            }],
            aws_ip_ranges: None,
        };
        let d = NewDetection {
            rule_id: "r-1".into(),
            title: "Root login".into(),
            level: "high".into(),
            event_time: None,
            event_id: Some("e-1".into()),
            record_sha256: None,
            file: "/l/a.json".into(),
            record_index: 0,
            json: json!({"rule_id": "other", "level": "low", "principal": "root", "x": 1.5,
                         "evidence": {"event_id": "e-1", "record_index": 0}}),
        };
        store
            .record_hunt(
                HuntCase::Existing(c),
                "alice",
                &run,
                std::slice::from_ref(&d),
            )
            .unwrap();
        let triage = json!({"severity": "high", "reasons": [], "assets": []});
        store
            .record_triage(c, "alice", "high", triage.clone())
            .unwrap();
        store.set_status(c, "alice", "contained", "").unwrap();

        let mut detection = d.json.clone();
        if let Some(map) = detection.as_object_mut() {
            map.insert("rule_id".into(), d.rule_id.clone().into());
            map.insert("rule_title".into(), d.title.clone().into());
            map.insert("level".into(), d.level.clone().into());
            map.insert("event_time".into(), d.event_time.clone().into());
        }
        let (text, owner, id) = ("Ask", None::<&str>, 2);
        let expected: Vec<(&str, Value)> = vec![
            (
                "case.opened",
                json!({"title": new.title, "severity": new.severity, "owner": new.owner}),
            ),
            ("note", json!({"text": "plain"})),
            ("note", json!({"text": "learned", "lesson": true})),
            ("case.assigned", json!({"owner": "bob"})),
            (
                "task.added",
                json!({"task": 1, "text": "Rotate", "owner": "carol"}),
            ),
            (
                "task.added",
                json!({"task": id, "text": text, "owner": owner}),
            ),
            ("task.done", json!({"task": 1, "result": "rotated"})),
            (
                "evidence.added",
                json!({
                    "evidence_id": 1, "path": ev.path, "sha256": ev.sha256, "size": ev.size,
                    "description": ev.description, "source": ev.source, "stored_at": ev.stored_at,
                }),
            ),
            (
                "hunt.run",
                json!({
                    "inputs": run.inputs, "files": run.files, "records": run.records,
                    "rules": run.rules, "detections": run.detections, "sources": run.sources,
                }),
            ),
            ("detection.attached", crate::ledger::normalize(detection)),
            ("case.triaged", triage),
            (
                "case.status",
                json!({"from": "triaged", "to": "contained", "reason": ""}),
            ),
        ];
        let got: Vec<(String, Value)> = store
            .ledger(c)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.payload))
            .collect();
        let expected: Vec<(String, Value)> = expected
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(got, expected);

        // The inventory's log: an earlier release's rows adopted as found, then the import.
        let asset: Asset =
            serde_json::from_value(json!({"provider": "aws", "id": "111122223333"})).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO inventory (provider, id, asset, source, imported_by, imported_at)
                 VALUES ('gcp', 'p', 'not json', 'old', 'a', 't')",
                [],
            )
            .unwrap();
        store
            .import_inventory("alice", "inv.yaml", std::slice::from_ref(&asset))
            .unwrap();
        let payloads: Vec<(String, Value)> = store
            .query(
                "SELECT kind, payload FROM inventory_log ORDER BY seq",
                [],
                |r| Ok((r.get(0)?, r.get::<_, String>(1)?)),
            )
            .unwrap()
            .into_iter()
            .map(|(k, p)| (k, serde_json::from_str(&p).unwrap()))
            .collect();
        let existing = vec![Value::String("not json".into())];
        assert_eq!(
            payloads,
            vec![
                (
                    "inventory.adopted".to_string(),
                    json!({"source": "(inventory of an earlier squall, adopted as found)", "assets": existing})
                ),
                (
                    "inventory.imported".to_string(),
                    json!({"source": "inv.yaml", "assets": [asset]})
                ),
            ]
        );
    }

    #[test]
    fn an_inventory_entry_gives_the_records_that_read_and_names_the_others() {
        let entry = |kind: &str, payload: Value| {
            Entry::new(
                1,
                "t".into(),
                "a".into(),
                kind.into(),
                payload,
                GENESIS.into(),
            )
        };
        let good = json!({"provider": "aws", "id": "111122223333"});
        let records = json!({"source": "s", "assets": [good, "not json", {"id": 1}]});
        for kind in ["inventory.imported", "inventory.adopted"] {
            let read = logged_assets(&entry(kind, records.clone()));
            assert_eq!(read.len(), 3, "{kind}");
            assert_eq!(read[0].as_ref().unwrap().id, "111122223333");
            assert!(read[1].is_err() && read[2].is_err());
        }
        assert!(logged_assets(&entry("note", records)).is_empty());
    }

    #[test]
    fn evidence_is_recorded_by_absolute_path_and_a_relative_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let new = NewCase {
            title: "Disk".into(),
            severity: None,
            owner: None,
        };
        let case = store.open_case("alice", &new).unwrap().id;
        let ev = |path: &str, stored_at: &str| NewEvidence {
            path: path.into(),
            sha256: "ab".repeat(32),
            size: 16,
            description: "disk".into(),
            source: None,
            stored_at: stored_at.into(),
        };
        for (path, stored_at, named) in [
            ("disk.raw", "/h/disk.raw", "evidence path disk.raw"),
            ("/e/disk.raw", "images", "evidence storage path images"),
        ] {
            let err = store
                .add_evidence(&case, "alice", &ev(path, stored_at))
                .unwrap_err()
                .to_string();
            assert!(err.contains(named) && err.contains("relative"), "{err}");
        }
        assert!(
            store.evidence(&case).unwrap().is_empty(),
            "nothing recorded"
        );
        assert_eq!(store.ledger(&case).unwrap().len(), 1, "only case.opened");
        store
            .add_evidence(&case, "alice", &ev("/e/disk.raw", "/e/disk.raw"))
            .unwrap();
        assert_eq!(store.evidence(&case).unwrap()[0].path, "/e/disk.raw");
        // A snapshot kept in the cloud is named by its ARN, where it is kept in words.
        let snapshot = ev(
            "arn:aws:ec2:eu-west-1::snapshot/snap-1",
            "AWS account 111122223333, region eu-west-1",
        );
        store.add_evidence(&case, "alice", &snapshot).unwrap();
    }

    #[test]
    fn resources_are_kept_in_the_inventorys_log_and_a_later_import_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let resource = |env: &str| -> Resource {
            serde_json::from_value(json!({"provider": "aws", "account": "111122223333",
                "id": "i-0abc", "kind": "instance", "tags": {"Environment": env}}))
            .unwrap()
        };
        store
            .import_resources("alice", "/i/a.yaml", &[], &[resource("test")])
            .unwrap();
        store
            .import_resources("alice", "/i/b.yaml", &[], &[resource("prod")])
            .unwrap();
        // An import of accounts alone leaves them be.
        store.import_inventory("alice", "aws-api", &[]).unwrap();
        let checked = store.inventory_checked().unwrap();
        assert!(checked.failures.is_empty(), "{:?}", checked.failures);
        assert_eq!(checked.resources, [resource("prod")]);
        // A resource edited into the log so that it no longer reads is named, not dropped
        // silently.
        store
            .conn
            .execute(
                "UPDATE inventory_log SET payload = json_set(payload, '$.resources[0].tags', 'x')
                 WHERE seq = 2",
                [],
            )
            .unwrap();
        let checked = store.inventory_checked().unwrap();
        assert!(
            checked
                .failures
                .iter()
                .any(|f| f.contains("inventory log entry 2 holds a resource that is not one")),
            "{:?}",
            checked.failures
        );
    }
}
