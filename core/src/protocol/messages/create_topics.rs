//! CreateTopics (key 19): create topics with a partition count and replication
//! factor or a manual assignment. Versions 2-7, flexible from 5.

use bytes::Bytes;

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};
use crate::types::TopicId;

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTopicsRequest {
    pub topics: Vec<CreatableTopic>,
    /// Kafka's default: 60000.
    pub timeout_ms: i32,
    /// v1+.
    pub validate_only: bool,
}

impl Default for CreateTopicsRequest {
    fn default() -> Self {
        CreateTopicsRequest { topics: Vec::new(), timeout_ms: 60_000, validate_only: false }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatableTopic {
    pub name: String,
    /// -1 when `assignments` is given or the broker default applies.
    pub num_partitions: i32,
    /// -1 when `assignments` is given or the broker default applies.
    pub replication_factor: i16,
    pub assignments: Vec<CreatableReplicaAssignment>,
    pub configs: Vec<CreatableTopicConfig>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatableReplicaAssignment {
    pub partition_index: i32,
    pub broker_ids: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatableTopicConfig {
    pub name: String,
    pub value: Option<String>,
}

impl Decode for CreatableReplicaAssignment {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let partition_index = r.i32()?;
        let broker_ids = r.array(|r| r.i32())?;
        r.skip_tagged_fields()?;
        Ok(CreatableReplicaAssignment { partition_index, broker_ids })
    }
}

impl Encode for CreatableReplicaAssignment {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.partition_index);
        w.array(&self.broker_ids, |w, id| w.i32(*id));
        w.empty_tagged_fields();
    }
}

impl Decode for CreatableTopicConfig {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let name = r.string()?;
        let value = r.nullable_string()?;
        r.skip_tagged_fields()?;
        Ok(CreatableTopicConfig { name, value })
    }
}

impl Encode for CreatableTopicConfig {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.nullable_string(self.value.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for CreatableTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let name = r.string()?;
        let num_partitions = r.i32()?;
        let replication_factor = r.i16()?;
        let assignments = r.array_of(version)?;
        let configs = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(CreatableTopic { name, num_partitions, replication_factor, assignments, configs })
    }
}

impl Encode for CreatableTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.i32(self.num_partitions);
        w.i16(self.replication_factor);
        w.array_of(&self.assignments, version);
        w.array_of(&self.configs, version);
        w.empty_tagged_fields();
    }
}

