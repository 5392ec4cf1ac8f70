//! OffsetCommit (key 8): commit a group's consumed offsets. Versions 2-9,
//! flexible from 8.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 2;
const VERSION_MAX: i16 = 9;

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    /// v1+. The classic generation or the consumer-protocol member epoch; default -1.
    pub generation_id_or_member_epoch: i32,
    /// v1+.
    pub member_id: String,
    /// v7+ (nullable).
    pub group_instance_id: Option<String>,
    /// v2-4. Default -1 (the broker's retention).
    pub retention_time_ms: i64,
    pub topics: Vec<OffsetCommitRequestTopic>,
}

impl Default for OffsetCommitRequest {
    fn default() -> Self {
        OffsetCommitRequest {
            group_id: String::new(),
            generation_id_or_member_epoch: -1,
            member_id: String::new(),
            group_instance_id: None,
            retention_time_ms: -1,
            topics: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetCommitRequestTopic {
    pub name: String,
    pub partitions: Vec<OffsetCommitRequestPartition>,
}

/// (`CommitTimestamp`, v1 only, is left out: v1 is not implemented.)
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetCommitRequestPartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// v6+. Default -1.
    pub committed_leader_epoch: i32,
    /// Nullable.
    pub committed_metadata: Option<String>,
}

impl Default for OffsetCommitRequestPartition {
    fn default() -> Self {
        OffsetCommitRequestPartition { partition_index: 0, committed_offset: 0, committed_leader_epoch: -1, committed_metadata: None }
    }
}

impl Decode for OffsetCommitRequestPartition {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = OffsetCommitRequestPartition { partition_index: r.i32()?, committed_offset: r.i64()?, ..Default::default() };
        if version >= 6 {
            m.committed_leader_epoch = r.i32()?;
        }
        m.committed_metadata = r.nullable_string()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetCommitRequestPartition {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition_index);
        w.i64(self.committed_offset);
        if version >= 6 {
            w.i32(self.committed_leader_epoch);
        }
        w.nullable_string(self.committed_metadata.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetCommitRequestTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetCommitRequestTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetCommitRequestTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetCommitRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 8;
        let mut m = OffsetCommitRequest { group_id: r.string()?, ..Default::default() };
        if version >= 1 {
            m.generation_id_or_member_epoch = r.i32()?;
            m.member_id = r.string()?;
        }
        if version >= 7 {
            m.group_instance_id = r.nullable_string()?;
        }
        if (2..=4).contains(&version) {
            m.retention_time_ms = r.i64()?;
        }
        m.topics = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetCommitRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 8;
        w.string(&self.group_id);
        if version >= 1 {
            w.i32(self.generation_id_or_member_epoch);
            w.string(&self.member_id);
        }
        if version >= 7 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        if (2..=4).contains(&version) {
            w.i64(self.retention_time_ms);
        }
        w.array_of(&self.topics, version);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetCommitResponse {
    /// v3+.
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetCommitResponseTopic>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetCommitResponseTopic {
    pub name: String,
    pub partitions: Vec<OffsetCommitResponsePartition>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetCommitResponsePartition {
    pub partition_index: i32,
    pub error_code: i16,
}

impl Decode for OffsetCommitResponsePartition {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = OffsetCommitResponsePartition { partition_index: r.i32()?, error_code: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetCommitResponsePartition {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetCommitResponseTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetCommitResponseTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetCommitResponseTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetCommitResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 8;
        let mut m = OffsetCommitResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetCommitResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 8;
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.topics, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    fn request(version: i16) -> OffsetCommitRequest {
        let partition = |index: i32, offset: i64, metadata: Option<&str>| OffsetCommitRequestPartition {
            partition_index: index,
            committed_offset: offset,
            committed_leader_epoch: if version >= 6 { 11 } else { -1 },
            committed_metadata: metadata.map(Into::into),
        };
        OffsetCommitRequest {
            group_id: "payments".into(),
            generation_id_or_member_epoch: 5,
            member_id: "consumer-1-abc".into(),
            group_instance_id: if version >= 7 { Some("instance-1".into()) } else { None },
            retention_time_ms: if version <= 4 { 86_400_000 } else { -1 },
            topics: vec![
                OffsetCommitRequestTopic { name: "orders".into(), partitions: vec![partition(0, 42, Some("meta")), partition(3, 7, None)] },
                OffsetCommitRequestTopic { name: "empty".into(), partitions: vec![] },
            ],
        }
    }

    fn response(version: i16) -> OffsetCommitResponse {
        OffsetCommitResponse {
            throttle_time_ms: if version >= 3 { 4 } else { 0 },
            topics: vec![OffsetCommitResponseTopic {
                name: "orders".into(),
                partitions: vec![
                    OffsetCommitResponsePartition { partition_index: 0, error_code: 0 },
                    OffsetCommitResponsePartition { partition_index: 3, error_code: 22 },
                ],
            }],
        }
    }

    /// Every implemented version (2-9) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&OffsetCommitRequest::default(), version);
            round_trip(&OffsetCommitResponse::default(), version);
        }
    }

    /// A v2 request matches bytes assembled by hand from Kafka's spec.
    #[test]
    fn request_v2_known_bytes() {
        let m = OffsetCommitRequest {
            group_id: "g".into(),
            generation_id_or_member_epoch: 1,
            member_id: "m".into(),
            group_instance_id: None,
            retention_time_ms: -1,
            topics: vec![OffsetCommitRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetCommitRequestPartition {
                    partition_index: 2,
                    committed_offset: 258,
                    committed_leader_epoch: -1,
                    committed_metadata: None,
                }],
            }],
        };
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0, 1, b'g',                 // group_id "g"
            0, 0, 0, 1,                 // generation_id_or_member_epoch
            0, 1, b'm',                 // member_id "m"
            0xff, 0xff, 0xff, 0xff,     // retention_time_ms -1 (8 bytes)
            0xff, 0xff, 0xff, 0xff,
            0, 0, 0, 1,                 // topics: 1
            0, 1, b't',                 //   name "t"
            0, 0, 0, 1,                 //   partitions: 1
            0, 0, 0, 2,                 //     partition_index
            0, 0, 0, 0, 0, 0, 1, 2,     //     committed_offset 258
            0xff, 0xff,                 //     committed_metadata: null
        ];
        assert_known_bytes(&m, 2, bytes);
    }

    /// A v9 (flexible) request and response match hand-assembled bytes, and an
    /// unknown tag on a partition is skipped.
    #[test]
    fn v9_known_bytes() {
        let m = OffsetCommitRequest {
            group_id: "g".into(),
            generation_id_or_member_epoch: 3,
            member_id: "m".into(),
            group_instance_id: Some("i".into()),
            retention_time_ms: -1,
            topics: vec![OffsetCommitRequestTopic {
                name: "t".into(),
                partitions: vec![OffsetCommitRequestPartition {
                    partition_index: 0,
                    committed_offset: 5,
                    committed_leader_epoch: 2,
                    committed_metadata: Some("".into()),
                }],
            }],
        };
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            2, b'g',                    // group_id "g"
            0, 0, 0, 3,                 // generation_id_or_member_epoch
            2, b'm',                    // member_id "m"
            2, b'i',                    // group_instance_id "i"
            2,                          // topics: 1
            2, b't',                    //   name "t"
            2,                          //   partitions: 1
            0, 0, 0, 0,                 //     partition_index
            0, 0, 0, 0, 0, 0, 0, 5,     //     committed_offset
            0, 0, 0, 2,                 //     committed_leader_epoch
            1,                          //     committed_metadata ""
            0,                          //     partition tags
            0,                          //   topic tags
            0,                          // top-level tags
        ];
        assert_known_bytes(&m, 9, bytes);

        let mut unknown_tag = bytes[..bytes.len() - 3].to_vec();
        unknown_tag.extend_from_slice(&[1, 7, 1, 0xaa, 0, 0]);
        let mut r = Reader::new(Bytes::from(unknown_tag));
        assert_eq!(OffsetCommitRequest::decode(&mut r, 9).unwrap(), m);
        assert_eq!(r.remaining(), 0);

        let resp = OffsetCommitResponse {
            throttle_time_ms: 0,
            topics: vec![OffsetCommitResponseTopic {
                name: "t".into(),
                partitions: vec![OffsetCommitResponsePartition { partition_index: 1, error_code: 25 }],
            }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,                 // throttle_time_ms
            2, 2, b't',                 // topics: 1, name "t"
            2, 0, 0, 0, 1,              //   partitions: 1, partition_index 1
            0, 25, 0,                   //     error_code, partition tags
            0,                          //   topic tags
            0,                          // top-level tags
        ];
        assert_known_bytes(&resp, 9, resp_bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        #[rustfmt::skip]
        let v2: &[u8] = &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm', 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0];
        assert_eq!(decode_error::<OffsetCommitRequest>(v2, 2), DecodeError::NotEnoughBytes);
        let v9: &[u8] = &[2, b'g', 0, 0, 0, 1, 2, b'm', 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0];
        assert_eq!(decode_error::<OffsetCommitRequest>(v9, 9), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<OffsetCommitResponse>(&[0, 0, 0, 0, 2, 2, b't', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 8),
            DecodeError::NotEnoughBytes
        );
    }

    #[test]
    fn unsupported_versions_are_rejected() {
        assert_eq!(decode_error::<OffsetCommitRequest>(&[0, 1, b'g', 0, 0, 0, 0], 1), DecodeError::Invalid("unsupported api version"));
        assert_eq!(decode_error::<OffsetCommitResponse>(&[0, 0, 0, 0, 0, 0, 0, 0], 10), DecodeError::Invalid("unsupported api version"));
    }
}
