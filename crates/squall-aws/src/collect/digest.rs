//! CloudTrail's digest files: each hour's list of delivered log files with the SHA-256 of
//! their uncompressed content, chained to the previous hour's digest and signed with the
//! region's private key (the signature in the object's `x-amz-meta-signature`). Checking them
//! tells a responder whether a file was deleted, altered or slipped in after delivery, and
//! whether the trail went quiet. This follows AWS's "custom implementations of CloudTrail log
//! file integrity validation": the signed string is the digest's end time, its S3 path, the
//! hex SHA-256 of its uncompressed content and the previous digest's signature (`null` for
//! none), each on its own line; the algorithm SHA256withRSA (PKCS #1 v1.5).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::{Digest as _, Sha256};

/// A digest file's content, in CloudTrail's field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    #[serde(default)]
    pub digest_public_key_fingerprint: String,
    #[serde(default)]
    pub digest_signature_algorithm: String,
    #[serde(default)]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Vec<LogRef>,
}

/// A log file a digest vouches for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRef {
    pub s3_bucket: String,
    pub s3_object: String,
    pub hash_value: String,
    #[serde(default)]
    pub hash_algorithm: String,
}

/// A digest file as fetched: where from, what its name says, its uncompressed content's
/// SHA-256, the signature S3 kept beside it, and what it says (`None` when it does not read).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bucket: String,
    pub key: String,
    /// From the file's name, checked: the account, the region whose logs it covers, the
    /// trail, its home region, and whether it is a backfill.
    pub account: String,
    pub region: String,
    pub trail: String,
    pub home_region: String,
    /// When it ends, as its name says.
    pub end: DateTime<Utc>,
    pub backfill: bool,
    pub inflated_sha256: String,
    /// Hex, from `x-amz-meta-signature`; `None` when the object carries none.
    pub signature: Option<String>,
    /// From `x-amz-meta-signature-algorithm`, when S3 kept one.
    pub signature_algorithm: Option<String>,
    pub digest: Option<Digest>,
}

/// The string CloudTrail signs for a digest.
pub fn signed_string(d: &Digest, inflated_sha256: &str) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        d.digest_end_time,
        d.digest_s3_bucket,
        d.digest_s3_object,
        inflated_sha256,
        d.previous_digest_signature.as_deref().unwrap_or("null")
    )
}

/// Whether `signature` (hex) is the region key's signature of the digest.
pub fn verify(
    der: &[u8],
    d: &Digest,
    inflated_sha256: &str,
    signature: &str,
) -> Result<(), String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let key = rsa::RsaPublicKey::from_pkcs1_der(der)
        .or_else(|_| rsa::RsaPublicKey::from_public_key_der(der))
        .map_err(|e| format!("the public key does not read ({e})"))?;
    let bytes =
        hex::decode(signature.trim()).map_err(|_| "the signature is not hex".to_string())?;
    let sig = Signature::try_from(bytes.as_slice()).map_err(|e| format!("bad signature ({e})"))?;
    VerifyingKey::<Sha256>::new(key)
        .verify(signed_string(d, inflated_sha256).as_bytes(), &sig)
        .map_err(|_| "the signature does not match".to_string())
}

/// A window of time no digest vouches for: the trail stopped, or validation was off, or
/// digest files were deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub account: String,
    pub region: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub why: String,
}

/// What checking the digests found.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub verified: u64,
    /// A digest or log file that is not what CloudTrail delivered, or is gone.
    pub failures: Vec<String>,
    /// What could not be checked, and why.
    pub unchecked: Vec<String>,
    pub gaps: Vec<Gap>,
    /// Log files no digest names while digests cover their time, and files a verified
    /// digest disowns (altered, unreadable): their records are not trusted for the gaps.
    pub untrusted: HashSet<String>,
    /// Where each (account, region)'s verified digests end: nothing after is vouched for.
    pub last_vouched: HashMap<(String, String), DateTime<Utc>>,
}

/// A collected log file, as the digests are compared with it.
#[derive(Debug, Clone)]
pub struct Log {
    pub account: String,
    pub region: String,
    pub stamp: DateTime<Utc>,
    /// `None` when the file did not decompress.
    pub inflated_sha256: Option<String>,
}

/// A region's public keys (fingerprint, DER), or why they could not be fetched.
pub type Keys = HashMap<String, Result<Vec<(String, Vec<u8>)>, String>>;

