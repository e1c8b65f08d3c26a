//! Stolen credentials, found the way GuardDuty finds them but from the logs alone: every key
//! is learned with the addresses it was used from across the whole hunt (no window), and a use
//! from an address that does not belong to it is reported.
//!
//! - An instance role's session (EC2 delivered it; its session name is the instance id) is
//!   only ever used by that instance, which reaches AWS from AWS's own addresses (its public or
//!   Elastic IP, a NAT gateway) or through a VPC endpoint. A use from outside AWS is
//!   [`INSTANCE_OUTSIDE_AWS`]; one from another AWS address or endpoint than the instance's own
//!   is [`INSTANCE_INSIDE_AWS`]. The instance's own are what its sessions were first used
//!   from, and what two or more of its sessions used.
//! - Any other temporary key (an assumed role's session) used from two networks is
//!   [`SESSION_TWO_NETWORKS`]. AWS's addresses count as one network for it (a Lambda function
//!   or a CodeBuild job calls from many of them).
//! - A long-term key's networks in its first hour in the hunt are its baseline; a use from a
//!   network outside it, however much later, is [`KEY_NEW_NETWORK`].
//!
//! A network is an address's /24 (IPv4) or /56 (IPv6) outside AWS, so a CI runner pool or an
//! office NAT pool counts once; AWS services calling on a principal's behalf (`invokedBy`, or
//! a service's name as the source) are not places and are left out. State grows with the
//! distinct (key, address) pairs, never with the events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use squall_logs::{CredentialUse, KeyKind};

use crate::aws_ranges::AwsRanges;
use crate::detection::Level;

/// A finding this detector reports, as a rule the output and the case name.
#[derive(Debug, PartialEq, Eq)]
pub struct NativeRule {
    pub id: &'static str,
    pub title: &'static str,
    pub level: Level,
    pub tags: &'static [&'static str],
}

pub const INSTANCE_OUTSIDE_AWS: NativeRule = NativeRule {
    id: "5b0f6a8e-3d3c-4f0e-9a51-6c7f2f0d9b01",
    title: "Instance Role Credentials Used Outside AWS",
    level: Level::High,
    tags: &[
        "attack.credential-access",
        "attack.t1552.005",
        "attack.t1078.004",
    ],
};

pub const INSTANCE_INSIDE_AWS: NativeRule = NativeRule {
    id: "5b0f6a8e-3d3c-4f0e-9a51-6c7f2f0d9b02",
    title: "Instance Role Credentials Used from Another AWS Address",
    level: Level::High,
    tags: &[
        "attack.credential-access",
        "attack.t1552.005",
        "attack.t1078.004",
    ],
};

pub const SESSION_TWO_NETWORKS: NativeRule = NativeRule {
    id: "5b0f6a8e-3d3c-4f0e-9a51-6c7f2f0d9b03",
    title: "Role Session Credentials Used from Two Networks",
    level: Level::High,
    tags: &[
        "attack.credential-access",
        "attack.t1550.001",
        "attack.t1078.004",
    ],
};

pub const KEY_NEW_NETWORK: NativeRule = NativeRule {
    id: "5b0f6a8e-3d3c-4f0e-9a51-6c7f2f0d9b04",
    title: "Long-Term Access Key Used from a New Network",
    level: Level::Medium,
    tags: &["attack.initial-access", "attack.t1078.004"],
};

/// Every rule of the detector.
pub const RULES: [&NativeRule; 4] = [
    &INSTANCE_OUTSIDE_AWS,
    &INSTANCE_INSIDE_AWS,
    &SESSION_TWO_NETWORKS,
    &KEY_NEW_NETWORK,
];

/// A key is reported at most this many times (its first uses from so many foreign sources):
/// a key sprayed from a hundred thousand addresses is one stolen key, not a hundred thousand
/// findings.
pub const MAX_PER_KEY: usize = 20;

/// How long a long-term key's first uses in the hunt make its baseline.
pub const BASELINE_MILLIS: i64 = 3_600_000;

/// Past this many distinct (key, address) pairs, new pairs are counted, not learned: a log
/// made of random keys and addresses must not take the machine's memory. Measured at about
/// 400 bytes a pair at worst (a new key each, both workers' tables and their merge), so some
/// 80 MB (`bench/credentials.sh`); a week of a thousand instances' rotating sessions fits.
pub const MAX_PAIRS: usize = 200_000;

