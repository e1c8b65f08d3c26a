//! AWS's published IP ranges: whether an address belongs to AWS, and to which region and
//! service. The stolen-credential detector asks it of every address a key was used from, once
//! per distinct address, never per record.
//!
//! A dated copy ships in the binary (`data/aws-ip-ranges.json`, the file AWS publishes); a
//! newer one replaces it with `--aws-ip-ranges FILE`. Lookups try each prefix length from the
//! longest, so an address is placed by its most specific range (an `EC2` range inside the
//! broader `AMAZON` one).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use ipnet::IpNet;
use serde::Deserialize;

/// The copy shipped with Squall.
const SHIPPED: &str = include_str!("../data/aws-ip-ranges.json");

/// Where an address is inside AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub region: String,
    /// `EC2`, `CODEBUILD`, `S3`, ...; `AMAZON` when no narrower service claims it.
    pub service: String,
}

/// AWS's ranges, by prefix length.
#[derive(Debug)]
pub struct AwsRanges {
    /// When AWS published them (`createDate`).
    pub published: String,
    /// Where they were read from (`builtin` for the shipped copy, else the file), their
    /// SHA-256 and size: a hunt records which ranges placed its addresses.
    pub source: String,
    pub sha256: String,
    pub size: u64,
    v4: Vec<HashMap<u32, Vec<u16>>>,
    v6: Vec<HashMap<u128, Vec<u16>>>,
    /// (region, service) of each range entry.
    places: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "createDate")]
    create_date: String,
    prefixes: Vec<Prefix>,
    #[serde(default)]
    ipv6_prefixes: Vec<Prefix>,
}

#[derive(Deserialize)]
struct Prefix {
    #[serde(alias = "ipv6_prefix")]
    ip_prefix: String,
    region: String,
    service: String,
}

impl AwsRanges {
    /// The ranges in AWS's `ip-ranges.json` format; an entry that is not a prefix is an error
    /// naming it.
    pub fn parse(json: &str) -> Result<AwsRanges, String> {
        AwsRanges::parse_from(json, "inline")
    }

    /// [`AwsRanges::parse`], saying where the text came from.
    pub fn parse_from(json: &str, source: &str) -> Result<AwsRanges, String> {
        use sha2::Digest;
        let file: File =
            serde_json::from_str(json).map_err(|e| format!("not AWS's ip-ranges.json: {e}"))?;
        let digest = sha2::Sha256::digest(json.as_bytes());
        let mut ranges = AwsRanges {
            published: file.create_date,
            source: source.to_string(),
            sha256: squall_core::digest::hex(&digest),
            size: json.len() as u64,
            v4: vec![HashMap::new(); 33],
            v6: vec![HashMap::new(); 129],
            places: Vec::new(),
        };
        let mut place_ids: HashMap<(String, String), u16> = HashMap::new();
        for p in file.prefixes.into_iter().chain(file.ipv6_prefixes) {
            let net: IpNet = p
                .ip_prefix
                .parse()
                .map_err(|_| format!("{:?} is not an IP prefix", p.ip_prefix))?;
            let next = ranges.places.len() as u16;
            let id = *place_ids
                .entry((p.region.clone(), p.service.clone()))
                .or_insert_with(|| {
                    ranges.places.push((p.region, p.service));
                    next
                });
            match net.trunc() {
                IpNet::V4(n) => ranges.v4[n.prefix_len() as usize]
                    .entry(u32::from(n.network()))
                    .or_default()
                    .push(id),
                IpNet::V6(n) => ranges.v6[n.prefix_len() as usize]
                    .entry(u128::from(n.network()))
                    .or_default()
                    .push(id),
            }
        }
        Ok(ranges)
    }

    /// The copy shipped with Squall, parsed once.
    pub fn shipped() -> Arc<AwsRanges> {
        static RANGES: OnceLock<Arc<AwsRanges>> = OnceLock::new();
        RANGES
            .get_or_init(|| {
                Arc::new(
                    AwsRanges::parse_from(SHIPPED, "builtin:aws-ip-ranges.json")
                        .expect("the shipped ip-ranges.json parses"),
                )
            })
            .clone()
    }

    /// Where `address` is inside AWS, or `None` outside it. Its most specific range decides
    /// the region; a service other than the catch-all `AMAZON` is preferred among the ranges
    /// holding it.
    pub fn place(&self, address: IpAddr) -> Option<Place> {
        let mut found: Vec<u16> = Vec::new();
        match address {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                for len in (0..=32usize).rev() {
                    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                    if let Some(ids) = self.v4[len].get(&(a & mask)) {
                        found.extend(ids);
                    }
                }
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                for len in (0..=128usize).rev() {
                    let mask = if len == 0 {
                        0
                    } else {
                        u128::MAX << (128 - len)
                    };
                    if let Some(ids) = self.v6[len].get(&(a & mask)) {
                        found.extend(ids);
                    }
                }
            }
        }
        let first = *found.first()?;
        let service = found
            .iter()
            .map(|&i| &self.places[i as usize].1)
            .find(|s| *s != "AMAZON")
            .unwrap_or(&self.places[first as usize].1);
        Some(Place {
            region: self.places[first as usize].0.clone(),
            service: service.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"syncToken": "1", "createDate": "2026-08-22-21-17-05",
      "prefixes": [
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"},
        {"ip_prefix": "3.81.0.0/16", "region": "us-east-1", "service": "CODEBUILD", "network_border_group": "us-east-1"}
      ],
      "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}
      ]}"#;

    #[test]
    fn an_address_is_placed_by_its_most_specific_range_and_named_service() {
        let r = AwsRanges::parse(SMALL).unwrap();
        let place = |a: &str| r.place(a.parse().unwrap());
        let ec2 = Place {
            region: "us-east-1".into(),
            service: "EC2".into(),
        };
        assert_eq!(place("3.88.1.2"), Some(ec2.clone()));
        assert_eq!(place("3.81.9.9").unwrap().service, "CODEBUILD");
        assert_eq!(place("2600:1f18::1"), Some(ec2));
        assert_eq!(place("198.51.100.7"), None);
        assert!(AwsRanges::parse(r#"{"createDate": "x", "prefixes": [{"ip_prefix": "nope", "region": "r", "service": "s"}]}"#).is_err());
    }

    #[test]
    fn the_shipped_copy_knows_ec2_in_us_east_1() {
        let r = AwsRanges::shipped();
        assert!(r.published.starts_with("20"), "{}", r.published);
        // A documented EC2 range of us-east-1 (3.80.0.0/12 is EC2 there in every recent copy).
        let place = r.place("3.84.10.10".parse().unwrap()).unwrap();
        assert_eq!(place.region, "us-east-1");
        assert_eq!(r.place("198.51.100.7".parse().unwrap()), None);
    }
}
