//! Squall's correlation engine: Sigma correlations over one route's matches, fed in event-time
//! order, with state bounded by the window and the distinct values in it.
//!
//! rsigma-eval 0.23 keeps every matching event of a group in a deque and rescans it on every
//! new event (a `HashSet` of all values for `value_count`), so one busy key within one window
//! costs time quadratic in its events: a leaked key flooding cheap calls stalls the hunt. This
//! engine reproduces rsigma's firings exactly (the differential tests in
//! `tests/correlation_differential.rs` hold it to that) with other state:
//!
//! - the times of a group's events are run-length counts per distinct second, so
//!   `event_count` and the temporal types keep at most one entry per second of the window;
//! - `value_count` keeps each distinct value once, with the arrival number of its latest
//!   event: a value is in the window while that number is;
//! - the numeric aggregations keep a count per distinct value and per second.
//!
//! So the state of a group is bounded by its window (in seconds) and its distinct values, not by
//! its events, and each event costs O(log) work (the numeric aggregations: O(distinct values)).
//!
//! The engine needs inputs in non-decreasing time, which the hunt provides (it replays every
//! correlation input in event-time order). rsigma's semantics are reproduced in that setting:
//! timestamps are whole seconds clamped to `[0, i64::MAX / 2]`; sliding, tumbling and session
//! windows; group-by with missing fields (a missing value is a group of its own) and aliases;
//! conditions `gt`/`gte`/`lt`/`lte`/`eq`/`neq` and ranges; `rsigma.suppress`, `rsigma.action`
//! and `rsigma.max_group_entries`; after a firing the group is cleared (Squall's default action,
//! `reset`) or kept (`alert`). Two things are left out on purpose: chained correlations (Squall's
//! loader routes only correlations over detection rules) and rsigma's hard cap of 100,000
//! groups, beyond which rsigma drops the stalest groups in an unspecified order; Squall keeps
//! them. The one difference in results: `value_sum` and `value_avg` add the window's values in
//! value order rather than arrival order, so fractional sums may differ in the last bit.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use rsigma_eval::CorrelationAction;
use rsigma_eval::correlation::CompiledCorrelation;
use rsigma_parser::{ConditionExpr, CorrelationType, WindowMode};

use crate::rules::Route;

/// A correlation that fired: which one (index into the route's `correlations`), for which
/// group, with what value.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub correlation: usize,
    /// Group-by field (its alias, if aliased) → value, for the fields the event carried.
    pub group: Vec<(String, String)>,
    /// The count, distinct count or aggregate that met the condition.
    pub value: f64,
}

/// How one input rule feeds one correlation, resolved once when the engine is built.
struct Feed {
    correlation: usize,
    /// Positions (in the route's `correlation_fields`) of the group-by fields, aliases resolved
    /// for this rule; `None` for a field the route does not keep (never present).
    group: Vec<Option<usize>>,
    /// Positions of the condition's fields (`value_count` and the numeric aggregations), if
    /// the condition names any.
    values: Option<Vec<Option<usize>>>,
    /// For the temporal types: which of the correlation's rule references this rule is.
    rule_ref: usize,
}

/// One correlation, with rsigma's engine-wide defaults already applied.
struct Corr {
    compiled: CompiledCorrelation,
    suppress: Option<u64>,
    action: CorrelationAction,
    cap: Option<usize>,
    /// The distinct strings a temporal hit can be recorded under: each rule reference, then
    /// the empty string rsigma uses for a rule that matched under neither its id nor its name.
    refs: Vec<String>,
}

type GroupKey = Box<[Option<Box<str>>]>;

/// Squall's correlation engine for one route. See the module comment.
pub struct Correlator {
    corrs: Vec<Corr>,
    /// Per correlation input (the route's `correlation_inputs` order): what it feeds.
    feeds: Vec<Vec<Feed>>,
    groups: HashMap<(usize, GroupKey), Window>,
    last_alert: HashMap<(usize, GroupKey), i64>,
    /// Groups kept after the last sweep of stale ones; the next sweep runs at twice as many.
    swept_at: usize,
    last_ts: i64,
}

