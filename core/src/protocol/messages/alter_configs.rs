//! AlterConfigs (key 33): replace the whole configuration of resources.
//! Versions 0-2, flexible from 2.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterConfigsRequest {
    pub resources: Vec<AlterConfigsResource>,
    pub validate_only: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterConfigsResource {
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<AlterableConfig>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterableConfig {
    pub name: String,
    pub value: Option<String>,
}

impl Decode for AlterableConfig {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = AlterableConfig { name: r.string()?, value: r.nullable_string()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for AlterableConfig {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.nullable_string(self.value.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for AlterConfigsResource {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = AlterConfigsResource { resource_type: r.i8()?, resource_name: r.string()?, configs: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for AlterConfigsResource {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i8(self.resource_type);
        w.string(&self.resource_name);
        w.array_of(&self.configs, version);
        w.empty_tagged_fields();
    }
}

impl Decode for AlterConfigsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m = AlterConfigsRequest { resources: r.array_of(version)?, validate_only: r.bool()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for AlterConfigsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.array_of(&self.resources, version);
        w.bool(self.validate_only);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterConfigsResponse {
    pub throttle_time_ms: i32,
    pub responses: Vec<AlterConfigsResourceResponse>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterConfigsResourceResponse {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
}

impl Decode for AlterConfigsResourceResponse {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = AlterConfigsResourceResponse {
            error_code: r.i16()?,
            error_message: r.nullable_string()?,
            resource_type: r.i8()?,
            resource_name: r.string()?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for AlterConfigsResourceResponse {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i16(self.error_code);
        w.nullable_string(self.error_message.as_deref());
        w.i8(self.resource_type);
        w.string(&self.resource_name);
        w.empty_tagged_fields();
    }
}

impl Decode for AlterConfigsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m = AlterConfigsResponse { throttle_time_ms: r.i32()?, responses: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for AlterConfigsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
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

    /// Every version (0-2) round-trips every field.
    #[test]
    fn round_trips_every_version() {
        let req = AlterConfigsRequest {
            resources: vec![
                AlterConfigsResource {
                    resource_type: 2,
                    resource_name: "orders".into(),
                    configs: vec![
                        AlterableConfig { name: "retention.ms".into(), value: Some("60000".into()) },
                        AlterableConfig { name: "cleanup.policy".into(), value: None },
                    ],
                },
                AlterConfigsResource { resource_type: 4, resource_name: "1".into(), configs: vec![] },
            ],
            validate_only: true,
        };
        let resp = AlterConfigsResponse {
            throttle_time_ms: 6,
            responses: vec![
                AlterConfigsResourceResponse { error_code: 0, error_message: None, resource_type: 2, resource_name: "orders".into() },
                AlterConfigsResourceResponse {
                    error_code: 40,
                    error_message: Some("bad value".into()),
                    resource_type: 4,
                    resource_name: "1".into(),
                },
            ],
        };
        for version in 0..=2 {
            round_trip(&req, version);
            round_trip(&resp, version);
        }
    }

    /// A v0 request and a v2 response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = AlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type: 2,
                resource_name: "t".into(),
                configs: vec![AlterableConfig { name: "k".into(), value: Some("v".into()) }],
            }],
            validate_only: false,
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 0, 0, 1, 2, 0, 1, b't',
            0, 0, 0, 1, 0, 1, b'k', 0, 1, b'v',
            0,
        ];
        assert_known_bytes(&req, 0, req_bytes);

        let resp = AlterConfigsResponse {
            throttle_time_ms: 1,
            responses: vec![AlterConfigsResourceResponse {
                error_code: 0,
                error_message: Some("m".into()),
                resource_type: 2,
                resource_name: "t".into(),
            }],
        };
        let resp_bytes: &[u8] = &[0, 0, 0, 1, 2, 0, 0, 2, b'm', 2, 2, b't', 0, 0];
        assert_known_bytes(&resp, 2, resp_bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<AlterConfigsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<AlterConfigsRequest>(&[2, 2, 2, b't', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 2), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<AlterConfigsResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 2), DecodeError::NotEnoughBytes);
    }
}
