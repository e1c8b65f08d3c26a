//! Triage: a severity from the detections and what is at stake, and the standard questions
//! answered from the inventory — with the owner to ask for every answer it does not have.
//! "Production or test?" is also answered by the environment tags of the resources the
//! detections name (an instance tagged `Environment=prod`), each answer citing its tag and
//! resource; sources that disagree are shown as a conflict for the owner to settle.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use squall_core::entry::{CaseTriaged, TriageAnswer, TriageQuestion, TriagedAsset};

use crate::inventory::{Asset, CorpReach, DataClass, Env, Provider, Resource};
use crate::store::AttachedDetection;

/// Where a region is and which data-protection law governs data at rest there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Place {
    pub country: &'static str,
    pub jurisdiction: &'static str,
}

impl Place {
    /// EU and EEA data falls under the GDPR.
    pub fn gdpr(&self) -> bool {
        self.jurisdiction == "EU/EEA (GDPR)"
    }
}

const EU: &str = "EU/EEA (GDPR)";

/// Country and jurisdiction of a provider region (or zone) name.
pub fn place(region: &str) -> Option<Place> {
    // GCP zones (europe-west3-a) and Azure names map through their region.
    let r = region.to_ascii_lowercase();
    let r = match r.rsplit_once('-') {
        Some((base, zone)) if zone.len() == 1 && zone.as_bytes()[0].is_ascii_lowercase() => {
            base.to_string()
        }
        _ => r,
    };
    let table: &[(&str, &str, &str)] = &[
        // AWS
        ("us-gov-", "United States", "US"),
        ("us-", "United States", "US"),
        ("ca-", "Canada", "Canada (PIPEDA)"),
        ("eu-central-2", "Switzerland", "Switzerland (FADP)"),
        ("eu-central-1", "Germany", EU),
        ("eu-west-1", "Ireland", EU),
        ("eu-west-2", "United Kingdom", "UK (UK GDPR)"),
        ("eu-west-3", "France", EU),
        ("eu-north-1", "Sweden", EU),
        ("eu-south-1", "Italy", EU),
        ("eu-south-2", "Spain", EU),
        ("ap-northeast-2", "South Korea", "South Korea (PIPA)"),
        ("ap-northeast-", "Japan", "Japan (APPI)"),
        ("ap-southeast-1", "Singapore", "Singapore (PDPA)"),
        ("ap-southeast-3", "Indonesia", "Indonesia (PDP)"),
        ("ap-southeast-5", "Malaysia", "Malaysia (PDPA)"),
        ("ap-southeast-", "Australia", "Australia (Privacy Act)"),
        ("ap-south-", "India", "India (DPDP)"),
        ("ap-east-", "Hong Kong", "Hong Kong (PDPO)"),
        ("sa-east-", "Brazil", "Brazil (LGPD)"),
        ("me-south-", "Bahrain", "Bahrain (PDPL)"),
        ("me-central-", "United Arab Emirates", "UAE (PDPL)"),
        ("af-south-", "South Africa", "South Africa (POPIA)"),
        ("il-central-", "Israel", "Israel (PPL)"),
        ("mx-central-", "Mexico", "Mexico (LFPDPPP)"),
        ("cn-", "China", "China (PIPL)"),
        // GCP
        ("europe-west1", "Belgium", EU),
        ("europe-west2", "United Kingdom", "UK (UK GDPR)"),
        ("europe-west3", "Germany", EU),
        ("europe-west4", "Netherlands", EU),
        ("europe-west6", "Switzerland", "Switzerland (FADP)"),
        ("europe-west8", "Italy", EU),
        ("europe-west9", "France", EU),
        ("europe-west10", "Germany", EU),
        ("europe-west12", "Italy", EU),
        ("europe-north1", "Finland", EU),
        ("europe-north2", "Sweden", EU),
        ("europe-central2", "Poland", EU),
        ("europe-southwest1", "Spain", EU),
        ("northamerica-", "Canada", "Canada (PIPEDA)"),
        ("southamerica-east1", "Brazil", "Brazil (LGPD)"),
        ("southamerica-west1", "Chile", "Chile"),
        ("asia-east1", "Taiwan", "Taiwan (PDPA)"),
        ("asia-east2", "Hong Kong", "Hong Kong (PDPO)"),
        ("asia-northeast3", "South Korea", "South Korea (PIPA)"),
        ("asia-northeast*", "Japan", "Japan (APPI)"),
        ("asia-south*", "India", "India (DPDP)"),
        ("asia-southeast1", "Singapore", "Singapore (PDPA)"),
        ("asia-southeast2", "Indonesia", "Indonesia (PDP)"),
        ("australia-", "Australia", "Australia (Privacy Act)"),
        ("me-west1", "Israel", "Israel (PPL)"),
        ("me-central1", "Qatar", "Qatar (PDPPL)"),
        ("me-central2", "Saudi Arabia", "Saudi Arabia (PDPL)"),
        ("africa-south1", "South Africa", "South Africa (POPIA)"),
        // Azure
        ("westeurope", "Netherlands", EU),
        ("northeurope", "Ireland", EU),
        ("germanywestcentral", "Germany", EU),
        ("germanynorth", "Germany", EU),
        ("francecentral", "France", EU),
        ("francesouth", "France", EU),
        ("swedencentral", "Sweden", EU),
        ("italynorth", "Italy", EU),
        ("polandcentral", "Poland", EU),
        ("spaincentral", "Spain", EU),
        ("norwayeast", "Norway", EU),
        ("norwaywest", "Norway", EU),
        ("switzerland*", "Switzerland", "Switzerland (FADP)"),
        ("uksouth", "United Kingdom", "UK (UK GDPR)"),
        ("ukwest", "United Kingdom", "UK (UK GDPR)"),
        ("canada*", "Canada", "Canada (PIPEDA)"),
        ("brazil*", "Brazil", "Brazil (LGPD)"),
        ("japan*", "Japan", "Japan (APPI)"),
        ("korea*", "South Korea", "South Korea (PIPA)"),
        ("australia*", "Australia", "Australia (Privacy Act)"),
        ("southeastasia", "Singapore", "Singapore (PDPA)"),
        ("eastasia", "Hong Kong", "Hong Kong (PDPO)"),
        ("centralindia", "India", "India (DPDP)"),
        ("southindia", "India", "India (DPDP)"),
        ("westindia", "India", "India (DPDP)"),
        ("uaenorth", "United Arab Emirates", "UAE (PDPL)"),
        ("southafrica*", "South Africa", "South Africa (POPIA)"),
        ("eastus", "United States", "US"),
        ("westus", "United States", "US"),
        ("centralus", "United States", "US"),
        ("northcentralus", "United States", "US"),
        ("southcentralus", "United States", "US"),
        ("westcentralus", "United States", "US"),
    ];
    // Exact names first; then families: entries ending in `-` or `*` match any name they begin.
    fn family(p: &str) -> Option<&str> {
        p.strip_suffix('*')
            .or_else(|| p.ends_with('-').then_some(p))
    }
    table
        .iter()
        .find(|(name, _, _)| r == *name)
        .or_else(|| {
            table
                .iter()
                .find(|(name, _, _)| family(name).is_some_and(|f| r.starts_with(f)))
        })
        .map(|(_, country, jurisdiction)| Place {
            country,
            jurisdiction,
        })
}

