//! The peer transport over 127.0.0.1. Every wait is bounded.

use super::*;

const WAIT: Duration = Duration::from_secs(10);
const FRAME_MAX: usize = 1024;

fn listener() -> (TcpListener, SocketAddr) {
    let l = bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn config(me: i32, peers: &[(i32, SocketAddr)]) -> PeerConfig {
    PeerConfig {
        node_id: NodeId(me),
        peers: peers.iter().map(|&(id, a)| (NodeId(id), a.to_string())).collect(),
        frame_bytes_max: FRAME_MAX,
    }
}

fn start(me: i32, l: TcpListener, peers: &[(i32, SocketAddr)]) -> (PeerTransport, mpsc::Receiver<PeerMessage>) {
    let (tx, rx) = mpsc::channel(64);
    (PeerTransport::start(config(me, peers), l, tx), rx)
}

async fn next(rx: &mut mpsc::Receiver<PeerMessage>) -> PeerMessage {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("message in time").expect("channel open")
}

/// Sends `data` every 20 ms until `rx` yields a message (the link may still be connecting,
/// and messages queued while it is down are discarded); returns it.
async fn send_until_received(t: &PeerTransport, to: i32, data: &'static [u8], rx: &mut mpsc::Receiver<PeerMessage>) -> PeerMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        t.send(NodeId(to), Bytes::from_static(data));
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(20), rx.recv()).await {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "no message from the link in time");
    }
}

