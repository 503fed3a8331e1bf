//! Server configuration from the environment (and `--help`). There is no default signing key.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use gstliveness::signing::Algorithm;

mod settings;

pub use settings::{DefaultValue, SETTINGS, Setting};

/// What `--help` says after the settings.
const AFTER_HELP: &str = "\
Every setting is an environment variable or the flag of the same name; a flag wins. Prefer the
environment for secrets (flags show in the process list).

Exit status: 0 after a clean shutdown (SIGTERM, SIGINT); 2 when the configuration is invalid
or the server cannot start (no key, key file unreadable, Redis or GStreamer unavailable),
with a message naming the variable and what it takes; 1 when it cannot listen or fails later.

`lpserver zk-setup --out DIR` writes the keys of the face-match proofs into DIR (ZK_KEYS_DIR).";

/// The setting called `name`.
pub fn setting_named(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// lpserver's command line: a flag for every setting, each also read from its environment
/// variable (whose value `--help` never shows).
pub fn command() -> clap::Command {
    let args = SETTINGS.iter().map(|s| {
        let help = match s.default_text() {
            Some(default) => format!("{} ({}) [default: {default}]", s.help, s.takes),
            None => format!("{} ({})", s.help, s.takes),
        };
        clap::Arg::new(s.name)
            .long(s.flag()[2..].to_string())
            .env(s.name)
            .hide_env_values(true)
            .value_name("VALUE")
            .help(help)
    });
    clap::Command::new("lpserver")
        .version(env!("CARGO_PKG_VERSION"))
        .about("LPProto WebSocket and REST server for the gst-liveness elements")
        .args(args)
        .after_help(AFTER_HELP)
}

/// The README's configuration table.
pub fn markdown_table() -> String {
    let mut table = String::from("| Variable | Flag | Default | Takes | What it sets |\n|---|---|---|---|---|\n");
    for s in SETTINGS {
        let default = match s.default {
            DefaultValue::Value(text) => format!("`{text}`"),
            DefaultValue::Found(text) => text.to_string(),
            DefaultValue::None => "unset".to_string(),
        };
        let cell = |text: &str| text.replace('|', "\\|");
        table.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} |\n",
            s.name,
            s.flag(),
            default,
            cell(s.takes),
            cell(s.help)
        ));
    }
    table
}

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
    /// REST analysis requests in flight at once (`MAX_REST_REQUESTS`).
    pub max_rest_requests: usize,
    /// Time a REST request has for its body (`BODY_TIMEOUT_MS`).
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long a new WebSocket may wait before its CONNECT.
    pub connect_timeout: Duration,
    /// Most LPProto sessions at once; CONNECT past it is answered `busy`.
    pub max_sessions: usize,
    /// Frames analysed at once, of all sessions (the analysis gate's width).
    pub analysis_threads: usize,
    /// How long live sessions may go on after SIGTERM or SIGINT before they are closed.
    pub shutdown_grace: Duration,
    /// Web origins whose pages may open `/lpproto`; empty: the server's own pages only.
    pub allowed_origins: Vec<String>,
    /// The origins of the server's own pages (`PUBLIC_ORIGIN`, or from the listening address).
    pub own_origins: Vec<String>,
    /// The key of the users' hashes in the logs (`LOG_HASH_KEY`); None: a random one at start.
    pub log_hash_key: Option<String>,
    /// Most TCP connections one address may hold at once; 0: no bound.
    pub max_connections_per_ip: usize,
    /// Most TCP connections at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Time a connection has to send a request head, after opening and between requests.
    pub header_timeout: Duration,
    /// Names of virtual cameras, lower case (`VIRTUAL_CAMERAS`).
    pub virtual_cameras: Vec<String>,
    pub challenge_timeout: Duration,
    pub session_timeout: Duration,
    pub challenges: Option<String>,
    /// Head movements of a session with the screen flash (`CHALLENGE_LENGTH`) and without it
    /// (`NO_FLASH_CHALLENGE_LENGTH`).
    pub challenge_length: u32,
    pub challenge_length_without_flash: u32,
    pub challenge_sequence: Option<String>,
    /// Sessions run the screen-flash challenge unless their relying party says otherwise
    /// (`FLASH`).
    pub flash: bool,
    /// The hold in the neutral pose before each prompt is drawn from this range
    /// (`PROMPT_HOLD_MIN_MS`, `PROMPT_HOLD_MAX_MS`), and in a session without the screen flash
    /// from this one (`NO_FLASH_PROMPT_HOLD_MIN_MS`, `NO_FLASH_PROMPT_HOLD_MAX_MS`).
    pub prompt_hold: std::ops::RangeInclusive<Duration>,
    pub prompt_hold_without_flash: std::ops::RangeInclusive<Duration>,
    /// Stream signals passed to lvchallenge (`MAX_DUPLICATE_SHARE`, `MIN_SENSOR_NOISE`,
    /// `REQUIRE_VARYING_JPEG`).
    pub max_duplicate_share: f64,
    pub min_sensor_noise: f64,
    pub require_varying_jpeg: bool,
    pub min_age: u32,
    /// Years above `min_age` an estimate must reach to pass (`AGE_BUFFER`).
    pub age_buffer: u32,
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
    /// The bearer token of `GET /metrics`; None: no token asked.
    pub metrics_token: Option<String>,
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
    /// The face-match proof keys' directory (`ZK_KEYS_DIR`).
    pub zk_keys_dir: Option<std::path::PathBuf>,
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
    #[error("{name}={value:?} is not valid; it takes {expected}")]
    Invalid { name: &'static str, value: String, expected: &'static str },
    #[error("{name}={value:?} is not valid: {reason}")]
    Challenges { name: &'static str, value: String, reason: String },
}

