//! One LPProto connection as a state machine. The socket side ([`crate::ws`]) feeds it what
//! arrives ([`Connection::on_message`]), what the session made of a frame
//! ([`Connection::on_frame_result`]), whether the session started ([`Connection::on_started`])
//! and the clock ([`Connection::on_tick`] at [`Connection::deadline`]); it answers with
//! [`Action`]s to carry out in order. It owns every protocol rule: CONNECT once and first, its
//! headers, one FRAME in flight, frame size and encoding, heartbeats, the idle timeout, and the
//! end of the session at its verdict.

use std::net::IpAddr;
use std::time::Duration;

use crate::errors::{Code, ErrorCode};
use base64::Engine;
use liveness_core::errors::Finding;
use liveness_core::verdict::FrameResult;
use tokio::time::Instant;

use super::codec::{Message, ProtoError, VERSION};

/// Content type of a FRAME body (seed 000).
pub const FRAME_CONTENT_TYPE: &str = "image/x-jpeg-base64";
/// Heartbeat periods accepted in CONNECT, in ms.
pub const HEARTBEAT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=60_000;
/// Longest `session-token` header, in bytes.
pub const MAX_SESSION_TOKEN_BYTES: usize = 128;

/// The bounds a connection enforces, and what its STATS show.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JPEG of a FRAME, in bytes (after base64 decoding).
    pub max_frame_bytes: usize,
    /// How long a connected session may go without a FRAME or HEARTBEAT.
    pub idle_timeout: Duration,
    /// STATS carry the passive scores (`STATS_DETAIL=debug`). Off in production: a score
    /// per frame is an oracle to tune a presentation attack against.
    pub stats_scores: bool,
    /// How long an opened WebSocket may wait before its CONNECT.
    pub connect_timeout: Duration,
    /// How long a session may last from CONNECT, whatever its frames and heartbeats.
    pub max_session: Duration,
}

/// The status code of a WebSocket close frame (RFC 6455, 7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 1000: the session ended with its verdict.
    Normal = 1000,
    /// 1001: the server is shutting down.
    GoingAway = 1001,
    /// 1008: the client broke a rule (a timeout, a bound).
    Policy = 1008,
    /// 1009: a message past the WebSocket bound (`MAX_FRAME_BYTES` in base64 and 64 KiB).
    TooBig = 1009,
    /// 1011: the server could not go on.
    Internal = 1011,
    /// 1013: the server is full; try again later.
    TryAgainLater = 1013,
}

/// One WebSocket message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// An LPProto text message.
    Text(String),
    /// A raw JPEG: a FRAME without base64 (extension to seed 000).
    Binary(Vec<u8>),
}

/// What the client says of its camera at CONNECT (`camera-label`, `camera-size`,
/// `camera-fps`): the page's own report, so a hint against naive injection, never proof.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CameraReport {
    /// The device's name, as the browser gives it (`MediaStreamTrack.label`).
    pub label: Option<String>,
    /// Capture width and height in pixels.
    pub size: Option<(u32, u32)>,
    /// Capture frames a second, rounded.
    pub fps: Option<u32>,
}

/// Longest `camera-label`, in bytes.
const MAX_CAMERA_LABEL_BYTES: usize = 256;

/// CONNECT, checked: what starting the session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The client's `session-id`, when it chose one.
    pub session_id: Option<String>,
    /// The frames are a selfie view.
    pub mirrored: bool,
    /// The one-time client token of a session a relying party created (`POST /v1/sessions`);
    /// without one the session is anonymous, counted by the client's address.
    pub session_token: Option<String>,
    /// The client's address.
    pub remote: Option<IpAddr>,
    /// The camera the client says it films with.
    pub camera: CameraReport,
    /// Period of the server's HEARTBEATs, when asked for.
    pub heartbeat: Option<Duration>,
    /// `frames: latest`: the client sends frames without waiting for answers; a FRAME that
    /// arrives while one is analysed waits in the frame's place, replacing any that waited
    /// before it, and is analysed next (else it is refused with `frame-in-flight`).
    pub latest_frame: bool,
}

