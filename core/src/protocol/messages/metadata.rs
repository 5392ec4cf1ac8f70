//! Metadata: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataResponse {}

impl Decode for MetadataRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for MetadataRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for MetadataResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for MetadataResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
