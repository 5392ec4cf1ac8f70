//! IncrementalAlterConfigs (key 44): set, delete, append to or subtract from
//! individual configuration keys. Versions 0-1, flexible from 1.
//!
//! Kafka names the nested types `AlterConfigsResource`/`AlterableConfig`, like
//! AlterConfigs; here they carry an `Incremental` prefix to keep the two apart.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

/// `IncrementalAlterableConfig::config_operation` values.
pub mod op {
    pub const SET: i8 = 0;
    pub const DELETE: i8 = 1;
    pub const APPEND: i8 = 2;
    pub const SUBTRACT: i8 = 3;
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterConfigsRequest {
    pub resources: Vec<IncrementalAlterConfigsResource>,
    pub validate_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterConfigsResource {
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<IncrementalAlterableConfig>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterableConfig {
    pub name: String,
    /// One of [`op`].
    pub config_operation: i8,
    pub value: Option<String>,
}

impl Decode for IncrementalAlterableConfig {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = IncrementalAlterableConfig { name: r.string()?, config_operation: r.i8()?, value: r.nullable_string()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for IncrementalAlterableConfig {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.i8(self.config_operation);
        w.nullable_string(self.value.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for IncrementalAlterConfigsResource {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = IncrementalAlterConfigsResource { resource_type: r.i8()?, resource_name: r.string()?, configs: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for IncrementalAlterConfigsResource {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i8(self.resource_type);
        w.string(&self.resource_name);
        w.array_of(&self.configs, version);
        w.empty_tagged_fields();
    }
}

impl Decode for IncrementalAlterConfigsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 1;
        let m = IncrementalAlterConfigsRequest { resources: r.array_of(version)?, validate_only: r.bool()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for IncrementalAlterConfigsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 1;
        w.array_of(&self.resources, version);
        w.bool(self.validate_only);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterConfigsResponse {
    pub throttle_time_ms: i32,
    pub responses: Vec<IncrementalAlterConfigsResourceResponse>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncrementalAlterConfigsResourceResponse {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
}

impl Decode for IncrementalAlterConfigsResourceResponse {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = IncrementalAlterConfigsResourceResponse {
            error_code: r.i16()?,
            error_message: r.nullable_string()?,
            resource_type: r.i8()?,
            resource_name: r.string()?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for IncrementalAlterConfigsResourceResponse {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i16(self.error_code);
        w.nullable_string(self.error_message.as_deref());
        w.i8(self.resource_type);
        w.string(&self.resource_name);
        w.empty_tagged_fields();
    }
}

impl Decode for IncrementalAlterConfigsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 1;
        let m = IncrementalAlterConfigsResponse { throttle_time_ms: r.i32()?, responses: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for IncrementalAlterConfigsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 1;
        w.i32(self.throttle_time_ms);
        w.array_of(&self.responses, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    /// Every version (0-1) round-trips every field.
    #[test]
    fn round_trips_every_version() {
        let req = IncrementalAlterConfigsRequest {
            resources: vec![
                IncrementalAlterConfigsResource {
                    resource_type: 2,
                    resource_name: "orders".into(),
                    configs: vec![
                        IncrementalAlterableConfig { name: "retention.ms".into(), config_operation: op::SET, value: Some("60000".into()) },
                        IncrementalAlterableConfig { name: "cleanup.policy".into(), config_operation: op::DELETE, value: None },
                        IncrementalAlterableConfig {
                            name: "follower.replication.throttled.replicas".into(),
                            config_operation: op::APPEND,
                            value: Some("0:1".into()),
                        },
                    ],
                },
                IncrementalAlterConfigsResource { resource_type: 4, resource_name: "".into(), configs: vec![] },
            ],
            validate_only: true,
        };
        let resp = IncrementalAlterConfigsResponse {
            throttle_time_ms: 2,
            responses: vec![
                IncrementalAlterConfigsResourceResponse {
                    error_code: 0,
                    error_message: None,
                    resource_type: 2,
                    resource_name: "orders".into(),
                },
                IncrementalAlterConfigsResourceResponse {
                    error_code: 42,
                    error_message: Some("invalid request".into()),
                    resource_type: 4,
                    resource_name: "".into(),
                },
            ],
        };
        for version in 0..=1 {
            round_trip(&req, version);
            round_trip(&resp, version);
        }
    }

    /// v0 and v1 requests and a v1 response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = IncrementalAlterConfigsRequest {
            resources: vec![IncrementalAlterConfigsResource {
                resource_type: 2,
                resource_name: "t".into(),
                configs: vec![IncrementalAlterableConfig { name: "k".into(), config_operation: op::SUBTRACT, value: None }],
            }],
            validate_only: true,
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0, 0, 0, 1, 2, 0, 1, b't',
            0, 0, 0, 1, 0, 1, b'k', 3, 0xff, 0xff,
            1,
        ];
        #[rustfmt::skip]
        let v1: &[u8] = &[
            2, 2, 2, b't',
            2, 2, b'k', 3, 0, 0, // config: name, op, value null, tags
            0,                   // resource tags
            1, 0,                // validate_only, top-level tags
        ];
        for (version, bytes) in [(0, v0), (1, v1)] {
            assert_known_bytes(&req, version, bytes);
        }

        let resp = IncrementalAlterConfigsResponse {
            throttle_time_ms: 0,
            responses: vec![IncrementalAlterConfigsResourceResponse {
                error_code: 1,
                error_message: None,
                resource_type: 2,
                resource_name: "t".into(),
            }],
        };
        let bytes: &[u8] = &[0, 0, 0, 0, 2, 0, 1, 0, 2, 2, b't', 0, 0];
        assert_known_bytes(&resp, 1, bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<IncrementalAlterConfigsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<IncrementalAlterConfigsRequest>(&[2, 2, 2, b't', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 1),
            DecodeError::NotEnoughBytes
        );
        assert_eq!(
            decode_error::<IncrementalAlterConfigsResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 1),
            DecodeError::NotEnoughBytes
        );
    }
}
