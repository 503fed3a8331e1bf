//! Signing the verdict token ([`liveness_core::claims`]) with HS256, RS256 or ES256: the
//! algorithms, where the key comes from, and the signer. There is no default key.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Environment variable holding the HS256 secret when neither `key` nor `key-file` is set.
pub const SECRET_ENV: &str = "LIVENESS_JWT_SECRET";
/// Shortest HS256 secret accepted: the hash output size (RFC 7518, section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// Signing algorithm (property `algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Hs256,
    Rs256,
    Es256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
        }
    }

    /// The lower-case name lvjwtsink's `algorithm` property and lpserver's JWT_ALGORITHM take.
    pub fn nick(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "hs256",
            Algorithm::Rs256 => "rs256",
            Algorithm::Es256 => "es256",
        }
    }

    /// The algorithm of `nick` (case-insensitive).
    pub fn from_nick(nick: &str) -> Option<Algorithm> {
        [Algorithm::Hs256, Algorithm::Rs256, Algorithm::Es256].into_iter().find(|a| a.nick().eq_ignore_ascii_case(nick))
    }

    fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "no signing key: set the `key` property, the `key-file` property, or the {SECRET_ENV} environment variable (HS256); there is no default key"
    )]
    Missing,
    #[error("both `key` and `key-file` are set: set only one")]
    Ambiguous,
    #[error(
        "{0} signs with a private key: set `key-file` to a PEM (PKCS#8 or PKCS#1 for RSA) file; `key` and {SECRET_ENV} hold HS256 secrets only"
    )]
    NeedsKeyFile(&'static str),
    #[error("the HS256 secret has {0} bytes: use at least {MIN_SECRET_BYTES} random bytes")]
    ShortSecret(usize),
    #[error("cannot read key file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("key file {path} does not hold a {algorithm} private key in PEM form: {reason}")]
    BadPem { path: PathBuf, algorithm: &'static str, reason: String },
}

/// Where the key comes from, as the element's properties and environment give it.
#[derive(Debug, Clone, Default)]
pub struct KeySource<'a> {
    pub key: Option<&'a str>,
    pub key_file: Option<&'a Path>,
    /// The value of [`SECRET_ENV`], if set.
    pub env_secret: Option<String>,
    /// `kid` of the header, if any.
    pub key_id: Option<&'a str>,
}

