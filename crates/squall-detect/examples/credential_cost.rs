//! What the stolen-credential detector costs a hunt: the same corpus hunted with the built-in
//! rules, with the detector and without it (the floor), one pass per process so each has its
//! own peak RSS.
//!
//! `cargo run --release -p squall-detect --example credential_cost -- LOG_PATH on|off`

use std::time::Instant;

use squall_detect::{Collector, HuntOptions, Progress, hunt, rules};
use squall_logs::discover;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(mode)) = (args.first(), args.get(1)) else {
        eprintln!("usage: credential_cost LOG_PATH on|off");
        std::process::exit(2);
    };
    let mut set = rules::load(&[], true, None);
    if mode == "off" {
        set.native.clear();
    }
    let inputs = discover(&[path.into()]).inputs;
    let sink = Collector::default();
    let started = Instant::now();
    let stats = hunt(
        &inputs,
        &mut set,
        &HuntOptions::default(),
        &Progress::default(),
        &sink,
    );
    let secs = started.elapsed().as_secs_f64();
    let (found, _) = sink.into_sorted();
    let native = found
        .iter()
        .filter(|d| d.rule.source == "builtin:native/credentials")
        .count();
    println!(
        "detector {mode}: {} records in {secs:.2} s, {:.0} records/s; {} key-address pairs ({} uses past the cap); {} detections, {native} from the detector",
        stats.records,
        stats.records as f64 / secs,
        stats.credential_pairs,
        stats.credential_pairs_dropped,
        found.len()
    );
}
