//! DeleteRecords: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsResponse {}

impl Decode for DeleteRecordsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DeleteRecordsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for DeleteRecordsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DeleteRecordsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