impl Correlator {
    /// The engine for a route's correlations, resolving which input feeds which correlation
    /// (by the input's id or name, as rsigma does).
    pub fn new(route: &Route) -> Correlator {
        let corrs: Vec<Corr> = route
            .correlations
            .iter()
            .map(|c| {
                let mut refs = c.rule_refs.clone();
                refs.push(String::new());
                Corr {
                    compiled: c.clone(),
                    suppress: c.suppress_secs.or(route.suppress_secs),
                    // Squall's engine-wide action is `reset`; rsigma lets a rule's
                    // `rsigma.action` change the engine default only from `alert`.
                    action: c.action.unwrap_or(CorrelationAction::Reset),
                    cap: c.max_group_entries,
                    refs,
                }
            })
            .collect();
        let position = |field: &str| route.correlation_fields.iter().position(|f| f == field);
        let feeds = route
            .correlation_inputs
            .iter()
            .map(|input| {
                // rsigma finds a match's correlations by the id it carries: a rule without an
                // id feeds none, even when a correlation names it.
                let Some(id) = &input.id else {
                    return Vec::new();
                };
                let idents: Vec<&str> = std::iter::once(id.as_str())
                    .chain(input.name.as_deref())
                    .collect();
                corrs
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        c.compiled
                            .rule_refs
                            .iter()
                            .any(|r| idents.contains(&r.as_str()))
                    })
                    .map(|(i, c)| {
                        let rule_ref = idents
                            .iter()
                            .find_map(|ident| c.compiled.rule_refs.iter().position(|r| r == ident))
                            .unwrap_or(c.refs.len() - 1);
                        Feed {
                            correlation: i,
                            group: c
                                .compiled
                                .group_by
                                .iter()
                                .map(|g| position(g.resolve(&idents)))
                                .collect(),
                            values: c
                                .compiled
                                .condition
                                .field
                                .as_ref()
                                .map(|fields| fields.iter().map(|f| position(f)).collect()),
                            rule_ref,
                        }
                    })
                    .collect()
            })
            .collect();
        Correlator {
            corrs,
            feeds,
            groups: HashMap::new(),
            last_alert: HashMap::new(),
            swept_at: 0,
            last_ts: 0,
        }
    }

    /// Feeds one match of correlation input `input` (an index into the route's
    /// `correlation_inputs`) at `secs`, with the route's correlation fields' values (`None`:
    /// absent), and appends what fired. Inputs must come in non-decreasing time.
    pub fn feed(
        &mut self,
        input: usize,
        values: &[Option<&str>],
        secs: i64,
        out: &mut Vec<Firing>,
    ) {
        let ts = secs.clamp(0, i64::MAX / 2);
        debug_assert!(ts >= self.last_ts, "correlation inputs out of time order");
        self.last_ts = ts;
        if self.groups.len() > 2 * self.swept_at + 1024 {
            self.sweep(ts);
        }
        let get = |at: &Option<usize>| at.and_then(|i| values.get(i).copied().flatten());
        for feed in &self.feeds[input] {
            let corr = &self.corrs[feed.correlation];
            let c = &corr.compiled;
            let key: GroupKey = feed.group.iter().map(|at| get(at).map(Box::from)).collect();
            let state_key = (feed.correlation, key);
            if !self.groups.contains_key(&state_key) {
                self.groups
                    .insert(state_key.clone(), Window::new(c.correlation_type));
            }
            let window = self.groups.get_mut(&state_key).expect("inserted above");
            if !window.open(ts, c.timespan_secs, c.window_mode, c.gap_secs) {
                continue;
            }
            match (c.correlation_type, &feed.values) {
                (CorrelationType::EventCount, _) => window.push_time(ts),
                (CorrelationType::Temporal | CorrelationType::TemporalOrdered, _) => {
                    window.push_hit(ts, feed.rule_ref, corr.refs.len())
                }
                (CorrelationType::ValueCount, Some(fields)) => {
                    // All the fields, joined as rsigma joins them; a missing one: no value.
                    let parts: Option<Vec<&str>> = fields.iter().map(&get).collect();
                    if let Some(parts) = parts {
                        window.push_value(ts, &parts.join("\u{1f}"));
                    }
                }
                (CorrelationType::ValueCount, None) => {}
                (_, fields) => {
                    let first = fields.as_ref().and_then(|f| f.first());
                    if let Some(n) = first.and_then(get).and_then(parse_number) {
                        window.push_number(ts, n, corr.cap.is_some());
                    }
                }
            }
            if let Some(cap) = corr.cap {
                window.truncate_oldest(cap, c.window_mode == WindowMode::Session);
            }
            let Some(value) = window.check(corr) else {
                continue;
            };
            let suppressed = corr.suppress.is_some_and(|s| {
                self.last_alert
                    .get(&state_key)
                    .is_some_and(|&last| ts - last < s as i64)
            });
            if suppressed {
                continue;
            }
            out.push(Firing {
                correlation: feed.correlation,
                group: c
                    .group_by
                    .iter()
                    .zip(state_key.1.iter())
                    .filter_map(|(g, v)| Some((g.name().to_string(), v.as_deref()?.to_string())))
                    .collect(),
                value,
            });
            if corr.action == CorrelationAction::Reset {
                // A reset group holds nothing: dropping it is the same as keeping it empty.
                self.groups.remove(&state_key);
            }
            if corr.suppress.is_some() {
                self.last_alert.insert(state_key, ts);
            }
        }
    }

    /// Drops what can no longer count: window entries older than any future input's window, and
    /// groups left empty. Inputs come in time order, so this changes no result (the next input
    /// of a group would evict or reset the same), and it keeps idle groups from accumulating.
    fn sweep(&mut self, now: i64) {
        let corrs = &self.corrs;
        self.groups.retain(|(i, _), w| {
            let c = &corrs[*i].compiled;
            w.expire(now, c.timespan_secs, c.window_mode, c.gap_secs);
            !w.is_empty()
        });
        self.last_alert
            .retain(|(i, _), last| corrs[*i].suppress.is_some_and(|s| now - *last < s as i64));
        self.swept_at = self.groups.len();
    }

    /// Entries held over all groups (distinct seconds, distinct values, temporal hits): what
    /// the engine's memory grows with.
    pub fn state_entries(&self) -> usize {
        self.groups.values().map(Window::entries).sum()
    }

    /// Groups held.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

