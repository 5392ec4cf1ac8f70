//! Kafka's wire protocol, written here and safe by construction.
//!
//! Every length a peer declares (strings, bytes, arrays, tagged fields) is checked
//! against the bytes actually present before anything is allocated: an array of
//! `n` elements needs at least `n` bytes (every element of every Kafka message
//! occupies at least one byte), so a hostile count fails with
//! [`DecodeError::NotEnoughBytes`] instead of reserving memory for it.
//!
//! Layout: [`codec`] holds the primitive readers and writers, [`header`] the
//! request and response headers, [`api`] the table of API keys and the versions
//! this broker implements, and [`messages`] one module per API with its request
//! and response types (both directions, so that tests and the simulator's clients
//! can speak the protocol too).

pub mod api;
pub mod codec;
pub mod error_code;
pub mod header;
pub mod messages;

pub use codec::{Decode, DecodeError, Encode, Reader, Writer};
