//! Issue 9: a store and a ledger export written by the previous release (59b42e9) open, verify
//! and display unchanged.
//!
//! `fixtures/previous-release/` keeps a case store made by squall 59b42e9 (`make.sh` there says
//! how): a case with a hunt of a small CloudTrail log, notes, a lesson, tasks, an owner, evidence,
//! a triage against an imported inventory and a phase change, some entries signed with an
//! analyst key; a second case that was closed; and the ledger export 59b42e9 wrote. `golden/`
//! holds what `case show`, `case list`, `ledger verify` (store and export), `timeline`, `scope`,
//! `report` and `inventory list` printed, with their exit codes. Where the code this test was
//! written against (46b51c4) already printed something else than 59b42e9 on purpose, the golden
//! is 46b51c4's and `golden/59b42e9/` keeps the old release's output (see the fixture's README).
//!
//! The case records the absolute paths of the hunted log and of the evidence and re-hashes them
//! when it is shown, so the store is restored at the absolute path it was made at.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Output;

use rusqlite::types::Value as SqlValue;

mod common;

/// Where 59b42e9 made the store, and so where it must be restored.
const HOME: &str = "/tmp/squall-previous-release";
/// Held for the whole test, so that two checkouts tested at once on one machine take turns at
/// the one fixed path.
const LOCK: &str = "/tmp/squall-previous-release.lock";

/// Each golden's name and the command that printed it; `{home}`, `{signer}` and `{head}` are
/// filled in. The same list as in `make.sh`.
const GOLDENS: &[(&str, &[&str])] = &[
    (
        "case-show-C-0001.table",
        &["case", "show", "C-0001", "--format", "table"],
    ),
    (
        "case-show-C-0001.json",
        &["case", "show", "C-0001", "--format", "json"],
    ),
    (
        "case-show-C-0002.json",
        &["case", "show", "C-0002", "--format", "json"],
    ),
    ("case-list.table", &["case", "list", "--format", "table"]),
    ("case-list.json", &["case", "list", "--format", "json"]),
    ("ledger-verify-C-0001", &["ledger", "verify", "C-0001"]),
    (
        "ledger-verify-C-0001-signer",
        &["ledger", "verify", "C-0001", "--signer", "{signer}"],
    ),
    (
        "ledger-verify-C-0001-require-signed",
        &["ledger", "verify", "C-0001", "--require-signed"],
    ),
    ("ledger-verify-C-0002", &["ledger", "verify", "C-0002"]),
    (
        "ledger-verify-export",
        &["ledger", "verify", "--file", "{home}/exports/C-0001.jsonl"],
    ),
    (
        "ledger-verify-export-head",
        &[
            "ledger",
            "verify",
            "--file",
            "{home}/exports/C-0001.jsonl",
            "--expect-head",
            "{head}",
        ],
    ),
    (
        "timeline-C-0001.jsonl",
        &["timeline", "C-0001", "--format", "jsonl"],
    ),
    (
        "timeline-C-0001.table",
        &["timeline", "C-0001", "--format", "table"],
    ),
    (
        "scope-C-0001.json",
        &["scope", "C-0001", "--format", "json"],
    ),
    ("report-C-0001.md", &["report", "C-0001", "--format", "md"]),
    (
        "inventory-list.json",
        &["inventory", "list", "--format", "json"],
    ),
];

/// The tables of 59b42e9's store (schema 5). Migrations may add tables and columns; the rows
/// and columns these held must come through unchanged.
const OLD_TABLES: &[&str] = &[
    "cases",
    "ledger",
    "detections",
    "evidence",
    "case_sources",
    "inventory",
    "tasks",
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/previous-release")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_line(path: &Path) -> String {
    String::from_utf8(read(path)).unwrap().trim().to_string()
}

/// Copies the fixture's home to `to`, as a checkout gives it (files as they are in git).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
    }
}

/// Puts the old release's home back at `HOME`, replacing whatever an earlier run left there.
fn restore(home: &Path) {
    match fs::remove_dir_all(home) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => panic!("cannot clear {}: {e}", home.display()),
    }
    copy_tree(&fixture().join("home"), home);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(home, fs::Permissions::from_mode(0o700)).unwrap();
    }
}

