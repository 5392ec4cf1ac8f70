//! Primitive types of the Kafka protocol: bounded readers and writers.
//!
//! A [`Reader`] or [`Writer`] carries a `flexible` flag: in flexible versions
//! strings, bytes and arrays use compact (unsigned varint, length + 1) prefixes and
//! structs end with tagged fields. Messages set the flag from their version before
//! reading or writing their fields.

use bytes::{BufMut, Bytes, BytesMut};

use crate::types::TopicId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A length or count points past the end of the frame.
    NotEnoughBytes,
    /// The bytes are present but do not form a valid value.
    Invalid(&'static str),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::NotEnoughBytes => write!(f, "frame too short for the lengths it declares"),
            DecodeError::Invalid(why) => write!(f, "invalid value: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

pub type DecodeResult<T> = Result<T, DecodeError>;

/// A value that can be read from the wire in a given API version.
pub trait Decode: Sized {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self>;
}

/// A value that can be written to the wire in a given API version.
pub trait Encode {
    fn encode(&self, w: &mut Writer, version: i16);
}

/// One tagged field's `(tag, bytes)`, ready for [`Writer::tagged_fields`]: `f` writes
/// the value into a fresh flexible writer.
///
/// A tagged field's value is length-prefixed, so it has to be written on its own
/// before the struct's tag section can be; this keeps that dance out of every message.
pub fn tagged_field(tag: u32, f: impl FnOnce(&mut Writer)) -> (u32, Bytes) {
    let mut w = Writer::new();
    w.flexible = true;
    f(&mut w);
    (tag, w.finish().freeze())
}

/// A flexible reader over one tagged field's bytes (as returned by
/// [`Reader::tagged_fields`]).
///
/// Tagged fields only exist in flexible versions, so their values are always read
/// with compact encodings, whatever reader they came from.
pub fn tagged_reader(data: Bytes) -> Reader {
    let mut r = Reader::new(data);
    r.flexible = true;
    r
}

/// Reject versions outside the implemented range `min..=max`.
///
/// Fields come and go between versions, so decoding a version this broker does not
/// implement would misread the frame instead of failing; every message checks first.
pub fn check_version(version: i16, min: i16, max: i16) -> DecodeResult<()> {
    if (min..=max).contains(&version) {
        Ok(())
    } else {
        Err(DecodeError::Invalid("unsupported api version"))
    }
}

/// Reads protocol primitives from a frame, never past its end.
///
/// Byte fields (`bytes`, `records`) are returned as slices of the frame's `Bytes`,
/// so a produced record batch is kept without copying.
pub struct Reader {
    buf: Bytes,
    pos: usize,
    /// Compact encodings and tagged fields (set per message from its version).
    pub flexible: bool,
}

impl Reader {
    pub fn new(buf: Bytes) -> Reader {
        Reader { buf, pos: 0, flexible: false }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> DecodeResult<&[u8]> {
        if self.remaining() < n {
            return Err(DecodeError::NotEnoughBytes);
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    fn take_bytes(&mut self, n: usize) -> DecodeResult<Bytes> {
        if self.remaining() < n {
            return Err(DecodeError::NotEnoughBytes);
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    pub fn i8(&mut self) -> DecodeResult<i8> {
        Ok(self.take(1)?[0] as i8)
    }

    pub fn bool(&mut self) -> DecodeResult<bool> {
        Ok(self.i8()? != 0)
    }

    pub fn i16(&mut self) -> DecodeResult<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u16(&mut self) -> DecodeResult<u16> {
        Ok(self.i16()? as u16)
    }

    pub fn i32(&mut self) -> DecodeResult<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u32(&mut self) -> DecodeResult<u32> {
        Ok(self.i32()? as u32)
    }

    pub fn i64(&mut self) -> DecodeResult<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn f64(&mut self) -> DecodeResult<f64> {
        Ok(f64::from_bits(self.i64()? as u64))
    }

    pub fn uuid(&mut self) -> DecodeResult<TopicId> {
        let b = self.take(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ok(TopicId(a))
    }

    /// Unsigned LEB128 varint, at most 5 bytes.
    pub fn uvarint(&mut self) -> DecodeResult<u32> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.take(1)?[0];
            if i == 4 && byte > 0x0f {
                return Err(DecodeError::Invalid("unsigned varint overflows 32 bits"));
            }
            value |= ((byte & 0x7f) as u32) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Invalid("unsigned varint longer than 5 bytes"))
    }

    /// Zig-zag varint (32 bits), as used inside records.
    pub fn varint(&mut self) -> DecodeResult<i32> {
        let v = self.uvarint()?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Zig-zag varlong (64 bits), as used inside records.
    pub fn varlong(&mut self) -> DecodeResult<i64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.take(1)?[0];
            if i == 9 && byte > 0x01 {
                return Err(DecodeError::Invalid("varlong overflows 64 bits"));
            }
            value |= ((byte & 0x7f) as u64) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
            }
        }
        Err(DecodeError::Invalid("varlong longer than 10 bytes"))
    }

    /// The length prefix of a nullable string/bytes field: `None` for null.
    fn length(&mut self, wide: bool) -> DecodeResult<Option<usize>> {
        if self.flexible {
            let n = self.uvarint()?;
            Ok(if n == 0 { None } else { Some((n - 1) as usize) })
        } else {
            let n = if wide { self.i32()? } else { self.i16()? as i32 };
            match n {
                -1 => Ok(None),
                n if n < 0 => Err(DecodeError::Invalid("negative length")),
                n => Ok(Some(n as usize)),
            }
        }
    }

    pub fn nullable_string(&mut self) -> DecodeResult<Option<String>> {
        match self.length(false)? {
            None => Ok(None),
            Some(n) => {
                let raw = self.take(n)?;
                let s = std::str::from_utf8(raw).map_err(|_| DecodeError::Invalid("string is not UTF-8"))?;
                Ok(Some(s.to_owned()))
            }
        }
    }

    pub fn string(&mut self) -> DecodeResult<String> {
        self.nullable_string()?.ok_or(DecodeError::Invalid("null where a string is required"))
    }

    pub fn nullable_bytes(&mut self) -> DecodeResult<Option<Bytes>> {
        match self.length(true)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take_bytes(n)?)),
        }
    }

    pub fn bytes(&mut self) -> DecodeResult<Bytes> {
        self.nullable_bytes()?.ok_or(DecodeError::Invalid("null where bytes are required"))
    }

    /// A record set: nullable bytes, kept as a slice of the frame.
    pub fn records(&mut self) -> DecodeResult<Option<Bytes>> {
        self.nullable_bytes()
    }

    /// The element count of a nullable array, checked against the bytes left:
    /// every element takes at least one byte.
    pub fn array_len(&mut self) -> DecodeResult<Option<usize>> {
        let n = if self.flexible {
            match self.uvarint()? {
                0 => return Ok(None),
                n => (n - 1) as usize,
            }
        } else {
            match self.i32()? {
                -1 => return Ok(None),
                n if n < 0 => return Err(DecodeError::Invalid("negative array length")),
                n => n as usize,
            }
        };
        if n > self.remaining() {
            return Err(DecodeError::NotEnoughBytes);
        }
        Ok(Some(n))
    }

    /// A nullable array whose elements `f` reads.
    pub fn nullable_array<T>(&mut self, mut f: impl FnMut(&mut Reader) -> DecodeResult<T>) -> DecodeResult<Option<Vec<T>>> {
        match self.array_len()? {
            None => Ok(None),
            Some(n) => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(f(self)?);
                }
                Ok(Some(out))
            }
        }
    }

    /// A non-null array (null reads as an error).
    pub fn array<T>(&mut self, f: impl FnMut(&mut Reader) -> DecodeResult<T>) -> DecodeResult<Vec<T>> {
        self.nullable_array(f)?.ok_or(DecodeError::Invalid("null where an array is required"))
    }

    /// An array of structs that implement [`Decode`].
    pub fn array_of<T: Decode>(&mut self, version: i16) -> DecodeResult<Vec<T>> {
        self.array(|r| T::decode(r, version))
    }

    /// A nullable array of structs that implement [`Decode`].
    pub fn nullable_array_of<T: Decode>(&mut self, version: i16) -> DecodeResult<Option<Vec<T>>> {
        self.nullable_array(|r| T::decode(r, version))
    }

    /// Skip a struct's tagged fields (flexible versions only; a no-op otherwise).
    /// Returns the raw (tag, bytes) pairs for messages that read known tags.
    pub fn tagged_fields(&mut self) -> DecodeResult<Vec<(u32, Bytes)>> {
        if !self.flexible {
            return Ok(Vec::new());
        }
        let n = self.uvarint()? as usize;
        if n > self.remaining() {
            return Err(DecodeError::NotEnoughBytes);
        }
        let mut out = Vec::new();
        for _ in 0..n {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            out.push((tag, self.take_bytes(size)?));
        }
        Ok(out)
    }

    /// Skip tagged fields, ignoring their contents.
    pub fn skip_tagged_fields(&mut self) -> DecodeResult<()> {
        self.tagged_fields().map(|_| ())
    }

    /// Everything not yet read.
    pub fn rest(&mut self) -> Bytes {
        let out = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        out
    }
}

