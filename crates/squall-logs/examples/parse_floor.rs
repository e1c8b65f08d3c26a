//! The floor for `squall hunt`'s speed: the same files, read by the same reader on the same
//! threads, each record parsed once into a typed CloudTrail struct, and nothing else.
//!
//! `cargo run --release -p squall-logs --example parse_floor -- PATH... [--threads N]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use serde::Deserialize;
use serde::de::IgnoredAny;
use squall_logs::{ReadOptions, discover, read_input};

/// The fields a CloudTrail consumer reads; nested members are validated but not built.
#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudTrail<'a> {
    event_version: Option<&'a str>,
    event_time: Option<&'a str>,
    event_source: Option<&'a str>,
    event_name: Option<&'a str>,
    aws_region: Option<&'a str>,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: Option<&'a str>,
    user_agent: Option<&'a str>,
    #[serde(rename = "eventID")]
    event_id: Option<&'a str>,
    error_code: Option<&'a str>,
    recipient_account_id: Option<&'a str>,
    user_identity: Option<IgnoredAny>,
    request_parameters: Option<IgnoredAny>,
    response_elements: Option<IgnoredAny>,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args[i + 1].parse().expect("--threads N");
        args.drain(i..=i + 1);
    }
    let paths: Vec<_> = args.iter().map(std::path::PathBuf::from).collect();
    let found = discover(&paths);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let (records, bytes, failed) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = found.inputs.get(i) else {
                        break;
                    };
                    let totals = read_input(
                        input,
                        i,
                        ReadOptions::default(),
                        Arc::new(AtomicU64::new(0)),
                        &mut |batch| {
                            for r in &batch.records {
                                if serde_json::from_slice::<CloudTrail>(batch.record(r)).is_err() {
                                    failed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        },
                        &mut |_| {},
                    );
                    records.fetch_add(totals.records, Ordering::Relaxed);
                    bytes.fetch_add(totals.bytes, Ordering::Relaxed);
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let (n, b) = (records.into_inner(), bytes.into_inner());
    println!(
        "parse-only: {n} records, {:.1} MB in {secs:.2} s: {:.0} records/s, {:.1} MB/s ({} failed)",
        b as f64 / 1e6,
        n as f64 / secs,
        b as f64 / 1e6 / secs,
        failed.into_inner()
    );
}
