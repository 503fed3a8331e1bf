//! The table of lpserver's settings: each an environment variable and a flag, with its
//! default, what it takes and what it sets (`--help` and the README's table come from it).

/// A setting's default: a value read like a given one, or how the server finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Value(&'static str),
    Found(&'static str),
    None,
}

/// One setting of lpserver: an environment variable, and the command-line flag of the same
/// name (`MAX_SESSIONS`, `--max-sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub default: DefaultValue,
    /// What it takes; an invalid value's error says it again.
    pub takes: &'static str,
    pub help: &'static str,
}

impl Setting {
    /// The command-line flag: `--` and the name in lower case with dashes.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.to_ascii_lowercase().replace('_', "-"))
    }

    /// The default as the README's table shows it (None when unset or found at start).
    pub fn default_text(&self) -> Option<&'static str> {
        match self.default {
            DefaultValue::Value(text) | DefaultValue::Found(text) => Some(text),
            DefaultValue::None => None,
        }
    }
}

const fn setting(name: &'static str, default: DefaultValue, takes: &'static str, help: &'static str) -> Setting {
    Setting { name, default, takes, help }
}

use DefaultValue::{Found, None as Unset, Value};

/// Virtual cameras of Windows, macOS and Linux, as their drivers name themselves.
const DEFAULT_VIRTUAL_CAMERAS: &str = "OBS Virtual Camera,OBS-Camera,ManyCam,XSplit,Snap Camera,e2eSoft,VCam,CamTwist,SplitCam,YouCam,mmhmm,ChromaCam,v4l2loopback,Dummy video device,Virtual Camera";

const MS: &str = "milliseconds, 100 or more";
const BYTES: &str = "bytes, 1024 or more";
const PIXELS: &str = "pixels, 4096 to 16777216";
const NTH: &str = "1 to 30";
const SWITCH: &str = "0 or 1";