/// The key a digest names: from its region's published keys, else its home region's.
enum Key<'k> {
    Found(&'k [u8]),
    /// No key matched, and a region's keys could not be fetched: said why.
    Unfetched(String),
    /// Both regions' keys were fetched and none has the fingerprint.
    Unknown,
}

fn key_for<'k>(f: &Fetched, fingerprint: &str, keys: &'k Keys) -> Key<'k> {
    let mut unfetched = None;
    for region in [&f.region, &f.home_region] {
        match keys.get(region) {
            Some(Ok(found)) => {
                if let Some((_, der)) = found.iter().find(|(fp, _)| fp == fingerprint) {
                    return Key::Found(der);
                }
            }
            Some(Err(why)) => {
                unfetched = Some(format!(
                    "the public keys of {region} were not fetched ({why})"
                ))
            }
            None => unfetched = Some(format!("the public keys of {region} were not fetched")),
        }
    }
    unfetched.map_or(Key::Unknown, Key::Unfetched)
}

/// From when to when.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// What the listing returned, for telling a deleted file from one the window left out.
pub struct Listing<'a> {
    /// Every key listed, whether or not it was fetched.
    pub keys: &'a HashSet<String>,
    /// The folders listed (`…/YYYY/MM/DD/`).
    pub folders: &'a HashSet<String>,
    /// Whether a file no digest names is tampering: only when one trail writes here (a trail
    /// without validation may share the folders).
    pub strays_are_failures: bool,
    /// The trail's home region, when the trail is known: its digests naming another were not
    /// written by it.
    pub home_region: Option<&'a str>,
    /// The trail's name, when known (other trails' digests are not held to its home region).
    pub trail: Option<&'a str>,
}

impl Listing<'_> {
    /// Whether `key`'s folder was listed and `key` was not in it.
    fn gone(&self, key: &str) -> bool {
        !self.keys.contains(key)
            && key
                .rsplit_once('/')
                .is_some_and(|(folder, _)| self.folders.contains(&format!("{folder}/")))
    }
}

