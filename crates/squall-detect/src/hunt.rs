//! The hunt pipeline: read every input, match every record, correlate in event-time order.
//!
//! Reader threads take whole files (decompress, split into records) and hand batches of raw
//! records over a bounded channel to one worker per core, which parse and match them. Memory is
//! the channel's few batches plus the largest record. Matches of rules that feed a correlation
//! are kept in a compact form (time, group-by values, a pointer to the record) and replayed in
//! event-time order after all files are read, so a correlation sees a key's uses in the order
//! they happened whatever file they were delivered in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rsigma_eval::{DetectionBody, EvaluationResult, Event, EventValue, ResultBody, RuleHeader};
use serde_json::{Map, Value};
use squall_logs::{
    Batch, Input, LogSource, ReadOptions, Record, RecordError, SkipReason, Summary, Warning,
    read_input,
};

use crate::detection::{CorrelationFacts, Detection, Evidence, Level, RuleMeta};
use crate::rules::{Route, RuleSet};

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

/// A match held for the correlation pass: small on purpose, there may be millions.
/// Forty bytes and one allocation: the record is found again by (file, index) when it fires.
struct CorrInput {
    millis: i64,
    index: u64,
    /// The route's correlation fields, each as a presence byte (1/0) and the value, separated
    /// by [`FIELD_SEP`].
    values: Box<str>,
    file: u32,
    rule: u16,
    route: u8,
}

const FIELD_SEP: char = '\u{1f}';

/// Packs a record's values of the correlation fields; see [`CorrInput::values`].
fn pack_values(record: &Record<'_>, fields: &[String]) -> Box<str> {
    let mut packed = String::new();
    for field in fields {
        match record.get_field(field).and_then(|v| event_value_text(&v)) {
            Some(v) => {
                packed.push('1');
                packed.push_str(&v);
            }
            None => packed.push('0'),
        }
        packed.push(FIELD_SEP);
    }
    packed.into_boxed_str()
}

#[derive(Default)]
struct WorkerOut {
    corr: Vec<CorrInput>,
    by_source: BTreeMap<LogSource, u64>,
    skipped: BTreeMap<SkipReason, u64>,
    outside_window: u64,
    untimed: u64,
    warnings: u64,
}

/// Per route: the correlation inputs' rule ids in a fixed order, and a result template for each.
struct CorrTemplates {
    index: HashMap<String, u32>,
    results: Vec<EvaluationResult>,
}

fn templates(route: &Route) -> CorrTemplates {
    let mut index = HashMap::new();
    let mut results = Vec::new();
    for rule in route.engine.engine().rules() {
        let id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
        if route.correlation_inputs.contains(&id) {
            index.insert(id, results.len() as u32);
            results.push(EvaluationResult {
                header: RuleHeader {
                    rule_title: rule.title.clone(),
                    rule_id: rule.id.clone(),
                    level: rule.level,
                    // The correlation engine keys on id and title; output takes tags from the
                    // rule's metadata, so the template stays cheap to clone per input.
                    tags: Vec::new(),
                    custom_attributes: Arc::new(HashMap::new()),
                    enrichments: None,
                },
                body: ResultBody::Detection(DetectionBody {
                    matched_selections: Vec::new(),
                    matched_fields: Vec::new(),
                    event: None,
                }),
            });
        }
    }
    CorrTemplates { index, results }
}

fn route_slot(source: LogSource) -> usize {
    LogSource::EVENTS
        .iter()
        .position(|s| *s == source)
        .unwrap_or(LogSource::EVENTS.len())
}