/// rsigma reads a numeric field with `str::parse::<f64>`.
fn parse_number(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// Times of a sequence of events in arrival (= time) order, as runs of equal seconds.
#[derive(Debug, Default, Clone)]
struct Times {
    runs: VecDeque<(i64, u64)>,
    len: u64,
}

impl Times {
    fn push(&mut self, ts: i64) {
        match self.runs.back_mut() {
            Some((t, n)) if *t == ts => *n += 1,
            _ => self.runs.push_back((ts, 1)),
        }
        self.len += 1;
    }

    /// Drops entries before `cutoff`; returns how many.
    fn evict(&mut self, cutoff: i64) -> u64 {
        let mut dropped = 0;
        while let Some(&(t, n)) = self.runs.front() {
            if t >= cutoff {
                break;
            }
            self.runs.pop_front();
            dropped += n;
        }
        self.len -= dropped;
        dropped
    }

    /// Drops the `n` oldest entries.
    fn drop_oldest(&mut self, mut n: u64) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let front = self.runs.front_mut().expect("n <= len");
            if front.1 > n {
                front.1 -= n;
                return;
            }
            n -= front.1;
            self.runs.pop_front();
        }
    }

    /// rsigma's per-group cap: keep the newest `cap` entries, or with `preserve_front` (session
    /// windows) the oldest one (the session's start) and the newest `cap - 1`.
    fn truncate_oldest(&mut self, cap: u64, preserve_front: bool) {
        if self.len <= cap {
            return;
        }
        if preserve_front {
            let anchor = self.runs.front().expect("len > cap >= 1").0;
            self.drop_oldest(1);
            self.drop_oldest(self.len - (cap - 1));
            self.push_front(anchor);
        } else {
            self.drop_oldest(self.len - cap);
        }
    }

    fn push_front(&mut self, ts: i64) {
        match self.runs.front_mut() {
            Some((t, n)) if *t == ts => *n += 1,
            _ => self.runs.push_front((ts, 1)),
        }
        self.len += 1;
    }

    fn first(&self) -> Option<i64> {
        self.runs.front().map(|r| r.0)
    }

    fn last(&self) -> Option<i64> {
        self.runs.back().map(|r| r.0)
    }

    /// The earliest time at or after `from`.
    fn first_from(&self, from: i64) -> Option<i64> {
        let at = self.runs.partition_point(|r| r.0 < from);
        self.runs.get(at).map(|r| r.0)
    }

    fn clear(&mut self) {
        self.runs.clear();
        self.len = 0;
    }
}

