//! `collect`'s hours over time, against the fake: an hour still filling is written partial,
//! and superseded once a later run writes it whole. One test function, because Application
//! Default Credentials are read from the process's environment.

use std::collections::HashMap;

use chrono::{Duration, DurationRound, Utc};
use serde_json::json;
use squall_gcp::collect::{AuditLog, File, Request, collect};

#[test]
fn a_filling_hour_is_partial_until_a_later_run_writes_it_whole() {
    let fake = squall_gcp_fake::Fake::start();
    let adc = tempfile::tempdir().unwrap();
    let path = fake.write_adc(adc.path());
    // SAFETY: set before any thread of this process reads the environment.
    unsafe { std::env::set_var("GOOGLE_APPLICATION_CREDENTIALS", &path) };
    let now = Utc::now();
    let hour = now.duration_trunc(Duration::hours(1)).unwrap();
    let entry = |at: chrono::DateTime<Utc>, id: &str| {
        json!({
            "insertId": id,
            "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "severity": "NOTICE",
            "resource": {"type": "gce_instance", "labels": {"project_id": "acme-prod"}},
            "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "methodName": "v1.compute.instances.stop"},
        })
    };
    fake.add_log_entries(
        "acme-prod",
        [
            entry(hour - Duration::minutes(30), "a"),
            entry(hour + Duration::seconds(1), "b"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let conn = rt
        .block_on(squall_gcp::connect(&squall_gcp::Target {
            endpoint: Some(fake.url.clone()),
            ..Default::default()
        }))
        .unwrap();
    let mut req = Request {
        projects: vec!["acme-prod".into()],
        logs: vec![AuditLog::Activity],
        since: hour - Duration::hours(1),
        until: now,
        dir: dir.path().to_path_buf(),
        recorded: HashMap::new(),
        now,
    };
    let mut files: Vec<File> = Vec::new();
    let report = rt
        .block_on(collect(
            &conn,
            &req,
            &mut |f: &[File]| {
                files.extend_from_slice(f);
                Ok(())
            },
            &mut |_| {},
        ))
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.entries, 2);
    let partial: Vec<&File> = files
        .iter()
        .filter(|f| f.path.to_string_lossy().contains(".partial-"))
        .collect();
    // The hour now is still filling (and the one before, within 30 minutes of its end).
    assert!(!partial.is_empty(), "{files:?}");
    assert!(report.superseded.is_empty());

    // Two hours on, both hours have settled: written whole, and the partial files superseded.
    req.recorded = files
        .iter()
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect();
    req.until = hour + Duration::hours(1);
    req.now = now + Duration::hours(2);
    let mut later: Vec<File> = Vec::new();
    let report = rt
        .block_on(collect(
            &conn,
            &req,
            &mut |f: &[File]| {
                later.extend_from_slice(f);
                Ok(())
            },
            &mut |_| {},
        ))
        .unwrap();
    assert!(
        later
            .iter()
            .all(|f| !f.path.to_string_lossy().contains(".partial-")),
        "{later:?}"
    );
    let mut superseded = report.superseded.clone();
    superseded.sort();
    let mut expected: Vec<String> = partial
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    expected.sort();
    assert_eq!(superseded, expected);
    // The whole files hold every entry once.
    let lines: usize = later
        .iter()
        .chain(
            files
                .iter()
                .filter(|f| !f.path.to_string_lossy().contains(".partial-")),
        )
        .map(|f| std::fs::read_to_string(&f.path).unwrap().lines().count())
        .sum();
    assert_eq!(lines, 2);
}
