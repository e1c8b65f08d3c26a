//! The hunt pipeline: read every input, match every record, correlate in event-time order.
//!
//! Reader threads take whole files (decompress, split into records) and hand batches of raw
//! records over a bounded channel to one worker per core, which parse and match them. Memory is
//! the channel's few batches plus the largest record. Matches of rules that feed a correlation
//! are kept in a compact form (time, group-by values, a pointer to the record), spilled to sorted
//! runs on disk past a memory budget ([`crate::spill`]), and replayed in event-time order after
//! all files are read through Squall's correlation engine ([`crate::correlate`]), so a
//! correlation sees a key's uses in the order they happened whatever file they were delivered in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rsigma_eval::RuleHeader;
use squall_logs::{
    Batch, Input, LogSource, ReadOptions, Record, RecordError, SkipReason, Summary, Warning,
    read_input, read_input_hashed,
};

use crate::aws_ranges::AwsRanges;
use crate::correlate::Correlator;
use crate::credentials::{Finding, MAX_PAIRS, Uses};
use crate::detection::{CorrelationFacts, Detection, Evidence, Level, RuleMeta};
use crate::rules::{Route, RuleSet};
use crate::spill::{CorrInput, Held, MEMORY_BUDGET, Merge, pack};

/// How to hunt.
#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    /// Treat every record as this log (`--input-format`); otherwise each record's shape decides.
    pub forced: Option<LogSource>,
    /// Only records at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Only records before this time (ms since the epoch).
    pub until: Option<i64>,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub read: ReadOptions,
    /// Hash each file (not standard input) with the very read that parses it, for a case's
    /// chain of custody: [`Stats::digests`].
    pub hash_files: bool,
    /// AWS's IP ranges the stolen-credential detector places addresses with
    /// (`--aws-ip-ranges`); the copy shipped with Squall when `None`.
    pub aws_ranges: Option<Arc<crate::aws_ranges::AwsRanges>>,
    /// Instances' own public addresses as the inventory read them, by instance id: the
    /// detector tells their calls from a thief's by them.
    pub instance_addresses: HashMap<String, Vec<String>>,
}

/// Counters that a progress display may read while the hunt runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Compressed bytes read from disk.
    pub disk_bytes: Arc<AtomicU64>,
    /// Records handed to the workers.
    pub records: AtomicU64,
    pub files_done: AtomicU64,
}

/// What was read, matched and skipped: the run summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub files: u64,
    /// Records found in the input, including skipped ones.
    pub records: u64,
    /// Records matched against rules, by log source.
    pub by_source: BTreeMap<LogSource, u64>,
    /// Decompressed bytes.
    pub bytes: u64,
    /// Bytes read from disk.
    pub disk_bytes: u64,
    /// Skipped records (or files) by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Records outside `--since`/`--until`.
    pub outside_window: u64,
    /// Correlation inputs without a usable timestamp.
    pub untimed_correlation_inputs: u64,
    /// Number of warnings (input problems) reported.
    pub warnings: u64,
    /// With [`HuntOptions::hash_files`]: each file's SHA-256 and size, by input index, taken
    /// from the bytes the hunt parsed (a file that could not be read has none).
    pub digests: BTreeMap<usize, squall_logs::FileDigest>,
    /// Distinct (access key, address) pairs the stolen-credential detector learned, and
    /// those it had no room for (past `credentials::MAX_PAIRS`).
    pub credential_pairs: u64,
    pub credential_pairs_dropped: u64,
}

/// Where a hunt delivers what it finds, from any worker thread, as soon as it finds it: so
/// memory does not grow with the number of detections, and output formatting runs in parallel.
pub trait Sink: Sync {
    /// An input problem (bad record, unreadable file), with its position.
    fn warning(&self, warning: &Warning);
    /// Detections of one batch of records, in record order within a file. Correlations arrive
    /// last, after every file is read.
    fn detections(&self, detections: Vec<Detection>);
}

/// A sink that keeps everything, for callers that want a sorted list (and tests).
#[derive(Default)]
pub struct Collector {
    detections: Mutex<Vec<Detection>>,
    warnings: Mutex<Vec<Warning>>,
}

impl Collector {
    /// Detections sorted by event time, then file and record.
    pub fn into_sorted(self) -> (Vec<Detection>, Vec<Warning>) {
        let mut d = self.detections.into_inner().unwrap();
        sort_detections(&mut d);
        (d, self.warnings.into_inner().unwrap())
    }
}

impl Sink for Collector {
    fn warning(&self, warning: &Warning) {
        self.warnings.lock().unwrap().push(warning.clone());
    }
    fn detections(&self, detections: Vec<Detection>) {
        self.detections.lock().unwrap().extend(detections);
    }
}

