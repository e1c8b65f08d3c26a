//! Every built-in rule fires on the events written for it and stays quiet on the look-alikes.

use squall_detect::rules::{self, Origin, builtin_rules, builtin_tests};
use squall_logs::Record;

#[derive(serde::Deserialize)]
struct Case {
    expect: String,
    note: String,
    event: serde_json::Value,
}

fn rule_id(yaml: &str) -> String {
    let doc: yaml_serde::Value = yaml_serde::from_str(yaml).unwrap();
    doc["id"].as_str().unwrap().to_string()
}

#[test]
fn every_builtin_rule_loads_without_problems() {
    let set = rules::load(&[], true, None);
    assert!(
        set.problems.is_empty(),
        "{:?}",
        set.problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
    );
    // The Sigma pack, and the stolen-credential detector's rules (tested in
    // `stolen_credentials.rs`).
    assert_eq!(
        set.active_rules(),
        builtin_rules().count() + squall_detect::credentials::RULES.len()
    );
}

#[test]
fn every_builtin_detection_rule_has_matching_and_non_matching_events() {
    let tests: std::collections::HashMap<_, _> = builtin_tests().collect();
    let mut checked = 0;
    for (path, yaml) in builtin_rules() {
        if yaml.contains("\ncorrelation:") {
            continue; // exercised end to end in `correlations_fire_in_event_time_order`
        }
        let stem = path.rsplit('/').next().unwrap().trim_end_matches(".yml");
        let cases = tests
            .get(stem)
            .unwrap_or_else(|| panic!("built-in rule {path} has no rules/tests/{stem}.jsonl"));
        let set = rules::build(
            vec![(Origin::Builtin("under-test"), yaml.to_string())],
            vec![],
            None,
        );
        assert!(set.problems.is_empty(), "{path}: {:?}", set.problems);
        let id = rule_id(yaml);
        let (mut matches, mut non_matches) = (0, 0);
        for line in cases.lines() {
            let case: Case = serde_json::from_str(line).unwrap();
            let bytes = serde_json::to_vec(&case.event).unwrap();
            let record = Record::parse(&bytes, None).unwrap();
            let route = set
                .route(record.source())
                .expect("rule routed to the event's log");
            let fired = route
                .engine
                .evaluate(&record)
                .iter()
                .any(|r| r.header.rule_id.as_deref() == Some(id.as_str()));
            match case.expect.as_str() {
                "match" => {
                    assert!(fired, "{stem}: should match: {}", case.note);
                    matches += 1;
                }
                "no-match" => {
                    assert!(!fired, "{stem}: should not match: {}", case.note);
                    non_matches += 1;
                }
                other => panic!("{stem}: unknown expectation {other}"),
            }
        }
        assert!(
            matches > 0 && non_matches > 0,
            "{stem} needs both kinds of events"
        );
        checked += 1;
    }
    assert!(checked >= 16, "only {checked} rules checked");
}
