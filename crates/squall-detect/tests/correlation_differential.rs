//! Squall's correlation engine against rsigma-eval's, firing for firing.
//!
//! The hunt runs correlations with Squall's own engine (bounded state) instead of rsigma's
//! (quadratic in a busy group's events). These tests feed both the same correlation inputs, in
//! the hunt's replay order (held, spilled to disk and merged exactly as the hunt does), and
//! require the same firings after every input: same correlation, group, and value. Corpora: the
//! built-in pack's own test events (re-timed and re-keyed into a busy trail), Stratus Red Team's
//! CloudTrail detonations under SigmaHQ's AWS rules with correlations generated over the rules
//! that fire, and seeded random trails with random correlations of every type, window,
//! condition and option. Numeric fields are integers and halves, whose sums are exact in any
//! order (Squall adds in value order, rsigma in arrival order).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use rsigma_eval::{DetectionBody, EvaluationResult, Event, EventValue, ResultBody, RuleHeader};
use serde_json::{Value, json};
use squall_detect::correlate::Correlator;
use squall_detect::rules::{self, Origin, RuleSet, builtin_rules, builtin_tests};
use squall_detect::spill::{CorrInput, Held, Merge, pack};
use squall_logs::{Record, discover, read_input};

/// A held input as rsigma sees it (what the hunt used to hand rsigma's engine).
struct Packed<'a> {
    fields: &'a [String],
    values: &'a [Option<&'a str>],
}

impl Event for Packed<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let at = self.fields.iter().position(|f| f == path)?;
        let value = (*self.values.get(at)?)?;
        Some(EventValue::Str(Cow::Borrowed(value)))
    }
    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.values.iter().flatten().any(|v| pred(v))
    }
    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.values
            .iter()
            .flatten()
            .map(|v| Cow::Borrowed(*v))
            .collect()
    }
    fn to_json(&self) -> Value {
        Value::Null
    }
}

/// (correlation id or title, group, value) fired by one input.
type Fire = (String, Vec<(String, String)>, f64);

/// Feeds the records' correlation inputs to both engines; panics at the first input after
/// which they disagree. Returns the number of firings.
fn differential(name: &str, docs: Vec<(Origin, String)>, records: &[(u32, Vec<u8>)]) -> usize {
    let mut set: RuleSet = rules::build(docs, vec![], None);
    // A tiny budget: nearly every input goes through a sorted run on disk and the merge.
    let mut held = Held::new(4096);
    for (n, (file, bytes)) in records.iter().enumerate() {
        let Ok(record) = Record::parse(bytes, None) else {
            continue;
        };
        let Some(r) = set.routes.iter().position(|r| r.source == record.source()) else {
            continue;
        };
        let route = &set.routes[r];
        for result in route.engine.evaluate(&record) {
            let key = result
                .header
                .rule_id
                .as_deref()
                .unwrap_or(&result.header.rule_title);
            let Some(rule) = route.correlation_inputs.iter().position(|i| i.key == key) else {
                continue;
            };
            let Some(millis) = record.time_millis() else {
                continue;
            };
            held.push(CorrInput {
                millis,
                index: n as u64,
                values: pack(&record, &route.correlation_fields),
                file: *file,
                rule: rule as u16,
                route: r as u8,
            });
        }
    }
    let mut ours: Vec<Correlator> = set.routes.iter().map(Correlator::new).collect();
    let (mut fired, mut inputs, mut out) = (0, 0, Vec::new());
    for c in Merge::new(vec![held]) {
        inputs += 1;
        let (r, rule) = (c.route as usize, c.rule as usize);
        let secs = c.millis.div_euclid(1000);
        let values: Vec<Option<&str>> = c.fields().collect();
        ours[r].feed(rule, &values, secs, &mut out);
        let route = &mut set.routes[r];
        let squall: Vec<Fire> = out
            .drain(..)
            .map(|f| {
                let corr = &route.correlations[f.correlation];
                let id = corr.id.clone().unwrap_or_else(|| corr.title.clone());
                (id, f.group, f.value)
            })
            .collect();
        let input = &route.correlation_inputs[rule];
        let template = EvaluationResult {
            header: RuleHeader {
                rule_title: input.key.clone(),
                rule_id: input.id.clone(),
                level: None,
                tags: Vec::new(),
                custom_attributes: Arc::new(Default::default()),
                enrichments: None,
            },
            body: ResultBody::Detection(DetectionBody {
                matched_selections: Vec::new(),
                matched_fields: Vec::new(),
                event: None,
            }),
        };
        let event = Packed {
            fields: &route.correlation_fields,
            values: &values,
        };
        let rsigma: Vec<Fire> = route
            .engine
            .process_with_detections(&event, vec![template], secs)
            .into_iter()
            .filter_map(|res| {
                let body = res.as_correlation()?;
                let id = res
                    .header
                    .rule_id
                    .clone()
                    .unwrap_or(res.header.rule_title.clone());
                Some((id, body.group_key.clone(), body.aggregated_value))
            })
            .collect();
        assert_eq!(
            squall, rsigma,
            "{name}: input {inputs} (record {} of file {}, rule {}, at {secs} s) fired differently",
            c.index, c.file, input.key
        );
        fired += squall.len();
    }
    eprintln!("{name}: {inputs} correlation inputs, {fired} firings, identical");
    fired
}

