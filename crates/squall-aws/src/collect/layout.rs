//! Where CloudTrail puts its files in a bucket, and what their names say. Every key comes
//! from a bucket others may write to, so a name is accepted only in CloudTrail's exact shape
//! and a local path is built from its checked parts, never from the key itself.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// A delivered log file's name: `111122223333_CloudTrail_us-east-1_20261130T1205Z_Ab12….json.gz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogName {
    pub account: String,
    pub region: String,
    /// When CloudTrail wrote it; its events are a few minutes older.
    pub stamp: DateTime<Utc>,
}

/// Reads a log file's name, or `None` when it is not one CloudTrail would write.
pub fn log_name(name: &str) -> Option<LogName> {
    let rest = name.strip_suffix(".json.gz")?;
    let mut parts = rest.split('_');
    let (account, tag, region, stamp, unique) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some()
        || tag != "CloudTrail"
        || !is_account(account)
        || !is_region(region)
        || unique.is_empty()
        || unique.len() > 64
        || !unique.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    let stamp = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ")
        .ok()?
        .and_utc();
    Some(LogName {
        account: account.to_string(),
        region: region.to_string(),
        stamp,
    })
}

/// A digest file's name:
/// `111122223333_CloudTrail-Digest_eu-west-1_trail_us-east-1_20261130T120131Z[_backfill].json.gz`
/// (the region whose logs it covers, the trail, the trail's home region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestName {
    pub account: String,
    pub region: String,
    pub trail: String,
    pub home_region: String,
    /// The end of the hour it covers.
    pub end: DateTime<Utc>,
    pub backfill: bool,
}

/// Reads a digest file's name, or `None` when it is not one CloudTrail would write.
pub fn digest_name(name: &str) -> Option<DigestName> {
    let rest = name.strip_suffix(".json.gz")?;
    let (rest, backfill) = match rest.strip_suffix("_backfill") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (account, rest) = rest.split_once("_CloudTrail-Digest_")?;
    let (region, rest) = rest.split_once('_')?;
    let (rest, stamp) = rest.rsplit_once('_')?;
    let (trail, home_region) = rest.rsplit_once('_')?;
    if !is_account(account) || !is_region(region) || !is_region(home_region) || !is_trail(trail) {
        return None;
    }
    let end = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    Some(DigestName {
        account: account.to_string(),
        region: region.to_string(),
        trail: trail.to_string(),
        home_region: home_region.to_string(),
        end,
        backfill,
    })
}

/// S3's bucket names, legacy us-east-1 ones too (letters, digits, `.`, `_`, `-`, up to 255):
/// a folder name of the case is made of one.
pub fn is_bucket(s: &str) -> bool {
    (3..=255).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && s != "."
        && s != ".."
}

/// Twelve digits.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `ap-southeast-5`, `us-gov-west-1`: lower-case letters, digits and dashes.
pub fn is_region(s: &str) -> bool {
    (3..=30).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// An organization's id: `o-` and 10 to 32 lower-case letters or digits.
pub fn is_organization(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// CloudTrail's trail names: letters, digits, `.`, `_`, `-`, at most 128.
fn is_trail(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The days whose folders may hold what was delivered between `since` and `until`.
pub fn days(since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut day = since.date_naive();
    while day <= until.date_naive() {
        days.push(day);
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    days
}

/// `<base><account>/<folder>/<region>/YYYY/MM/DD/`: one day of logs (`CloudTrail`) or digests
/// (`CloudTrail-Digest`). `base` is `[prefix/]AWSLogs/` or, for an organization's trail,
/// `[prefix/]AWSLogs/o-…/`.
pub fn day_prefix(base: &str, account: &str, folder: &str, region: &str, day: NaiveDate) -> String {
    format!(
        "{base}{account}/{folder}/{region}/{}/",
        day.format("%Y/%m/%d")
    )
}

/// `[prefix/]AWSLogs/`.
pub fn logs_root(prefix: Option<&str>) -> String {
    match prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{p}/AWSLogs/"),
        None => "AWSLogs/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_name_is_read_only_in_cloudtrails_exact_shape() {
        let n =
            log_name("111122223333_CloudTrail_us-east-1_20261130T1205Z_Ab12cd34EF56gh78.json.gz")
                .unwrap();
        assert_eq!(n.account, "111122223333");
        assert_eq!(n.region, "us-east-1");
        assert_eq!(n.stamp.to_rfc3339(), "2026-11-30T12:05:00+00:00");
        for bad in [
            "111122223333_CloudTrail_us-east-1_20261130T1205Z_Ab12cd34EF56gh78.json",
            "11112222333_CloudTrail_us-east-1_20261130T1205Z_Ab12.json.gz",
            "111122223333_CloudTrail_US-EAST-1_20261130T1205Z_Ab12.json.gz",
            "111122223333_CloudTrail_us-east-1_20261130T1205Z_../../x.json.gz",
            "111122223333_CloudTrail_us-east-1_20261130T1205Z_a_b.json.gz",
            "111122223333_CloudTrail_us-east-1_20261332T1205Z_Ab12.json.gz",
            "111122223333_CloudTrail-Digest_us-east-1_20261130T1205Z_Ab12.json.gz",
        ] {
            assert_eq!(log_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_digest_name_keeps_a_trail_name_with_underscores_and_says_backfill() {
        let n = digest_name(
            "111122223333_CloudTrail-Digest_eu-west-1_org_trail.main_eu-west-1_20261130T120131Z_backfill.json.gz",
        )
        .unwrap();
        assert_eq!(n.trail, "org_trail.main");
        assert_eq!(n.region, "eu-west-1");
        assert!(n.backfill);
        assert_eq!(n.end.to_rfc3339(), "2026-11-30T12:01:31+00:00");
        assert_eq!(
            digest_name(
                "111122223333_CloudTrail-Digest_eu-west-1_t/../x_eu-west-1_20261130T120131Z.json.gz"
            ),
            None
        );
        let other = digest_name(
            "111122223333_CloudTrail-Digest_eu-west-1_main_us-east-1_20261130T120131Z.json.gz",
        )
        .unwrap();
        assert_eq!(
            (
                other.region.as_str(),
                other.home_region.as_str(),
                other.trail.as_str()
            ),
            ("eu-west-1", "us-east-1", "main"),
            "a multi-region trail's digests name the logs' region and the trail's home region"
        );
    }

    #[test]
    fn the_days_of_a_window_and_their_folders() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let d = days(t("2026-11-29T23:50:00Z"), t("2026-12-01T00:10:00Z"));
        assert_eq!(d.len(), 3);
        assert_eq!(
            day_prefix(
                &logs_root(Some("/org/")),
                "111122223333",
                "CloudTrail",
                "us-east-1",
                d[2]
            ),
            "org/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/"
        );
        assert!(is_organization("o-a1b2c3d4e5"));
        assert!(!is_organization("o-A1B2C3D4E5") && !is_organization("111122223333"));
    }
}
