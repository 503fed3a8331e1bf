//! One LPProto connection: CONNECT builds the session's pipeline, each FRAME is answered with
//! STATS, SUCCESS (then the socket closes) or ERROR, HEARTBEAT goes out every N ms when asked.
//! One FRAME may be in flight; a second one before the answer is refused and the session goes on.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use gstliveness::errors::ErrorCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use warp::ws::{Message as WsMessage, WebSocket};

use crate::App;
use crate::lpproto::{Message, ProtoError, VERSION};
use crate::policy::Decision;
use crate::session::{LivenessSession, SessionOptions, SinkEvent, decode_jpeg, error_codes};

/// Content type of a FRAME body (seed 000).
pub const FRAME_CONTENT_TYPE: &str = "image/x-jpeg-base64";
/// Heartbeat periods accepted in CONNECT, in ms.
pub const HEARTBEAT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

enum Outgoing {
    Text(String),
    Close,
}

/// What a finished FRAME gives: the answer, whether the session is over (and its verdict),
/// the session back.
struct FrameDone {
    answer: Message,
    last: bool,
    verdict: Option<bool>,
    session: Box<LivenessSession>,
}

/// A client-chosen session id: letters, digits, `-` and `_`, at most 64.
pub(crate) fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// STATS `details` and `isOk`/`errors` from lvjwtsink's `frame-result`.
pub fn stats_body(result: &gst::StructureRef) -> Value {
    let errors = error_codes(result.get::<gst::Array>("errors").ok());
    let int = |name: &str| result.get::<i32>(name).ok();
    let num = |name: &str| result.get::<f64>(name).ok();
    let face = match (int("x"), int("y"), int("width"), int("height")) {
        (Some(x), Some(y), Some(width), Some(height)) => json!({"x": x, "y": y, "width": width, "height": height}),
        _ => Value::Null,
    };
    let quality = match num("blur") {
        Some(blur) => json!({
            "blur": blur,
            "light": num("light"),
            "darkness": num("darkness"),
            "illumination": num("illumination"),
            "specularity": num("specularity"),
        }),
        None => Value::Null,
    };
    let challenge = match result.get::<String>("challenge") {
        Ok(name) => json!({
            "name": if name.is_empty() { Value::Null } else { Value::String(name) },
            "index": result.get::<u32>("challenge-index").ok(),
            "total": result.get::<u32>("challenge-total").ok(),
            "progress": num("progress"),
            "passed": result.get::<u32>("passed").ok(),
            "timeLeftMs": result.get::<i64>("time-left-ms").ok().filter(|t| *t >= 0),
            "stage": result.get::<String>("stage").ok(),
            "hint": result.get::<String>("hint").ok(),
        }),
        Err(_) => Value::Null,
    };
    json!({
        "isOk": result.get::<bool>("is-ok").unwrap_or(false),
        "errors": errors,
        "details": {
            "faces": result.get::<u32>("faces").unwrap_or(0),
            "faceRect": face,
            "quality": quality,
            "antispoofScore": num("antispoof-score"),
            "challenge": challenge,
        },
    })
}

/// Runs one FRAME through the session.
async fn process_frame(mut session: Box<LivenessSession>, jpeg: Vec<u8>) -> FrameDone {
    let decoded = tokio::task::spawn_blocking(move || decode_jpeg(&jpeg)).await;
    let frame = match decoded {
        Ok(Ok(frame)) => frame,
        Ok(Err(err)) => return FrameDone { answer: err.to_message(), last: false, verdict: None, session },
        Err(err) => {
            let err = ProtoError::new(ErrorCode::Internal, format!("decoder: {err}"));
            return FrameDone { answer: err.to_message(), last: false, verdict: None, session };
        }
    };
    if let Err(err) = session.push(frame) {
        let last = err.code == ErrorCode::Internal;
        return FrameDone { answer: err.to_message(), last, verdict: None, session };
    }
    match session.answer().await {
        SinkEvent::Frame(result) => FrameDone {
            answer: Message::new("STATS").with_body("application/json", stats_body(&result).to_string()),
            last: false,
            verdict: None,
            session,
        },
        SinkEvent::Verdict { token, is_ok: true, .. } => {
            let answer = Message::new("SUCCESS").with_body("application/jwt", token);
            FrameDone { answer, last: true, verdict: Some(true), session }
        }
        SinkEvent::Verdict { token, is_ok: false, errors } => {
            let first = errors.first().copied().unwrap_or(ErrorCode::ChallengeFailed.code() as u32);
            let list = errors.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let answer = Message::new("ERROR")
                .with_header("error", &first.to_string())
                .with_header("errors", &list)
                .with_body("application/jwt", token);
            FrameDone { answer, last: true, verdict: Some(false), session }
        }
        SinkEvent::Failed(reason) => {
            let answer = ProtoError::new(ErrorCode::Internal, reason).to_message();
            FrameDone { answer, last: true, verdict: None, session }
        }
    }
}

