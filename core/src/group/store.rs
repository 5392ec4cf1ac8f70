//! The records the coordinator keeps in `__consumer_offsets`, in Apache Kafka's own
//! layout (so Kafka's tools can read them), as record keys and values:
//!
//! - offset commit: key v1 `{version: i16 = 1, group: string, topic: string,
//!   partition: i32}`, value v3 `{version: i16 = 3, offset: i64, leader_epoch: i32,
//!   metadata: string, commit_timestamp: i64}`;
//! - group metadata: key v2 `{version: i16 = 2, group: string}`, value v3
//!   `{version = 3, protocol_type: string, generation: i32, protocol: nullable
//!   string, leader: nullable string, current_state_timestamp: i64, members:
//!   [member_id, group_instance_id (nullable), client_id, client_host,
//!   rebalance_timeout: i32, session_timeout: i32, subscription: bytes,
//!   assignment: bytes]}`.
//!
//! A null value is a tombstone: the offset, or the whole group, is gone.
//! Decoding accepts the older value versions Kafka wrote too (offset value v0–v3,
//! group value v0–v3), so a log is read whatever wrote it.

use bytes::Bytes;

use crate::protocol::codec::DecodeResult;
use crate::protocol::{DecodeError, Reader, Writer};

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// A member as stored in group metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A group's generation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGroup {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub state_timestamp: i64,
    pub members: Vec<StoredMember>,
}

/// One decoded record of the offsets log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Offset { group: String, topic: String, partition: i32, value: Option<CommittedOffset> },
    Group { group: String, value: Option<StoredGroup> },
}

pub fn offset_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut w = Writer::new();
    w.i16(1);
    w.string(group);
    w.string(topic);
    w.i32(partition);
    w.finish().freeze()
}

pub fn offset_value(v: &CommittedOffset) -> Bytes {
    let mut w = Writer::new();
    w.i16(3);
    w.i64(v.offset);
    w.i32(v.leader_epoch);
    w.string(&v.metadata);
    w.i64(v.commit_timestamp);
    w.finish().freeze()
}

pub fn group_key(group: &str) -> Bytes {
    let mut w = Writer::new();
    w.i16(2);
    w.string(group);
    w.finish().freeze()
}

pub fn group_value(g: &StoredGroup) -> Bytes {
    let mut w = Writer::new();
    w.i16(3);
    w.string(&g.protocol_type);
    w.i32(g.generation);
    w.nullable_string(g.protocol.as_deref());
    w.nullable_string(g.leader.as_deref());
    w.i64(g.state_timestamp);
    w.i32(g.members.len() as i32);
    for m in &g.members {
        w.string(&m.member_id);
        w.nullable_string(m.group_instance_id.as_deref());
        w.string(&m.client_id);
        w.string(&m.client_host);
        w.i32(m.rebalance_timeout_ms);
        w.i32(m.session_timeout_ms);
        w.bytes(&m.subscription);
        w.bytes(&m.assignment);
    }
    w.finish().freeze()
}

/// Decode one record. `Ok(None)` for a key version this broker does not use
/// (Kafka's transaction or share-group records, say): skipped, not an error.
pub fn decode(key: &Bytes, value: Option<&Bytes>) -> DecodeResult<Option<Entry>> {
    let mut r = Reader::new(key.clone());
    match r.i16()? {
        0 | 1 => {
            let (group, topic, partition) = (r.string()?, r.string()?, r.i32()?);
            let value = value.map(decode_offset_value).transpose()?;
            Ok(Some(Entry::Offset { group, topic, partition, value }))
        }
        2 => {
            let group = r.string()?;
            let value = value.map(decode_group_value).transpose()?;
            Ok(Some(Entry::Group { group, value }))
        }
        _ => Ok(None),
    }
}

fn decode_offset_value(v: &Bytes) -> DecodeResult<CommittedOffset> {
    let mut r = Reader::new(v.clone());
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(DecodeError::Invalid("offset commit value version"));
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    if version == 1 {
        r.i64()?; // expire timestamp, unused since Kafka 2.1
    }
    Ok(CommittedOffset { offset, leader_epoch, metadata, commit_timestamp })
}

fn decode_group_value(v: &Bytes) -> DecodeResult<StoredGroup> {
    let mut r = Reader::new(v.clone());
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(DecodeError::Invalid("group metadata value version"));
    }
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let members = r.array(|r| {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 { r.nullable_string()? } else { None };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
        let session_timeout_ms = r.i32()?;
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        let rebalance_timeout_ms = if rebalance_timeout_ms < 0 { session_timeout_ms } else { rebalance_timeout_ms };
        Ok(StoredMember {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        })
    })?;
    Ok(StoredGroup { protocol_type, generation, protocol, leader, state_timestamp, members })
}

/// Kafka's `String.hashCode` over UTF-16 code units, so that a group lands in the
/// same `__consumer_offsets` partition as on Kafka.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The offsets partition of a group: `Utils.abs(hashCode) % partitions`.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let h = java_string_hash(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_records_round_trip() {
        let v = CommittedOffset { offset: 42, leader_epoch: 3, metadata: "m".into(), commit_timestamp: 1000 };
        let e = decode(&offset_key("g", "t", 7), Some(&offset_value(&v))).unwrap().unwrap();
        assert_eq!(e, Entry::Offset { group: "g".into(), topic: "t".into(), partition: 7, value: Some(v) });
        let tomb = decode(&offset_key("g", "t", 7), None).unwrap().unwrap();
        assert_eq!(tomb, Entry::Offset { group: "g".into(), topic: "t".into(), partition: 7, value: None });
    }

    #[test]
    fn group_records_round_trip() {
        let g = StoredGroup {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            state_timestamp: 99,
            members: vec![StoredMember {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let e = decode(&group_key("g"), Some(&group_value(&g))).unwrap().unwrap();
        assert_eq!(e, Entry::Group { group: "g".into(), value: Some(g) });
    }

    /// Offset commit value v1 as older Kafka versions wrote it (with an expire timestamp).
    #[test]
    fn old_offset_value_decodes() {
        #[rustfmt::skip]
        let v1: &[u8] = &[0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, b'x', 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6];
        let e = decode(&offset_key("g", "t", 0), Some(&Bytes::from_static(v1))).unwrap().unwrap();
        let Entry::Offset { value: Some(v), .. } = e else { panic!("{e:?}") };
        assert_eq!(v, CommittedOffset { offset: 9, leader_epoch: -1, metadata: "x".into(), commit_timestamp: 5 });
    }

    #[test]
    fn garbage_is_an_error_or_skipped_never_a_panic() {
        assert!(decode(&Bytes::from_static(&[0]), None).is_err());
        assert_eq!(decode(&Bytes::from_static(&[0, 9, 1, 2]), None).unwrap(), None);
        assert!(decode(&offset_key("g", "t", 0), Some(&Bytes::from_static(&[0, 3, 1]))).is_err());
        assert!(decode(
            &group_key("g"),
            Some(&Bytes::from_static(&[0, 3, 0, 1, b'c', 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]))
        )
        .is_err());
    }

    /// Values checked against Java's `String.hashCode` and Kafka's partitioning.
    #[test]
    fn partitioning_matches_kafka() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99162322);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert_eq!(partition_for("hello", 50), 99162322 % 50);
    }
}
