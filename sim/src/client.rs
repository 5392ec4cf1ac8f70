//! A minimal Kafka client over madsim TCP, built on `chronik_core::protocol`.
//!
//! One [`Client`] is one connection. [`Client::call`] encodes a request header
//! (fresh correlation id, client id `chronik-sim`) and body, frames it with its
//! length, writes it, then reads response frames until the one with its
//! correlation id, and decodes it in the request's API and version. Requests on
//! one connection are answered in order, so a call waits for its own answer only.
//!
//! **A failed or timed-out call leaves the client unusable**: after a timeout the
//! answer may still arrive and would be mistaken for the next call's, and after an
//! error the stream position is unknown. Every later call returns
//! `ClientError::Closed`; the caller drops the client and connects again. The
//! request of a failed call may or may not have taken effect.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use chronik_core::protocol::header::{decode_response_header, RequestHeader};
use chronik_core::protocol::messages::{Request, Response};
use chronik_core::protocol::{Reader, Writer};
use madsim::net::TcpStream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::node::{flush, write_buffered};

/// Largest response frame accepted (bytes after the length prefix).
pub const RESPONSE_BYTES_MAX: usize = 128 << 20;
/// The client id sent in every request header.
pub const CLIENT_ID: &str = "chronik-sim";
/// Bytes read from the socket in one read, at most.
const READ_CHUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// Could not connect.
    Connect(String),
    /// No answer within the timeout (the request may or may not have taken effect).
    Timeout,
    /// The connection closed or failed.
    Closed(String),
    /// The answer did not decode.
    Decode(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect(why) => write!(f, "cannot connect: {why}"),
            ClientError::Timeout => write!(f, "no answer in time"),
            ClientError::Closed(why) => write!(f, "connection closed: {why}"),
            ClientError::Decode(why) => write!(f, "bad answer: {why}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// One connection; requests are answered in order. Unusable after any failed
/// call (see the module docs): reconnect.
pub struct Client {
    /// `None` once a call failed.
    stream: Option<TcpStream>,
    /// Why the client became unusable.
    broken: Option<ClientError>,
    next_correlation_id: i32,
    /// Bytes read past the last complete frame.
    buf: BytesMut,
}

impl Client {
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Client, ClientError> {
        let stream = match madsim::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(ClientError::Connect(format!("{addr}: {e}"))),
            Err(_) => return Err(ClientError::Connect(format!("{addr}: timed out after {timeout:?}"))),
        };
        Ok(Client { stream: Some(stream), broken: None, next_correlation_id: 1, buf: BytesMut::new() })
    }

    /// Whether calls can still be made (no earlier call failed).
    pub fn is_usable(&self) -> bool {
        self.stream.is_some()
    }

    /// Send a request in `version` and wait for its answer.
    pub async fn call(&mut self, version: i16, req: Request, timeout: Duration) -> Result<Response, ClientError> {
        let api_key = req.api_key();
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(&req, version, correlation_id);
        self.stream()?;
        let (Some(stream), buf) = (&mut self.stream, &mut self.buf) else { unreachable!("checked just above") };
        let exchange = async move {
            send_frame(stream, &frame).await?;
            loop {
                let body = read_frame(stream, buf).await?;
                let id = peek_correlation_id(&body)?;
                if id == correlation_id {
                    return decode_response(body, api_key, version);
                }
                if id > correlation_id || id <= 0 {
                    return Err(ClientError::Decode(format!("answer with correlation id {id} while waiting for {correlation_id}")));
                }
                // An answer to an earlier request sent without waiting: skip it.
                tracing::debug!(id, correlation_id, "skipping an answer to an earlier request");
            }
        };
        let result = match madsim::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout),
        };
        result.map_err(|e| self.fail(e))
    }

    /// Send a request that gets no answer (Produce with acks=0).
    pub async fn send_only(&mut self, version: i16, req: Request) -> Result<(), ClientError> {
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(&req, version, correlation_id);
        let stream = self.stream()?;
        let result = send_frame(stream, &frame).await;
        result.map_err(|e| self.fail(e))
    }

    fn next_correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        // Positive ids only; wrapping after 2^31 requests is far beyond any run.
        self.next_correlation_id = if id == i32::MAX { 1 } else { id + 1 };
        id
    }

    fn stream(&mut self) -> Result<&mut TcpStream, ClientError> {
        match (&mut self.stream, &self.broken) {
            (Some(stream), _) => Ok(stream),
            (None, Some(why)) => Err(ClientError::Closed(format!("unusable after an earlier failure ({why})"))),
            (None, None) => Err(ClientError::Closed("unusable".into())),
        }
    }

    /// Make the client unusable (dropping the socket) and pass the error on.
    fn fail(&mut self, e: ClientError) -> ClientError {
        self.stream = None;
        self.buf.clear();
        self.broken = Some(e.clone());
        e
    }
}

/// Header and body in one length-prefixed frame.
pub fn encode_request(req: &Request, version: i16, correlation_id: i32) -> Bytes {
    let mut w = Writer::new();
    w.i32(0); // length, patched below
    let header = RequestHeader { api_key: req.api_key(), api_version: version, correlation_id, client_id: Some(CLIENT_ID.to_string()) };
    header.encode(&mut w);
    req.encode(&mut w, version);
    let len = i32::try_from(w.len() - 4).expect("request frame fits in i32");
    w.patch_i32(0, len);
    w.finish().freeze()
}

/// Decode one response frame (after its length prefix), which must be used up.
pub fn decode_response(body: Bytes, api_key: i16, version: i16) -> Result<Response, ClientError> {
    let mut r = Reader::new(body);
    decode_response_header(&mut r, api_key, version).map_err(|e| ClientError::Decode(format!("header: {e}")))?;
    let response = Response::decode(api_key, version, &mut r).map_err(|e| ClientError::Decode(format!("api {api_key} v{version}: {e}")))?;
    if r.remaining() != 0 {
        return Err(ClientError::Decode(format!("api {api_key} v{version}: {} bytes left over", r.remaining())));
    }
    Ok(response)
}

fn peek_correlation_id(body: &[u8]) -> Result<i32, ClientError> {
    match body.get(..4) {
        Some(b) => Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(ClientError::Decode(format!("frame of {} bytes has no correlation id", body.len()))),
    }
}

async fn send_frame(stream: &mut TcpStream, frame: &[u8]) -> Result<(), ClientError> {
    let closed = |e: std::io::Error| ClientError::Closed(format!("write failed: {e}"));
    write_buffered(stream, frame).await.map_err(closed)?;
    flush(stream).await.map_err(closed)
}

/// Read one frame; returns it without its length prefix. Bytes after it stay in `buf`.
async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<Bytes, ClientError> {
    while buf.len() < 4 {
        read_some(stream, buf).await?;
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let len = match usize::try_from(len) {
        Ok(len) if len <= RESPONSE_BYTES_MAX => len,
        _ => return Err(ClientError::Decode(format!("response frame length {len}"))),
    };
    while buf.len() < 4 + len {
        read_some(stream, buf).await?;
    }
    buf.advance(4);
    Ok(buf.split_to(len).freeze())
}

/// Append what the socket has (waiting for at least one byte) to `buf`.
async fn read_some(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<(), ClientError> {
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    let n = poll_fn(|cx| {
        let mut rb = ReadBuf::new(&mut chunk);
        Pin::new(&mut *stream).poll_read(cx, &mut rb).map_ok(|()| rb.filled().len())
    })
    .await
    .map_err(|e| ClientError::Closed(format!("read failed: {e}")))?;
    if n == 0 {
        return Err(ClientError::Closed("the broker closed the connection".into()));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}