/// What the session made of one FRAME.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameAnswer {
    /// The frame's checks: answered with STATS, the session goes on.
    Stats(FrameResult),
    /// The session's verdict, its signed token and the measurements kept out of the token
    /// (JSON; None when the token holds them).
    Verdict { token: String, is_ok: bool, errors: Vec<u32>, figures: Option<String> },
    /// The frame was refused (not a JPEG, another size ...): ERROR, the session goes on.
    Refused(ProtoError),
    /// The session cannot go on: ERROR and the connection closes.
    Failed(ProtoError),
}

/// What the connection asks the socket side to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this message.
    Send(Message),
    /// Check the user's attempts and start the session, then call
    /// [`Connection::on_started`].
    Start(ConnectRequest),
    /// Hand this JPEG to the session; its answer goes to [`Connection::on_frame_result`].
    Analyse(Vec<u8>),
    /// Record how the session ended (its verdict against the user's attempts, and for the
    /// relying party) before anything else is sent, so that the next CONNECT, on any server,
    /// already sees it.
    Record(Outcome),
    /// Close the socket with this status code (after the messages before it).
    Close(CloseCode),
}

/// How a started session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its verdict: delivered only once recorded. A pass clears the user's strikes.
    Verdict { is_ok: bool, errors: Vec<u32>, token: String, figures: Option<String> },
    /// No verdict (the client left or fell silent, the time ran out, the pipeline failed):
    /// the strike reserved at its start stays (seed 002: an abort is a failure).
    Ended(Code),
    /// The server shut down: the reserved strike is given back.
    ServerShutdown,
}

/// What the end of a session does to its user's attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEffect {
    /// A pass: the user's strikes are cleared.
    Cleared,
    /// A failure, or an end without verdict: the strike reserved at the start stays.
    Counted,
    /// The strike reserved at the start is given back.
    GivenBack,
}

impl Outcome {
    /// A pass clears the strikes. A verdict whose only finding is `age-uncertain` is no
    /// liveness failure: the person passed and is sent to a document check, so the strike is
    /// given back, as at a shutdown. Any other failure, or an end without verdict, counts.
    pub fn attempt_effect(&self) -> AttemptEffect {
        let uncertain = [u32::from(Finding::AgeUncertain.code())];
        match self {
            Outcome::Verdict { is_ok: true, .. } => AttemptEffect::Cleared,
            Outcome::Verdict { errors, .. } if errors.as_slice() == uncertain => AttemptEffect::GivenBack,
            Outcome::Verdict { .. } | Outcome::Ended(_) => AttemptEffect::Counted,
            Outcome::ServerShutdown => AttemptEffect::GivenBack,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Waiting for CONNECT.
    Opened,
    /// CONNECT accepted, the session starting.
    Starting { heartbeat: Option<Duration>, latest_frame: bool },
    /// Analysing frames; with `latest_frame`, the newest FRAME that came while one was in
    /// flight waits in `waiting`.
    Connected { frame_in_flight: bool, latest_frame: bool, waiting: Option<Vec<u8>> },
    /// The session ended; nothing more is read.
    Closed,
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Connection {
    limits: Limits,
    /// The client's address, the policy key of anonymous clients.
    remote: Option<IpAddr>,
    phase: Phase,
    /// Until when CONNECT may come.
    connect_deadline: Instant,
    /// When the session must end, from CONNECT.
    session_deadline: Instant,
    idle_deadline: Instant,
    /// Period and time of the next HEARTBEAT.
    heartbeat: Option<(Duration, Instant)>,
    /// Whether the verdict's token goes to the client: in an anonymous session with
    /// `STATS_DETAIL=debug` only. A relying party's backend fetches it; a browser has no use
    /// for it.
    token_to_client: bool,
}

fn error(code: ErrorCode, detail: impl Into<String>) -> Action {
    Action::Send(ProtoError::new(code, detail).to_message())
}

impl Connection {
    pub fn new(limits: Limits, remote: Option<IpAddr>, now: Instant) -> Self {
        Connection {
            limits,
            remote,
            phase: Phase::Opened,
            connect_deadline: now + limits.connect_timeout,
            session_deadline: now + limits.connect_timeout + limits.max_session,
            idle_deadline: now + limits.idle_timeout,
            heartbeat: None,
            token_to_client: false,
        }
    }

    /// The session ended: the socket side stops reading and closes.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// When [`Connection::on_tick`] has something to do: the CONNECT deadline of a new
    /// socket; the next heartbeat, the idle timeout (no frame in flight) and the end of the
    /// session's time of a connected one.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Opened => Some(self.connect_deadline),
            Phase::Connected { frame_in_flight, .. } => {
                let idle = (!frame_in_flight).then_some(self.idle_deadline);
                let beat = self.heartbeat.map(|(_, next)| next);
                [idle, beat, Some(self.session_deadline)].into_iter().flatten().min()
            }
            Phase::Starting { .. } | Phase::Closed => None,
        }
    }

    /// A message from the client.
    pub fn on_message(&mut self, incoming: Incoming, now: Instant) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        let message = match &incoming {
            Incoming::Binary(_) => Message::new("FRAME"),
            Incoming::Text(text) => match Message::parse(text) {
                Ok(message) => message,
                Err(err) => return vec![Action::Send(err.to_message())],
            },
        };
        match message.command.as_str() {
            "CONNECT" => self.on_connect(&message),
            "FRAME" => self.on_frame(&message, incoming, now),
            "HEARTBEAT" => {
                // A client's heartbeat keeps the session alive.
                self.idle_deadline = now + self.limits.idle_timeout;
                Vec::new()
            }
            other => vec![error(ErrorCode::UnknownCommand, format!("unknown command {other:.40}"))],
        }
    }