/// Writes protocol primitives into a growing buffer.
pub struct Writer {
    buf: BytesMut,
    /// Finished chunks before `buf`: written bytes, then shared record data
    /// ([`Writer::nullable_records`]) that is referenced, not copied.
    chunks: Vec<Chunk>,
    /// Compact encodings and tagged fields (set per message from its version).
    pub flexible: bool,
}

#[derive(Debug)]
enum Chunk {
    /// Bytes this writer wrote (still patchable).
    Written(BytesMut),
    /// Record data referenced as it is.
    Shared(Bytes),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Written(b) => b,
            Chunk::Shared(b) => b,
        }
    }
}

/// Record data at least this long is referenced by [`Writer::nullable_records`]
/// instead of copied: below it, a copy is cheaper than another chunk to write.
pub const SHARED_RECORDS_BYTES_MIN: usize = 4096;

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer { buf: BytesMut::with_capacity(256), chunks: Vec::new(), flexible: false }
    }

    /// Bytes written so far, shared record data included.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes().len()).sum::<usize>() + self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything written, in one buffer (shared record data is copied in).
    pub fn finish(self) -> BytesMut {
        if self.chunks.is_empty() {
            return self.buf;
        }
        let mut out = BytesMut::with_capacity(self.len());
        for c in &self.chunks {
            out.put_slice(c.bytes());
        }
        out.put_slice(&self.buf);
        out
    }

    /// Everything written, as chunks to send in order: shared record data stays
    /// where it is (one copy less for fetch responses). Never empty chunks.
    pub fn finish_chunks(self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.chunks.len() + 1);
        for c in self.chunks {
            out.push(match c {
                Chunk::Written(b) => b.freeze(),
                Chunk::Shared(b) => b,
            });
        }
        if !self.buf.is_empty() || out.is_empty() {
            out.push(self.buf.freeze());
        }
        out
    }

    /// Overwrite four bytes written earlier (frame length prefixes).
    pub fn patch_i32(&mut self, at: usize, v: i32) {
        let v = v.to_be_bytes();
        let mut start = 0;
        for c in &mut self.chunks {
            let len = c.bytes().len();
            if at < start + len {
                let Chunk::Written(b) = c else { panic!("patch at {at} lies in shared record data") };
                b[at - start..at - start + 4].copy_from_slice(&v);
                return;
            }
            start += len;
        }
        self.buf[at - start..at - start + 4].copy_from_slice(&v);
    }

    pub fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.buf.put_i8(v as i8);
    }
    pub fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.put_f64(v);
    }
    pub fn uuid(&mut self, v: TopicId) {
        self.buf.put_slice(&v.0);
    }
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.put_slice(b);
    }

    pub fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }

    pub fn varint(&mut self, v: i32) {
        self.uvarint(((v << 1) ^ (v >> 31)) as u32);
    }

    pub fn varlong(&mut self, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            self.buf.put_u8((z as u8) | 0x80);
            z >>= 7;
        }
        self.buf.put_u8(z as u8);
    }

    fn length(&mut self, len: Option<usize>, wide: bool) {
        if self.flexible {
            self.uvarint(len.map(|n| n as u32 + 1).unwrap_or(0));
        } else if wide {
            self.i32(len.map(|n| n as i32).unwrap_or(-1));
        } else {
            self.i16(len.map(|n| n as i16).unwrap_or(-1));
        }
    }

    pub fn nullable_string(&mut self, v: Option<&str>) {
        self.length(v.map(str::len), false);
        if let Some(s) = v {
            self.buf.put_slice(s.as_bytes());
        }
    }

    pub fn string(&mut self, v: &str) {
        self.nullable_string(Some(v));
    }

    pub fn nullable_bytes(&mut self, v: Option<&[u8]>) {
        self.length(v.map(<[u8]>::len), true);
        if let Some(b) = v {
            self.buf.put_slice(b);
        }
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.nullable_bytes(Some(v));
    }

    /// Like [`Writer::nullable_bytes`], but large record data is referenced rather
    /// than copied (see [`Writer::finish_chunks`]).
    pub fn nullable_records(&mut self, v: Option<&Bytes>) {
        match v {
            Some(b) if b.len() >= SHARED_RECORDS_BYTES_MIN => {
                self.length(Some(b.len()), true);
                self.chunks.push(Chunk::Written(self.buf.split()));
                self.chunks.push(Chunk::Shared(b.clone()));
            }
            _ => self.nullable_bytes(v.map(|b| &b[..])),
        }
    }

    /// The length prefix of a (nullable) array.
    pub fn array_len(&mut self, len: Option<usize>) {
        if self.flexible {
            self.uvarint(len.map(|n| n as u32 + 1).unwrap_or(0));
        } else {
            self.i32(len.map(|n| n as i32).unwrap_or(-1));
        }
    }

    pub fn array<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Writer, &T)) {
        self.array_len(Some(items.len()));
        for item in items {
            f(self, item);
        }
    }

    pub fn nullable_array<T>(&mut self, items: Option<&[T]>, mut f: impl FnMut(&mut Writer, &T)) {
        self.array_len(items.map(<[T]>::len));
        for item in items.unwrap_or(&[]) {
            f(self, item);
        }
    }

    pub fn array_of<T: Encode>(&mut self, items: &[T], version: i16) {
        self.array(items, |w, x| x.encode(w, version));
    }

    pub fn nullable_array_of<T: Encode>(&mut self, items: Option<&[T]>, version: i16) {
        self.nullable_array(items, |w, x| x.encode(w, version));
    }

    /// Empty tagged fields (flexible versions only).
    pub fn empty_tagged_fields(&mut self) {
        if self.flexible {
            self.uvarint(0);
        }
    }

    /// Tagged fields, sorted by tag as the protocol requires.
    pub fn tagged_fields(&mut self, fields: &[(u32, Bytes)]) {
        if !self.flexible {
            return;
        }
        self.uvarint(fields.len() as u32);
        for (tag, data) in fields {
            self.uvarint(*tag);
            self.uvarint(data.len() as u32);
            self.buf.put_slice(data);
        }
    }
}