/// The distinct values of a `value_count` window. Entries are numbered in arrival order; the
/// window holds the entries `start..end` (plus, for a capped session, its first entry, the
/// anchor), and a value is in it while the number of its latest entry is.
#[derive(Debug, Default)]
struct Values {
    times: Times,
    start: u64,
    end: u64,
    latest: HashMap<Rc<str>, u64>,
    by_latest: BTreeMap<u64, Rc<str>>,
    /// The value of the first entry since the window was last empty: a capped session window
    /// keeps that entry when it drops older ones.
    first: Option<Rc<str>>,
    anchor: Option<(i64, Rc<str>)>,
}

impl Values {
    fn push(&mut self, ts: i64, value: &str) {
        let value: Rc<str> = match self.latest.get_key_value(value) {
            Some((v, _)) => v.clone(),
            None => Rc::from(value),
        };
        if self.times.len == 0 && self.anchor.is_none() {
            self.first = Some(value.clone());
        }
        let seq = self.end;
        self.end += 1;
        self.times.push(ts);
        if let Some(old) = self.latest.insert(value.clone(), seq) {
            self.by_latest.remove(&old);
        }
        self.by_latest.insert(seq, value);
    }

    /// Forgets the values whose latest entry left the window.
    fn prune(&mut self) {
        while let Some(entry) = self.by_latest.first_entry() {
            if *entry.key() >= self.start {
                break;
            }
            let value = entry.remove();
            self.latest.remove(&value);
        }
    }

    fn evict(&mut self, cutoff: i64) {
        self.start += self.times.evict(cutoff);
        self.prune();
    }

    fn truncate_oldest(&mut self, cap: u64, preserve_front: bool) {
        let held = self.times.len + u64::from(self.anchor.is_some());
        if held <= cap {
            return;
        }
        if preserve_front && self.anchor.is_none() {
            let ts = self.times.first().expect("held > cap >= 1");
            let value = self
                .first
                .clone()
                .expect("a window with entries has a first");
            self.times.drop_oldest(1);
            self.start += 1;
            self.anchor = Some((ts, value));
        }
        let keep = if preserve_front { cap - 1 } else { cap };
        let excess = self.times.len.saturating_sub(keep);
        self.times.drop_oldest(excess);
        self.start += excess;
        self.prune();
    }

    fn distinct(&self) -> usize {
        let anchor_extra = self
            .anchor
            .as_ref()
            .is_some_and(|(_, v)| !self.latest.contains_key(v));
        self.latest.len() + usize::from(anchor_extra)
    }

    fn clear(&mut self) {
        self.times.clear();
        self.start = self.end;
        self.latest.clear();
        self.by_latest.clear();
        self.first = None;
        self.anchor = None;
    }
}

/// A number ordered by `f64::total_cmp`, so equal values share one count.
#[derive(Debug, Clone, Copy)]
struct Num(f64);

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The values of a numeric aggregation's window: counts per distinct value, and per second the
/// values that arrived in it (to evict them). Under a per-group cap, which drops single
/// entries by arrival, the entries themselves (at most the cap).
#[derive(Debug, Default)]
struct Numbers {
    seconds: VecDeque<(i64, BTreeMap<Num, u64>)>,
    exact: VecDeque<(i64, f64)>,
    counts: BTreeMap<Num, u64>,
    len: u64,
}