/// The JPEG of a FRAME message.
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

/// Serves one WebSocket connection to its end.
pub async fn serve_connection(socket: WebSocket, app: Arc<App>, remote: Option<std::net::SocketAddr>) {
    let config = &app.config;
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let writer = tokio::spawn(async move {
        while let Some(item) = outgoing.recv().await {
            let result = match item {
                Outgoing::Text(text) => sink.send(WsMessage::text(text)).await,
                Outgoing::Close => {
                    let _ = sink.send(WsMessage::close()).await;
                    break;
                }
            };
            if result.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let send = |message: Message| {
        let _ = out.send(Outgoing::Text(message.encode()));
    };

    let mut session: Option<Box<LivenessSession>> = None;
    // Whose attempts the session counts (seed 002's policy).
    let mut user_key = String::new();
    let mut connected = false;
    let mut heartbeat: Option<JoinHandle<()>> = None;
    let mut in_flight: Option<JoinHandle<FrameDone>> = None;
    let mut idle_deadline = Instant::now() + config.idle_timeout;
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(Ok(incoming)) = incoming else { break };
                if incoming.is_close() {
                    break;
                }
                // A binary message is a raw JPEG FRAME (extension to seed 000).
                let parsed = if incoming.is_binary() {
                    Ok(Message { command: "FRAME".into(), headers: vec![], body: String::new() })
                } else if let Ok(text) = incoming.to_str() {
                    Message::parse(text)
                } else {
                    continue; // ping/pong
                };
                let message = match parsed {
                    Ok(message) => message,
                    Err(err) => { send(err.to_message()); continue; }
                };
                match message.command.as_str() {
                    "CONNECT" => {
                        if connected {
                            send(ProtoError::new(ErrorCode::AlreadyConnected, "this session is connected").to_message());
                            continue;
                        }
                        match connect(&message, &app, remote).await {
                            Ok((started, period, key)) => {
                                user_key = key;
                                send(Message::new("CONNECTED").with_header("session-id", &started.id).with_header("version", VERSION));
                                if let Some(period) = period {
                                    let beat = out.clone();
                                    heartbeat = Some(tokio::spawn(async move {
                                        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
                                        loop {
                                            ticks.tick().await;
                                            if beat.send(Outgoing::Text(Message::new("HEARTBEAT").encode())).is_err() {
                                                break;
                                            }
                                        }
                                    }));
                                }
                                session = Some(Box::new(started));
                                connected = true;
                                idle_deadline = Instant::now() + config.idle_timeout;
                            }
                            Err(err) => send(err.to_message()),
                        }
                    }
                    "FRAME" => {
                        if !connected {
                            send(ProtoError::new(ErrorCode::NotConnected, "send CONNECT first").to_message());
                            continue;
                        }
                        if in_flight.is_some() {
                            send(ProtoError::new(ErrorCode::FrameInFlight, "wait for the answer to the previous FRAME").to_message());
                            continue;
                        }
                        let jpeg = if incoming.is_binary() {
                            let bytes = incoming.as_bytes().to_vec();
                            check_size(&bytes, config.max_frame_bytes).map(|_| bytes)
                        } else {
                            frame_jpeg(&message, config.max_frame_bytes)
                        };
                        match (jpeg, session.take()) {
                            (Err(err), s) => { session = s; send(err.to_message()); }
                            (Ok(jpeg), Some(s)) => {
                                idle_deadline = Instant::now() + config.idle_timeout;
                                in_flight = Some(tokio::spawn(process_frame(s, jpeg)));
                            }
                            (Ok(_), None) => send(ProtoError::new(ErrorCode::SessionClosed, "the session has ended").to_message()),
                        }
                    }
                    // A client's heartbeat keeps the session alive.
                    "HEARTBEAT" => idle_deadline = Instant::now() + config.idle_timeout,
                    other => send(ProtoError::new(ErrorCode::UnknownCommand, format!("unknown command {other}")).to_message()),
                }
            }
            done = async { in_flight.as_mut().expect("guarded by the select condition").await }, if in_flight.is_some() => {
                in_flight = None;
                idle_deadline = Instant::now() + config.idle_timeout;
                match done {
                    Ok(FrameDone { answer, last, verdict, session: s }) => {
                        // The strike is written before the client hears the verdict, so that
                        // its next CONNECT, on any server, already sees it.
                        let now = now_ms();
                        let recorded = match verdict {
                            Some(true) => app.policy.succeed(&user_key).await.map(|_| ()),
                            Some(false) => app.policy.fail(&user_key, now, &config.policy).await.map(|_| ()),
                            None => Ok(()),
                        };
                        if let Err(err) = recorded {
                            eprintln!("lpserver: attempts of session {} not recorded: {err}", s.id);
                        }
                        send(answer);
                        if last {
                            close_session(Some(s)).await;
                            let _ = out.send(Outgoing::Close);
                            break;
                        }
                        session = Some(s);
                    }
                    Err(err) => {
                        send(ProtoError::new(ErrorCode::Internal, format!("frame task: {err}")).to_message());
                        let _ = out.send(Outgoing::Close);
                        break;
                    }
                }
            }
            _ = tokio::time::sleep_until(idle_deadline), if connected && in_flight.is_none() => {
                send(ProtoError::new(ErrorCode::SessionTimeout, format!("no FRAME for {} ms", config.idle_timeout.as_millis())).to_message());
                let _ = out.send(Outgoing::Close);
                break;
            }
        }
    }
    if let Some(task) = heartbeat {
        task.abort();
    }
    if let Some(task) = in_flight
        && let Ok(done) = task.await
    {
        session = Some(done.session);
    }
    close_session(session).await;
    drop(out);
    let _ = writer.await;
}

