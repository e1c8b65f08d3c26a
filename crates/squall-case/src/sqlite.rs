//! The embedded store: one SQLite file in the Squall home, in WAL mode so several `squall`
//! processes can read while one writes. Writes take the write lock up front
//! (`BEGIN IMMEDIATE`) and wait for it, so two processes appending to one ledger serialize
//! instead of failing, and each write is one transaction: a crash leaves either all of it or
//! none of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::json;

use crate::inventory::Asset;
use crate::ledger::{Entry, GENESIS};
use crate::signing::AnalystKey;
use crate::store::{
    Attached, AttachedDetection, Case, Evidence, HuntRun, NewCase, NewDetection, NewEvidence,
    Result, STATUSES, Store, StoreError, Task,
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
];

/// The SQLite case store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Signs every entry this store appends, when the analyst has a key.
    signer: Option<AnalystKey>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.display().to_string(),
            source,
        })?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            signer: None,
        };
        store.setup()?;
        Ok(store)
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

/// Appends one entry to a case's ledger and moves its head, inside `tx`.
fn append(
    tx: &Transaction,
    w: &Writing<'_>,
    case: &str,
    actor: &str,
    kind: &str,
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
    if status == "closed" {
        return Err(StoreError::Closed(case.to_string()));
    }
    let mut entry = Entry::new(
        seq + 1,
        now(),
        actor.to_string(),
        kind.to_string(),
        payload,
        prev,
    );
    if let Some(key) = w.signer {
        let (public, signature) = key.sign(&entry.hash);
        entry.signer = Some(public);
        entry.signature = Some(signature);
    }
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
        if new.title.trim().is_empty() {
            return Err(StoreError::Invalid("a case needs a title (--title)".into()));
        }
        let id = self.write(|tx, w| {
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
            let payload = json!({"title": new.title, "severity": new.severity, "owner": new.owner});
            append(tx, w, &id, actor, "case.opened", payload)?;
            Ok(id)
        })?;
        self.case(&id)
    }

    fn note(&mut self, case: &str, actor: &str, text: &str, lesson: bool) -> Result<Entry> {
        let payload = if lesson {
            json!({"text": text, "lesson": true})
        } else {
            json!({"text": text})
        };
        self.write(|tx, w| append(tx, w, case, actor, "note", payload))
    }

    fn record_action(
        &mut self,
        case: &str,
        actor: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<Entry> {
        if !matches!(
            kind,
            "action.planned" | "action.executed" | "action.verified" | "action.failed"
        ) {
            return Err(StoreError::Invalid(format!("not an action stage: {kind}")));
        }
        self.write(|tx, w| append(tx, w, case, actor, kind, payload))
    }

    fn assign(&mut self, case: &str, actor: &str, owner: &str) -> Result<Entry> {
        self.write(|tx, w| {
            let entry = append(tx, w, case, actor, "case.assigned", json!({"owner": owner}))?;
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
            let entry = append(
                tx,
                w,
                case,
                actor,
                "case.status",
                json!({"from": current, "to": status, "reason": reason}),
            )?;
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
        self.write(|tx, w| {
            let mut outcome = Attached::default();
            for d in detections {
                let identity = match &d.event_id {
                    Some(id) => format!("event:{id}"),
                    None => format!("record:{}#{}", d.file, d.record_index),
                };
                let known: bool = tx
                    .query_row(
                        "SELECT 1 FROM detections WHERE case_id = ?1 AND rule_id = ?2 AND identity = ?3",
                        params![case, d.rule_id, identity],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(sql(w.path))?
                    .is_some();
                if known {
                    outcome.already_attached += 1;
                    continue;
                }
                let entry = append(tx, w, case, actor, "detection.attached", d.json.clone())?;
                tx.execute(
                    "INSERT INTO detections (case_id, rule_id, identity, title, level, event_time,
                     detection, ledger_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        case,
                        d.rule_id,
                        identity,
                        d.title,
                        d.level,
                        d.event_time,
                        d.json.to_string(),
                        entry.seq
                    ],
                )
                .map_err(sql(w.path))?;
                // The incident was identified no later than its earliest detection.
                if let Some(t) = &d.event_time {
                    tx.execute(
                        "UPDATE cases SET identified_at = ?2
                         WHERE id = ?1 AND (identified_at IS NULL OR identified_at > ?2)",
                        params![case, t],
                    )
                    .map_err(sql(w.path))?;
                }
                outcome.added += 1;
            }
            Ok(outcome)
        })
    }

    fn add_evidence(&mut self, case: &str, actor: &str, ev: &NewEvidence) -> Result<Evidence> {
        self.write(|tx, w| {
            let id: u64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(id), 0) + 1 FROM evidence WHERE case_id = ?1",
                    [case],
                    |r| r.get(0),
                )
                .map_err(sql(w.path))?;
            let payload = json!({
                "evidence_id": id, "path": ev.path, "sha256": ev.sha256, "size": ev.size,
                "description": ev.description, "source": ev.source, "stored_at": ev.stored_at,
            });
            let entry = append(tx, w, case, actor, "evidence.added", payload)?;
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
        })
    }

    fn record_hunt(&mut self, case: &str, actor: &str, run: &HuntRun) -> Result<Entry> {
        self.write(|tx, w| {
            let payload = json!({
                "inputs": run.inputs, "files": run.files, "records": run.records,
                "rules": run.rules, "detections": run.detections,
            });
            let entry = append(tx, w, case, actor, "hunt.run", payload)?;
            for file in &run.files {
                tx.execute(
                    "INSERT OR IGNORE INTO case_sources (case_id, path, ledger_seq) VALUES (?1, ?2, ?3)",
                    params![case, file, entry.seq],
                )
                .map_err(sql(w.path))?;
            }
            Ok(entry)
        })
    }

    fn import_inventory(&mut self, actor: &str, source: &str, assets: &[Asset]) -> Result<usize> {
        self.write(|tx, w| {
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
            let entry = append(tx, w, case, actor, "case.triaged", payload)?;
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
            let entry = append(tx, w, case, actor, "task.added", json!({"task": id, "text": text, "owner": owner}))?;
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
            let entry = append(
                tx,
                w,
                case,
                actor,
                "task.done",
                json!({"task": id, "result": result}),
            )?;
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
            |r| {
                let payload: String = r.get(4)?;
                Ok(Entry {
                    seq: r.get(0)?,
                    time: r.get(1)?,
                    actor: r.get(2)?,
                    kind: r.get(3)?,
                    // A payload that no longer parses is itself tampering; keep its text so
                    // verification reports the entry instead of failing to read the ledger.
                    payload: serde_json::from_str(&payload)
                        .unwrap_or(serde_json::Value::String(payload)),
                    prev_hash: r.get(5)?,
                    hash: r.get(6)?,
                    signer: r.get(7)?,
                    signature: r.get(8)?,
                })
            },
        )
    }

    fn detections(&self, case: &str) -> Result<Vec<AttachedDetection>> {
        self.query(
            "SELECT rule_id, title, level, event_time, detection, ledger_seq FROM detections
             WHERE case_id = ?1 ORDER BY event_time, ledger_seq",
            [case],
            |r| {
                let json: String = r.get(4)?;
                Ok(AttachedDetection {
                    rule_id: r.get(0)?,
                    title: r.get(1)?,
                    level: r.get(2)?,
                    event_time: r.get(3)?,
                    detection: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
                    ledger_seq: r.get(5)?,
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