    fn on_connect(&mut self, message: &Message) -> Vec<Action> {
        if self.phase != Phase::Opened {
            return vec![error(ErrorCode::AlreadyConnected, "this session is connected")];
        }
        match parse_connect(message, self.remote) {
            Ok(request) => {
                self.phase = Phase::Starting { heartbeat: request.heartbeat, latest_frame: request.latest_frame };
                self.token_to_client = request.session_token.is_none() && self.limits.stats_scores;
                vec![Action::Start(request)]
            }
            Err(err) => vec![Action::Send(err.to_message())],
        }
    }

    fn on_frame(&mut self, message: &Message, incoming: Incoming, now: Instant) -> Vec<Action> {
        let Phase::Connected { frame_in_flight, latest_frame, waiting } = &mut self.phase else {
            return vec![error(ErrorCode::NotConnected, "send CONNECT first and wait for CONNECTED")];
        };
        if *frame_in_flight && !*latest_frame {
            return vec![error(ErrorCode::FrameInFlight, "wait for the answer to the previous FRAME")];
        }
        let jpeg = match incoming {
            Incoming::Binary(bytes) => check_size(&bytes, self.limits.max_frame_bytes).map(|_| bytes),
            Incoming::Text(_) => frame_jpeg(message, self.limits.max_frame_bytes),
        };
        match jpeg {
            Ok(jpeg) => {
                self.idle_deadline = now + self.limits.idle_timeout;
                if *frame_in_flight {
                    // The newest frame waits; an older one waiting is dropped unanswered.
                    *waiting = Some(jpeg);
                    return Vec::new();
                }
                *frame_in_flight = true;
                vec![Action::Analyse(jpeg)]
            }
            Err(err) => vec![Action::Send(err.to_message())],
        }
    }

    /// The session started (with its id) or could not (the ERROR to send).
    pub fn on_started(&mut self, result: Result<String, ProtoError>, now: Instant) -> Vec<Action> {
        let Phase::Starting { heartbeat, latest_frame } = std::mem::replace(&mut self.phase, Phase::Opened) else {
            return Vec::new();
        };
        match result {
            Ok(session_id) => {
                self.phase = Phase::Connected { frame_in_flight: false, latest_frame, waiting: None };
                self.idle_deadline = now + self.limits.idle_timeout;
                self.session_deadline = now + self.limits.max_session;
                self.heartbeat = heartbeat.map(|period| (period, now + period));
                vec![Action::Send(
                    Message::new("CONNECTED").with_header("session-id", &session_id).with_header("version", VERSION),
                )]
            }
            // A refused CONNECT (cooldown, no pipeline) may be tried again.
            Err(err) => vec![Action::Send(err.to_message())],
        }
    }

