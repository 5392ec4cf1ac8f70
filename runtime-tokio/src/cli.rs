//! The `chronik-server` command line. Every flag can also be set by the
//! environment variable named beside it in `--help`.

use std::path::PathBuf;

use chronik_core::config::{BrokerConfig, ClusterConfig};
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

    /// Cluster id reported to clients. Default: `chronik-standalone`, or `chronik-cluster`
    /// with --voters.
    #[arg(long, env = "CHRONIK_CLUSTER_ID", global = true)]
    pub cluster_id: Option<String>,

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

    /// Threads of the async runtime that carries the sockets and timers. 1 (the default):
    /// everything on one thread, which spares the cross-thread wake-ups that cost more
    /// than the work on small machines (the broker core is one task either way; disk
    /// syncs run on a separate blocking pool). More spreads socket reads and writes over
    /// that many threads, for machines with cores to spare.
    #[arg(long, env = "CHRONIK_RUNTIME_THREADS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256), global = true)]
    pub runtime_threads: u16,

    /// Log filter, e.g. `info`, `debug` or `chronik_core=debug,info`. Overrides
    /// RUST_LOG; without either the level is `info`.
    #[arg(long, env = "CHRONIK_LOG_LEVEL", global = true)]
    pub log_level: Option<String>,

    /// Seconds to wait for a clean shutdown (in-flight work finished and synced)
    /// after SIGINT/SIGTERM before giving up with a non-zero exit.
    #[arg(long, env = "CHRONIK_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub shutdown_timeout_secs: u64,

    /// Cluster mode: the metadata quorum's initial voters, in Kafka's
    /// `controller.quorum.voters` format `ID@HOST:PORT,ID@HOST:PORT,...` (every node's
    /// peer address, this node included). Every node is started with the same list.
    /// Absent: standalone.
    #[arg(long, env = "CHRONIK_VOTERS", value_name = "ID@HOST:PORT,...", allow_hyphen_values = true, global = true)]
    pub voters: Option<String>,

    /// Port to listen on (at --bind-addr) for the other nodes of the cluster. Must match
    /// this node's entry in --voters; defaults to it.
    #[arg(long, env = "CHRONIK_PEER_PORT", global = true)]
    pub peer_port: Option<u16>,

    /// Cluster mode: a broker not heard from for this long is fenced and its partitions
    /// get new leaders (Kafka's `broker.session.timeout.ms`). Default 6000.
    #[arg(long, env = "CHRONIK_BROKER_SESSION_TIMEOUT_MS", value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub broker_session_timeout_ms: Option<i64>,

    /// Cluster mode: how often a broker heartbeats the controller (Kafka's
    /// `broker.heartbeat.interval.ms`); below --broker-session-timeout-ms. Default 500.
    #[arg(long, env = "CHRONIK_BROKER_HEARTBEAT_INTERVAL_MS", value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub broker_heartbeat_interval_ms: Option<i64>,

    /// Cluster mode: a follower not caught up with its leader for this long leaves the
    /// ISR (Kafka's `replica.lag.time.max.ms`). Default 30000.
    #[arg(long, env = "CHRONIK_REPLICA_LAG_TIME_MAX_MS", value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub replica_lag_time_max_ms: Option<i64>,

    /// Cluster mode: one Raft tick; elections time out after 10 to 20 ticks. Default 100.
    #[arg(long, env = "CHRONIK_RAFT_TICK_MS", value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub raft_tick_ms: Option<i64>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One voter of `--voters`: a node id and the address its peers dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub id: NodeId,
    /// Host as written (brackets of an IPv6 literal removed).
    pub host: String,
    pub port: u16,
}

impl Voter {
    /// `host:port`, bracketing an IPv6 literal, for dialing.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Cluster mode as the command line asks for it, validated.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// Every voter, this node included, in the order given.
    pub voters: Vec<Voter>,
    /// The port this node listens on for peers.
    pub peer_port: u16,
    /// The core's cluster settings.
    pub config: ClusterConfig,
}

/// Parse Kafka's `controller.quorum.voters` format: `ID@HOST:PORT,...`. Ids must be
/// unique and non-negative, and so must addresses.
pub fn parse_voters(s: &str) -> Result<Vec<Voter>, String> {
    let mut voters: Vec<Voter> = Vec::new();
    for entry in s.split(',').map(str::trim) {
        if entry.is_empty() {
            return Err(format!("--voters {s:?}: empty entry (expected ID@HOST:PORT,ID@HOST:PORT,...)"));
        }
        let voter = parse_voter(entry)?;
        if voters.iter().any(|v| v.id == voter.id) {
            return Err(format!("--voters: node id {} is listed twice", voter.id.0));
        }
        if voters.iter().any(|v| v.host == voter.host && v.port == voter.port) {
            return Err(format!("--voters: address {} is listed twice", voter.addr()));
        }
        voters.push(voter);
    }
    Ok(voters)
}

