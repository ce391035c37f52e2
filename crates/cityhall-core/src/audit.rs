//! The audit chain (nhật ký kiểm toán): the canonical form of an entry and the hash that
//! links it to the one before. Storage writes entries; a sealer gives them their place;
//! `verify` walks the chain with these functions.

use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry that the chain protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at_micros: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub subject_user_id: Option<&'a str>,
    pub digest: &'a str,
}

impl ChainEntry<'_> {
    /// Canonical bytes: each field as `len:value;` so no two entries share an encoding.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let seq = self.seq.to_string();
        let at = self.at_micros.to_string();
        for f in [
            seq.as_str(),
            self.id,
            at.as_str(),
            self.actor,
            self.action,
            self.object_type,
            self.object_id,
            self.subject_user_id.unwrap_or("-"),
            self.digest,
        ] {
            out.extend_from_slice(f.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(f.as_bytes());
            out.push(b';');
        }
        out
    }

    /// `hash = SHA-256(previous hash ‖ canonical entry)`, hex.
    pub fn hash(&self, prev_hash_hex: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash_hex.as_bytes());
        h.update(self.canonical());
        hex::encode(h.finalize())
    }
}

/// The digest of an entry's detail (the change itself), hex SHA-256.
pub fn digest(detail: &str) -> String {
    hex::encode(Sha256::digest(detail.as_bytes()))
}

/// The message the signature of the chain's head covers.
pub fn head_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("cityhall-audit-head:{seq}:{hash}").into_bytes()
}

/// The message a checkpoint signs.
pub fn checkpoint_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("cityhall-audit-checkpoint:{seq}:{hash}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(seq: i64, actor: &str) -> ChainEntry<'_> {
        ChainEntry {
            seq,
            id: "id",
            at_micros: 1,
            actor,
            action: "a",
            object_type: "t",
            object_id: "o",
            subject_user_id: None,
            digest: "d",
        }
    }

    #[test]
    fn hash_depends_on_every_field_and_the_previous_hash() {
        let h = e(1, "x").hash(GENESIS_HASH);
        assert_ne!(h, e(2, "x").hash(GENESIS_HASH));
        assert_ne!(h, e(1, "y").hash(GENESIS_HASH));
        assert_ne!(h, e(1, "x").hash(&h));
        assert_eq!(h, e(1, "x").hash(GENESIS_HASH));
    }

    #[test]
    fn canonical_form_is_unambiguous() {
        let a = ChainEntry {
            actor: "ab",
            action: "c",
            ..e(1, "")
        };
        let b = ChainEntry {
            actor: "a",
            action: "bc",
            ..e(1, "")
        };
        assert_ne!(a.canonical(), b.canonical());
    }
}
