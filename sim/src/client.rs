//! A minimal Kafka client over madsim TCP, built on `chronik_core::protocol`.
//! STUB: see the doc comments for the contract.

use std::net::SocketAddr;
use std::time::Duration;

use chronik_core::protocol::messages::{Request, Response};

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

/// One connection; requests are answered in order.
pub struct Client {
    _private: (),
}

impl Client {
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Client, ClientError> {
        let _ = (addr, timeout);
        todo!()
    }

    /// Send a request in `version` and wait for its answer.
    pub async fn call(&mut self, version: i16, req: Request, timeout: Duration) -> Result<Response, ClientError> {
        let _ = (version, req, timeout);
        todo!()
    }

    /// Send a request that gets no answer (Produce with acks=0).
    pub async fn send_only(&mut self, version: i16, req: Request) -> Result<(), ClientError> {
        let _ = (version, req);
        todo!()
    }
}
