//! AlterConfigs: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterConfigsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterConfigsResponse {}

impl Decode for AlterConfigsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for AlterConfigsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for AlterConfigsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for AlterConfigsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
