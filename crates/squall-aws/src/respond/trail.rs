//! Restoring what a trail records after the attacker narrowed it without stopping it — the
//! quieter evasion: event selectors that drop management events or keep only reads
//! (`PutEventSelectors`), log file validation or global service events switched off
//! (`UpdateTrail`).
//!
//! The earlier configuration is not in the log (the call names only the new one), so the
//! restore is to what a responder needs from a trail: every management event, read and
//! write, from every source; log files whose integrity can be checked; IAM and STS events.
//! Data event selectors are kept. The configuration in force is the plan's `before`, in the
//! ledger, so nothing of it is lost.

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{Clients, err};
use crate::services::cloudtrail::{self, Advanced, Field, Selector, Selectors, Settings};

/// Bring a trail back to recording every management event with its integrity checkable.
pub struct RestoreTrail {
    pub c: Clients,
    pub trail: String,
    /// Make it a multi-region trail too: whether it was one before is not in the log.
    pub multi_region: bool,
}

/// The selector Squall adds to a trail with advanced selectors: every management event.
const RESTORED: &str = "Management events (restored by Squall)";

fn is_management(f: &Field) -> bool {
    f.field == "eventCategory" && f.equals == ["Management"]
}

/// Which management events a selector records: (reads, writes), from every source.
fn covers(s: &Selector) -> (bool, bool) {
    if s.include_management_events == Some(false) || !s.exclude_management_event_sources.is_empty()
    {
        return (false, false);
    }
    match s.read_write_type.as_deref() {
        Some("ReadOnly") => (true, false),
        Some("WriteOnly") => (false, true),
        _ => (true, true),
    }
}

/// The same for an advanced selector: management events, all or only reads or writes.
fn covers_advanced(a: &Advanced) -> (bool, bool) {
    if !a.field_selectors.iter().any(is_management) {
        return (false, false);
    }
    let mut reads = (true, true);
    for f in a.field_selectors.iter().filter(|f| !is_management(f)) {
        let only = |v: &str| f.field == "readOnly" && f.equals == [v] && f.not_equals.is_empty();
        reads = match () {
            _ if only("true") => (reads.0, false),
            _ if only("false") => (false, reads.1),
            // Any other condition (a source left out, one resource) narrows it.
            _ => (false, false),
        };
    }
    reads
}

/// Whether the selectors, together, record every management event, read and write, from
/// every source (selectors add up: one for reads and one for writes record both). A trail
/// with no selectors at all has AWS's default, which does (moto answers so; AWS itself lists
/// the default selector).
pub fn records_management(s: &Selectors) -> bool {
    if s.basic.is_empty() && s.advanced.is_empty() {
        return true;
    }
    let all = s
        .basic
        .iter()
        .map(covers)
        .chain(s.advanced.iter().map(covers_advanced))
        .fold((false, false), |acc, c| (acc.0 || c.0, acc.1 || c.1));
    all == (true, true)
}

/// The selectors with every management event recorded again, every data event selector kept
/// as it is (a basic selector's read/write type covers its data events too, so one that
/// records data is never widened). Advanced: the management selectors that narrow are
/// replaced by one that records them all. Basic: a management-only selector records reads
/// and writes from every source, or one more such selector is added; at AWS's limit of five
/// selectors with none management-only, it is refused (restore by hand).
pub fn with_management(s: &Selectors) -> Result<Selectors, String> {
    let mut out = s.clone();
    if records_management(s) {
        return Ok(out);
    }
    if !out.advanced.is_empty() {
        out.advanced
            .retain(|a| !a.field_selectors.iter().any(is_management));
        out.advanced.push(Advanced {
            name: Some(RESTORED.to_string()),
            field_selectors: vec![Field {
                field: "eventCategory".to_string(),
                equals: vec!["Management".to_string()],
                ..Field::default()
            }],
        });
        return Ok(out);
    }
    let full = Selector {
        read_write_type: Some("All".to_string()),
        include_management_events: Some(true),
        data_resources: Vec::new(),
        exclude_management_event_sources: Vec::new(),
    };
    let management_only = out
        .basic
        .iter()
        .position(|b| b.include_management_events != Some(false) && b.data_resources.is_empty());
    match management_only {
        Some(at) => out.basic[at] = full,
        None if out.basic.len() < 5 => out.basic.push(full),
        None => {
            return Err(
                "the trail has five event selectors (AWS's limit), each recording data events: \
                 widening one would widen its data events too; add a management selector by \
                 hand (or move the trail to advanced selectors)"
                    .to_string(),
            );
        }
    }
    Ok(out)
}

/// The state a restore reads and compares: what the trail records, and its settings.
fn trail_state(trail: &str, selectors: &Selectors, settings: &Settings) -> Value {
    json!({
        "trail": trail,
        "management_events": records_management(selectors),
        "log_file_validation": settings.log_file_validation,
        "global_service_events": settings.global_service_events,
        "multi_region": settings.multi_region,
        "bucket": settings.bucket,
        "home_region": settings.home_region,
        "event_selectors": selectors.basic,
        "advanced_event_selectors": selectors.advanced,
    })
}