/// An answered question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub question: &'static str,
    pub answer: String,
}

/// A question the inventory cannot answer, and whom to ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    pub question: &'static str,
    pub ask: String,
}

/// Triage of one affected account or project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetTriage {
    pub provider: Option<Provider>,
    pub id: String,
    pub name: Option<String>,
    /// Not in the inventory: outside the organisation's control until shown otherwise.
    pub possible_shadow_it: bool,
    pub answers: Vec<Answer>,
    pub questions: Vec<Question>,
    /// Warnings a responder must act on (cross-border data, unknown asset, ...).
    pub flags: Vec<String>,
}

/// The whole triage of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Triage {
    pub severity: String,
    pub reasons: Vec<String>,
    pub assets: Vec<AssetTriage>,
}

impl Triage {
    /// The `case.triaged` payload that records it: the JSON `squall triage` prints.
    pub fn payload(&self) -> CaseTriaged {
        CaseTriaged {
            severity: self.severity.clone(),
            reasons: self.reasons.clone(),
            assets: self
                .assets
                .iter()
                .map(|a| TriagedAsset {
                    provider: a.provider,
                    id: a.id.clone(),
                    name: a.name.clone(),
                    possible_shadow_it: a.possible_shadow_it,
                    answers: a
                        .answers
                        .iter()
                        .map(|x| TriageAnswer {
                            question: x.question.into(),
                            answer: x.answer.clone(),
                        })
                        .collect(),
                    questions: a
                        .questions
                        .iter()
                        .map(|q| TriageQuestion {
                            question: q.question.into(),
                            ask: q.ask.clone(),
                        })
                        .collect(),
                    flags: a.flags.clone(),
                })
                .collect(),
        }
    }
}

