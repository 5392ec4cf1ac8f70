//! Request and response headers.

use super::api;
use super::codec::{DecodeResult, Reader, Writer};

#[derive(Debug, Clone, PartialEq)]
pub struct RequestHeader {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
}

impl RequestHeader {
    /// Read the header at the start of a request frame (after the length prefix).
    /// The client id is a classic nullable string even in header v2.
    pub fn decode(r: &mut Reader) -> DecodeResult<RequestHeader> {
        r.flexible = false;
        let api_key = r.i16()?;
        let api_version = r.i16()?;
        let correlation_id = r.i32()?;
        let client_id = r.nullable_string()?;
        if api::request_header_version(api_key, api_version) >= 2 {
            r.flexible = true;
            r.skip_tagged_fields()?;
        }
        Ok(RequestHeader { api_key, api_version, correlation_id, client_id })
    }

    pub fn encode(&self, w: &mut Writer) {
        w.flexible = false;
        w.i16(self.api_key);
        w.i16(self.api_version);
        w.i32(self.correlation_id);
        w.nullable_string(self.client_id.as_deref());
        if api::request_header_version(self.api_key, self.api_version) >= 2 {
            w.flexible = true;
            w.empty_tagged_fields();
        }
    }
}

/// Write a response header for `api_key`/`api_version`.
pub fn encode_response_header(w: &mut Writer, api_key: i16, api_version: i16, correlation_id: i32) {
    w.flexible = false;
    w.i32(correlation_id);
    if api::response_header_version(api_key, api_version) >= 1 {
        w.flexible = true;
        w.empty_tagged_fields();
    }
}

/// Read a response header; returns the correlation id.
pub fn decode_response_header(r: &mut Reader, api_key: i16, api_version: i16) -> DecodeResult<i32> {
    r.flexible = false;
    let correlation_id = r.i32()?;
    if api::response_header_version(api_key, api_version) >= 1 {
        r.flexible = true;
        r.skip_tagged_fields()?;
    }
    Ok(correlation_id)
}
