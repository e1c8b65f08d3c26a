//! A log sink or exclusion put back the way it was before the attacker touched it. Google
//! keeps no history of a sink's settings, but the project's Admin Activity audit log keeps
//! every call that made, changed or deleted one (400 days): replayed up to the moment before
//! the attacker's first change, those calls say what the settings were. Where the log holds
//! no complete record (a sink made before its retention, or by Google: `_Default`,
//! `_Required`), nothing is guessed: the step is left to the analyst.

use chrono::{DateTime, Utc};
use google_cloud_logging_v2::client::{ConfigServiceV2, LoggingServiceV2};
use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::err;
use crate::services::logging;

/// Which of Logging's configuration resources a name is: the one place that says how each is
/// named, which calls change it, and which verb and step put it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogConfig {
    Sink,
    Exclusion,
}

impl LogConfig {
    /// `projects/P/sinks/N` or `projects/P/exclusions/N`.
    pub fn of(name: &str) -> Option<LogConfig> {
        match name.split('/').nth(2)? {
            "sinks" => Some(LogConfig::Sink),
            "exclusions" => Some(LogConfig::Exclusion),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            LogConfig::Sink => "sink",
            LogConfig::Exclusion => "exclusion",
        }
    }

    /// The collection in its name (`projects/P/sinks/N`).
    pub fn plural(self) -> &'static str {
        match self {
            LogConfig::Sink => "sinks",
            LogConfig::Exclusion => "exclusions",
        }
    }

    /// The action (and proposal step) that puts one back.
    pub fn restore_action(self) -> &'static str {
        match self {
            LogConfig::Sink => "restore-log-sink",
            LogConfig::Exclusion => "restore-log-exclusion",
        }
    }

    /// The `recover gcp` verb that acts on one.
    pub fn verb(self) -> &'static str {
        match self {
            LogConfig::Sink => "log-sink",
            LogConfig::Exclusion => "log-exclusion",
        }
    }

    /// The calls that make, change and delete one (`...ConfigServiceV2.CreateSink`).
    fn calls(self) -> [&'static str; 3] {
        match self {
            LogConfig::Sink => ["CreateSink", "UpdateSink", "DeleteSink"],
            LogConfig::Exclusion => ["CreateExclusion", "UpdateExclusion", "DeleteExclusion"],
        }
    }

    /// The settings a restoration writes, in the API's JSON names.
    fn fields(self) -> &'static [&'static str] {
        match self {
            LogConfig::Sink => &logging::SINK_SETTINGS,
            LogConfig::Exclusion => &logging::EXCLUSION_SETTINGS,
        }
    }

    /// The field only a complete object carries: what tells a response holding the whole
    /// sink or exclusion from one holding less.
    fn mark(self) -> &'static str {
        match self {
            LogConfig::Sink => "destination",
            LogConfig::Exclusion => "filter",
        }
    }
}

/// What the audit log says a sink or exclusion was just before a moment.
#[derive(Debug, Clone, PartialEq)]
pub enum Before {
    /// Its settings, and the records (`time method by principal (insertId)`) they were read
    /// from: the one that stated them whole, then the last updates ([`MAX_SHOWN`] in all;
    /// `omitted` says how many between were left out).
    Was {
        settings: Value,
        from: Vec<String>,
        omitted: usize,
    },
    /// Deleted by the record named.
    Gone { by: String },
    /// No complete record of it: made before the log's retention, or by Google.
    Unknown,
}

/// The most records a plan names for one restoration: an actor's thousand updates must not
/// make a thousand-line plan.
pub const MAX_SHOWN: usize = 20;

/// `include_children` → `includeChildren`: masks are written either way.
fn camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut up = false;
    for c in path.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The paths an update mask names, whether written `"a,b"` or `{"paths": ["a", "b"]}`.
