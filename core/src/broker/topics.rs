//! The topic registry: names, ids, partition counts and configs, and their
//! on-disk form.
//!
//! Each topic is described by one small file, `__meta/topics/<name>`, replaced
//! atomically (`DiskOp::ReplaceFile`) whenever the topic changes. A partition
//! directory (`<name>-<n>`) without a description is a leftover of an interrupted
//! create or delete and is removed at start. Creation writes the partition logs
//! first and the description last; deletion removes the description first.

use std::collections::BTreeMap;

use crate::types::TopicId;

use super::topic_config::TopicConfig;

/// Where topic descriptions live, relative to the data dir.
pub const META_DIR: &str = "__meta/topics";

/// Kafka's limit on topic name length.
pub const TOPIC_NAME_LEN_MAX: usize = 249;

/// Kafka's rules for a topic name; the error is the message for INVALID_TOPIC_EXCEPTION.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > TOPIC_NAME_LEN_MAX {
        return Err(format!("Topic name is illegal, it can't be longer than {TOPIC_NAME_LEN_MAX} characters, topic name: {name}"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"));
    }
    if name.starts_with("__meta") {
        return Err(format!("Topic name \"{name}\" is reserved by the broker"));
    }
    Ok(())
}

/// The directory of one partition's log, as Kafka names it.
pub fn partition_dir(topic: &str, partition: i32) -> String {
    format!("{topic}-{partition}")
}

pub fn meta_path(topic: &str) -> String {
    format!("{META_DIR}/{topic}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicState {
    /// Logs or description still being written; not visible to clients.
    Creating,
    Live,
    /// Description removed; logs being deleted. The name stays taken until then.
    Deleting,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub id: TopicId,
    pub config: TopicConfig,
    /// Owner tag of each partition, by partition index.
    pub partitions: Vec<u64>,
    /// Partitions being added (CreatePartitions): their logs are being created and
    /// join `partitions` once the description with the new count is durable.
    pub adding: Vec<u64>,
    pub state: TopicState,
}

impl Topic {
    pub fn description(&self, partitions: usize) -> TopicDescription {
        TopicDescription { name: self.name.clone(), id: self.id, partitions: partitions as i32, config: self.config.clone() }
    }
}

/// The persisted part of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub id: TopicId,
    pub partitions: i32,
    pub config: TopicConfig,
}

impl TopicDescription {
    /// A line-based text form: `key=value` lines, config overrides as `config.<name>=<value>`.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::new();
        s.push_str("format=1\n");
        s.push_str(&format!("name={}\n", self.name));
        s.push_str(&format!("id={}\n", hex(&self.id.0)));
        s.push_str(&format!("partitions={}\n", self.partitions));
        for (k, v) in &self.config.overrides {
            s.push_str(&format!("config.{k}={v}\n"));
        }
        s.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<TopicDescription, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "topic description is not UTF-8".to_string())?;
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        let mut config = TopicConfig::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=').ok_or_else(|| format!("malformed line {line:?}"))?;
            if let Some(name) = k.strip_prefix("config.") {
                config.overrides.insert(name.to_string(), v.to_string());
            } else {
                fields.insert(k, v);
            }
        }
        if fields.get("format") != Some(&"1") {
            return Err("unknown topic description format".into());
        }
        let name = fields.get("name").ok_or("missing name")?.to_string();
        let id = unhex(fields.get("id").ok_or("missing id")?).ok_or("malformed id")?;
        let partitions: i32 = fields.get("partitions").ok_or("missing partitions")?.parse().map_err(|_| "malformed partitions")?;
        if partitions <= 0 {
            return Err("partition count must be positive".into());
        }
        for (k, v) in &config.overrides {
            super::topic_config::validate(k, v)?;
        }
        Ok(TopicDescription { name, id: TopicId(id), partitions, config })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A description survives its text form unchanged.
    #[test]
    fn description_round_trips() {
        let config = TopicConfig::from_pairs([("retention.ms", Some("5000"))]).unwrap();
        let d = TopicDescription { name: "orders.v1".into(), id: TopicId([7; 16]), partitions: 3, config };
        assert_eq!(TopicDescription::decode(&d.encode()).unwrap(), d);
    }

    /// Garbage never decodes to a topic.
    #[test]
    fn malformed_descriptions_are_refused() {
        assert!(TopicDescription::decode(b"").is_err());
        assert!(TopicDescription::decode(b"format=1\nname=a\nid=zz\npartitions=1\n").is_err());
        assert!(TopicDescription::decode(b"format=1\nname=a\nid=00000000000000000000000000000000\npartitions=0\n").is_err());
        assert!(TopicDescription::decode(&[0xff, 0xfe]).is_err());
    }

    /// Kafka's naming rules.
    #[test]
    fn topic_names() {
        assert!(validate_name("orders_v1.x-y").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("..").is_err());
        assert!(validate_name("bad name!").is_err());
        assert!(validate_name(&"a".repeat(250)).is_err());
        assert!(validate_name("__meta").is_err());
    }
}