    /// The session's answer to the FRAME in flight.
    pub fn on_frame_result(&mut self, answer: FrameAnswer, now: Instant) -> Vec<Action> {
        let Phase::Connected { frame_in_flight, waiting, .. } = &mut self.phase else {
            return Vec::new();
        };
        // A frame that waited is analysed next (the session goes on after STATS and refusals).
        let next = waiting.take();
        *frame_in_flight = next.is_some();
        let next = next.map(Action::Analyse);
        self.idle_deadline = now + self.limits.idle_timeout;
        match answer {
            FrameAnswer::Stats(mut result) => {
                if !self.limits.stats_scores {
                    result.details.antispoof_score = None;
                }
                let body = serde_json::to_string(&result).unwrap_or_else(|_| "{}".into());
                [Action::Send(Message::new("STATS").with_body("application/json", body))]
                    .into_iter()
                    .chain(next)
                    .collect()
            }
            FrameAnswer::Refused(err) => [Action::Send(err.to_message())].into_iter().chain(next).collect(),
            FrameAnswer::Failed(err) => {
                let actions = vec![Action::Record(Outcome::Ended(err.code.into())), Action::Send(err.to_message())];
                self.close_with(actions, CloseCode::Internal)
            }
            FrameAnswer::Verdict { token, is_ok, errors, figures } => {
                let message = if is_ok {
                    Message::new("SUCCESS")
                } else {
                    let first = errors.first().copied().unwrap_or(u32::from(Finding::ChallengeFailed.code()));
                    let list = errors.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                    Message::new("ERROR").with_header("error", &first.to_string()).with_header("errors", &list)
                };
                let message =
                    if self.token_to_client { message.with_body("application/jwt", token.clone()) } else { message };
                let record = Action::Record(Outcome::Verdict { is_ok, errors, token, figures });
                self.close_with(vec![record, Action::Send(message)], CloseCode::Normal)
            }
        }
    }