/// Checks each digest's name, place, signature and chain, and every log file against the
/// digests that verify. `logs` are the collected files by key; `keys` gives a region's public
/// keys.
pub fn check(
    bucket: &str,
    digests: &[Fetched],
    logs: &HashMap<String, Log>,
    listing: &Listing<'_>,
    keys: &Keys,
) -> Checked {
    let mut out = Checked::default();
    let mut vouched: HashMap<&str, (&str, &str)> = HashMap::new(); // log key → (hash, digest)
    // Named by a digest that could not be checked for a reason no bucket writer controls.
    let mut named: HashSet<&str> = HashSet::new();
    let mut verified: Vec<&Fetched> = Vec::new();
    for f in digests {
        let name = format!("digest s3://{}/{}", f.bucket, f.key);
        let Some(d) = &f.digest else {
            out.failures.push(format!("{name} is not a digest file CloudTrail would write (it does not decompress or read)"));
            continue;
        };
        if d.digest_s3_bucket != f.bucket && d.digest_s3_object == f.key {
            // A copy (replication) vouches for nothing here, but one that verifies shows
            // its files were CloudTrail's.
            let fingerprint = d.digest_public_key_fingerprint.to_ascii_lowercase();
            let genuine = f.signature.as_deref().is_some_and(|sig| {
                matches!(key_for(f, &fingerprint, keys),
                    Key::Found(der) if verify(der, d, &f.inflated_sha256, sig).is_ok())
            });
            if genuine {
                out.unchecked.push(format!(
                    "{name} is a copy of one delivered to s3://{} (a replica?): it vouches for nothing here",
                    shown(&d.digest_s3_bucket)
                ));
                named.extend(d.log_files.iter().map(|l| l.s3_object.as_str()));
            } else {
                out.failures.push(format!(
                    "{name} claims to be a copy of one delivered to s3://{}, but its signature does not verify: forged",
                    shown(&d.digest_s3_bucket)
                ));
            }
            continue;
        }
        if listing.trail.is_none_or(|t| t == f.trail)
            && listing
                .home_region
                .is_some_and(|home| home != f.home_region)
        {
            out.failures.push(format!(
                "{name} names home region {}, not the trail's: not written by this trail",
                f.home_region
            ));
            continue;
        }
        if d.digest_s3_bucket != f.bucket || d.digest_s3_object != f.key {
            out.failures.push(format!(
                "{name} says it belongs at s3://{}/{}: it was moved or copied",
                shown(&d.digest_s3_bucket),
                shown(&d.digest_s3_object)
            ));
            continue;
        }
        if d.aws_account_id != f.account {
            out.failures.push(format!(
                "{name} says it is account {}'s: altered after delivery",
                shown(&d.aws_account_id)
            ));
            continue;
        }
        let algorithm = f
            .signature_algorithm
            .as_deref()
            .unwrap_or(&d.digest_signature_algorithm);
        let Some(sig) = &f.signature else {
            out.failures.push(format!(
                "{name} carries no signature (x-amz-meta-signature)"
            ));
            continue;
        };
        if !algorithm.eq_ignore_ascii_case("SHA256withRSA") {
            out.failures.push(format!(
                "{name} claims signature algorithm {:?}, which CloudTrail does not use",
                shown(algorithm)
            ));
            continue;
        }
        let fingerprint = d.digest_public_key_fingerprint.to_ascii_lowercase();
        match key_for(f, &fingerprint, keys) {
            Key::Found(der) => match verify(der, d, &f.inflated_sha256, sig) {
                Ok(()) => {
                    out.verified += 1;
                    verified.push(f);
                }
                Err(why) => out
                    .failures
                    .push(format!("{name}: {why}: altered after delivery")),
            },
            Key::Unfetched(why) => {
                out.unchecked
                    .push(format!("{name}: signature not checked: {why}"));
                named.extend(d.log_files.iter().map(|l| l.s3_object.as_str()));
            }
            Key::Unknown => out.failures.push(format!(
                "{name} is signed by a key CloudTrail did not publish (fingerprint {}): forged",
                shown(&fingerprint)
            )),
        }
    }
    // Only what a verified digest says is trusted. A file it vouches for that is gone or
    // altered leaves the digest's hour to be asked of LookupEvents.
    let mut lost_hours = Vec::new();
    for f in &verified {
        let d = f.digest.as_ref().expect("verified digests read");
        let name = format!("digest s3://{}/{}", f.bucket, f.key);
        let mut lost = false;
        for l in d.log_files.iter().filter(|l| l.s3_bucket == bucket) {
            vouched.insert(&l.s3_object, (&l.hash_value, &f.key));
            let log = format!("log s3://{}/{}", l.s3_bucket, shown(&l.s3_object));
            let problem = match logs.get(&l.s3_object) {
                Some(got) => match &got.inflated_sha256 {
                    Some(h) if !h.eq_ignore_ascii_case(&l.hash_value) => Some(format!(
                        "{log} differs from what {name} vouches for (SHA-256 of its content {} there, {h} now): altered after delivery",
                        shown(&l.hash_value)
                    )),
                    Some(_) => None,
                    None => Some(format!(
                        "{log} does not decompress, though {name} vouches for it: altered after delivery"
                    )),
                },
                None if listing.gone(&l.s3_object) => Some(format!(
                    "{log} is named in {name} but is not in the bucket: deleted after delivery"
                )),
                None => None,
            };
            if let Some(p) = problem {
                out.failures.push(p);
                out.untrusted.insert(l.s3_object.clone());
                lost = true;
            }
        }
        if lost
            && let (Some(from), Some(to)) = (time(&d.digest_start_time), time(&d.digest_end_time))
        {
            lost_hours.push(Gap {
                account: f.account.clone(),
                region: f.region.clone(),
                from,
                to,
                why: "a delivered file of this time was deleted or altered".into(),
            });
        }
    }
    // The chains: each regular digest names the one before it.
    let by_key: HashMap<&str, &Fetched> = verified.iter().map(|f| (f.key.as_str(), *f)).collect();
    let mut chains: BTreeMap<(&str, &str, &str), Vec<&Fetched>> = BTreeMap::new();
    for f in verified.iter().filter(|f| !f.backfill) {
        let last = out
            .last_vouched
            .entry((f.account.clone(), f.region.clone()))
            .or_insert(f.end);
        *last = (*last).max(f.end);
        chains
            .entry((&f.account, &f.region, &f.trail))
            .or_default()
            .push(f);
        let d = f.digest.as_ref().expect("verified digests read");
        let name = format!("digest s3://{}/{}", f.bucket, f.key);
        let Some(prev_key) = d.previous_digest_s3_object.as_deref() else {
            out.unchecked.push(format!(
                "{name} starts a new chain: the one before it is not linked"
            ));
            continue;
        };
        match by_key.get(prev_key) {
            Some(prev)
                if d.previous_digest_s3_bucket.as_deref() != Some(prev.bucket.as_str())
                    || !d
                        .previous_digest_hash_value
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(&prev.inflated_sha256))
                    || d.previous_digest_signature != prev.signature =>
            {
                out.failures.push(format!(
                    "digest s3://{}/{} is not the one {name} was chained to: altered after delivery",
                    prev.bucket, prev.key
                ));
            }
            Some(_) => {}
            None if d.previous_digest_s3_bucket.as_deref() != Some(bucket) => {
                out.unchecked.push(format!(
                    "{name} follows a digest in s3://{} (delivery moved there): that part of the chain is not collected",
                    shown(d.previous_digest_s3_bucket.as_deref().unwrap_or_default())
                ))
            }
            None if listing.gone(prev_key) => out.failures.push(format!(
                "{name} follows s3://{}/{}, which is not in the bucket: deleted after delivery",
                bucket,
                shown(prev_key)
            )),
            None => {}
        }
    }
    for ((account, region, _), chain) in &mut chains {
        chain.sort_by_key(|f| f.digest.as_ref().map(|d| d.digest_end_time.clone()));
        for pair in chain.windows(2) {
            let (pd, nd) = (pair[0].digest.as_ref(), pair[1].digest.as_ref());
            let (Some(pd), Some(nd)) = (pd, nd) else {
                continue;
            };
            if nd.digest_start_time != pd.digest_end_time
                && let (Some(from), Some(to)) =
                    (time(&pd.digest_end_time), time(&nd.digest_start_time))
                && to > from
            {
                out.gaps.push(Gap {
                    account: account.to_string(),
                    region: region.to_string(),
                    from,
                    to,
                    why: "no digest covers this time: logging or validation was off, or digests were deleted".into(),
                });
            }
        }
    }
    // A file no digest names, delivered while verified digests were written around it, was
    // put there by someone other than CloudTrail (or its digest is gone).
    let mut covered: HashMap<(&str, &str), Span> = HashMap::new(); // (folder of the account, region)
    for f in &verified {
        let d = f.digest.as_ref().expect("verified digests read");
        if let (Some(s), Some(e)) = (time(&d.digest_start_time), time(&d.digest_end_time)) {
            let home = f
                .key
                .split("/CloudTrail-Digest/")
                .next()
                .unwrap_or_default();
            let span = covered.entry((home, &f.region)).or_insert((s, e));
            span.0 = span.0.min(s);
            span.1 = span.1.max(e);
        }
    }
    let margin = chrono::Duration::minutes(15);
    let mut strays: Vec<&String> = logs
        .iter()
        .filter(|(key, log)| {
            !vouched.contains_key(key.as_str())
                && !named.contains(key.as_str())
                && covered
                    .get(&(
                        key.split("/CloudTrail/").next().unwrap_or_default(),
                        log.region.as_str(),
                    ))
                    .is_some_and(|(s, e)| log.stamp > *s + margin && log.stamp < *e - margin)
                && !out.gaps.iter().any(|g| {
                    g.account == log.account
                        && g.region == log.region
                        && log.stamp >= g.from - margin
                        && log.stamp <= g.to + margin
                })
        })
        .map(|(key, _)| key)
        .collect();
    strays.sort();
    if !listing.strays_are_failures && !strays.is_empty() {
        out.unchecked.push(format!(
            "{} log file(s) are in no digest, but more than one trail writes here, so they may be another trail's (the first: {})",
            strays.len(),
            strays[0]
        ));
    } else {
        for key in &strays {
            out.failures.push(format!(
                "log {key} is in the bucket but in no digest: not delivered by CloudTrail, or its digest is missing"
            ));
        }
    }
    out.untrusted.extend(strays.into_iter().cloned());
    out.gaps.extend(lost_hours);
    out
}

