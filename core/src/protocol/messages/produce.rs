//! Produce: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceResponse {}

impl Decode for ProduceRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for ProduceRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for ProduceResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for ProduceResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
