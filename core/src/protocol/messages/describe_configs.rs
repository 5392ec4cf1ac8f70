//! DescribeConfigs (key 32): read the configuration of topics and brokers.
//! Versions 1-4 (the codec also speaks v0), flexible from 4.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsRequest {
    pub resources: Vec<DescribeConfigsResource>,
    /// v1+.
    pub include_synonyms: bool,
    /// v3+.
    pub include_documentation: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsResource {
    pub resource_type: i8,
    pub resource_name: String,
    /// Null to list every key.
    pub configuration_keys: Option<Vec<String>>,
}

impl Decode for DescribeConfigsResource {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DescribeConfigsResource {
            resource_type: r.i8()?,
            resource_name: r.string()?,
            configuration_keys: r.nullable_array(|r| r.string())?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeConfigsResource {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i8(self.resource_type);
        w.string(&self.resource_name);
        w.nullable_array(self.configuration_keys.as_deref(), |w, k| w.string(k));
        w.empty_tagged_fields();
    }
}

impl Decode for DescribeConfigsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 4;
        let mut m = DescribeConfigsRequest { resources: r.array_of(version)?, ..Default::default() };
        if version >= 1 {
            m.include_synonyms = r.bool()?;
        }
        if version >= 3 {
            m.include_documentation = r.bool()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeConfigsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        w.array_of(&self.resources, version);
        if version >= 1 {
            w.bool(self.include_synonyms);
        }
        if version >= 3 {
            w.bool(self.include_documentation);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<DescribeConfigsResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsResult {
    pub error_code: i16,
    pub error_message: Option<String>,
    pub resource_type: i8,
    pub resource_name: String,
    pub configs: Vec<DescribeConfigsResourceResult>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribeConfigsResourceResult {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    /// v0 only.
    pub is_default: bool,
    /// v1+; Kafka's default -1.
    pub config_source: i8,
    pub is_sensitive: bool,
    /// v1+.
    pub synonyms: Vec<DescribeConfigsSynonym>,
    /// v3+.
    pub config_type: i8,
    /// v3+ (nullable); Kafka's default for older versions is the empty string.
    pub documentation: Option<String>,
}

impl Default for DescribeConfigsResourceResult {
    fn default() -> Self {
        DescribeConfigsResourceResult {
            name: String::new(),
            value: None,
            read_only: false,
            is_default: false,
            config_source: -1,
            is_sensitive: false,
            synonyms: Vec::new(),
            config_type: 0,
            documentation: Some(String::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeConfigsSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
}

impl Decode for DescribeConfigsSynonym {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DescribeConfigsSynonym { name: r.string()?, value: r.nullable_string()?, source: r.i8()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeConfigsSynonym {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.nullable_string(self.value.as_deref());
        w.i8(self.source);
        w.empty_tagged_fields();
    }
}

impl Decode for DescribeConfigsResourceResult {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m =
            DescribeConfigsResourceResult { name: r.string()?, value: r.nullable_string()?, read_only: r.bool()?, ..Default::default() };
        if version == 0 {
            m.is_default = r.bool()?;
        } else {
            m.config_source = r.i8()?;
        }
        m.is_sensitive = r.bool()?;
        if version >= 1 {
            m.synonyms = r.array_of(version)?;
        }
        if version >= 3 {
            m.config_type = r.i8()?;
            m.documentation = r.nullable_string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeConfigsResourceResult {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.nullable_string(self.value.as_deref());
        w.bool(self.read_only);
        if version == 0 {
            w.bool(self.is_default);
        } else {
            w.i8(self.config_source);
        }
        w.bool(self.is_sensitive);
        if version >= 1 {
            w.array_of(&self.synonyms, version);
        }
        if version >= 3 {
            w.i8(self.config_type);
            w.nullable_string(self.documentation.as_deref());
        }
        w.empty_tagged_fields();
    }
}

impl Decode for DescribeConfigsResult {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = DescribeConfigsResult {
            error_code: r.i16()?,
            error_message: r.nullable_string()?,
            resource_type: r.i8()?,
            resource_name: r.string()?,
            configs: r.array_of(version)?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeConfigsResult {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code);
        w.nullable_string(self.error_message.as_deref());
        w.i8(self.resource_type);
        w.string(&self.resource_name);
        w.array_of(&self.configs, version);
        w.empty_tagged_fields();
    }
}

impl Decode for DescribeConfigsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 4;
        let m = DescribeConfigsResponse { throttle_time_ms: r.i32()?, results: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeConfigsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
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

    fn request(version: i16) -> DescribeConfigsRequest {
        DescribeConfigsRequest {
            resources: vec![
                DescribeConfigsResource {
                    resource_type: 2,
                    resource_name: "orders".into(),
                    configuration_keys: Some(vec!["retention.ms".into(), "cleanup.policy".into()]),
                },
                DescribeConfigsResource { resource_type: 4, resource_name: "1".into(), configuration_keys: None },
            ],
            include_synonyms: version >= 1,
            include_documentation: version >= 3,
        }
    }

    fn response(version: i16) -> DescribeConfigsResponse {
        let mut a = DescribeConfigsResourceResult {
            name: "retention.ms".into(),
            value: Some("1000".into()),
            read_only: false,
            is_sensitive: false,
            ..Default::default()
        };
        let mut b = DescribeConfigsResourceResult {
            name: "ssl.key.password".into(),
            value: None,
            read_only: true,
            is_sensitive: true,
            ..Default::default()
        };
        if version == 0 {
            b.is_default = true;
        } else {
            a.config_source = 1;
            a.synonyms = vec![
                DescribeConfigsSynonym { name: "retention.ms".into(), value: Some("1000".into()), source: 1 },
                DescribeConfigsSynonym { name: "log.retention.ms".into(), value: None, source: 5 },
            ];
            b.config_source = 4;
        }
        if version >= 3 {
            a.config_type = 5;
            a.documentation = Some("How long to keep data.".into());
            b.config_type = 9;
            b.documentation = None;
        }
        DescribeConfigsResponse {
            throttle_time_ms: 11,
            results: vec![
                DescribeConfigsResult {
                    error_code: 0,
                    error_message: None,
                    resource_type: 2,
                    resource_name: "orders".into(),
                    configs: vec![a, b],
                },
                DescribeConfigsResult {
                    error_code: 3,
                    error_message: Some("unknown topic".into()),
                    resource_type: 2,
                    resource_name: "gone".into(),
                    configs: vec![],
                },
            ],
        }
    }

    /// Every version (0-4) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in 0..=4 {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
        }
    }

    /// Fields absent from a version decode to Kafka's defaults.
    #[test]
    fn absent_fields_take_kafka_defaults() {
        let mut w = Writer::new();
        response(4).encode(&mut w, 1);
        let mut r = Reader::new(w.finish().freeze());
        let got = DescribeConfigsResponse::decode(&mut r, 1).unwrap();
        let c = &got.results[0].configs[0];
        assert_eq!(c.config_type, 0);
        assert_eq!(c.documentation.as_deref(), Some(""));
    }

    /// A v1 request and a v4 response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource { resource_type: 2, resource_name: "t".into(), configuration_keys: None }],
            include_synonyms: true,
            include_documentation: false,
        };
        let req_bytes: &[u8] = &[0, 0, 0, 1, 2, 0, 1, b't', 0xff, 0xff, 0xff, 0xff, 1];
        assert_known_bytes(&req, 1, req_bytes);

        let resp = DescribeConfigsResponse {
            throttle_time_ms: 0,
            results: vec![DescribeConfigsResult {
                error_code: 0,
                error_message: None,
                resource_type: 2,
                resource_name: "t".into(),
                configs: vec![DescribeConfigsResourceResult {
                    name: "k".into(),
                    value: Some("v".into()),
                    read_only: false,
                    is_default: false,
                    config_source: 5,
                    is_sensitive: false,
                    synonyms: vec![DescribeConfigsSynonym { name: "s".into(), value: None, source: 5 }],
                    config_type: 2,
                    documentation: None,
                }],
            }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,         // throttle_time_ms
            2,                  // results: 1
            0, 0, 0, 2, 2, b't', // error_code, error_message null, resource_type, resource_name
            2,                  // configs: 1
            2, b'k', 2, b'v', 0, 5, 0, // name, value, read_only, config_source, is_sensitive
            2, 2, b's', 0, 5, 0,       // synonyms: [s, null, 5], synonym tags
            2, 0, 0,            // config_type, documentation null, config tags
            0,                  // result tags
            0,                  // top-level tags
        ];
        assert_known_bytes(&resp, 4, resp_bytes);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<DescribeConfigsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 1), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<DescribeConfigsRequest>(&[2, 2, 2, b't', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 4),
            DecodeError::NotEnoughBytes
        );
        assert_eq!(decode_error::<DescribeConfigsResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 4), DecodeError::NotEnoughBytes);
    }
}
