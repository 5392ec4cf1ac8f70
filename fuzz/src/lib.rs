//! Shared pieces of Chronik's wire fuzz targets (see `README.md`):
//!
//! - [`alloc`]: a counting global allocator, so a target can assert how much one
//!   decode or one broker call allocated;
//! - [`guard`]: panic capture that tolerates panics the core catches on purpose
//!   (third-party decompressors) and aborts on any that escape;
//! - [`memdisk`]: a tiny in-memory disk answering the broker's `Output::Disk`;
//! - [`seeds`]: real request frames (ApiVersions, Metadata, Produce, ...);
//! - [`scenario`]: the `broker_connection` input format and its driver.

pub mod alloc;
pub mod guard;
pub mod memdisk;
pub mod scenario;
pub mod seeds;
