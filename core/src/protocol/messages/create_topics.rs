//! CreateTopics: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreateTopicsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreateTopicsResponse {}

impl Decode for CreateTopicsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for CreateTopicsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for CreateTopicsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for CreateTopicsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