/// The plan to restore `trail`, in `before` (as [`trail_state`] reads it, from `selectors`).
/// Refused when the selectors cannot record every management event without widening a data
/// selector. What it cannot know or restore (multi-region, the delivery bucket) it says,
/// whether or not anything changes.
fn restore_trail_plan(
    trail: &str,
    before: Value,
    selectors: &Selectors,
    multi_region: bool,
) -> Result<Plan, ActionError> {
    let wanted = with_management(selectors).map_err(|e| format!("{trail}: {e}"))?;
    let mut after = json!({
        "management_events": true,
        "log_file_validation": true,
        "global_service_events": true,
    });
    if multi_region {
        after["multi_region"] = json!(true);
    }
    let mut p = Plan::new("restore-trail", trail, before, after, true);
    let b = p.before.clone();
    if b["management_events"] == false {
        let shown = serde_json::to_string(&wanted).unwrap_or_default();
        p.notes.push(format!(
            "{trail} will record every management event, read and write, from every source (exclusions such as KMS or RDS Data dropped; data event selectors kept as they are); its selectors become {shown}"
        ));
    }
    if b["log_file_validation"] == false {
        p.notes.push(
            "log file validation goes on: files delivered from now on can be checked with digests; files delivered without it cannot"
                .to_string(),
        );
    }
    if b["multi_region"] == false && !multi_region {
        p.notes.push(format!(
            "{trail} records only its home region; if it recorded every region before, add --multi-region"
        ));
    }
    if let Some(bucket) = b["bucket"].as_str() {
        p.notes.push(format!(
            "it delivers to bucket {bucket}: if that is not your organization's, the attacker may have moved it (the UpdateTrail record says), and that is restored by hand"
        ));
    }
    Ok(p)
}

impl RestoreTrail {
    async fn read(&self) -> Result<(Selectors, Settings), ActionError> {
        let ct = &self.c.cloudtrail;
        let selectors = cloudtrail::event_selectors(ct, &self.trail)
            .await
            .map_err(err)?;
        let settings = cloudtrail::settings(ct, &self.trail).await.map_err(err)?;
        Ok((selectors, settings))
    }
}

impl Action for RestoreTrail {
    fn resource(&self) -> String {
        self.trail.clone()
    }

