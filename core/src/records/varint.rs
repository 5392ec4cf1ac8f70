//! Zig-zag varints as Kafka's `ByteUtils` writes them (records use them for every length).
//! Reads are bounded by the slice and never panic.

/// A cursor over a byte slice; every read checks the bytes present.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Cursor<'a> {
        Cursor { buf, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    /// `n` bytes as a range of the underlying slice.
    pub(crate) fn take(&mut self, n: usize) -> Option<std::ops::Range<usize>> {
        if n > self.remaining() {
            return None;
        }
        let start = self.pos;
        self.pos += n;
        Some(start..self.pos)
    }
    /// A zig-zag varint of at most 5 bytes (Kafka's `readVarint`).
    pub(crate) fn varint(&mut self) -> Option<i32> {
        let mut raw: u32 = 0;
        for i in 0..5 {
            let b = self.u8()?;
            raw |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Some(((raw >> 1) as i32) ^ -((raw & 1) as i32));
            }
        }
        None
    }
    /// A zig-zag varlong of at most 10 bytes (Kafka's `readVarlong`).
    pub(crate) fn varlong(&mut self) -> Option<i64> {
        let mut raw: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            raw |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        None
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, v: i32) {
    let mut raw = ((v << 1) ^ (v >> 31)) as u32;
    while raw >= 0x80 {
        out.push((raw as u8 & 0x7f) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

pub(crate) fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut raw = ((v << 1) ^ (v >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8 & 0x7f) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves: varints and varlongs round-trip at the edges and match Kafka's zig-zag bytes.
    #[test]
    fn round_trip() {
        for v in [0, 1, -1, 63, -64, 64, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(Cursor::new(&out).varint(), Some(v));
        }
        for v in [0i64, 1, -1, i64::MAX, i64::MIN, 1 << 40] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(Cursor::new(&out).varlong(), Some(v));
        }
        let mut out = Vec::new();
        put_varint(&mut out, -1);
        assert_eq!(out, [0x01]);
        out.clear();
        put_varint(&mut out, 150);
        assert_eq!(out, [0xac, 0x02]);
    }

    // Proves: a truncated or over-long varint is refused, not read past the slice.
    #[test]
    fn bounded() {
        assert_eq!(Cursor::new(&[0x80]).varint(), None);
        assert_eq!(Cursor::new(&[0xff; 6]).varint(), None);
        assert_eq!(Cursor::new(&[0xff; 11]).varlong(), None);
        assert_eq!(Cursor::new(&[]).varlong(), None);
    }
}