    /// The clock reached [`Connection::deadline`] (or any time before: nothing happens).
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        let timeout = |detail: String| vec![error(ErrorCode::SessionTimeout, detail)];
        let frame_in_flight = match self.phase {
            Phase::Opened if now >= self.connect_deadline => {
                let detail = format!("no CONNECT within {} ms of the upgrade", self.limits.connect_timeout.as_millis());
                return self.close_with(timeout(detail), CloseCode::Policy);
            }
            Phase::Connected { frame_in_flight, .. } => frame_in_flight,
            _ => return Vec::new(),
        };
        // A session that runs out of time without a verdict is a failed one (seed 002).
        if now >= self.session_deadline {
            let detail = format!("the session lasted its {} ms", self.limits.max_session.as_millis());
            let actions = [self.end(ErrorCode::SessionTimeout.into()), timeout(detail)].concat();
            return self.close_with(actions, CloseCode::Policy);
        }
        if !frame_in_flight && now >= self.idle_deadline {
            let detail = format!("no FRAME for {} ms", self.limits.idle_timeout.as_millis());
            let actions = [self.end(ErrorCode::SessionTimeout.into()), timeout(detail)].concat();
            return self.close_with(actions, CloseCode::Policy);
        }
        match &mut self.heartbeat {
            Some((period, next)) if now >= *next => {
                // Late ticks do not pile up beats.
                while *next <= now {
                    *next += *period;
                }
                vec![Action::Send(Message::new("HEARTBEAT"))]
            }
            _ => Vec::new(),
        }
    }

    /// The session's verdict could not be counted against the user's attempts: it is not
    /// delivered (a verdict that left uncounted would be an attempt for free); the client is
    /// told and the connection closes.
    pub fn on_record_failed(&mut self, detail: &str) -> Vec<Action> {
        self.phase = Phase::Closed;
        let notice = error(ErrorCode::Internal, format!("the verdict could not be recorded ({detail}): try again"));
        vec![notice, Action::Close(CloseCode::Internal)]
    }

    /// The client closed the socket (or it broke): a session started and left without its
    /// verdict counts as failed (seed 002: an abort is a failure).
    pub fn on_closed(&mut self) -> Vec<Action> {
        let actions = self.end(Finding::SessionEnded.into());
        self.phase = Phase::Closed;
        actions
    }

    /// A message past the WebSocket bound arrived: the socket cannot read on (the rest of the
    /// message is not taken). The client is told (`frame-too-large`) and the connection closes
    /// with 1009; a running session ends without its verdict, as an abandoned one.
    pub fn on_oversized(&mut self) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        let bound = self.limits.max_frame_bytes * 8 / 3 + 65_536;
        let notice = error(ErrorCode::FrameTooLarge, format!("a message is limited to {bound} bytes"));
        let actions = [self.end(Finding::SessionEnded.into()), vec![notice]].concat();
        self.close_with(actions, CloseCode::TooBig)
    }

    /// The end of the running session without a verdict, if one runs.
    fn end(&self, code: Code) -> Vec<Action> {
        self.record(Outcome::Ended(code))
    }

    fn record(&self, outcome: Outcome) -> Vec<Action> {
        match &self.phase {
            Phase::Connected { .. } => vec![Action::Record(outcome)],
            _ => Vec::new(),
        }
    }

    /// The server shuts down: an open connection is told so and closed, without a verdict;
    /// a running session's reserved strike is given back.
    pub fn on_shutdown(&mut self) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        let notice = error(ErrorCode::ServerShutdown, "the server is shutting down: connect again");
        let actions = [self.record(Outcome::ServerShutdown), vec![notice]].concat();
        self.close_with(actions, CloseCode::GoingAway)
    }

    fn close_with(&mut self, mut actions: Vec<Action>, code: CloseCode) -> Vec<Action> {
        self.phase = Phase::Closed;
        actions.push(Action::Close(code));
        actions
    }
}

/// A client-chosen session id: letters, digits, `-` and `_`, at most 64.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// CONNECT's headers: version, heartbeat, session-id, mirrored, session-token. `user-id` is
/// refused: a client does not name whose attempts it uses (a relying party does, when it
/// creates the session).
pub fn parse_connect(message: &Message, remote: Option<IpAddr>) -> Result<ConnectRequest, ProtoError> {
    let version = message.require("version")?;
    if version != VERSION {
        return Err(ProtoError::header(
            ErrorCode::UnsupportedVersion,
            "version",
            format!("version {version:.20} is not {VERSION}"),
        ));
    }
    let heartbeat = match message.header("heartbeat") {
        None => None,
        Some(value) => {
            let ms = value.parse::<u64>().ok().filter(|ms| *ms == 0 || HEARTBEAT_RANGE_MS.contains(ms)).ok_or_else(
                || ProtoError::header(ErrorCode::InvalidHeader, "heartbeat", "heartbeat is 0 or 100 to 60000 ms"),
            )?;
            (ms > 0).then(|| Duration::from_millis(ms))
        }
    };
    let session_id = match message.header("session-id") {
        Some(id) if valid_session_id(id) => Some(id.to_string()),
        Some(_) => {
            return Err(ProtoError::header(
                ErrorCode::InvalidHeader,
                "session-id",
                "session-id holds 1 to 64 letters, digits, - or _",
            ));
        }
        None => None,
    };
    let mirrored = match message.header("mirrored").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => false,
        Some("true") | Some("1") | Some("yes") => true,
        Some(_) => return Err(ProtoError::header(ErrorCode::InvalidHeader, "mirrored", "mirrored is true or false")),
    };
    if message.header("user-id").is_some() {
        return Err(ProtoError::header(
            ErrorCode::InvalidHeader,
            "user-id",
            "user-id is not accepted: the relying party names the user when it creates the session (POST /v1/sessions); anonymous sessions count by address",
        ));
    }
    let session_token = match message.header("session-token") {
        None => None,
        Some(_) if session_id.is_some() => {
            return Err(ProtoError::header(
                ErrorCode::InvalidHeader,
                "session-id",
                "a relying party's session has its id already: leave session-id out",
            ));
        }
        Some(token) if !token.is_empty() && token.len() <= MAX_SESSION_TOKEN_BYTES => Some(token.to_string()),
        Some(_) => {
            return Err(ProtoError::header(
                ErrorCode::InvalidSessionToken,
                "session-token",
                "session-token holds 1 to 128 bytes",
            ));
        }
    };
    let latest_frame = match message.header("frames") {
        None | Some("wait") => false,
        Some("latest") => true,
        Some(_) => {
            return Err(ProtoError::header(ErrorCode::InvalidHeader, "frames", "frames is wait (default) or latest"));
        }
    };
    let camera = parse_camera(message)?;
    Ok(ConnectRequest { session_id, mirrored, session_token, remote, heartbeat, latest_frame, camera })
}

