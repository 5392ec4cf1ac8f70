//! OffsetFetch (key 9): a group's committed offsets. Versions 1-9, flexible
//! from 6; v8+ asks about several groups at once (`groups`) instead of one
//! (`group_id`/`topics`).

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 1;
const VERSION_MAX: i16 = 9;

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetFetchRequest {
    /// v0-7.
    pub group_id: String,
    /// v0-7; `None` (v2+) asks for every topic the group committed. v0-1 cannot
    /// carry null, so there `None` is written as an empty array. Default: empty.
    pub topics: Option<Vec<OffsetFetchRequestTopic>>,
    /// v8+.
    pub groups: Vec<OffsetFetchRequestGroup>,
    /// v7+.
    pub require_stable: bool,
}

impl Default for OffsetFetchRequest {
    fn default() -> Self {
        OffsetFetchRequest { group_id: String::new(), topics: Some(Vec::new()), groups: Vec::new(), require_stable: false }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetFetchRequestTopic {
    pub name: String,
    pub partition_indexes: Vec<i32>,
}

/// One group of a v8+ request.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetFetchRequestGroup {
    pub group_id: String,
    /// v9+ (nullable).
    pub member_id: Option<String>,
    /// v9+. Default -1.
    pub member_epoch: i32,
    /// `None` asks for every topic the group committed. Default: empty.
    pub topics: Option<Vec<OffsetFetchRequestTopics>>,
}

impl Default for OffsetFetchRequestGroup {
    fn default() -> Self {
        OffsetFetchRequestGroup { group_id: String::new(), member_id: None, member_epoch: -1, topics: Some(Vec::new()) }
    }
}

/// A topic of a v8+ request's group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetFetchRequestTopics {
    pub name: String,
    pub partition_indexes: Vec<i32>,
}