/// A field from a digest's content, as a message may quote it: digests can be planted.
fn shown(text: &str) -> String {
    const SHOWN: usize = 200;
    if text.chars().count() <= SHOWN {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(SHOWN).collect::<String>())
    }
}

/// An RFC 3339 time as digests write it.
pub fn time(s: &str) -> Option<DateTime<Utc>> {
    s.parse::<DateTime<Utc>>().ok()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    squall_core::digest::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::signature::{SignatureEncoding, Signer};

    const B: &str = "trail-bucket";
    const A: &str = "111122223333";

    struct Signer_ {
        key: rsa::pkcs1v15::SigningKey<Sha256>,
        der: Vec<u8>,
    }

    impl Signer_ {
        /// A digest's signature, as CloudTrail makes it.
        fn sign(&self, d: &Digest, inflated: &str) -> String {
            squall_core::digest::hex(
                &self
                    .key
                    .sign(signed_string(d, inflated).as_bytes())
                    .to_bytes(),
            )
        }
    }

    /// A log file put in the bucket at 10:30 by someone other than CloudTrail.
    fn plant(logs: &mut HashMap<String, Log>) -> String {
        let planted = log_key(10, 30);
        logs.insert(
            planted.clone(),
            Log {
                account: A.into(),
                region: "us-east-1".into(),
                stamp: time("2026-11-30T10:30:00Z").unwrap(),
                inflated_sha256: Some("11".repeat(32)),
            },
        );
        planted
    }

    fn signer() -> Signer_ {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let der = private
            .to_public_key()
            .to_pkcs1_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        Signer_ {
            key: rsa::pkcs1v15::SigningKey::<Sha256>::new(private),
            der,
        }
    }

    fn log_key(hour: u32, n: u32) -> String {
        format!(
            "AWSLogs/{A}/CloudTrail/us-east-1/2026/11/30/{A}_CloudTrail_us-east-1_20261130T{hour:02}{n:02}Z_abcdefABCDEF{n:04}.json.gz"
        )
    }

    /// A chain of hourly digests, each vouching for two log files, signed as CloudTrail signs.
    fn chain(s: &Signer_, hours: &[u32]) -> (Vec<Fetched>, HashMap<String, Log>) {
        let mut digests: Vec<Fetched> = Vec::new();
        let mut logs = HashMap::new();
        for &h in hours {
            let files: Vec<LogRef> = (10..12)
                .map(|n| {
                    let key = log_key(h, n);
                    let hash = sha256_hex(key.as_bytes());
                    logs.insert(
                        key.clone(),
                        Log {
                            account: A.into(),
                            region: "us-east-1".into(),
                            stamp: time(&format!("2026-11-30T{h:02}:{n:02}:00Z")).unwrap(),
                            inflated_sha256: Some(hash.clone()),
                        },
                    );
                    LogRef {
                        s3_bucket: B.into(),
                        s3_object: key,
                        hash_value: hash,
                        hash_algorithm: "SHA-256".into(),
                    }
                })
                .collect();
            let prev = digests.last();
            let key = format!(
                "AWSLogs/{A}/CloudTrail-Digest/us-east-1/2026/11/30/{A}_CloudTrail-Digest_us-east-1_main_us-east-1_20261130T{:02}0000Z.json.gz",
                h + 1
            );
            let d = Digest {
                aws_account_id: A.into(),
                digest_start_time: format!("2026-11-30T{h:02}:00:00Z"),
                digest_end_time: format!("2026-11-30T{:02}:00:00Z", h + 1),
                digest_s3_bucket: B.into(),
                digest_s3_object: key.clone(),
                digest_public_key_fingerprint: "ab12".into(),
                digest_signature_algorithm: "SHA256withRSA".into(),
                previous_digest_s3_bucket: prev.map(|_| B.into()),
                previous_digest_s3_object: prev.map(|p| p.key.clone()),
                previous_digest_hash_value: prev.map(|p| p.inflated_sha256.clone()),
                previous_digest_signature: prev.and_then(|p| p.signature.clone()),
                log_files: files,
            };
            let inflated = sha256_hex(serde_json::to_string(&d).unwrap().as_bytes());
            let signature = s.sign(&d, &inflated);
            digests.push(Fetched {
                bucket: B.into(),
                key,
                account: A.into(),
                region: "us-east-1".into(),
                trail: "main".into(),
                home_region: "us-east-1".into(),
                end: time(&format!("2026-11-30T{:02}:00:00Z", h + 1)).unwrap(),
                backfill: false,
                inflated_sha256: inflated,
                signature: Some(signature),
                signature_algorithm: Some("SHA256withRSA".into()),
                digest: Some(d),
            });
        }
        (digests, logs)
    }

    fn run(s: &Signer_, digests: &[Fetched], logs: &HashMap<String, Log>) -> Checked {
        // Every key a digest names was listed, less the logs not collected (deleted).
        let mut keys: HashSet<String> = logs.keys().cloned().collect();
        keys.extend(digests.iter().map(|d| d.key.clone()));
        let folders: HashSet<String> = digests
            .iter()
            .flat_map(|d| {
                d.digest
                    .iter()
                    .flat_map(|d| d.log_files.iter().map(|l| l.s3_object.clone()))
                    .chain([d.key.clone()])
            })
            .map(|k| format!("{}/", k.rsplit_once('/').unwrap().0))
            .collect();
        let listing = Listing {
            keys: &keys,
            folders: &folders,
            strays_are_failures: true,
            home_region: None,
            trail: None,
        };
        check(B, digests, logs, &listing, &keys_of(s))
    }

    /// us-east-1's published key; no other region's could be fetched.
    fn keys_of(s: &Signer_) -> Keys {
        Keys::from([(
            "us-east-1".to_string(),
            Ok(vec![("ab12".to_string(), s.der.clone())]),
        )])
    }

    #[test]
    fn an_intact_chain_verifies_every_signature_and_file() {
        let s = signer();
        let (digests, logs) = chain(&s, &[9, 10, 11]);
        let c = run(&s, &digests, &logs);
        assert_eq!(c.verified, 3);
        assert!(c.failures.is_empty(), "{:?}", c.failures);
        assert!(c.gaps.is_empty());
    }

    #[test]
    fn an_altered_deleted_or_planted_log_file_is_named() {
        let s = signer();
        let (digests, mut logs) = chain(&s, &[9, 10, 11]);
        logs.get_mut(&log_key(10, 10)).unwrap().inflated_sha256 = Some("00".repeat(32));
        logs.remove(&log_key(10, 11));
        let planted = plant(&mut logs);
        let c = run(&s, &digests, &logs);
        assert_eq!(c.verified, 3);
        assert_eq!(c.failures.len(), 3, "{:#?}", c.failures);
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains(&log_key(10, 10)) && f.contains("altered"))
        );
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains(&log_key(10, 11)) && f.contains("deleted"))
        );
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains(&planted) && f.contains("in no digest"))
        );
    }

    #[test]
    fn an_edited_digest_fails_its_signature_and_a_deleted_one_breaks_the_chain() {
        let s = signer();
        let (mut digests, logs) = chain(&s, &[9, 10, 11, 12]);
        // Someone rewrites a log's hash in digest 10 to cover an edited log.
        digests[1].digest.as_mut().unwrap().log_files[0].hash_value = "22".repeat(32);
        digests[1].inflated_sha256 = sha256_hex(b"edited");
        // ... and deletes digest 12's predecessor (11).
        digests.remove(2);
        let c = run(&s, &digests, &logs);
        assert_eq!(c.verified, 2, "{:#?}", c.failures);
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains("T110000Z") && f.contains("signature does not match"))
        );
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains("T130000Z") && f.contains("follows")),
            "{:#?}",
            c.failures
        );
        assert_eq!(c.gaps.len(), 1, "no verified digest covers 10:00 to 12:00");
        assert_eq!(c.gaps[0].from, time("2026-11-30T10:00:00Z").unwrap());
        assert_eq!(c.gaps[0].to, time("2026-11-30T12:00:00Z").unwrap());
    }

    #[test]
    fn a_digest_moved_elsewhere_or_signed_by_an_unknown_key_is_said() {
        let s = signer();
        let (mut digests, logs) = chain(&s, &[9, 10, 11]);
        digests[0].key = "AWSLogs/elsewhere.json.gz".into();
        digests[1]
            .digest
            .as_mut()
            .unwrap()
            .digest_public_key_fingerprint = "ffff".into();
        digests[2].signature_algorithm = Some("MD5withRSA".into());
        let c = run(&s, &digests, &logs);
        assert!(c.failures.iter().any(|f| f.contains("moved or copied")));
        assert!(
            c.failures.iter().any(|f| f.contains("did not publish")),
            "{:#?}",
            c.failures
        );
        assert!(c.failures.iter().any(|f| f.contains("MD5withRSA")));
        assert_eq!(c.verified, 0);
        assert!(
            c.failures
                .iter()
                .all(|f| !f.contains("altered after delivery") || f.contains("digest")),
            "a digest that does not verify vouches for nothing, so its logs are not judged by it"
        );
    }

    #[test]
    fn a_lost_file_leaves_its_hour_to_lookup_and_a_digest_of_another_home_is_not_the_trails() {
        let s = signer();
        let (mut digests, mut logs) = chain(&s, &[9, 10]);
        logs.remove(&log_key(9, 10));
        digests[1].home_region = "zz-fake-9".into();
        let keys: HashSet<String> = logs
            .keys()
            .cloned()
            .chain(digests.iter().map(|d| d.key.clone()))
            .collect();
        let folders: HashSet<String> = keys
            .iter()
            .map(|k| format!("{}/", k.rsplit_once('/').unwrap().0))
            .collect();
        let c = check(
            B,
            &digests,
            &logs,
            &Listing {
                keys: &keys,
                folders: &folders,
                strays_are_failures: true,
                home_region: Some("us-east-1"),
                trail: Some("main"),
            },
            &keys_of(&s),
        );
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains("zz-fake-9") && f.contains("not written by this trail")),
            "{:#?}",
            c.failures
        );
        assert!(
            c.failures
                .iter()
                .any(|f| f.contains("deleted after delivery"))
        );
        assert_eq!(c.gaps.len(), 1, "{:#?}", c.gaps);
        assert_eq!(c.gaps[0].from, time("2026-11-30T09:00:00Z").unwrap());
        assert!(c.gaps[0].why.contains("deleted or altered"));
        assert_eq!(
            c.last_vouched
                .get(&(A.to_string(), "us-east-1".to_string())),
            Some(&time("2026-11-30T10:00:00Z").unwrap()),
            "the forged digest vouches for nothing after 10:00"
        );
    }

    #[test]
    fn a_region_whose_keys_are_unknown_is_unchecked_and_its_logs_judged_by_nothing() {
        let s = signer();
        let (mut digests, mut logs) = chain(&s, &[9, 10]);
        for d in &mut digests {
            d.region = "eu-west-1".into();
            d.home_region = "eu-west-1".into();
        }
        logs.get_mut(&log_key(9, 10)).unwrap().inflated_sha256 = Some("00".repeat(32));
        let c = run(&s, &digests, &logs);
        assert_eq!(c.verified, 0);
        assert_eq!(c.unchecked.len(), 2, "{:#?}", c.unchecked);
        assert!(c.failures.is_empty(), "{:#?}", c.failures);
    }

    #[test]
    fn another_regions_digest_is_checked_with_the_home_regions_key_and_a_backfill_keeps_the_chain()
    {
        let s = signer();
        let (mut digests, logs) = chain(&s, &[9, 10, 11]);
        // Region eu-west-1's logs, a trail at home in us-east-1 (whose key the fake knows).
        for d in &mut digests {
            d.region = "eu-west-1".into();
        }
        // A backfill digest between 10 and 11, naming no chain of its own.
        let mut backfill = digests[1].clone();
        backfill.key = backfill.key.replace(".json.gz", "_backfill.json.gz");
        backfill.backfill = true;
        backfill.digest.as_mut().unwrap().digest_s3_object = backfill.key.clone();
        backfill.digest.as_mut().unwrap().log_files.clear();
        let d = backfill.digest.as_ref().unwrap();
        let inflated = sha256_hex(b"backfill");
        backfill.signature = Some(s.sign(d, &inflated));
        backfill.inflated_sha256 = inflated;
        digests.insert(2, backfill);
        let c = run(&s, &digests, &logs);
        assert_eq!(c.verified, 4, "{:#?} {:#?}", c.failures, c.unchecked);
        assert!(c.failures.is_empty(), "{:#?}", c.failures);
        assert!(c.gaps.is_empty());
    }

    #[test]
    fn a_file_in_no_digest_is_only_unchecked_when_another_trail_may_write_there() {
        let s = signer();
        let (digests, mut logs) = chain(&s, &[9, 10, 11]);
        let planted = plant(&mut logs);
        let keys: HashSet<String> = logs.keys().cloned().collect();
        let folders = HashSet::new();
        let c = check(
            B,
            &digests,
            &logs,
            &Listing {
                keys: &keys,
                folders: &folders,
                strays_are_failures: false,
                home_region: None,
                trail: None,
            },
            &keys_of(&s),
        );
        assert!(c.failures.is_empty(), "{:#?}", c.failures);
        assert!(
            c.unchecked
                .iter()
                .any(|u| u.contains("more than one trail"))
        );
        assert!(c.untrusted.contains(&planted));
    }
}
