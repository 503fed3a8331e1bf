//! Who may call what: relying parties by API key (`API_KEYS`), operators by `ADMIN_TOKEN`.
//! Secrets are compared in constant time; API keys are kept only as SHA-256 digests.

use crate::errors::ErrorCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::rest::RestError;

/// Shortest API key accepted, in characters.
pub const MIN_API_KEY_CHARS: usize = 32;

/// One relying party and the digest of its API key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The relying party's name: the `aud` of its sessions' tokens.
    pub party: String,
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({})", self.party)
    }
}

/// A relying party's name: 1 to 64 letters, digits, `-` or `_`.
pub fn valid_party(name: &str) -> bool {
    crate::protocol::connection::valid_session_id(name)
}

/// `API_KEYS`: `name:key` pairs, comma-separated. The error says what is expected, never
/// which key was wrong.
pub fn parse_api_keys(list: &str) -> Result<Vec<ApiKey>, &'static str> {
    let mut keys: Vec<ApiKey> = Vec::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (party, key) = pair.split_once(':').ok_or("name:key pairs, comma-separated")?;
        if !valid_party(party) {
            return Err("name:key pairs; a name is 1 to 64 letters, digits, - or _");
        }
        if key.chars().count() < MIN_API_KEY_CHARS {
            return Err("name:key pairs; a key has at least 32 characters (openssl rand -hex 32)");
        }
        if keys.iter().any(|k| k.party == party) {
            return Err("name:key pairs; each name once");
        }
        keys.push(ApiKey { party: party.to_string(), digest: Sha256::digest(key.as_bytes()).into() });
    }
    if keys.is_empty() {
        return Err("name:key pairs, comma-separated");
    }
    Ok(keys)
}

/// The secret of `Authorization: Bearer <secret>`, or "".
fn bearer(authorization: Option<&str>) -> &str {
    authorization.and_then(|value| value.trim().strip_prefix("Bearer ")).map(str::trim).unwrap_or("")
}

/// The relying party whose API key `authorization` carries. The digest of what was given is
/// compared with every key's, whatever matches first, so timing tells nothing of the keys.
pub fn relying_party<'a>(keys: &'a [ApiKey], authorization: Option<&str>) -> Result<&'a ApiKey, RestError> {
    let given: [u8; 32] = Sha256::digest(bearer(authorization).as_bytes()).into();
    let mut found = None;
    for key in keys {
        if bool::from(key.digest.ct_eq(&given)) {
            found = Some(key);
        }
    }
    found.filter(|_| !bearer(authorization).is_empty()).ok_or_else(|| {
        let detail = if keys.is_empty() {
            "API_KEYS is not set: no relying party may create sessions"
        } else {
            "Authorization: Bearer <API key> is missing or wrong"
        };
        RestError::new(ErrorCode::Unauthorized, detail)
    })
}

/// Whether `authorization` carries the operator's `ADMIN_TOKEN`.
pub fn require_admin(admin_token: Option<&str>, authorization: Option<&str>) -> Result<(), RestError> {
    let Some(expected) = admin_token else {
        return Err(RestError::new(ErrorCode::Unauthorized, "ADMIN_TOKEN is not set: the admin endpoints are off"));
    };
    require_token("ADMIN_TOKEN", expected, authorization)
}

/// Whether `authorization` bears `expected`, the value of setting `name` (compared as
/// SHA-256 digests in constant time).
pub fn require_token(name: &str, expected: &str, authorization: Option<&str>) -> Result<(), RestError> {
    let given: [u8; 32] = Sha256::digest(bearer(authorization).as_bytes()).into();
    let expected: [u8; 32] = Sha256::digest(expected.as_bytes()).into();
    if !bool::from(given.ct_eq(&expected)) {
        return Err(RestError::new(
            ErrorCode::Unauthorized,
            format!("Authorization: Bearer <{name}> is missing or wrong"),
        ));
    }
    Ok(())
}

/// The hex SHA-256 of `secret`: what is stored of a client token.
pub fn digest_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "0123456789abcdef0123456789abcdef";
    const BANK: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn each_key_names_its_relying_party() {
        let keys = parse_api_keys(&format!("shop:{SHOP},bank:{BANK}")).unwrap();
        let party = |auth: &str| relying_party(&keys, Some(auth)).map(|k| k.party.clone());
        assert_eq!(party(&format!("Bearer {SHOP}")).unwrap(), "shop");
        assert_eq!(party(&format!("Bearer {BANK}")).unwrap(), "bank");
        for wrong in ["", "Bearer ", &format!("Bearer {SHOP}x"), &format!("Basic {SHOP}"), SHOP] {
            let err = party(wrong).unwrap_err();
            assert_eq!(err.code, ErrorCode::Unauthorized, "{wrong:?}");
        }
        assert!(relying_party(&[], Some(&format!("Bearer {SHOP}"))).unwrap_err().detail.contains("API_KEYS"));
    }

    #[test]
    fn the_admin_token_is_checked() {
        let token = "admin-token-0123456789";
        assert!(require_admin(Some(token), Some(&format!("Bearer {token}"))).is_ok());
        assert!(require_admin(Some(token), Some("Bearer admin")).is_err());
        assert!(require_admin(None, Some(&format!("Bearer {token}"))).is_err());
        assert_eq!(digest_hex("abc").len(), 64);
    }
}