/// Event time first; records without a time last; then file and position.
pub fn sort_detections(detections: &mut [Detection]) {
    detections.sort_by(|a, b| {
        let key = |d: &Detection| (d.event_millis.unwrap_or(i64::MAX), d.evidence.record_index);
        (key(a).0, &a.evidence.file, key(a).1).cmp(&(key(b).0, &b.evidence.file, key(b).1))
    });
}

struct WorkerOut {
    corr: Held,
    /// What this worker learned of every key (only when the detector runs).
    uses: Option<Uses>,
    by_source: BTreeMap<LogSource, u64>,
    skipped: BTreeMap<SkipReason, u64>,
    outside_window: u64,
    untimed: u64,
    warnings: u64,
}

/// Per route: which correlation input (position in the route's `correlation_inputs`) a rule
/// key is.
fn input_index(route: &Route) -> HashMap<String, u32> {
    route
        .correlation_inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (input.key.clone(), i as u32))
        .collect()
}

fn route_slot(source: LogSource) -> usize {
    LogSource::EVENTS
        .iter()
        .position(|s| *s == source)
        .unwrap_or(LogSource::EVENTS.len())
}

/// Runs the rules over every input, handing warnings and detections to `sink` as they are
/// found, and returns the run's counts.
pub fn hunt(
    inputs: &[Input],
    rules: &mut RuleSet,
    options: &HuntOptions,
    progress: &Progress,
    sink: &dyn Sink,
) -> Stats {
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        options.threads
    };
    let mut slots: Vec<Option<usize>> = vec![None; LogSource::EVENTS.len() + 1];
    for (i, route) in rules.routes.iter().enumerate() {
        slots[route_slot(route.source)] = Some(i);
    }
    let corr_index: Vec<HashMap<String, u32>> = rules.routes.iter().map(input_index).collect();

    let next_file = AtomicUsize::new(0);
    let digests: Mutex<BTreeMap<usize, squall_logs::FileDigest>> = Mutex::new(BTreeMap::new());
    let digests_ref = &digests;
    let read_skips: Mutex<BTreeMap<SkipReason, u64>> = Mutex::new(BTreeMap::new());
    let read_warnings = AtomicU64::new(0);
    let decompressed = AtomicU64::new(0);
    let total_records = AtomicU64::new(0);
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(threads * 2);

    let routes = &rules.routes;
    let info = &rules.info;
    let rules_native = &rules.native;
    let names: Vec<Arc<str>> = inputs.iter().map(|i| Arc::from(i.name.as_str())).collect();
    let names = &names[..];
    let outs: Vec<WorkerOut> = std::thread::scope(|s| {
        let readers = threads.min(inputs.len()).max(1);
        for _ in 0..readers {
            let tx = tx.clone();
            let (next_file, read_skips, read_warnings) = (&next_file, &read_skips, &read_warnings);
            let (decompressed, total_records) = (&decompressed, &total_records);
            let digests = digests_ref;
            s.spawn(move || {
                loop {
                    let i = next_file.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    // A closed channel means the workers are gone; nothing to do but stop.
                    let mut on_batch = |batch| {
                        let _ = tx.send(batch);
                    };
                    let mut on_warning = |w: Warning| {
                        read_warnings.fetch_add(1, Ordering::Relaxed);
                        *read_skips.lock().unwrap().entry(w.reason).or_insert(0) += 1;
                        sink.warning(&w);
                    };
                    let totals = if options.hash_files && input.path.is_some() {
                        match read_input_hashed(
                            input,
                            i,
                            options.read,
                            progress.disk_bytes.clone(),
                            &mut on_batch,
                            &mut on_warning,
                        ) {
                            Ok((totals, digest)) => {
                                digests.lock().unwrap().insert(i, digest);
                                totals
                            }
                            Err(e) => {
                                on_warning(Warning::file(
                                    &input.name,
                                    SkipReason::Unreadable,
                                    e.to_string(),
                                ));
                                Default::default()
                            }
                        }
                    } else {
                        read_input(
                            input,
                            i,
                            options.read,
                            progress.disk_bytes.clone(),
                            &mut on_batch,
                            &mut on_warning,
                        )
                    };
                    decompressed.fetch_add(totals.bytes, Ordering::Relaxed);
                    total_records.fetch_add(totals.records, Ordering::Relaxed);
                    progress.files_done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        drop(tx);
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                let (slots, corr_index) = (&slots, &corr_index);
                s.spawn(move || {
                    let mut out = WorkerOut {
                        corr: Held::new(MEMORY_BUDGET / threads),
                        // Each worker learns its share of the pairs the detector holds.
                        uses: (!rules_native.is_empty())
                            .then(|| Uses::with_cap(MAX_PAIRS / threads)),
                        by_source: BTreeMap::new(),
                        skipped: BTreeMap::new(),
                        outside_window: 0,
                        untimed: 0,
                        warnings: 0,
                    };
                    for batch in rx {
                        progress
                            .records
                            .fetch_add(batch.records.len() as u64, Ordering::Relaxed);
                        match_batch(
                            &batch, routes, slots, corr_index, info, names, options, sink, &mut out,
                        );
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a hunt worker panicked"))
            .collect()
    });

    let mut stats = Stats {
        files: inputs.len() as u64,
        records: total_records.load(Ordering::Relaxed),
        bytes: decompressed.load(Ordering::Relaxed),
        disk_bytes: progress.disk_bytes.load(Ordering::Relaxed),
        skipped: read_skips.into_inner().unwrap(),
        warnings: read_warnings.load(Ordering::Relaxed),
        digests: digests.into_inner().unwrap(),
        ..Stats::default()
    };
    let mut held = Vec::with_capacity(outs.len());
    let mut uses: Option<Uses> = None;
    for out in outs {
        held.push(out.corr);
        if let Some(u) = out.uses {
            match &mut uses {
                Some(all) => all.merge(u),
                None => uses = Some(u),
            }
        }
        for (k, v) in out.by_source {
            *stats.by_source.entry(k).or_insert(0) += v;
        }
        for (k, v) in out.skipped {
            *stats.skipped.entry(k).or_insert(0) += v;
        }
        stats.outside_window += out.outside_window;
        stats.untimed_correlation_inputs += out.untimed;
        stats.warnings += out.warnings;
    }

    let mut fired = correlate(&rules.routes, Merge::new(held));
    if let Some(uses) = uses {
        stats.credential_pairs = uses.pairs() as u64;
        stats.credential_pairs_dropped = uses.dropped;
        // Keys left unlearned are a warning (`--strict` makes it fatal).
        stats.warnings += u64::from(uses.dropped > 0);
        let ranges = options
            .aws_ranges
            .clone()
            .unwrap_or_else(AwsRanges::shipped);
        fired.extend(
            uses.findings(&ranges, &options.instance_addresses)
                .into_iter()
                .filter(|f| rules.native.contains(&f.rule))
                .map(credential_fired),
        );
    }
    let correlated = finish_correlations(inputs, rules, options, fired);
    if !correlated.is_empty() {
        sink.detections(correlated);
    }
    stats
}

#[allow(clippy::too_many_arguments)]
fn match_batch(
    batch: &Batch,
    routes: &[Route],
    slots: &[Option<usize>],
    corr_index: &[HashMap<String, u32>],
    info: &HashMap<String, Arc<RuleMeta>>,
    names: &[Arc<str>],
    options: &HuntOptions,
    sink: &dyn Sink,
    out: &mut WorkerOut,
) {
    let file = &*names[batch.file];
    let mut found = Vec::new();
    for raw in &batch.records {
        let record = match Record::parse(batch.record(raw), options.forced) {
            Ok(r) => r,
            Err(e) => {
                let reason = match e {
                    RecordError::Utf8(_) => SkipReason::InvalidUtf8,
                    RecordError::Json(_) => SkipReason::Malformed,
                    RecordError::NotObject => SkipReason::WrongShape,
                };
                skip(out, sink, file, raw, reason, e.to_string());
                continue;
            }
        };
        let source = record.source();
        match source {
            LogSource::CloudTrailDigest => continue,
            LogSource::Unknown => {
                let msg = "JSON object of no known log (not CloudTrail, GCP audit or Azure); \
                           help: --input-format forces one";
                skip(out, sink, file, raw, SkipReason::Unrecognized, msg.into());
                continue;
            }
            _ => {}
        }
        // Read, but with something to say (a repeated key, a value too deep, no usable time):
        // named and counted, not skipped.
        for w in record.warnings(file, raw) {
            out.warnings += 1;
            sink.warning(&w);
        }
        *out.by_source.entry(source).or_insert(0) += 1;
        let mut millis = None;
        if options.since.is_some() || options.until.is_some() {
            millis = record.time_millis();
            if let Some(t) = millis
                && (options.since.is_some_and(|s| t < s) || options.until.is_some_and(|u| t >= u))
            {
                out.outside_window += 1;
                continue;
            }
        }
        // Every key's addresses, learned whatever the rules match.
        if let Some(uses) = &mut out.uses
            && let Some(used) = record.credential_use()
        {
            millis = millis.or_else(|| record.time_millis());
            if let Some(t) = millis {
                uses.observe(&used, t, batch.file as u32, raw.index);
            }
        }
        let Some(route_idx) = slots[route_slot(source)] else {
            continue;
        };
        let route = &routes[route_idx];
        let results = route.engine.evaluate(&record);
        if results.is_empty() {
            continue;
        }
        let millis = millis.or_else(|| record.time_millis());
        let mut summary: Option<Arc<Summary>> = None;
        let mut digest: Option<String> = None;
        for result in results {
            let id = result
                .header
                .rule_id
                .as_deref()
                .unwrap_or(&result.header.rule_title);
            if let Some(&rule) = corr_index[route_idx].get(id) {
                let Some(millis) = millis else {
                    out.untimed += 1;
                    continue;
                };
                out.corr.push(CorrInput {
                    millis,
                    index: raw.index,
                    values: pack(&record, &route.correlation_fields),
                    file: batch.file as u32,
                    rule: rule as u16,
                    route: route_idx as u8,
                });
                continue;
            }
            let summary = summary
                .get_or_insert_with(|| Arc::new(record.summary()))
                .clone();
            found.push(Detection {
                rule: rule_meta(info, &result.header, source),
                summary,
                event_millis: millis,
                evidence: Evidence {
                    file: names[batch.file].clone(),
                    record_index: raw.index,
                    line: raw.line,
                    byte_offset: raw.offset,
                    record_sha256: digest
                        .get_or_insert_with(|| Evidence::digest(batch.record(raw)))
                        .clone(),
                },
                correlation: None,
            });
        }
    }
    if !found.is_empty() {
        sink.detections(found);
    }
}

fn skip(
    out: &mut WorkerOut,
    sink: &dyn Sink,
    file: &str,
    raw: &squall_logs::RawRef,
    reason: SkipReason,
    message: String,
) {
    *out.skipped.entry(reason).or_insert(0) += 1;
    out.warnings += 1;
    sink.warning(&Warning {
        file: file.to_string(),
        record: Some(raw.index),
        line: raw.line,
        offset: Some(raw.offset),
        reason,
        message,
    });
}

/// The shared metadata of the rule behind a result; rules are registered at load, so the
/// fallback only guards against a result naming a rule Squall did not load.
fn rule_meta(
    info: &HashMap<String, Arc<RuleMeta>>,
    header: &RuleHeader,
    source: LogSource,
) -> Arc<RuleMeta> {
    let id = header.rule_id.as_deref().unwrap_or(&header.rule_title);
    info.get(id).cloned().unwrap_or_else(|| {
        Arc::new(RuleMeta::new(
            id.to_string(),
            header.rule_title.clone(),
            crate::detection::level_from_sigma(header.level.as_ref()),
            header.tags.clone(),
            String::new(),
            source,
        ))
    })
}

/// A correlation (or a `generate: true` input) that fired, before its record is re-read.
struct Fired {
    /// The rule's key (id, or title) in the rule set's `info`.
    rule: String,
    source: LogSource,
    correlation: Option<CorrelationFacts>,
    millis: i64,
    file: u32,
    index: u64,
}

/// Replays the held matches in event-time order through each route's correlation engine.
fn correlate(routes: &[Route], inputs: Merge) -> Vec<Fired> {
    let mut engines: Vec<Correlator> = routes.iter().map(Correlator::new).collect();
    // Sigma reports a correlation's inputs only with `generate: true`; rsigma 0.23 also
    // withholds an input whose id a `generate: false` correlation names, and Squall agrees.
    let reported: Vec<Vec<bool>> = routes
        .iter()
        .map(|r| {
            r.correlation_inputs
                .iter()
                .map(|i| {
                    r.generated_inputs.contains(&i.key)
                        && !i
                            .id
                            .as_ref()
                            .is_some_and(|id| r.correlation_only_refs.contains(id))
                })
                .collect()
        })
        .collect();
    let mut fired = Vec::new();
    let mut firings = Vec::new();
    for c in inputs {
        let (r, rule) = (c.route as usize, c.rule as usize);
        let route = &routes[r];
        let at = |rule: String, correlation| Fired {
            rule,
            source: route.source,
            correlation,
            millis: c.millis,
            file: c.file,
            index: c.index,
        };
        if reported[r][rule] {
            fired.push(at(route.correlation_inputs[rule].key.clone(), None));
        }
        let values: Vec<Option<&str>> = c.fields().collect();
        engines[r].feed(rule, &values, c.millis.div_euclid(1000), &mut firings);
        for f in firings.drain(..) {
            let corr = &route.correlations[f.correlation];
            let facts = CorrelationFacts {
                kind: serde_json::to_value(corr.correlation_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                group: f.group,
                value: f.value,
                timespan_secs: corr.timespan_secs,
            };
            let key = corr.id.clone().unwrap_or_else(|| corr.title.clone());
            fired.push(at(key, Some(facts)));
        }
    }
    fired
}

/// A stolen-credential finding as a fired rule: its record is re-read like a correlation's,
/// and what it is about (the key, where it was used from, where it belongs) is its group.
fn credential_fired(f: Finding) -> Fired {
    let mut group = vec![
        ("accessKeyId".to_string(), f.key),
        ("sourceIPAddress".to_string(), f.source),
        ("seen from".to_string(), f.place),
    ];
    if let Some(i) = f.instance {
        group.push(("instance".to_string(), i));
    }
    if !f.usual.is_empty() {
        group.push(("usually from".to_string(), f.usual.join(" ")));
    }
    Fired {
        rule: f.rule.id.to_string(),
        source: LogSource::CloudTrail,
        correlation: Some(CorrelationFacts {
            kind: "credential_use".to_string(),
            group,
            value: f.seen.count as f64,
            timespan_secs: ((f.seen.last - f.seen.first).max(0) / 1000) as u64,
        }),
        millis: f.seen.first,
        file: f.seen.file,
        index: f.seen.index,
    }
}

/// A fired record found again: its summary, byte offset, line and digest.
type Reread = (Summary, u64, Option<u64>, String);

/// Turns fired correlations into detections, re-reading each triggering record (once per file)
/// for its summary: holding every correlation input's summary in memory would cost far more.
fn finish_correlations(
    inputs: &[Input],
    rules: &RuleSet,
    options: &HuntOptions,
    fired: Vec<Fired>,
) -> Vec<Detection> {
    let mut wanted: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
    for f in &fired {
        wanted.entry(f.file).or_default().insert(f.index);
    }
    // Files are re-read in parallel; a run with many correlation alerts touches many files.
    let wanted: Vec<_> = wanted.into_iter().collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let found: Mutex<HashMap<(u32, u64), Reread>> = Mutex::new(HashMap::new());
    std::thread::scope(|s| {
        for _ in 0..threads.min(wanted.len()) {
            s.spawn(|| {
                while let Some((file, indices)) = wanted.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let input = &inputs[*file as usize];
                    if input.path.is_none() {
                        continue; // stdin cannot be read twice
                    }
                    let mut local = Vec::new();
                    read_input(
                        input,
                        *file as usize,
                        options.read,
                        Arc::new(AtomicU64::new(0)),
                        &mut |batch| {
                            for raw in &batch.records {
                                if indices.contains(&raw.index)
                                    && let Ok(r) = Record::parse(batch.record(raw), options.forced)
                                {
                                    local.push((
                                        (*file, raw.index),
                                        (
                                            r.summary(),
                                            raw.offset,
                                            raw.line,
                                            Evidence::digest(batch.record(raw)),
                                        ),
                                    ));
                                }
                            }
                        },
                        &mut |_| {},
                    );
                    found.lock().unwrap().extend(local);
                }
            });
        }
    });
    let summaries = found.into_inner().unwrap();
    fired
        .into_iter()
        .map(|f| {
            let (mut summary, offset, line, record_sha256) = summaries
                .get(&(f.file, f.index))
                .cloned()
                .unwrap_or_default();
            let correlation = f.correlation;
            if let Some(facts) = &correlation
                && summary.principal.is_none()
            {
                // The group is what a correlation is about; show it where the table looks.
                let group: Vec<_> = facts.group.iter().map(|(_, v)| v.as_str()).collect();
                summary.principal = Some(group.join(" "));
            }
            if summary.time.is_none() {
                summary.time = chrono::DateTime::from_timestamp_millis(f.millis)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            Detection {
                rule: rules.info.get(&f.rule).cloned().unwrap_or_else(|| {
                    // Every loaded rule is registered; this only guards the impossible.
                    Arc::new(RuleMeta::new(
                        f.rule.clone(),
                        f.rule.clone(),
                        Level::Informational,
                        Vec::new(),
                        String::new(),
                        f.source,
                    ))
                }),
                summary: Arc::new(summary),
                event_millis: Some(f.millis),
                evidence: Evidence {
                    file: Arc::from(inputs[f.file as usize].name.as_str()),
                    record_index: f.index,
                    line,
                    byte_offset: offset,
                    record_sha256,
                },
                correlation,
            }
        })
        .collect()
}