/// Every row of the old tables, in rowid order, with the old columns only.
fn rows(db: &Path, tables: &[(String, Vec<String>)]) -> Vec<Vec<Vec<SqlValue>>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    tables
        .iter()
        .map(|(table, columns)| {
            let sql = format!("SELECT {} FROM {table} ORDER BY rowid", columns.join(", "));
            let mut stmt = conn.prepare(&sql).unwrap();
            stmt.query_map([], |r| {
                (0..columns.len())
                    .map(|i| r.get::<_, SqlValue>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
        })
        .collect()
}

/// The old tables' columns, as 59b42e9 made them.
fn old_columns(db: &Path) -> Vec<(String, Vec<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version, 5,
        "the fixture is a schema-5 store, as 59b42e9 wrote it"
    );
    OLD_TABLES
        .iter()
        .map(|table| {
            let mut stmt = conn
                .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .unwrap();
            let columns = stmt
                .query_map([table], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            assert!(
                !columns.is_empty(),
                "the fixture's store has no table {table}"
            );
            (table.to_string(), columns)
        })
        .collect()
}

/// Blanks what legitimately changes from run to run. Only the report has such a thing: its
/// header line says "Generated by squall <version> at <time of the run>." — when and by which
/// build the report was printed, not anything recorded on the case. The rest of that line and
/// every other line are compared as they are.
fn normalize(name: &str, out: &[u8]) -> String {
    let text =
        String::from_utf8(out.to_vec()).unwrap_or_else(|_| panic!("{name}: output is not UTF-8"));
    if !name.starts_with("report-") {
        return text;
    }
    const MARK: &str = " Generated by squall ";
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with("Status ") && l.contains(MARK))
        .unwrap_or_else(|| panic!("{name}: no \"Generated by squall ... at ...\" line"));
    let start = line.find(MARK).unwrap() + MARK.len();
    assert!(line.ends_with('.'), "{name}: {line}");
    line.replace_range(start.., "<version> at <time>.");
    lines.join("\n")
}

/// Where two outputs part, as "line N: printed / golden".
fn first_difference(got: &str, want: &str) -> String {
    let (mut got_lines, mut want_lines) = (got.split('\n'), want.split('\n'));
    for n in 1.. {
        match (got_lines.next(), want_lines.next()) {
            (None, None) => break,
            (g, w) if g == w => {}
            (g, w) => {
                return format!(
                    " at line {n}:\n  printed {:?}\n  golden  {:?}",
                    g.unwrap_or("(end)"),
                    w.unwrap_or("(end)")
                );
            }
        }
    }
    String::new()
}

fn run(home: &Path, args: &[String]) -> Output {
    common::squall(home)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("squall {args:?}: {e}"))
}

#[test]
fn a_store_and_an_export_from_the_previous_release_open_verify_and_display_unchanged() {
    let started = std::time::Instant::now();
    let lock = fs::File::create(LOCK).unwrap_or_else(|e| panic!("{LOCK}: {e}"));
    lock.lock().unwrap();

    let fixture = fixture();
    let golden = fixture.join("golden");
    let home = Path::new(HOME);
    let export = fixture.join("home/exports/C-0001.jsonl");
    let signer = read_line(&golden.join("signer.pub"));
    let head = read_line(&golden.join("head.sha256"));

    // Every golden file belongs to a command here, and every command has its golden.
    let mut expected: Vec<String> = GOLDENS
        .iter()
        .flat_map(|(name, _)| [format!("{name}.out"), format!("{name}.code")])
        .chain(["head.sha256".to_string(), "signer.pub".to_string()])
        .collect();
    expected.sort();
    let mut present: Vec<String> = fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    present.sort();
    assert_eq!(present, expected, "golden/ and GOLDENS disagree");

    // What 59b42e9 recorded, read from a scratch copy so the fixture itself is never opened.
    let scratch = tempfile::tempdir().unwrap();
    let pristine = scratch.path().join("squall.db");
    fs::copy(fixture.join("home/squall.db"), &pristine).unwrap();
    let columns = old_columns(&pristine);
    let recorded = rows(&pristine, &columns);
    assert!(
        recorded.iter().all(|t| !t.is_empty()),
        "every old table holds something"
    );

    restore(home);
    let fill = |arg: &str| {
        arg.replace("{home}", HOME)
            .replace("{signer}", &signer)
            .replace("{head}", &head)
    };

    // The first command opens (and migrates) the old store; the rest read the migrated one.
    let mut failures = Vec::new();
    for (name, args) in GOLDENS {
        let args: Vec<String> = args.iter().map(|a| fill(a)).collect();
        let out = run(home, &args);
        let want_code: i32 = read_line(&golden.join(format!("{name}.code")))
            .parse()
            .unwrap();
        let want = normalize(name, &read(&golden.join(format!("{name}.out"))));
        let got = normalize(name, &out.stdout);
        if out.status.code() != Some(want_code) {
            failures.push(format!(
                "{name}: `squall {}` exited {:?}, the golden {want_code}",
                args.join(" "),
                out.status.code()
            ));
        }
        if got != want {
            failures.push(format!(
                "{name}: `squall {}` differs from golden/{name}.out{}\n--- printed ---\n{got}",
                args.join(" "),
                first_difference(&got, &want)
            ));
        }
        if !out.stderr.is_empty() {
            failures.push(format!(
                "{name}: `squall {}` wrote to stderr, 59b42e9 did not:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The ledger, after today's squall has opened the store, exports as 59b42e9 exported it,
    // to standard output and to a file.
    let out = run(home, &["ledger".into(), "export".into(), "C-0001".into()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout == read(&export),
        "`ledger export C-0001` differs from the export 59b42e9 wrote:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let again = scratch.path().join("C-0001.jsonl");
    let out = run(
        home,
        &[
            "ledger".into(),
            "export".into(),
            "C-0001".into(),
            "-o".into(),
            again.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(read(&again) == read(&export), "`ledger export -o` differs");

    // And it still verifies after every view above has run on it, ending at the head 59b42e9
    // recorded (the same verdict as the golden: --expect-head passes without a word).
    let out = run(
        home,
        &[
            "ledger".into(),
            "verify".into(),
            "C-0001".into(),
            "--expect-head".into(),
            head.clone(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(read(&golden.join("ledger-verify-C-0001.out"))).unwrap()
    );

    // Nothing already recorded changed: every row and column 59b42e9 wrote is still there as
    // it wrote it (migrations may only add).
    let now = rows(&home.join("squall.db"), &columns);
    for (((table, _), before), after) in columns.iter().zip(&recorded).zip(&now) {
        assert_eq!(before, after, "table {table} changed");
    }

    fs::remove_dir_all(home).unwrap();
    eprintln!("previous release checked in {:.1?}", started.elapsed());
}
