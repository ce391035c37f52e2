//! Fee payment through a payment provider, VNPay-style: the platform redirects the resident
//! to the provider with signed parameters, and the provider calls back (and redirects back)
//! with signed parameters saying what happened. The signature is HMAC-SHA512 over the
//! parameters sorted by name and form-encoded, hex in `vnp_SecureHash`.
//!
//! The built-in sandbox provider speaks the same protocol, so demo and tests exercise the
//! real signing and checking.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha512;

/// The parameter carrying the signature.
pub const HASH_PARAM: &str = "vnp_SecureHash";
/// Ignored when signing, as VNPay does.
pub const HASH_TYPE_PARAM: &str = "vnp_SecureHashType";

/// Form-encodes a value the way the signature expects (space as `+`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The string that is signed: `k=v&k=v` sorted by key, empty values left out, the hash
/// parameters excluded.
pub fn canonical(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, v)| !v.is_empty() && *k != HASH_PARAM && *k != HASH_TYPE_PARAM)
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The hex HMAC-SHA512 signature of `params` under `secret`.
pub fn sign(secret: &[u8], params: &BTreeMap<String, String>) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(canonical(params).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks the signature in `params` (constant time).
pub fn verify(secret: &[u8], params: &BTreeMap<String, String>) -> bool {
    let Some(given) = params.get(HASH_PARAM) else {
        return false;
    };
    let Ok(given) = hex::decode(given.to_ascii_lowercase()) else {
        return false;
    };
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(canonical(params).as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Adds the signature to `params`.
pub fn signed(secret: &[u8], mut params: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let sig = sign(secret, &params);
    params.insert(HASH_PARAM.to_string(), sig);
    params
}

/// A query string of `params` (already signed).
pub fn query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BTreeMap<String, String> {
        [
            ("vnp_Amount", "2000000"),
            ("vnp_TxnRef", "abc"),
            ("vnp_OrderInfo", "Lệ phí hồ sơ UBND-26734-261123-0001"),
            ("vnp_Locale", "vn"),
            ("vnp_Empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn canonical_is_sorted_encoded_and_skips_empty_and_hash() {
        let mut p = params();
        p.insert(HASH_PARAM.into(), "x".into());
        p.insert(HASH_TYPE_PARAM.into(), "HmacSHA512".into());
        assert_eq!(
            canonical(&p),
            "vnp_Amount=2000000&vnp_Locale=vn&vnp_OrderInfo=L%E1%BB%87+ph%C3%AD+h%E1%BB%93+s%C6%A1+UBND-26734-261123-0001&vnp_TxnRef=abc"
        );
    }

    #[test]
    fn signature_round_trips_and_detects_tampering() {
        let s = signed(b"secret", params());
        assert_eq!(s[HASH_PARAM].len(), 128);
        assert!(verify(b"secret", &s));
        assert!(!verify(b"other", &s));
        let mut t = s.clone();
        t.insert("vnp_Amount".into(), "1".into());
        assert!(!verify(b"secret", &t));
        let mut u = s.clone();
        u.remove(HASH_PARAM);
        assert!(!verify(b"secret", &u));
        let mut v = s;
        v.insert(HASH_PARAM.into(), "zz".into());
        assert!(!verify(b"secret", &v));
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA512("key", "a=1&b=2"), computed with Python's hmac module.
        let p: BTreeMap<String, String> = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        assert_eq!(canonical(&p), "a=1&b=2");
        assert_eq!(
            sign(b"key", &p),
            "f0bf70eeff52566e292939bcb6721233dfc80a73f533e2c183425da8acf052470dda6629e177e5f17d183ff38bf9a4d94a6d650f887002e2826a720094760d95"
        );
    }
}