impl Numbers {
    fn push(&mut self, ts: i64, n: f64, capped: bool) {
        if capped {
            self.exact.push_back((ts, n));
        } else {
            match self.seconds.back_mut() {
                Some((t, m)) if *t == ts => *m.entry(Num(n)).or_insert(0) += 1,
                _ => self.seconds.push_back((ts, BTreeMap::from([(Num(n), 1)]))),
            }
        }
        *self.counts.entry(Num(n)).or_insert(0) += 1;
        self.len += 1;
    }

    fn remove(&mut self, n: Num, k: u64) {
        let count = self.counts.get_mut(&n).expect("held values are counted");
        *count -= k;
        if *count == 0 {
            self.counts.remove(&n);
        }
        self.len -= k;
    }

    fn evict(&mut self, cutoff: i64) {
        while self.exact.front().is_some_and(|e| e.0 < cutoff) {
            let (_, n) = self.exact.pop_front().expect("checked");
            self.remove(Num(n), 1);
        }
        while self.seconds.front().is_some_and(|s| s.0 < cutoff) {
            let (_, values) = self.seconds.pop_front().expect("checked");
            for (n, k) in values {
                self.remove(n, k);
            }
        }
    }

    /// Only capped windows are truncated, and they hold their entries exactly.
    fn truncate_oldest(&mut self, cap: u64, preserve_front: bool) {
        if self.len <= cap {
            return;
        }
        let anchor = if preserve_front {
            self.exact.pop_front()
        } else {
            None
        };
        let keep = if preserve_front { cap - 1 } else { cap } as usize;
        while self.exact.len() > keep {
            let (_, n) = self.exact.pop_front().expect("len > keep");
            self.remove(Num(n), 1);
        }
        if let Some(a) = anchor {
            self.exact.push_front(a);
        }
    }

    fn first(&self) -> Option<i64> {
        self.exact
            .front()
            .map(|e| e.0)
            .or(self.seconds.front().map(|s| s.0))
    }

    fn last(&self) -> Option<i64> {
        self.exact
            .back()
            .map(|e| e.0)
            .or(self.seconds.back().map(|s| s.0))
    }

    fn sum(&self) -> f64 {
        self.counts.iter().map(|(n, k)| n.0 * *k as f64).sum()
    }

    /// The `k`-th smallest finite value (0-based).
    fn nth_finite(&self, mut k: u64) -> f64 {
        for (n, c) in self.counts.iter().filter(|(n, _)| n.0.is_finite()) {
            if k < *c {
                return n.0;
            }
            k -= c;
        }
        unreachable!("k < number of finite values")
    }

    fn finite_len(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(n, _)| n.0.is_finite())
            .map(|(_, c)| c)
            .sum()
    }

    /// rsigma's percentile: linear interpolation between the closest ranks (C = 1).
    fn percentile(&self, rank: f64) -> Option<f64> {
        let n = self.finite_len();
        if n == 0 {
            return None;
        }
        if n == 1 {
            return Some(self.nth_finite(0));
        }
        let p = rank.clamp(0.0, 100.0) / 100.0;
        let r = p * (n - 1) as f64;
        let (lower, upper) = (r.floor() as u64, r.ceil() as u64);
        let fraction = r - lower as f64;
        if lower == upper || upper >= n {
            Some(self.nth_finite(lower.min(n - 1)))
        } else {
            let (lo, hi) = (self.nth_finite(lower), self.nth_finite(upper));
            Some(lo + fraction * (hi - lo))
        }
    }

    fn median(&self) -> Option<f64> {
        let n = self.finite_len();
        if n == 0 {
            return None;
        }
        let mid = n / 2;
        Some(if n.is_multiple_of(2) {
            (self.nth_finite(mid - 1) + self.nth_finite(mid)) / 2.0
        } else {
            self.nth_finite(mid)
        })
    }

    fn clear(&mut self) {
        *self = Numbers::default();
    }
}

/// One group's window, by correlation type.
#[derive(Debug)]
enum Window {
    Count(Times),
    Values(Values),
    /// Per rule reference (see [`Corr::refs`]), the times of its matches.
    Temporal(Vec<Times>),
    Numbers(Numbers),
}

