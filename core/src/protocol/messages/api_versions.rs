//! ApiVersions (key 18): which APIs and versions the broker implements.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiVersionsRequest {
    /// v3+.
    pub client_software_name: String,
    /// v3+.
    pub client_software_version: String,
}

impl Decode for ApiVersionsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 3;
        let mut m = ApiVersionsRequest::default();
        if version >= 3 {
            m.client_software_name = r.string()?;
            m.client_software_version = r.string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ApiVersionsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 3;
        if version >= 3 {
            w.string(&self.client_software_name);
            w.string(&self.client_software_version);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiVersionsResponse {
    pub error_code: i16,
    pub api_keys: Vec<ApiVersion>,
    /// v1+.
    pub throttle_time_ms: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiVersion {
    pub api_key: i16,
    pub min_version: i16,
    pub max_version: i16,
}

impl Decode for ApiVersion {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = ApiVersion { api_key: r.i16()?, min_version: r.i16()?, max_version: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ApiVersion {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i16(self.api_key);
        w.i16(self.min_version);
        w.i16(self.max_version);
        w.empty_tagged_fields();
    }
}

impl Decode for ApiVersionsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 3;
        let error_code = r.i16()?;
        let api_keys = r.array_of(version)?;
        let throttle_time_ms = if version >= 1 { r.i32()? } else { 0 };
        // Feature tags (0-3) are not used by this broker; skip them.
        r.skip_tagged_fields()?;
        Ok(ApiVersionsResponse { error_code, api_keys, throttle_time_ms })
    }
}

impl Encode for ApiVersionsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 3;
        w.i16(self.error_code);
        w.array_of(&self.api_keys, version);
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::round_trip;

    /// Every version round-trips the fields it carries.
    #[test]
    fn round_trips_every_version() {
        for version in 0..=4 {
            let resp = ApiVersionsResponse {
                error_code: 0,
                api_keys: vec![ApiVersion { api_key: 18, min_version: 0, max_version: 4 }],
                throttle_time_ms: if version >= 1 { 7 } else { 0 },
            };
            round_trip(&resp, version);
        }
    }
}
