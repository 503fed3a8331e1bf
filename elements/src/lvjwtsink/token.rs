//! The verdict token: seed 000's JWT payload (`details`, `errors`, `isOk`, `bestshot`, `iat`,
//! `jti`) with `exp`, `sub`, the challenge results, `surfaceScore` and `age`, signed with
//! HS256, RS256 or ES256. There is no default key.

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

/// A random (version 4) UUID in its usual text form, from the operating system's randomness.
pub fn random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The token payload. Fields that a pipeline cannot measure are `null` (see the README's
/// token table); `bestshot`, `iss` and `age` are left out when switched off.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub details: Details,
    pub errors: Vec<u16>,
    pub is_ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bestshot: Option<String>,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// lvchallenge's verdict, when it ran.
    pub challenges: Option<crate::verdict::Verdict>,
    pub surface_score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<AgeClaim>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    pub ags: Option<f32>,
    /// lvsurfaceanalysis' quality, serialised with seed 000's names.
    pub quality: Option<crate::meta::QualityResult>,
    pub face_frame_position: Option<FaceFramePosition>,
    pub head_pose: Option<HeadPose>,
    pub mouth: Option<Mouth>,
    pub eyeglasses: &'static str,
    pub liveness: Liveness,
}

/// `eyeglasses`: no glasses model runs, so this is always the same documented value.
pub const EYEGLASSES_NOT_ESTIMATED: &str = "GlassesEstimation.NotEstimated";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RectClaim {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceFramePosition {
    pub face_rect: RectClaim,
    pub frame_rect: RectClaim,
    /// Top, right, bottom, left distances from the face box to the frame border.
    pub margins: [i32; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPose {
    pub yaw: f32,
    pub roll: f32,
    pub pitch: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mouth {
    pub opened: f32,
    pub smile: f32,
    /// No occlusion model runs: always null.
    pub occluded: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Liveness {
    pub score: Option<f32>,
    pub quality_score: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgeClaim {
    /// `passed`, `below` (likely under `minAge`) or `uncertain` (check a document).
    pub decision: super::age::AgeDecision,
    /// Median of the good frames' estimates, years; null when no frame was good enough.
    pub years: Option<f32>,
    /// Robust standard deviation of the frames' estimates, years.
    pub spread_years: Option<f32>,
    /// Good frames the estimate rests on.
    pub frames: usize,
    /// Probability that the person is at least `minAge`.
    pub confidence: f32,
    pub min_age: u32,
    /// Years above `minAge` an estimate must reach to pass.
    pub buffer_years: u32,
    pub min_confidence: f32,
    /// `decision` is `passed`.
    pub passed: bool,
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

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (random_uuid(), random_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