impl Window {
    fn new(kind: CorrelationType) -> Window {
        match kind {
            CorrelationType::EventCount => Window::Count(Times::default()),
            CorrelationType::ValueCount => Window::Values(Values::default()),
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                Window::Temporal(Vec::new())
            }
            _ => Window::Numbers(Numbers::default()),
        }
    }

    fn first(&self) -> Option<i64> {
        match self {
            Window::Count(t) => t.first(),
            Window::Values(v) => v.anchor.as_ref().map(|a| a.0).or(v.times.first()),
            Window::Temporal(hits) => hits.iter().filter_map(Times::first).min(),
            Window::Numbers(n) => n.first(),
        }
    }

    fn last(&self) -> Option<i64> {
        match self {
            Window::Count(t) => t.last(),
            Window::Values(v) => v.times.last().or(v.anchor.as_ref().map(|a| a.0)),
            Window::Temporal(hits) => hits.iter().filter_map(Times::last).max(),
            Window::Numbers(n) => n.last(),
        }
    }

    fn is_empty(&self) -> bool {
        self.last().is_none()
    }

    fn evict(&mut self, cutoff: i64) {
        match self {
            Window::Count(t) => {
                t.evict(cutoff);
            }
            Window::Values(v) => v.evict(cutoff),
            Window::Temporal(hits) => {
                for t in hits {
                    t.evict(cutoff);
                }
            }
            Window::Numbers(n) => n.evict(cutoff),
        }
    }

    fn clear(&mut self) {
        match self {
            Window::Count(t) => t.clear(),
            Window::Values(v) => v.clear(),
            Window::Temporal(hits) => hits.iter_mut().for_each(Times::clear),
            Window::Numbers(n) => n.clear(),
        }
    }

    /// rsigma's window maintenance before an event at `ts` is added; false when the event is
    /// discarded (a late arrival in an earlier tumbling bucket, impossible in time order).
    fn open(&mut self, ts: i64, timespan: u64, mode: WindowMode, gap: Option<u64>) -> bool {
        let span = timespan as i64;
        match mode {
            WindowMode::Sliding => self.evict(ts - span),
            WindowMode::Tumbling => {
                if span > 0
                    && let Some(last) = self.last()
                {
                    let bucket = |t: i64| t - t.rem_euclid(span);
                    match bucket(ts).cmp(&bucket(last)) {
                        Ordering::Greater => self.clear(),
                        Ordering::Less => return false,
                        Ordering::Equal => {}
                    }
                }
            }
            WindowMode::Session => {
                let gap = gap.map_or(span, |g| g as i64);
                if let (Some(start), Some(last)) = (self.first(), self.last())
                    && ((ts - last) > gap || (span > 0 && (ts - start) > span))
                {
                    self.clear();
                }
            }
        }
        true
    }

    /// What [`Window::open`] would do for any event at or after `now`, done now.
    fn expire(&mut self, now: i64, timespan: u64, mode: WindowMode, gap: Option<u64>) {
        match mode {
            WindowMode::Sliding => self.evict(now - timespan as i64),
            WindowMode::Tumbling | WindowMode::Session => {
                let stale = match mode {
                    WindowMode::Session => gap.unwrap_or(timespan),
                    _ => timespan,
                } as i64;
                if self.last().is_some_and(|last| now - last > stale) {
                    self.clear();
                }
            }
        }
    }

    fn push_time(&mut self, ts: i64) {
        if let Window::Count(t) = self {
            t.push(ts);
        }
    }

    fn push_hit(&mut self, ts: i64, rule_ref: usize, refs: usize) {
        if let Window::Temporal(hits) = self {
            if hits.len() < refs {
                hits.resize_with(refs, Times::default);
            }
            hits[rule_ref].push(ts);
        }
    }

    fn push_value(&mut self, ts: i64, value: &str) {
        if let Window::Values(v) = self {
            v.push(ts, value);
        }
    }

    fn push_number(&mut self, ts: i64, n: f64, capped: bool) {
        if let Window::Numbers(x) = self {
            x.push(ts, n, capped);
        }
    }

    fn truncate_oldest(&mut self, cap: usize, preserve_front: bool) {
        let cap = cap.max(1) as u64;
        match self {
            Window::Count(t) => t.truncate_oldest(cap, preserve_front),
            Window::Values(v) => v.truncate_oldest(cap, preserve_front),
            Window::Temporal(hits) => {
                for t in hits {
                    t.truncate_oldest(cap, preserve_front);
                }
            }
            Window::Numbers(n) => n.truncate_oldest(cap, preserve_front),
        }
    }

    fn entries(&self) -> usize {
        match self {
            Window::Count(t) => t.runs.len(),
            Window::Values(v) => v.times.runs.len() + v.latest.len(),
            Window::Temporal(hits) => hits.iter().map(|t| t.runs.len()).sum(),
            Window::Numbers(n) => {
                n.exact.len() + n.seconds.iter().map(|s| s.1.len()).sum::<usize>() + n.counts.len()
            }
        }
    }

    /// rsigma's `check_condition`: the value if the condition holds.
    fn check(&self, corr: &Corr) -> Option<f64> {
        let c = &corr.compiled;
        let fired_refs = |hits: &[Times]| {
            c.rule_refs
                .iter()
                .filter(|r| held(hits, &corr.refs, r))
                .count() as f64
        };
        let value = match (self, c.correlation_type) {
            (Window::Count(t), _) => t.len as f64,
            (Window::Values(v), _) => v.distinct() as f64,
            (Window::Temporal(hits), CorrelationType::Temporal) => {
                if let Some(expr) = &c.extended_expr {
                    // The expression decides alone; the value reported is the rules seen.
                    return eval_expr(expr, hits, &corr.refs).then(|| fired_refs(hits));
                }
                fired_refs(hits)
            }
            (Window::Temporal(hits), _) => {
                if let Some(expr) = &c.extended_expr
                    && !eval_expr(expr, hits, &corr.refs)
                {
                    return None;
                }
                if in_order(hits, &corr.refs, &c.rule_refs) {
                    c.rule_refs.len() as f64
                } else {
                    0.0
                }
            }
            (Window::Numbers(n), CorrelationType::ValueSum) => n.sum(),
            (Window::Numbers(n), CorrelationType::ValueAvg) => {
                if n.len == 0 {
                    0.0
                } else {
                    n.sum() / n.len as f64
                }
            }
            (Window::Numbers(n), CorrelationType::ValuePercentile) => {
                // rsigma reports the percentile without testing the condition.
                if n.len == 0 {
                    return None;
                }
                return n.percentile(c.condition.percentile.map_or(50.0, |p| p as f64));
            }
            (Window::Numbers(n), _) => n.median()?,
        };
        c.condition.check(value).then_some(value)
    }
}

