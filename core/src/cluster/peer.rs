//! Messages between the nodes of a cluster (`Output::PeerSend` / `Input::PeerReceived`),
//! serialized with postcard. Every message may be lost, duplicated or reordered: Raft
//! tolerates that by design, heartbeats are periodic, and forwarded requests are resent
//! until their outcome is applied (re-applying is rejected, never doubled: a forwarded
//! topic creation carries the topic id chosen by the broker that received it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metadata::Address;
use crate::types::{NodeId, TopicId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// A raft-rs message (protobuf bytes).
    Raft(Vec<u8>),
    /// A broker tells the controller it is alive (Kafka's BrokerHeartbeat, with the
    /// registration folded in: the controller registers a broker it does not know, or
    /// knows with an older incarnation or another address).
    Heartbeat { id: NodeId, incarnation: u64, address: Address },
    /// A broker asks the controller to change the metadata on a client's behalf.
    Forward { origin: NodeId, token: u64, request: ControllerRequest },
    /// The controller refused a forwarded request before proposing it.
    ForwardRefused { token: u64, error_code: i16, message: String },
}

/// What a broker may ask of the controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// Create a topic; the controller places the replicas unless `assignment` gives them.
    CreateTopic {
        name: String,
        topic_id: TopicId,
        partitions: i32,
        replication_factor: i16,
        assignment: Option<Vec<Vec<NodeId>>>,
        configs: BTreeMap<String, String>,
    },
    DeleteTopic {
        name: String,
        topic_id: TopicId,
    },
    /// Grant the asking broker a block of `size` producer ids.
    AllocateProducerIds {
        size: i64,
    },
}

impl PeerMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard into a Vec cannot fail")
    }

    /// `None` for malformed bytes (including trailing garbage).
    pub fn from_bytes(bytes: &[u8]) -> Option<PeerMessage> {
        match postcard::take_from_bytes(bytes) {
            Ok((m, [])) => Some(m),
            _ => None,
        }
    }
}

/// The context of a forwarded proposal: who asked, and which of its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalContext {
    pub origin: NodeId,
    pub token: u64,
}

impl ProposalContext {
    pub fn to_bytes(self) -> Vec<u8> {
        postcard::to_allocvec(&self).expect("postcard into a Vec cannot fail")
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<ProposalContext> {
        match postcard::take_from_bytes(bytes) {
            Ok((c, [])) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages survive their wire form; garbage and truncations never decode.
    #[test]
    fn peer_messages_round_trip_and_refuse_garbage() {
        let m = PeerMessage::Forward {
            origin: NodeId(2),
            token: 7,
            request: ControllerRequest::CreateTopic {
                name: "t".into(),
                topic_id: TopicId([3; 16]),
                partitions: 3,
                replication_factor: 3,
                assignment: None,
                configs: BTreeMap::from([("retention.ms".into(), "1000".into())]),
            },
        };
        let b = m.to_bytes();
        assert_eq!(PeerMessage::from_bytes(&b), Some(m));
        for cut in 0..b.len() {
            assert_eq!(PeerMessage::from_bytes(&b[..cut]), None, "truncated at {cut}");
        }
        assert_eq!(PeerMessage::from_bytes(&[0xff; 64]), None);
        // A declared length far beyond the bytes present fails without allocating it.
        assert_eq!(PeerMessage::from_bytes(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f]), None);
    }
}