/// Every setting of lpserver: what `--help` prints and the README's configuration table.
pub const SETTINGS: &[Setting] = &[
    setting("PORT", Value("5003"), "a TCP port, 0 to 65535", "port to listen on"),
    setting("BIND_ADDRESS", Value("127.0.0.1"), "an IP address", "address to listen on; 0.0.0.0 for every interface"),
    setting(
        "LIVENESS_JWT_SECRET",
        Unset,
        "a secret of at least 32 bytes",
        "HS256 secret of the verdict tokens (`openssl rand -hex 32`); this or JWT_KEY_FILE is required, there is no default key",
    ),
    setting("JWT_KEY_FILE", Unset, "a readable file", "file with the HS256 secret, or the RS256/ES256 PEM private key"),
    setting("JWT_ALGORITHM", Value("hs256"), "hs256, rs256 or es256", "signature algorithm of the verdict tokens"),
    setting("JWT_ISSUER", Unset, "text", "`iss` claim of the tokens"),
    setting("MAX_FRAME_BYTES", Value("2097152"), BYTES, "largest JPEG frame (LPProto) or image (REST) accepted"),
    setting(
        "MAX_BODY_BYTES",
        Value("16777216"),
        BYTES,
        "largest REST request body (a `frames` list); an endpoint of one or two images takes them at MAX_FRAME_BYTES each in base64 and 64 KiB of JSON, within it",
    ),
    setting(
        "MAX_REST_REQUESTS",
        Found("ANALYSIS_THREADS"),
        "1 to 10000",
        "REST analysis requests in flight (reading their body, waiting for the analysis gate or analysed); past it HTTP 429 `busy` with Retry-After, before the body is read",
    ),
    setting(
        "BODY_TIMEOUT_MS",
        Value("30000"),
        "milliseconds, 100 to 600000",
        "time a REST request has to send its body after its head; then HTTP 408 `body-timeout` (1038)",
    ),
    setting(
        "MAX_FRAME_PIXELS",
        Value("2073600"),
        PIXELS,
        "most pixels of an LPProto frame or of an image in a REST `frames` list, read from the header before decoding",
    ),
    setting("MAX_IMAGE_PIXELS", Value("16777216"), PIXELS, "most pixels of a single REST image"),
    setting(
        "SESSION_IDLE_TIMEOUT_MS",
        Value("30000"),
        MS,
        "a session without a FRAME (or HEARTBEAT) for this long ends",
    ),
    setting("CONNECT_TIMEOUT_MS", Value("10000"), MS, "a WebSocket without CONNECT for this long is closed"),
    setting(
        "PUBLIC_ORIGIN",
        Found("http://BIND_ADDRESS:PORT, and http://localhost:PORT on a loopback address"),
        "an origin, scheme and host (https://liveness.example.com)",
        "the origin of the server's own pages as browsers reach them (behind a reverse proxy, the proxy's): its pages may always use the server; a request's Host header is never trusted for this",
    ),
    setting(
        "LOG_HASH_KEY",
        Found("a random key made at each start"),
        "at least 16 characters",
        "key of the HMAC-SHA256 that names users in the logs (12 hex digits): one key on every server links a user's lines across servers and restarts; without it they link within one run only. Nobody without the key can recompute them from a list of references",
    ),
    setting(
        "ALLOWED_ORIGINS",
        Found("the server's own pages"),
        "comma-separated origins, scheme and host (https://app.example.com:8443), or *",
        "origins whose pages may open /lpproto and call the REST API, answered with CORS headers; clients that are not browsers send no Origin and are not checked",
    ),
    setting(
        "VIRTUAL_CAMERAS",
        Value(DEFAULT_VIRTUAL_CAMERAS),
        "comma-separated names, matched within the camera's label without letter case, or none",
        "camera names a page may not CONNECT with (its `camera-label`): virtual cameras pass on whatever a program draws; CONNECT gets `virtual-camera` (1036)",
    ),
    setting(
        "MAX_CONNECTIONS_PER_IP",
        Value("64"),
        "0 to 100000",
        "TCP connections one address may hold at once (LPProto and HTTP alike, from the first byte), more are answered HTTP 429 `too-many-connections` and closed; 0: no bound (behind a reverse proxy, bound it there)",
    ),
    setting(
        "MAX_CONNECTIONS",
        Found("the open-file limit less 256 and 4 per session (at least half of it), at most 10000"),
        "1 to 1000000",
        "TCP connections at once; at the bound the one that has waited longest without a request is closed for the new one, and when none can be, the new one is answered HTTP 503 `server-full` (1037)",
    ),
    setting(
        "HEADER_TIMEOUT_MS",
        Value("10000"),
        "milliseconds, 100 to 600000",
        "a connection that has not sent a whole request head this long after it opened, or after its last answer, is closed (idle and slow clients)",
    ),
    setting(
        "SHUTDOWN_GRACE_MS",
        Value("20000"),
        "milliseconds, 0 to 600000",
        "after SIGTERM or SIGINT, the time live sessions get to finish before they are closed with `server-shutdown` (1028)",
    ),
    setting(
        "MAX_SESSIONS",
        Found("15 per core the process may use"),
        "1 to 10000",
        "LPProto sessions at once; CONNECT past it gets `busy` (1023) with retry-after-ms",
    ),
    setting(
        "ANALYSIS_THREADS",
        Found("2 per core the process may use"),
        "1 to 1024",
        "analyses at once: LPProto frames of all sessions and REST requests (each for all its images); the others wait their turn in arrival order, a REST request at most 10 s (then `busy`)",
    ),
    setting("CHALLENGE_TIMEOUT_MS", Value("10000"), MS, "time for one attempt at a challenge"),
    setting(
        "SESSION_TIMEOUT_MS",
        Value("90000"),
        MS,
        "time for a whole challenge session; a connection lasts at most this plus 5 s from CONNECT",
    ),
    setting(
        "CHALLENGES",
        Found("the six head movements"),
        "challenge names, comma-separated",
        "challenge pool of the sessions",
    ),
    setting(
        "CHALLENGE_LENGTH",
        Value("3"),
        "1 to 20",
        "head movements of a session with the screen flash, after it (seed 002 asks 5: with the flash first, which a recording or a rendered face cannot follow, 3 keep a session near 10 s)",
    ),
    setting(
        "CHALLENGE_SEQUENCE",
        Unset,
        "challenge names, comma-separated",
        "a fixed sequence for every session: for tests and demos only, a recorded video can replay it",
    ),
    setting(
        "FLASH",
        Value("1"),
        SWITCH,
        "the screen-flash colour challenge in every session (a relying party may choose per session with `flash` at POST /v1/sessions): the page fills the screen around the face with colours of one luminance, no flash in WCAG 2.3.1's sense; 0 leaves it out, and a looped recording or a rendered face that ignores the screen then meets only the head movements",
    ),
    setting(
        "PROMPT_HOLD_MIN_MS",
        Value("300"),
        "milliseconds, 0 to 5000",
        "in a session with the screen flash, each prompt after the first movement waits for a hold in the neutral pose drawn from PROMPT_HOLD_MIN_MS to PROMPT_HOLD_MAX_MS: a recording cannot know when the prompt comes, and a movement before it fails the attempt",
    ),
    setting(
        "PROMPT_HOLD_MAX_MS",
        Value("1000"),
        "milliseconds, PROMPT_HOLD_MIN_MS to 5000",
        "the longest hold before a prompt (0 with PROMPT_HOLD_MIN_MS 0: prompts as soon as the head is neutral, which a recording's timing can follow)",
    ),
    setting(
        "NO_FLASH_CHALLENGE_LENGTH",
        Value("5"),
        "1 to 20",
        "head movements of a session without the screen flash (`FLASH=0`, or a relying party's `flash: false` for a person who avoids flashing screens): the movements and their holds are then all that stops a replayed recording",
    ),
    setting(
        "NO_FLASH_PROMPT_HOLD_MIN_MS",
        Value("1000"),
        "milliseconds, 0 to 5000",
        "the shortest hold before a prompt in a session without the screen flash",
    ),
    setting(
        "NO_FLASH_PROMPT_HOLD_MAX_MS",
        Value("2500"),
        "milliseconds, NO_FLASH_PROMPT_HOLD_MIN_MS to 5000",
        "the longest hold before a prompt in a session without the screen flash",
    ),
    setting(
        "MAX_DUPLICATE_SHARE",
        Value("0.1"),
        "a number from 0 to 1",
        "a session more of whose frames repeat the frame before fails `duplicate-frames` (22): an injected stream; 1 switches the check off",
    ),
    setting(
        "MIN_SENSOR_NOISE",
        Value("0"),
        "luma levels, 0 to 255",
        "a session whose median frame-to-frame change where the picture stands still is below this fails `no-sensor-noise` (23): a rendered stream without a camera's noise; 0 (the default) switches the check off: a clean camera behind JPEG reads 0 as a render does (make eval's camera sweep)",
    ),
    setting(
        "REQUIRE_VARYING_JPEG",
        Value("1"),
        SWITCH,
        "1 fails `static-jpeg-tables` (25) when all of a session's frames carry one JPEG quantisation table set, as a renderer's or an injector's stream straight from one encoder does; the page encodes each frame at a quality of its own, and a client of its own must too, or the service sets 0",
    ),
    setting(
        "MIN_AGE",
        Value("0"),
        "years, 0 to 150",
        "minimum age, estimated over the session's good frames (seed 002's is 18); 0 (the default) switches the age check off: a service that must gate by age sets it, and sends the adults the estimate cannot place above MIN_AGE + AGE_BUFFER to a document check (docs/accuracy.md#age)",
    ),
    setting(
        "AGE_BUFFER",
        Value("7"),
        "years, 0 to 100",
        "years above MIN_AGE the estimate must reach to pass; an adult estimate inside the buffer ends `age-uncertain` (15): a document check, no attempt spent (7: \"Challenge 25\" at 18)",
    ),
    setting(
        "ANTISPOOF_THRESHOLD",
        Value("0.5"),
        "a number from 0 to 1",
        "aggregated anti-spoofing score counted as real",
    ),
    setting(
        "DETECT_EVERY_NTH",
        Value("5"),
        NTH,
        "lvfacedetect runs BlazeFace on every n-th frame of a session; between, the face box follows the face mesh",
    ),
    setting(
        "MESH_IDLE_EVERY_NTH",
        Value("2"),
        NTH,
        "lvlandmarks meshes every n-th frame while the challenge needs no fine motion; the emotion model runs only while a smile may be asked",
    ),
    setting(
        "PASSIVE_EVERY_NTH",
        Value("4"),
        NTH,
        "lvantispoof and lvsurfaceanalysis analyse every n-th frame of a session's face, their results carried between",
    ),
    setting(
        "REDIS_URL",
        Found("counters in memory, nothing stored"),
        "redis://host:port, rediss://host:port or unix:///path",
        "Redis for the attempt counters (shared by several servers) and the stored sessions",
    ),
    setting("POLICY_ATTEMPTS", Value("3"), "1 to 100", "failed sessions per round before a cooldown"),
    setting("POLICY_COOLDOWN_MS", Value("900000"), "milliseconds", "cooldown after a failed round"),
    setting("POLICY_ROUNDS", Value("3"), "1 to 100", "rounds; failing the last is FINAL_FAILURE"),
    setting(
        "STORE_FRAMES",
        Value("0"),
        "0 or 1, and 1 needs REDIS_URL",
        "1 stores every LPProto session's frames and results in REDIS_URL (lvvideoglue) for review: they hold face images",
    ),
    setting(
        "STORE_TTL_S",
        Value("3600"),
        "seconds, 1 to 31536000",
        "how long a stored session is kept after its last frame",
    ),
    setting(
        "ADMIN_TOKEN",
        Found("the review endpoints refuse every call"),
        "at least 16 characters",
        "bearer token of GET /sessions/{id}/video and DELETE /sessions/{id}",
    ),
    setting(
        "METRICS_TOKEN",
        Found("GET /metrics answers anyone"),
        "at least 16 characters",
        "bearer token GET /metrics asks for (401 `unauthorized` without it)",
    ),
    setting(
        "API_KEYS",
        Unset,
        "name:key pairs, comma-separated; a name is 1 to 64 letters, digits, - or _, a key at least 32 characters",
        "relying parties and their API keys: their backends create sessions (POST /v1/sessions) and fetch results; this or OPEN_SESSIONS=1 is required",
    ),
    setting(
        "OPEN_SESSIONS",
        Value("0"),
        SWITCH,
        "1 also takes anonymous CONNECTs (demos): attempts are counted per client address",
    ),
    setting(
        "CLIENT_TOKEN_TTL_MS",
        Value("120000"),
        "milliseconds, 1000 to 3600000",
        "how long a session's client token may wait for its CONNECT",
    ),
    setting(
        "RESULT_TTL_MS",
        Value("600000"),
        "milliseconds, 1000 to 86400000",
        "how long an ended session's result waits to be fetched",
    ),
    setting(
        "STATS_DETAIL",
        Value("production"),
        "production or debug",
        "production: STATS carry prompts, progress, hints and frame-check codes, no scores, the verdict token carries decisions (its measurements go to the relying party's result on request) and reaches no client; debug adds the anti-spoofing score to STATS, the measurements to the token, and the token to an anonymous session's SUCCESS or ERROR",
    ),
    setting(
        "LOG_FORMAT",
        Value("text"),
        "text or json",
        "log lines on standard error as text, or one JSON object a line",
    ),
    setting(
        "ZK_KEYS_DIR",
        Found("POST /face-match-proof and /face-match-proof/verify answer 501 `zk-unavailable`"),
        "a directory `lpserver zk-setup --out DIR` wrote",
        "the face-match proof keys (Groth16): read at start, a missing or damaged file stops the server",
    ),
    setting("RUST_LOG", Value("info"), "a tracing filter (info, lpserver=debug,warn)", "which log events are written"),
];