fn mask(request: &Value) -> Vec<String> {
    let m = &request["updateMask"];
    let listed: Vec<&str> = match m {
        Value::String(s) => s.split(',').collect(),
        _ => m["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect(),
    };
    listed
        .into_iter()
        .map(|p| camel(p.trim()))
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether an audit entry's call was about the sink or exclusion `short` of `project`: named
/// by the resource, the request's `sinkName` or `name`, or (a creation) its parent and new
/// name — the project by its id or its number (the entries read are this project's own log,
/// so a number is this project's).
fn about(entry: &Value, kind: LogConfig, project: &str, short: &str) -> bool {
    let p = &entry["protoPayload"];
    let req = &p["request"];
    let this_project =
        |p: &str| p == project || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let same = |n: &str| {
        let mut parts = n.split('/');
        matches!(
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
            (Some("projects"), Some(p), Some(k), Some(s), None)
                if k == kind.plural() && s == short && this_project(p)
        )
    };
    let created = req[kind.noun()]["name"].as_str() == Some(short)
        && req["parent"]
            .as_str()
            .and_then(|parent| parent.strip_prefix("projects/"))
            .is_some_and(this_project);
    created
        || [&p["resourceName"], &req["sinkName"], &req["name"]]
            .iter()
            .filter_map(|n| n.as_str())
            .any(same)
}

/// Replays the audit log's calls on one sink or exclusion, oldest first, one entry at a time
/// (nothing but the state is kept), into what it was after the last. A creation, or any call
/// whose response holds the whole object, states every setting; an update applies the fields
/// its mask names (none named: the ones Google's API defaults to) to what was known; a failed
/// call changed nothing.
pub struct Replay<'a> {
    kind: LogConfig,
    /// The project and short name of the one replayed (`projects/P/sinks/N`), read once.
    project: &'a str,
    short: &'a str,
    now: Before,
}

impl<'a> Replay<'a> {
    /// A replay of `name` (`projects/P/sinks/N`); one named otherwise matches no entry.
    pub fn new(kind: LogConfig, name: &'a str) -> Replay<'a> {
        let (project, short) = match name.split('/').collect::<Vec<_>>().as_slice() {
            ["projects", project, _, short] => (*project, *short),
            _ => ("", ""),
        };
        Replay {
            kind,
            project,
            short,
            now: Before::Unknown,
        }
    }

    pub fn feed(&mut self, e: &Value) {
        let kind = self.kind;
        let [create, update, delete] = kind.calls();
        let p = &e["protoPayload"];
        let Some(method) = p["methodName"].as_str() else {
            return;
        };
        let call = method.rsplit('.').next().unwrap_or(method);
        if ![create, update, delete].contains(&call)
            || self.short.is_empty()
            || !about(e, kind, self.project, self.short)
            || p["status"]["code"].as_i64().is_some_and(|c| c != 0)
        {
            return;
        }
        // Who made each call is in the plan: a replay that leans on a call of the actors'
        // (one made before the case's first record of them) is the analyst's to reject.
        // Each field cut short: an entry may carry kilobytes in any of them, and up to
        // MAX_SHOWN citations go into one plan.
        let cited = |v: &Value, none: &'static str| {
            squall_core::text::shortened(v.as_str().unwrap_or(none), 100).into_owned()
        };
        let record = format!(
            "{} {} by {} ({})",
            cited(&e["timestamp"], "(no time)"),
            call,
            cited(&p["authenticationInfo"]["principalEmail"], "(no principal)"),
            cited(&e["insertId"], "(no insertId)")
        );
        let req = &p["request"];
        let resp = &p["response"];
        let whole = resp["name"].is_string() && resp[kind.mark()].is_string();
        let stated = |object: &Value| Before::Was {
            settings: logging::settings(kind.fields(), object),
            from: vec![record.clone()],
            omitted: 0,
        };
        self.now = if call == delete {
            Before::Gone { by: record }
        } else if whole {
            stated(resp)
        } else if call == create {
            stated(&req[kind.noun()])
        } else {
            match std::mem::replace(&mut self.now, Before::Unknown) {
                Before::Was {
                    mut settings,
                    mut from,
                    mut omitted,
                } => {
                    let mut paths = mask(req);
                    if paths.is_empty() && kind == LogConfig::Sink {
                        // `sinks.update` without a mask: destination, filter, includeChildren.
                        paths = ["destination", "filter", "includeChildren"]
                            .map(String::from)
                            .to_vec();
                    }
                    if paths.is_empty() {
                        Before::Unknown
                    } else {
                        for f in paths.iter().filter(|f| kind.fields().contains(&f.as_str())) {
                            settings[f.as_str()] =
                                logging::setting(f, &req[kind.noun()][f.as_str()]);
                        }
                        // The record that stated it whole stays first; the oldest update after
                        // it makes room for the newest.
                        if from.len() == MAX_SHOWN {
                            from.remove(1);
                            omitted += 1;
                        }
                        from.push(record);
                        Before::Was {
                            settings,
                            from,
                            omitted,
                        }
                    }
                }
                // An update of something deleted failed; of something unknown, still unknown.
                other => other,
            }
        };
    }

    pub fn end(self) -> Before {
        self.now
    }
}

/// Put a sink or exclusion back as it was just before `before` (the attacker's first change
/// to it), as the project's audit log records it: its settings in the plan with the records
/// they come from, then updated in place or, deleted, made again.
pub struct RestoreLogConfig {
    pub logging: ConfigServiceV2,
    pub entries: LoggingServiceV2,
    /// `projects/P/sinks/N` or `projects/P/exclusions/N`.
    pub name: String,
    pub before: DateTime<Utc>,
}

impl RestoreLogConfig {
    fn kind(&self) -> Result<LogConfig, ActionError> {
        LogConfig::of(&self.name)
            .ok_or_else(|| format!("{:?} is not a sink or exclusion", self.name).into())
    }

    /// Whether it exists, and its settings (a sink's writer identity too: a sink made again
    /// writes as a new one).
    async fn state(
        &self,
    ) -> Result<(Option<google_cloud_logging_v2::model::LogSink>, Value), ActionError> {
        Ok(match self.kind()? {
            LogConfig::Sink => match logging::sink(&self.logging, &self.name)
                .await
                .map_err(err)?
            {
                None => (None, json!({"exists": false})),
                Some(s) => {
                    let mut v = logging::sink_settings(&s);
                    v["exists"] = json!(true);
                    v["writerIdentity"] = json!(s.writer_identity);
                    (Some(s), v)
                }
            },
            LogConfig::Exclusion => {
                match logging::exclusion(&self.logging, &self.name)
                    .await
                    .map_err(err)?
                {
                    None => (None, json!({"exists": false})),
                    Some(e) => {
                        let mut v = logging::exclusion_settings(&e);
                        v["exists"] = json!(true);
                        (None, v)
                    }
                }
            }
        })
    }
}

impl Action for RestoreLogConfig {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        LogConfig::of(&self.name)
            .unwrap_or(LogConfig::Sink)
            .restore_action()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let kind = self.kind()?;
        let when = self
            .before
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        // A moment still to come would replay the very change being undone.
        if self.before > Utc::now() {
            return Err(format!(
                "--as-before {when} is in the future: give the time of the first change to undo"
            )
            .into());
        }
        let (_, now) = self.state().await?;
        let project = self.name.split('/').nth(1).unwrap_or_default();
        let mut replay = Replay::new(kind, &self.name);
        logging::config_history(&self.entries, project, self.before, |e| replay.feed(e))
            .await
            .map_err(err)?;
        let (settings, mut from, omitted) = match replay.end() {
            Before::Was {
                settings,
                from,
                omitted,
            } => (settings, from, omitted),
            Before::Gone { by } => {
                return Err(format!(
                    "{} did not exist just before {when}: the audit log's record {by} deleted it; there is nothing to put back",
                    self.name
                )
                .into());
            }
            Before::Unknown => {
                return Err(format!(
                    "the audit log of projects/{project} before {when} holds no complete record of {} (it was made before the Admin Activity log's 400-day retention, or by Google, as _Default and _Required are): restore its settings by hand",
                    self.name
                )
                .into());
            }
        };
        let mut after = settings;
        after["exists"] = json!(true);
        if omitted > 0 {
            from.insert(1, format!("({omitted} more updates)"));
        }
        let mut p = Plan::new(self.action(), &self.name, now.clone(), after, true);
        p.notes.push(format!(
            "the settings it had before {when}, as the project's audit log recorded them: {}",
            from.join("; ")
        ));
        if kind == LogConfig::Sink && now["exists"] == json!(false) {
            p.notes.push(
                "made again, it writes as the identity Google gives it now (in the outcome): check that the destination lets that identity write, or nothing arrives there"
                    .to_string(),
            );
        }
        if kind == LogConfig::Sink {
            p.notes.push(
                "entries it did not route while it was changed are not routed now: read them from the project's own log buckets".to_string(),
            );
        }
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let (sink, now) = self.state().await?;
        if now != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.name).into());
        }
        let exists = now["exists"] == json!(true);
        match self.kind()? {
            LogConfig::Sink => match sink {
                Some(s) => logging::restore_sink(&self.logging, &self.name, &s, &plan.after)
                    .await
                    .map_err(err)?,
                None => {
                    let identity = logging::create_sink(&self.logging, &self.name, &plan.after)
                        .await
                        .map_err(err)?;
                    return Ok(json!({"writerIdentity": identity}));
                }
            },
            LogConfig::Exclusion => {
                logging::restore_exclusion(&self.logging, &self.name, exists, &plan.after)
                    .await
                    .map_err(err)?
            }
        }
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(kind: LogConfig, name: &str, entries: &[Value]) -> Before {
        let mut r = Replay::new(kind, name);
        for e in entries {
            r.feed(e);
        }
        r.end()
    }

    const SINK: &str = "projects/acme-prod/sinks/to-sec";

    fn entry(t: &str, call: &str, request: Value) -> Value {
        json!({"timestamp": t, "insertId": format!("id-{t}"),
               "protoPayload": {"methodName": format!("google.logging.v2.ConfigServiceV2.{call}"),
                                "resourceName": SINK, "request": request}})
    }

    fn created() -> Value {
        entry(
            "2026-01-01T00:00:00Z",
            "CreateSink",
            json!({"parent": "projects/acme-prod", "sink": {"name": "to-sec",
                   "destination": "logging.googleapis.com/projects/acme-sec/locations/global/buckets/audit",
                   "filter": "logName:cloudaudit"}}),
        )
    }

    #[test]
    fn a_sink_is_what_its_creation_and_each_masked_update_made_it() {
        let described = entry(
            "2026-02-01T00:00:00Z",
            "UpdateSink",
            json!({"sinkName": SINK, "updateMask": "description,include_children",
                   "sink": {"description": "to security", "includeChildren": "true",
                            "destination": "ignored: not in the mask"}}),
        );
        let Before::Was { settings, from, .. } =
            replay(LogConfig::Sink, SINK, &[created(), described])
        else {
            panic!("known")
        };
        assert_eq!(
            settings,
            json!({"destination": "logging.googleapis.com/projects/acme-sec/locations/global/buckets/audit",
                   "filter": "logName:cloudaudit", "description": "to security", "disabled": false,
                   "includeChildren": true, "exclusions": []})
        );
        assert_eq!(from.len(), 2);
        // A failed update changed nothing; another sink's calls are not this one's.
        let mut failed = entry(
            "2026-03-01T00:00:00Z",
            "UpdateSink",
            json!({"sinkName": SINK, "updateMask": {"paths": ["filter"]}, "sink": {"filter": "x"}}),
        );
        failed["protoPayload"]["status"] = json!({"code": 7});
        let mut other = created();
        other["protoPayload"]["resourceName"] = json!("projects/acme-prod/sinks/other");
        other["protoPayload"]["request"]["sink"]["name"] = json!("other");
        other["protoPayload"]["request"]["sink"]["destination"] = json!("storage.googleapis.com/x");
        let again = replay(LogConfig::Sink, SINK, &[created(), failed, other]);
        assert!(
            matches!(&again, Before::Was { settings, .. } if settings["filter"] == "logName:cloudaudit"
                && settings["destination"].as_str().unwrap().contains("acme-sec")),
            "{again:?}"
        );
    }

    #[test]
    fn an_actor_s_many_updates_make_a_plan_of_bounded_length() {
        let mut entries = vec![created()];
        for i in 0..30 {
            entries.push(entry(
                &format!("2026-02-01T00:00:{i:02}Z"),
                "UpdateSink",
                json!({"sinkName": SINK, "updateMask": "description",
                       "sink": {"description": format!("d{i}")}}),
            ));
        }
        let Before::Was {
            settings,
            from,
            omitted,
        } = replay(LogConfig::Sink, SINK, &entries)
        else {
            panic!("known")
        };
        assert_eq!(settings["description"], "d29");
        assert_eq!((from.len(), omitted), (MAX_SHOWN, 11));
        assert!(from[0].contains("CreateSink") && from[19].contains("00:00:29"));
    }

    #[test]
    fn a_record_is_cited_cut_short_whatever_its_entry_carries() {
        let mut made = created();
        made["protoPayload"]["authenticationInfo"]["principalEmail"] = json!("x".repeat(100_000));
        made["insertId"] = json!("\u{1b}]8;;".repeat(10_000));
        let Before::Was { from, .. } = replay(LogConfig::Sink, SINK, &[made]) else {
            panic!("known")
        };
        assert!(from[0].len() < 1_000, "{}", from[0].len());
    }

    #[test]
    fn without_its_creation_a_sink_is_unknown_unless_a_response_held_all_of_it() {
        let update = entry(
            "2026-02-01T00:00:00Z",
            "UpdateSink",
            json!({"sinkName": SINK, "updateMask": "filter", "sink": {"filter": "x"}}),
        );
        assert_eq!(
            replay(LogConfig::Sink, SINK, std::slice::from_ref(&update)),
            Before::Unknown
        );
        let mut whole = update.clone();
        whole["protoPayload"]["response"] =
            json!({"name": "to-sec", "destination": "storage.googleapis.com/sec", "filter": "x"});
        assert!(matches!(
            replay(LogConfig::Sink, SINK, &[whole]),
            Before::Was { settings, .. } if settings["destination"] == "storage.googleapis.com/sec"
        ));
        // Deleted last: gone, by that record.
        let deleted = entry(
            "2026-03-01T00:00:00Z",
            "DeleteSink",
            json!({"sinkName": SINK}),
        );
        assert!(matches!(
            replay(LogConfig::Sink, SINK, &[created(), deleted]),
            Before::Gone { by } if by.contains("DeleteSink")
        ));
    }

    #[test]
    fn an_exclusion_is_replayed_from_its_own_calls() {
        let name = "projects/acme-prod/exclusions/noisy";
        let made = json!({"timestamp": "2026-01-01T00:00:00Z", "protoPayload": {
            "methodName": "google.logging.v2.ConfigServiceV2.CreateExclusion",
            "resourceName": "projects/acme-prod",
            "request": {"parent": "projects/acme-prod",
                        "exclusion": {"name": "noisy", "filter": "resource.type=gce_instance AND severity<INFO"}}}});
        let widened = json!({"timestamp": "2026-02-01T00:00:00Z", "protoPayload": {
            "methodName": "google.logging.v2.ConfigServiceV2.UpdateExclusion",
            "resourceName": name,
            "request": {"name": name, "updateMask": "filter", "exclusion": {"filter": "logName:cloudaudit"}}}});
        let Before::Was { settings, .. } =
            replay(LogConfig::Exclusion, name, std::slice::from_ref(&made))
        else {
            panic!("known")
        };
        assert_eq!(
            settings,
            json!({"filter": "resource.type=gce_instance AND severity<INFO", "description": "", "disabled": false})
        );
        let made_again = made.clone();
        assert!(matches!(
            replay(LogConfig::Exclusion, name, &[made, widened.clone()]),
            Before::Was { settings, .. } if settings["filter"] == "logName:cloudaudit"
        ));
        // An exclusion call naming a sink of the same name (or a folder's) is not this one's.
        let mut elsewhere = widened.clone();
        for other in [
            "projects/acme-prod/sinks/noisy",
            "folders/9/exclusions/noisy",
        ] {
            elsewhere["protoPayload"]["resourceName"] = json!(other);
            elsewhere["protoPayload"]["request"]["name"] = json!(other);
            assert!(
                matches!(replay(LogConfig::Exclusion, name, &[made_again.clone(), elsewhere.clone()]),
                    Before::Was { settings, .. } if settings["filter"] != "logName:cloudaudit"),
                "{other}"
            );
        }
        // A call naming the project by its number is this project's (its own log is read).
        let mut by_number = made_again;
        by_number["protoPayload"]["request"]["parent"] = json!("projects/123456789012");
        assert!(matches!(
            replay(LogConfig::Exclusion, name, &[by_number]),
            Before::Was { .. }
        ));
    }
}