const Q_PURPOSE: &str = "What is it for?";
const Q_ENV: &str = "Production or test?";
const Q_LATERAL: &str = "Can it reach other accounts or projects?";
const Q_CORP: &str = "Can it reach back into the corporate network?";
const Q_DATA: &str = "What data does it hold?";
const Q_WHERE: &str = "Where is it, and which data-protection law applies?";

const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

fn provider_of(log_source: &str) -> Option<Provider> {
    match log_source {
        "cloudtrail" => Some(Provider::Aws),
        "gcp-audit" => Some(Provider::Gcp),
        s if s.starts_with("azure") => Some(Provider::Azure),
        _ => None,
    }
}

fn join<T: Serialize>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| {
            serde_json::to_value(i)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Production or test, as one source says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Production,
    Test,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Production => "production",
            Stage::Test => "test",
        }
    }

    fn of_env(env: Env) -> Stage {
        match env {
            Env::Prod => Stage::Production,
            Env::Staging | Env::Test | Env::Dev => Stage::Test,
        }
    }

    /// What an environment tag's value says; `None` for a value that says neither.
    fn of_tag(value: &str) -> Option<Stage> {
        match value.trim().to_ascii_lowercase().as_str() {
            "prod" | "production" | "prd" => Some(Stage::Production),
            "test" | "dev" | "staging" | "qa" | "sandbox" => Some(Stage::Test),
            _ => None,
        }
    }
}

/// Tag names that carry an environment (compared without case: `Environment`, `env`, `Env`,
/// `stage`, ...).
const ENV_TAGS: [&str; 3] = ["environment", "env", "stage"];

/// One source's answer to "Production or test?", and how to cite it.
#[derive(Debug, Clone)]
struct EnvSaid {
    stage: Stage,
    cited: String,
}

/// What the environment tags of `resources` say, each citing its tag and resource.
fn tagged_envs(resources: &[&Resource]) -> Vec<EnvSaid> {
    let mut said = Vec::new();
    for r in resources {
        let named = match &r.kind {
            Some(kind) => format!("{kind} {}", r.id),
            None => r.id.clone(),
        };
        for (key, value) in &r.tags {
            if !ENV_TAGS.iter().any(|n| key.eq_ignore_ascii_case(n)) {
                continue;
            }
            if let Some(stage) = Stage::of_tag(value) {
                said.push(EnvSaid {
                    stage,
                    cited: format!("tag {key}={value} on {named}"),
                });
            }
        }
    }
    said
}