/// One (key, source) pair's uses: when, how often, and the record of the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub first: i64,
    pub last: i64,
    pub count: u64,
    /// The input file and record index of the first use: the finding's evidence.
    pub file: u32,
    pub index: u64,
}

impl Seen {
    fn new(millis: i64, file: u32, index: u64) -> Seen {
        Seen {
            first: millis,
            last: millis,
            count: 1,
            file,
            index,
        }
    }

    /// Adds another sighting (or another worker's); the earliest record stays the evidence,
    /// ties going to the earlier file and record so the result is the same on every run.
    fn add(&mut self, other: &Seen) {
        if (other.first, other.file, other.index) < (self.first, self.file, self.index) {
            self.first = other.first;
            self.file = other.file;
            self.index = other.index;
        }
        self.last = self.last.max(other.last);
        self.count += other.count;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    LongTerm,
    Instance(Box<str>),
    Session,
}

/// A source that is a VPC endpoint of the account called (or of no account the record names).
const ENDPOINT: &str = "vpce:";
/// A source that is a VPC endpoint of another account: `vpce-other:ID@ACCOUNT`.
const FOREIGN_ENDPOINT: &str = "vpce-other:";

/// A (key, source) pair looked up without copying either (it hashes and compares as the
/// owned pair does).
#[derive(Hash)]
struct PairRef<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<(Box<str>, Box<str>)> for PairRef<'_> {
    fn equivalent(&self, k: &(Box<str>, Box<str>)) -> bool {
        self.0 == &*k.0 && self.1 == &*k.1
    }
}

/// What the hunt learned of every key, per worker and then merged: one entry per distinct
/// (key, source) pair, the source an address or `vpce:ID` for calls through a VPC endpoint.
#[derive(Debug)]
pub struct Uses {
    pairs: hashbrown::HashMap<(Box<str>, Box<str>), Seen>,
    kinds: hashbrown::HashMap<Box<str>, Kind>,
    /// Pairs this one learns at most (a worker's share of [`MAX_PAIRS`]).
    cap: usize,
    /// Uses of pairs not learned past the cap.
    pub dropped: u64,
    /// Where a record's source text is built (see [`Uses::observe`]).
    scratch: String,
}

impl Default for Uses {
    fn default() -> Uses {
        Uses::with_cap(MAX_PAIRS)
    }
}

impl From<&KeyKind<'_>> for Kind {
    fn from(kind: &KeyKind<'_>) -> Kind {
        match kind {
            KeyKind::LongTerm => Kind::LongTerm,
            KeyKind::Instance(i) => Kind::Instance(i.as_ref().into()),
            KeyKind::Session => Kind::Session,
        }
    }
}

/// What a key is, once any of its records says EC2 delivered it to an instance (which only
/// EC2 can say): whichever record a worker happened to see first, the answer is the same.
fn upgrade(known: &mut Kind, seen: Kind) {
    if matches!(seen, Kind::Instance(_)) && !matches!(known, Kind::Instance(_)) {
        *known = seen;
    }
}

/// A key's sources, as the analysis reads them.
struct KeyUses<'a> {
    sources: Vec<(&'a str, &'a Seen)>,
}

impl Uses {
    /// Learns at most `cap` pairs.
    pub fn with_cap(cap: usize) -> Uses {
        Uses {
            pairs: hashbrown::HashMap::new(),
            kinds: hashbrown::HashMap::new(),
            cap,
            dropped: 0,
            scratch: String::new(),
        }
    }

    /// Learns one use of a key. Calls an AWS service made on the principal's behalf, and
    /// sources that are a service's name rather than an address, are not places.
    pub fn observe(&mut self, u: &CredentialUse<'_>, millis: i64, file: u32, index: u64) {
        if u.by_service {
            return;
        }
        // The source's text, built in a buffer kept between records: the hot path allocates
        // only for a pair it has not seen.
        use std::fmt::Write as _;
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let source: &str = match (&u.vpc_endpoint, &u.foreign_endpoint) {
            (Some(v), Some(owner)) => {
                let _ = write!(buf, "{FOREIGN_ENDPOINT}{v}@{owner}");
                &buf
            }
            (Some(v), None) => {
                let _ = write!(buf, "{ENDPOINT}{v}");
                &buf
            }
            (None, _) => match u.address.parse::<IpAddr>() {
                // IPv6 in one spelling (`2600:1F18::1` and `2600:1f18:0::1` are one address;
                // `::ffff:a.b.c.d` is the IPv4 address).
                Ok(ip) if u.address.contains(':') => {
                    let _ = write!(buf, "{}", ip.to_canonical());
                    &buf
                }
                Ok(_) => &u.address,
                Err(_) => {
                    self.scratch = buf;
                    return;
                }
            },
        };
        self.learn(u, source, Seen::new(millis, file, index));
        self.scratch = buf;
    }

