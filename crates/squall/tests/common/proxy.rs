//! A proxy in front of moto: each request is seen (head and body as text), may be answered by
//! the test itself (a fault, or a call moto does not implement), and is otherwise forwarded.
//! One connection a request, so the client never reuses one the proxy closed.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// An answer the test gives instead of moto: status line, content type, body.
pub struct Answer {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

pub struct Proxy {
    pub url: String,
    /// Every request, as text (head lines, a blank line, the body).
    pub seen: Arc<Mutex<Vec<String>>>,
}

/// Starts the proxy; `answer` sees each request's text and may answer it.
pub fn proxy(
    upstream: &str,
    answer: impl Fn(&str) -> Option<Answer> + Send + Sync + 'static,
) -> Proxy {
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let (upstream, seen, answer) = (upstream.clone(), seen2.clone(), answer.clone());
            std::thread::spawn(move || serve(client, &upstream, &seen, &*answer));
        }
    });
    Proxy { url, seen }
}

fn serve(
    mut client: std::net::TcpStream,
    upstream: &str,
    seen: &Mutex<Vec<String>>,
    answer: &(dyn Fn(&str) -> Option<Answer> + Send + Sync),
) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let text = format!("{}\r\n{}", head.concat(), String::from_utf8_lossy(&body));
    seen.lock().unwrap().push(text.clone());
    if let Some(a) = answer(&text) {
        let _ = write!(
            client,
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            a.status,
            a.content_type,
            a.body.len()
        );
        let _ = client.write_all(&a.body);
        return;
    }
    let mut up = std::net::TcpStream::connect(upstream).unwrap();
    up.write_all(head.concat().as_bytes()).unwrap();
    up.write_all(b"Connection: close\r\n\r\n").unwrap();
    up.write_all(&body).unwrap();
    let mut reply = Vec::new();
    up.read_to_end(&mut reply).unwrap();
    // The client must not reuse this connection: say so in the answer's head.
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(reply.len());
    let head: String = String::from_utf8_lossy(&reply[..split])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let _ = client.write_all(head.as_bytes());
    let _ = client.write_all(b"Connection: close\r\n");
    let _ = client.write_all(&reply[split.min(reply.len())..][2..]);
}
