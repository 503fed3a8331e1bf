//! Server configuration from the environment (and `--help`). There is no default signing key.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use gstliveness::lvjwtsink::token::Algorithm;

pub const HELP: &str = "\
lpserver: LPProto WebSocket and REST server for the gst-liveness elements

Usage: lpserver [--help]

Configuration comes from the environment:
  PORT                     TCP port (default 5003)
  BIND_ADDRESS             address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  LIVENESS_JWT_SECRET      HS256 secret for the verdict tokens, at least 32 bytes
  JWT_KEY_FILE             file with the HS256 secret, or the RS256/ES256 PEM private key
  JWT_ALGORITHM            hs256 (default), rs256 or es256
  JWT_ISSUER               `iss` claim of the tokens (default: none)
  MAX_FRAME_BYTES          largest JPEG frame (LPProto) or image (REST) accepted, in bytes
                           (default 2097152)
  MAX_BODY_BYTES           largest REST request body, in bytes (default 16777216)
  MAX_FRAME_PIXELS         most pixels of an LPProto frame or of an image in a REST `frames`
                           list, read from the header before decoding (default 2073600,
                           1920x1080)
  MAX_IMAGE_PIXELS         most pixels of a single REST image (default 16777216, 4096x4096)
  SESSION_IDLE_TIMEOUT_MS  a session without a FRAME for this long ends (default 30000)
  CONNECT_TIMEOUT_MS       a WebSocket without CONNECT for this long is closed (default 10000)
  ALLOWED_ORIGINS          comma-separated origins whose pages may open /lpproto and call the
                           REST API, answered with CORS headers (https://app.example.com; * for
                           any); unset: the server's own pages (clients that are not browsers
                           send no Origin and are not checked)
  MAX_CONNECTIONS_PER_IP   LPProto connections one address may hold at once; more get HTTP 429
                           `too-many-connections` (default 64; 0: no bound; behind a reverse
                           proxy every client has the proxy's address: bound it there)
  SHUTDOWN_GRACE_MS        after SIGTERM or SIGINT, time live sessions get to finish before
                           they are closed with `server-shutdown` (1028) (default 20000)
  MAX_SESSIONS             LPProto sessions at once; CONNECT past it gets `busy` (1023) with
                           retry-after-ms (default 7 per core the process may use)
  CHALLENGE_TIMEOUT_MS     time for one attempt at a challenge (default 10000)
  SESSION_TIMEOUT_MS       time for a whole challenge session (default 90000, seed 002); a
                           connection lasts at most this plus 5 s from CONNECT, heartbeats or not
  CHALLENGES               challenge pool, comma-separated (default: the six head movements)
  CHALLENGE_LENGTH         challenges per session (default 5)
  CHALLENGE_SEQUENCE       a fixed sequence for every session: for tests and demos only,
                           a recorded video can replay it
  MIN_AGE                  minimum age of the best shot, 0 switches the age check off (default 18)
  ANTISPOOF_THRESHOLD      aggregated anti-spoofing score counted as real (default 0.5)
  DETECT_EVERY_NTH         lvfacedetect runs BlazeFace on every n-th frame of a session; between,
                           the face box follows the face mesh (default 3; 1 to 30)
  MESH_IDLE_EVERY_NTH      lvlandmarks meshes every n-th frame while the challenge needs no fine
                           motion (a prompt not yet answered, between challenges) (default 1:
                           every frame; 1 to 30); it runs the emotion model only while a smile
                           may be asked
  PASSIVE_EVERY_NTH        lvantispoof and lvsurfaceanalysis analyse every n-th frame of a
                           session's face, their results carried between (default 3; 1 to 30)
  REDIS_URL                Redis for the attempt counters (shared by several servers) and the
                           stored sessions (redis://host:6379 or unix:///path); unset keeps
                           the counters in memory and stores no session
  POLICY_ATTEMPTS          failed sessions per round before a cooldown (default 3)
  POLICY_COOLDOWN_MS       cooldown after a failed round (default 900000, 15 minutes)
  POLICY_ROUNDS            rounds; failing the last is FINAL_FAILURE (default 3)
  STORE_FRAMES             1 stores every LPProto session's frames and results in REDIS_URL
                           (lvvideoglue) for review; they hold face images (default 0: nothing
                           is stored)
  STORE_TTL_S              seconds a stored session is kept after its last frame (default 3600)
  ADMIN_TOKEN              bearer token of GET /sessions/{id}/video and DELETE /sessions/{id},
                           at least 16 characters; unset refuses both
  API_KEYS                 relying parties and their API keys, `name:key` comma-separated
                           (name: letters, digits, - and _; key: at least 32 characters):
                           their backends create sessions (POST /v1/sessions) and fetch
                           results; browsers CONNECT with the session's one-time token
  OPEN_SESSIONS            1 also takes anonymous CONNECTs (demos): attempts are counted per
                           client address (default 0). lpserver needs API_KEYS or this
  CLIENT_TOKEN_TTL_MS      how long a session's client token may wait for its CONNECT
                           (default 120000)
  RESULT_TTL_MS            how long an ended session's result waits to be fetched (default
                           600000)
  STATS_DETAIL             production (default): STATS carry prompts, progress, hints and
                           frame-check codes, no scores; debug adds the anti-spoofing score
  LOG_FORMAT               text (default) or json: one JSON object a line on standard error
  RUST_LOG                 which log events are written (default info; e.g. lpserver=debug)

There is no default key: set LIVENESS_JWT_SECRET (for example `openssl rand -hex 32`) or
JWT_KEY_FILE.";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub address: SocketAddr,
    pub jwt_algorithm: Algorithm,
    pub jwt_secret: Option<String>,
    pub jwt_key_file: Option<PathBuf>,
    pub jwt_issuer: Option<String>,
    pub max_frame_bytes: usize,
    /// Most pixels an LPProto frame or an image of a REST `frames` list may have.
    pub max_frame_pixels: u64,
    /// Most pixels a single REST image (`image`, `idImage` ...) may have.
    pub max_image_pixels: u64,
    pub max_body_bytes: usize,
    pub idle_timeout: Duration,
    /// How long a new WebSocket may wait before its CONNECT.
    pub connect_timeout: Duration,
    /// Most LPProto sessions at once; CONNECT past it is answered `busy`.
    pub max_sessions: usize,
    /// How long live sessions may go on after SIGTERM or SIGINT before they are closed.
    pub shutdown_grace: Duration,
    /// Web origins whose pages may open `/lpproto`; empty: the server's own pages only.
    pub allowed_origins: Vec<String>,
    /// Most LPProto connections one address may hold at once; 0: no bound.
    pub max_connections_per_ip: usize,
    pub challenge_timeout: Duration,
    pub session_timeout: Duration,
    pub challenges: Option<String>,
    pub challenge_length: u32,
    pub challenge_sequence: Option<String>,
    pub min_age: u32,
    pub antispoof_threshold: f64,
    /// lvfacedetect runs the detector on every n-th frame of a session.
    pub detect_every_nth: u32,
    /// lvlandmarks meshes every n-th frame while lvchallenge needs no fine motion.
    pub mesh_idle_every_nth: u32,
    /// lvantispoof and lvsurfaceanalysis run on every n-th frame of a session's face.
    pub passive_every_nth: u32,
    pub redis_url: Option<String>,
    /// LPProto sessions tee into lvvideoglue (needs `redis_url`).
    pub store_frames: bool,
    pub store_ttl_s: u32,
    pub admin_token: Option<String>,
    pub policy: crate::policy::PolicySettings,
    /// STATS carry the passive scores (`STATS_DETAIL=debug`; `production` by default).
    pub stats_scores: bool,
    /// Relying parties that may create sessions (`API_KEYS`).
    pub api_keys: Vec<crate::auth::ApiKey>,
    /// Anonymous CONNECTs are taken (`OPEN_SESSIONS=1`).
    pub open_sessions: bool,
    /// How long a client token waits for its CONNECT.
    pub client_token_ttl: Duration,
    /// How long an ended relying-party session's result waits to be fetched.
    pub result_ttl: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "no signing key for the verdict tokens: set LIVENESS_JWT_SECRET (at least 32 bytes, e.g. `export LIVENESS_JWT_SECRET=$(openssl rand -hex 32)`) or JWT_KEY_FILE; there is no default key"
    )]
    NoKey,
    #[error(
        "no way to start an LPProto session: set API_KEYS (relying parties create sessions, see the README) or OPEN_SESSIONS=1 (anyone may CONNECT; for demos)"
    )]
    NoSessions,
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid { name: &'static str, value: String, expected: &'static str },
    #[error("{name}={value:?} is not valid: {reason}")]
    Challenges { name: &'static str, value: String, reason: String },
}