    fn learn(&mut self, u: &CredentialUse<'_>, source: &str, seen: Seen) {
        if let Some(s) = self.pairs.get_mut(&PairRef(&u.key, source)) {
            s.add(&seen);
            // Whatever record came first, one saying EC2 delivered the key decides.
            if matches!(u.kind, KeyKind::Instance(_))
                && let Some(k) = self.kinds.get_mut(u.key.as_ref())
                && !matches!(k, Kind::Instance(_))
            {
                *k = Kind::from(&u.kind);
            }
            return;
        }
        if self.pairs.len() >= self.cap {
            self.dropped += 1;
            return;
        }
        self.pairs
            .insert((u.key.as_ref().into(), source.into()), seen);
        let kind = Kind::from(&u.kind);
        match self.kinds.get_mut(u.key.as_ref()) {
            Some(k) => upgrade(k, kind),
            None => {
                self.kinds.insert(u.key.as_ref().into(), kind);
            }
        }
    }

    /// Takes in another worker's uses.
    pub fn merge(&mut self, other: Uses) {
        self.dropped += other.dropped;
        for (pair, seen) in other.pairs {
            match self.pairs.get_mut(&pair) {
                Some(s) => s.add(&seen),
                None => {
                    self.pairs.insert(pair, seen);
                }
            }
        }
        for (key, kind) in other.kinds {
            match self.kinds.get_mut(&key) {
                Some(k) => upgrade(k, kind),
                None => {
                    self.kinds.insert(key, kind);
                }
            }
        }
    }

    /// The distinct (key, source) pairs learned.
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }

    /// What the uses show, in the order the first suspicious use happened. `known` gives an
    /// instance's own public addresses where the inventory read them (by instance id).
    pub fn findings(
        &self,
        ranges: &AwsRanges,
        known: &HashMap<String, Vec<String>>,
    ) -> Vec<Finding> {
        let mut keys: HashMap<&str, KeyUses<'_>> = HashMap::new();
        for ((key, source), seen) in &self.pairs {
            keys.entry(key)
                .or_insert_with(|| KeyUses {
                    sources: Vec::new(),
                })
                .sources
                .push((source, seen));
        }
        let mut out = Vec::new();
        let mut instances: BTreeMap<&str, Vec<(&str, &KeyUses<'_>)>> = BTreeMap::new();
        for (key, uses) in &keys {
            match self.kinds.get(*key) {
                Some(Kind::Instance(i)) => instances.entry(i).or_default().push((key, uses)),
                Some(Kind::Session) => session(key, uses, ranges, &mut out),
                Some(Kind::LongTerm) => long_term(key, uses, ranges, &mut out),
                None => {}
            }
        }
        for (instance, keys) in instances {
            let own = known.get(instance).map(Vec::as_slice).unwrap_or_default();
            instance_keys(instance, own, &keys, ranges, &mut out);
        }
        out.sort_by(|a, b| {
            (a.seen.first, &a.key, &a.source).cmp(&(b.seen.first, &b.key, &b.source))
        });
        out
    }
}

/// A use of a key from where it does not belong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static NativeRule,
    pub key: String,
    /// The address (or the VPC endpoint's id) it was used from.
    pub source: String,
    /// Where that is: `outside AWS`, `AWS us-east-1 EC2`, `VPC endpoint vpce-0abc`, ...
    pub place: String,
    /// The instance an instance role's session was delivered to.
    pub instance: Option<String>,
    /// Where the key is normally used from (a few of its usual sources).
    pub usual: Vec<String>,
    /// Its uses from that source: the first is the evidence.
    pub seen: Seen,
}

/// Where a source is, as far as AWS's ranges tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Where {
    /// A VPC endpoint of the account called: the caller's own network.
    Endpoint,
    /// A VPC endpoint of another account.
    ForeignEndpoint,
    Aws {
        region: String,
        service: String,
    },
    Private,
    Outside,
}

