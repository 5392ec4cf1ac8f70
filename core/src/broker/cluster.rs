//! Cluster mode glue: the broker's Raft metadata node, the controller loop, peer messages.

use crate::types::NodeId;

use super::Broker;

impl Broker {
    pub(crate) fn on_peer_message(&mut self, from: NodeId, data: &[u8]) {
        tracing::debug!(from = from.0, bytes = data.len(), "peer message before cluster mode is wired");
    }
}