pub struct Signer {
    header: jsonwebtoken::Header,
    key: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("header", &self.header).finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer for `algorithm` from `source`: for HS256 the `key` text, the `key-file`
    /// bytes (one trailing newline removed) or the environment secret, in that order; for
    /// RS256 and ES256 the PEM private key in `key-file`.
    pub fn new(algorithm: Algorithm, source: &KeySource) -> Result<Signer, KeyError> {
        if source.key.is_some() && source.key_file.is_some() {
            return Err(KeyError::Ambiguous);
        }
        let read = |path: &Path| {
            std::fs::read(path).map_err(|err| KeyError::Read { path: path.to_path_buf(), reason: err.to_string() })
        };
        let key = match algorithm {
            Algorithm::Hs256 => {
                let secret = match (source.key, source.key_file, source.env_secret.as_deref()) {
                    (Some(key), _, _) => key.as_bytes().to_vec(),
                    (None, Some(path), _) => {
                        let mut bytes = read(path)?;
                        if bytes.last() == Some(&b'\n') {
                            bytes.pop();
                            if bytes.last() == Some(&b'\r') {
                                bytes.pop();
                            }
                        }
                        bytes
                    }
                    (None, None, Some(env)) => env.as_bytes().to_vec(),
                    (None, None, None) => return Err(KeyError::Missing),
                };
                if secret.len() < MIN_SECRET_BYTES {
                    return Err(KeyError::ShortSecret(secret.len()));
                }
                jsonwebtoken::EncodingKey::from_secret(&secret)
            }
            Algorithm::Rs256 | Algorithm::Es256 => {
                let Some(path) = source.key_file else {
                    return Err(if source.key.is_some() || source.env_secret.is_some() {
                        KeyError::NeedsKeyFile(algorithm.name())
                    } else {
                        KeyError::Missing
                    });
                };
                let pem = read(path)?;
                let parsed = if algorithm == Algorithm::Rs256 {
                    jsonwebtoken::EncodingKey::from_rsa_pem(&pem)
                } else {
                    jsonwebtoken::EncodingKey::from_ec_pem(&pem)
                };
                parsed.map_err(|err| KeyError::BadPem {
                    path: path.to_path_buf(),
                    algorithm: algorithm.name(),
                    reason: err.to_string(),
                })?
            }
        };
        let mut header = jsonwebtoken::Header::new(algorithm.jwt());
        header.kid = source.key_id.map(str::to_string);
        let signer = Signer { header, key };
        // A key that parses but cannot sign (an EC key of another curve) fails here, at start.
        signer.sign(&serde_json::json!({})).map_err(|err| KeyError::BadPem {
            path: source.key_file.map(Path::to_path_buf).unwrap_or_default(),
            algorithm: algorithm.name(),
            reason: err.to_string(),
        })?;
        Ok(signer)
    }

    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&self.header, claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn source(key: Option<&str>) -> KeySource<'_> {
        KeySource { key, ..KeySource::default() }
    }

    #[test]
    fn there_is_no_default_key_and_short_secrets_are_refused() {
        assert_eq!(Signer::new(Algorithm::Hs256, &KeySource::default()).unwrap_err(), KeyError::Missing);
        assert_eq!(Signer::new(Algorithm::Rs256, &KeySource::default()).unwrap_err(), KeyError::Missing);
        assert_eq!(Signer::new(Algorithm::Hs256, &source(Some("short"))).unwrap_err(), KeyError::ShortSecret(5));
        assert_eq!(Signer::new(Algorithm::Es256, &source(Some(SECRET))).unwrap_err(), KeyError::NeedsKeyFile("ES256"));
        let both = KeySource { key: Some(SECRET), key_file: Some(Path::new("/nonexistent")), ..KeySource::default() };
        assert_eq!(Signer::new(Algorithm::Hs256, &both).unwrap_err(), KeyError::Ambiguous);
        let missing = KeySource { key_file: Some(Path::new("/nonexistent/key.pem")), ..KeySource::default() };
        assert!(matches!(Signer::new(Algorithm::Rs256, &missing), Err(KeyError::Read { .. })));
        assert!(KeyError::Missing.to_string().contains(SECRET_ENV));
    }

    #[test]
    fn hs256_secrets_come_from_the_key_the_file_or_the_environment() {
        let claims = serde_json::json!({"sub": "x"});
        let verify = |token: &str| {
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            jsonwebtoken::decode::<serde_json::Value>(
                token,
                &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
                &validation,
            )
            .is_ok()
        };
        let from_key = Signer::new(Algorithm::Hs256, &source(Some(SECRET))).unwrap();
        assert!(verify(&from_key.sign(&claims).unwrap()));
        let env = KeySource { env_secret: Some(SECRET.to_string()), ..KeySource::default() };
        assert!(verify(&Signer::new(Algorithm::Hs256, &env).unwrap().sign(&claims).unwrap()));
        let path = std::env::temp_dir().join(format!("lvjwtsink-secret-{}", std::process::id()));
        std::fs::write(&path, format!("{SECRET}\n")).unwrap();
        let file = KeySource { key_file: Some(&path), ..KeySource::default() };
        let token = Signer::new(Algorithm::Hs256, &file).unwrap().sign(&claims).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(verify(&token));
        // Another secret does not verify.
        let other = Signer::new(Algorithm::Hs256, &source(Some("another secret of thirty-two bytes!"))).unwrap();
        assert!(!verify(&other.sign(&claims).unwrap()));
    }
}