impl Decode for CreateTopicsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 5;
        let mut m = CreateTopicsRequest { topics: r.array_of(version)?, timeout_ms: r.i32()?, ..Default::default() };
        if version >= 1 {
            m.validate_only = r.bool()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreateTopicsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 5;
        w.array_of(&self.topics, version);
        w.i32(self.timeout_ms);
        if version >= 1 {
            w.bool(self.validate_only);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreateTopicsResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub topics: Vec<CreatableTopicResult>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreatableTopicResult {
    pub name: String,
    /// v7+.
    pub topic_id: TopicId,
    pub error_code: i16,
    /// v1+.
    pub error_message: Option<String>,
    /// v5+, tagged field 0; written only when non-zero.
    pub topic_config_error_code: i16,
    /// v5+; Kafka's default -1.
    pub num_partitions: i32,
    /// v5+; Kafka's default -1.
    pub replication_factor: i16,
    /// v5+ (nullable); Kafka's default is an empty list.
    pub configs: Option<Vec<CreatableTopicConfigs>>,
}

impl Default for CreatableTopicResult {
    fn default() -> Self {
        CreatableTopicResult {
            name: String::new(),
            topic_id: TopicId::ZERO,
            error_code: 0,
            error_message: None,
            topic_config_error_code: 0,
            num_partitions: -1,
            replication_factor: -1,
            configs: Some(Vec::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreatableTopicConfigs {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    /// Kafka's default -1.
    pub config_source: i8,
    pub is_sensitive: bool,
}

impl Default for CreatableTopicConfigs {
    fn default() -> Self {
        CreatableTopicConfigs { name: String::new(), value: None, read_only: false, config_source: -1, is_sensitive: false }
    }
}

impl Decode for CreatableTopicConfigs {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = CreatableTopicConfigs {
            name: r.string()?,
            value: r.nullable_string()?,
            read_only: r.bool()?,
            config_source: r.i8()?,
            is_sensitive: r.bool()?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreatableTopicConfigs {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.nullable_string(self.value.as_deref());
        w.bool(self.read_only);
        w.i8(self.config_source);
        w.bool(self.is_sensitive);
        w.empty_tagged_fields();
    }
}

/// Tag of `CreatableTopicResult::topic_config_error_code`.
const TAG_TOPIC_CONFIG_ERROR_CODE: u32 = 0;

impl Decode for CreatableTopicResult {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = CreatableTopicResult { name: r.string()?, ..Default::default() };
        if version >= 7 {
            m.topic_id = r.uuid()?;
        }
        m.error_code = r.i16()?;
        if version >= 1 {
            m.error_message = r.nullable_string()?;
        }
        if version >= 5 {
            m.num_partitions = r.i32()?;
            m.replication_factor = r.i16()?;
            m.configs = r.nullable_array_of(version)?;
        }
        for (tag, data) in r.tagged_fields()? {
            if tag == TAG_TOPIC_CONFIG_ERROR_CODE {
                let mut t = Reader::new(data);
                t.flexible = true;
                m.topic_config_error_code = t.i16()?;
            }
        }
        Ok(m)
    }
}

impl Encode for CreatableTopicResult {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        if version >= 7 {
            w.uuid(self.topic_id);
        }
        w.i16(self.error_code);
        if version >= 1 {
            w.nullable_string(self.error_message.as_deref());
        }
        if version >= 5 {
            w.i32(self.num_partitions);
            w.i16(self.replication_factor);
            w.nullable_array_of(self.configs.as_deref(), version);
        }
        let mut tagged: Vec<(u32, Bytes)> = Vec::new();
        if version >= 5 && self.topic_config_error_code != 0 {
            let mut t = Writer::new();
            t.flexible = true;
            t.i16(self.topic_config_error_code);
            tagged.push((TAG_TOPIC_CONFIG_ERROR_CODE, t.finish().freeze()));
        }
        w.tagged_fields(&tagged);
    }
}

impl Decode for CreateTopicsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 5;
        let mut m = CreateTopicsResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreateTopicsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 5;
        if version >= 2 {
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

    fn request() -> CreateTopicsRequest {
        CreateTopicsRequest {
            topics: vec![
                CreatableTopic {
                    name: "orders".into(),
                    num_partitions: -1,
                    replication_factor: -1,
                    assignments: vec![
                        CreatableReplicaAssignment { partition_index: 0, broker_ids: vec![1, 2, 3] },
                        CreatableReplicaAssignment { partition_index: 1, broker_ids: vec![] },
                    ],
                    configs: vec![
                        CreatableTopicConfig { name: "cleanup.policy".into(), value: Some("compact".into()) },
                        CreatableTopicConfig { name: "retention.ms".into(), value: None },
                    ],
                },
                CreatableTopic { name: "b".into(), num_partitions: 3, replication_factor: 2, ..Default::default() },
            ],
            timeout_ms: 1234,
            validate_only: true,
        }
    }

    fn response(version: i16) -> CreateTopicsResponse {
        let mut ok = CreatableTopicResult { name: "orders".into(), error_code: 0, error_message: None, ..Default::default() };
        let mut failed =
            CreatableTopicResult { name: "bad".into(), error_code: 36, error_message: Some("topic exists".into()), ..Default::default() };
        if version >= 5 {
            ok.topic_config_error_code = 29;
            ok.num_partitions = 3;
            ok.replication_factor = 2;
            ok.configs = Some(vec![
                CreatableTopicConfigs {
                    name: "cleanup.policy".into(),
                    value: Some("delete".into()),
                    read_only: true,
                    config_source: 5,
                    is_sensitive: false,
                },
                CreatableTopicConfigs { name: "secret".into(), value: None, read_only: false, config_source: -1, is_sensitive: true },
            ]);
            failed.configs = None;
        }
        if version >= 7 {
            ok.topic_id = TopicId([7; 16]);
        }
        CreateTopicsResponse { throttle_time_ms: 5, topics: vec![ok, failed] }
    }

    /// Every implemented version (2-7) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in 2..=7 {
            round_trip(&request(), version);
            round_trip(&response(version), version);
        }
    }

    /// A v4 (classic) request matches bytes assembled by hand from Kafka's spec.
    #[test]
    fn request_v4_known_bytes() {
        let m = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "t".into(),
                num_partitions: 2,
                replication_factor: 1,
                assignments: vec![CreatableReplicaAssignment { partition_index: 0, broker_ids: vec![1] }],
                configs: vec![CreatableTopicConfig { name: "k".into(), value: None }],
            }],
            timeout_ms: 1000,
            validate_only: true,
        };
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0, 0, 0, 1,             // topics: 1
            0, 1, b't',             // name
            0, 0, 0, 2,             // num_partitions
            0, 1,                   // replication_factor
            0, 0, 0, 1,             // assignments: 1
            0, 0, 0, 0,             //   partition_index
            0, 0, 0, 1, 0, 0, 0, 1, //   broker_ids [1]
            0, 0, 0, 1,             // configs: 1
            0, 1, b'k',             //   name
            0xff, 0xff,             //   value: null
            0, 0, 0x03, 0xe8,       // timeout_ms 1000
            1,                      // validate_only
        ];
        assert_known_bytes(&m, 4, bytes);
    }

    /// A v7 (flexible) response with the tagged TopicConfigErrorCode matches
    /// hand-assembled bytes, and an unknown tag next to it is skipped.
    #[test]
    fn response_v7_known_bytes_with_tagged_field() {
        let m = CreateTopicsResponse {
            throttle_time_ms: 0,
            topics: vec![CreatableTopicResult {
                name: "t".into(),
                topic_id: TopicId([0xab; 16]),
                error_code: 0,
                error_message: None,
                topic_config_error_code: 29,
                num_partitions: 1,
                replication_factor: 1,
                configs: None,
            }],
        };
        let mut bytes: Vec<u8> = vec![0, 0, 0, 0, 2, 2, b't'];
        bytes.extend_from_slice(&[0xab; 16]);
        #[rustfmt::skip]
        bytes.extend_from_slice(&[
            0, 0,          // error_code
            0,             // error_message: null
            0, 0, 0, 1,    // num_partitions
            0, 1,          // replication_factor
            0,             // configs: null
            1, 0, 2, 0, 29, // tagged: 1 field, tag 0, size 2, value 29
            0,             // top-level tagged fields
        ]);
        assert_known_bytes(&m, 7, &bytes[..]);

        // The same with an unknown tag 9 (3 bytes) after tag 0.
        let n = bytes.len();
        let mut with_unknown = bytes[..n - 6].to_vec();
        with_unknown.extend_from_slice(&[2, 0, 2, 0, 29, 9, 3, 1, 2, 3, 0]);
        let mut r = Reader::new(Bytes::from(with_unknown));
        assert_eq!(CreateTopicsResponse::decode(&mut r, 7).unwrap(), m);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile topic count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<CreateTopicsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 4), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<CreateTopicsRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 5), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<CreateTopicsResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 6), DecodeError::NotEnoughBytes);
    }
}