/// The variables of one configuration, read through a lookup function.
struct Vars<F: Fn(&str) -> Option<String>>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// A variable's value; unset and blank are the same.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// A parsed value, `default` when unset; `expected` says what `valid` accepts.
    fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
        valid: impl Fn(&T) -> bool,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => {
                v.trim().parse::<T>().ok().filter(|t| valid(t)).ok_or(ConfigError::Invalid { name, value: v, expected })
            }
        }
    }

    fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.parse(name, default, "milliseconds, 100 or more", |v| *v >= 100).map(Duration::from_millis)
    }

    /// A duration in milliseconds within `range`.
    fn millis_within(
        &self,
        name: &'static str,
        default: u64,
        expected: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.range(name, default, expected, range).map(Duration::from_millis)
    }

    fn range<T: std::str::FromStr + PartialOrd>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError> {
        self.parse(name, default, expected, |v| range.contains(v))
    }
}

/// Sessions one core analyses at 10 frames a second with their round trips within 15 ms
/// (median) and 40 ms (99th percentile): `scripts/capacity.sh` (`make bench`) measured 16 on two
/// cores at 8.3-9 ms of CPU a frame and 18 past the bound; 7 a core leaves a margin.
const SESSIONS_PER_CORE: usize = 7;

/// `MAX_SESSIONS` when unset: from the cores the process may use.
fn default_max_sessions() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * SESSIONS_PER_CORE
}

