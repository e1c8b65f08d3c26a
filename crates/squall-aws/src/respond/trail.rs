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

use super::{Clients, err, plan};
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

/// Whether the selectors record every management event, read and write, from every source.
/// A trail with no selectors at all has AWS's default, which does.
pub fn records_management(s: &Selectors) -> bool {
    if s.basic.is_empty() && s.advanced.is_empty() {
        return true;
    }
    s.basic.iter().any(|b| {
        b.include_management_events != Some(false)
            && b.read_write_type.as_deref().is_none_or(|t| t == "All")
            && b.exclude_management_event_sources.is_empty()
    }) || s
        .advanced
        .iter()
        .any(|a| a.field_selectors.len() == 1 && is_management(&a.field_selectors[0]))
}

/// The selectors with every management event recorded again, data event selectors kept.
/// Advanced: the management selectors that narrow (to reads, to some sources) are replaced
/// by one that records them all. Basic: the selectors that include management events record
/// reads and writes from every source; if none did, one more selector does (or the first,
/// at AWS's limit of five).
pub fn with_management(s: &Selectors) -> Selectors {
    let mut out = s.clone();
    if records_management(s) {
        return out;
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
        return out;
    }
    let full = |b: &mut Selector| {
        b.include_management_events = Some(true);
        b.read_write_type = Some("All".to_string());
        b.exclude_management_event_sources.clear();
    };
    let mut any = false;
    for b in out
        .basic
        .iter_mut()
        .filter(|b| b.include_management_events != Some(false))
    {
        full(b);
        any = true;
    }
    if !any {
        let at = if out.basic.len() < 5 {
            out.basic.push(Selector::default());
            out.basic.len() - 1
        } else {
            0
        };
        full(&mut out.basic[at]);
    }
    out
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

/// The plan to restore `trail`, in `before` (as [`trail_state`] reads it).
fn restore_trail_plan(trail: &str, before: Value, multi_region: bool) -> Plan {
    let mut after = json!({
        "management_events": true,
        "log_file_validation": true,
        "global_service_events": true,
    });
    if multi_region {
        after["multi_region"] = json!(true);
    }
    let mut p = plan("restore-trail", trail, before, after, true);
    if p.already_done {
        return p;
    }
    let b = &p.before;
    if b["management_events"] == false {
        p.notes.push(format!(
            "{trail} will record every management event, read and write, from every source (exclusions such as KMS or RDS Data are dropped; data event selectors are kept)"
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
    p
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

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (selectors, settings) = self.read().await?;
        Ok(restore_trail_plan(
            &self.trail,
            trail_state(&self.trail, &selectors, &settings),
            self.multi_region,
        ))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let ct = &self.c.cloudtrail;
        let (selectors, settings) = self.read().await?;
        let mut facts = json!({});
        if !records_management(&selectors) {
            let wanted = with_management(&selectors);
            cloudtrail::put_event_selectors(ct, &self.trail, &wanted)
                .await
                .map_err(err)?;
            facts["event_selectors"] = json!(wanted);
        }
        let validation = !settings.log_file_validation;
        let global = !settings.global_service_events;
        let multi = self.multi_region && !settings.multi_region;
        if validation || global || multi {
            cloudtrail::enable(ct, &self.trail, validation, global, multi)
                .await
                .map_err(err)?;
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
        // AWS's default (nothing custom), and the usual selector.
        assert!(records_management(&Selectors::default()));
        assert!(records_management(&of(vec![basic(
            "All",
            true,
            &[],
            false
        )])));
        // The attacker's narrowing: writes only... or reads only, none, some sources.
        assert!(!records_management(&of(vec![basic(
            "ReadOnly",
            true,
            &[],
            false
        )])));
        assert!(!records_management(&of(vec![basic(
            "All",
            false,
            &[],
            true
        )])));
        assert!(!records_management(&of(vec![basic(
            "All",
            true,
            &["iam.amazonaws.com"],
            false
        )])));
    }

    #[test]
    fn management_events_come_back_and_data_selectors_stay() {
        // Management events turned off on the one selector that also logs S3 data.
        let narrowed = of(vec![basic("All", false, &[], true)]);
        let restored = with_management(&narrowed);
        assert!(records_management(&restored));
        assert_eq!(
            restored.basic[0], narrowed.basic[0],
            "the data selector is kept"
        );
        assert_eq!(restored.basic[1], basic("All", true, &[], false));
        // Reads only and an excluded source: the same selector records everything again.
        let read_only = of(vec![basic("ReadOnly", true, &["kms.amazonaws.com"], true)]);
        let restored = with_management(&read_only);
        assert_eq!(restored.basic.len(), 1);
        assert_eq!(restored.basic[0], basic("All", true, &[], true));
        // One short of the limit, one more; at AWS's limit of five, the first one records
        // management events.
        let four = with_management(&of(vec![basic("All", false, &[], true); 4]));
        assert_eq!(four.basic.len(), 5);
        assert_eq!(four.basic[4], basic("All", true, &[], false));
        let full = of(vec![basic("All", false, &[], true); 5]);
        let restored = with_management(&full);
        assert_eq!(restored.basic.len(), 5);
        assert!(records_management(&restored));
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
        let restored = with_management(&s);
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
            false,
        );
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
        let p = restore_trail_plan(
            "org-trail",
            trail_state("org-trail", &Selectors::default(), &fine),
            false,
        );
        assert!(p.already_done);
        let p = restore_trail_plan(
            "org-trail",
            trail_state("org-trail", &Selectors::default(), &fine),
            true,
        );
        assert!(!p.already_done);
    }
}
