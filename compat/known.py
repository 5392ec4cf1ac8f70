"""What compare.py knows beyond the raw results: client order, clients that are not run (and
why), the reasons of differences that were looked into, and Chronik's intended differences."""

CLIENT_ORDER = ["confluent", "kafka-python", "aiokafka", "java", "franz-go", "kafkajs"]

# Clients with no driver yet, and why (shown when they have no results).
NOT_RUN = {
}

# (scenario regex, client regex, path regex, reason): the explanation of a difference that was
# looked into. A difference without a match is shown with its raw values only.
KNOWN_DIFFERENCES = [
    (r"describe_configs", r".*", r"(min\.insync\.replicas|segment\.bytes)/(default|source|config_source)",
     "artifact of the reference config: ci/kafka-ref sets min.insync.replicas and log.segment.bytes in "
     "server.properties (as Kafka's quickstart does), so Kafka reports them as broker config; the value "
     "is the same and Chronik reports it as a built-in default"),
    (r"describe_configs", r".*", r"create-compact",
     "intended: Chronik supports only cleanup.policy=delete on user topics"),
    # unknown_topic_autocreate differed until Chronik answered the Metadata that starts an
    # auto-creation with UNKNOWN_TOPIC_OR_PARTITION (as Kafka 4.4 does) and made a Metadata
    # naming a topic still being created wait for it (so librdkafka's list_topics sees the
    # topic with its partition, as on Kafka). Both fixed; the scenario compares the same.
]

# Deliberate differences (DESIGN / README), listed in COMPATIBILITY.md.
INTENDED = [
    ("acks=all is answered after fsync",
     "Chronik answers a produce with acks=all only once its records are fsynced (group commit) and its "
     "high watermark is the durable offset; Kafka answers once the in-sync replicas have the records in "
     "their page cache. Same offsets and errors; Chronik's acks=all latency includes a sync."),
    ("acks=1 durability",
     "acks=1 is answered once Chronik's write completed (not synced); a background sync "
     "(--flush-interval-ms) makes it durable. Kafka's acks=1 on one node is the same page-cache write."),
    ("__consumer_offsets compaction",
     "Chronik stores commits and group metadata in a compacted __consumer_offsets with Kafka's record "
     "layout but its own compaction, not Kafka's log cleaner (dirty ratio, segment rolling and tombstone "
     "retention differ); what a client reads back (committed offsets) is the same."),
    ("cleanup.policy=compact for user topics",
     "Chronik supports only cleanup.policy=delete on user topics and refuses compact with INVALID_CONFIG."),
    ("single node",
     "Chronik is one node: replication factor 1, the node is leader and the only replica/ISR of every "
     "partition, and it is its own controller. CreateTopics with a larger replication factor is refused "
     "as on a one-broker Kafka."),
    ("transactions",
     "Transactions (InitProducerId with a transactional id, AddPartitionsToTxn, EndTxn, ...) are not "
     "implemented; the idempotent producer is."),
    ("topic configs reported",
     "DescribeConfigs reports the topic configs Chronik implements; keys only Kafka reports are listed "
     "per client under the describe_configs scenario and are not compared."),
]


# (client, scenario): a failure of this cell is an open Chronik bug, reported by `ci/compat
# chronik-only` as KNOWN-BUG (printed, counted) instead of failing the run, until it is fixed.
KNOWN_OPEN_BUGS = {
    # (kafka-python, group_rebalance) was listed here: it was a kafka-python 3.0.12 bug (a join
    # round completing between two poll() calls is dropped; if that rejoin came from a changed
    # metadata snapshot the member then neither rejoins nor heartbeats), seen on Kafka 4.4 too.
    # The driver now avoids it (see group_rebalance in kafka_python_driver.py).
}