/// `MIN..=MAX` of the hold before a prompt (`PROMPT_HOLD_MIN_MS` and `PROMPT_HOLD_MAX_MS`, or
/// their `NO_FLASH_` pair), the longest no shorter than the shortest.
fn prompt_hold<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    (min_name, max_name): (&'static str, &'static str),
) -> Result<std::ops::RangeInclusive<Duration>, ConfigError> {
    let min = vars.millis(min_name, 0..=5000)?;
    let max = vars.millis(max_name, 0..=5000)?;
    if max < min {
        return Err(ConfigError::Challenges {
            name: max_name,
            value: max.as_millis().to_string(),
            reason: format!("it is below {min_name} ({} ms)", min.as_millis()),
        });
    }
    Ok(min..=max)
}

/// The variables of one configuration, read through a lookup function.
struct Vars<F: Fn(&str) -> Option<String>> {
    lookup: F,
    /// The names read, in order (the tests check them against [`SETTINGS`]).
    read: std::cell::RefCell<Vec<&'static str>>,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// A variable's value as given; unset and blank are the same.
    fn given(&self, name: &'static str) -> Option<String> {
        self.read.borrow_mut().push(name);
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A variable's value, or its default value from [`SETTINGS`].
    fn get(&self, name: &'static str) -> Option<String> {
        self.given(name).or_else(|| match setting_named(name).map(|s| s.default) {
            Some(DefaultValue::Value(text)) => Some(text.to_string()),
            _ => None,
        })
    }

    /// The error of a value `name` does not take.
    fn invalid(name: &'static str, value: String) -> ConfigError {
        ConfigError::Invalid { name, value, expected: setting_named(name).map_or("", |s| s.takes) }
    }

    /// A parsed value (`None` when unset without a default) that `valid` accepts.
    fn parse_opt<T: std::str::FromStr>(
        &self,
        name: &'static str,
        valid: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<T>().ok().filter(|t| valid(t)) {
                Some(value) => Ok(Some(value)),
                None => Err(Self::invalid(name, v)),
            },
        }
    }

    /// A parsed value of a setting with a default value.
    fn parse<T: std::str::FromStr>(&self, name: &'static str, valid: impl Fn(&T) -> bool) -> Result<T, ConfigError> {
        self.parse_opt(name, valid)?.ok_or(ConfigError::Invalid { name, value: String::new(), expected: "a value" })
    }

    fn range<T: std::str::FromStr + PartialOrd>(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError> {
        self.parse(name, |v| range.contains(v))
    }

    /// A duration in milliseconds within `range`.
    fn millis(&self, name: &'static str, range: std::ops::RangeInclusive<u64>) -> Result<Duration, ConfigError> {
        self.range(name, range).map(Duration::from_millis)
    }

    /// `0` or `1`.
    fn switch(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::trim) {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(other) => Err(Self::invalid(name, other.to_string())),
        }
    }
}

