//! What matching alone costs: records are read and parsed first, then only rsigma's
//! `evaluate` is timed, on one thread. Separates the rule engine's share of `squall hunt` from
//! reading, parsing and output.
//!
//! `cargo run --release -p squall-detect --example eval_cost -- LOG_PATH [RULE_DIR...]`

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use squall_detect::rules;
use squall_logs::{LogSource, ReadOptions, Record, discover, read_input};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: eval_cost LOG_PATH [RULE_DIR...]");
        std::process::exit(2);
    };
    let rule_dirs: Vec<_> = args[1..].iter().map(std::path::PathBuf::from).collect();
    let set = rules::load(&rule_dirs, true, None);
    let route = set.route(LogSource::CloudTrail).expect("CloudTrail rules");
    let found = discover(&[path.into()]);
    let mut batches = Vec::new();
    for (i, input) in found.inputs.iter().enumerate() {
        read_input(
            input,
            i,
            ReadOptions::default(),
            Arc::new(AtomicU64::new(0)),
            &mut |b| batches.push(b),
            &mut |_| {},
        );
    }
    let started = Instant::now();
    let mut records = Vec::new();
    for b in &batches {
        for r in &b.records {
            records.push(Record::parse(b.record(r), None).expect("valid corpus"));
        }
    }
    let parse = started.elapsed();
    // Nested members are parsed on first use; warm them so the timed pass is matching only.
    for r in &records {
        route.engine.evaluate(r);
    }
    let started = Instant::now();
    let mut matches = 0usize;
    for r in &records {
        matches += route.engine.evaluate(r).len();
    }
    let eval = started.elapsed();
    let n = records.len() as f64;
    println!(
        "{} records, {} rules: top-level parse {:.2} us/record; evaluate {:.2} us/record ({matches} matches)",
        records.len(),
        route.detection_rules + route.correlation_rules,
        parse.as_secs_f64() * 1e6 / n,
        eval.as_secs_f64() * 1e6 / n,
    );
}
