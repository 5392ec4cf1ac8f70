//! DescribeConfigs: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsResponse {}

impl Decode for DescribeConfigsRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DescribeConfigsRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for DescribeConfigsResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DescribeConfigsResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
