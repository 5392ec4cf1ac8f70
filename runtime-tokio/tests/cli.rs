//! End-to-end checks of the `chronik-server` binary: its help text, and that it
//! starts, accepts a TCP connection and shuts down cleanly on SIGTERM.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_chronik-server");

/// A command for the server with no CHRONIK_* settings inherited from the caller.
fn server() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("CHRONIK_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Wait for `child` to exit, at most `limit`; kills it (we started it) on timeout.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    for _ in 0..10_000 {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn sigterm(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: plain kill(2) on the pid of a child this test spawned and has not reaped.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

fn spawn_server(data_dir: &Path, port: u16, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    server()
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--kafka-port", &port.to_string(), "--advertised-addr", "localhost", "standalone"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn connect_bounded(port: u16, limit: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + limit;
    for _ in 0..10_000 {
        if let Ok(s) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)) {
            return Some(s);
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Proves `--help` documents every flag and the environment variable behind it.
#[test]
fn help_lists_flags_and_env_vars() {
    let out = server().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--data-dir",
        "CHRONIK_DATA_DIR",
        "./data",
        "--bind-addr",
        "CHRONIK_BIND_ADDR",
        "0.0.0.0",
        "--kafka-port",
        "CHRONIK_KAFKA_PORT",
        "9092",
        "--advertised-addr",
        "CHRONIK_ADVERTISED_ADDR",
        "--advertised-port",
        "CHRONIK_ADVERTISED_PORT",
        "--node-id",
        "--auto-create-topics",
        "--num-partitions",
        "--flush-interval-ms",
        "--log-level",
        "RUST_LOG",
        "standalone",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

/// Proves the documented invocation serves TCP on 127.0.0.1 and exits 0 on SIGTERM, in bounded time.
#[test]
fn starts_accepts_and_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let log = tmp.path().join("server.log");
    let port = free_port();
    let mut child = spawn_server(&data_dir, port, &log);
    let conn = connect_bounded(port, Duration::from_secs(20));
    let show_log = || std::fs::read_to_string(&log).unwrap_or_default();
    if conn.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("server never accepted on port {port}; log:\n{}", show_log());
    }
    sigterm(&child);
    let status = wait_bounded(&mut child, Duration::from_secs(40));
    drop(conn);
    let log_text = show_log();
    let status = status.unwrap_or_else(|| panic!("server did not exit after SIGTERM; log:\n{log_text}"));
    assert!(status.success(), "exit status {status:?}; log:\n{log_text}");
    let abs = std::fs::canonicalize(&data_dir).unwrap();
    assert!(log_text.contains(&abs.display().to_string()), "log names the absolute data dir:\n{log_text}");
    assert!(log_text.contains(&port.to_string()), "log names the listen port:\n{log_text}");
}

/// Proves a second server on a data directory in use fails at start with a clear message.
#[test]
fn second_server_on_same_data_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let port = free_port();
    let mut first = spawn_server(&data_dir, port, &tmp.path().join("first.log"));
    if connect_bounded(port, Duration::from_secs(20)).is_none() {
        let _ = first.kill();
        let _ = first.wait();
        panic!("first server never came up");
    }
    let out = server()
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--kafka-port", &free_port().to_string(), "standalone"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    sigterm(&first);
    let first_status = wait_bounded(&mut first, Duration::from_secs(40));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "second server must fail");
    assert!(stderr.contains("in use by another chronik-server"), "{stderr}");
    assert!(first_status.is_some_and(|s| s.success()), "first server exits cleanly: {first_status:?}");
}
