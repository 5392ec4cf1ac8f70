//! Recovery of the data directory at start.
//!
//! 1. List `__meta/topics` and the data directory root; read the producer id
//!    block end (see [`super::producer_ids`]).
//! 2. Read every topic description; open each partition log (each recovers
//!    itself: see [`crate::log`]).
//! 3. Remove partition directories that no description claims (an interrupted
//!    create or delete) — but never those of a topic whose description could not
//!    be read: those are kept for an operator to look at.
//! 4. When every log has finished loading, report `Output::Ready`.

use std::collections::BTreeSet;

use crate::io::{DirEntry, DiskOp, DiskResult};

use super::producer_ids;
use super::topic_config::TopicConfig;
use super::topics::{self, Topic, TopicDescription, TopicState};
use super::{Broker, MetaOp};

#[derive(Debug, Clone)]
pub enum StartupStep {
    ListTopics,
    ListRoot,
    ReadTopic(String),
    ListMeta,
    ReadProducerIds,
}

#[derive(Debug, Default)]
pub struct Startup {
    /// Listings and reads not yet answered.
    outstanding: usize,
    root: Option<Vec<DirEntry>>,
    /// Topics whose description exists but could not be read or parsed.
    broken: BTreeSet<String>,
    orphans_handled: bool,
}

impl Broker {
    pub(crate) fn begin_startup(&mut self) {
        tracing::info!("recovering the data directory");
        for (step, path) in [(StartupStep::ListTopics, topics::META_DIR), (StartupStep::ListRoot, "")] {
            let id = self.meta_io().submit(DiskOp::ListDir { path: path.to_string() });
            self.meta_ops.insert(id, MetaOp::Startup(step));
            self.startup.outstanding += 1;
        }
        // Listed first, so a new broker does not issue a read bound to fail.
        let id = self.meta_io().submit(DiskOp::ListDir { path: producer_ids::META_DIR.into() });
        self.meta_ops.insert(id, MetaOp::Startup(StartupStep::ListMeta));
        self.startup.outstanding += 1;
    }

    pub(crate) fn on_startup_step(&mut self, step: StartupStep, result: DiskResult) {
        self.startup.outstanding -= 1;
        match (step, result) {
            (StartupStep::ListTopics, DiskResult::Listing(entries)) => {
                for e in entries.into_iter().filter(|e| !e.is_dir && !e.name.ends_with(".tmp")) {
                    let id = self.meta_io().submit(DiskOp::ReadFile { path: topics::meta_path(&e.name) });
                    self.meta_ops.insert(id, MetaOp::Startup(StartupStep::ReadTopic(e.name)));
                    self.startup.outstanding += 1;
                }
            }
            (StartupStep::ListRoot, DiskResult::Listing(entries)) => self.startup.root = Some(entries),
            (StartupStep::ReadTopic(name), DiskResult::Read(bytes)) => match TopicDescription::decode(&bytes) {
                Ok(desc) if desc.name == name => self.load_topic(desc),
                Ok(desc) => {
                    tracing::error!(file = name, named = desc.name, "topic description names another topic; leaving it alone");
                    self.startup.broken.insert(name);
                }
                Err(why) => {
                    tracing::error!(topic = name, %why, "unreadable topic description; its partitions stay offline and on disk");
                    self.startup.broken.insert(name);
                }
            },
            (StartupStep::ListMeta, DiskResult::Listing(entries)) => {
                if entries.iter().any(|e| !e.is_dir && e.name == producer_ids::PRODUCER_IDS_NAME) {
                    let id = self.meta_io().submit(DiskOp::ReadFile { path: producer_ids::PRODUCER_IDS_FILE.into() });
                    self.meta_ops.insert(id, MetaOp::Startup(StartupStep::ReadProducerIds));
                    self.startup.outstanding += 1;
                }
            }
            (StartupStep::ReadProducerIds, DiskResult::Read(bytes)) => match producer_ids::decode_block_end(&bytes) {
                Some(end) => self.producer_ids.start_at(end),
                None => tracing::error!("the producer id block file is corrupt; ids will start above those in the logs"),
            },
            (StartupStep::ReadProducerIds | StartupStep::ListMeta, DiskResult::Failed(why)) => {
                tracing::error!(%why, "reading the producer id block failed; ids will start above those in the logs");
            }
            (step, DiskResult::Failed(why)) => {
                tracing::error!(?step, %why, "reading the data directory failed");
                if let StartupStep::ReadTopic(name) = step {
                    self.startup.broken.insert(name);
                } else if let StartupStep::ListRoot = step {
                    // Without a listing, no leftover is removed.
                    self.startup.root = Some(Vec::new());
                }
            }
            (step, other) => tracing::error!(?step, ?other, "unexpected disk result during startup"),
        }
        self.check_startup_done();
    }

    fn load_topic(&mut self, desc: TopicDescription) {
        let config: TopicConfig = desc.config.clone();
        let mut owners = Vec::new();
        for index in 0..desc.partitions {
            owners.push(self.open_partition_log(&desc.name, index, &config));
        }
        tracing::info!(topic = desc.name, partitions = desc.partitions, "loading topic");
        self.topics.insert(
            desc.name.clone(),
            Topic { name: desc.name, id: desc.id, config, partitions: owners, adding: Vec::new(), state: TopicState::Live },
        );
    }

    /// Remove leftovers once every description is read; report ready once every log is loaded.
    pub(crate) fn check_startup_done(&mut self) {
        if self.startup.outstanding > 0 {
            return;
        }
        if !self.startup.orphans_handled {
            self.startup.orphans_handled = true;
            let root = self.startup.root.take().unwrap_or_default();
            for e in root.iter().filter(|e| e.is_dir) {
                if self.is_orphan(&e.name) {
                    tracing::warn!(dir = e.name, "removing a partition directory no topic claims (interrupted create or delete)");
                    let id = self.meta_io().submit(DiskOp::Remove { path: e.name.clone() });
                    self.meta_ops.insert(id, MetaOp::OrphanRemoved);
                }
            }
        }
        let loading = self.partitions.values().any(|p| matches!(p.log.state(), crate::log::LogState::Loading));
        if !loading && self.cluster_recovered() {
            self.settle_producer_id_start();
            self.mark_ready();
        }
    }

    /// Whether `topic` has a description on disk that could not be read at start:
    /// the topic exists (its partitions stay offline, their files untouched), so it
    /// must be neither auto-created nor created again over its data.
    pub(crate) fn description_unreadable(&self, topic: &str) -> bool {
        self.startup.broken.contains(topic)
    }

    /// A directory `<topic>-<n>` whose topic has no description, or whose index is
    /// past the described partition count.
    fn is_orphan(&self, dir: &str) -> bool {
        let Some((topic, index)) = dir.rsplit_once('-') else { return false };
        let Ok(index) = index.parse::<usize>() else { return false };
        if topics::validate_name(topic).is_err() || self.startup.broken.contains(topic) {
            return false;
        }
        match self.topics.get(topic) {
            None => true,
            Some(t) => index >= t.partitions.len(),
        }
    }
}
