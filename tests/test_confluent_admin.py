"""confluent-kafka AdminClient against chronik-server: topics, partitions, configs, cluster."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                   NewTopic, ResourceType)

from clients import (Delivery, admin, consume_partition, create_topic, flush_bounded, kafka_error_of,
                     producer, unique_topic, wait_for_partitions)

T = 30  # seconds: bound on every admin future


def create(a, name, partitions=1, config=None, validate_only=False):
    fut = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                    config=config or {})],
                          operation_timeout=T, request_timeout=T, validate_only=validate_only)
    return fut[name].result(timeout=T)


def describe_topic_configs(a, name) -> dict:
    res = ConfigResource(ResourceType.TOPIC, name)
    return a.describe_configs([res], request_timeout=T)[res].result(timeout=T)


def topic_names(a) -> set:
    return set(a.list_topics(timeout=10).topics)


def test_create_topic_then_duplicate_fails(broker):
    """CreateTopics makes a topic with the requested partition count, visible in metadata;
    creating it again fails with TOPIC_ALREADY_EXISTS."""
    a = admin(broker.bootstrap)
    name = unique_topic("ct")
    create(a, name, partitions=3)
    md = wait_for_partitions(a, name, 3)
    assert sorted(md.topics[name].partitions) == [0, 1, 2]
    with pytest.raises(KafkaException) as excinfo:
        create(a, name, partitions=3)
    assert kafka_error_of(excinfo).code() == KafkaError.TOPIC_ALREADY_EXISTS


@pytest.mark.parametrize("bad_name", ["bad name!", "a" * 250, "..", "slash/topic"])
def test_create_topic_invalid_name_fails(broker, bad_name):
    """CreateTopics with an illegal topic name fails with INVALID_TOPIC_EXCEPTION (librdkafka
    TOPIC_EXCEPTION) and creates nothing."""
    a = admin(broker.bootstrap)
    with pytest.raises(KafkaException) as excinfo:
        create(a, bad_name)
    assert kafka_error_of(excinfo).code() == KafkaError.TOPIC_EXCEPTION, kafka_error_of(excinfo)
    assert bad_name not in topic_names(a)


def test_create_topic_validate_only_creates_nothing(broker):
    """CreateTopics with validate_only succeeds for a valid request but creates no topic."""
    a = admin(broker.bootstrap)
    name = unique_topic("vo")
    create(a, name, partitions=2, validate_only=True)
    time.sleep(0.5)
    assert name not in topic_names(a)


def test_delete_topic_disappears_and_name_is_reusable(broker):
    """DeleteTopics removes the topic from metadata (bounded wait); deleting it again fails
    with UNKNOWN_TOPIC_OR_PART; a topic of the same name created afterwards starts empty."""
    a = admin(broker.bootstrap)
    name = unique_topic("del")
    create_topic(broker.bootstrap, name)
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    for i in range(10):
        p.produce(name, value=b"old", partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed

    a.delete_topics([name], operation_timeout=T, request_timeout=T)[name].result(timeout=T)
    deadline = time.monotonic() + 15
    while name in topic_names(a) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert name not in topic_names(a), "deleted topic still in metadata"

    with pytest.raises(KafkaException) as excinfo:
        a.delete_topics([name], operation_timeout=T, request_timeout=T)[name].result(timeout=T)
    assert kafka_error_of(excinfo).code() == KafkaError.UNKNOWN_TOPIC_OR_PART

    create_topic(broker.bootstrap, name)
    assert consume_partition(broker.bootstrap, name) == []


def test_create_partitions_grows_topic(broker):
    """CreatePartitions 3 -> 5 shows 5 led partitions in metadata and the new partition 4
    accepts records; shrinking to 2 fails with INVALID_PARTITIONS."""
    a = admin(broker.bootstrap)
    name = unique_topic("cp")
    create_topic(broker.bootstrap, name, partitions=3)
    a.create_partitions([NewPartitions(name, 5)], operation_timeout=T, request_timeout=T)[name].result(timeout=T)
    wait_for_partitions(a, name, 5)

    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    p.produce(name, value=b"on-p4", partition=4, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed and d.acked[0][:2] == (0, 4)
    assert [m.value() for m in consume_partition(broker.bootstrap, name, 4)] == [b"on-p4"]

    with pytest.raises(KafkaException) as excinfo:
        a.create_partitions([NewPartitions(name, 2)], operation_timeout=T, request_timeout=T)[name].result(timeout=T)
    assert kafka_error_of(excinfo).code() == KafkaError.INVALID_PARTITIONS


def test_describe_configs_lists_topic_configs(broker):
    """DescribeConfigs on a topic returns the usual topic configs with Kafka's defaults, and a
    config set at creation with its value and not marked default."""
    a = admin(broker.bootstrap)
    name = unique_topic("dc")
    create_topic(broker.bootstrap, name, config={"retention.ms": "3600000"})
    configs = describe_topic_configs(a, name)
    for key in ("retention.ms", "retention.bytes", "segment.bytes", "max.message.bytes",
                "cleanup.policy", "message.timestamp.type", "min.insync.replicas"):
        assert key in configs, f"{key} missing from DescribeConfigs: {sorted(configs)}"
    assert configs["retention.ms"].value == "3600000"
    assert not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "delete"
    assert configs["message.timestamp.type"].value == "CreateTime"
    assert configs["retention.bytes"].value == "-1"


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_alter_configs_changes_retention(broker):
    """AlterConfigs (the legacy, whole-set API) sets retention.ms; DescribeConfigs reads the
    new value back."""
    a = admin(broker.bootstrap)
    name = unique_topic("ac")
    create_topic(broker.bootstrap, name)
    res = ConfigResource(ResourceType.TOPIC, name, set_config={"retention.ms": "12345678"})
    a.alter_configs([res], request_timeout=T)[res].result(timeout=T)
    configs = describe_topic_configs(a, name)
    assert configs["retention.ms"].value == "12345678"
    assert not configs["retention.ms"].is_default


def test_incremental_alter_configs_set_and_delete(broker):
    """IncrementalAlterConfigs SET changes retention.ms (read back by DescribeConfigs) without
    touching other overrides; DELETE reverts it to the default."""
    a = admin(broker.bootstrap)
    name = unique_topic("iac")
    create_topic(broker.bootstrap, name, config={"max.message.bytes": "500000"})
    default_retention = describe_topic_configs(a, name)["retention.ms"].value

    res = ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry("retention.ms", "7654321", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res], request_timeout=T)[res].result(timeout=T)
    configs = describe_topic_configs(a, name)
    assert configs["retention.ms"].value == "7654321"
    assert configs["max.message.bytes"].value == "500000", "incremental SET clobbered another override"

    res = ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
    a.incremental_alter_configs([res], request_timeout=T)[res].result(timeout=T)
    configs = describe_topic_configs(a, name)
    assert configs["retention.ms"].value == default_retention
    assert configs["retention.ms"].is_default


def test_alter_configs_rejects_bad_value(broker):
    """IncrementalAlterConfigs with a non-numeric retention.ms fails with INVALID_CONFIG and
    leaves the value unchanged."""
    a = admin(broker.bootstrap)
    name = unique_topic("bad-cfg")
    create_topic(broker.bootstrap, name)
    before = describe_topic_configs(a, name)["retention.ms"].value
    res = ConfigResource(ResourceType.TOPIC, name, incremental_configs=[
        ConfigEntry("retention.ms", "not-a-number", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as excinfo:
        a.incremental_alter_configs([res], request_timeout=T)[res].result(timeout=T)
    assert kafka_error_of(excinfo).code() == KafkaError.INVALID_CONFIG
    assert describe_topic_configs(a, name)["retention.ms"].value == before


def test_describe_cluster(broker):
    """DescribeCluster names a cluster id and exactly this broker at 127.0.0.1:<port>, which
    is also the controller."""
    a = admin(broker.bootstrap)
    desc = a.describe_cluster(request_timeout=T).result(timeout=T)
    assert desc.cluster_id, desc
    assert [(n.host, n.port) for n in desc.nodes] == [("127.0.0.1", broker.port)]
    assert desc.controller is not None and desc.controller.id == desc.nodes[0].id

