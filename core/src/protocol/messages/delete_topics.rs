//! DeleteTopics (key 20): delete topics by name (v0-5) or by name or id (v6+).
//! Versions 1-6, flexible from 4.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};
use crate::types::TopicId;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteTopicsRequest {
    /// v6+: each topic by name or id.
    pub topics: Vec<DeleteTopicState>,
    /// v0-5: the names of the topics to delete.
    pub topic_names: Vec<String>,
    pub timeout_ms: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteTopicState {
    /// Null when the topic is named by id.
    pub name: Option<String>,
    pub topic_id: TopicId,
}

impl Decode for DeleteTopicState {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DeleteTopicState { name: r.nullable_string()?, topic_id: r.uuid()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteTopicState {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.nullable_string(self.name.as_deref());
        w.uuid(self.topic_id);
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteTopicsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 4;
        let mut m = DeleteTopicsRequest::default();
        if version >= 6 {
            m.topics = r.array_of(version)?;
        } else {
            m.topic_names = r.array(|r| r.string())?;
        }
        m.timeout_ms = r.i32()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteTopicsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        if version >= 6 {
            w.array_of(&self.topics, version);
        } else {
            w.array(&self.topic_names, |w, n| w.string(n));
        }
        w.i32(self.timeout_ms);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteTopicsResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub responses: Vec<DeletableTopicResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeletableTopicResult {
    /// Nullable in v6+; before v6 a `None` is written as the empty string.
    pub name: Option<String>,
    /// v6+.
    pub topic_id: TopicId,
    pub error_code: i16,
    /// v5+.
    pub error_message: Option<String>,
}

impl Decode for DeletableTopicResult {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let name = if version >= 6 { r.nullable_string()? } else { Some(r.string()?) };
        let mut m = DeletableTopicResult { name, ..Default::default() };
        if version >= 6 {
            m.topic_id = r.uuid()?;
        }
        m.error_code = r.i16()?;
        if version >= 5 {
            m.error_message = r.nullable_string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeletableTopicResult {
    fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 6 {
            w.nullable_string(self.name.as_deref());
            w.uuid(self.topic_id);
        } else {
            w.string(self.name.as_deref().unwrap_or(""));
        }
        w.i16(self.error_code);
        if version >= 5 {
            w.nullable_string(self.error_message.as_deref());
        }
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteTopicsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 4;
        let mut m = DeleteTopicsResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.responses = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteTopicsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.responses, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    fn request(version: i16) -> DeleteTopicsRequest {
        let mut m = DeleteTopicsRequest { timeout_ms: 30_000, ..Default::default() };
        if version >= 6 {
            m.topics = vec![
                DeleteTopicState { name: Some("orders".into()), topic_id: TopicId::ZERO },
                DeleteTopicState { name: None, topic_id: TopicId([3; 16]) },
            ];
        } else {
            m.topic_names = vec!["orders".into(), "payments".into()];
        }
        m
    }

    fn response(version: i16) -> DeleteTopicsResponse {
        let mut a = DeletableTopicResult { name: Some("orders".into()), error_code: 0, ..Default::default() };
        let mut b = DeletableTopicResult { name: Some("x".into()), error_code: 3, ..Default::default() };
        if version >= 5 {
            b.error_message = Some("unknown topic".into());
        }
        if version >= 6 {
            a.topic_id = TopicId([1; 16]);
            b.name = None;
            b.topic_id = TopicId([2; 16]);
        }
        DeleteTopicsResponse { throttle_time_ms: if version >= 1 { 9 } else { 0 }, responses: vec![a, b] }
    }

    /// Every implemented version (1-6) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in 1..=6 {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
        }
    }

    /// v1 and v6 requests and a v6 response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let v1 = DeleteTopicsRequest { topic_names: vec!["ab".into()], timeout_ms: 5, ..Default::default() };
        let v1_bytes: &[u8] = &[0, 0, 0, 1, 0, 2, b'a', b'b', 0, 0, 0, 5];
        assert_known_bytes(&v1, 1, v1_bytes);

        let v6 = DeleteTopicsRequest {
            topics: vec![DeleteTopicState { name: None, topic_id: TopicId([9; 16]) }],
            timeout_ms: 5,
            ..Default::default()
        };
        let mut v6_bytes = vec![2, 0];
        v6_bytes.extend_from_slice(&[9; 16]);
        v6_bytes.extend_from_slice(&[0, 0, 0, 0, 5, 0]);
        assert_known_bytes(&v6, 6, &v6_bytes[..]);

        let resp = DeleteTopicsResponse {
            throttle_time_ms: 1,
            responses: vec![DeletableTopicResult {
                name: Some("t".into()),
                topic_id: TopicId([4; 16]),
                error_code: 3,
                error_message: None,
            }],
        };
        let mut resp_bytes = vec![0, 0, 0, 1, 2, 2, b't'];
        resp_bytes.extend_from_slice(&[4; 16]);
        resp_bytes.extend_from_slice(&[0, 3, 0, 0, 0]);
        assert_known_bytes(&resp, 6, &resp_bytes[..]);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<DeleteTopicsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 3), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<DeleteTopicsRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 6), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<DeleteTopicsResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 4), DecodeError::NotEnoughBytes);
    }
}
