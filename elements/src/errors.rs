//! The error codes of a liveness check: one table for the per-frame results of `lvjwtsink`,
//! the `errors` of its verdict token, and the answers of `lpserver` (STATS, ERROR, REST).
//!
//! Codes 1-99 are findings about the person in front of the camera (frame checks and session
//! verdicts). Codes from 1000 up are transport and protocol errors of the server.
//! A code never changes its meaning; new findings get new numbers.

/// One finding, with a stable number ([`ErrorCode::code`]), a name for logs and JSON
/// ([`ErrorCode::name`]) and a sentence for people ([`ErrorCode::meaning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ErrorCode {
    NoFace = 1,
    SeveralFaces = 2,
    FaceTooSmall = 3,
    FaceNearBorder = 4,
    Blurred = 5,
    Dark = 6,
    Overexposed = 7,
    UnevenIllumination = 8,
    Specular = 9,
    SpoofSuspected = 10,
    SurfaceSuspected = 11,
    ChallengeTimeout = 12,
    ChallengeFailed = 13,
    AgeBelowThreshold = 14,
    AgeUncertain = 15,
    SessionEnded = 16,
    CheckMissing = 17,
    NotCalibrated = 18,
    PlanarMotion = 19,
    WrongMovement = 20,
    FlashMismatch = 21,
    DuplicateFrames = 22,
    NoSensorNoise = 23,
    RegularTiming = 24,
    StaticJpegTables = 25,
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
}

