//! One key flooding cheap calls must not stall the hunt: the built-in "Access Key Used from
//! More Than One Source Address" correlation holds state bounded by its window and distinct
//! values, not by the key's events (rsigma-eval 0.23 held, and rescanned, every event).

use squall_detect::correlate::Correlator;
use squall_detect::rules;
use squall_logs::LogSource;

/// Feeds `events` uses of one key spread over one hour, from `ips` addresses, and returns the
/// largest state the engine held and the firings.
fn flood(events: usize, ips: usize) -> (usize, usize) {
    let set = rules::load(&[], true, None);
    let route = set.route(LogSource::CloudTrail).unwrap();
    let input = route
        .correlation_inputs
        .iter()
        .position(|i| i.name.as_deref() == Some("aws_long_term_key_used"))
        .unwrap();
    let field = |name: &str| {
        route
            .correlation_fields
            .iter()
            .position(|f| f == name)
            .unwrap()
    };
    let (key_at, ip_at) = (field("userIdentity.accessKeyId"), field("sourceIPAddress"));
    let mut engine = Correlator::new(route);
    let (mut peak, mut fired, mut out) = (0, 0, Vec::new());
    let ip_texts: Vec<String> = (0..ips)
        .map(|i| format!("198.51.{}.{}", i / 256, i % 256))
        .collect();
    for n in 0..events {
        let mut values = vec![None; route.correlation_fields.len()];
        values[key_at] = Some("AKIAEXAMPLEKEY00001");
        values[ip_at] = Some(ip_texts[n % ips].as_str());
        let secs = 1_790_000_000 + (n * 3_600 / events) as i64;
        engine.feed(input, &values, secs, &mut out);
        fired += out.len();
        out.clear();
        peak = peak.max(engine.state_entries());
    }
    (peak, fired)
}

#[test]
fn fifty_thousand_uses_of_one_key_from_one_address_hold_one_entry_per_second() {
    let (peak, fired) = flood(50_000, 1);
    assert_eq!(fired, 0, "one address never fires");
    // One run per distinct second of the hour, plus the one address.
    assert!(
        peak <= 3_600 + 1,
        "state grew to {peak} entries for 50,000 events"
    );
}

#[test]
fn a_key_alternating_between_addresses_fires_and_holds_almost_nothing() {
    let (peak, fired) = flood(50_000, 2);
    // Every second use brings the second address: fire, reset, start again.
    assert_eq!(fired, 25_000);
    assert!(peak <= 4, "state grew to {peak} entries");
}
