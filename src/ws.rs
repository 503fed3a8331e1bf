//! Moves one WebSocket connection's bytes between the socket and its LPProto state machine
//! ([`crate::protocol::Connection`]) and carries out what the machine asks: start the session
//! actor, hand it frames, record verdicts, send, close. Every protocol rule lives in the
//! state machine.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use warp::ws::{Message as WsMessage, WebSocket};

use crate::App;
use crate::clock::now_ms;
use crate::protocol::{Action, AttemptEffect, Connection, FrameAnswer, Incoming, Limits, Outcome};
use crate::session::{self, SessionHandle};

type FrameInFlight = Pin<Box<dyn Future<Output = FrameAnswer> + Send>>;

/// How long one message may wait for a client that does not read before it counts as gone.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Time past `SESSION_TIMEOUT_MS` a connection may last, for the verdict to arrive.
const SESSION_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The connection's bounds from the server's configuration.
fn limits(config: &crate::config::Config) -> Limits {
    Limits {
        max_frame_bytes: config.max_frame_bytes,
        idle_timeout: config.idle_timeout,
        stats_scores: config.stats_scores,
        connect_timeout: config.connect_timeout,
        // lvchallenge's own session timeout runs in stream time from the first frame: the
        // connection's bound leaves it room to give its verdict first.
        max_session: config.session_timeout + SESSION_GRACE,
    }
}

/// What one read from the socket gave.
enum Read {
    Message(Incoming),
    /// Ping or pong: nothing for the protocol.
    Skip,
    /// A message past the bound: the socket reads no further.
    Oversized,
    /// The client left: a close frame, the end of the stream or a broken socket.
    Left,
}

fn read(message: Option<Result<WsMessage, warp::Error>>) -> Read {
    match message {
        Some(Ok(m)) if m.is_binary() => Read::Message(Incoming::Binary(m.into_bytes().to_vec())),
        Some(Ok(m)) if m.is_text() => Read::Message(Incoming::Text(m.to_str().unwrap_or_default().to_string())),
        Some(Ok(m)) if !m.is_close() => Read::Skip,
        Some(Err(err)) if is_oversized(&err) => Read::Oversized,
        _ => Read::Left,
    }
}

/// The WebSocket layer refused a message past `max_message_size` (tungstenite's capacity
/// error, which warp passes on as its own opaque error).
fn is_oversized(err: &warp::Error) -> bool {
    let text = err.to_string();
    text.contains("Space limit exceeded") || text.contains("Message too long")
}

/// Serves one WebSocket connection to its end.
pub async fn serve_connection(socket: WebSocket, app: Arc<App>, remote: Option<std::net::SocketAddr>) {
    let mut connection = Connection::new(limits(&app.config), remote.map(|r| r.ip()), Instant::now());
    let _open = OpenConnection::count(&app);
    let mut shutdown = app.shutdown.subscribe();
    let (mut sink, mut stream) = socket.split();
    let mut session: Option<SessionHandle> = None;
    let mut in_flight: Option<FrameInFlight> = None;
    // When the frame in flight arrived, for its round trip.
    let mut frame_arrived = Instant::now();
    let mut actions = VecDeque::new();
    while !connection.is_closed() {
        let deadline = connection.deadline();
        let new = tokio::select! {
            incoming = stream.next() => match read(incoming) {
                Read::Message(incoming) => connection.on_message(incoming, Instant::now()),
                Read::Skip => continue,
                Read::Oversized => connection.on_oversized(),
                Read::Left => connection.on_closed(),
            },
            answer = async { in_flight.as_mut().expect("guarded by the select condition").await }, if in_flight.is_some() => {
                in_flight = None;
                app.metrics.frame_answered(frame_arrived.elapsed());
                connection.on_frame_result(answer, Instant::now())
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                connection.on_tick(Instant::now())
            }
            _ = async { shutdown.wait_for(|closing| *closing).await.map(|_| ()) } => connection.on_shutdown(),
        };
        actions.extend(new);
        while let Some(action) = actions.pop_front() {
            match action {
                Action::Send(message) => {
                    if !send(&mut sink, WsMessage::text(message.encode())).await {
                        // The client is gone or does not read: what is left to do is count
                        // its session.
                        actions.clear();
                        actions.extend(connection.on_closed());
                    }
                }
                Action::Start(request) => {
                    let started = session::open(&app, &request).await;
                    note_start(&app, &started);
                    let id = started.as_ref().map(|s| s.id.clone()).map_err(Clone::clone);
                    session = started.ok();
                    // What starting gave is answered before anything queued after it.
                    for (i, next) in connection.on_started(id, Instant::now()).into_iter().enumerate() {
                        actions.insert(i, next);
                    }
                }
                Action::Analyse(jpeg) => {
                    frame_arrived = Instant::now();
                    in_flight = session.as_ref().map(|s| Box::pin(s.analyse(jpeg)) as FrameInFlight);
                }
                Action::Record(outcome) => {
                    let Some(session) = session.as_ref() else { continue };
                    if let Err(err) = record(&app, session, &outcome).await
                        && matches!(outcome, Outcome::Verdict { .. })
                    {
                        // No verdict leaves the server unless its strike or reset is stored.
                        actions.clear();
                        actions.extend(connection.on_record_failed(&err.to_string()));
                    }
                }
                Action::Close(code) => {
                    send(&mut sink, WsMessage::close_with(code as u16, "")).await;
                }
            }
        }
    }
    // A frame still in the session is answered to no one; the pipeline stops either way.
    drop(in_flight);
    finish(&app, session).await;
    // A client that does not read gets no more time than any message.
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.close()).await;
}