/// Binds `addr` again once the old listener is gone (its task is aborted asynchronously).
async fn rebind(addr: SocketAddr) -> TcpListener {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match bind(addr) {
            Ok(l) => return l,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "cannot rebind {addr}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads until the server closes the connection (true) or the wait ends (false).
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut sink = [0u8; 64];
    let until_close = async {
        loop {
            match s.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(WAIT, until_close).await.is_ok()
}

/// Proves two transports carry whole messages both ways, in order per connection,
/// tagged with the sender, and that sends to self or to unknown nodes are dropped safely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_messages_both_ways() {
    let (la, aa) = listener();
    let (lb, ab) = listener();
    let (a, mut rx_a) = start(1, la, &[(1, aa), (2, ab)]);
    let (b, mut rx_b) = start(2, lb, &[(1, aa), (2, ab)]);

    let first = send_until_received(&a, 2, b"a->b", &mut rx_b).await;
    assert_eq!(first, PeerMessage { from: NodeId(1), data: Bytes::from_static(b"a->b") });
    let first = send_until_received(&b, 1, b"b->a", &mut rx_a).await;
    assert_eq!(first.from, NodeId(2));

    // Drain retries that were in flight, then check ordering of a burst, including an
    // empty message and one of exactly the limit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while rx_a.try_recv().is_ok() {}
    while rx_b.try_recv().is_ok() {}
    let big = Bytes::from(vec![7u8; FRAME_MAX]);
    for i in 0..50u32 {
        a.send(NodeId(2), Bytes::from(i.to_be_bytes().to_vec()));
    }
    a.send(NodeId(2), Bytes::new());
    a.send(NodeId(2), big.clone());
    for i in 0..50u32 {
        assert_eq!(next(&mut rx_b).await.data, Bytes::from(i.to_be_bytes().to_vec()));
    }
    assert_eq!(next(&mut rx_b).await.data, Bytes::new());
    assert_eq!(next(&mut rx_b).await.data, big);

    // Too large, to self, to an unknown node: dropped, nothing arrives anywhere, no panic.
    a.send(NodeId(2), Bytes::from(vec![0u8; FRAME_MAX + 1]));
    assert_eq!(a.dropped(NodeId(2)), 1);
    a.send(NodeId(1), Bytes::from_static(b"self"));
    a.send(NodeId(9), Bytes::from_static(b"nobody"));
    assert!(tokio::time::timeout(Duration::from_millis(200), rx_b.recv()).await.is_err());
    assert!(rx_a.try_recv().is_err());
}

/// Proves a peer that goes away and comes back on the same address is reconnected and
/// gets messages again, with no message from before the restart replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_peer_is_reconnected() {
    let (la, aa) = listener();
    let (lb, ab) = listener();
    let peers = [(1, aa), (2, ab)];
    let (a, _rx_a) = start(1, la, &peers);
    let (b, mut rx_b) = start(2, lb, &peers);
    send_until_received(&a, 2, b"before", &mut rx_b).await;

    drop(b);
    drop(rx_b);
    // While node 2 is down, messages to it are dropped (and counted), never queued forever.
    for _ in 0..10 {
        a.send(NodeId(2), Bytes::from_static(b"while down"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let lb = rebind(ab).await;
    let (_b, mut rx_b) = start(2, lb, &peers);
    let m = send_until_received(&a, 2, b"after", &mut rx_b).await;
    assert_eq!(m, PeerMessage { from: NodeId(1), data: Bytes::from_static(b"after") });
    assert!(a.dropped(NodeId(2)) > 0, "messages while down were counted as dropped");
}

/// Proves a frame longer than the limit closes that connection (no panic, no message),
/// and the transport keeps serving other connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_closes_the_connection() {
    let (la, aa) = listener();
    let (lb, ab) = listener();
    let peers = [(1, aa), (2, ab)];
    let (_a, mut rx_a) = start(1, la, &peers);

    let mut raw = TcpStream::connect(aa).await.unwrap();
    raw.write_all(&encode_hello(NodeId(2))).await.unwrap();
    raw.write_all(&((FRAME_MAX as u32) + 1).to_be_bytes()).await.unwrap();
    raw.write_all(&[0u8; 16]).await.unwrap();
    assert!(closed_by_server(&mut raw).await, "oversized frame closes the connection");
    assert!(rx_a.try_recv().is_err(), "nothing delivered from it");

    // A well-behaved node 2 still gets through.
    let (b, _rx_b) = start(2, lb, &peers);
    let m = send_until_received(&b, 1, b"fine", &mut rx_a).await;
    assert_eq!(m.from, NodeId(2));
}

/// Proves garbage where the hello belongs — a huge length, a wrong magic, a wrong
/// version, an unknown or own node id, a truncated hello — closes the connection
/// without delivering anything or panicking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hello_closes_the_connection() {
    let (la, aa) = listener();
    let (_lb, ab) = listener();
    let (a, mut rx_a) = start(1, la, &[(1, aa), (2, ab)]);

    let mut wrong_version = encode_hello(NodeId(2)).to_vec();
    wrong_version[8..10].copy_from_slice(&99u16.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("http request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("wrong magic", [&10u32.to_be_bytes()[..], b"XXXX\x00\x01\x00\x00\x00\x02"].concat()),
        ("wrong version", wrong_version),
        ("unknown node", encode_hello(NodeId(42)).to_vec()),
        ("own node id", encode_hello(NodeId(1)).to_vec()),
        ("short hello", [&3u32.to_be_bytes()[..], b"CHR"].concat()),
        ("truncated then eof", b"\x00\x00".to_vec()),
    ];
    for (what, bytes) in cases {
        let mut raw = TcpStream::connect(aa).await.unwrap();
        raw.write_all(&bytes).await.unwrap();
        if what == "truncated then eof" {
            raw.shutdown().await.unwrap();
        } else {
            // Frames after a bad hello must not be delivered either.
            let _ = raw.write_all(&[0, 0, 0, 1, b'x']).await;
        }
        assert!(closed_by_server(&mut raw).await, "{what}: connection closed");
    }
    assert!(rx_a.try_recv().is_err(), "nothing delivered");
    assert_eq!(a.dropped(NodeId(2)), 0);
}

/// Proves the hello round-trips and the decoder rejects what it must.
#[test]
fn hello_encoding() {
    let h = encode_hello(NodeId(7));
    assert_eq!(&h[..4], &(HELLO_FIELDS_BYTES as u32).to_be_bytes());
    assert_eq!(decode_hello(&h[4..]), Ok(NodeId(7)));
    let mut longer = h[4..].to_vec();
    longer.extend_from_slice(b"future fields");
    assert_eq!(decode_hello(&longer), Ok(NodeId(7)), "extra bytes are ignored");
    assert!(decode_hello(&h[4..9]).is_err());
}