fn where_of(source: &str, ranges: &AwsRanges) -> Where {
    if source.starts_with(ENDPOINT) {
        return Where::Endpoint;
    }
    if source.starts_with(FOREIGN_ENDPOINT) {
        return Where::ForeignEndpoint;
    }
    let Ok(ip) = source.parse::<IpAddr>() else {
        return Where::Outside;
    };
    if let Some(p) = ranges.place(ip) {
        return Where::Aws {
            region: p.region,
            service: p.service,
        };
    }
    let private = match ip {
        IpAddr::V4(a) => a.is_private() || a.is_loopback() || a.is_link_local(),
        IpAddr::V6(a) => a.is_unique_local() || a.is_loopback(),
    };
    if private {
        Where::Private
    } else {
        Where::Outside
    }
}

fn describe(source: &str, w: &Where) -> String {
    match w {
        Where::Endpoint => format!("VPC endpoint {}", source.trim_start_matches(ENDPOINT)),
        Where::ForeignEndpoint => {
            let (id, owner) = source
                .trim_start_matches(FOREIGN_ENDPOINT)
                .split_once('@')
                .unwrap_or((source, "?"));
            format!("VPC endpoint {id} of account {owner}")
        }
        Where::Aws { region, service } => format!("AWS {region} {service}"),
        Where::Private => "a private address".to_string(),
        Where::Outside => "outside AWS".to_string(),
    }
}

/// The network a source counts as: its /24 (IPv4) or /56 (IPv6); an endpoint is its own.
fn network(source: &str) -> String {
    match source.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}00::/56", s[0], s[1], s[2], s[3] >> 8)
        }
        Err(_) => source.to_string(),
    }
}

/// A short list of usual sources, for the finding.
fn usual<'a>(sources: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut all: Vec<String> = sources.into_iter().map(str::to_string).collect();
    all.sort();
    all.dedup();
    all.truncate(4);
    all
}

fn finding(
    rule: &'static NativeRule,
    key: &str,
    source: &str,
    w: &Where,
    seen: &Seen,
    instance: Option<&str>,
    usual: Vec<String>,
) -> Finding {
    // An endpoint is shown by its id; where it is (whose it is) the place says.
    let shown = source
        .strip_prefix(ENDPOINT)
        .or_else(|| {
            source
                .strip_prefix(FOREIGN_ENDPOINT)
                .and_then(|s| s.split_once('@'))
                .map(|(id, _)| id)
        })
        .unwrap_or(source);
    Finding {
        rule,
        key: key.to_string(),
        source: shown.to_string(),
        place: describe(source, w),
        instance: instance.map(str::to_string),
        usual,
        seen: *seen,
    }
}