/// Test helpers shared by every message module's tests.
#[cfg(test)]
pub mod testing {
    use std::fmt::Debug;

    use bytes::Bytes;

    use super::{Decode, DecodeError, Encode, Reader, Writer};
    use crate::types::TopicId;

    /// Encode `m` in `version`, decode it back, and check that the result equals `m`
    /// and that the decoder consumed every byte the encoder wrote.
    pub fn round_trip<T: Encode + Decode + PartialEq + Debug>(m: &T, version: i16) {
        let mut w = Writer::new();
        m.encode(&mut w, version);
        let mut r = Reader::new(w.finish().freeze());
        let got = T::decode(&mut r, version).unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(&got, m, "v{version}");
        assert_eq!(r.remaining(), 0, "v{version}: bytes left over");
    }

    /// Check `m` against hand-assembled `bytes` in both directions: `bytes` decode to
    /// `m` with nothing left over, and `m` encodes to exactly `bytes`. An encode/decode
    /// pair that agree on a wrong layout passes [`round_trip`] but not this.
    pub fn assert_known_bytes<T: Encode + Decode + PartialEq + Debug>(m: &T, version: i16, bytes: &[u8]) {
        let mut r = Reader::new(Bytes::copy_from_slice(bytes));
        let got = T::decode(&mut r, version).unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(&got, m, "v{version}");
        assert_eq!(r.remaining(), 0, "v{version}: bytes left over");
        let mut w = Writer::new();
        m.encode(&mut w, version);
        assert_eq!(&w.finish()[..], bytes, "v{version}");
    }