/// Logs and counts how a CONNECT went; a started session's id and user (hashed) join the
/// connection's span.
fn note_start(app: &App, started: &Result<SessionHandle, crate::protocol::ProtoError>) {
    match started {
        Ok(s) => {
            let span = tracing::Span::current();
            span.record("session", s.id.as_str());
            span.record("user", crate::logging::user_hash(&app.log_hash_secret, &s.policy_key).as_str());
            tracing::info!("session started");
        }
        Err(refused) => {
            app.metrics.refused("lpproto", refused.code);
            tracing::info!(code = refused.code.name(), "CONNECT refused");
        }
    }
}

/// Sends one message, within `SEND_TIMEOUT`: a client that does not read cannot make the
/// server queue for it. False when it could not be sent.
async fn send(sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>, message: WsMessage) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await, Ok(Ok(())))
}

/// Stops the session's pipeline and releases its user's live claim.
async fn finish(app: &App, session: Option<SessionHandle>) {
    if let Some(session) = session {
        let (policy_key, id) = (session.policy_key.clone(), session.id.clone());
        session.close().await;
        if !session::claims_live(&policy_key) {
            return;
        }
        if let Err(err) = app.policy.release_live(&policy_key, &id).await {
            tracing::warn!(%err, "the live session of a user was not released");
        }
    }
}

/// One open connection in [`App::connections`], for as long as it lives.
struct OpenConnection<'a>(&'a App);

impl<'a> OpenConnection<'a> {
    fn count(app: &'a App) -> Self {
        app.connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        OpenConnection(app)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Records how a session ended: against its user's attempts ([`Outcome::attempt_effect`]: a
/// pass clears the strikes, a failure or an end without verdict keeps the strike reserved at
/// its start, an uncertain age after a passed liveness check and a shutdown give it back) and, for a relying party's session, as the result its backend fetches.
async fn record(app: &App, session: &SessionHandle, outcome: &Outcome) -> Result<(), crate::policy::StoreError> {
    app.metrics.session_finished(outcome);
    let duration_ms = session.started_at.elapsed().as_millis() as u64;
    match outcome {
        Outcome::Verdict { is_ok, errors, figures, .. } => {
            let outcome = if *is_ok { "passed" } else { "failed" };
            // The measurements the token leaves out stay in the log (scores, not images).
            let figures = figures.as_deref().unwrap_or("");
            tracing::info!(outcome, codes = ?errors, duration_ms, figures, "session ended");
        }
        Outcome::Ended(code) => tracing::info!(outcome = "ended", reason = code.name(), duration_ms, "session ended"),
        Outcome::ServerShutdown => tracing::info!(outcome = "shutdown", duration_ms, "session ended"),
    }
    let key = &session.policy_key;
    let counted = match outcome.attempt_effect() {
        AttemptEffect::Cleared => app.policy.succeed(key).await,
        AttemptEffect::Counted => app.policy.fail(key, now_ms(), &app.config.policy).await.map(drop),
        AttemptEffect::GivenBack => app.policy.unreserve(key, &app.config.policy).await,
    };
    let reported = match &session.relying_party {
        Some(running) => crate::relying_party::finish(app, running, outcome).await,
        None => Ok(()),
    };
    let recorded = counted.and(reported);
    if let Err(err) = &recorded {
        tracing::error!(%err, "the end of the session was not recorded");
    }
    // The session is decided: the user may start the next one as soon as they hear it.
    if session::claims_live(key)
        && let Err(err) = app.policy.release_live(key, &session.id).await
    {
        tracing::warn!(%err, "the live session of a user was not released");
    }
    recorded
}
