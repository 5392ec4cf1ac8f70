//! DescribeGroups (key 15): the state, protocol and members of groups.
//! Versions 0-5, flexible from 5.

use bytes::Bytes;

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 5;

/// Kafka's "authorized operations not requested" bitfield.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeGroupsRequest {
    pub groups: Vec<String>,
    /// v3+.
    pub include_authorized_operations: bool,
}

impl Decode for DescribeGroupsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 5;
        let mut m = DescribeGroupsRequest { groups: r.array(|r| r.string())?, ..Default::default() };
        if version >= 3 {
            m.include_authorized_operations = r.bool()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeGroupsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 5;
        w.array(&self.groups, |w, g| w.string(g));
        if version >= 3 {
            w.bool(self.include_authorized_operations);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeGroupsResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub groups: Vec<DescribedGroup>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedGroup {
    pub error_code: i16,
    pub group_id: String,
    pub group_state: String,
    pub protocol_type: String,
    pub protocol_data: String,
    pub members: Vec<DescribedGroupMember>,
    /// v3+. Default [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub authorized_operations: i32,
}

impl Default for DescribedGroup {
    fn default() -> Self {
        DescribedGroup {
            error_code: 0,
            group_id: String::new(),
            group_state: String::new(),
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
            authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribedGroupMember {
    pub member_id: String,
    /// v4+ (nullable).
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_metadata: Bytes,
    pub member_assignment: Bytes,
}

impl Decode for DescribedGroupMember {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = DescribedGroupMember { member_id: r.string()?, ..Default::default() };
        if version >= 4 {
            m.group_instance_id = r.nullable_string()?;
        }
        m.client_id = r.string()?;
        m.client_host = r.string()?;
        m.member_metadata = r.bytes()?;
        m.member_assignment = r.bytes()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribedGroupMember {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.member_id);
        if version >= 4 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        w.string(&self.client_id);
        w.string(&self.client_host);
        w.bytes(&self.member_metadata);
        w.bytes(&self.member_assignment);
        w.empty_tagged_fields();
    }
}

impl Decode for DescribedGroup {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = DescribedGroup {
            error_code: r.i16()?,
            group_id: r.string()?,
            group_state: r.string()?,
            protocol_type: r.string()?,
            protocol_data: r.string()?,
            members: r.array_of(version)?,
            ..Default::default()
        };
        if version >= 3 {
            m.authorized_operations = r.i32()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribedGroup {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code);
        w.string(&self.group_id);
        w.string(&self.group_state);
        w.string(&self.protocol_type);
        w.string(&self.protocol_data);
        w.array_of(&self.members, version);
        if version >= 3 {
            w.i32(self.authorized_operations);
        }
        w.empty_tagged_fields();
    }
}

impl Decode for DescribeGroupsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 5;
        let mut m = DescribeGroupsResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.groups = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeGroupsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 5;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.groups, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    fn request(version: i16) -> DescribeGroupsRequest {
        DescribeGroupsRequest { groups: vec!["payments".into(), "audit".into()], include_authorized_operations: version >= 3 }
    }

    fn response(version: i16) -> DescribeGroupsResponse {
        let member = |id: &str, instance: Option<&str>| DescribedGroupMember {
            member_id: id.into(),
            group_instance_id: if version >= 4 { instance.map(Into::into) } else { None },
            client_id: format!("client-{id}"),
            client_host: "/10.0.0.1".into(),
            member_metadata: Bytes::from_static(&[0, 1, 2, 3]),
            member_assignment: Bytes::from_static(&[9, 8]),
        };
        DescribeGroupsResponse {
            throttle_time_ms: if version >= 1 { 6 } else { 0 },
            groups: vec![
                DescribedGroup {
                    error_code: 0,
                    group_id: "payments".into(),
                    group_state: "Stable".into(),
                    protocol_type: "consumer".into(),
                    protocol_data: "range".into(),
                    members: vec![member("m1", Some("i1")), member("m2", None)],
                    authorized_operations: if version >= 3 { 0x0ff8 } else { AUTHORIZED_OPERATIONS_OMITTED },
                },
                DescribedGroup { error_code: 69, group_id: "audit".into(), group_state: "Dead".into(), ..Default::default() },
            ],
        }
    }

    /// Every version (0-5) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&DescribeGroupsRequest::default(), version);
            round_trip(&DescribeGroupsResponse::default(), version);
        }
    }

    /// A v0 request, a v3 response and a v5 request and response match bytes
    /// assembled by hand.
    #[test]
    fn known_bytes() {
        let req = DescribeGroupsRequest { groups: vec!["g".into()], include_authorized_operations: false };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0, 0, 0, 1,             // groups: 1
            0, 1, b'g',             //   "g"
        ];
        assert_known_bytes(&req, 0, v0);
        let req = DescribeGroupsRequest { groups: vec!["g".into()], include_authorized_operations: true };
        #[rustfmt::skip]
        let v5: &[u8] = &[
            2, 2, b'g',             // groups: ["g"] (compact)
            1,                      // include_authorized_operations
            0,                      // top-level tags
        ];
        assert_known_bytes(&req, 5, v5);

        let member = DescribedGroupMember {
            member_id: "m".into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "h".into(),
            member_metadata: Bytes::from_static(&[7]),
            member_assignment: Bytes::new(),
        };
        let resp = DescribeGroupsResponse {
            throttle_time_ms: 1,
            groups: vec![DescribedGroup {
                error_code: 0,
                group_id: "g".into(),
                group_state: "S".into(),
                protocol_type: "p".into(),
                protocol_data: "".into(),
                members: vec![member.clone()],
                authorized_operations: 8,
            }],
        };
        #[rustfmt::skip]
        let v3: &[u8] = &[
            0, 0, 0, 1,             // throttle_time_ms
            0, 0, 0, 1,             // groups: 1
            0, 0,                   //   error_code
            0, 1, b'g',             //   group_id "g"
            0, 1, b'S',             //   group_state "S"
            0, 1, b'p',             //   protocol_type "p"
            0, 0,                   //   protocol_data ""
            0, 0, 0, 1,             //   members: 1
            0, 1, b'm',             //     member_id "m"
            0, 1, b'c',             //     client_id "c"
            0, 1, b'h',             //     client_host "h"
            0, 0, 0, 1, 7,          //     member_metadata [7]
            0, 0, 0, 0,             //     member_assignment []
            0, 0, 0, 8,             //   authorized_operations
        ];
        assert_known_bytes(&resp, 3, v3);

        let mut resp = resp;
        resp.groups[0].members[0].group_instance_id = Some("i".into());
        #[rustfmt::skip]
        let v5: &[u8] = &[
            0, 0, 0, 1,             // throttle_time_ms
            2,                      // groups: 1 (compact)
            0, 0,                   //   error_code
            2, b'g',                //   group_id "g"
            2, b'S',                //   group_state "S"
            2, b'p',                //   protocol_type "p"
            1,                      //   protocol_data ""
            2,                      //   members: 1
            2, b'm',                //     member_id "m"
            2, b'i',                //     group_instance_id "i"
            2, b'c',                //     client_id "c"
            2, b'h',                //     client_host "h"
            2, 7,                   //     member_metadata [7]
            1,                      //     member_assignment []
            0,                      //     member tags
            0, 0, 0, 8,             //   authorized_operations
            0,                      //   group tags
            0,                      // top-level tags
        ];
        assert_known_bytes(&resp, 5, v5);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<DescribeGroupsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<DescribeGroupsRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 5), DecodeError::NotEnoughBytes);
        #[rustfmt::skip]
        let members_count: &[u8] = &[
            0, 0, 0, 0, 2,                  // throttle_time_ms, groups: 1
            0, 0, 2, b'g', 1, 1, 1,         // error_code, group_id, state, type, data
            0xfe, 0xff, 0xff, 0xff, 0x0f,   // members: 2^32 - 2
            0,
        ];
        assert_eq!(decode_error::<DescribeGroupsResponse>(members_count, 5), DecodeError::NotEnoughBytes);
    }
}
