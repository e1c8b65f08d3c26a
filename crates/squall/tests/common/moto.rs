//! A real moto server per test (`pip install 'moto[server]'`; `.ci/run` installs it), on a free
//! loopback port so state never leaks between tests, and fixtures built with boto3 the way an
//! operator would have built the account.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto on 127.0.0.1, or says why the test is skipped.
pub fn moto() -> Option<Moto> {
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = match Process::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            super::skip_or_fail(&format!(
                "moto_server not available ({e}); .ci/run installs moto[server]"
            ));
            return None;
        }
    };
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

/// Runs a boto3 script against the server (`kw` holds the client arguments); returns what it
/// prints, trimmed.
pub fn setup(moto: &Moto, script: &str) -> String {
    let out = Process::new("python3")
        .arg("-c")
        .arg(format!(
            "import boto3, json\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}",
            url = moto.url
        ))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "fixture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `squall` with test credentials pointed at the server.
pub fn squall(home: &Path, url: &str) -> Command {
    let mut cmd = super::squall(home);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("SQUALL_AWS_ROLE");
    cmd
}

/// The same, as a plain process, for tests that stop it halfway.
pub fn squall_process(home: &Path, url: &str) -> std::process::Command {
    let cmd = squall(home, url);
    let mut process = Process::new(cmd.get_program());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => process.env(k, v),
            None => process.env_remove(k),
        };
    }
    process
}

/// Opens case C-0001 in `home` (the AWS stories record in it).
pub fn new_case(home: &Path, moto: &Moto, title: &str) {
    squall(home, &moto.url)
        .args(["case", "new", "--title", title])
        .assert()
        .success();
}

/// Case C-0001's ledger, as `squall ledger export` gives it: one entry a line.
pub fn ledger(home: &Path, moto: &Moto) -> Vec<serde_json::Value> {
    let out = squall(home, &moto.url)
        .args(["ledger", "export", "C-0001"])
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs a boto3 script that prints one JSON document, and parses it.
pub fn read(moto: &Moto, script: &str) -> serde_json::Value {
    serde_json::from_str(&setup(moto, script)).unwrap()
}
