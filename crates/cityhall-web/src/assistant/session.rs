//! A conversation's context travels with the client as a signed token
//! (`v1.{payload}.{mac}`, base64url, HMAC-SHA-256 with the server's secret key),
//! so any replica can continue a conversation and nothing is stored per question.
//! It holds only what the conversation is about (a procedure code) and when it
//! expires; a forged, altered or expired token is simply a new conversation.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Context;

/// How long a conversation keeps its context without a new question.
pub const TTL_SECS: i64 = 30 * 60;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Conversation id (random), for logs.
    i: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    /// Expiry, Unix seconds.
    e: i64,
}

fn mac(key: &[u8; 32], payload: &str) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(b"cityhall-assistant-v1\0");
    m.update(payload.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// A conversation read from a token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conversation {
    pub id: String,
    pub context: Context,
}

/// Reads `token`; `None` when it is missing, malformed, forged or expired.
pub fn decode(key: &[u8; 32], token: &str, now_unix: i64) -> Option<Conversation> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let rest = token.trim().strip_prefix("v1.")?;
    let (payload, tag) = rest.split_once('.')?;
    let tag = b64.decode(tag).ok()?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(b"cityhall-assistant-v1\0");
    m.update(payload.as_bytes());
    m.verify_slice(&tag).ok()?;
    let p: Payload = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
    (p.e > now_unix).then_some(Conversation {
        id: p.i,
        context: Context { procedure: p.p },
    })
}

/// The token for `conversation`, valid for [`TTL_SECS`] from `now_unix`.
pub fn encode(key: &[u8; 32], conversation: &Conversation, now_unix: i64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = Payload {
        i: conversation.id.clone(),
        p: conversation.context.procedure.clone(),
        e: now_unix + TTL_SECS,
    };
    let payload = b64.encode(serde_json::to_vec(&payload).expect("plain struct"));
    let tag = b64.encode(mac(key, &payload));
    format!("v1.{payload}.{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_expiry_and_forgery() {
        let key = [7u8; 32];
        let c = Conversation {
            id: "abc".into(),
            context: Context {
                procedure: Some("1.001193".into()),
            },
        };
        let t = encode(&key, &c, 1000);
        assert_eq!(decode(&key, &t, 1001), Some(c.clone()));
        assert_eq!(decode(&key, &t, 1000 + TTL_SECS), None, "expired");
        assert_eq!(decode(&[8u8; 32], &t, 1001), None, "other key");
        // Swap in another procedure without the key: refused.
        let other = encode(
            &[9u8; 32],
            &Conversation {
                id: "abc".into(),
                context: Context {
                    procedure: Some("1.000894".into()),
                },
            },
            1000,
        );
        let forged = format!(
            "v1.{}.{}",
            other.split('.').nth(1).unwrap(),
            t.split('.').nth(2).unwrap()
        );
        assert_eq!(decode(&key, &forged, 1001), None);
        for junk in ["", "v1.", "v1.x.y", "v2.a.b", "garbage"] {
            assert_eq!(decode(&key, junk, 1001), None, "{junk:?}");
        }
    }
}