fn event_value_text(v: &EventValue<'_>) -> Option<String> {
    match v {
        EventValue::Array(items) => items.iter().find_map(event_value_text),
        other => other.as_str().map(|s| s.into_owned()),
    }
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
    let corr_templates: Vec<CorrTemplates> = rules.routes.iter().map(templates).collect();

    let next_file = AtomicUsize::new(0);
    let read_skips: Mutex<BTreeMap<SkipReason, u64>> = Mutex::new(BTreeMap::new());
    let read_warnings = AtomicU64::new(0);
    let decompressed = AtomicU64::new(0);
    let total_records = AtomicU64::new(0);
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(threads * 2);

    let routes = &rules.routes;
    let info = &rules.info;
    let names: Vec<Arc<str>> = inputs.iter().map(|i| Arc::from(i.name.as_str())).collect();
    let names = &names[..];
    let outs: Vec<WorkerOut> = std::thread::scope(|s| {
        let readers = threads.min(inputs.len()).max(1);
        for _ in 0..readers {
            let tx = tx.clone();
            let (next_file, read_skips, read_warnings) = (&next_file, &read_skips, &read_warnings);
            let (decompressed, total_records) = (&decompressed, &total_records);
            s.spawn(move || {
                loop {
                    let i = next_file.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(i) else { break };
                    let totals = read_input(
                        input,
                        i,
                        options.read,
                        progress.disk_bytes.clone(),
                        &mut |batch| {
                            // A closed channel means the workers are gone; nothing to do but stop.
                            let _ = tx.send(batch);
                        },
                        &mut |w| {
                            read_warnings.fetch_add(1, Ordering::Relaxed);
                            *read_skips.lock().unwrap().entry(w.reason).or_insert(0) += 1;
                            sink.warning(&w);
                        },
                    );
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
                let (slots, corr_templates) = (&slots, &corr_templates);
                s.spawn(move || {
                    let mut out = WorkerOut::default();
                    for batch in rx {
                        progress
                            .records
                            .fetch_add(batch.records.len() as u64, Ordering::Relaxed);
                        match_batch(
                            &batch,
                            routes,
                            slots,
                            corr_templates,
                            info,
                            names,
                            options,
                            sink,
                            &mut out,
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
        ..Stats::default()
    };
    // Merge into the largest worker's list: no second copy of the biggest allocation.
    let mut outs = outs;
    outs.sort_by_key(|o| std::cmp::Reverse(o.corr.len()));
    let mut corr = outs
        .first_mut()
        .map(|o| std::mem::take(&mut o.corr))
        .unwrap_or_default();
    corr.reserve_exact(outs.iter().map(|o| o.corr.len()).sum());
    for out in outs {
        corr.extend(out.corr);
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

    let fired = correlate(&mut rules.routes, &corr_templates, corr);
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
    corr_templates: &[CorrTemplates],
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
            if let Some(&rule) = corr_templates[route_idx].index.get(id) {
                let Some(millis) = millis else {
                    out.untimed += 1;
                    continue;
                };
                out.corr.push(CorrInput {
                    millis,
                    index: raw.index,
                    values: pack_values(&record, &route.correlation_fields),
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
            Level::from_sigma(header.level.as_ref()),
            header.tags.clone(),
            String::new(),
            source,
        ))
    })
}

/// A correlation (or a `generate: true` input) that fired, before its record is re-read.
struct Fired {
    result: EvaluationResult,
    source: LogSource,
    millis: i64,
    file: u32,
    index: u64,
}

/// A correlation input seen through rsigma's [`Event`]: only the packed correlation fields.
struct PackedEvent<'a> {
    fields: &'a [String],
    values: &'a str,
}

impl Event for PackedEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let at = self.fields.iter().position(|f| f == path)?;
        let value = self.values.split(FIELD_SEP).nth(at)?.strip_prefix('1')?;
        Some(EventValue::Str(std::borrow::Cow::Borrowed(value)))
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.values
            .split(FIELD_SEP)
            .filter_map(|v| v.strip_prefix('1'))
            .any(pred)
    }

    fn all_string_values(&self) -> Vec<std::borrow::Cow<'_, str>> {
        self.values
            .split(FIELD_SEP)
            .filter_map(|v| v.strip_prefix('1'))
            .map(std::borrow::Cow::Borrowed)
            .collect()
    }

    fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (field, value) in self.fields.iter().zip(self.values.split(FIELD_SEP)) {
            if let Some(v) = value.strip_prefix('1') {
                map.insert(field.clone(), Value::String(v.to_string()));
            }
        }
        Value::Object(map)
    }
}

/// Replays the held matches in event-time order through each route's correlation engine.
fn correlate(
    routes: &mut [Route],
    templates: &[CorrTemplates],
    mut inputs: Vec<CorrInput>,
) -> Vec<Fired> {
    inputs.sort_unstable_by_key(|c| (c.millis, c.file, c.index));
    let mut fired = Vec::new();
    for c in inputs {
        let route = &mut routes[c.route as usize];
        let event = PackedEvent {
            fields: &route.correlation_fields,
            values: &c.values,
        };
        let result = templates[c.route as usize].results[c.rule as usize].clone();
        let out =
            route
                .engine
                .process_with_detections(&event, vec![result], c.millis.div_euclid(1000));
        for result in out {
            // rsigma 0.23 only filters `generate: false` inputs referenced by id, not by name, so
            // Squall applies Sigma's rule itself: an input is reported only with `generate: true`.
            if result.is_detection() {
                let id = result
                    .header
                    .rule_id
                    .as_deref()
                    .unwrap_or(&result.header.rule_title);
                if !route.generated_inputs.contains(id) {
                    continue;
                }
            }
            fired.push(Fired {
                result,
                source: route.source,
                millis: c.millis,
                file: c.file,
                index: c.index,
            });
        }
    }
    fired
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
            let correlation = match &f.result.body {
                ResultBody::Correlation(c) => Some(CorrelationFacts {
                    kind: serde_json::to_value(c.correlation_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    group: c.group_key.clone(),
                    value: c.aggregated_value,
                    timespan_secs: c.timespan_secs,
                }),
                ResultBody::Detection(_) => None,
            };
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
                rule: rule_meta(&rules.info, &f.result.header, f.source),
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
