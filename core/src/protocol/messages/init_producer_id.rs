//! InitProducerId (key 22): a producer asks for its producer id and epoch.
//! Versions 0-5, flexible from 2. `producer_id`/`producer_epoch` exist in the
//! request from v3 (KIP-360: a producer bumping its own epoch) and take Kafka's
//! default -1 in older versions.

use crate::protocol::codec::{Decode, DecodeResult, Encode, Reader, Writer};

#[derive(Debug, Clone, PartialEq)]
pub struct InitProducerIdRequest {
    /// `None` for an idempotent (non-transactional) producer.
    pub transactional_id: Option<String>,
    pub transaction_timeout_ms: i32,
    /// v3+: the producer's current id, or -1.
    pub producer_id: i64,
    /// v3+: the producer's current epoch, or -1.
    pub producer_epoch: i16,
}

impl Default for InitProducerIdRequest {
    fn default() -> Self {
        InitProducerIdRequest { transactional_id: None, transaction_timeout_ms: 0, producer_id: -1, producer_epoch: -1 }
    }
}

impl Decode for InitProducerIdRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let mut m =
            InitProducerIdRequest { transactional_id: r.nullable_string()?, transaction_timeout_ms: r.i32()?, ..Default::default() };
        if version >= 3 {
            m.producer_id = r.i64()?;
            m.producer_epoch = r.i16()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for InitProducerIdRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.nullable_string(self.transactional_id.as_deref());
        w.i32(self.transaction_timeout_ms);
        if version >= 3 {
            w.i64(self.producer_id);
            w.i16(self.producer_epoch);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct InitProducerIdResponse {
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl Decode for InitProducerIdResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        r.flexible = version >= 2;
        let m =
            InitProducerIdResponse { throttle_time_ms: r.i32()?, error_code: r.i16()?, producer_id: r.i64()?, producer_epoch: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for InitProducerIdResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    /// Every version (0-5) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        let resp = InitProducerIdResponse { throttle_time_ms: 3, error_code: 0, producer_id: 1_000_001, producer_epoch: 7 };
        for version in 0..=5 {
            let mut req =
                InitProducerIdRequest { transactional_id: Some("txn-a".into()), transaction_timeout_ms: 60_000, ..Default::default() };
            round_trip(&req, version);
            req.transactional_id = None;
            if version >= 3 {
                req.producer_id = 42;
                req.producer_epoch = 3;
            }
            round_trip(&req, version);
            round_trip(&resp, version);
        }
    }

    /// A v0 request, a v4 request and a v2 response match bytes assembled by hand.
    #[test]
    fn known_bytes() {
        let req = InitProducerIdRequest { transactional_id: None, transaction_timeout_ms: 258, ..Default::default() };
        assert_known_bytes(&req, 0, &[0xff, 0xff, 0, 0, 1, 2]);

        let req =
            InitProducerIdRequest { transactional_id: Some("t".into()), transaction_timeout_ms: 1, producer_id: 5, producer_epoch: 2 };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            2, b't',                // compact string "t"
            0, 0, 0, 1,             // transaction_timeout_ms
            0, 0, 0, 0, 0, 0, 0, 5, // producer_id
            0, 2,                   // producer_epoch
            0,                      // tags
        ];
        assert_known_bytes(&req, 4, req_bytes);

        let resp = InitProducerIdResponse { throttle_time_ms: 0, error_code: 0, producer_id: 1000, producer_epoch: 0 };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,                  // throttle_time_ms
            0, 0,                        // error_code
            0, 0, 0, 0, 0, 0, 0x03, 0xe8, // producer_id 1000
            0, 0,                        // producer_epoch
            0,                           // tags
        ];
        assert_known_bytes(&resp, 2, resp_bytes);
    }

    /// Truncated input and a hostile string length fail with a DecodeError.
    #[test]
    fn hostile_input_is_rejected() {
        assert_eq!(decode_error::<InitProducerIdRequest>(&[0x7f, 0xff, b'x'], 0), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<InitProducerIdRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, b'x'], 2), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<InitProducerIdRequest>(&[0xff, 0xff, 0, 0, 0, 1, 0, 0], 3), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<InitProducerIdResponse>(&[0, 0, 0, 0, 0, 0, 0, 0], 0), DecodeError::NotEnoughBytes);
        assert!(matches!(decode_error::<InitProducerIdRequest>(&[2, 0xff, 0, 0, 0, 1, 0], 2), DecodeError::Invalid(_)));
    }
}
