//! DeleteTopics: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteTopicsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteTopicsResponse {}

impl Decode for DeleteTopicsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DeleteTopicsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for DeleteTopicsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DeleteTopicsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