/// Sessions one core analyses at 10 frames a second with their round trips within 15 ms
/// (median) and 40 ms (99th percentile): `scripts/capacity.sh` (`make bench`) measured 36 on two
/// cores and 16 on one while the host ran a frame in 4.4-4.9 ms of CPU (40 on two reached p99
/// 128 ms), and 50 on two and 20 on one while it ran the same build in 2.6 ms; 15 a core holds
/// in the slower of the two.
const SESSIONS_PER_CORE: usize = 15;

/// The cores the process may use (its CPU affinity).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `ANALYSIS_THREADS` when unset is this many a core. A frame spends part of its turn off the
/// CPU (handed between its session's thread and its pipeline's, waiting for a model session),
/// so one frame a core left the cores idle part of the time: at 32 sessions on 2 cores, p99
/// 39 ms with 4 places against 217 ms with 2.
const FRAMES_PER_CORE: usize = 2;

/// `MAX_SESSIONS` when unset: from the cores the process may use.
fn default_max_sessions() -> usize {
    cores() * SESSIONS_PER_CORE
}

/// `MAX_CONNECTIONS` when unset: the open files the process may hold, less room for the
/// files of the process itself (libraries, models, logs, Redis) and of each session's pipeline.
fn default_max_connections(max_sessions: usize) -> usize {
    let limit = usize::try_from(crate::listener::open_files_limit()).unwrap_or(usize::MAX);
    limit.saturating_sub(256 + 4 * max_sessions).max(limit / 2).clamp(1, 10_000)
}

/// The pixel bounds accept 64x64 to 4096x4096 pixels.
const MAX_PIXELS: u64 = 4096 * 4096;

/// The signing settings: algorithm, secret, key file (one of the two is required).
type Signing = (Algorithm, Option<String>, Option<PathBuf>);

fn signing<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Signing, ConfigError> {
    let algorithm = match vars.get("JWT_ALGORITHM") {
        None => Algorithm::Hs256,
        Some(value) => Algorithm::from_nick(value.trim()).ok_or_else(|| Vars::<F>::invalid("JWT_ALGORITHM", value))?,
    };
    let secret = vars.get("LIVENESS_JWT_SECRET");
    let key_file = vars.get("JWT_KEY_FILE").map(PathBuf::from);
    if let Some(path) = &key_file
        && std::fs::File::open(path).is_err()
    {
        return Err(Vars::<F>::invalid("JWT_KEY_FILE", path.display().to_string()));
    }
    if secret.is_none() && key_file.is_none() {
        return Err(ConfigError::NoKey);
    }
    Ok((algorithm, secret, key_file))
}

/// `REDIS_URL`: a URL the Redis client takes (checked without connecting).
fn redis_url<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Option<String>, ConfigError> {
    use redis::IntoConnectionInfo;
    match vars.get("REDIS_URL") {
        Some(url) if url.trim().into_connection_info().is_err() => Err(Vars::<F>::invalid("REDIS_URL", url)),
        url => Ok(url.map(|u| u.trim().to_string())),
    }
}

/// `STORE_FRAMES`: 0 or 1, and 1 needs `REDIS_URL`.
fn store_frames<F: Fn(&str) -> Option<String>>(vars: &Vars<F>, redis: bool) -> Result<bool, ConfigError> {
    match vars.switch("STORE_FRAMES")? {
        true if !redis => Err(Vars::<F>::invalid("STORE_FRAMES", "1".into())),
        on => Ok(on),
    }
}

/// `ADMIN_TOKEN`, `METRICS_TOKEN`: at least 16 characters; never echoed in the error.
fn secret_token<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    match vars.get(name) {
        Some(token) if token.len() < 16 => Err(Vars::<F>::invalid(name, "(hidden)".into())),
        token => Ok(token),
    }
}

/// `STATS_DETAIL`: `production` (no scores in STATS) or `debug`.
fn stats_detail<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<bool, ConfigError> {
    match vars.get("STATS_DETAIL").as_deref().map(str::trim) {
        None | Some("production") => Ok(false),
        Some("debug") => Ok(true),
        Some(other) => Err(Vars::<F>::invalid("STATS_DETAIL", other.to_string())),
    }
}

/// `VIRTUAL_CAMERAS`: names of 1 to 64 characters, without control characters, or `none`.
fn virtual_cameras<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Vec<String>, ConfigError> {
    let list = vars.get("VIRTUAL_CAMERAS").unwrap_or_default();
    if list.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let names: Vec<String> = list.split(',').map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty()).collect();
    if names.iter().any(|n| n.chars().count() > 64 || n.chars().any(char::is_control)) {
        return Err(Vars::<F>::invalid("VIRTUAL_CAMERAS", list));
    }
    Ok(names)
}

