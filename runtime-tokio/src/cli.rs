//! The `chronik-server` command line. Every flag can also be set by the
//! environment variable named beside it in `--help`.

use std::path::PathBuf;

use chronik_core::config::BrokerConfig;
use chronik_core::group::GroupConfig;
use chronik_core::types::NodeId;
use clap::{Parser, Subcommand};

/// Chronik: a Kafka-compatible streaming broker.
///
/// Kafka clients connect to <bind-addr>:<kafka-port> and are told to reach this
/// broker at <advertised-addr>:<advertised-port>.
#[derive(Debug, Clone, Parser)]
#[command(name = "chronik-server", version, about, long_about)]
pub struct Cli {
    /// Directory holding the partition logs and metadata (created if missing; locked
    /// so that two servers cannot share it).
    #[arg(long, env = "CHRONIK_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Address to listen on for Kafka clients (an IP address or host name).
    #[arg(long, env = "CHRONIK_BIND_ADDR", default_value = "0.0.0.0", global = true)]
    pub bind_addr: String,

    /// Port to listen on for Kafka clients.
    #[arg(long, env = "CHRONIK_KAFKA_PORT", default_value_t = 9092, global = true)]
    pub kafka_port: u16,

    /// Host name clients are told to connect to (in Metadata responses). Must be
    /// reachable from the clients.
    #[arg(long, env = "CHRONIK_ADVERTISED_ADDR", default_value = "localhost", global = true)]
    pub advertised_addr: String,

    /// Port clients are told to connect to. Defaults to --kafka-port.
    #[arg(long, env = "CHRONIK_ADVERTISED_PORT", global = true)]
    pub advertised_port: Option<u16>,

    /// This broker's node id (Kafka's `node.id`).
    #[arg(long, env = "CHRONIK_NODE_ID", default_value_t = 1, global = true)]
    pub node_id: i32,

    /// Cluster id reported to clients.
    #[arg(long, env = "CHRONIK_CLUSTER_ID", default_value = "chronik-standalone", global = true)]
    pub cluster_id: String,

    /// Create a topic when a client produces to or asks metadata for one that does
    /// not exist (Kafka's `auto.create.topics.enable`).
    #[arg(
        long,
        env = "CHRONIK_AUTO_CREATE_TOPICS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL",
        global = true
    )]
    pub auto_create_topics: bool,

    /// Partitions of an auto-created topic (Kafka's `num.partitions`).
    #[arg(long, env = "CHRONIK_NUM_PARTITIONS", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..), global = true)]
    pub num_partitions: i32,

    /// Milliseconds between background fsyncs that make acks=0/1 data durable
    /// (acks=all is always synced before it is answered).
    #[arg(long, env = "CHRONIK_FLUSH_INTERVAL_MS", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub flush_interval_ms: i64,

    /// How long the first rebalance of an empty consumer group waits for more
    /// members (Kafka's `group.initial.rebalance.delay.ms`).
    #[arg(long, env = "CHRONIK_GROUP_INITIAL_REBALANCE_DELAY_MS", default_value_t = 3000, value_parser = clap::value_parser!(i32).range(0..), global = true)]
    pub group_initial_rebalance_delay_ms: i32,

    /// Partitions of the `__consumer_offsets` topic (Kafka's
    /// `offsets.topic.num.partitions`); used when it is first created.
    #[arg(long, env = "CHRONIK_OFFSETS_TOPIC_NUM_PARTITIONS", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=1000), global = true)]
    pub offsets_topic_num_partitions: i32,

    /// Log filter, e.g. `info`, `debug` or `chronik_core=debug,info`. Overrides
    /// RUST_LOG; without either the level is `info`.
    #[arg(long, env = "CHRONIK_LOG_LEVEL", global = true)]
    pub log_level: Option<String>,

    /// Seconds to wait for a clean shutdown (in-flight work finished and synced)
    /// after SIGINT/SIGTERM before giving up with a non-zero exit.
    #[arg(long, env = "CHRONIK_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub shutdown_timeout_secs: u64,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Run a single-node broker (the default).
    Standalone,
}

impl Cli {
    /// The port advertised to clients.
    pub fn advertised_port(&self) -> u16 {
        self.advertised_port.unwrap_or(self.kafka_port)
    }

    /// The core's configuration; `seed` only picks topic ids.
    pub fn broker_config(&self, seed: u64) -> BrokerConfig {
        BrokerConfig {
            node_id: NodeId(self.node_id),
            advertised_host: self.advertised_addr.clone(),
            advertised_port: i32::from(self.advertised_port()),
            cluster_id: self.cluster_id.clone(),
            auto_create_topics: self.auto_create_topics,
            default_partitions: self.num_partitions,
            flush_interval_ms: self.flush_interval_ms,
            seed,
            groups: GroupConfig {
                initial_rebalance_delay_ms: self.group_initial_rebalance_delay_ms,
                offsets_partitions: self.offsets_topic_num_partitions,
                ..GroupConfig::default()
            },
            ..BrokerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the users' documented invocation parses and maps onto BrokerConfig with the defaults.
    #[test]
    fn documented_invocation_parses() {
        let cli = Cli::try_parse_from(["chronik-server", "--advertised-addr", "localhost", "standalone"]).unwrap();
        assert_eq!(cli.command, Some(Command::Standalone));
        assert_eq!(cli.kafka_port, 9092);
        let cfg = cli.broker_config(5);
        assert_eq!(cfg.advertised_host, "localhost");
        assert_eq!(cfg.advertised_port, 9092);
        assert!(cfg.auto_create_topics);
        assert_eq!(cfg.default_partitions, 1);
        assert_eq!(cfg.seed, 5);
    }

    /// Proves global flags are accepted after the subcommand and advertised port follows kafka port.
    #[test]
    fn flags_after_subcommand_and_port_default() {
        let cli = Cli::try_parse_from([
            "chronik-server",
            "standalone",
            "--kafka-port",
            "19092",
            "--auto-create-topics",
            "false",
            "--num-partitions",
            "3",
        ])
        .unwrap();
        let cfg = cli.broker_config(0);
        assert_eq!(cfg.advertised_port, 19092);
        assert!(!cfg.auto_create_topics);
        assert_eq!(cfg.default_partitions, 3);
        assert!(Cli::try_parse_from(["chronik-server"]).unwrap().command.is_none());
    }
}
