//! IncrementalAlterConfigs: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterConfigsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterConfigsResponse {}

impl Decode for IncrementalAlterConfigsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for IncrementalAlterConfigsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for IncrementalAlterConfigsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for IncrementalAlterConfigsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