/// xorshift: the same seed, the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn time(base: i64, offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp(base + offset_secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn set_path(v: &mut Value, path: &[&str], to: Value) {
    let mut at = v;
    for p in &path[..path.len() - 1] {
        if !at[*p].is_object() {
            at[*p] = json!({});
        }
        at = &mut at[*p];
    }
    at[path[path.len() - 1]] = to;
}

const KEYS: &[&str] = &[
    "AKIAEXAMPLEKEY00001",
    "AKIAEXAMPLEKEY00002",
    "AKIAEXAMPLEKEY00003",
];
const IPS: &[&str] = &[
    "198.51.100.1",
    "198.51.100.2",
    "203.0.113.9",
    "192.0.2.44",
    "ec2.amazonaws.com",
];
const ARNS: &[&str] = &[
    "arn:aws:iam::111122223333:user/dana",
    "arn:aws:iam::111122223333:user/erin",
    "arn:aws:sts::111122223333:assumed-role/ops/x",
];

#[test]
fn builtin_pack_fires_alike_on_its_own_events_retimed_into_a_busy_trail() {
    let templates: Vec<Value> = builtin_tests()
        .flat_map(|(_, text)| text.lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].clone())
        .collect();
    let docs: Vec<_> = builtin_rules()
        .map(|(n, t)| (Origin::Builtin(n), t.to_string()))
        .collect();
    let mut total = 0;
    for seed in 1..=6u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let base = 1_790_000_000;
        let span = *rng.pick(&[600, 3_600, 4 * 3_600]);
        let records: Vec<(u32, Vec<u8>)> = (0..3_000)
            .map(|_| {
                let mut e = rng.pick(&templates).clone();
                let at = time(base, rng.below(span) as i64);
                if e.get("eventTime").is_some() {
                    set_path(&mut e, &["eventTime"], json!(at));
                    set_path(&mut e, &["sourceIPAddress"], json!(rng.pick(IPS)));
                    set_path(&mut e, &["userIdentity", "arn"], json!(rng.pick(ARNS)));
                    if rng.chance(80) {
                        let key = rng.pick(KEYS);
                        set_path(&mut e, &["userIdentity", "accessKeyId"], json!(key));
                    }
                } else {
                    set_path(&mut e, &["timestamp"], json!(at));
                    let who = format!("sa-{}@p.iam.gserviceaccount.com", rng.below(3));
                    let path = ["protoPayload", "authenticationInfo", "principalEmail"];
                    set_path(&mut e, &path, json!(who));
                }
                (rng.below(4) as u32, serde_json::to_vec(&e).unwrap())
            })
            .collect();
        total += differential(
            &format!("built-in pack, seed {seed}"),
            docs.clone(),
            &records,
        );
    }
    assert!(total > 0, "the built-in correlations never fired");
}

