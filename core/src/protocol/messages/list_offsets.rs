//! ListOffsets: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOffsetsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOffsetsResponse {}

impl Decode for ListOffsetsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for ListOffsetsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for ListOffsetsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for ListOffsetsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