impl ErrorCode {
    /// Every code, in number order.
    pub const ALL: [ErrorCode; 62] = [
        ErrorCode::NoFace,
        ErrorCode::SeveralFaces,
        ErrorCode::FaceTooSmall,
        ErrorCode::FaceNearBorder,
        ErrorCode::Blurred,
        ErrorCode::Dark,
        ErrorCode::Overexposed,
        ErrorCode::UnevenIllumination,
        ErrorCode::Specular,
        ErrorCode::SpoofSuspected,
        ErrorCode::SurfaceSuspected,
        ErrorCode::ChallengeTimeout,
        ErrorCode::ChallengeFailed,
        ErrorCode::AgeBelowThreshold,
        ErrorCode::AgeUncertain,
        ErrorCode::SessionEnded,
        ErrorCode::CheckMissing,
        ErrorCode::NotCalibrated,
        ErrorCode::PlanarMotion,
        ErrorCode::WrongMovement,
        ErrorCode::FlashMismatch,
        ErrorCode::DuplicateFrames,
        ErrorCode::NoSensorNoise,
        ErrorCode::RegularTiming,
        ErrorCode::StaticJpegTables,
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
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NoFace => "no-face",
            ErrorCode::SeveralFaces => "several-faces",
            ErrorCode::FaceTooSmall => "face-too-small",
            ErrorCode::FaceNearBorder => "face-near-border",
            ErrorCode::Blurred => "blurred",
            ErrorCode::Dark => "dark",
            ErrorCode::Overexposed => "overexposed",
            ErrorCode::UnevenIllumination => "uneven-illumination",
            ErrorCode::Specular => "specular",
            ErrorCode::SpoofSuspected => "spoof-suspected",
            ErrorCode::SurfaceSuspected => "surface-suspected",
            ErrorCode::ChallengeTimeout => "challenge-timeout",
            ErrorCode::ChallengeFailed => "challenge-failed",
            ErrorCode::AgeBelowThreshold => "age-below-threshold",
            ErrorCode::AgeUncertain => "age-uncertain",
            ErrorCode::SessionEnded => "session-ended",
            ErrorCode::CheckMissing => "check-missing",
            ErrorCode::NotCalibrated => "not-calibrated",
            ErrorCode::PlanarMotion => "planar-motion",
            ErrorCode::WrongMovement => "wrong-movement",
            ErrorCode::FlashMismatch => "flash-mismatch",
            ErrorCode::DuplicateFrames => "duplicate-frames",
            ErrorCode::NoSensorNoise => "no-sensor-noise",
            ErrorCode::RegularTiming => "regular-timing",
            ErrorCode::StaticJpegTables => "static-jpeg-tables",
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
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::NoFace => "No face was found in the frame (or in the whole session).",
            ErrorCode::SeveralFaces => {
                "More than one main face (at least half as wide as the largest) is in the frame."
            }
            ErrorCode::FaceTooSmall => "The main face is smaller than `min-face-size` pixels: come closer.",
            ErrorCode::FaceNearBorder => {
                "The main face is closer than `min-border-distance` pixels to the frame border, or cut by it."
            }
            ErrorCode::Blurred => "The face region is blurred (quality `isBlurred`).",
            ErrorCode::Dark => "The face region is too dark (quality `isDark`).",
            ErrorCode::Overexposed => "The face region is overexposed (quality `isHighlighted`).",
            ErrorCode::UnevenIllumination => "The face is lit unevenly (quality `isIlluminated`).",
            ErrorCode::Specular => "The face shows glare or glints (quality `isSpecular`).",
            ErrorCode::SpoofSuspected => {
                "The passive presentation-attack score (lvantispoof: the fusion of a CNN and print, screen and recapture traces, aggregated over frames) is below its threshold."
            }
            ErrorCode::SurfaceSuspected => {
                "The passive surface checks (lvsurfaceanalysis) suggest a print or a screen."
            }
            ErrorCode::ChallengeTimeout => "The challenge session ran out of time.",
            ErrorCode::ChallengeFailed => {
                "Too few challenges were passed (not performed in time, or not begun within the reaction window): the liveness score is below `min-liveness-score`."
            }
            ErrorCode::AgeBelowThreshold => {
                "The age estimated over the session's good frames makes it at least `min-age-confidence` likely that the person is under `min-age`."
            }
            ErrorCode::AgeUncertain => {
                "The age could not be confirmed: the estimate over the session's good frames lies under `min-age` + `age-buffer`, the model is not sure enough, or fewer than 10 frames were good enough. Not a liveness failure: send the person to a document check (lpserver does not count it as a failed attempt when it is the only finding)."
            }
            ErrorCode::SessionEnded => "The stream or session ended before the challenges were finished.",
            ErrorCode::CheckMissing => {
                "A check the session requires never gave a result on the session's face (lvsurfaceanalysis or lvantispoof missing from the pipeline)."
            }
            ErrorCode::NotCalibrated => {
                "A face was seen but never held a steady neutral pose within `calibration-max-degrees` of frontal (hints: face the camera, move closer or back, hold still) before `calibration-timeout`: no challenge was asked."
            }
            ErrorCode::PlanarMotion => {
                "A head movement was seen, but the face's landmarks moved as one plane (a photo or a screen tilted or turned), not as a head."
            }
            ErrorCode::FlashMismatch => {
                "The face's colour did not follow the screen-flash challenge's colours in time: the face was not lit by the screen (a replay, or frames injected past the camera)."
            }
            ErrorCode::DuplicateFrames => {
                "More of the session's frames than `max-duplicate-share` repeated the frame before them (the same picture, at most re-encoded): a camera's sensor noise changes every frame, an injected stream may not."
            }
            ErrorCode::NoSensorNoise => {
                "Where the picture stood still, the frames changed by less than `min-sensor-noise` luma levels from one to the next: no camera sensor's noise, as in a rendered or synthesised stream."
            }
            ErrorCode::RegularTiming => {
                "The frames' capture times (LPProto `capture-ms`, else the buffer timestamps) step more evenly than `min-timing-jitter` allows: a camera's clock jitters, synthetic timestamps do not."
            }
            ErrorCode::StaticJpegTables => {
                "Every frame carried the same JPEG quantisation tables, where the sender is to vary its encoder's quality (lpserver's page does): the frames were encoded elsewhere."
            }
            ErrorCode::WrongMovement => {
                "Another movement than the one asked, or a movement already under way when the prompt appeared (a recording does not answer the prompt)."
            }
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
            ErrorCode::BodyTooLarge => "The REST request body is larger than `MAX_BODY_BYTES`.",
            ErrorCode::BadImage => {
                "An image of the REST request is not a whole JPEG or PNG the server can decode, or is larger than `MAX_FRAME_BYTES` or than its pixel bound (`MAX_IMAGE_PIXELS`, `MAX_FRAME_PIXELS` in `frames`) (named in `field`)."
            }
            ErrorCode::UnknownEndpoint => "No REST endpoint has this path and method.",
            ErrorCode::Busy => {
                "Every analysis slot (REST) or session place (`MAX_SESSIONS`, LPProto) of the server is taken: retry after `retry_after_ms` (`retry-after-ms`)."
            }
            ErrorCode::Unauthorized => {
                "The relying-party endpoints need `Authorization: Bearer <API key>` (one of `API_KEYS`), the admin ones `Authorization: Bearer <ADMIN_TOKEN>`: the key is missing or wrong, or none is configured (HTTP 401)."
            }
            ErrorCode::SessionNotStored => {
                "No stored session has this id (frames were not stored, or it expired or was deleted)."
            }
            ErrorCode::StorageDisabled => "The server has no session store: REDIS_URL is not set.",
            ErrorCode::StorageFailed => "Redis or the pipeline that glues the video failed (named in `detail`).",
            ErrorCode::TooManyConnections => {
                "This address holds `MAX_CONNECTIONS_PER_IP` LPProto connections already (HTTP 429)."
            }
            ErrorCode::OriginNotAllowed => {
                "A web page of an origin not in `ALLOWED_ORIGINS` (by default: not the server's own) tried to open `/lpproto` (HTTP 403)."
            }
            ErrorCode::SessionRunning => {
                "Another session of this user is live (on this server or another sharing its Redis): one at a time."
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
            ErrorCode::ServerShutdown => {
                "The server is shutting down and its grace period (`SHUTDOWN_GRACE_MS`) is over: the session ends without a verdict, its reserved strike is given back; connect again."
            }
        }
    }