/// A random correlation over `refs` (rule names or ids), as Sigma YAML.
fn random_correlation(rng: &mut Rng, n: usize, refs: &[String], numeric: &str) -> String {
    let kinds = [
        "event_count",
        "value_count",
        "temporal",
        "temporal_ordered",
        "value_sum",
        "value_avg",
        "value_percentile",
        "value_median",
    ];
    let kind = *rng.pick(&kinds);
    let mut chosen: Vec<String> = refs.iter().filter(|_| rng.chance(50)).cloned().collect();
    if chosen.is_empty() {
        chosen.push(rng.pick(refs).clone());
    }
    let groups = [
        "userIdentity.accessKeyId",
        "sourceIPAddress",
        "userIdentity.arn",
        "eventName",
    ];
    let mut group_by: Vec<String> = groups
        .iter()
        .filter(|_| rng.chance(30))
        .map(|g| g.to_string())
        .collect();
    let mut aliases = String::new();
    if rng.chance(20) {
        aliases = "    aliases:\n        who:\n".to_string();
        for (i, r) in chosen.iter().enumerate() {
            let field = if i % 2 == 0 {
                "userIdentity.arn"
            } else {
                "sourceIPAddress"
            };
            aliases += &format!("            {r}: {field}\n");
        }
        group_by.push("who".into());
    }
    let ops = ["gt", "gte", "lt", "lte", "eq", "neq"];
    let mut cond = String::new();
    let threshold = |rng: &mut Rng| rng.below(6) + u64::from(kind.starts_with("value_s"));
    if rng.chance(15) {
        cond += &format!("        gte: {}\n", threshold(rng));
        cond += &format!("        lte: {}\n", threshold(rng) + 3);
    } else {
        cond += &format!("        {}: {}\n", rng.pick(&ops), threshold(rng));
    }
    let condition = match kind {
        "value_count" => {
            let field = if rng.chance(25) {
                "[sourceIPAddress, eventName]"
            } else {
                *rng.pick(&["sourceIPAddress", "userIdentity.arn", "userAgent"])
            };
            format!("    condition:\n        field: {field}\n{cond}")
        }
        "temporal" | "temporal_ordered" => {
            if rng.chance(30) && chosen.len() >= 2 {
                let (a, b) = (&chosen[0], &chosen[1]);
                let expr = rng.pick(&["and", "or", "and not"]);
                format!("    condition: {a} {expr} {b}\n")
            } else if rng.chance(50) {
                String::new()
            } else {
                format!("    condition:\n{cond}")
            }
        }
        "value_percentile" => {
            let p = rng.pick(&[10, 50, 90, 100]);
            format!("    condition:\n        field: {numeric}\n        percentile: {p}\n{cond}")
        }
        "event_count" => format!("    condition:\n{cond}"),
        _ => format!("    condition:\n        field: {numeric}\n{cond}"),
    };
    let timespan = rng.pick(&["30s", "2m", "10m", "1h"]);
    let window = match rng.below(3) {
        0 => "    window: tumbling\n".to_string(),
        1 => format!(
            "    window: session\n    gap: {}\n",
            rng.pick(&["20s", "1m", "5m"])
        ),
        _ => String::new(),
    };
    let mut extra = String::new();
    if rng.chance(25) {
        extra += "rsigma.action: alert\n";
    }
    if rng.chance(20) {
        extra += &format!("rsigma.suppress: {}\n", rng.pick(&["30s", "3m"]));
    }
    if rng.chance(30) {
        extra += &format!("rsigma.max_group_entries: '{}'\n", 1 + rng.below(4));
    }
    if rng.chance(20) {
        extra += "generate: true\n";
    }
    let rules: String = chosen.iter().map(|r| format!("        - {r}\n")).collect();
    let group: String = group_by
        .iter()
        .map(|g| format!("        - {g}\n"))
        .collect();
    let group = if group.is_empty() {
        String::new()
    } else {
        format!("    group-by:\n{group}")
    };
    format!(
        "title: generated correlation {n}\nid: 7e1d0000-0000-4000-8000-{n:012}\nname: gen_corr_{n}\n\
         correlation:\n    type: {kind}\n    rules:\n{rules}{group}    timespan: {timespan}\n\
         {window}{aliases}{condition}{extra}level: high\n"
    )
}