impl Decode for OffsetFetchRequestTopic {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = OffsetFetchRequestTopic { name: r.string()?, partition_indexes: r.array(|r| r.i32())? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchRequestTopic {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.array(&self.partition_indexes, |w, p| w.i32(*p));
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchRequestTopics {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = OffsetFetchRequestTopics { name: r.string()?, partition_indexes: r.array(|r| r.i32())? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchRequestTopics {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.array(&self.partition_indexes, |w, p| w.i32(*p));
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchRequestGroup {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = OffsetFetchRequestGroup { group_id: r.string()?, ..Default::default() };
        if version >= 9 {
            m.member_id = r.nullable_string()?;
            m.member_epoch = r.i32()?;
        }
        m.topics = r.nullable_array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchRequestGroup {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.group_id);
        if version >= 9 {
            w.nullable_string(self.member_id.as_deref());
            w.i32(self.member_epoch);
        }
        w.nullable_array_of(self.topics.as_deref(), version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 6;
        let mut m = OffsetFetchRequest::default();
        if version <= 7 {
            m.group_id = r.string()?;
            m.topics = if version >= 2 { r.nullable_array_of(version)? } else { Some(r.array_of(version)?) };
        } else {
            m.groups = r.array_of(version)?;
        }
        if version >= 7 {
            m.require_stable = r.bool()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 6;
        if version <= 7 {
            w.string(&self.group_id);
            if version >= 2 {
                w.nullable_array_of(self.topics.as_deref(), version);
            } else {
                w.array_of(self.topics.as_deref().unwrap_or(&[]), version);
            }
        } else {
            w.array_of(&self.groups, version);
        }
        if version >= 7 {
            w.bool(self.require_stable);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetFetchResponse {
    /// v3+.
    pub throttle_time_ms: i32,
    /// v0-7.
    pub topics: Vec<OffsetFetchResponseTopic>,
    /// v2-7: the top-level error.
    pub error_code: i16,
    /// v8+.
    pub groups: Vec<OffsetFetchResponseGroup>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetFetchResponseTopic {
    pub name: String,
    pub partitions: Vec<OffsetFetchResponsePartition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetFetchResponsePartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// v5-7. Default -1.
    pub committed_leader_epoch: i32,
    /// Nullable.
    pub metadata: Option<String>,
    pub error_code: i16,
}

impl Default for OffsetFetchResponsePartition {
    fn default() -> Self {
        OffsetFetchResponsePartition { partition_index: 0, committed_offset: 0, committed_leader_epoch: -1, metadata: None, error_code: 0 }
    }
}

/// One group of a v8+ response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetFetchResponseGroup {
    pub group_id: String,
    pub topics: Vec<OffsetFetchResponseTopics>,
    pub error_code: i16,
}

/// A topic of a v8+ response's group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetFetchResponseTopics {
    pub name: String,
    pub partitions: Vec<OffsetFetchResponsePartitions>,
}

/// A partition of a v8+ response's group.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetFetchResponsePartitions {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// Default -1.
    pub committed_leader_epoch: i32,
    /// Nullable.
    pub metadata: Option<String>,
    pub error_code: i16,
}

impl Default for OffsetFetchResponsePartitions {
    fn default() -> Self {
        OffsetFetchResponsePartitions { partition_index: 0, committed_offset: 0, committed_leader_epoch: -1, metadata: None, error_code: 0 }
    }
}

impl Decode for OffsetFetchResponsePartition {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = OffsetFetchResponsePartition { partition_index: r.i32()?, committed_offset: r.i64()?, ..Default::default() };
        if (5..=7).contains(&version) {
            m.committed_leader_epoch = r.i32()?;
        }
        m.metadata = r.nullable_string()?;
        m.error_code = r.i16()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchResponsePartition {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition_index);
        w.i64(self.committed_offset);
        if (5..=7).contains(&version) {
            w.i32(self.committed_leader_epoch);
        }
        w.nullable_string(self.metadata.as_deref());
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchResponseTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetFetchResponseTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchResponseTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchResponsePartitions {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = OffsetFetchResponsePartitions {
            partition_index: r.i32()?,
            committed_offset: r.i64()?,
            committed_leader_epoch: r.i32()?,
            metadata: r.nullable_string()?,
            error_code: r.i16()?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchResponsePartitions {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.i64(self.committed_offset);
        w.i32(self.committed_leader_epoch);
        w.nullable_string(self.metadata.as_deref());
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchResponseTopics {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetFetchResponseTopics { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchResponseTopics {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchResponseGroup {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetFetchResponseGroup { group_id: r.string()?, topics: r.array_of(version)?, error_code: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchResponseGroup {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.group_id);
        w.array_of(&self.topics, version);
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetFetchResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 6;
        let mut m = OffsetFetchResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32()?;
        }
        if version <= 7 {
            m.topics = r.array_of(version)?;
            if version >= 2 {
                m.error_code = r.i16()?;
            }
        } else {
            m.groups = r.array_of(version)?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetFetchResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 6;
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        if version <= 7 {
            w.array_of(&self.topics, version);
            if version >= 2 {
                w.i16(self.error_code);
            }
        } else {
            w.array_of(&self.groups, version);
        }
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    fn requests(version: i16) -> Vec<OffsetFetchRequest> {
        let require_stable = version >= 7;
        if version <= 7 {
            let some = OffsetFetchRequest {
                group_id: "payments".into(),
                topics: Some(vec![
                    OffsetFetchRequestTopic { name: "orders".into(), partition_indexes: vec![0, 1, 5] },
                    OffsetFetchRequestTopic { name: "empty".into(), partition_indexes: vec![] },
                ]),
                require_stable,
                ..Default::default()
            };
            let mut out = vec![some];
            if version >= 2 {
                out.push(OffsetFetchRequest { group_id: "all".into(), topics: None, require_stable, ..Default::default() });
            }
            out
        } else {
            let member_id = if version >= 9 { Some("member-1".into()) } else { None };
            let member_epoch = if version >= 9 { 12 } else { -1 };
            vec![OffsetFetchRequest {
                group_id: String::new(),
                topics: Some(Vec::new()),
                groups: vec![
                    OffsetFetchRequestGroup {
                        group_id: "payments".into(),
                        member_id,
                        member_epoch,
                        topics: Some(vec![OffsetFetchRequestTopics { name: "orders".into(), partition_indexes: vec![2, 3] }]),
                    },
                    OffsetFetchRequestGroup { group_id: "all".into(), topics: None, ..Default::default() },
                ],
                require_stable,
            }]
        }
    }

    fn response(version: i16) -> OffsetFetchResponse {
        let throttle_time_ms = if version >= 3 { 3 } else { 0 };
        if version <= 7 {
            OffsetFetchResponse {
                throttle_time_ms,
                topics: vec![OffsetFetchResponseTopic {
                    name: "orders".into(),
                    partitions: vec![
                        OffsetFetchResponsePartition {
                            partition_index: 0,
                            committed_offset: 42,
                            committed_leader_epoch: if version >= 5 { 7 } else { -1 },
                            metadata: Some("meta".into()),
                            error_code: 0,
                        },
                        OffsetFetchResponsePartition {
                            partition_index: 1,
                            committed_offset: -1,
                            metadata: None,
                            error_code: 3,
                            ..Default::default()
                        },
                    ],
                }],
                error_code: if version >= 2 { 14 } else { 0 },
                groups: Vec::new(),
            }
        } else {
            OffsetFetchResponse {
                throttle_time_ms,
                topics: Vec::new(),
                error_code: 0,
                groups: vec![
                    OffsetFetchResponseGroup {
                        group_id: "payments".into(),
                        topics: vec![OffsetFetchResponseTopics {
                            name: "orders".into(),
                            partitions: vec![
                                OffsetFetchResponsePartitions {
                                    partition_index: 2,
                                    committed_offset: 100,
                                    committed_leader_epoch: 4,
                                    metadata: Some("m".into()),
                                    error_code: 0,
                                },
                                OffsetFetchResponsePartitions {
                                    partition_index: 3,
                                    committed_offset: -1,
                                    error_code: 3,
                                    ..Default::default()
                                },
                            ],
                        }],
                        error_code: 0,
                    },
                    OffsetFetchResponseGroup { group_id: "gone".into(), topics: vec![], error_code: 69 },
                ],
            }
        }
    }

    /// Every implemented version (1-9) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            for req in requests(version) {
                round_trip(&req, version);
            }
            round_trip(&response(version), version);
            round_trip(&OffsetFetchRequest::default(), version);
            round_trip(&OffsetFetchResponse::default(), version);
        }
    }

    /// v1 cannot carry null topics: `None` is written as an empty array.
    #[test]
    fn v1_writes_null_topics_as_empty() {
        let m = OffsetFetchRequest { group_id: "g".into(), topics: None, ..Default::default() };
        let mut w = Writer::new();
        m.encode(&mut w, 1);
        assert_eq!(&w.finish()[..], &[0, 1, b'g', 0, 0, 0, 0]);
    }

    /// A v2 request (null topics) and a v5 response match bytes assembled by hand.
    #[test]
    fn classic_known_bytes() {
        let req = OffsetFetchRequest { group_id: "g".into(), topics: None, ..Default::default() };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',                 // group_id "g"
            0xff, 0xff, 0xff, 0xff,     // topics: null (all topics)
        ];
        assert_known_bytes(&req, 2, req_bytes);

        let req = OffsetFetchRequest {
            group_id: "g".into(),
            topics: Some(vec![OffsetFetchRequestTopic { name: "t".into(), partition_indexes: vec![4] }]),
            ..Default::default()
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',                 // group_id "g"
            0, 0, 0, 1,                 // topics: 1
            0, 1, b't',                 //   name "t"
            0, 0, 0, 1, 0, 0, 0, 4,     //   partition_indexes [4]
        ];
        assert_known_bytes(&req, 1, req_bytes);

        let resp = OffsetFetchResponse {
            throttle_time_ms: 2,
            topics: vec![OffsetFetchResponseTopic {
                name: "t".into(),
                partitions: vec![OffsetFetchResponsePartition {
                    partition_index: 4,
                    committed_offset: 258,
                    committed_leader_epoch: 1,
                    metadata: None,
                    error_code: 0,
                }],
            }],
            error_code: 0,
            groups: Vec::new(),
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 2,                 // throttle_time_ms
            0, 0, 0, 1,                 // topics: 1
            0, 1, b't',                 //   name "t"
            0, 0, 0, 1,                 //   partitions: 1
            0, 0, 0, 4,                 //     partition_index
            0, 0, 0, 0, 0, 0, 1, 2,     //     committed_offset 258
            0, 0, 0, 1,                 //     committed_leader_epoch
            0xff, 0xff,                 //     metadata: null
            0, 0,                       //     error_code
            0, 0,                       // error_code
        ];
        assert_known_bytes(&resp, 5, resp_bytes);
    }

    /// A v7 request and a v9 request and response (all flexible) match bytes
    /// assembled by hand; an unknown tag on a group is skipped.
    #[test]
    fn flexible_known_bytes() {
        let req = OffsetFetchRequest { group_id: "g".into(), topics: None, require_stable: true, ..Default::default() };
        #[rustfmt::skip]
        let v7: &[u8] = &[
            2, b'g',                    // group_id "g"
            0,                          // topics: null
            1,                          // require_stable
            0,                          // top-level tags
        ];
        assert_known_bytes(&req, 7, v7);

        let req = OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: "g".into(),
                member_id: Some("m".into()),
                member_epoch: 5,
                topics: Some(vec![OffsetFetchRequestTopics { name: "t".into(), partition_indexes: vec![0] }]),
            }],
            require_stable: false,
            ..Default::default()
        };
        #[rustfmt::skip]
        let v9: &[u8] = &[
            2,                          // groups: 1
            2, b'g',                    //   group_id "g"
            2, b'm',                    //   member_id "m"
            0, 0, 0, 5,                 //   member_epoch
            2,                          //   topics: 1
            2, b't',                    //     name "t"
            2, 0, 0, 0, 0,              //     partition_indexes [0]
            0,                          //     topic tags
            0,                          //   group tags
            0,                          // require_stable
            0,                          // top-level tags
        ];
        assert_known_bytes(&req, 9, v9);

        let resp = OffsetFetchResponse {
            throttle_time_ms: 0,
            groups: vec![OffsetFetchResponseGroup {
                group_id: "g".into(),
                topics: vec![OffsetFetchResponseTopics {
                    name: "t".into(),
                    partitions: vec![OffsetFetchResponsePartitions {
                        partition_index: 0,
                        committed_offset: 9,
                        committed_leader_epoch: -1,
                        metadata: Some("".into()),
                        error_code: 0,
                    }],
                }],
                error_code: 16,
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let v9: &[u8] = &[
            0, 0, 0, 0,                 // throttle_time_ms
            2,                          // groups: 1
            2, b'g',                    //   group_id "g"
            2,                          //   topics: 1
            2, b't',                    //     name "t"
            2,                          //     partitions: 1
            0, 0, 0, 0,                 //       partition_index
            0, 0, 0, 0, 0, 0, 0, 9,     //       committed_offset
            0xff, 0xff, 0xff, 0xff,     //       committed_leader_epoch -1
            1,                          //       metadata ""
            0, 0,                       //       error_code
            0,                          //       partition tags
            0,                          //     topic tags
            0, 16,                      //   error_code
            0,                          //   group tags
            0,                          // top-level tags
        ];
        assert_known_bytes(&resp, 9, v9);

        let mut unknown_tag = v9[..v9.len() - 2].to_vec();
        unknown_tag.extend_from_slice(&[1, 3, 2, 0xaa, 0xbb, 0]);
        let mut r = Reader::new(Bytes::from(unknown_tag));
        assert_eq!(OffsetFetchResponse::decode(&mut r, 9).unwrap(), resp);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<OffsetFetchRequest>(&[0, 1, b'g', 0x7f, 0xff, 0xff, 0xff, 0], 1), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<OffsetFetchRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 8), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<OffsetFetchRequest>(&[2, b'g', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 6), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<OffsetFetchResponse>(&[0, 0, 0, 0, 2, 2, b'g', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 8),
            DecodeError::NotEnoughBytes
        );
    }

    #[test]
    fn unsupported_versions_are_rejected() {
        assert_eq!(decode_error::<OffsetFetchRequest>(&[0, 1, b'g', 0, 0, 0, 0], 0), DecodeError::Invalid("unsupported api version"));
    }
}