    /// The code of a failure named in lvchallenge's `liveness-verdict` (`failures`).
    pub fn from_verdict_failure(failure: &str) -> Option<ErrorCode> {
        Some(match failure {
            "timeout" => ErrorCode::ChallengeTimeout,
            "several-faces" => ErrorCode::SeveralFaces,
            "incomplete" => ErrorCode::SessionEnded,
            "liveness-score" => ErrorCode::ChallengeFailed,
            "surface-score" => ErrorCode::SurfaceSuspected,
            "antispoof" => ErrorCode::SpoofSuspected,
            "no-surface-analysis" | "no-antispoof" => ErrorCode::CheckMissing,
            "no-face" => ErrorCode::NoFace,
            "not-calibrated" => ErrorCode::NotCalibrated,
            "planar-motion" => ErrorCode::PlanarMotion,
            "wrong-movement" => ErrorCode::WrongMovement,
            "flash-mismatch" => ErrorCode::FlashMismatch,
            "duplicate-frames" => ErrorCode::DuplicateFrames,
            "no-sensor-noise" => ErrorCode::NoSensorNoise,
            "regular-timing" => ErrorCode::RegularTiming,
            "static-jpeg-tables" => ErrorCode::StaticJpegTables,
            _ => return None,
        })
    }

    /// The table as Markdown rows (`| code | name | meaning |`), as docs/elements.md shows it.
    pub fn markdown_table() -> String {
        let mut table = String::from("| code | name | meaning |\n|---|---|---|\n");
        for code in ErrorCode::ALL {
            table.push_str(&format!("| {} | `{}` | {} |\n", code.code(), code.name(), code.meaning()));
        }
        table
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_numbered_in_order_and_round_trip() {
        for pair in ErrorCode::ALL.windows(2) {
            assert!(pair[0].code() < pair[1].code(), "{pair:?}");
        }
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            assert!(code.code() < 100 || code.code() >= 1000, "{code}");
        }
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(ErrorCode::from_code(99), None);
    }

    #[test]
    fn every_lvchallenge_failure_has_a_code() {
        // The failures lvchallenge documents on its verdict.
        for failure in [
            "timeout",
            "several-faces",
            "incomplete",
            "liveness-score",
            "surface-score",
            "no-surface-analysis",
            "antispoof",
            "no-antispoof",
            "no-face",
            "not-calibrated",
            "planar-motion",
            "wrong-movement",
        ] {
            assert!(ErrorCode::from_verdict_failure(failure).is_some(), "{failure}");
        }
        assert_eq!(ErrorCode::from_verdict_failure("something-else"), None);
    }
}
