//! CreatePartitions: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsResponse {}

impl Decode for CreatePartitionsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for CreatePartitionsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for CreatePartitionsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for CreatePartitionsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
