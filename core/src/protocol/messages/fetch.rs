//! Fetch: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchResponse {}

impl Decode for FetchRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for FetchRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for FetchResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for FetchResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
