//! The workflows as a second front end (the web UI) will call them: no argument parser, plain
//! options in, typed results out.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use squall_case::Store;
use squall_core::Status;
use squall_detect::{Detection, Progress, Sink};
use squall_flow::case::{self, Ledger};
use squall_flow::hunt::{CaseTarget, Hunt, HuntRequest};
use squall_flow::respond::{Outcomes, Response};
use squall_flow::{Context, activity, aws};
use squall_logs::Warning;

#[derive(Default)]
struct Counting {
    detections: AtomicU64,
    warnings: Mutex<Vec<String>>,
}

impl Sink for Counting {
    fn warning(&self, w: &Warning) {
        self.warnings.lock().unwrap().push(w.to_string());
    }
    fn detections(&self, found: Vec<Detection>) {
        self.detections
            .fetch_add(found.len() as u64, Ordering::Relaxed);
    }
}

fn context(home: &std::path::Path) -> Context {
    Context::new(Some(home), Some("alice@test".into()), None).unwrap()
}

/// Hunts the bundled examples into a new case and returns its id.
fn hunted_case(ctx: &Context) -> (String, u64) {
    let request = HuntRequest {
        builtin: true,
        max_record_mib: 16,
        case: Some(CaseTarget::New("Example incident".into())),
        ..Default::default()
    };
    let mut hunt = Hunt::prepare(request, Some(ctx), Some(&ctx.home)).unwrap();
    assert!(
        hunt.notices[0].contains("bundled example logs"),
        "{:?}",
        hunt.notices
    );
    hunt.check().unwrap();
    let sink = Counting::default();
    let stats = hunt.run(&Progress::default(), &sink);
    assert!(stats.records > 0);
    let attached = hunt.attach(&stats).unwrap().expect("a case hunt attaches");
    let shown = sink.detections.load(Ordering::Relaxed);
    assert_eq!(attached.added, shown, "every detection shown is attached");
    assert!(attached.warnings.is_empty(), "{:?}", attached.warnings);
    // The summary names the run's numbers.
    let lines = hunt.summary(&stats, [0, 0, 0, shown, 0], 0, Default::default());
    assert!(lines[0].starts_with("squall hunt: 4 files"), "{lines:?}");
    assert_eq!(lines[3], format!("  detections: {shown} high"), "{lines:?}");
    (attached.case, shown)
}

#[test]
fn a_hunt_into_a_case_then_its_views_and_its_ledger_without_a_front_end() {
    let home = tempfile::tempdir().unwrap();
    let ctx = context(home.path());
    let (id, shown) = hunted_case(&ctx);
    assert_eq!(id, "C-0001");

    let (file, affected) = case::show(&ctx, &id).unwrap();
    assert!(file.integrity.verified());
    assert_eq!(file.detections.len() as u64, shown);
    assert!(
        affected
            .iter()
            .any(|a| a.account == "111122223333" && a.regions.contains("eu-central-1")),
        "{affected:?}"
    );
    // Every detection read back is a typed finding from a log record.
    assert!(file.detections.iter().all(|d| d.finding.is_some()));

    // The same hunt again attaches nothing twice.
    let request = HuntRequest {
        builtin: true,
        max_record_mib: 16,
        case: Some(CaseTarget::Existing(id.clone())),
        ..Default::default()
    };
    let mut again = Hunt::prepare(request, Some(&ctx), Some(&ctx.home)).unwrap();
    let stats = again.run(&Progress::default(), &Counting::default());
    let attached = again.attach(&stats).unwrap().unwrap();
    assert_eq!((attached.added, attached.already_attached), (0, shown));

    // Activity: the actors' events, in a window around detection 1.
    let mut file = activity::load(&ctx.store().unwrap(), &id).unwrap();
    let window = activity::window(&file, Some("1"), "1h", "1h").unwrap();
    let act = activity::activity(&mut file, &activity::DEFAULT_PIVOTS, window);
    assert!(!act.events.is_empty());
    let err = activity::window(&file, Some("999"), "1h", "1h").unwrap_err();
    assert!(err.to_string().contains("--around takes 1 to"), "{err}");

    // The ledger verifies in the store and as an export; a changed export does not.
    let policy = squall_case::SignaturePolicy::default();
    let v = case::verify(&ctx, Ledger::Case(&id), None, &policy).unwrap();
    assert!(v.intact && v.line.contains("tables agree"), "{}", v.line);
    let (export, entries) = case::export(&ctx, &id).unwrap();
    assert_eq!(export.lines().count(), entries);
    let path = home.path().join("export.jsonl");
    std::fs::write(&path, &export).unwrap();
    assert!(
        case::verify(&ctx, Ledger::Export(&path), None, &policy)
            .unwrap()
            .intact
    );
    std::fs::write(
        &path,
        export.replacen("Example incident", "Nothing happened", 1),
    )
    .unwrap();
    let v = case::verify(&ctx, Ledger::Export(&path), None, &policy).unwrap();
    assert!(!v.intact && v.line.starts_with("TAMPERED at"), "{}", v.line);

    // The postmortem is built from the same case file.
    let (md, file, _) = case::report(&ctx, &id, case::ReportFormat::Markdown).unwrap();
    assert!(md.contains("Example incident") && file.integrity.verified());
}

#[test]
fn release_refuses_what_the_case_never_isolated_before_calling_the_provider() {
    let home = tempfile::tempdir().unwrap();
    let ctx = context(home.path());
    let new = squall_case::NewCase {
        title: "t".into(),
        ..Default::default()
    };
    let id = ctx.store().unwrap().open_case(&ctx.actor, &new).unwrap().id;
    let r = Response {
        case: id.clone(),
        approved: true,
        concurrency: 1,
        place: Default::default(),
    };
    // An endpoint nothing listens on: the refusal must come from the ledger, not a call.
    let target = squall_aws::Target {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: Some("us-east-1".into()),
        ..Default::default()
    };
    let err = aws::release(&ctx, &r, &target, vec!["i-0abc".into()], &mut |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("case C-0001 has no isolation of i-0abc to undo"),
        "{err}"
    );
    // Nothing was recorded.
    assert_eq!(ctx.store().unwrap().ledger(&id).unwrap().len(), 1);
}

#[test]
fn a_runs_summary_says_what_changed_and_what_did_not() {
    let outcome = |status| squall_core::Outcome {
        action: "isolate-instance".into(),
        resource: "i-1".into(),
        status,
        error: None,
        ledger_seq: None,
        observed: None,
    };
    let planned = Outcomes {
        outcomes: vec![outcome(Status::Planned), outcome(Status::Failed)],
        approved: false,
    };
    assert_eq!(
        planned.summary("C-0001"),
        "nothing changed: add --yes to carry out the plan (2 resource(s), 1 could not be planned)"
    );
    let ran = Outcomes {
        outcomes: vec![outcome(Status::Verified), outcome(Status::Unchanged)],
        approved: true,
    };
    assert_eq!(
        ran.summary("C-0001"),
        "1 verified, 1 already done (nothing changed), 0 failed — recorded in case C-0001"
    );
    assert_eq!(ran.failed().count(), 0);
}

#[test]
fn a_case_folder_is_where_saved_input_goes() {
    let home = tempfile::tempdir().unwrap();
    let ctx = context(home.path());
    let folder = ctx.case_folder("C-0007").unwrap();
    assert_eq!(folder.root(), home.path().join("cases/C-0007"));
    assert!(ctx.case_folder("../C-0007").is_err());
}