    fn action(&self) -> &'static str {
        "restore-trail"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (selectors, settings) = self.read().await?;
        restore_trail_plan(
            &self.trail,
            trail_state(&self.trail, &selectors, &settings),
            &selectors,
            self.multi_region,
        )
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let ct = &self.c.cloudtrail;
        let trail = &self.trail;
        // What is replaced must be what the ledger holds as the configuration in force.
        let (selectors, settings) = self.read().await?;
        if trail_state(trail, &selectors, &settings) != plan.before {
            return Err(format!(
                "{trail} changed since it was planned: nothing was changed (help: run again to record it as it is now)"
            )
            .into());
        }
        let mut facts = json!({});
        if !records_management(&selectors) {
            let wanted = with_management(&selectors).map_err(|e| format!("{trail}: {e}"))?;
            cloudtrail::put_event_selectors(ct, trail, &wanted)
                .await
                .map_err(err)?;
            facts["event_selectors"] = json!(wanted);
        }
        let validation = !settings.log_file_validation;
        let global = !settings.global_service_events;
        let multi = self.multi_region && !settings.multi_region;
        if validation || global || multi {
            cloudtrail::enable(ct, trail, validation, global, multi)
                .await
                .map_err(|e| {
                    let done = if facts["event_selectors"].is_null() {
                        ""
                    } else {
                        " (its event selectors were already replaced: every management event is recorded)"
                    };
                    format!("{e}{done}")
                })?;
        }
        Ok(facts)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let (selectors, settings) = self.read().await?;
        Ok(trail_state(&self.trail, &selectors, &settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(rw: &str, management: bool, excluded: &[&str], data: bool) -> Selector {
        Selector {
            read_write_type: Some(rw.to_string()),
            include_management_events: Some(management),
            data_resources: if data {
                vec![cloudtrail::DataResource {
                    r#type: Some("AWS::S3::Object".into()),
                    values: vec!["arn:aws:s3:::payroll/".into()],
                }]
            } else {
                vec![]
            },
            exclude_management_event_sources: excluded.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn of(basic: Vec<Selector>) -> Selectors {
        Selectors {
            basic,
            advanced: vec![],
        }
    }

    #[test]
    fn what_counts_as_recording_every_management_event() {
        let records = |v: Vec<Selector>| records_management(&of(v));
        // AWS's default (nothing custom), and the usual selector.
        assert!(records_management(&Selectors::default()));
        assert!(records(vec![basic("All", true, &[], false)]));
        // Selectors add up: one for reads and one for writes record both.
        assert!(records(vec![
            basic("ReadOnly", true, &[], false),
            basic("WriteOnly", true, &[], true)
        ]));
        // The attacker's narrowing: reads only, none, some sources left out.
        assert!(!records(vec![basic("ReadOnly", true, &[], false)]));
        assert!(!records(vec![basic("All", false, &[], true)]));
        assert!(!records(vec![basic(
            "All",
            true,
            &["iam.amazonaws.com"],
            false
        )]));
    }

    #[test]
    fn management_events_come_back_and_data_selectors_are_never_widened() {
        // Management events turned off on the one selector that also logs S3 data: a
        // management selector is added, the data selector is kept exactly.
        let narrowed = of(vec![basic("All", false, &[], true)]);
        let restored = with_management(&narrowed).unwrap();
        assert!(records_management(&restored));
        assert_eq!(restored.basic[0], narrowed.basic[0]);
        assert_eq!(restored.basic[1], basic("All", true, &[], false));
        // Writes only on a selector with S3 data (a common way to save on reads): widening it
        // would log every S3 read, so a management selector is added instead.
        let writes = of(vec![basic("WriteOnly", true, &[], true)]);
        let restored = with_management(&writes).unwrap();
        assert_eq!(restored.basic[0], writes.basic[0]);
        assert_eq!(restored.basic[1], basic("All", true, &[], false));
        // A management-only selector reading only, with a source left out: it records
        // everything again, in place.
        let read_only = of(vec![
            basic("ReadOnly", true, &["kms.amazonaws.com"], false),
            basic("All", false, &[], true),
        ]);
        let restored = with_management(&read_only).unwrap();
        assert_eq!(restored.basic.len(), 2);
        assert_eq!(restored.basic[0], basic("All", true, &[], false));
        assert_eq!(restored.basic[1], read_only.basic[1]);
        // One short of the limit, one more; at AWS's limit of five data selectors, refused.
        let four = with_management(&of(vec![basic("All", false, &[], true); 4])).unwrap();
        assert_eq!(four.basic.len(), 5);
        assert_eq!(four.basic[4], basic("All", true, &[], false));
        let e = with_management(&of(vec![basic("WriteOnly", true, &[], true); 5])).unwrap_err();
        assert!(e.contains("five event selectors"), "{e}");
    }

    #[test]
    fn narrowed_advanced_selectors_are_replaced_by_one_for_every_management_event() {
        let reads = Advanced {
            name: Some("mgmt".into()),
            field_selectors: vec![
                Field {
                    field: "eventCategory".into(),
                    equals: vec!["Management".into()],
                    ..Field::default()
                },
                Field {
                    field: "readOnly".into(),
                    equals: vec!["true".into()],
                    ..Field::default()
                },
            ],
        };
        let data = Advanced {
            name: Some("s3".into()),
            field_selectors: vec![Field {
                field: "eventCategory".into(),
                equals: vec!["Data".into()],
                ..Field::default()
            }],
        };
        let s = Selectors {
            basic: vec![],
            advanced: vec![reads, data.clone()],
        };
        assert!(!records_management(&s));
        // Reads in one selector and writes in another add up to all of them.
        let mut writes = s.advanced[0].clone();
        writes.field_selectors[1].equals = vec!["false".into()];
        let both = Selectors {
            basic: vec![],
            advanced: vec![s.advanced[0].clone(), writes],
        };
        assert!(records_management(&both));
        let restored = with_management(&s).unwrap();
        assert!(records_management(&restored));
        assert_eq!(restored.advanced[0], data);
        assert_eq!(restored.advanced[1].name.as_deref(), Some(RESTORED));
        assert_eq!(restored.advanced.len(), 2);
    }

    #[test]
    fn the_plan_records_the_configuration_in_force_and_says_what_it_cannot_know() {
        let settings = Settings {
            multi_region: false,
            global_service_events: false,
            log_file_validation: false,
            bucket: Some("attacker-logs".into()),
            home_region: Some("us-east-1".into()),
        };
        let narrowed = of(vec![basic("ReadOnly", true, &[], false)]);
        let p = restore_trail_plan(
            "org-trail",
            trail_state("org-trail", &narrowed, &settings),
            &narrowed,
            false,
        )
        .unwrap();
        assert!(!p.already_done);
        assert_eq!(p.before["event_selectors"][0]["ReadWriteType"], "ReadOnly");
        let notes = p.notes.join("\n");
        for part in [
            "every management event",
            "log file validation goes on",
            "add --multi-region",
            "bucket attacker-logs",
        ] {
            assert!(notes.contains(part), "{part} in {notes}");
        }
        // Restored: nothing to do (multi-region only when asked).
        let fine = Settings {
            global_service_events: true,
            log_file_validation: true,
            ..settings
        };
        let none = Selectors::default();
        let p = restore_trail_plan(
            "org-trail",
            trail_state("org-trail", &none, &fine),
            &none,
            false,
        )
        .unwrap();
        assert!(p.already_done);
        // Done, it still says what it cannot know: the analyst sees it either way.
        let notes = p.notes.join("\n");
        assert!(notes.contains("bucket attacker-logs"), "{notes}");
        assert!(notes.contains("add --multi-region"), "{notes}");
        let p = restore_trail_plan(
            "org-trail",
            trail_state("org-trail", &none, &fine),
            &none,
            true,
        )
        .unwrap();
        assert!(!p.already_done);
    }
}
