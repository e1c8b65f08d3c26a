//! A proxy that adds a fixed delay to every request before passing it to an AWS endpoint, so a
//! benchmark against a local moto server can show what a real network round trip does to
//! the response verbs (moto answers in microseconds from one process; AWS answers in tens of
//! milliseconds, from many). Used by `bench/aws.sh isolate --latency-ms N`.
//!
//!   cargo run --release -p squall-aws --example latency_proxy -- LISTEN_PORT UPSTREAM_URL DELAY_MS
//!
//! One request per connection (answers carry `Connection: close`).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, upstream, delay] = &args[..] else {
        eprintln!("usage: latency_proxy LISTEN_PORT UPSTREAM_URL DELAY_MS");
        std::process::exit(2);
    };
    let upstream = upstream.trim_start_matches("http://").to_string();
    let delay = Duration::from_millis(delay.parse().expect("DELAY_MS is a number"));
    let listener = TcpListener::bind(("127.0.0.1", port.parse().expect("a port"))).await?;
    loop {
        let (client, _) = listener.accept().await?;
        let upstream = upstream.clone();
        tokio::spawn(async move {
            if let Err(e) = relay(client, &upstream, delay).await {
                eprintln!("latency_proxy: {e}");
            }
        });
    }
}

async fn relay(client: TcpStream, upstream: &str, delay: Duration) -> std::io::Result<()> {
    let mut reader = BufReader::new(client);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.push_str(&line);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    tokio::time::sleep(delay).await;
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(head.as_bytes()).await?;
    up.write_all(b"Connection: close\r\n\r\n").await?;
    up.write_all(&body).await?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let mut out = String::new();
    for line in String::from_utf8_lossy(&answer[..split]).lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n");
    let mut client = reader.into_inner();
    client.write_all(out.as_bytes()).await?;
    client
        .write_all(answer.get(split + 2..).unwrap_or_default())
        .await?;
    client.shutdown().await
}