#[test]
fn random_correlations_fire_alike_on_random_trails() {
    let names = ["A", "B", "C", "D"];
    // gen_a..gen_c have an id and a name; gen_d only a name (rsigma then feeds it to nothing).
    let mut detection_docs: Vec<(Origin, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let id = if i < 3 {
                format!("id: 5a1e0000-0000-4000-8000-00000000000{i}\n")
            } else {
                String::new()
            };
            let lower = n.to_lowercase();
            let text = format!(
                "title: generated rule {n}\n{id}name: gen_{lower}\nlogsource:\n    product: aws\n    \
                 service: cloudtrail\ndetection:\n    selection:\n        eventName: '{n}'\n    \
                 condition: selection\nlevel: low\n"
            );
            (Origin::Builtin("generated"), text)
        })
        .collect();
    // Rules may be named by name or by id.
    let refs: Vec<String> = vec![
        "gen_a".into(),
        "gen_b".into(),
        "gen_c".into(),
        "gen_d".into(),
        "5a1e0000-0000-4000-8000-000000000001".into(),
    ];
    // A second rule on the same events: one record, two inputs, replayed in a fixed order.
    detection_docs.push((
        Origin::Builtin("generated"),
        "title: generated rule A2\nid: 5a1e0000-0000-4000-8000-0000000000aa\nname: gen_a2\n\
         logsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    selection:\n        \
         eventName: 'A'\n    condition: selection\nlevel: low\n"
            .to_string(),
    ));
    let refs: Vec<String> = refs.into_iter().chain(["gen_a2".to_string()]).collect();
    let mut total = 0;
    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let mut docs = detection_docs.clone();
        let mut corrs = String::new();
        for n in 0..1 + rng.below(5) as usize {
            let text = random_correlation(
                &mut rng,
                seed as usize * 10 + n,
                &refs,
                "requestParameters.size",
            );
            corrs += &text;
            docs.push((Origin::Builtin("generated-correlation"), text));
        }
        let base = 1_790_000_000 + rng.below(1_000) as i64;
        let span = *rng.pick(&[60, 600, 7_200]);
        let records: Vec<(u32, Vec<u8>)> = (0..600)
            .map(|_| {
                let mut e = json!({
                    "eventVersion": "1.09",
                    "eventSource": "s3.amazonaws.com",
                    "eventName": rng.pick(&["A", "B", "C", "D", "E"]),
                    "eventTime": time(base, rng.below(span) as i64),
                    "awsRegion": "eu-west-1",
                    "userIdentity": {"type": "IAMUser", "arn": rng.pick(ARNS)},
                    "recipientAccountId": "111122223333",
                });
                if rng.chance(85) {
                    set_path(&mut e, &["sourceIPAddress"], json!(rng.pick(IPS)));
                }
                if rng.chance(80) {
                    set_path(
                        &mut e,
                        &["userIdentity", "accessKeyId"],
                        json!(rng.pick(KEYS)),
                    );
                }
                if rng.chance(50) {
                    set_path(
                        &mut e,
                        &["userAgent"],
                        json!(format!("cli/{}", rng.below(3))),
                    );
                }
                let size = match rng.below(10) {
                    0 => None,
                    1 => Some(json!("n/a")),
                    2 => Some(json!(format!("{}.5", rng.below(50)))),
                    3 => Some(json!(-(rng.below(20) as i64))),
                    _ => Some(json!(rng.below(100))),
                };
                if let Some(size) = size {
                    set_path(&mut e, &["requestParameters", "size"], size);
                }
                (rng.below(3) as u32, serde_json::to_vec(&e).unwrap())
            })
            .collect();
        let set = rules::build(docs.clone(), vec![], None);
        assert!(
            set.problems.is_empty(),
            "seed {seed}: {:?}\n{corrs}",
            set.problems
        );
        total += differential(&format!("random trail, seed {seed}"), docs, &records);
    }
    assert!(total > 100, "random correlations fired only {total} times");
}

fn datasets() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    if p.join("stratus-red-team").is_dir() && p.join("sigmahq").is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but ../shared/datasets (Stratus Red Team, SigmaHQ) is absent"
    );
    eprintln!("skipped: ../shared/datasets is absent");
    None
}

#[test]
fn sigmahq_and_builtin_correlations_fire_alike_on_stratus_detonations() {
    let Some(data) = datasets() else { return };
    let mut records = Vec::new();
    let found = discover(&[data.join("stratus-red-team")]);
    for (i, input) in found.inputs.iter().enumerate() {
        read_input(
            input,
            i,
            Default::default(),
            Arc::new(AtomicU64::new(0)),
            &mut |batch| {
                for raw in &batch.records {
                    records.push((i as u32, batch.record(raw).to_vec()));
                }
            },
            &mut |_| {},
        );
    }
    assert!(
        records.len() > 100,
        "Stratus corpus: {} records",
        records.len()
    );
    let mut docs: Vec<(Origin, String)> = builtin_rules()
        .map(|(n, t)| (Origin::Builtin(n), t.to_string()))
        .collect();
    for entry in walkdir::WalkDir::new(data.join("sigmahq/rules/cloud/aws")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            docs.push((Origin::File(entry.path().to_path_buf()), text));
        }
    }
    // The SigmaHQ rules that match something here, found by the detection engine itself.
    let set = rules::build(docs.clone(), vec![], None);
    let mut firing: Vec<String> = Vec::new();
    for (_, bytes) in &records {
        let Ok(record) = Record::parse(bytes, None) else {
            continue;
        };
        let Some(route) = set.route(record.source()) else {
            continue;
        };
        for r in route.engine.evaluate(&record) {
            if let Some(id) = r.header.rule_id
                && !firing.contains(&id)
            {
                firing.push(id);
            }
        }
    }
    firing.sort();
    assert!(
        firing.len() >= 5,
        "only {} rules match Stratus",
        firing.len()
    );
    let mut total = 0;
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0xA076_1D64_78BD_642F) | 1);
        let mut with = docs.clone();
        for n in 0..4 {
            let text = random_correlation(
                &mut rng,
                900 + seed as usize * 10 + n,
                &firing,
                "requestParameters.durationSeconds",
            );
            with.push((Origin::Builtin("generated-correlation"), text));
        }
        total += differential(&format!("Stratus + SigmaHQ, seed {seed}"), with, &records);
    }
    assert!(total > 0, "no correlation fired on Stratus");
}