    /// The error that decoding `bytes` as a `T` in `version` fails with (panics if it
    /// succeeds).
    pub fn decode_error<T: Decode + Debug>(bytes: &[u8], version: i16) -> DecodeError {
        let mut r = Reader::new(Bytes::copy_from_slice(bytes));
        T::decode(&mut r, version).unwrap_err()
    }

    /// A topic id with every byte `b`.
    pub fn id(b: u8) -> TopicId {
        TopicId([b; 16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(b: &[u8], flexible: bool) -> Reader {
        let mut r = Reader::new(Bytes::copy_from_slice(b));
        r.flexible = flexible;
        r
    }

    /// A hostile array count (2^32-2 as a compact length) fails without allocating.
    /// Large record data is sent from where it lies; the chunks say exactly what
    /// one buffer would, and a length prefix before it can still be patched.
    #[test]
    fn large_records_are_referenced_not_copied() {
        let big = Bytes::from(vec![7u8; SHARED_RECORDS_BYTES_MIN]);
        let small = Bytes::from_static(b"tiny");
        for flexible in [false, true] {
            let write = |shared: bool| {
                let mut w = Writer::new();
                w.flexible = flexible;
                w.i32(0);
                for v in [Some(&big), Some(&small), None] {
                    if shared {
                        w.nullable_records(v);
                    } else {
                        w.nullable_bytes(v.map(|b| &b[..]));
                    }
                }
                w.i16(9);
                w.patch_i32(0, 1234);
                w
            };
            let one = write(false).finish();
            assert_eq!(write(true).len(), one.len());
            assert_eq!(&write(true).finish()[..], &one[..], "finish copies the shared data in");
            let chunks = write(true).finish_chunks();
            assert_eq!(chunks.concat(), one.to_vec());
            assert_eq!(chunks.len(), 3, "written, shared, written");
            assert_eq!(chunks[1].as_ptr(), big.as_ptr(), "the record data itself, not a copy");
            assert_eq!(&one[..4], &1234i32.to_be_bytes());
        }
    }

    #[test]
    fn huge_compact_array_count_is_rejected() {
        let mut r = reader(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00], true);
        assert_eq!(r.array(|r| r.i8()).unwrap_err(), DecodeError::NotEnoughBytes);
    }

    #[test]
    fn huge_classic_array_count_is_rejected() {
        let mut r = reader(&[0x7f, 0xff, 0xff, 0xff, 0x00], false);
        assert_eq!(r.array(|r| r.i8()).unwrap_err(), DecodeError::NotEnoughBytes);
    }

    #[test]
    fn string_longer_than_frame_is_rejected() {
        let mut r = reader(&[0x7f, 0xff, b'a'], false);
        assert_eq!(r.string().unwrap_err(), DecodeError::NotEnoughBytes);
    }

    #[test]
    fn varints_round_trip() {
        for v in [0i64, 1, -1, 63, -64, 300, i32::MAX as i64, i64::MIN, i64::MAX] {
            let mut w = Writer::new();
            w.varlong(v);
            let mut r = Reader::new(w.finish().freeze());
            assert_eq!(r.varlong().unwrap(), v);
        }
        for v in [0u32, 127, 128, 16384, u32::MAX] {
            let mut w = Writer::new();
            w.uvarint(v);
            let mut r = Reader::new(w.finish().freeze());
            assert_eq!(r.uvarint().unwrap(), v);
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let mut r = reader(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], false);
        assert!(r.uvarint().is_err());
    }

    #[test]
    fn tagged_field_size_is_bounded() {
        let mut r = reader(&[0x01, 0x00, 0xff, 0xff, 0x03], true);
        assert_eq!(r.tagged_fields().unwrap_err(), DecodeError::NotEnoughBytes);
    }
}