/// Stops a session's pipeline off the async runtime.
async fn close_session(session: Option<Box<LivenessSession>>) {
    if let Some(session) = session {
        let _ = tokio::task::spawn_blocking(move || drop(session)).await;
    }
}

/// Milliseconds since 1970.
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Checks CONNECT's headers and the user's attempts, and starts the session: (session,
/// heartbeat period, user key). The user key is the `user-id` header, else the client's
/// address.
async fn connect(
    message: &Message,
    app: &Arc<App>,
    remote: Option<std::net::SocketAddr>,
) -> Result<(LivenessSession, Option<Duration>, String), ProtoError> {
    let version = message.require("version")?;
    if version != VERSION {
        return Err(ProtoError::header(
            ErrorCode::UnsupportedVersion,
            "version",
            format!("version {version:.20} is not {VERSION}"),
        ));
    }
    let period = match message.header("heartbeat") {
        None => None,
        Some(value) => {
            let ms = value.parse::<u64>().ok().filter(|ms| *ms == 0 || HEARTBEAT_RANGE_MS.contains(ms)).ok_or_else(
                || ProtoError::header(ErrorCode::InvalidHeader, "heartbeat", "heartbeat is 0 or 100 to 60000 ms"),
            )?;
            (ms > 0).then(|| Duration::from_millis(ms))
        }
    };
    let id = match message.header("session-id") {
        Some(id) if valid_session_id(id) => id.to_string(),
        Some(_) => {
            return Err(ProtoError::header(
                ErrorCode::InvalidHeader,
                "session-id",
                "session-id holds 1 to 64 letters, digits, - or _",
            ));
        }
        None => gstliveness::lvjwtsink::token::random_uuid(),
    };
    if message.header("session-id").is_some() {
        refuse_stored_id(app, &id).await?;
    }
    let mirrored = match message.header("mirrored").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => false,
        Some("true") | Some("1") | Some("yes") => true,
        Some(_) => {
            return Err(ProtoError::header(ErrorCode::InvalidHeader, "mirrored", "mirrored is true or false"));
        }
    };
    let user_key = match message.header("user-id") {
        Some(user) if !user.is_empty() && user.len() <= 128 => format!("user:{user}"),
        Some(_) => return Err(ProtoError::header(ErrorCode::InvalidHeader, "user-id", "user-id holds 1 to 128 bytes")),
        None => format!("address:{}", remote.map(|r| r.ip().to_string()).unwrap_or_default()),
    };
    let decision = app
        .policy
        .decide(&user_key, now_ms(), &app.config.policy)
        .await
        .map_err(|err| ProtoError::new(ErrorCode::Internal, format!("attempt counters unavailable: {err}")))?;
    match decision {
        Decision::Allowed { .. } => {}
        Decision::Cooldown { until_ms } => {
            let mut err = ProtoError::new(ErrorCode::Cooldown, "too many failed sessions: wait for the cooldown");
            err.retry_after_ms = Some(until_ms.saturating_sub(now_ms()));
            return Err(err);
        }
        Decision::FinalFailure => {
            return Err(ProtoError::new(ErrorCode::FinalFailure, "FINAL_FAILURE is recorded for this user"));
        }
    }
    let options = SessionOptions { id, mirrored };
    let app = app.clone();
    tokio::task::spawn_blocking(move || LivenessSession::start(&app.config, &options))
        .await
        .map_err(|err| ProtoError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(|err| ProtoError::new(ErrorCode::Internal, err))
        .map(|session| (session, period, user_key))
}

/// With frame storage, a client-chosen session id must not be one already stored: its frames
/// would be appended to another session's.
async fn refuse_stored_id(app: &App, id: &str) -> Result<(), ProtoError> {
    use gstliveness::lvvideoglue::store::{Store, session_key};
    let (true, Some(url)) = (app.config.store_frames, app.config.redis_url.clone()) else { return Ok(()) };
    let key = session_key(id);
    let stored = tokio::task::spawn_blocking(move || Store::connect(&url).and_then(|mut store| store.exists(&key)))
        .await
        .map_err(|err| ProtoError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(|err| ProtoError::new(ErrorCode::Internal, format!("session store unavailable: {err}")))?;
    if stored {
        return Err(ProtoError::header(
            ErrorCode::InvalidHeader,
            "session-id",
            "a stored session already has this session-id: choose another or leave it out",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_cannot_carry_odd_characters() {
        assert!(valid_session_id("623e1bbc-24f9-4d84-907f-8000978ec2a1"));
        assert!(!valid_session_id(""));
        assert!(!valid_session_id("a:b"));
        assert!(!valid_session_id("../x"));
        assert!(!valid_session_id(&"a".repeat(65)));
    }

    #[test]
    fn frame_bodies_are_checked_before_decoding() {
        let frame = |body: &str| Message::new("FRAME").with_body(FRAME_CONTENT_TYPE, body.to_string());
        assert_eq!(frame_jpeg(&frame("not base64!"), 1024).unwrap_err().code, ErrorCode::BadBase64);
        assert_eq!(frame_jpeg(&frame(&"A".repeat(4000)), 1024).unwrap_err().code, ErrorCode::FrameTooLarge);
        assert_eq!(frame_jpeg(&frame("/9j/"), 1024).unwrap(), vec![0xFF, 0xD8, 0xFF]);
        let wrong = Message::new("FRAME").with_body("image/png", String::new());
        assert_eq!(frame_jpeg(&wrong, 1024).unwrap_err().code, ErrorCode::InvalidHeader);
        assert_eq!(frame_jpeg(&Message::new("FRAME"), 1024).unwrap_err().code, ErrorCode::MissingHeader);
    }
}
