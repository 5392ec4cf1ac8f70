//! OffsetDelete (key 47): delete a group's committed offsets for some partitions.
//! Version 0 only, not flexible.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 0;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetDeleteRequest {
    pub group_id: String,
    pub topics: Vec<OffsetDeleteRequestTopic>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetDeleteRequestTopic {
    pub name: String,
    pub partitions: Vec<OffsetDeleteRequestPartition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetDeleteRequestPartition {
    pub partition_index: i32,
}

impl Decode for OffsetDeleteRequestPartition {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = OffsetDeleteRequestPartition { partition_index: r.i32()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetDeleteRequestPartition {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetDeleteRequestTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetDeleteRequestTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetDeleteRequestTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetDeleteRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = false;
        let m = OffsetDeleteRequest { group_id: r.string()?, topics: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetDeleteRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = false;
        w.string(&self.group_id);
        w.array_of(&self.topics, version);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetDeleteResponse {
    pub error_code: i16,
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetDeleteResponseTopic>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetDeleteResponseTopic {
    pub name: String,
    pub partitions: Vec<OffsetDeleteResponsePartition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetDeleteResponsePartition {
    pub partition_index: i32,
    pub error_code: i16,
}

impl Decode for OffsetDeleteResponsePartition {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = OffsetDeleteResponsePartition { partition_index: r.i32()?, error_code: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetDeleteResponsePartition {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetDeleteResponseTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetDeleteResponseTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetDeleteResponseTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetDeleteResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = false;
        let m = OffsetDeleteResponse { error_code: r.i16()?, throttle_time_ms: r.i32()?, topics: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetDeleteResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = false;
        w.i16(self.error_code);
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

    /// The only version (0) round-trips every field.
    #[test]
    fn round_trips_every_version() {
        let req = OffsetDeleteRequest {
            group_id: "payments".into(),
            topics: vec![
                OffsetDeleteRequestTopic {
                    name: "orders".into(),
                    partitions: vec![
                        OffsetDeleteRequestPartition { partition_index: 0 },
                        OffsetDeleteRequestPartition { partition_index: 7 },
                    ],
                },
                OffsetDeleteRequestTopic { name: "empty".into(), partitions: vec![] },
            ],
        };
        let resp = OffsetDeleteResponse {
            error_code: 16,
            throttle_time_ms: 9,
            topics: vec![OffsetDeleteResponseTopic {
                name: "orders".into(),
                partitions: vec![
                    OffsetDeleteResponsePartition { partition_index: 0, error_code: 0 },
                    OffsetDeleteResponsePartition { partition_index: 7, error_code: 86 },
                ],
            }],
        };
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&req, version);
            round_trip(&resp, version);
        }
    }

    /// A v0 request and response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = OffsetDeleteRequest {
            group_id: "g".into(),
            topics: vec![OffsetDeleteRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetDeleteRequestPartition { partition_index: 2 }],
            }],
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',             // group_id "g"
            0, 0, 0, 1,             // topics: 1
            0, 1, b't',             //   name "t"
            0, 0, 0, 1,             //   partitions: 1
            0, 0, 0, 2,             //     partition_index 2
        ];
        assert_known_bytes(&req, 0, req_bytes);

        let resp = OffsetDeleteResponse {
            error_code: 0,
            throttle_time_ms: 3,
            topics: vec![OffsetDeleteResponseTopic {
                name: "t".into(),
                partitions: vec![OffsetDeleteResponsePartition { partition_index: 2, error_code: 86 }],
            }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0,                   // error_code
            0, 0, 0, 3,             // throttle_time_ms
            0, 0, 0, 1,             // topics: 1
            0, 1, b't',             //   name "t"
            0, 0, 0, 1,             //   partitions: 1
            0, 0, 0, 2,             //     partition_index 2
            0, 86,                  //     error_code
        ];
        assert_known_bytes(&resp, 0, resp_bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<OffsetDeleteRequest>(&[0, 1, b'g', 0x7f, 0xff, 0xff, 0xff, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<OffsetDeleteResponse>(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0x7f, 0xff, 0xff, 0xff, 0], 0),
            DecodeError::NotEnoughBytes
        );
    }

    #[test]
    fn unsupported_versions_are_rejected() {
        assert_eq!(decode_error::<OffsetDeleteRequest>(&[0, 1, b'g', 0, 0, 0, 0], 1), DecodeError::Invalid("unsupported api version"));
    }
}