/// The pixel bounds accept 64x64 to 4096x4096 pixels.
const MAX_PIXELS: u64 = 4096 * 4096;
const PIXELS: &str = "pixels, 4096 to 16777216";

/// The signing settings: algorithm, secret, key file (one of the two is required).
type Signing = (Algorithm, Option<String>, Option<PathBuf>);

fn signing<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Signing, ConfigError> {
    let algorithm = match vars.get("JWT_ALGORITHM") {
        None => Algorithm::Hs256,
        Some(value) => Algorithm::from_nick(value.trim()).ok_or(ConfigError::Invalid {
            name: "JWT_ALGORITHM",
            value,
            expected: "hs256, rs256 or es256",
        })?,
    };
    let secret = vars.get("LIVENESS_JWT_SECRET");
    let key_file = vars.get("JWT_KEY_FILE").map(PathBuf::from);
    if secret.is_none() && key_file.is_none() {
        return Err(ConfigError::NoKey);
    }
    Ok((algorithm, secret, key_file))
}

/// `STORE_FRAMES`: 0 or 1, and 1 needs `REDIS_URL`.
fn store_frames<F: Fn(&str) -> Option<String>>(vars: &Vars<F>, redis: bool) -> Result<bool, ConfigError> {
    match vars.get("STORE_FRAMES").as_deref().map(str::trim) {
        None | Some("0") => Ok(false),
        Some("1") if redis => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name: "STORE_FRAMES",
            value: other.to_string(),
            expected: "0 or 1, and 1 needs REDIS_URL",
        }),
    }
}

/// `ADMIN_TOKEN`: at least 16 characters; never echoed in the error.
fn admin_token<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Option<String>, ConfigError> {
    match vars.get("ADMIN_TOKEN") {
        Some(token) if token.len() < 16 => Err(ConfigError::Invalid {
            name: "ADMIN_TOKEN",
            value: "(hidden)".into(),
            expected: "at least 16 characters",
        }),
        token => Ok(token),
    }
}

/// `STATS_DETAIL`: `production` (no scores in STATS) or `debug`.
fn stats_detail<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<bool, ConfigError> {
    match vars.get("STATS_DETAIL").as_deref().map(str::trim) {
        None | Some("production") => Ok(false),
        Some("debug") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name: "STATS_DETAIL",
            value: other.to_string(),
            expected: "production or debug",
        }),
    }
}

