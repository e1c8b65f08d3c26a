//! The fake as a server of its own, for benchmarks and trying Squall by hand:
//!
//! ```text
//! squall-gcp-fake --instances 50 --latency-ms 50 --adc-dir /tmp/fake
//! ```
//!
//! prints `{"url": ..., "adc": ...}` on one line once it listens, then serves until killed.
//! Instances are `web-1` ... `web-N` in `--project` and `--zone`, each with a boot disk of
//! `--disk-gb` GiB (default 10); `--bucket NAME` makes a Cloud Storage bucket for images, and
//! `--dense-disks` fills every block a simulated imaging worker reads (default: mostly zeros).

use std::time::Duration;

fn main() {
    let mut project = "acme-prod".to_string();
    let mut zone = "europe-west1-b".to_string();
    let mut instances = 1u32;
    let mut latency = 0u64;
    let mut port = 0u16;
    let mut adc_dir = std::env::temp_dir();
    let mut impersonable = Vec::new();
    let mut disk_gb = None;
    let mut buckets = Vec::new();
    let mut dense = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--project" => project = value(),
            "--zone" => zone = value(),
            "--instances" => instances = value().parse().unwrap_or_else(|_| usage("--instances N")),
            "--latency-ms" => latency = value().parse().unwrap_or_else(|_| usage("--latency-ms N")),
            "--port" => port = value().parse().unwrap_or_else(|_| usage("--port N")),
            "--adc-dir" => adc_dir = value().into(),
            "--allow-impersonation" => impersonable.push(value()),
            "--disk-gb" => disk_gb = Some(value().parse().unwrap_or_else(|_| usage("--disk-gb N"))),
            "--bucket" => buckets.push(value()),
            "--dense-disks" => dense = true,
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let fake = squall_gcp_fake::Fake::start_on(port);
    fake.set_dense_disks(dense);
    for i in 1..=instances {
        let name = format!("web-{i}");
        fake.add_instance(&project, &zone, &name);
        if let Some(gb) = disk_gb {
            let disk = format!("projects/{project}/zones/{zone}/disks/{name}");
            fake.set_disk_size_gb(&disk, gb);
            // Before its address is printed: an image's clock then measures the download.
            fake.warm_disk_digest(&disk);
        }
    }
    for b in &buckets {
        fake.add_bucket(b);
    }
    for sa in &impersonable {
        fake.allow_impersonation(sa);
    }
    fake.set_latency(Duration::from_millis(latency));
    std::fs::create_dir_all(&adc_dir).expect("the ADC directory");
    let adc = fake.write_adc(&adc_dir);
    println!(
        "{}",
        serde_json::json!({"url": fake.url, "adc": adc.display().to_string()})
    );
    loop {
        std::thread::park();
    }
}

fn usage(why: &str) -> ! {
    eprintln!(
        "squall-gcp-fake: {why}\nusage: squall-gcp-fake [--project P] [--zone Z] [--instances N] [--latency-ms MS] [--port PORT] [--adc-dir DIR] [--allow-impersonation SA]... [--disk-gb N] [--bucket NAME]... [--dense-disks]"
    );
    std::process::exit(2)
}
