//! Producers and consumers speaking Kafka to the nodes. STUB.