/// `ALLOWED_ORIGINS`: origins (`https://app.example.com`) or `*`.
fn allowed_origins<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Vec<String>, ConfigError> {
    match vars.get("ALLOWED_ORIGINS") {
        None => Ok(Vec::new()),
        Some(list) => crate::origin::parse_origins(&list).ok_or(ConfigError::Invalid {
            name: "ALLOWED_ORIGINS",
            value: list,
            expected: "comma-separated origins, scheme and host (https://app.example.com:8443), or *",
        }),
    }
}

/// `API_KEYS` and `OPEN_SESSIONS`: at least one way to start a session. Keys are never echoed.
fn sessions<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<(Vec<crate::auth::ApiKey>, bool), ConfigError> {
    let api_keys = match vars.get("API_KEYS") {
        None => Vec::new(),
        Some(list) => crate::auth::parse_api_keys(&list).map_err(|expected| ConfigError::Invalid {
            name: "API_KEYS",
            value: "(hidden)".into(),
            expected,
        })?,
    };
    let open = match vars.get("OPEN_SESSIONS").as_deref().map(str::trim) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return Err(ConfigError::Invalid { name: "OPEN_SESSIONS", value: other.to_string(), expected: "0 or 1" });
        }
    };
    if api_keys.is_empty() && !open {
        return Err(ConfigError::NoSessions);
    }
    Ok((api_keys, open))
}

fn policy<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<crate::policy::PolicySettings, ConfigError> {
    Ok(crate::policy::PolicySettings {
        attempts: vars.range("POLICY_ATTEMPTS", 3, "1 to 100", 1..=100)?,
        cooldown_ms: vars.parse("POLICY_COOLDOWN_MS", 15 * 60 * 1000, "milliseconds", |_| true)?,
        rounds: vars.range("POLICY_ROUNDS", 3, "1 to 100", 1..=100)?,
    })
}

