//! CreatePartitions (key 37): raise topics' partition counts.
//! Versions 0-3, flexible from 2.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsRequest {
    pub topics: Vec<CreatePartitionsTopic>,
    pub timeout_ms: i32,
    pub validate_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsTopic {
    pub name: String,
    /// The new total partition count.
    pub count: i32,
    /// One entry per new partition, or null for automatic assignment.
    pub assignments: Option<Vec<CreatePartitionsAssignment>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsAssignment {
    pub broker_ids: Vec<i32>,
}

impl Decode for CreatePartitionsAssignment {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = CreatePartitionsAssignment { broker_ids: r.array(|r| r.i32())? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreatePartitionsAssignment {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.array(&self.broker_ids, |w, id| w.i32(*id));
        w.empty_tagged_fields();
    }
}

impl Decode for CreatePartitionsTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = CreatePartitionsTopic { name: r.string()?, count: r.i32()?, assignments: r.nullable_array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreatePartitionsTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.i32(self.count);
        w.nullable_array_of(self.assignments.as_deref(), version);
        w.empty_tagged_fields();
    }
}

impl Decode for CreatePartitionsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m = CreatePartitionsRequest { topics: r.array_of(version)?, timeout_ms: r.i32()?, validate_only: r.bool()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreatePartitionsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.array_of(&self.topics, version);
        w.i32(self.timeout_ms);
        w.bool(self.validate_only);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<CreatePartitionsTopicResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CreatePartitionsTopicResult {
    pub name: String,
    pub error_code: i16,
    pub error_message: Option<String>,
}

impl Decode for CreatePartitionsTopicResult {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = CreatePartitionsTopicResult { name: r.string()?, error_code: r.i16()?, error_message: r.nullable_string()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreatePartitionsTopicResult {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.i16(self.error_code);
        w.nullable_string(self.error_message.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for CreatePartitionsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m = CreatePartitionsResponse { throttle_time_ms: r.i32()?, results: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for CreatePartitionsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.i32(self.throttle_time_ms);
        w.array_of(&self.results, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    /// Every version (0-3) round-trips every field.
    #[test]
    fn round_trips_every_version() {
        let req = CreatePartitionsRequest {
            topics: vec![
                CreatePartitionsTopic {
                    name: "orders".into(),
                    count: 5,
                    assignments: Some(vec![
                        CreatePartitionsAssignment { broker_ids: vec![1, 2] },
                        CreatePartitionsAssignment { broker_ids: vec![] },
                    ]),
                },
                CreatePartitionsTopic { name: "auto".into(), count: 8, assignments: None },
            ],
            timeout_ms: 2500,
            validate_only: true,
        };
        let resp = CreatePartitionsResponse {
            throttle_time_ms: 3,
            results: vec![
                CreatePartitionsTopicResult { name: "orders".into(), error_code: 0, error_message: None },
                CreatePartitionsTopicResult { name: "auto".into(), error_code: 37, error_message: Some("too few".into()) },
            ],
        };
        for version in 0..=3 {
            round_trip(&req, version);
            round_trip(&resp, version);
        }
    }

    /// A v0 request and a v3 request and response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: "t".into(),
                count: 2,
                assignments: Some(vec![CreatePartitionsAssignment { broker_ids: vec![1] }]),
            }],
            timeout_ms: 9,
            validate_only: false,
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2,
            0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, // assignments: [[1]]
            0, 0, 0, 9, 0,
        ];
        #[rustfmt::skip]
        let v3: &[u8] = &[
            2, 2, b't', 0, 0, 0, 2,
            2, 2, 0, 0, 0, 1, 0, // assignments: [[1]], assignment tags
            0,                   // topic tags
            0, 0, 0, 9, 0, 0,
        ];
        for (version, bytes) in [(0, v0), (3, v3)] {
            assert_known_bytes(&req, version, bytes);
        }

        let resp = CreatePartitionsResponse {
            throttle_time_ms: 0,
            results: vec![CreatePartitionsTopicResult { name: "t".into(), error_code: 0, error_message: None }],
        };
        let bytes: &[u8] = &[0, 0, 0, 0, 2, 2, b't', 0, 0, 0, 0, 0];
        assert_known_bytes(&resp, 3, bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<CreatePartitionsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 1), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<CreatePartitionsRequest>(&[2, 2, b't', 0, 0, 0, 2, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 2),
            DecodeError::NotEnoughBytes
        );
        assert_eq!(decode_error::<CreatePartitionsResponse>(&[0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0], 0), DecodeError::NotEnoughBytes);
    }
}