impl Config {
    /// The entry of `VIRTUAL_CAMERAS` that `label` (a camera's name) holds, if any.
    pub fn virtual_camera(&self, label: &str) -> Option<&str> {
        let label = label.to_lowercase();
        self.virtual_cameras.iter().find(|name| label.contains(name.as_str())).map(String::as_str)
    }
}

/// `ALLOWED_ORIGINS`: origins (`https://app.example.com`) or `*`.
fn allowed_origins<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Vec<String>, ConfigError> {
    match vars.get("ALLOWED_ORIGINS") {
        None => Ok(Vec::new()),
        Some(list) => crate::origin::parse_origins(&list).ok_or_else(|| Vars::<F>::invalid("ALLOWED_ORIGINS", list)),
    }
}

/// `PUBLIC_ORIGIN`, or the origins of the listening address: `http://<address>:<port>`, and
/// `http://localhost:<port>` when it is a loopback address.
fn own_origins<F: Fn(&str) -> Option<String>>(vars: &Vars<F>, address: SocketAddr) -> Result<Vec<String>, ConfigError> {
    if let Some(origin) = vars.get("PUBLIC_ORIGIN") {
        return match crate::origin::parse_origins(&origin).as_deref() {
            Some([one]) if one != "*" => Ok(vec![one.clone()]),
            _ => Err(Vars::<F>::invalid("PUBLIC_ORIGIN", origin)),
        };
    }
    let mut origins = vec![format!("http://{address}")];
    if address.ip().is_loopback() {
        origins.push(format!("http://localhost:{}", address.port()));
    }
    Ok(origins)
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
    let open = vars.switch("OPEN_SESSIONS")?;
    if api_keys.is_empty() && !open {
        return Err(ConfigError::NoSessions);
    }
    Ok((api_keys, open))
}

fn policy<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<crate::policy::PolicySettings, ConfigError> {
    Ok(crate::policy::PolicySettings {
        attempts: vars.range("POLICY_ATTEMPTS", 1..=100)?,
        cooldown_ms: vars.parse("POLICY_COOLDOWN_MS", |_| true)?,
        rounds: vars.range("POLICY_ROUNDS", 1..=100)?,
    })
}

/// Milliseconds of the timeouts that take "100 or more".
const FROM_100_MS: std::ops::RangeInclusive<u64> = 100..=u64::MAX;