/// CONNECT's `camera-label` (1 to 256 bytes, no control characters), `camera-size`
/// (`<width>x<height>`, 1 to 16384 each) and `camera-fps` (above 0, at most 1000).
fn parse_camera(message: &Message) -> Result<CameraReport, ProtoError> {
    let invalid = |name: &str, what: &str| ProtoError::header(ErrorCode::InvalidHeader, name, what);
    let label = match message.header("camera-label") {
        None => None,
        Some(l) if !l.is_empty() && l.len() <= MAX_CAMERA_LABEL_BYTES && !l.chars().any(char::is_control) => {
            Some(l.to_string())
        }
        Some(_) => return Err(invalid("camera-label", "camera-label holds 1 to 256 bytes without control characters")),
    };
    let size = match message.header("camera-size") {
        None => None,
        Some(value) => {
            let side = |s: &str| s.trim().parse::<u32>().ok().filter(|v| (1..=16_384).contains(v));
            let parsed = value.split_once(['x', 'X']).and_then(|(w, h)| Some((side(w)?, side(h)?)));
            Some(parsed.ok_or_else(|| invalid("camera-size", "camera-size is <width>x<height>, 1 to 16384 each"))?)
        }
    };
    let fps = match message.header("camera-fps") {
        None => None,
        Some(value) => {
            let fps = value.trim().parse::<f64>().ok().filter(|f| *f > 0.0 && *f <= 1000.0);
            Some(fps.ok_or_else(|| invalid("camera-fps", "camera-fps is above 0 and at most 1000"))?.round() as u32)
        }
    };
    Ok(CameraReport { label, size, fps })
}

/// The JPEG of a text FRAME: its content type, then its size before and after base64.
fn frame_jpeg(message: &Message, max_bytes: usize) -> Result<Vec<u8>, ProtoError> {
    let content_type = message.require("content-type")?;
    if !content_type.eq_ignore_ascii_case(FRAME_CONTENT_TYPE) {
        return Err(ProtoError::header(
            ErrorCode::InvalidHeader,
            "content-type",
            format!("FRAME content-type must be {FRAME_CONTENT_TYPE}"),
        ));
    }
    let body = message.body.trim();
    // Base64 grows 4/3: refuse before decoding what cannot fit.
    if body.len() / 4 * 3 > max_bytes + 3 {
        return Err(too_large(max_bytes));
    }
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|err| ProtoError::new(ErrorCode::BadBase64, format!("FRAME body: {err}")))?;
    check_size(&jpeg, max_bytes)?;
    Ok(jpeg)
}

fn too_large(max_bytes: usize) -> ProtoError {
    ProtoError::new(ErrorCode::FrameTooLarge, format!("frames are limited to {max_bytes} bytes"))
}

fn check_size(jpeg: &[u8], max_bytes: usize) -> Result<(), ProtoError> {
    if jpeg.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