fn parse_voter(entry: &str) -> Result<Voter, String> {
    let bad = |why: &str| format!("--voters entry {entry:?}: {why} (expected ID@HOST:PORT)");
    let (id, addr) = entry.split_once('@').ok_or_else(|| bad("no '@'"))?;
    let id: i32 = id.trim().parse().map_err(|_| bad("the node id is not a number"))?;
    if id < 0 {
        return Err(bad("the node id is negative"));
    }
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no ':PORT'"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number from 1 to 65535"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Voter { id: NodeId(id), host: host.to_string(), port })
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

    /// Cluster mode if `--voters` asks for it (validated against the other flags),
    /// `None` for standalone. `Err` is a message for the operator.
    pub fn cluster_plan(&self) -> Result<Option<ClusterPlan>, String> {
        let Some(voters) = &self.voters else {
            let cluster_only = [
                ("--peer-port", self.peer_port.is_some()),
                ("--broker-session-timeout-ms", self.broker_session_timeout_ms.is_some()),
                ("--broker-heartbeat-interval-ms", self.broker_heartbeat_interval_ms.is_some()),
                ("--raft-tick-ms", self.raft_tick_ms.is_some()),
                ("--replica-lag-time-max-ms", self.replica_lag_time_max_ms.is_some()),
            ];
            if let Some((flag, _)) = cluster_only.iter().find(|(_, set)| *set) {
                return Err(format!("{flag} applies to cluster mode only; give --voters too"));
            }
            return Ok(None);
        };
        if self.command == Some(Command::Standalone) {
            return Err("--voters runs cluster mode: drop the `standalone` subcommand".into());
        }
        let voters = parse_voters(voters)?;
        let me = NodeId(self.node_id);
        let Some(own) = voters.iter().find(|v| v.id == me) else {
            let ids: Vec<String> = voters.iter().map(|v| v.id.0.to_string()).collect();
            return Err(format!("--node-id {} is not among the voters ({})", me.0, ids.join(", ")));
        };
        let peer_port = match self.peer_port {
            Some(p) if p != own.port => {
                return Err(format!(
                    "--peer-port {p} does not match this node's --voters entry {}@{} (port {})",
                    me.0,
                    own.addr(),
                    own.port
                ))
            }
            _ => own.port,
        };
        if peer_port == self.kafka_port {
            return Err(format!("the peer port and --kafka-port are both {peer_port}"));
        }
        let mut config = ClusterConfig::new(voters.iter().map(|v| v.id).collect());
        if let Some(ms) = self.broker_session_timeout_ms {
            config.broker_session_timeout_ms = ms;
        }
        if let Some(ms) = self.broker_heartbeat_interval_ms {
            config.broker_heartbeat_interval_ms = ms;
        }
        if let Some(ms) = self.raft_tick_ms {
            config.tick_interval_ms = ms;
        }
        if let Some(ms) = self.replica_lag_time_max_ms {
            config.replica_lag_time_max_ms = ms;
        }
        if config.broker_heartbeat_interval_ms >= config.broker_session_timeout_ms {
            return Err(format!(
                "the broker heartbeat interval ({} ms) must be below the broker session timeout ({} ms)",
                config.broker_heartbeat_interval_ms, config.broker_session_timeout_ms
            ));
        }
        Ok(Some(ClusterPlan { voters, peer_port, config }))
    }

    /// The core's configuration; `seed` only picks topic ids; `cluster` from [`Cli::cluster_plan`].
    pub fn broker_config(&self, seed: u64, cluster: Option<ClusterConfig>) -> BrokerConfig {
        let cluster_id = match (&self.cluster_id, &cluster) {
            (Some(id), _) => id.clone(),
            (None, None) => "chronik-standalone".into(),
            (None, Some(_)) => "chronik-cluster".into(),
        };
        BrokerConfig {
            cluster,
            cluster_id,
            node_id: NodeId(self.node_id),
            advertised_host: self.advertised_addr.clone(),
            advertised_port: i32::from(self.advertised_port()),
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
        let cfg = cli.broker_config(5, None);
        assert_eq!(cfg.advertised_host, "localhost");
        assert_eq!(cfg.advertised_port, 9092);
        assert!(cfg.auto_create_topics);
        assert_eq!(cfg.default_partitions, 1);
        assert_eq!(cfg.seed, 5);
        assert_eq!(cfg.cluster_id, "chronik-standalone");
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
        let cfg = cli.broker_config(0, None);
        assert_eq!(cfg.advertised_port, 19092);
        assert!(!cfg.auto_create_topics);
        assert_eq!(cfg.default_partitions, 3);
        assert!(Cli::try_parse_from(["chronik-server"]).unwrap().command.is_none());
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("chronik-server").chain(args.iter().copied())).unwrap()
    }

    const VOTERS: &str = "1@127.0.0.1:9093,2@127.0.0.1:9193,3@localhost:9293";

    /// Proves the documented cluster invocation gives a cluster config with every voter,
    /// derives the peer port from this node's entry and applies the tuning flags.
    #[test]
    fn cluster_invocation() {
        let cli = parse(&["--node-id", "2", "--kafka-port", "9192", "--voters", VOTERS, "--broker-session-timeout-ms", "3000"]);
        let plan = cli.cluster_plan().unwrap().expect("cluster mode");
        assert_eq!(plan.peer_port, 9193);
        assert_eq!(plan.config.voters, vec![NodeId(1), NodeId(2), NodeId(3)]);
        assert_eq!(plan.config.broker_session_timeout_ms, 3000);
        assert_eq!(plan.voters[2], Voter { id: NodeId(3), host: "localhost".into(), port: 9293 });
        let cfg = cli.broker_config(0, Some(plan.config));
        assert_eq!(cfg.node_id, NodeId(2));
        assert!(cfg.cluster.is_some());
        assert_eq!(cfg.cluster_id, "chronik-cluster");

        let same = parse(&["--node-id", "2", "--kafka-port", "9192", "--voters", VOTERS, "--peer-port", "9193", "--raft-tick-ms", "50"]);
        let plan = same.cluster_plan().unwrap().unwrap();
        assert_eq!(plan.config.tick_interval_ms, 50);
        assert!(parse(&[]).cluster_plan().unwrap().is_none(), "no --voters: standalone");
    }

    /// Proves bad cluster command lines are refused with a message naming the problem.
    #[test]
    fn cluster_invocation_errors() {
        let err = |args: &[&str]| parse(args).cluster_plan().unwrap_err();
        assert!(err(&["--node-id", "4", "--voters", VOTERS]).contains("not among the voters"));
        assert!(err(&["--node-id", "1", "--voters", VOTERS, "--peer-port", "9999"]).contains("does not match"));
        assert!(err(&["--node-id", "1", "--voters", "1@h:1,1@h:2"]).contains("listed twice"));
        assert!(err(&["--node-id", "1", "--voters", "1@h:1,2@h:1"]).contains("listed twice"));
        assert!(err(&["--node-id", "1", "--voters", "-1@h:1"]).contains("negative"));
        assert!(err(&["--node-id", "1", "--voters", "1@h:1,,2@h:2"]).contains("empty entry"));
        assert!(err(&["--node-id", "1", "--voters", "1h:1"]).contains("no '@'"));
        assert!(err(&["--node-id", "1", "--voters", "1@h"]).contains("no ':PORT'"));
        assert!(err(&["--node-id", "1", "--voters", "1@h:x"]).contains("port"));
        assert!(err(&["--node-id", "1", "--voters", "x@h:1"]).contains("not a number"));
        assert!(err(&["--node-id", "1", "--voters", "1@:1"]).contains("no host"));
        assert!(err(&["--node-id", "1", "--kafka-port", "9093", "--voters", VOTERS]).contains("--kafka-port"));
        assert!(err(&["--node-id", "1", "--voters", VOTERS, "standalone"]).contains("standalone"));
        assert!(err(&["--peer-port", "9093"]).contains("cluster mode only"));
        assert!(err(&["--voters", VOTERS, "--broker-heartbeat-interval-ms", "7000"]).contains("below"));
    }

    /// Proves an IPv6 voter address is accepted in brackets and dialed in brackets.
    #[test]
    fn ipv6_voter() {
        let v = parse_voters("1@[::1]:9093").unwrap();
        assert_eq!(v[0].host, "::1");
        assert_eq!(v[0].addr(), "[::1]:9093");
    }
}
