//! The server's own error codes (1000 and up): transport, LPProto, REST and relying-party
//! errors. The findings about the person (1-99) are [`liveness_core::errors::Finding`]; an
//! answer carries either kind ([`Code`]).
//! A code never changes its meaning; new errors get new numbers.

pub use liveness_core::errors::{CodeTable, Finding};

/// One error of the server, with a stable number ([`ErrorCode::code`]), a name for logs and JSON
/// ([`ErrorCode::name`]) and a sentence for people ([`ErrorCode::meaning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ErrorCode {
    Internal = 1000,
    Malformed = 1001,
    UnknownCommand = 1002,
    NotConnected = 1003,
    AlreadyConnected = 1004,
    MissingHeader = 1005,
    InvalidHeader = 1006,
    UnsupportedVersion = 1007,
    BadBase64 = 1008,
    NotJpeg = 1009,
    FrameTooLarge = 1010,
    FrameSizeChanged = 1011,
    FrameInFlight = 1012,
    SessionTimeout = 1013,
    SessionClosed = 1014,
    Cooldown = 1015,
    FinalFailure = 1016,
    InvalidJson = 1017,
    MissingField = 1018,
    InvalidField = 1019,
    BodyTooLarge = 1020,
    BadImage = 1021,
    UnknownEndpoint = 1022,
    Busy = 1023,
    Unauthorized = 1024,
    SessionNotStored = 1025,
    StorageDisabled = 1026,
    StorageFailed = 1027,
    ServerShutdown = 1028,
    SessionRunning = 1029,
    OriginNotAllowed = 1030,
    TooManyConnections = 1031,
    SessionTokenRequired = 1032,
    InvalidSessionToken = 1033,
    SessionNotFinished = 1034,
    SessionNotFound = 1035,
    VirtualCamera = 1036,
    ServerFull = 1037,
    BodyTimeout = 1038,
    SessionIdInUse = 1039,
    FaceNotFound = 1040,
    SeveralFacesFound = 1041,
    ZkUnavailable = 1042,
    InvalidProof = 1043,
    UnknownVerifyingKey = 1044,
}

