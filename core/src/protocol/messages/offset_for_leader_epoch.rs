//! OffsetForLeaderEpoch: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetForLeaderEpochRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetForLeaderEpochResponse {}

impl Decode for OffsetForLeaderEpochRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for OffsetForLeaderEpochRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for OffsetForLeaderEpochResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for OffsetForLeaderEpochResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
