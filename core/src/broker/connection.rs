//! One client connection: frame reassembly, the request limit, and responses
//! released strictly in request order.
//!
//! Kafka clients rely on responses arriving in the order requests were sent. The
//! broker may finish requests out of order (an `acks=1` produce behind an
//! `acks=all` one), so every request that will be answered takes a slot; a
//! response is sent only once every slot before it is filled.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::types::ConnId;

/// What the frame parser found at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete request frame (without its length prefix).
    Request(Bytes),
    /// More bytes are needed.
    Incomplete,
    /// The declared length is negative or above the limit: close the connection.
    Invalid(i32),
}

pub struct Connection {
    pub id: ConnId,
    pub peer: String,
    buf: BytesMut,
    /// Responses (each as chunks to send in order) in request order; `None` while
    /// the request is being processed.
    slots: VecDeque<(u64, Option<Vec<Bytes>>)>,
    next_slot: u64,
    /// The driver was told to stop reading this connection.
    pub paused: bool,
    /// Closing: nothing more is read or answered.
    pub closing: bool,
}

impl Connection {
    pub fn new(id: ConnId, peer: String) -> Connection {
        Connection { id, peer, buf: BytesMut::new(), slots: VecDeque::new(), next_slot: 0, paused: false, closing: false }
    }

    /// Appends received bytes. When nothing is buffered and the driver hands over the
    /// only reference to its read buffer, that buffer becomes the connection's: frames
    /// are then split from it without copying a byte.
    pub fn push(&mut self, data: bytes::Bytes) {
        if self.buf.is_empty() {
            match data.try_into_mut() {
                Ok(owned) => self.buf = owned,
                Err(shared) => self.buf.extend_from_slice(&shared),
            }
        } else {
            self.buf.extend_from_slice(&data);
        }
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Requests taken but not yet answered.
    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }

    /// Take the next frame if it is complete. `request_bytes_max` bounds the
    /// declared length before anything is reserved for it.
    pub fn next_frame(&mut self, request_bytes_max: usize) -> Frame {
        if self.buf.len() < 4 {
            return Frame::Incomplete;
        }
        let len = i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if len < 0 || len as usize > request_bytes_max {
            return Frame::Invalid(len);
        }
        let len = len as usize;
        if self.buf.len() < 4 + len {
            // Reserve for the rest of this frame only: it is within the limit.
            self.buf.reserve(4 + len - self.buf.len());
            return Frame::Incomplete;
        }
        self.buf.advance(4);
        Frame::Request(self.buf.split_to(len).freeze())
    }

    /// Reserve the next response slot.
    pub fn take_slot(&mut self) -> u64 {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.slots.push_back((slot, None));
        slot
    }

    /// Fill a slot; returns false if the slot is unknown (already released).
    pub fn fill(&mut self, slot: u64, response: Vec<Bytes>) -> bool {
        match self.slots.iter_mut().find(|(s, _)| *s == slot) {
            Some(entry) => {
                assert!(entry.1.is_none(), "response slot filled twice");
                entry.1 = Some(response);
                true
            }
            None => false,
        }
    }

    /// Hand the chunks of the responses ready to send, in order, to `send`.
    pub fn drain_ready(&mut self, mut send: impl FnMut(Bytes)) {
        while matches!(self.slots.front(), Some((_, Some(_)))) {
            let (_, resp) = self.slots.pop_front().expect("front exists");
            resp.expect("checked ready").into_iter().for_each(&mut send);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::new(ConnId(1), "test".into())
    }

    /// A frame split across arbitrary chunks is reassembled exactly.
    #[test]
    fn reassembles_split_frames() {
        let mut c = conn();
        let mut frame = vec![0, 0, 0, 3, 7, 8, 9];
        frame.extend_from_slice(&[0, 0, 0, 1, 5]);
        c.push(bytes::Bytes::copy_from_slice(&frame[..2]));
        assert_eq!(c.next_frame(100), Frame::Incomplete);
        c.push(bytes::Bytes::copy_from_slice(&frame[2..6]));
        assert_eq!(c.next_frame(100), Frame::Incomplete);
        c.push(bytes::Bytes::copy_from_slice(&frame[6..]));
        assert_eq!(c.next_frame(100), Frame::Request(Bytes::from_static(&[7, 8, 9])));
        assert_eq!(c.next_frame(100), Frame::Request(Bytes::from_static(&[5])));
        assert_eq!(c.next_frame(100), Frame::Incomplete);
    }

    /// Oversized and negative lengths are refused before any allocation.
    #[test]
    fn refuses_bad_lengths() {
        let mut c = conn();
        c.push(bytes::Bytes::copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]));
        assert_eq!(c.next_frame(100 << 20), Frame::Invalid(i32::MAX));
        let mut c = conn();
        c.push(bytes::Bytes::copy_from_slice(&[0xff, 0xff, 0xff, 0xfe]));
        assert_eq!(c.next_frame(100), Frame::Invalid(-2));
    }

    /// Responses leave in request order even when finished out of order.
    #[test]
    fn releases_in_order() {
        let mut c = conn();
        let a = c.take_slot();
        let b = c.take_slot();
        let drain = |c: &mut Connection| {
            let mut sent = Vec::new();
            c.drain_ready(|b| sent.push(b));
            sent
        };
        assert!(c.fill(b, vec![Bytes::from_static(b"b1"), Bytes::from_static(b"b2")]));
        assert!(drain(&mut c).is_empty());
        assert!(c.fill(a, vec![Bytes::from_static(b"a")]));
        assert_eq!(drain(&mut c), vec![Bytes::from_static(b"a"), Bytes::from_static(b"b1"), Bytes::from_static(b"b2")]);
        assert_eq!(c.in_flight(), 0);
    }
}