impl ErrorCode {
    /// Every code, in number order.
    pub const ALL: [ErrorCode; 45] = [
        ErrorCode::Internal,
        ErrorCode::Malformed,
        ErrorCode::UnknownCommand,
        ErrorCode::NotConnected,
        ErrorCode::AlreadyConnected,
        ErrorCode::MissingHeader,
        ErrorCode::InvalidHeader,
        ErrorCode::UnsupportedVersion,
        ErrorCode::BadBase64,
        ErrorCode::NotJpeg,
        ErrorCode::FrameTooLarge,
        ErrorCode::FrameSizeChanged,
        ErrorCode::FrameInFlight,
        ErrorCode::SessionTimeout,
        ErrorCode::SessionClosed,
        ErrorCode::Cooldown,
        ErrorCode::FinalFailure,
        ErrorCode::InvalidJson,
        ErrorCode::MissingField,
        ErrorCode::InvalidField,
        ErrorCode::BodyTooLarge,
        ErrorCode::BadImage,
        ErrorCode::UnknownEndpoint,
        ErrorCode::Busy,
        ErrorCode::Unauthorized,
        ErrorCode::SessionNotStored,
        ErrorCode::StorageDisabled,
        ErrorCode::StorageFailed,
        ErrorCode::ServerShutdown,
        ErrorCode::SessionRunning,
        ErrorCode::OriginNotAllowed,
        ErrorCode::TooManyConnections,
        ErrorCode::SessionTokenRequired,
        ErrorCode::InvalidSessionToken,
        ErrorCode::SessionNotFinished,
        ErrorCode::SessionNotFound,
        ErrorCode::VirtualCamera,
        ErrorCode::ServerFull,
        ErrorCode::BodyTimeout,
        ErrorCode::SessionIdInUse,
        ErrorCode::FaceNotFound,
        ErrorCode::SeveralFacesFound,
        ErrorCode::ZkUnavailable,
        ErrorCode::InvalidProof,
        ErrorCode::UnknownVerifyingKey,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Internal => "internal",
            ErrorCode::Malformed => "malformed",
            ErrorCode::UnknownCommand => "unknown-command",
            ErrorCode::NotConnected => "not-connected",
            ErrorCode::AlreadyConnected => "already-connected",
            ErrorCode::MissingHeader => "missing-header",
            ErrorCode::InvalidHeader => "invalid-header",
            ErrorCode::UnsupportedVersion => "unsupported-version",
            ErrorCode::BadBase64 => "bad-base64",
            ErrorCode::NotJpeg => "not-jpeg",
            ErrorCode::FrameTooLarge => "frame-too-large",
            ErrorCode::FrameSizeChanged => "frame-size-changed",
            ErrorCode::FrameInFlight => "frame-in-flight",
            ErrorCode::SessionTimeout => "session-timeout",
            ErrorCode::SessionClosed => "session-closed",
            ErrorCode::Cooldown => "cooldown",
            ErrorCode::FinalFailure => "final-failure",
            ErrorCode::InvalidJson => "invalid-json",
            ErrorCode::MissingField => "missing-field",
            ErrorCode::InvalidField => "invalid-field",
            ErrorCode::BodyTooLarge => "body-too-large",
            ErrorCode::BadImage => "bad-image",
            ErrorCode::UnknownEndpoint => "unknown-endpoint",
            ErrorCode::Busy => "busy",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::SessionNotStored => "session-not-stored",
            ErrorCode::StorageDisabled => "storage-disabled",
            ErrorCode::StorageFailed => "storage-failed",
            ErrorCode::ServerShutdown => "server-shutdown",
            ErrorCode::SessionRunning => "session-running",
            ErrorCode::OriginNotAllowed => "origin-not-allowed",
            ErrorCode::TooManyConnections => "too-many-connections",
            ErrorCode::SessionTokenRequired => "session-token-required",
            ErrorCode::InvalidSessionToken => "invalid-session-token",
            ErrorCode::SessionNotFinished => "session-not-finished",
            ErrorCode::SessionNotFound => "session-not-found",
            ErrorCode::VirtualCamera => "virtual-camera",
            ErrorCode::ServerFull => "server-full",
            ErrorCode::BodyTimeout => "body-timeout",
            ErrorCode::SessionIdInUse => "session-id-in-use",
            ErrorCode::FaceNotFound => "face-not-found",
            ErrorCode::SeveralFacesFound => "several-faces-found",
            ErrorCode::ZkUnavailable => "zk-unavailable",
            ErrorCode::InvalidProof => "invalid-proof",
            ErrorCode::UnknownVerifyingKey => "unknown-verifying-key",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::Internal => "The server failed to process the frame (pipeline error); the session ends.",
            ErrorCode::Malformed => {
                "The message is not LPProto: no command line, or a header line without `name:value`."
            }
            ErrorCode::UnknownCommand => "The command is not one the server accepts (CONNECT, FRAME).",
            ErrorCode::NotConnected => "FRAME before CONNECT.",
            ErrorCode::AlreadyConnected => "A second CONNECT on a connected session.",
            ErrorCode::MissingHeader => "A required header is missing (named in the `header` header of the answer).",
            ErrorCode::InvalidHeader => {
                "A header has a value the server does not accept (named in the `header` header of the answer)."
            }
            ErrorCode::UnsupportedVersion => "The CONNECT `version` is not one the server speaks (1.0).",
            ErrorCode::BadBase64 => "The FRAME body, or an image field of a REST request, is not valid base64.",
            ErrorCode::NotJpeg => {
                "The frame is not a whole JPEG image the server can decode (truncated or corrupt files, CMYK, more than 100 scans included)."
            }
            ErrorCode::FrameTooLarge => {
                "The frame is larger than `MAX_FRAME_BYTES`, or its header declares more pixels than `MAX_FRAME_PIXELS`."
            }
            ErrorCode::FrameSizeChanged => {
                "The frame's width or height differs from the session's first frame (or from the first frame of a REST request's `frames`)."
            }
            ErrorCode::FrameInFlight => {
                "A FRAME arrived before the answer to the previous one (one FRAME in flight per session)."
            }
            ErrorCode::SessionTimeout => {
                "No CONNECT within `CONNECT_TIMEOUT_MS`, no FRAME within the idle timeout, or the session outlasted `SESSION_TIMEOUT_MS`; the connection closes."
            }
            ErrorCode::SessionClosed => "The session already has its verdict; connect again for a new one.",
            ErrorCode::Cooldown => {
                "This user (or, for anonymous sessions, this address) started 3 sessions that did not pass: try again after the cooldown (`retry-after-ms`, seed 002: 15 minutes; HTTP 429 at `POST /v1/sessions`)."
            }
            ErrorCode::FinalFailure => {
                "This relying party's user failed 9 sessions (3 cooldown rounds): FINAL_FAILURE is recorded until an operator lifts it (`POST /v1/admin/final-failures/lift`; HTTP 403 at `POST /v1/sessions`)."
            }
            ErrorCode::InvalidJson => "The REST request body is not a JSON object.",
            ErrorCode::MissingField => "A required field of the REST request is missing (named in `field`).",
            ErrorCode::InvalidField => {
                "A field of the REST request has the wrong type or a value out of range (named in `field`)."
            }
            ErrorCode::BodyTooLarge => {
                "The REST request body is larger than its endpoint takes: its images at `MAX_FRAME_BYTES` each (base64) and 64 KiB, at most `MAX_BODY_BYTES` (HTTP 413; a declared `Content-Length` past it is refused unread)."
            }
            ErrorCode::BadImage => {
                "An image of the REST request is not a whole JPEG or PNG the server can decode, or is larger than `MAX_FRAME_BYTES` or than its pixel bound (`MAX_IMAGE_PIXELS`, `MAX_FRAME_PIXELS` in `frames`) (named in `field`)."
            }
            ErrorCode::UnknownEndpoint => "No REST endpoint has this path and method.",
            ErrorCode::Busy => {
                "Every place of the analysis gate (`ANALYSIS_THREADS`) stayed taken for 10 s (REST, HTTP 503), every place for REST requests in flight (`MAX_REST_REQUESTS`) is taken (HTTP 429, before the body is read), or every session place (`MAX_SESSIONS`, LPProto) is taken: retry after `retry_after_ms` (`retry-after-ms`; HTTP answers also carry `Retry-After`)."
            }
            ErrorCode::Unauthorized => {
                "The relying-party endpoints need `Authorization: Bearer <API key>` (one of `API_KEYS`), the admin ones `Authorization: Bearer <ADMIN_TOKEN>`: the key is missing or wrong, or none is configured (HTTP 401)."
            }
            ErrorCode::SessionNotStored => {
                "No stored session has this id (frames were not stored, or it expired or was deleted)."
            }
            ErrorCode::StorageDisabled => "The server has no session store: REDIS_URL is not set.",
            ErrorCode::StorageFailed => "Redis or the pipeline that glues the video failed (named in `detail`).",
            ErrorCode::ServerShutdown => {
                "The server is shutting down and its grace period (`SHUTDOWN_GRACE_MS`) is over: the session ends without a verdict, its reserved strike is given back; connect again."
            }
            ErrorCode::SessionRunning => {
                "Another session of this user is live (on this server or another sharing its Redis): one at a time."
            }
            ErrorCode::OriginNotAllowed => {
                "A web page of an origin not in `ALLOWED_ORIGINS` (by default: not the server's own) tried to open `/lpproto` (HTTP 403)."
            }
            ErrorCode::TooManyConnections => {
                "This address holds `MAX_CONNECTIONS_PER_IP` TCP connections already (HTTP 429, answered on the new connection, which is then closed)."
            }
            ErrorCode::SessionTokenRequired => {
                "CONNECT without `session-token`: this server takes sessions created by a relying party (`POST /v1/sessions`) only (`OPEN_SESSIONS` is off)."
            }
            ErrorCode::InvalidSessionToken => {
                "The CONNECT `session-token` is unknown, expired (`CLIENT_TOKEN_TTL_MS`) or already used: the relying party creates a new session."
            }
            ErrorCode::SessionNotFinished => {
                "`GET /v1/sessions/{id}/result`: the session has not ended yet (`state` says where it is): ask again later (HTTP 409)."
            }
            ErrorCode::SessionNotFound => {
                "No session of this relying party has this id: unknown, expired (`RESULT_TTL_MS`), or its result was already fetched (HTTP 404)."
            }
            ErrorCode::VirtualCamera => {
                "The CONNECT `camera-label` names a virtual camera (`VIRTUAL_CAMERAS`: OBS, ManyCam, XSplit ...): frames from it may be injected, not filmed."
            }
            ErrorCode::SessionIdInUse => {
                "CONNECT's `session-id` is another session's: one connected with it within the session timeout (on any server sharing Redis), or a stored session has it. Choose another, or leave it out for a server-chosen id."
            }
            ErrorCode::BodyTimeout => {
                "The REST request body did not arrive within `BODY_TIMEOUT_MS` of its head (HTTP 408)."
            }
            ErrorCode::FaceNotFound => {
                "`/face-match-proof`: the image named in `field` shows no face the detector finds; a proof needs one face in each image."
            }
            ErrorCode::SeveralFacesFound => {
                "`/face-match-proof`: the image named in `field` shows several faces; a proof is about one person's face in each image."
            }
            ErrorCode::ZkUnavailable => {
                "The face-match proof endpoints need the keys of `lpserver zk-setup` and the server was started without `ZK_KEYS_DIR` (HTTP 501)."
            }
            ErrorCode::InvalidProof => {
                "`/face-match-proof/verify`: `proof` or `publicSignals` (the part named in `field`) is not a Groth16 proof or signals of the face-match circuit in snarkjs's JSON: a missing member, a number that is not decimal or not below its field's modulus, a point off the curve."
            }
            ErrorCode::UnknownVerifyingKey => {
                "`/face-match-proof/verify`: `verifyingKeyId` names keys other than this server's: the proof was made with other keys; verify it where they are, or with their `verification_key.json`."
            }
            ErrorCode::ServerFull => {
                "The server holds `MAX_CONNECTIONS` TCP connections and none can be closed for room (each has a request in flight or is a live LPProto connection): HTTP 503 on the new connection, which is then closed; retry after `retry_after_ms`."
            }
        }
    }
}

