//! The control API against local users (issue #10): it proves itself before the CLI sends its
//! token, bounds idle connections, and answers a repeated command from its first run.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hallsync::harness::NodeProcess;
use hallsync_node::control::ControlInfo;
use hallsync_node::{Command, DataDir};

fn started_city(dir: &std::path::Path) -> (NodeProcess, String) {
    let data = hallsync_tests::genesis_city(dir, "city");
    let mut node = NodeProcess::new(
        "city",
        std::path::PathBuf::from(&data),
        &hallsync_tests::hallsync_bin(),
    );
    node.start(Duration::from_secs(30)).unwrap();
    (node, data)
}

fn control_info(data: &str) -> ControlInfo {
    ControlInfo::read(&DataDir::new(data).control_file())
        .unwrap()
        .unwrap()
}

/// A server that answers every request `200 {"ok":true,...}` and keeps what it was sent.
fn fake_server(addr: &str) -> Arc<Mutex<Vec<String>>> {
    let listener = TcpListener::bind(addr).expect("the old control port is free after kill -9");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        // Bounded: at most 32 connections, then the thread ends.
        for stream in listener.incoming().take(32) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = vec![0u8; 64 * 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            keep.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            let body = r#"{"ok":true,"result":{"device":"x","signature":"00","signed":true,"durable":true}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    seen
}

#[test]
fn a_fake_control_server_on_the_old_port_is_refused_and_gets_no_token() {
    // Goal (issue #10): after a `kill -9`, control.json is stale and a local user binds its port.
    // The CLI asks the server to prove it holds the node's key, it cannot, and the CLI sends it no
    // token and no command; the command runs on the store, which no node holds.
    let dir = tempfile::tempdir().unwrap();
    let (mut node, data) = started_city(dir.path());
    let info = control_info(&data);
    node.kill();
    let seen = fake_server(&info.addr);
    let (ok, out, err) = hallsync_tests::run_cli(&["status", "--data", &data, "--json"]);
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        status["running"], false,
        "answered from the store: {status:#}"
    );
    let requests = seen.lock().unwrap().clone();
    assert!(!requests.is_empty(), "the CLI tried the old port");
    for request in &requests {
        assert!(request.starts_with("POST /api/hello"), "{request}");
        assert!(
            !request.contains(&info.token),
            "the token leaked: {request}"
        );
        assert!(
            !request.to_lowercase().contains("authorization"),
            "{request}"
        );
    }
}

#[test]
fn idle_control_connections_are_closed_and_do_not_lock_the_cli_out() {
    // Goal (issue #10): a local user opening more idle connections than the bound gets the extra
    // ones closed at once and the rest after the header timeout; the CLI gets through after it.
    let dir = tempfile::tempdir().unwrap();
    let (mut node, data) = started_city(dir.path());
    let info = control_info(&data);
    let idle: Vec<TcpStream> = (0..hallsync_node::control::server::CONNECTIONS_MAX + 36)
        .filter_map(|_| TcpStream::connect(&info.addr).ok())
        .collect();
    std::thread::sleep(hallsync_node::control::server::HEADER_TIMEOUT + Duration::from_secs(2));
    let mut closed = 0;
    for mut stream in idle {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut byte = [0u8; 1];
        // Closed: read returns 0 or a reset; still open: it times out.
        let open = matches!(
            stream.read(&mut byte),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        );
        if !open {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        hallsync_node::control::server::CONNECTIONS_MAX + 36,
        "every idle connection was closed"
    );
    assert!(node.call(Command::Status).is_ok());
    node.stop(Duration::from_secs(10));
}

#[test]
fn a_command_sent_again_with_its_key_is_answered_from_its_first_run() {
    // Goal (issue #10): a CLI that lost its connection sends the command again with the same
    // idempotency key and gets the first run's answer; the command is not run twice (run twice,
    // the second create would fail with "nothing to change").
    let dir = tempfile::tempdir().unwrap();
    let (mut node, data) = started_city(dir.path());
    let info = control_info(&data);
    let command = hallsync_tests::create_item("442000001000");
    let body = serde_json::to_string(&command).unwrap();
    let send = |key: Option<&str>| -> serde_json::Value {
        let mut stream = TcpStream::connect(&info.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let key = key
            .map(|k| format!("Idempotency-Key: {k}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "POST /api/command HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer {}\r\n{key}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            info.token,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(json).unwrap()
    };
    let first = send(Some("k-1"));
    assert_eq!(first["ok"], true, "{first}");
    let again = send(Some("k-1"));
    assert_eq!(again, first, "the same answer, from the first run");
    let without = send(None);
    assert_eq!(without["ok"], false, "run again without the key: {without}");
    node.stop(Duration::from_secs(10));
}
