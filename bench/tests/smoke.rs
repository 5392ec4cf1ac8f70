//! Smoke test: chronik-bench against a real chronik-server (with verification) and
//! against chronik-null-broker (without). Every process started here is stopped
//! here, by its own pid, and every wait is bounded.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BENCH: &str = env!("CARGO_BIN_EXE_chronik-bench");
const NULL_BROKER: &str = env!("CARGO_BIN_EXE_chronik-null-broker");

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    fn spawn(name: &'static str, cmd: &mut Command) -> Proc {
        let child = cmd.stdin(Stdio::null()).spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc { name, child }
    }

    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        if self.wait_for(Duration::from_secs(10)).is_none() {
            eprintln!("{} did not stop on SIGTERM; killing", self.name);
            let _ = self.child.kill();
            let _ = self.wait_for(Duration::from_secs(5));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_accepting(proc: &mut Proc, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = proc.child.try_wait().unwrap() {
            panic!("{} exited during start-up: {status}", proc.name);
        }
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} did not accept on port {port} within 30 s", proc.name);
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// chronik-server: $CHRONIK_SERVER_BIN, else target/{release,debug}/chronik-server
/// (next to this test's binaries, then in the workspace), else built now.
fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CHRONIK_SERVER_BIN") {
        return PathBuf::from(p);
    }
    // .../target/<profile>/chronik-bench -> .../target
    let target = Path::new(BENCH).parent().and_then(Path::parent).unwrap().to_path_buf();
    let candidates = [target.clone(), workspace_root().join("target")];
    let find = || candidates.iter().flat_map(|t| [t.join("release/chronik-server"), t.join("debug/chronik-server")]).find(|p| p.exists());
    if let Some(p) = find() {
        return p;
    }
    eprintln!("chronik-server not found; building it (cargo build -p runtime-tokio)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Proc::spawn(
        "cargo build",
        Command::new(cargo).args(["build", "-p", "runtime-tokio"]).env("CARGO_TARGET_DIR", &target).current_dir(workspace_root()),
    );
    let status = build.wait_for(Duration::from_secs(1200)).expect("cargo build -p runtime-tokio took over 20 min");
    assert!(status.success(), "cargo build -p runtime-tokio failed: {status}");
    find().expect("chronik-server still missing after the build")
}

/// Run chronik-bench with `args` (bounded) and return its parsed JSON report.
fn run_bench(bootstrap: &str, args: &[&str], tmp: &Path) -> serde_json::Value {
    let json = tmp.join(format!("report-{}.json", free_port()));
    // Flags may be given once only: `args` may bring its own --concurrency.
    let concurrency: &[&str] = if args.contains(&"--concurrency") { &[] } else { &["--concurrency", "8"] };
    let mut bench = Proc::spawn(
        "chronik-bench",
        Command::new(BENCH)
            .args(["--bootstrap-servers", bootstrap])
            .args(["--duration", "3", "--warmup-duration", "1", "--message-size", "256"])
            .args(concurrency)
            .args(args)
            .arg("--json-output")
            .arg(&json),
    );
    let status = bench.wait_for(Duration::from_secs(180)).expect("chronik-bench ran over 180 s");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("no JSON report ({e}); exit {status}"));
    assert!(status.success(), "chronik-bench exited {status}; report:\n{text}");
    serde_json::from_str(&text).expect("report is JSON")
}

#[test]
fn produce_verify_and_consume_against_chronik_server() {
    let server_bin = server_binary();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Proc::spawn(
        "chronik-server",
        Command::new(&server_bin)
            .arg("--data-dir")
            .arg(tmp.path().join("data"))
            .args(["--bind-addr", "127.0.0.1", "--kafka-port", &port.to_string(), "--advertised-addr", "127.0.0.1"])
            .arg("standalone")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null()),
    );
    wait_accepting(&mut server, port);
    let bootstrap = format!("127.0.0.1:{port}");
    let report = run_bench(&bootstrap, &["--create-topic", "--partitions", "3"], tmp.path());
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(report["acknowledged"].as_u64().unwrap() > 0, "{report:#}");
    assert!(report["messages_per_sec"].as_f64().unwrap() > 0.0, "{report:#}");
    let v = &report["verification"];
    assert_eq!(v["missing"], 0, "{report:#}");
    assert_eq!(v["duplicated"], 0, "{report:#}");
    assert_eq!(v["passed"], true, "{report:#}");
    assert_eq!(v["found"], report["acknowledged"], "{report:#}");

    // Consume the topic back with several consumers sharing its partitions, and with
    // more consumers asked for than there are partitions. Every message is read; the
    // rate leaves out the first one, which opens the measured window.
    let acknowledged = report["acknowledged"].as_u64().unwrap();
    for consumers in ["2", "8"] {
        let read = run_bench(&bootstrap, &["--mode", "consume", "--concurrency", consumers], tmp.path());
        assert_eq!(read["failed"], 0, "{read:#}");
        assert_eq!(read["partitions"], 3, "{read:#}");
        assert_eq!(read["messages"].as_u64().unwrap() + 1, acknowledged, "{consumers} consumers: {read:#}");
        assert!(read["mb_per_sec"].as_f64().unwrap() > 0.0, "{read:#}");
    }

    // Consuming a topic that does not exist fails: it is not auto-created and read as empty.
    let mut missing = Proc::spawn(
        "chronik-bench",
        Command::new(BENCH)
            .args(["--bootstrap-servers", &bootstrap, "--mode", "consume", "--topic", "no-such-topic", "--duration", "3"])
            .stdout(Stdio::null()),
    );
    let status = missing.wait_for(Duration::from_secs(60)).expect("chronik-bench ran over 60 s");
    assert!(!status.success(), "consuming a missing topic passed");
    server.stop();
}

#[test]
fn produce_against_null_broker() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut broker =
        Proc::spawn("chronik-null-broker", Command::new(NULL_BROKER).args(["--port", &port.to_string()]).stdout(Stdio::null()));
    wait_accepting(&mut broker, port);
    let report = run_bench(&format!("127.0.0.1:{port}"), &["--no-verify", "--acks", "1"], tmp.path());
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(report["acknowledged"].as_u64().unwrap() > 0, "{report:#}");
    assert!(report["verification"].is_null(), "{report:#}");
    broker.stop();
}