/// Whether the rule reference named `name` has a match in the window (rsigma keys temporal
/// hits by the reference string, so equal strings share their hits).
fn held(hits: &[Times], refs: &[String], name: &str) -> bool {
    refs.iter()
        .position(|r| r == name)
        .and_then(|i| hits.get(i))
        .is_some_and(|t| t.len > 0)
}

fn hits_of<'a>(hits: &'a [Times], refs: &[String], name: &str) -> Option<&'a Times> {
    refs.iter()
        .position(|r| r == name)
        .and_then(|i| hits.get(i))
}

/// A temporal condition's expression over which rules matched in the window.
fn eval_expr(expr: &ConditionExpr, hits: &[Times], refs: &[String]) -> bool {
    match expr {
        ConditionExpr::Identifier(name) => held(hits, refs, name),
        ConditionExpr::And(cs) => cs.iter().all(|c| eval_expr(c, hits, refs)),
        ConditionExpr::Or(cs) => cs.iter().any(|c| eval_expr(c, hits, refs)),
        ConditionExpr::Not(c) => !eval_expr(c, hits, refs),
        ConditionExpr::Selector { .. } => false,
    }
}

/// `temporal_ordered`: one match of each referenced rule, in the order listed, at non-decreasing
/// times. Times are held sorted, so taking each rule's earliest match at or after the previous
/// one finds such a sequence whenever one exists.
fn in_order(hits: &[Times], refs: &[String], rule_refs: &[String]) -> bool {
    let mut at = i64::MIN;
    for r in rule_refs {
        match hits_of(hits, refs, r).and_then(|t| t.first_from(at)) {
            Some(t) => at = t,
            None => return false,
        }
    }
    true
}