impl Config {
    /// Reads the configuration through `lookup` (the process environment in `main`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(lookup);
        let port: u16 = vars.parse("PORT", 5003, "a TCP port", |_| true)?;
        let ip: IpAddr = vars.parse("BIND_ADDRESS", IpAddr::from([127, 0, 0, 1]), "an IP address", |_| true)?;
        let (jwt_algorithm, jwt_secret, jwt_key_file) = signing(&vars)?;
        let redis_url = vars.get("REDIS_URL");
        let store_frames = store_frames(&vars, redis_url.is_some())?;
        let bytes = "bytes, 1024 or more";
        let (api_keys, open_sessions) = sessions(&vars)?;
        Config {
            address: SocketAddr::new(ip, port),
            jwt_algorithm,
            jwt_secret,
            jwt_key_file,
            jwt_issuer: vars.get("JWT_ISSUER"),
            max_frame_bytes: vars.parse("MAX_FRAME_BYTES", 2 * 1024 * 1024, bytes, |v| *v >= 1024)?,
            max_body_bytes: vars.parse("MAX_BODY_BYTES", 16 * 1024 * 1024, bytes, |v| *v >= 1024)?,
            max_frame_pixels: vars.range("MAX_FRAME_PIXELS", 1920 * 1080, PIXELS, 4096..=MAX_PIXELS)?,
            max_image_pixels: vars.range("MAX_IMAGE_PIXELS", MAX_PIXELS, PIXELS, 4096..=MAX_PIXELS)?,
            idle_timeout: vars.millis("SESSION_IDLE_TIMEOUT_MS", 30_000)?,
            connect_timeout: vars.millis("CONNECT_TIMEOUT_MS", 10_000)?,
            allowed_origins: allowed_origins(&vars)?,
            max_connections_per_ip: vars.range("MAX_CONNECTIONS_PER_IP", 64, "0 to 100000", 0..=100_000)?,
            max_sessions: vars.range("MAX_SESSIONS", default_max_sessions(), "1 to 10000", 1..=10_000)?,
            shutdown_grace: vars.millis_within(
                "SHUTDOWN_GRACE_MS",
                20_000,
                "milliseconds, 0 to 600000",
                0..=600_000,
            )?,
            challenge_timeout: vars.millis("CHALLENGE_TIMEOUT_MS", 10_000)?,
            session_timeout: vars.millis("SESSION_TIMEOUT_MS", 90_000)?,
            challenges: vars.get("CHALLENGES"),
            challenge_length: vars.range("CHALLENGE_LENGTH", 5, "1 to 20", 1..=20)?,
            challenge_sequence: vars.get("CHALLENGE_SEQUENCE"),
            min_age: vars.range("MIN_AGE", 18, "years, 0 to 150", 0..=150)?,
            antispoof_threshold: vars.range("ANTISPOOF_THRESHOLD", 0.5, "a number from 0 to 1", 0.0..=1.0)?,
            detect_every_nth: vars.range("DETECT_EVERY_NTH", 3, "1 to 30", 1..=30)?,
            mesh_idle_every_nth: vars.range("MESH_IDLE_EVERY_NTH", 1, "1 to 30", 1..=30)?,
            passive_every_nth: vars.range("PASSIVE_EVERY_NTH", 3, "1 to 30", 1..=30)?,
            redis_url,
            store_frames,
            store_ttl_s: vars.range("STORE_TTL_S", 3600, "seconds, 1 to 31536000", 1..=31_536_000)?,
            admin_token: admin_token(&vars)?,
            policy: policy(&vars)?,
            stats_scores: stats_detail(&vars)?,
            api_keys,
            open_sessions,
            client_token_ttl: vars.millis_within(
                "CLIENT_TOKEN_TTL_MS",
                120_000,
                "milliseconds, 1000 to 3600000",
                1000..=3_600_000,
            )?,
            result_ttl: vars.millis_within(
                "RESULT_TTL_MS",
                600_000,
                "milliseconds, 1000 to 86400000",
                1000..=86_400_000,
            )?,
        }
        .with_checked_challenges()
    }

    /// The configuration, once its challenge pool and sequence are ones lvchallenge takes: a
    /// name it does not know, or a length the pool cannot fill, stops the server at start
    /// instead of failing every session.
    fn with_checked_challenges(self) -> Result<Config, ConfigError> {
        use gstliveness::lvchallenge::challenge::{ChallengeRng, parse_list};
        let invalid = |name: &'static str, value: &str, reason: String| ConfigError::Challenges {
            name,
            value: value.to_string(),
            reason,
        };
        if let Some(sequence) = &self.challenge_sequence {
            parse_list(sequence).map_err(|err| invalid("CHALLENGE_SEQUENCE", sequence, err.to_string()))?;
        }
        if let Some(pool) = &self.challenges {
            let types = parse_list(pool).map_err(|err| invalid("CHALLENGES", pool, err.to_string()))?;
            ChallengeRng::new(Some(0)).sequence(&types, self.challenge_length as usize).map_err(|err| {
                invalid("CHALLENGES", pool, format!("{err} (CHALLENGE_LENGTH={})", self.challenge_length))
            })?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    const OPEN: (&str, &str) = ("OPEN_SESSIONS", "1");

    #[test]
    fn there_is_no_default_key() {
        let err = config(&[OPEN]).unwrap_err();
        assert_eq!(err, ConfigError::NoKey);
        assert!(err.to_string().contains("LIVENESS_JWT_SECRET"));
    }

    #[test]
    fn defaults_and_bad_values() {
        let c = config(&[("LIVENESS_JWT_SECRET", "x"), OPEN]).unwrap();
        assert_eq!(c.address, "127.0.0.1:5003".parse().unwrap());
        assert_eq!((c.max_frame_bytes, c.idle_timeout, c.min_age), (2 * 1024 * 1024, Duration::from_secs(30), 18));
        let err = config(&[("LIVENESS_JWT_SECRET", "x"), OPEN, ("PORT", "http")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "PORT", .. }), "{err}");
        let err = config(&[("LIVENESS_JWT_SECRET", "x"), OPEN, ("ANTISPOOF_THRESHOLD", "1.5")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "ANTISPOOF_THRESHOLD", .. }), "{err}");
        let err = config(&[("JWT_KEY_FILE", "/k"), OPEN, ("JWT_ALGORITHM", "none")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "JWT_ALGORITHM", .. }), "{err}");
    }

    #[test]
    fn challenge_names_and_lengths_are_checked_before_the_server_starts() {
        let key = ("LIVENESS_JWT_SECRET", "x");
        let err = config(&[key, OPEN, ("CHALLENGES", "turn_left,jump")]).unwrap_err();
        assert!(matches!(err, ConfigError::Challenges { name: "CHALLENGES", .. }), "{err}");
        assert!(err.to_string().contains("unknown challenge \"jump\" (known: turn_left"), "{err}");
        let err = config(&[key, OPEN, ("CHALLENGE_SEQUENCE", "blink,,wink")]).unwrap_err();
        assert!(matches!(err, ConfigError::Challenges { name: "CHALLENGE_SEQUENCE", .. }), "{err}");
        // Two types cannot fill five places with at most two of each.
        let err = config(&[key, OPEN, ("CHALLENGES", "blink,smile")]).unwrap_err();
        assert!(err.to_string().contains("CHALLENGE_LENGTH=5"), "{err}");
        assert!(config(&[key, OPEN, ("CHALLENGES", "blink,smile"), ("CHALLENGE_LENGTH", "3")]).is_ok());
    }

    #[test]
    fn frame_storage_needs_redis_and_admin_tokens_are_long() {
        let key = ("LIVENESS_JWT_SECRET", "x");
        let config = |vars: &[(&str, &str)]| config(&[&[OPEN], vars].concat());
        assert!(!config(&[key]).unwrap().store_frames);
        let err = config(&[key, ("STORE_FRAMES", "1")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "STORE_FRAMES", .. }), "{err}");
        let c = config(&[key, ("STORE_FRAMES", "1"), ("REDIS_URL", "redis://127.0.0.1")]).unwrap();
        assert!(c.store_frames);
        assert_eq!(c.store_ttl_s, 3600);
        assert!(!config(&[key]).unwrap().stats_scores, "no scores in STATS by default");
        assert!(config(&[key, ("STATS_DETAIL", "debug")]).unwrap().stats_scores);
        let err = config(&[key, ("STATS_DETAIL", "verbose")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "STATS_DETAIL", .. }), "{err}");
        let err = config(&[key, ("ADMIN_TOKEN", "short")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "ADMIN_TOKEN", .. }), "{err}");
        assert!(!err.to_string().contains("short"), "the token is not echoed: {err}");
    }

    #[test]
    fn sessions_need_api_keys_or_open_sessions() {
        let key = ("LIVENESS_JWT_SECRET", "x");
        assert_eq!(config(&[key]).unwrap_err(), ConfigError::NoSessions);
        let c = config(&[key, OPEN]).unwrap();
        assert!(c.open_sessions && c.api_keys.is_empty());
        let secret = "0123456789abcdef0123456789abcdef";
        let c = config(&[key, ("API_KEYS", &format!("shop:{secret}, bank-2:{secret}x"))]).unwrap();
        assert!(!c.open_sessions);
        let parties: Vec<&str> = c.api_keys.iter().map(|k| k.party.as_str()).collect();
        assert_eq!(parties, ["shop", "bank-2"]);
        assert!(!format!("{c:?}").contains(secret), "keys are not printed");
        for bad in ["shop:short", "shop", ":0123456789abcdef0123456789abcdef", "a b:0123456789abcdef0123456789abcdef"] {
            let err = config(&[key, ("API_KEYS", bad)]).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { name: "API_KEYS", .. }), "{bad}: {err}");
            assert!(!err.to_string().contains("short"), "the keys are not echoed: {err}");
        }
        let err = config(&[key, ("API_KEYS", &format!("shop:{secret},shop:{secret}y"))]).unwrap_err();
        assert!(err.to_string().contains("once"), "{err}");
        assert_eq!(config(&[key, OPEN]).unwrap().client_token_ttl, Duration::from_secs(120));
        let err = config(&[key, OPEN, ("ALLOWED_ORIGINS", "app.example.com")]).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { name: "ALLOWED_ORIGINS", .. }), "{err}");
        let c = config(&[key, OPEN, ("ALLOWED_ORIGINS", "https://App.example.com/,*")]).unwrap();
        assert_eq!(c.allowed_origins, ["https://app.example.com", "*"]);
    }
}
