//! One record inside a batch body (Kafka's `DefaultRecord`):
//! length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
//! keyLength varint | key | valueLength varint | value | headerCount varint |
//! headers (keyLength varint | key | valueLength varint | value).
//! A negative key or value length is null; a negative header key length is invalid.

use std::ops::Range;

use bytes::Bytes;

use super::varint::{put_varint, put_varlong, Cursor};
use super::{BatchError, Record};

/// Smallest encoded record: a one-byte length and six one-byte fields.
pub(crate) const RECORD_BYTES_MIN: usize = 7;

/// A record parsed in place: ranges index the body it was read from.
#[derive(Debug, Clone)]
pub(crate) struct RecordView {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<Range<usize>>,
    pub value: Option<Range<usize>>,
    /// Each header's key and value ranges.
    pub headers: Vec<(Range<usize>, Option<Range<usize>>)>,
}

fn invalid(msg: &str) -> BatchError {
    BatchError::InvalidRecord(msg.to_string())
}

fn nullable(cur: &mut Cursor<'_>, what: &str) -> Result<Option<Range<usize>>, BatchError> {
    let len = cur.varint().ok_or_else(|| invalid(&format!("record {what} length unreadable")))?;
    if len < 0 {
        return Ok(None);
    }
    cur.take(len as usize).map(Some).ok_or_else(|| invalid(&format!("record {what} of {len} bytes runs past the record")))
}

/// Read the record at the cursor of `body`. With `want_headers` false the headers
/// are checked but their ranges are not collected.
pub(crate) fn read(cur: &mut Cursor<'_>, want_headers: bool) -> Result<RecordView, BatchError> {
    let len = cur.varint().ok_or_else(|| invalid("premature end of records: record length unreadable"))?;
    if len < 0 {
        return Err(invalid(&format!("negative record length {len}")));
    }
    let start = cur.pos();
    if len as usize > cur.remaining() {
        return Err(invalid(&format!("record of {len} bytes, only {} remain", cur.remaining())));
    }
    let end = start + len as usize;
    let view = read_body(cur, want_headers)?;
    if cur.pos() != end {
        return Err(invalid(&format!("record length {len} but its fields took {}", cur.pos() - start)));
    }
    Ok(view)
}

fn read_body(cur: &mut Cursor<'_>, want_headers: bool) -> Result<RecordView, BatchError> {
    let structure = || invalid("invalid record structure");
    let _attributes = cur.u8().ok_or_else(structure)?;
    let timestamp_delta = cur.varlong().ok_or_else(structure)?;
    let offset_delta = cur.varint().ok_or_else(structure)?;
    let key = nullable(cur, "key")?;
    let value = nullable(cur, "value")?;
    let count = cur.varint().ok_or_else(structure)?;
    if count < 0 || count as usize > cur.remaining() {
        return Err(invalid(&format!("invalid record header count {count}")));
    }
    let mut headers = Vec::with_capacity(if want_headers { count as usize } else { 0 });
    for _ in 0..count {
        let klen = cur.varint().ok_or_else(structure)?;
        if klen < 0 {
            return Err(invalid(&format!("negative header key length {klen}")));
        }
        let k = cur.take(klen as usize).ok_or_else(structure)?;
        let v = nullable(cur, "header value")?;
        if want_headers {
            headers.push((k, v));
        }
    }
    Ok(RecordView { timestamp_delta, offset_delta, key, value, headers })
}

/// Turn a view into an owned record; `body` is the `Bytes` the view was read from.
pub(crate) fn to_record(view: &RecordView, body: &Bytes, timestamp: i64) -> Record {
    let slice = |r: &Range<usize>| body.slice(r.clone());
    Record {
        offset_delta: view.offset_delta,
        timestamp,
        key: view.key.as_ref().map(slice),
        value: view.value.as_ref().map(slice),
        headers: view
            .headers
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(&body[k.clone()]).into_owned(), v.as_ref().map(slice)))
            .collect(),
    }
}

fn put_nullable(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, len_i32(b.len()));
            out.extend_from_slice(b);
        }
    }
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).expect("record field larger than i32::MAX bytes")
}

/// Append one encoded record to `out`.
pub(crate) fn write(out: &mut Vec<u8>, r: &Record, offset_delta: i32, timestamp_delta: i64) {
    let mut body = Vec::with_capacity(16);
    body.push(0); // attributes: unused in magic 2
    put_varlong(&mut body, timestamp_delta);
    put_varint(&mut body, offset_delta);
    put_nullable(&mut body, r.key.as_deref());
    put_nullable(&mut body, r.value.as_deref());
    put_varint(&mut body, len_i32(r.headers.len()));
    for (k, v) in &r.headers {
        put_nullable(&mut body, Some(k.as_bytes()));
        put_nullable(&mut body, v.as_deref());
    }
    put_varint(out, len_i32(body.len()));
    out.extend_from_slice(&body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            offset_delta: 0,
            timestamp: 0,
            key: Some(Bytes::from_static(b"k")),
            value: None,
            headers: vec![("h".into(), Some(Bytes::from_static(b"hv"))), ("n".into(), None)],
        }
    }

    // Proves: a record written then read back keeps key, null value, headers and deltas.
    #[test]
    fn write_then_read() {
        let mut out = Vec::new();
        write(&mut out, &sample(), 3, -7);
        let body = Bytes::from(out);
        let mut cur = Cursor::new(&body);
        let v = read(&mut cur, true).unwrap();
        assert_eq!(cur.remaining(), 0);
        assert_eq!(v.offset_delta, 3);
        assert_eq!(v.timestamp_delta, -7);
        let r = to_record(&v, &body, 5);
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value, None);
        assert_eq!(r.headers, sample().headers);
        assert_eq!(r.timestamp, 5);
    }

    // Proves: every truncation of a record is InvalidRecord, and so is a length that disagrees with the fields.
    #[test]
    fn truncated_or_inconsistent() {
        let mut out = Vec::new();
        write(&mut out, &sample(), 0, 0);
        for n in 0..out.len() {
            assert!(matches!(read(&mut Cursor::new(&out[..n]), true), Err(BatchError::InvalidRecord(_))));
        }
        let mut longer = out.clone();
        longer[0] += 2; // claims two more bytes than the fields use
        longer.extend_from_slice(&[0, 0]);
        assert!(read(&mut Cursor::new(&longer), true).is_err());
    }
}