/// An instance's sessions. Its own addresses are the inventory's when it read a public IPv4
/// one (an instance with one reaches AWS from it), and its own account's VPC endpoints;
/// otherwise what each session was first used from outside those endpoints (a NAT gateway's
/// address, which every session starts from). Anything else is foreign: outside AWS, another
/// AWS address, another account's endpoint. A thief who uses every new session before the
/// instance itself does, from inside AWS, cannot be told from it without the inventory.
fn instance_keys(
    instance: &str,
    inventory: &[String],
    keys: &[(&str, &KeyUses<'_>)],
    ranges: &AwsRanges,
    out: &mut Vec<Finding>,
) {
    let mut places: HashMap<&str, Where> = HashMap::new();
    let authoritative = inventory
        .iter()
        .any(|a| matches!(a.parse::<IpAddr>(), Ok(IpAddr::V4(_))));
    let mut home: BTreeSet<&str> = inventory.iter().map(String::as_str).collect();
    for (_, uses) in keys {
        for (source, _) in &uses.sources {
            places
                .entry(source)
                .or_insert_with(|| where_of(source, ranges));
        }
        if authoritative {
            continue;
        }
        let first = uses
            .sources
            .iter()
            .filter(|(s, _)| !matches!(places[s], Where::Outside | Where::Endpoint))
            .min_by(|(a, x), (b, y)| {
                (x.first, x.file, x.index, a).cmp(&(y.first, y.file, y.index, b))
            });
        if let Some((s, _)) = first
            && places[s] != Where::ForeignEndpoint
        {
            home.insert(s);
        }
    }
    let usual = usual(home.iter().copied());
    for (key, uses) in keys {
        let mut reported = 0;
        for (source, seen) in &uses.sources {
            let w = &places[source];
            let rule = match w {
                // The inventory's own addresses first: a BYOIP Elastic IP is outside AWS's
                // published ranges, and still the instance's.
                _ if home.contains(source) => continue,
                // The account's own endpoints are its VPCs' way out.
                Where::Endpoint => continue,
                Where::Outside => &INSTANCE_OUTSIDE_AWS,
                _ => &INSTANCE_INSIDE_AWS,
            };
            if reported == MAX_PER_KEY {
                break;
            }
            reported += 1;
            out.push(finding(
                rule,
                key,
                source,
                w,
                seen,
                Some(instance),
                usual.clone(),
            ));
        }
    }
}

/// A role session used from two networks (AWS's addresses and endpoints counting as one).
fn session(key: &str, uses: &KeyUses<'_>, ranges: &AwsRanges, out: &mut Vec<Finding>) {
    let net = |source: &str, w: &Where| match w {
        Where::Aws { .. } | Where::Endpoint => "AWS".to_string(),
        _ => network(source),
    };
    by_network(key, uses, ranges, &net, None, &SESSION_TWO_NETWORKS, out);
}

/// A long-term key used, after its first hour, from a network its first hour did not show
/// (AWS's addresses counting by region).
fn long_term(key: &str, uses: &KeyUses<'_>, ranges: &AwsRanges, out: &mut Vec<Finding>) {
    let net = |source: &str, w: &Where| match w {
        Where::Aws { region, .. } => format!("AWS {region}"),
        Where::Endpoint => "AWS endpoint".to_string(),
        _ => network(source),
    };
    by_network(
        key,
        uses,
        ranges,
        &net,
        Some(BASELINE_MILLIS),
        &KEY_NEW_NETWORK,
        out,
    );
}

/// Groups a key's sources by network and reports each network first used after the key's
/// baseline: its first network (no `baseline`), or every network seen within `baseline` of
/// its first use.
fn by_network(
    key: &str,
    uses: &KeyUses<'_>,
    ranges: &AwsRanges,
    net: &dyn Fn(&str, &Where) -> String,
    baseline: Option<i64>,
    rule: &'static NativeRule,
    out: &mut Vec<Finding>,
) {
    if uses.sources.len() < 2 {
        return;
    }
    // Each network's first use, and the source it came from.
    let mut networks: BTreeMap<String, (&str, &Seen, Where)> = BTreeMap::new();
    for &(source, seen) in &uses.sources {
        let w = where_of(source, ranges);
        let n = net(source, &w);
        match networks.get(&n) {
            Some((s, first, _))
                if (first.first, first.file, first.index, *s)
                    <= (seen.first, seen.file, seen.index, source) => {}
            _ => {
                networks.insert(n, (source, seen, w));
            }
        }
    }
    if networks.len() < 2 {
        return;
    }
    let mut order: Vec<(&String, &(&str, &Seen, Where))> = networks.iter().collect();
    order.sort_by_key(|(n, (s, seen, _))| (seen.first, seen.file, seen.index, *s, *n));
    let start = order[0].1.1.first;
    let known: Vec<&str> = order
        .iter()
        .take_while(|(_, (_, seen, _))| match baseline {
            Some(b) => seen.first <= start + b,
            None => seen.first == start,
        })
        .map(|(_, (s, _, _))| *s)
        .collect();
    let known_count = known.len().max(1);
    let usual = usual(known.iter().copied());
    for (_, (source, seen, w)) in order.iter().skip(known_count).take(MAX_PER_KEY) {
        out.push(finding(rule, key, source, w, seen, None, usual.clone()));
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// 3.80.0.0/12 is EC2 in us-east-1, 13.52.0.0/16 EC2 in us-west-1.
    fn ranges() -> AwsRanges {
        AwsRanges::parse(
            r#"{"createDate": "2026-08-22-21-17-05", "prefixes": [
            {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "EC2"},
            {"ip_prefix": "13.52.0.0/16", "region": "us-west-1", "service": "EC2"}]}"#,
        )
        .unwrap()
    }

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    /// A use: (key, kind, address, endpoint, minute).
    fn feed(uses: &mut Uses, events: &[(&str, KeyKind<'static>, &str, Option<&str>, i64)]) {
        for (i, (key, kind, address, endpoint, at)) in events.iter().enumerate() {
            let u = CredentialUse {
                key: Cow::Borrowed(key),
                kind: kind.clone(),
                address: Cow::Borrowed(address),
                vpc_endpoint: endpoint.map(Cow::Borrowed),
                foreign_endpoint: None,
                by_service: false,
            };
            uses.observe(&u, *at, 0, i as u64);
        }
    }

    fn found(
        events: &[(&str, KeyKind<'static>, &str, Option<&str>, i64)],
    ) -> Vec<(&'static str, String, String)> {
        let mut uses = Uses::default();
        feed(&mut uses, events);
        uses.findings(&ranges(), &HashMap::new())
            .into_iter()
            .map(|f| (f.rule.title, f.source, f.place))
            .collect()
    }

    fn web(instance: &'static str) -> KeyKind<'static> {
        KeyKind::Instance(Cow::Borrowed(instance))
    }

    const I: &str = "i-0123456789abcdef0";

    #[test]
    fn an_instance_role_key_used_outside_aws_is_found_at_once() {
        let got = found(&[
            ("ASIAWEB1", web(I), "3.84.10.10", None, 0),
            ("ASIAWEB1", web(I), "198.51.100.66", None, 70 * MIN),
        ]);
        assert_eq!(
            got,
            [(
                INSTANCE_OUTSIDE_AWS.title,
                "198.51.100.66".to_string(),
                "outside AWS".to_string()
            )]
        );
    }

    #[test]
    fn an_instance_role_key_used_from_a_foreign_instance_inside_aws_is_found() {
        // Its sessions come from its NAT address; one is used from another EC2 address.
        let got = found(&[
            ("ASIAWEB1", web(I), "3.84.10.10", None, 0),
            ("ASIAWEB2", web(I), "3.84.10.10", None, 6 * HOUR),
            ("ASIAWEB2", web(I), "13.52.7.7", None, 7 * HOUR),
        ]);
        assert_eq!(
            got,
            [(
                INSTANCE_INSIDE_AWS.title,
                "13.52.7.7".to_string(),
                "AWS us-west-1 EC2".to_string()
            )]
        );
    }

    #[test]
    fn the_inventory_names_the_instance_address_a_thief_inside_aws_does_not_have() {
        // The log holds only the thief's calls, from an EC2 address; alone, nothing says it
        // is not the instance's. The inventory read the instance's public address.
        let events = [
            ("ASIAWEB1", web(I), "13.52.7.7", None, 0),
            ("ASIAWEB1", web(I), "10.0.1.5", Some("vpce-0abc"), MIN),
        ];
        assert_eq!(found(&events), []);
        let mut uses = Uses::default();
        feed(&mut uses, &events);
        let known = HashMap::from([(I.to_string(), vec!["3.84.10.10".to_string()])]);
        let got: Vec<(&str, String)> = uses
            .findings(&ranges(), &known)
            .into_iter()
            .map(|f| (f.rule.title, f.source))
            .collect();
        assert_eq!(got, [(INSTANCE_INSIDE_AWS.title, "13.52.7.7".to_string())]);
        // Its own address, and its VPC endpoint, stay its own.
        let own = [
            ("ASIAWEB1", web(I), "3.84.10.10", None, 0),
            ("ASIAWEB1", web(I), "10.0.1.5", Some("vpce-0abc"), MIN),
        ];
        let mut uses = Uses::default();
        feed(&mut uses, &own);
        assert_eq!(uses.findings(&ranges(), &known), []);
    }

    #[test]
    fn an_instance_role_key_used_through_another_accounts_endpoint_is_found() {
        let mut uses = Uses::default();
        feed(&mut uses, &[("ASIAWEB1", web(I), "3.84.10.10", None, 0)]);
        let theirs = CredentialUse {
            key: Cow::Borrowed("ASIAWEB1"),
            kind: web(I),
            address: Cow::Borrowed("172.31.9.9"),
            vpc_endpoint: Some(Cow::Borrowed("vpce-0evil")),
            foreign_endpoint: Some(Cow::Borrowed("999988887777")),
            by_service: false,
        };
        uses.observe(&theirs, HOUR, 0, 9);
        let got: Vec<(&str, String)> = uses
            .findings(&ranges(), &HashMap::new())
            .into_iter()
            .map(|f| (f.rule.title, f.place))
            .collect();
        assert_eq!(
            got,
            [(
                INSTANCE_INSIDE_AWS.title,
                "VPC endpoint vpce-0evil of account 999988887777".to_string()
            )]
        );
    }

    #[test]
    fn a_thief_who_keeps_using_each_new_session_from_one_host_is_found_every_time() {
        // The instance starts every session from its NAT; the thief, with a foothold, fetches
        // each new session and uses it from the same EC2 host later.
        let got = found(&[
            ("ASIAWEB1", web(I), "3.84.10.10", None, 0),
            ("ASIAWEB1", web(I), "13.52.7.7", None, 10 * MIN),
            ("ASIAWEB2", web(I), "3.84.10.10", None, 6 * HOUR),
            ("ASIAWEB2", web(I), "13.52.7.7", None, 6 * HOUR + 10 * MIN),
        ]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().all(|(rule, source, _)| {
            *rule == INSTANCE_INSIDE_AWS.title && source == "13.52.7.7"
        }));
    }

    #[test]
    fn the_inventorys_own_address_is_never_foreign_even_outside_awss_ranges() {
        // A BYOIP Elastic IP: the instance's, though not in AWS's published ranges.
        let mut uses = Uses::default();
        feed(&mut uses, &[("ASIAWEB1", web(I), "192.0.2.44", None, 0)]);
        let known = HashMap::from([(I.to_string(), vec!["192.0.2.44".to_string()])]);
        assert_eq!(uses.findings(&ranges(), &known), []);
    }

    #[test]
    fn one_record_saying_ec2_delivered_the_key_decides_whatever_a_worker_saw_first() {
        let (mut a, mut b) = (Uses::default(), Uses::default());
        feed(
            &mut a,
            &[("ASIAWEB1", KeyKind::Session, "3.84.10.10", None, 0)],
        );
        feed(&mut b, &[("ASIAWEB1", web(I), "198.51.100.66", None, MIN)]);
        a.merge(b);
        // And within one worker, whichever record came first.
        let mut one = Uses::default();
        feed(
            &mut one,
            &[
                ("ASIAWEB1", KeyKind::Session, "198.51.100.66", None, 0),
                ("ASIAWEB1", web(I), "198.51.100.66", None, MIN),
            ],
        );
        let titles = |u: &Uses| -> Vec<&str> {
            u.findings(&ranges(), &HashMap::new())
                .into_iter()
                .map(|f| f.rule.title)
                .collect()
        };
        assert_eq!(titles(&one), [INSTANCE_OUTSIDE_AWS.title]);
        let got: Vec<&str> = a
            .findings(&ranges(), &HashMap::new())
            .into_iter()
            .map(|f| f.rule.title)
            .collect();
        assert_eq!(got, [INSTANCE_OUTSIDE_AWS.title]);
    }

    #[test]
    fn ipv6_is_compared_in_one_spelling_and_a_sprayed_key_is_reported_a_bounded_number_of_times() {
        let mut uses = Uses::default();
        feed(
            &mut uses,
            &[
                ("ASIAROLE1", KeyKind::Session, "2001:DB8:0:0::1", None, 0),
                ("ASIAROLE1", KeyKind::Session, "2001:db8::1", None, MIN),
            ],
        );
        assert_eq!(uses.pairs(), 1);
        let spray: Vec<String> = (0..500)
            .map(|i| format!("198.{}.{}.7", 18 + i / 250, i % 250))
            .collect();
        let mut events = vec![("AKIASPRAY", KeyKind::LongTerm, "203.0.113.10", None, 0)];
        for (i, ip) in spray.iter().enumerate() {
            events.push((
                "AKIASPRAY",
                KeyKind::LongTerm,
                ip.as_str(),
                None,
                2 * HOUR + i as i64,
            ));
        }
        let mut uses = Uses::default();
        feed(&mut uses, &events);
        let got = uses.findings(&ranges(), &HashMap::new());
        assert_eq!(got.len(), MAX_PER_KEY);
        // The first ones, in the order they happened.
        assert_eq!(got[0].source, "198.18.0.7");
    }

    #[test]
    fn an_instance_behind_nat_and_an_endpoint_is_left_alone() {
        // Every session from the same NAT address, some calls through the VPC's endpoint.
        let got = found(&[
            ("ASIAWEB1", web(I), "3.84.10.10", None, 0),
            ("ASIAWEB1", web(I), "10.0.1.5", Some("vpce-0abc"), MIN),
            ("ASIAWEB2", web(I), "10.0.1.5", Some("vpce-0abc"), 6 * HOUR),
            ("ASIAWEB2", web(I), "3.84.10.10", None, 6 * HOUR + MIN),
        ]);
        assert_eq!(got, []);
    }

    #[test]
    fn a_role_session_used_from_two_networks_is_found_but_not_one_inside_aws_only() {
        let got = found(&[
            ("ASIAROLE1", KeyKind::Session, "203.0.113.10", None, 0),
            (
                "ASIAROLE1",
                KeyKind::Session,
                "198.51.100.66",
                None,
                30 * MIN,
            ),
        ]);
        assert_eq!(
            got,
            [(
                SESSION_TWO_NETWORKS.title,
                "198.51.100.66".to_string(),
                "outside AWS".to_string()
            )]
        );
        // A Lambda function's session: many AWS addresses, one network.
        let lambda = found(&[
            ("ASIAFN", KeyKind::Session, "3.84.1.1", None, 0),
            ("ASIAFN", KeyKind::Session, "3.90.2.2", None, MIN),
            ("ASIAFN", KeyKind::Session, "3.95.3.3", None, 2 * MIN),
        ]);
        assert_eq!(lambda, []);
    }

    #[test]
    fn a_long_term_key_from_a_new_network_hours_after_its_last_use_is_found() {
        let got = found(&[
            ("AKIACI", KeyKind::LongTerm, "203.0.113.10", None, 0),
            ("AKIACI", KeyKind::LongTerm, "203.0.113.10", None, 20 * MIN),
            // 70 minutes after its last legitimate call: the 1-hour correlation missed this.
            ("AKIACI", KeyKind::LongTerm, "198.51.100.66", None, 90 * MIN),
        ]);
        assert_eq!(
            got,
            [(
                KEY_NEW_NETWORK.title,
                "198.51.100.66".to_string(),
                "outside AWS".to_string()
            )]
        );
    }

    #[test]
    fn a_ci_runner_pool_is_one_network() {
        let got = found(&[
            ("AKIACI", KeyKind::LongTerm, "203.0.113.10", None, 0),
            ("AKIACI", KeyKind::LongTerm, "203.0.113.77", None, 5 * HOUR),
            ("AKIACI", KeyKind::LongTerm, "203.0.113.200", None, 9 * HOUR),
            // CodeBuild in the key's region: AWS's addresses count by region.
            ("AKIABUILD", KeyKind::LongTerm, "3.84.1.1", None, 0),
            ("AKIABUILD", KeyKind::LongTerm, "3.91.7.7", None, 8 * HOUR),
        ]);
        assert_eq!(got, []);
    }

    #[test]
    fn services_acting_for_a_principal_are_not_places() {
        let mut uses = Uses::default();
        let by = CredentialUse {
            key: Cow::Borrowed("ASIAROLE1"),
            kind: KeyKind::Session,
            address: Cow::Borrowed("203.0.113.10"),
            vpc_endpoint: None,
            foreign_endpoint: None,
            by_service: true,
        };
        uses.observe(&by, 0, 0, 0);
        let named = CredentialUse {
            address: Cow::Borrowed("lambda.amazonaws.com"),
            by_service: false,
            ..by
        };
        uses.observe(&named, 0, 0, 1);
        assert_eq!(uses.pairs(), 0);
    }

    #[test]
    fn workers_merge_to_the_same_answer_and_state_grows_with_pairs_not_events() {
        let events: Vec<(&str, KeyKind<'static>, &str, Option<&str>, i64)> = (0..1000)
            .map(|i| ("AKIACI", KeyKind::LongTerm, "203.0.113.10", None, i * MIN))
            .chain([(
                "AKIACI",
                KeyKind::LongTerm,
                "198.51.100.66",
                None,
                2000 * MIN,
            )])
            .collect();
        let mut one = Uses::default();
        feed(&mut one, &events);
        assert_eq!(one.pairs(), 2);
        let (a, b) = events.split_at(500);
        let (mut left, mut right) = (Uses::default(), Uses::default());
        feed(&mut left, b);
        feed(&mut right, a);
        left.merge(right);
        assert_eq!(left.pairs(), 2);
        let r = ranges();
        let seen = |u: &Uses| {
            u.findings(&r, &HashMap::new())
                .into_iter()
                .map(|f| (f.source, f.seen.first, f.seen.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(seen(&one), seen(&left));
    }
}