impl CodeTable for ErrorCode {
    fn all() -> &'static [Self] {
        &ErrorCode::ALL
    }

    fn code(self) -> u16 {
        self.code()
    }

    fn name(self) -> &'static str {
        self.name()
    }

    fn meaning(self) -> &'static str {
        self.meaning()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

/// A code an answer carries: a finding about the person or an error of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Finding(Finding),
    Server(ErrorCode),
}

impl Code {
    pub fn code(self) -> u16 {
        match self {
            Code::Finding(f) => f.code(),
            Code::Server(e) => e.code(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Code::Finding(f) => f.name(),
            Code::Server(e) => e.name(),
        }
    }

    /// Every code of both tables, in number order.
    pub fn all() -> impl Iterator<Item = Code> {
        Finding::ALL.into_iter().map(Code::Finding).chain(ErrorCode::ALL.into_iter().map(Code::Server))
    }
}

impl From<Finding> for Code {
    fn from(f: Finding) -> Code {
        Code::Finding(f)
    }
}

impl From<ErrorCode> for Code {
    fn from(e: ErrorCode) -> Code {
        Code::Server(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_numbered_from_1000_in_order_and_round_trip() {
        for pair in ErrorCode::ALL.windows(2) {
            assert!(pair[0].code() < pair[1].code(), "{pair:?}");
        }
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            assert!(code.code() >= 1000, "{code}");
        }
        let names: std::collections::BTreeSet<&str> = Code::all().map(Code::name).collect();
        assert_eq!(names.len(), Finding::ALL.len() + ErrorCode::ALL.len(), "one name per code in both tables");
        assert_eq!(ErrorCode::from_code(999), None);
    }

    #[test]
    fn docs_lpproto_lists_the_table() {
        let docs = include_str!("../docs/lpproto.md");
        let table = ErrorCode::markdown_table();
        assert!(docs.contains(&table), "docs/lpproto.md must hold the table exactly:\n{table}");
    }
}
