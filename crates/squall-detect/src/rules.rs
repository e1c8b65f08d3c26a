//! Loading Sigma rules (SigmaHQ's, unmodified, and Squall's built-in pack) and routing each to
//! the one provider log it is written for.
//!
//! Every log source gets its own rsigma [`CorrelationEngine`], so a record is only ever offered
//! to the rules of its own log, and inside that engine rsigma's candidate index offers it only to
//! the rules whose literal values it carries. Correlation rules are compiled into that engine
//! too (it validates them, and the differential tests use it as the reference), but the hunt
//! runs them with Squall's own engine, [`crate::correlate`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rsigma_eval::correlation::{CompiledCorrelation, compile_correlation};
use rsigma_eval::{CorrelationAction, CorrelationConfig, CorrelationEngine, TimestampFallback};
use rsigma_parser::{CorrelationRule, SigmaCollection, SigmaRule};
use squall_logs::LogSource;

use crate::detection::{Level, RuleMeta};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Where a rule came from, for messages and for `--no-builtin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin(&'static str),
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Builtin(name) => write!(f, "builtin:{name}"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A rule that could not be used, and why.
#[derive(Debug, Clone)]
pub struct RuleProblem {
    pub origin: Origin,
    /// The rule's title, when the file got far enough to have one.
    pub title: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.title {
            Some(t) => write!(f, "{}: rule '{t}': {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// The metadata of a detection or correlation rule; a rule without an id is known by title.
fn rule_meta(
    id: &Option<String>,
    title: &str,
    level: &Option<rsigma_parser::Level>,
    tags: &[String],
    origin: &Origin,
    log_source: LogSource,
) -> RuleMeta {
    RuleMeta::new(
        id.clone().unwrap_or_else(|| title.to_string()),
        title.to_string(),
        crate::detection::level_from_sigma(level.as_ref()),
        tags.to_vec(),
        origin.to_string(),
        log_source,
    )
}

/// A detection rule whose matches feed a correlation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationInput {
    /// The rule's id, or its title when it has none: how Squall knows it.
    pub key: String,
    /// The rule's `id` and `name`: how a correlation's `rules:` may name it.
    pub id: Option<String>,
    pub name: Option<String>,
}

/// The rules for one log source.
pub struct Route {
    pub source: LogSource,
    pub engine: CorrelationEngine,
    /// The detection rules whose matches feed a correlation, each once: they are held back for
    /// the time-ordered correlation pass instead of being reported directly.
    pub correlation_inputs: Vec<CorrelationInput>,
    /// The correlation rules, compiled, in the order they were added to `engine`.
    pub correlations: Vec<CompiledCorrelation>,
    /// The inputs of correlations with `generate: true`, which are reported as well.
    pub generated_inputs: HashSet<String>,
    /// Every `rules:` entry of a correlation with `generate: false`. rsigma withholds an input
    /// whose *id* is among them even if another correlation generates it; Squall does the same.
    pub correlation_only_refs: HashSet<String>,
    /// The route-wide suppression window: the first `rsigma.suppress` custom attribute among
    /// the route's rules, as rsigma's engine takes it; a correlation's own attribute wins.
    pub suppress_secs: Option<u64>,
    /// Every field a correlation of this route groups by or counts; only these are kept of a
    /// correlation input, so memory stays small.
    pub correlation_fields: Vec<String>,
    pub detection_rules: usize,
    pub correlation_rules: usize,
}

/// Everything loaded, routed and compiled.
pub struct RuleSet {
    pub routes: Vec<Route>,
    /// By rule id: what output needs to know of each rule.
    pub info: HashMap<String, Arc<RuleMeta>>,
    pub problems: Vec<RuleProblem>,
    /// Rules for logs Squall does not read (okta, m365, ...), by `product/service`.
    pub other_logsources: BTreeMap<String, usize>,
    /// The stolen-credential detector's rules that run (built in, at or above the level
    /// asked for); none runs the detector not at all.
    pub native: Vec<&'static crate::credentials::NativeRule>,
}

impl RuleSet {
    /// The route for a log source, if any rule applies to it.
    pub fn route(&self, source: LogSource) -> Option<&Route> {
        self.routes.iter().find(|r| r.source == source)
    }

    /// Number of rules (detection, correlation and the stolen-credential detector's) that will
    /// run.
    pub fn active_rules(&self) -> usize {
        self.routes
            .iter()
            .map(|r| r.detection_rules + r.correlation_rules)
            .sum::<usize>()
            + self.native.len()
    }
}

/// Which log a rule's `logsource` names.
fn route_of(rule: &SigmaRule) -> Result<LogSource, String> {
    let ls = &rule.logsource;
    let product = ls.product.as_deref().unwrap_or("").to_ascii_lowercase();
    let service = ls.service.as_deref().unwrap_or("").to_ascii_lowercase();
    let found = LogSource::EVENTS.into_iter().find(|s| {
        let (p, sv) = s.sigma().expect("event sources have a logsource");
        p == product && (sv == service || (service.is_empty() && p != "azure"))
    });
    found.ok_or_else(|| {
        if service.is_empty() {
            product
        } else {
            format!("{product}/{service}")
        }
    })
}

/// Reads every `.yml`/`.yaml` under the given directories (or files), plus the built-in pack.
/// Rules below `min_level` are not compiled at all (unless a correlation needs them), so a
/// higher level also makes the hunt faster.
pub fn load(dirs: &[PathBuf], builtin: bool, min_level: Option<Level>) -> RuleSet {
    let mut docs: Vec<(Origin, String)> = Vec::new();
    let mut problems = Vec::new();
    if builtin {
        for (name, text) in BUILTIN_FILES {
            if name.ends_with(".yml") {
                docs.push((Origin::Builtin(name), (*text).to_string()));
            }
        }
    }
    for dir in dirs {
        let mut files = Vec::new();
        if dir.is_file() {
            files.push(dir.clone());
        } else if dir.is_dir() {
            for entry in walkdir::WalkDir::new(dir).follow_links(true) {
                match entry {
                    Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => {
                        files.push(e.into_path())
                    }
                    Ok(_) => {}
                    Err(err) => problems.push(RuleProblem {
                        origin: Origin::File(dir.clone()),
                        title: None,
                        message: err.to_string(),
                    }),
                }
            }
            files.sort();
        } else {
            problems.push(RuleProblem {
                origin: Origin::File(dir.clone()),
                title: None,
                message:
                    "no such file or directory (help: --rules takes a folder of Sigma YAML files)"
                        .into(),
            });
        }
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => docs.push((Origin::File(file), text)),
                Err(e) => problems.push(RuleProblem {
                    origin: Origin::File(file),
                    title: None,
                    message: e.to_string(),
                }),
            }
        }
    }
    let mut set = build(docs, problems, min_level);
    if builtin {
        for rule in crate::credentials::RULES {
            if min_level.is_some_and(|m| rule.level < m) {
                continue;
            }
            let meta = RuleMeta::new(
                rule.id.to_string(),
                rule.title.to_string(),
                rule.level,
                rule.tags.iter().map(|t| t.to_string()).collect(),
                "builtin:native/credentials".to_string(),
                LogSource::CloudTrail,
            );
            set.info.insert(meta.id.clone(), Arc::new(meta));
            set.native.push(rule);
        }
    }
    set
}

/// rsigma's engine takes the first parseable `rsigma.suppress` of any rule added to it as its
/// default suppression window; the same rule, so Squall's engine suppresses alike.
fn take_suppress(suppress: &mut Option<u64>, attrs: &HashMap<String, yaml_serde::Value>) {
    if suppress.is_none()
        && let Some(text) = attrs.get("rsigma.suppress").and_then(|v| v.as_str())
        && let Ok(span) = rsigma_parser::Timespan::parse(text)
    {
        *suppress = Some(span.seconds);
    }
}

fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Parses, routes and compiles; the one place rule text becomes engines.
pub fn build(
    docs: Vec<(Origin, String)>,
    mut problems: Vec<RuleProblem>,
    min_level: Option<Level>,
) -> RuleSet {
    let mut rules: Vec<(Origin, SigmaRule, LogSource)> = Vec::new();
    let mut correlations: Vec<(Origin, CorrelationRule)> = Vec::new();
    let mut other_logsources = BTreeMap::new();
    let mut seen_ids = HashSet::new();

    for (origin, text) in docs {
        let collection: SigmaCollection = match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(c) => c,
            Err(e) => {
                problems.push(RuleProblem {
                    origin,
                    title: None,
                    message: format!("not a valid Sigma rule: {e}"),
                });
                continue;
            }
        };
        for err in &collection.errors {
            problems.push(RuleProblem {
                origin: origin.clone(),
                title: None,
                message: format!("not a valid Sigma rule: {err}"),
            });
        }
        for rule in collection.rules {
            let id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
            if !seen_ids.insert(id.clone()) {
                problems.push(RuleProblem {
                    origin: origin.clone(),
                    title: Some(rule.title.clone()),
                    message: format!("duplicate rule id {id}; the first one loaded is kept"),
                });
                continue;
            }
            match route_of(&rule) {
                Ok(source) => rules.push((origin.clone(), rule, source)),
                Err(other) => *other_logsources.entry(other).or_insert(0) += 1,
            }
        }
        for corr in collection.correlations {
            correlations.push((origin.clone(), corr));
        }
        // Sigma filters are not used by Squall's rule pack; SigmaHQ ships them separately.
    }

    if let Some(min) = min_level {
        let referenced: HashSet<&String> =
            correlations.iter().flat_map(|(_, c)| &c.rules).collect();
        rules.retain(|(_, rule, _)| {
            let needed = [rule.id.as_ref(), rule.name.as_ref()]
                .into_iter()
                .flatten()
                .any(|r| referenced.contains(r));
            needed || crate::detection::level_from_sigma(rule.level.as_ref()) >= min
        });
        correlations.retain(|(_, c)| crate::detection::level_from_sigma(c.level.as_ref()) >= min);
    }

    // A correlation follows the rules it references: by name or id.
    let mut by_ref: HashMap<String, (String, LogSource)> = HashMap::new();
    let mut identities: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
    for (_, rule, source) in &rules {
        let id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
        identities.insert(id.clone(), (rule.id.clone(), rule.name.clone()));
        by_ref.insert(id.clone(), (id.clone(), *source));
        if let Some(name) = &rule.name {
            by_ref.insert(name.clone(), (id, *source));
        }
    }

    let mut info = HashMap::new();
    let mut routes: Vec<Route> = Vec::new();
    for source in LogSource::EVENTS {
        let config = CorrelationConfig {
            // Squall passes each event's own time; a record without one cannot be windowed.
            timestamp_fallback: TimestampFallback::Skip,
            // `generate: false` is applied by the hunt itself (see hunt::correlate).
            emit_detections: false,
            // One alert per threshold crossing: a leaked key used from a second address is one
            // finding, not one per later request.
            action_on_match: CorrelationAction::Reset,
            ..CorrelationConfig::default()
        };
        let mut route = Route {
            source,
            engine: CorrelationEngine::new(config),
            correlation_inputs: Vec::new(),
            correlations: Vec::new(),
            generated_inputs: HashSet::new(),
            correlation_only_refs: HashSet::new(),
            suppress_secs: None,
            correlation_fields: Vec::new(),
            detection_rules: 0,
            correlation_rules: 0,
        };
        for (origin, rule, _) in rules.iter().filter(|(_, _, s)| *s == source) {
            take_suppress(&mut route.suppress_secs, &rule.custom_attributes);
            match route.engine.add_rule(rule) {
                Ok(()) => {
                    route.detection_rules += 1;
                    let meta = rule_meta(
                        &rule.id,
                        &rule.title,
                        &rule.level,
                        &rule.tags,
                        origin,
                        source,
                    );
                    info.insert(meta.id.clone(), Arc::new(meta));
                }
                Err(e) => problems.push(RuleProblem {
                    origin: origin.clone(),
                    title: Some(rule.title.clone()),
                    message: format!("unsupported by the rule engine: {e}"),
                }),
            }
        }
        for (origin, corr) in &correlations {
            if corr.rules.is_empty() {
                continue; // every route would take it vacuously; reported below
            }
            let targets: Vec<_> = corr.rules.iter().map(|r| by_ref.get(r)).collect();
            if targets.iter().any(Option::is_none) {
                continue; // reported below if no route takes it
            }
            if !targets.iter().all(|t| t.is_some_and(|(_, s)| *s == source)) {
                continue;
            }
            take_suppress(&mut route.suppress_secs, &corr.custom_attributes);
            match route.engine.add_correlation(corr) {
                Ok(()) => {
                    route.correlation_rules += 1;
                    route
                        .correlations
                        .push(compile_correlation(corr).expect("rsigma compiled it a moment ago"));
                    if !corr.generate {
                        route
                            .correlation_only_refs
                            .extend(corr.rules.iter().cloned());
                    }
                    for (key, _) in targets.into_iter().flatten() {
                        if !route.correlation_inputs.iter().any(|i| &i.key == key) {
                            let (id, name) = identities[key].clone();
                            route.correlation_inputs.push(CorrelationInput {
                                key: key.clone(),
                                id,
                                name,
                            });
                        }
                        if corr.generate {
                            route.generated_inputs.insert(key.clone());
                        }
                    }
                    let mut fields = corr.group_by.clone();
                    if let rsigma_parser::CorrelationCondition::Threshold {
                        field: Some(f), ..
                    } = &corr.condition
                    {
                        fields.extend(f.iter().cloned());
                    }
                    for alias in &corr.aliases {
                        fields.extend(alias.mapping.values().cloned());
                    }
                    for f in fields {
                        if !route.correlation_fields.contains(&f) {
                            route.correlation_fields.push(f);
                        }
                    }
                    let meta = rule_meta(
                        &corr.id,
                        &corr.title,
                        &corr.level,
                        &corr.tags,
                        origin,
                        source,
                    );
                    info.insert(meta.id.clone(), Arc::new(meta));
                }
                Err(e) => problems.push(RuleProblem {
                    origin: origin.clone(),
                    title: Some(corr.title.clone()),
                    message: format!("unsupported correlation: {e}"),
                }),
            }
        }
        if route.detection_rules > 0 {
            routes.push(route);
        }
    }
    for (origin, corr) in &correlations {
        if corr.rules.is_empty() {
            problems.push(RuleProblem {
                origin: origin.clone(),
                title: Some(corr.title.clone()),
                message: "correlation names no rules (its `rules:` list is missing or empty)"
                    .into(),
            });
            continue;
        }
        let missing: Vec<_> = corr
            .rules
            .iter()
            .filter(|r| !by_ref.contains_key(*r))
            .collect();
        let sources: HashSet<_> = corr
            .rules
            .iter()
            .filter_map(|r| by_ref.get(r).map(|(_, s)| *s))
            .collect();
        if !missing.is_empty() {
            // A correlation over rules for other products (okta, m365) is not a problem of ours.
            let all_missing = missing.len() == corr.rules.len();
            if !all_missing || other_logsources.is_empty() {
                problems.push(RuleProblem {
                    origin: origin.clone(),
                    title: Some(corr.title.clone()),
                    message: format!("correlation refers to unknown rules: {missing:?}"),
                });
            }
        } else if sources.len() > 1 {
            problems.push(RuleProblem {
                origin: origin.clone(),
                title: Some(corr.title.clone()),
                message:
                    "correlation spans rules of different log sources, which Squall cannot join"
                        .into(),
            });
        }
    }
    RuleSet {
        routes,
        info,
        problems,
        other_logsources,
        native: Vec::new(),
    }
}

/// The built-in rules' test events: (rule file stem, JSONL text).
pub fn builtin_tests() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTIN_FILES.iter().filter_map(|(name, text)| {
        let stem = name.strip_prefix("tests/")?.strip_suffix(".jsonl")?;
        Some((stem, *text))
    })
}

/// The built-in rules: (path under `rules/`, YAML).
pub fn builtin_rules() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTIN_FILES
        .iter()
        .filter(|(name, _)| name.ends_with(".yml"))
        .map(|(n, t)| (*n, *t))
}
