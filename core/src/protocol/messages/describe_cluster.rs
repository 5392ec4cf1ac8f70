//! DescribeCluster: STUB, to be written.

use crate::protocol::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeClusterRequest {}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeClusterResponse {}

impl Decode for DescribeClusterRequest {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DescribeClusterRequest {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}

impl Decode for DescribeClusterResponse {
    fn decode(_r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        Err(DecodeError::Invalid("not implemented"))
    }
}

impl Encode for DescribeClusterResponse {
    fn encode(&self, _w: &mut Writer, _version: i16) {}
}