impl Config {
    /// Reads the configuration through `lookup`: in `main`, the flags and environment variables
    /// of [`command`]; every value is checked, an error names the variable and what it takes.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::read(&Vars { lookup, read: Default::default() })
    }

    fn read<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Config, ConfigError> {
        let port: u16 = vars.parse("PORT", |_| true)?;
        let ip: IpAddr = vars.parse("BIND_ADDRESS", |_| true)?;
        let (jwt_algorithm, jwt_secret, jwt_key_file) = signing(vars)?;
        let redis_url = redis_url(vars)?;
        let store_frames = store_frames(vars, redis_url.is_some())?;
        let (api_keys, open_sessions) = sessions(vars)?;
        let max_sessions =
            vars.parse_opt("MAX_SESSIONS", |v| (1..=10_000).contains(v))?.unwrap_or_else(default_max_sessions);
        let analysis_threads = vars
            .parse_opt("ANALYSIS_THREADS", |v| (1..=1024).contains(v))?
            .unwrap_or_else(|| cores() * FRAMES_PER_CORE);
        Config {
            address: SocketAddr::new(ip, port),
            jwt_algorithm,
            jwt_secret,
            jwt_key_file,
            jwt_issuer: vars.get("JWT_ISSUER"),
            max_frame_bytes: vars.range("MAX_FRAME_BYTES", 1024..=usize::MAX)?,
            max_body_bytes: vars.range("MAX_BODY_BYTES", 1024..=usize::MAX)?,
            max_rest_requests: vars
                .parse_opt("MAX_REST_REQUESTS", |v| (1..=10_000).contains(v))?
                .unwrap_or(analysis_threads),
            body_timeout: vars.millis("BODY_TIMEOUT_MS", 100..=600_000)?,
            max_frame_pixels: vars.range("MAX_FRAME_PIXELS", 4096..=MAX_PIXELS)?,
            max_image_pixels: vars.range("MAX_IMAGE_PIXELS", 4096..=MAX_PIXELS)?,
            idle_timeout: vars.millis("SESSION_IDLE_TIMEOUT_MS", FROM_100_MS)?,
            connect_timeout: vars.millis("CONNECT_TIMEOUT_MS", FROM_100_MS)?,
            allowed_origins: allowed_origins(vars)?,
            own_origins: own_origins(vars, SocketAddr::new(ip, port))?,
            log_hash_key: secret_token(vars, "LOG_HASH_KEY")?,
            max_connections_per_ip: vars.range("MAX_CONNECTIONS_PER_IP", 0..=100_000)?,
            max_connections: vars
                .parse_opt("MAX_CONNECTIONS", |v| (1..=1_000_000).contains(v))?
                .unwrap_or_else(|| default_max_connections(max_sessions)),
            header_timeout: vars.millis("HEADER_TIMEOUT_MS", 100..=600_000)?,
            virtual_cameras: virtual_cameras(vars)?,
            max_sessions,
            analysis_threads,
            shutdown_grace: vars.millis("SHUTDOWN_GRACE_MS", 0..=600_000)?,
            challenge_timeout: vars.millis("CHALLENGE_TIMEOUT_MS", FROM_100_MS)?,
            session_timeout: vars.millis("SESSION_TIMEOUT_MS", FROM_100_MS)?,
            challenges: vars.get("CHALLENGES"),
            challenge_length: vars.range("CHALLENGE_LENGTH", 1..=20)?,
            challenge_length_without_flash: vars.range("NO_FLASH_CHALLENGE_LENGTH", 1..=20)?,
            challenge_sequence: vars.get("CHALLENGE_SEQUENCE"),
            flash: vars.switch("FLASH")?,
            prompt_hold: prompt_hold(vars, ("PROMPT_HOLD_MIN_MS", "PROMPT_HOLD_MAX_MS"))?,
            prompt_hold_without_flash: prompt_hold(
                vars,
                ("NO_FLASH_PROMPT_HOLD_MIN_MS", "NO_FLASH_PROMPT_HOLD_MAX_MS"),
            )?,
            max_duplicate_share: vars.range("MAX_DUPLICATE_SHARE", 0.0..=1.0)?,
            min_sensor_noise: vars.range("MIN_SENSOR_NOISE", 0.0..=255.0)?,
            require_varying_jpeg: vars.switch("REQUIRE_VARYING_JPEG")?,
            min_age: vars.range("MIN_AGE", 0..=150)?,
            age_buffer: vars.range("AGE_BUFFER", 0..=100)?,
            antispoof_threshold: vars.range("ANTISPOOF_THRESHOLD", 0.0..=1.0)?,
            detect_every_nth: vars.range("DETECT_EVERY_NTH", 1..=30)?,
            mesh_idle_every_nth: vars.range("MESH_IDLE_EVERY_NTH", 1..=30)?,
            passive_every_nth: vars.range("PASSIVE_EVERY_NTH", 1..=30)?,
            redis_url,
            store_frames,
            store_ttl_s: vars.range("STORE_TTL_S", 1..=31_536_000)?,
            admin_token: secret_token(vars, "ADMIN_TOKEN")?,
            metrics_token: secret_token(vars, "METRICS_TOKEN")?,
            policy: policy(vars)?,
            stats_scores: stats_detail(vars)?,
            api_keys,
            open_sessions,
            client_token_ttl: vars.millis("CLIENT_TOKEN_TTL_MS", 1000..=3_600_000)?,
            result_ttl: vars.millis("RESULT_TTL_MS", 1000..=86_400_000)?,
            zk_keys_dir: vars.get("ZK_KEYS_DIR").map(std::path::PathBuf::from),
        }
        .with_checked_challenges()
    }

    /// The configuration, once its challenge pool and sequence are ones lvchallenge takes: a
    /// name it does not know, or a length the pool cannot fill, stops the server at start
    /// instead of failing every session.
    fn with_checked_challenges(self) -> Result<Config, ConfigError> {
        use liveness_core::challenge::{ChallengeRng, parse_list};
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
            for (name, length) in [
                ("CHALLENGE_LENGTH", self.challenge_length),
                ("NO_FLASH_CHALLENGE_LENGTH", self.challenge_length_without_flash),
            ] {
                ChallengeRng::new(Some(0))
                    .sequence(&types, length as usize)
                    .map_err(|err| invalid("CHALLENGES", pool, format!("{err} ({name}={length})")))?;
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests;
