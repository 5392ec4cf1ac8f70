//! Topic configuration: the settings a topic may override, their defaults,
//! validation, and how they become the log's [`LogConfig`].
//!
//! Only settings the broker actually honours are accepted. An unknown name, or a
//! value the broker would not honour (for example `compression.type` other than
//! `producer`: Chronik stores batches as the producer sent them and does not
//! recompress), is refused with INVALID_CONFIG and a message saying why.

use std::collections::BTreeMap;

use crate::log::LogConfig;
use crate::records::TimestampType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Integer within [min, max].
    Long {
        min: i64,
        max: i64,
    },
    /// One of the listed values.
    Choice(&'static [&'static str]),
    Bool,
}

/// A topic config the broker knows.
pub struct ConfigDef {
    pub name: &'static str,
    pub default: &'static str,
    kind: Kind,
}

const DAY_MS: &str = "604800000";

/// Every topic config, sorted by name.
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    ConfigDef { name: "cleanup.policy", default: "delete", kind: Kind::Choice(&["delete"]) },
    ConfigDef { name: "compression.type", default: "producer", kind: Kind::Choice(&["producer"]) },
    ConfigDef { name: "file.delete.delay.ms", default: "60000", kind: Kind::Long { min: 0, max: i64::MAX } },
    ConfigDef { name: "index.interval.bytes", default: "4096", kind: Kind::Long { min: 0, max: i32::MAX as i64 } },
    ConfigDef { name: "max.message.bytes", default: "1048588", kind: Kind::Long { min: 0, max: i32::MAX as i64 } },
    ConfigDef { name: "message.timestamp.after.max.ms", default: "3600000", kind: Kind::Long { min: 0, max: i64::MAX } },
    ConfigDef { name: "message.timestamp.before.max.ms", default: "9223372036854775807", kind: Kind::Long { min: 0, max: i64::MAX } },
    ConfigDef { name: "message.timestamp.type", default: "CreateTime", kind: Kind::Choice(&["CreateTime", "LogAppendTime"]) },
    ConfigDef { name: "min.insync.replicas", default: "1", kind: Kind::Long { min: 1, max: i32::MAX as i64 } },
    ConfigDef { name: "retention.bytes", default: "-1", kind: Kind::Long { min: -1, max: i64::MAX } },
    ConfigDef { name: "retention.ms", default: DAY_MS, kind: Kind::Long { min: -1, max: i64::MAX } },
    ConfigDef { name: "segment.bytes", default: "1073741824", kind: Kind::Long { min: 14, max: i32::MAX as i64 } },
    ConfigDef { name: "segment.ms", default: DAY_MS, kind: Kind::Long { min: 1, max: i64::MAX } },
    ConfigDef { name: "unclean.leader.election.enable", default: "false", kind: Kind::Bool },
];

pub fn def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Check one setting; the error is the message for INVALID_CONFIG.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let Some(d) = def(name) else {
        return Err(format!("Unknown topic config name: {name}"));
    };
    match d.kind {
        Kind::Long { min, max } => match value.trim().parse::<i64>() {
            Ok(v) if v >= min && v <= max => Ok(()),
            Ok(v) => Err(format!("Invalid value {v} for configuration {name}: value must be between {min} and {max}")),
            Err(_) => Err(format!("Invalid value {value} for configuration {name}: Not a number of type LONG")),
        },
        Kind::Choice(options) => {
            if options.contains(&value) {
                Ok(())
            } else {
                Err(format!("Invalid value {value} for configuration {name}: this broker supports only {}", options.join(", ")))
            }
        }
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => Err(format!("Invalid value {value} for configuration {name}: Expected value to be either true or false")),
        },
    }
}

/// A topic's overrides (only what was set explicitly; the rest is default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    pub overrides: BTreeMap<String, String>,
}

impl TopicConfig {
    /// The effective value of a known config.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.overrides.get(name).map(String::as_str).or_else(|| def(name).map(|d| d.default))
    }

    pub fn is_default(&self, name: &str) -> bool {
        !self.overrides.contains_key(name)
    }

    fn long(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.trim().parse().ok()).expect("validated numeric config")
    }

    pub fn max_message_bytes(&self) -> usize {
        self.long("max.message.bytes") as usize
    }

    pub fn timestamp_before_max_ms(&self) -> i64 {
        self.long("message.timestamp.before.max.ms")
    }

    pub fn timestamp_after_max_ms(&self) -> i64 {
        self.long("message.timestamp.after.max.ms")
    }

    pub fn timestamp_type(&self) -> TimestampType {
        match self.get("message.timestamp.type") {
            Some("LogAppendTime") => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        }
    }

    pub fn min_insync_replicas(&self) -> i64 {
        self.long("min.insync.replicas")
    }

    /// What the partition log needs from this config.
    pub fn log_config(&self) -> LogConfig {
        LogConfig {
            segment_bytes: self.long("segment.bytes") as u64,
            segment_ms: self.long("segment.ms"),
            retention_ms: self.long("retention.ms"),
            retention_bytes: self.long("retention.bytes"),
            index_interval_bytes: self.long("index.interval.bytes").max(1) as u32,
            timestamp_type: self.timestamp_type(),
            max_decompressed_bytes: self.max_decompressed_bytes(),
        }
    }

    /// Bound on the bytes one batch may decompress to (64 × `max.message.bytes`,
    /// between 16 MiB and 1 GiB).
    pub fn max_decompressed_bytes(&self) -> usize {
        self.max_message_bytes().saturating_mul(64).clamp(16 << 20, 1 << 30)
    }

    /// Validate a full set of overrides.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Result<TopicConfig, String> {
        let mut c = TopicConfig::default();
        for (name, value) in pairs {
            match value {
                Some(v) => {
                    validate(name, v)?;
                    c.overrides.insert(name.to_string(), v.to_string());
                }
                None => {
                    if def(name).is_none() {
                        return Err(format!("Unknown topic config name: {name}"));
                    }
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defaults apply until overridden; the log sees the effective values.
    #[test]
    fn overrides_and_defaults() {
        let c = TopicConfig::from_pairs([("retention.ms", Some("1000")), ("segment.bytes", Some("2048"))]).unwrap();
        assert_eq!(c.get("retention.ms"), Some("1000"));
        assert_eq!(c.get("cleanup.policy"), Some("delete"));
        assert!(c.is_default("max.message.bytes"));
        let lc = c.log_config();
        assert_eq!(lc.retention_ms, 1000);
        assert_eq!(lc.segment_bytes, 2048);
    }

    /// Unknown names and values the broker would not honour are refused.
    #[test]
    fn refuses_what_it_cannot_honour() {
        assert!(validate("no.such.config", "1").is_err());
        assert!(validate("retention.ms", "abc").is_err());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("compression.type", "gzip").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate("unclean.leader.election.enable", "TRUE").is_ok());
    }
}