/// "Production or test?" from the account's inventory record and its resources' tags: the
/// answer (or none), and a flag when the sources disagree. Without tags the answer is the
/// inventory's word, as it always was.
fn env_answer(account: Option<Env>, tagged: &[EnvSaid]) -> (Option<String>, Option<String>) {
    if tagged.is_empty() {
        return (account.map(|e| join(&[e])), None);
    }
    let mut said = tagged.to_vec();
    if let Some(e) = account {
        said.push(EnvSaid {
            stage: Stage::of_env(e),
            cited: format!("inventory: {}", join(&[e])),
        });
    }
    let cite = |stage: Stage| {
        said.iter()
            .filter(|s| s.stage == stage)
            .map(|s| s.cited.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let stages: BTreeSet<Stage> = said.iter().map(|s| s.stage).collect();
    match stages.into_iter().collect::<Vec<_>>()[..] {
        [one] => (Some(format!("{} ({})", one.name(), cite(one))), None),
        _ => (
            None,
            Some(format!(
                "conflicting answers to \"{Q_ENV}\": production ({}), test ({})",
                cite(Stage::Production),
                cite(Stage::Test)
            )),
        ),
    }
}

/// What the detections say of one affected account: where the activity was, and which of
/// its resources it named.
#[derive(Default)]
struct Seen {
    regions: BTreeSet<String>,
    resources: BTreeSet<String>,
}

/// Triage from the case's detections and the inventory: its accounts, and its resources with
/// their tags.
pub fn triage(
    detections: &[AttachedDetection],
    inventory: &[Asset],
    resources: &[Resource],
) -> Triage {
    // Affected assets, the regions their detections came from and the resources they name.
    let mut affected: BTreeMap<(Option<Provider>, String), Seen> = BTreeMap::new();
    let mut base = 0usize;
    let mut worst: Option<&str> = None;
    for d in detections {
        let level = LEVELS.iter().position(|l| *l == d.level).unwrap_or(0);
        if worst.is_none() || level > base {
            base = level;
            worst = Some(&d.title);
        }
        let Some(fields) = d.finding.as_ref().map(|f| &f.fields) else {
            continue;
        };
        let Some(account) = &fields.account else {
            continue;
        };
        let provider = fields.log_source.as_deref().and_then(provider_of);
        let seen = affected.entry((provider, account.clone())).or_default();
        seen.regions.extend(fields.region.clone());
        seen.resources.extend(fields.resource.clone());
    }
    let mut reasons = vec![if detections.is_empty() {
        "no detections attached".to_string()
    } else {
        format!(
            "highest detection level {} ({})",
            LEVELS[base],
            worst.unwrap_or_default()
        )
    }];
    let (mut at_stake, mut reach) = (false, false);
    let mut assets = Vec::new();
    for ((provider, id), seen) in affected {
        let asset = inventory
            .iter()
            .find(|a| a.id == id && provider.is_none_or(|p| p == a.provider));
        let touched: Vec<&Resource> = resources
            .iter()
            .filter(|r| r.account == id && provider.is_none_or(|p| p == r.provider))
            .filter(|r| seen.resources.iter().any(|n| r.is_named_by(n)))
            .collect();
        let tagged = tagged_envs(&touched);
        for t in tagged.iter().filter(|t| t.stage == Stage::Production) {
            at_stake = true;
            reasons.push(format!("{id}: {} says production", t.cited));
        }
        let t = triage_asset(provider, &id, asset, &seen.regions, &tagged);
        if let Some(a) = asset {
            if a.env == Some(Env::Prod) {
                at_stake = true;
                reasons.push(format!("{id} is production"));
            }
            let sensitive: Vec<_> = a
                .data
                .iter()
                .flatten()
                .filter(|c| !matches!(c, DataClass::Public))
                .collect();
            if !sensitive.is_empty() {
                at_stake = true;
                reasons.push(format!("{id} holds {}", join(&sensitive)));
            }
            if a.corp_reach.iter().flatten().any(|r| *r != CorpReach::None) {
                reach = true;
                reasons.push(format!("{id} can reach the corporate network"));
            }
            if a.trusts.as_ref().is_some_and(|t| !t.is_empty()) {
                reach = true;
                reasons.push(format!("{id} can act in other accounts or projects"));
            }
        } else {
            reasons.push(format!("{id} is not in the inventory (possible shadow IT)"));
        }
        assets.push(t);
    }
    let score = (base + usize::from(at_stake) + usize::from(reach)).min(LEVELS.len() - 1);
    Triage {
        severity: LEVELS[score].to_string(),
        reasons,
        assets,
    }
}

fn triage_asset(
    provider: Option<Provider>,
    id: &str,
    asset: Option<&Asset>,
    seen_regions: &BTreeSet<String>,
    tagged: &[EnvSaid],
) -> AssetTriage {
    let mut answers = Vec::new();
    let mut questions = Vec::new();
    let mut flags = Vec::new();
    let ask = asset
        .and_then(|a| match (&a.owner, &a.contact) {
            (Some(o), Some(c)) => Some(format!("{o} <{c}>")),
            (Some(o), None) => Some(o.clone()),
            (None, Some(c)) => Some(c.clone()),
            (None, None) => None,
        })
        .unwrap_or_else(|| {
            "unknown owner: find who runs this account (billing, org admins)".into()
        });
    let mut answer = |q: &'static str, a: Option<String>| match a {
        Some(a) => answers.push(Answer {
            question: q,
            answer: a,
        }),
        None => questions.push(Question {
            question: q,
            ask: ask.clone(),
        }),
    };
    answer(Q_PURPOSE, asset.and_then(|a| a.purpose.clone()));
    let (env, conflict) = env_answer(asset.and_then(|a| a.env), tagged);
    answer(Q_ENV, env);
    flags.extend(conflict);
    answer(
        Q_LATERAL,
        asset.and_then(|a| a.trusts.as_ref()).map(|t| {
            if t.is_empty() {
                "no".to_string()
            } else {
                format!("yes: {}", t.join(", "))
            }
        }),
    );
    answer(
        Q_CORP,
        asset.and_then(|a| a.corp_reach.as_ref()).map(|r| {
            if r.is_empty() || r.iter().all(|x| *x == CorpReach::None) {
                "no".to_string()
            } else {
                format!("yes: {}", join(r))
            }
        }),
    );
    answer(
        Q_DATA,
        asset.and_then(|a| a.data.as_ref()).map(|d| {
            if d.is_empty() {
                "none listed".to_string()
            } else {
                join(d)
            }
        }),
    );
    // Where: the asset's home regions (inventory) and where the activity was.
    let home: Vec<String> = asset.and_then(|a| a.regions.clone()).unwrap_or_default();
    let regions: BTreeSet<&String> = home.iter().chain(seen_regions.iter()).collect();
    let mut places = Vec::new();
    let mut unknown = Vec::new();
    for r in &regions {
        match place(r) {
            Some(p) => places.push(format!("{r}: {}, {}", p.country, p.jurisdiction)),
            None => unknown.push(r.to_string()),
        }
    }
    answer(Q_WHERE, (!places.is_empty()).then(|| places.join("; ")));
    if !unknown.is_empty() {
        flags.push(format!(
            "unknown jurisdiction for region(s) {}",
            unknown.join(", ")
        ));
    }
    let personal = asset.and_then(|a| a.data.as_ref()).is_some_and(|d| {
        d.iter()
            .any(|c| matches!(c, DataClass::Pii | DataClass::Phi))
    });
    let home_gdpr = home.iter().filter_map(|r| place(r)).any(|p| p.gdpr());
    let abroad: Vec<_> = seen_regions
        .iter()
        .filter(|r| place(r).is_some_and(|p| !p.gdpr()))
        .cloned()
        .collect();
    if personal && home_gdpr && !abroad.is_empty() {
        flags.push(format!(
            "personal data held under the GDPR; activity in {} may move it across borders (Art. 44 ff.)",
            abroad.join(", ")
        ));
    } else if personal && regions.iter().filter_map(|r| place(r)).any(|p| p.gdpr()) {
        flags.push(
            "personal data under the GDPR: a breach may need notifying within 72 hours (Art. 33)"
                .into(),
        );
    }
    if asset.is_none() {
        flags.push("not in the inventory: possible shadow IT".into());
    }
    AssetTriage {
        provider: asset.map(|a| a.provider).or(provider),
        id: id.to_string(),
        name: asset.and_then(|a| a.name.clone()),
        possible_shadow_it: asset.is_none(),
        answers,
        questions,
        flags,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use squall_core::entry::Payload;

    use super::*;

    fn detection(account: &str, region: &str, log_source: &str) -> AttachedDetection {
        let json = json!({"rule_id": "r", "rule_title": "Root login", "level": "high",
                          "event_time": "2026-10-02T09:28:12Z", "log_source": log_source,
                          "account": account, "region": region,
                          "evidence": {"file": "/l/a.json", "record_index": 0, "byte_offset": 0}});
        crate::casefile::detection_from_payload(&json, 1)
    }

    #[test]
    fn the_affected_accounts_and_regions_come_from_the_findings() {
        let inventory: Vec<Asset> = vec![
            serde_json::from_value(
                json!({"provider": "aws", "id": "111122223333", "env": "prod",
                                         "owner": "shop team", "regions": ["eu-central-1"]}),
            )
            .unwrap(),
        ];
        let t = triage(
            &[
                detection("111122223333", "us-east-1", "cloudtrail"),
                detection("acme-prod", "europe-west3", "gcp-audit"),
            ],
            &inventory,
            &[],
        );
        assert_eq!(t.severity, "critical");
        let ids: Vec<(&str, Option<Provider>)> = t
            .assets
            .iter()
            .map(|a| (a.id.as_str(), a.provider))
            .collect();
        assert_eq!(
            ids,
            [
                ("111122223333", Some(Provider::Aws)),
                ("acme-prod", Some(Provider::Gcp))
            ]
        );
        let place = |a: &AssetTriage| {
            a.answers
                .iter()
                .find(|x| x.question == Q_WHERE)
                .map(|x| x.answer.clone())
        };
        assert_eq!(
            place(&t.assets[0]).as_deref(),
            Some("eu-central-1: Germany, EU/EEA (GDPR); us-east-1: United States, US")
        );
        // Recorded as the typed `case.triaged` payload, whose JSON is what `squall triage`
        // prints.
        let printed = serde_json::to_value(&t).unwrap();
        assert_eq!(t.payload().to_value(), printed);
        assert_eq!(CaseTriaged::from_value(&printed), Some(t.payload()));
    }

    #[test]
    fn regions_and_zones_map_to_jurisdictions() {
        assert_eq!(place("eu-central-1").unwrap().country, "Germany");
        assert!(place("eu-central-1").unwrap().gdpr());
        assert!(
            !place("eu-west-2").unwrap().gdpr(),
            "London is UK GDPR, not EU"
        );
        assert!(
            !place("eu-central-2").unwrap().gdpr(),
            "Zurich is Swiss law"
        );
        assert_eq!(place("europe-west3-a").unwrap().country, "Germany");
        assert_eq!(place("us-east-1").unwrap().jurisdiction, "US");
        assert_eq!(place("westeurope").unwrap().country, "Netherlands");
        assert_eq!(place("ap-northeast-2").unwrap().country, "South Korea");
        assert_eq!(place("europe-west10").unwrap().country, "Germany");
        assert_eq!(place("australiasoutheast").unwrap().country, "Australia");
        assert_eq!(place("us-gov-west-1").unwrap().jurisdiction, "US");
        assert!(place("mars-north-1").is_none());
    }

    fn detection_on(account: &str, resource: &str) -> AttachedDetection {
        let json = json!({"rule_id": "r", "rule_title": "SSH key pushed", "level": "medium",
                          "event_time": "2026-10-02T09:14:07Z", "log_source": "cloudtrail",
                          "account": account, "region": "eu-central-1", "resource": resource,
                          "evidence": {"file": "/l/a.json", "record_index": 0, "byte_offset": 0}});
        crate::casefile::detection_from_payload(&json, 1)
    }

    fn resource(id: &str, kind: &str, tags: serde_json::Value) -> Resource {
        serde_json::from_value(
            json!({"provider": "aws", "account": "111122223333", "id": id,
                                      "kind": kind, "tags": tags}),
        )
        .unwrap()
    }

    fn env_of(t: &Triage) -> Option<String> {
        t.assets[0]
            .answers
            .iter()
            .find(|a| a.question == Q_ENV)
            .map(|a| a.answer.clone())
    }

    #[test]
    fn an_instance_tagged_prod_answers_production_or_test_and_is_cited() {
        let inventory: Vec<Asset> = vec![
            serde_json::from_value(json!({"provider": "aws", "id": "111122223333",
                                          "owner": "shop team"}))
            .unwrap(),
        ];
        let resources = [
            resource(
                "i-0abc",
                "instance",
                json!({"Environment": "prod", "Owner": "shop"}),
            ),
            // Not named by any detection: its tag says nothing about this case.
            resource("i-0fff", "instance", json!({"Environment": "test"})),
        ];
        let t = triage(
            &[detection_on("111122223333", "i-0abc")],
            &inventory,
            &resources,
        );
        assert_eq!(
            env_of(&t).as_deref(),
            Some("production (tag Environment=prod on instance i-0abc)")
        );
        assert!(t.assets[0].questions.iter().all(|q| q.question != Q_ENV));
        assert!(t.assets[0].flags.is_empty(), "{:?}", t.assets[0].flags);
        assert!(
            t.reasons.contains(
                &"111122223333: tag Environment=prod on instance i-0abc says production"
                    .to_string()
            ),
            "{:?}",
            t.reasons
        );
        assert_eq!(t.severity, "high", "medium, one step up for production");
        // Logs may name the resource by its ARN; tag names and values are read without case.
        let resources = [resource("vol-1", "volume", json!({"stage": "PRD"}))];
        let t = triage(
            &[detection_on(
                "111122223333",
                "arn:aws:ec2:eu-central-1:111122223333:volume/vol-1",
            )],
            &inventory,
            &resources,
        );
        assert_eq!(
            env_of(&t).as_deref(),
            Some("production (tag stage=PRD on volume vol-1)")
        );
    }

    #[test]
    fn sources_that_disagree_are_shown_as_a_conflict_for_the_owner() {
        let inventory: Vec<Asset> = vec![
            serde_json::from_value(json!({"provider": "aws", "id": "111122223333",
                                          "env": "test", "owner": "shop team"}))
            .unwrap(),
        ];
        let resources = [
            resource("i-0abc", "instance", json!({"env": "production"})),
            resource("i-0def", "instance", json!({"Env": "qa"})),
        ];
        let t = triage(
            &[
                detection_on("111122223333", "i-0abc"),
                detection_on("111122223333", "i-0def"),
            ],
            &inventory,
            &resources,
        );
        let a = &t.assets[0];
        assert_eq!(env_of(&t), None, "not silently resolved");
        assert!(
            a.questions
                .iter()
                .any(|q| q.question == Q_ENV && q.ask == "shop team")
        );
        assert_eq!(
            a.flags,
            [
                "conflicting answers to \"Production or test?\": production (tag env=production on \
                 instance i-0abc), test (tag Env=qa on instance i-0def; inventory: test)"
            ]
        );
        // Production anywhere raises the severity until the owner says otherwise.
        assert_eq!(t.severity, "high");
        // With no tags, the inventory's word is the answer, as before.
        let t = triage(&[detection_on("111122223333", "i-0abc")], &inventory, &[]);
        assert_eq!(env_of(&t).as_deref(), Some("test"));
    }
}
