//! DeleteRecords (key 21): advance partitions' log start offsets.
//! Versions 0-2, flexible from 2.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsRequest {
    pub topics: Vec<DeleteRecordsTopic>,
    pub timeout_ms: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsTopic {
    pub name: String,
    pub partitions: Vec<DeleteRecordsPartition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsPartition {
    pub partition_index: i32,
    /// Delete records before this offset (-1: the high watermark).
    pub offset: i64,
}

impl Decode for DeleteRecordsPartition {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DeleteRecordsPartition { partition_index: r.i32()?, offset: r.i64()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteRecordsPartition {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.i64(self.offset);
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteRecordsTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = DeleteRecordsTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteRecordsTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteRecordsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m = DeleteRecordsRequest { topics: r.array_of(version)?, timeout_ms: r.i32()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteRecordsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.array_of(&self.topics, version);
        w.i32(self.timeout_ms);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsResponse {
    pub throttle_time_ms: i32,
    pub topics: Vec<DeleteRecordsTopicResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsTopicResult {
    pub name: String,
    pub partitions: Vec<DeleteRecordsPartitionResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteRecordsPartitionResult {
    pub partition_index: i32,
    pub low_watermark: i64,
    pub error_code: i16,
}

impl Decode for DeleteRecordsPartitionResult {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DeleteRecordsPartitionResult { partition_index: r.i32()?, low_watermark: r.i64()?, error_code: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteRecordsPartitionResult {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.i64(self.low_watermark);
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteRecordsTopicResult {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = DeleteRecordsTopicResult { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteRecordsTopicResult {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteRecordsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m = DeleteRecordsResponse { throttle_time_ms: r.i32()?, topics: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteRecordsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.i32(self.throttle_time_ms);
        w.array_of(&self.topics, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    /// Every version (0-2) round-trips every field.
    #[test]
    fn round_trips_every_version() {
        let req = DeleteRecordsRequest {
            topics: vec![
                DeleteRecordsTopic {
                    name: "orders".into(),
                    partitions: vec![
                        DeleteRecordsPartition { partition_index: 0, offset: 42 },
                        DeleteRecordsPartition { partition_index: 3, offset: -1 },
                    ],
                },
                DeleteRecordsTopic { name: "empty".into(), partitions: vec![] },
            ],
            timeout_ms: 1500,
        };
        let resp = DeleteRecordsResponse {
            throttle_time_ms: 4,
            topics: vec![DeleteRecordsTopicResult {
                name: "orders".into(),
                partitions: vec![
                    DeleteRecordsPartitionResult { partition_index: 0, low_watermark: 42, error_code: 0 },
                    DeleteRecordsPartitionResult { partition_index: 3, low_watermark: -1, error_code: 1 },
                ],
            }],
        };
        for version in 0..=2 {
            round_trip(&req, version);
            round_trip(&resp, version);
        }
    }

    /// A v0 request and a v2 response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = DeleteRecordsRequest {
            topics: vec![DeleteRecordsTopic {
                name: "t".into(),
                partitions: vec![DeleteRecordsPartition { partition_index: 1, offset: 258 }],
            }],
            timeout_ms: 7,
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 0, 0, 1, 0, 1, b't',
            0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2,
            0, 0, 0, 7,
        ];
        assert_known_bytes(&req, 0, req_bytes);

        let resp = DeleteRecordsResponse {
            throttle_time_ms: 0,
            topics: vec![DeleteRecordsTopicResult {
                name: "t".into(),
                partitions: vec![DeleteRecordsPartitionResult { partition_index: 1, low_watermark: 5, error_code: 1 }],
            }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,             // throttle_time_ms
            2, 2, b't',             // topics: 1, name "t"
            2, 0, 0, 0, 1,          // partitions: 1, partition_index 1
            0, 0, 0, 0, 0, 0, 0, 5, // low_watermark
            0, 1, 0,                // error_code, partition tags
            0,                      // topic tags
            0,                      // top-level tags
        ];
        assert_known_bytes(&resp, 2, resp_bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<DeleteRecordsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<DeleteRecordsRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 2), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<DeleteRecordsResponse>(&[0, 0, 0, 0, 2, 2, b't', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 2),
            DecodeError::NotEnoughBytes
        );
    }
}
