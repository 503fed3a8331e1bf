//! One liveness session as an actor: a thread that owns the pipeline `appsrc ! lvfacedetect !
//! lvlandmarks ! lvantispoof ! lvsurfaceanalysis ! lvchallenge ! lvjwtsink` (built from the
//! element factories, configured through their properties), takes JPEG frames over a channel
//! and answers each with lvjwtsink's typed frame result or the verdict. Models are shared by
//! every session of the process, so a new session costs no model load. With `STORE_FRAMES=1`
//! the chain also tees into `lvvideoglue`, which keeps the session's frames and results in
//! Redis.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use crate::errors::ErrorCode;
use gst::prelude::*;
use gstliveness::capture::CaptureMeta;
use gstliveness::verdict::{StructureForm, error_codes};
use liveness_core::verdict::FrameResult;
use tokio::sync::oneshot;

use crate::App;
use crate::analysis::{MissingElement, Stage};
use crate::clock::now_ms;
use crate::config::Config;
use crate::decode::{DecodeError, JpegHeader, decode_checked_jpeg, decode_jpeg_into, jpeg_header};
use crate::gate::GatePass;
use crate::protocol::{ConnectRequest, FrameAnswer, Outcome, ProtoError};

/// How long a frame may take through the pipeline before the session fails.
const FRAME_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a frame keeps its place in the analysis gate: frames take milliseconds, and one
/// stuck in its pipeline hands its place on after this long (it still gets its answer, or
/// fails at `FRAME_ANSWER_TIMEOUT`), so that a hung pipeline does not hold a core's turn.
const GATE_HOLD_LIMIT: Duration = Duration::from_secs(1);
/// How long `stop` waits for lvvideoglue to finish writing: its queue holds at most 300
/// frames, each a JPEG encode and a Redis write (10-20 ms, more on a loaded machine), and the
/// analysis can run ahead of the store by that many frames.
const STORE_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a session's pipeline could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    MissingElement(#[from] MissingElement),
    #[error("the session pipeline cannot be linked: {0}")]
    Link(#[from] gst::glib::BoolError),
    #[error("the session pipeline did not start: {0}")]
    Start(String),
    #[error("a stored session already has this session-id")]
    IdTaken,
    #[error("session store unavailable: {0}")]
    Store(#[from] gstliveness::store::StoreError),
    #[error("the session thread: {0}")]
    Thread(String),
}

/// What lvjwtsink (or the bus) says after a frame.
#[derive(Debug, Clone)]
enum SinkEvent {
    Frame(FrameResult),
    Verdict { token: String, is_ok: bool, errors: Vec<u32>, figures: Option<String> },
    Failed(String),
}

/// Settings of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub id: String,
    /// Frames are a selfie view (mirrored).
    pub mirrored: bool,
    /// The client chose the id: with frame storage, it must not be a stored session's.
    pub client_chose_id: bool,
    /// Whom the verdict token is for (`aud`): the relying party that created the session.
    pub audience: Option<String>,
    /// The relying party's choice of the screen-flash challenge (None: the server's `FLASH`).
    pub flash: Option<bool>,
}

/// Frames a turn or a look up or down is held: half a second at the page's pace (it sends a
/// frame per answer, about 10 a second), as seed 002's 15 frames are at a camera's 30.
const HOLD_FRAMES: u32 = 5;
/// The page's oval (web/liveness-check.js `FIT`): a session calibrates only once the face is at
/// least this share of the frame's shorter side (the oval is 45 % of a 4:3 frame's height and
/// a face box about four fifths of a head) ...
const MIN_FACE_SHARE: f64 = 0.25;
/// ... and its centre within this share of the frame's width and height of the centre.
const MAX_CENTRE_OFFSET: f64 = 0.2;

/// lvchallenge as the configuration asks: a fixed sequence, or a random one from the pool; a
/// session without the screen flash asks its own number of movements after longer holds.
fn challenge_stage(config: &Config, options: &SessionOptions) -> Stage {
    let flash = options.flash.unwrap_or(config.flash);
    let (length, hold) = if flash {
        (config.challenge_length, &config.prompt_hold)
    } else {
        (config.challenge_length_without_flash, &config.prompt_hold_without_flash)
    };
    let stage = Stage::new("lvchallenge")
        .with("mirrored", options.mirrored)
        .with("hold-frames", HOLD_FRAMES)
        .with("min-face-share", MIN_FACE_SHARE)
        .with("max-centre-offset", MAX_CENTRE_OFFSET)
        .with("flash", flash)
        .with("max-duplicate-share", config.max_duplicate_share)
        .with("min-sensor-noise", config.min_sensor_noise)
        .with("require-varying-jpeg", config.require_varying_jpeg)
        .with("challenge-timeout", config.challenge_timeout.as_millis() as u64)
        .with("prompt-hold-min", hold.start().as_millis() as u64)
        .with("prompt-hold-max", hold.end().as_millis() as u64)
        .with("timeout", config.session_timeout.as_millis() as u64);
    match (&config.challenge_sequence, &config.challenges) {
        (Some(sequence), _) => stage.with("sequence", sequence),
        (None, Some(pool)) => stage.with("length", length).with("challenges", pool),
        (None, None) => stage.with("length", length),
    }
}

/// lvjwtsink with the server's key, issuer and the session's id.
fn sink_element(config: &Config, options: &SessionOptions) -> Result<gst::Element, MissingElement> {
    let mut stage = Stage::new("lvjwtsink")
        .with("session-id", &options.id)
        .with("min-age", config.min_age)
        .with("age-buffer", config.age_buffer)
        // The measurements go in the token only where STATS carry them too (STATS_DETAIL=debug).
        .with("token-figures", config.stats_scores);
    if let Some(secret) = &config.jwt_secret {
        stage = stage.with("key", secret);
    }
    if let Some(file) = &config.jwt_key_file {
        stage = stage.with("key-file", file.display().to_string());
    }
    if let Some(issuer) = &config.jwt_issuer {
        stage = stage.with("issuer", issuer);
    }
    if let Some(audience) = &options.audience {
        stage = stage.with("audience", audience);
    }
    let jwt = stage.build()?;
    jwt.set_property_from_str("algorithm", config.jwt_algorithm.nick());
    Ok(jwt)
}

/// Times each frame's stay in `element`, from its sink pad to its src pad (the in-place
/// elements push on the streaming thread that brought the frame), into `metrics`.
fn time_element(element: &gst::Element, metrics: &Arc<crate::metrics::Metrics>) {
    let (Some(sink), Some(src)) = (element.static_pad("sink"), element.static_pad("src")) else { return };
    let name = element.factory().map(|f| f.name().to_string()).unwrap_or_default();
    let entered = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let at_sink = entered.clone();
    sink.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        *at_sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        gst::PadProbeReturn::Ok
    });
    let metrics = metrics.clone();
    // A frame's time ends at its buffer or, for lvchallenge's last frame, at the verdict
    // event it sends ahead of that buffer (the session may close before the buffer follows).
    src.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && event.type_() != gst::EventType::CustomDownstream
        {
            return gst::PadProbeReturn::Ok;
        }
        if let Some(at) = entered.lock().unwrap_or_else(|p| p.into_inner()).take() {
            metrics.element_time(&name, at.elapsed());
        }
        gst::PadProbeReturn::Ok
    });
}

/// The session's pipeline, linked; the appsrc and lvjwtsink of it.
fn build_pipeline(
    config: &Config,
    options: &SessionOptions,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<(gst::Pipeline, gst_app::AppSrc, gst::Element, bool), SessionError> {
    let pipeline = gst::Pipeline::with_name(&format!("session-{}", options.id));
    let appsrc = gst_app::AppSrc::builder().format(gst::Format::Time).is_live(true).max_bytes(0).build();
    let mut chain = vec![
        appsrc.clone().upcast(),
        Stage::new("lvfacedetect").with("every-nth", config.detect_every_nth).build()?,
        Stage::new("lvlandmarks").with("idle-every-nth", config.mesh_idle_every_nth).build()?,
        Stage::new("lvantispoof")
            .with("threshold", config.antispoof_threshold)
            .with("every-nth", config.passive_every_nth)
            .build()?,
        Stage::new("lvsurfaceanalysis").with("every-nth", config.passive_every_nth).build()?,
        challenge_stage(config, options).build()?,
    ];
    for element in &chain[1..] {
        time_element(element, metrics);
    }
    let jwt = sink_element(config, options)?;
    // With STORE_FRAMES, a tee hands every analysed frame (and the verdict) to lvvideoglue
    // through a queue, so that Redis never holds up the answers.
    let store = match (config.store_frames, &config.redis_url) {
        (true, Some(url)) => {
            let queue = Stage::new("queue")
                .with("max-size-buffers", 300u32)
                .with("max-size-bytes", 0u32)
                .with("max-size-time", 0u64)
                .build()?;
            // The store does not take part in preroll: the answers never wait for it.
            let glue = Stage::new("lvvideoglue")
                .with("async", false)
                .with("redis-url", url)
                .with("session-id", &options.id)
                .with("ttl", config.store_ttl_s)
                .build()?;
            let tee = Stage::new("tee").build()?;
            chain.push(tee.clone());
            Some((tee, queue, glue))
        }
        _ => None,
    };
    pipeline.add_many(&chain)?;
    gst::Element::link_many(&chain)?;
    // The tee feeds the store's queue first, then lvjwtsink.
    if let Some((tee, queue, glue)) = &store {
        pipeline.add_many([queue, glue])?;
        gst::Element::link_many([tee, queue, glue])?;
    }
    pipeline.add(&jwt)?;
    chain.last().map_or(Ok(()), |last| last.link(&jwt))?;
    Ok((pipeline, appsrc, jwt, store.is_some()))
}

/// The LPProto error of a frame that cannot be decoded.
fn frame_error(err: &DecodeError) -> ProtoError {
    let code = match err {
        DecodeError::TooManyPixels { .. } => ErrorCode::FrameTooLarge,
        _ => ErrorCode::NotJpeg,
    };
    ProtoError::new(code, err.to_string())
}

/// Waits for the pipeline's word on a frame, `total` at most: the first `hold` with the
/// frame's place in the analysis gate, the rest after giving it up.
fn await_answer<T>(
    events: &std_mpsc::Receiver<T>,
    turn: GatePass<'_>,
    hold: Duration,
    total: Duration,
) -> Result<T, std_mpsc::RecvTimeoutError> {
    match events.recv_timeout(hold) {
        Err(std_mpsc::RecvTimeoutError::Timeout) => {
            drop(turn);
            tracing::warn!(
                held_ms = hold.as_millis() as u64,
                "a frame is slow in its pipeline: its analysis place passes on"
            );
            events.recv_timeout(total.saturating_sub(hold))
        }
        answer => answer,
    }
}

/// A session's frames: their caps (I420 of the first frame's size) and a pool of buffers
/// libjpeg-turbo decodes into, reused from frame to frame (no allocation, no copy).
struct SessionFrames {
    info: gst_video::VideoInfo,
    /// None where GStreamer would lay the planes out otherwise than the decoder writes them:
    /// then each frame is decoded apart and copied.
    pool: Option<gst::BufferPool>,
}

impl SessionFrames {
    fn new(width: u32, height: u32) -> Result<SessionFrames, gst::glib::BoolError> {
        let info = crate::decode::i420_info(width, height, gst::Fraction::new(0, 1))?;
        let pool = match crate::decode::same_layout(&info) {
            true => {
                let pool = gst::BufferPool::new();
                let mut config = pool.config();
                config.set_params(Some(&info.to_caps()?), info.size() as u32, 0, 0);
                pool.set_config(config)?;
                pool.set_active(true)?;
                Some(pool)
            }
            false => None,
        };
        Ok(SessionFrames { info, pool })
    }

    /// One JPEG (its header checked) as a buffer of the session's caps.
    fn decode(&self, jpeg: &[u8], header: &JpegHeader) -> Result<gst::Buffer, ProtoError> {
        let internal = |detail: String| ProtoError::new(ErrorCode::Internal, detail);
        let Some(pool) = &self.pool else {
            let frame = decode_checked_jpeg(jpeg, header).map_err(|err| frame_error(&err))?;
            return Ok(frame.into_buffer(&self.info));
        };
        let mut buffer = pool.acquire_buffer(None).map_err(|err| internal(format!("buffer pool: {err:?}")))?;
        let mut map = buffer
            .get_mut()
            .ok_or_else(|| internal("a pooled buffer is shared".into()))?
            .map_writable()
            .map_err(|err| internal(format!("buffer map: {err}")))?;
        decode_jpeg_into(jpeg, header, map.as_mut_slice()).map_err(|err| frame_error(&err))?;
        drop(map);
        Ok(buffer)
    }
}

impl Drop for SessionFrames {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            let _ = pool.set_active(false);
        }
    }
}

/// A running session's pipeline; only its actor thread touches it.
struct LivenessSession {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    events: std_mpsc::Receiver<SinkEvent>,
    started: Instant,
    /// The first frame's size and caps, and the buffers frames are decoded into.
    frames: Option<SessionFrames>,
    /// Most pixels a frame may have (`MAX_FRAME_PIXELS`).
    max_pixels: u64,
    /// With frame storage: where the end of stream is announced, so that `stop` lets
    /// lvvideoglue write the last frames and the summary first.
    eos: Option<std_mpsc::Receiver<()>>,
}

impl LivenessSession {
    /// Builds and starts the pipeline. Blocking.
    fn start(
        config: &Config,
        options: &SessionOptions,
        metrics: &Arc<crate::metrics::Metrics>,
    ) -> Result<LivenessSession, SessionError> {
        let (pipeline, appsrc, jwt, stored) = build_pipeline(config, options, metrics)?;
        let (sender, events) = std_mpsc::channel();
        let frames = sender.clone();
        jwt.connect("frame-result", false, move |args| {
            let result = args[1].get::<gst::Structure>().map_err(|err| err.to_string()).and_then(|s| {
                FrameResult::from_structure(s.as_ref()).map_err(|err| format!("lvjwtsink's frame-result: {err}"))
            });
            let _ = frames.send(result.map_or_else(SinkEvent::Failed, SinkEvent::Frame));
            None
        });
        let verdicts = sender.clone();
        jwt.connect("verdict", false, move |args| {
            let token = args[1].get::<String>().unwrap_or_default();
            let is_ok = args[2].get::<bool>().unwrap_or(false);
            let errors = args[3].get::<gst::Array>().map(|a| error_codes(&a)).unwrap_or_default();
            let figures = args.get(4).and_then(|f| f.get::<String>().ok()).filter(|f| !f.is_empty());
            let _ = verdicts.send(SinkEvent::Verdict { token, is_ok, errors, figures });
            None
        });
        let bus = pipeline.bus().ok_or_else(|| SessionError::Start("the pipeline has no bus".into()))?;
        let (eos_sender, eos) = std_mpsc::channel();
        let eos_sender = std::sync::Mutex::new(eos_sender);
        let session_id = options.id.clone();
        bus.set_sync_handler(move |_, msg| {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    let _ = sender.send(SinkEvent::Failed(crate::analysis::client_error(err)));
                }
                gst::MessageView::Warning(warning) => {
                    let element = warning.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                    let details = warning.debug().map(|d| d.to_string()).unwrap_or_default();
                    tracing::warn!(session = %session_id, %element, %details, "pipeline warning: {}", warning.error());
                }
                gst::MessageView::Eos(_) => {
                    let _ = eos_sender.lock().map(|s| s.send(()));
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
        let mut session = LivenessSession {
            pipeline,
            appsrc,
            events,
            started: Instant::now(),
            frames: None,
            max_pixels: config.max_frame_pixels,
            eos: stored.then_some(eos),
        };
        if session.pipeline.set_state(gst::State::Playing).is_err() {
            let reason = match session.events.try_recv() {
                Ok(SinkEvent::Failed(reason)) => reason,
                _ => "the pipeline did not start".into(),
            };
            session.stop();
            return Err(SessionError::Start(reason));
        }
        Ok(session)
    }

    /// Decodes one JPEG, runs it through the pipeline and waits for lvjwtsink's word on it;
    /// `turn` is the frame's place in the analysis gate.
    fn analyse(&mut self, jpeg: &[u8], turn: GatePass<'_>) -> FrameAnswer {
        let buffer = match self.decode(jpeg) {
            Ok(buffer) => buffer,
            // A frame that cannot be decoded, or of another size, is refused.
            Err(err) if err.code != ErrorCode::Internal => return FrameAnswer::Refused(err),
            Err(err) => return FrameAnswer::Failed(err),
        };
        let capture = liveness_core::capture::Capture::of_jpeg(jpeg);
        if let Err(err) = self.push(buffer, capture) {
            // A pipeline that takes no frame ends the session.
            return FrameAnswer::Failed(err);
        }
        let failed = |detail: String| FrameAnswer::Failed(ProtoError::new(ErrorCode::Internal, detail));
        match await_answer(&self.events, turn, GATE_HOLD_LIMIT, FRAME_ANSWER_TIMEOUT) {
            Ok(SinkEvent::Frame(result)) => FrameAnswer::Stats(result),
            Ok(SinkEvent::Verdict { token, is_ok, errors, figures }) => {
                FrameAnswer::Verdict { token, is_ok, errors, figures }
            }
            Ok(SinkEvent::Failed(reason)) => failed(reason),
            Err(std_mpsc::RecvTimeoutError::Timeout) => failed("no answer from the pipeline".into()),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => failed("the pipeline stopped".into()),
        }
    }

    /// Decodes one JPEG into a buffer: every frame of a session has the first one's size,
    /// which sets the caps once that frame has decoded.
    fn decode(&mut self, jpeg: &[u8]) -> Result<gst::Buffer, ProtoError> {
        let header = jpeg_header(jpeg, self.max_pixels).map_err(|err| frame_error(&err))?;
        if let Some(frames) = &self.frames {
            let (width, height) = (frames.info.width(), frames.info.height());
            if (width, height) != (header.width, header.height) {
                let detail = format!("{}x{} after {width}x{height}", header.width, header.height);
                return Err(ProtoError::new(ErrorCode::FrameSizeChanged, detail));
            }
            return frames.decode(jpeg, &header);
        }
        let internal = |detail: String| ProtoError::new(ErrorCode::Internal, detail);
        let frames = SessionFrames::new(header.width, header.height).map_err(|err| internal(format!("caps: {err}")))?;
        let buffer = frames.decode(jpeg, &header)?;
        self.appsrc.set_caps(Some(&frames.info.to_caps().map_err(|err| internal(format!("caps: {err}")))?));
        self.frames = Some(frames);
        Ok(buffer)
    }

    /// Pushes one decoded frame, stamped with the session's clock.
    fn push(&mut self, mut buffer: gst::Buffer, capture: liveness_core::capture::Capture) -> Result<(), ProtoError> {
        let internal = |detail: String| ProtoError::new(ErrorCode::Internal, detail);
        if let Some(buffer) = buffer.get_mut() {
            // Stream time is the time since the session started: challenge timeouts run in it.
            buffer.set_pts(gst::ClockTime::from_nseconds(self.started.elapsed().as_nanos() as u64));
            capture.attach(buffer);
        }
        self.appsrc
            .push_buffer(buffer)
            .map(|_| ())
            .map_err(|err| internal(format!("pipeline refused the frame: {err:?}")))
    }

    /// Stops the pipeline; with frame storage, after the stored frames and summary are
    /// written (at most `STORE_DRAIN_TIMEOUT`). Blocking.
    fn stop(&mut self) {
        if let Some(eos) = self.eos.take()
            && self.appsrc.end_of_stream().is_ok()
        {
            let _ = eos.recv_timeout(STORE_DRAIN_TIMEOUT);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for LivenessSession {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A frame for the actor and where its answer goes.
type FrameRequest = (Vec<u8>, oneshot::Sender<FrameAnswer>);

/// The connection's side of a session actor. Dropping it stops the pipeline on the actor's
/// thread; [`SessionHandle::close`] also waits for that.
pub struct SessionHandle {
    pub id: String,
    /// Whose attempts the session counts; its live claim is released when it ends.
    pub policy_key: String,
    /// The relying party's session this one runs, if a relying party created it.
    pub relying_party: Option<crate::relying_party::RunningSession>,
    /// The session's place under `MAX_SESSIONS`, given back when the handle goes.
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// When the session started, for its duration in the logs.
    pub started_at: Instant,
    requests: Option<std_mpsc::Sender<FrameRequest>>,
    stopped: Option<oneshot::Receiver<()>>,
}

impl SessionHandle {
    /// Starts the session's actor and its pipeline.
    pub async fn start(app: Arc<App>, options: SessionOptions) -> Result<SessionHandle, SessionError> {
        let (requests, inbox) = std_mpsc::channel::<FrameRequest>();
        let (started_tx, started) = oneshot::channel();
        let (stopped_tx, stopped) = oneshot::channel();
        let id = options.id.clone();
        std::thread::Builder::new()
            .name(format!("lp-session-{:.8}", options.id))
            .spawn(move || {
                let session = match options.client_chose_id {
                    true => refuse_stored_id(&app.config, &options.id),
                    false => Ok(()),
                }
                .and_then(|_| LivenessSession::start(&app.config, &options, &app.metrics));
                let mut session = match session {
                    Ok(session) => {
                        let _ = started_tx.send(Ok(()));
                        session
                    }
                    Err(err) => {
                        let _ = started_tx.send(Err(err));
                        return;
                    }
                };
                while let Ok((jpeg, reply)) = inbox.recv() {
                    let answer = {
                        let arrived = Instant::now();
                        let turn = app.analysis_gate.enter();
                        app.metrics.frame_waited(arrived.elapsed());
                        session.analyse(&jpeg, turn)
                    };
                    let _ = reply.send(answer);
                }
                session.stop();
                let _ = stopped_tx.send(());
            })
            .map_err(|err| SessionError::Thread(err.to_string()))?;
        started.await.map_err(|_| SessionError::Thread("ended before the session started".into()))??;
        Ok(SessionHandle {
            id,
            policy_key: String::new(),
            relying_party: None,
            _slot: None,
            started_at: Instant::now(),
            requests: Some(requests),
            stopped: Some(stopped),
        })
    }

    /// Hands one JPEG to the session; the future gives its answer.
    pub fn analyse(&self, jpeg: Vec<u8>) -> impl std::future::Future<Output = FrameAnswer> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let sent = self.requests.as_ref().is_some_and(|requests| requests.send((jpeg, reply)).is_ok());
        async move {
            let gone = || FrameAnswer::Failed(ProtoError::new(ErrorCode::Internal, "the session has stopped"));
            if !sent {
                return gone();
            }
            answer.await.unwrap_or_else(|_| gone())
        }
    }

    /// Stops the pipeline and waits until it has (stored frames written).
    pub async fn close(mut self) {
        self.requests = None;
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
    }
}

/// With frame storage, a client-chosen session id must not be one already stored: its frames
/// would be appended to another session's. Blocking.
fn refuse_stored_id(config: &Config, id: &str) -> Result<(), SessionError> {
    use gstliveness::store::{Store, session_key};
    let (true, Some(url)) = (config.store_frames, &config.redis_url) else { return Ok(()) };
    if Store::connect(url)?.exists(&session_key(id))? {
        return Err(SessionError::IdTaken);
    }
    Ok(())
}

/// Whether sessions of `policy_key` hold a live claim: a relying party's user has one session
/// at a time; an address stands for everyone behind it (a NAT, a proxy), bounded by
/// `MAX_SESSIONS` and its attempts only.
pub fn claims_live(policy_key: &str) -> bool {
    crate::policy::is_relying_party_key(policy_key)
}

/// How long past a session's longest life its live claim holds (a crashed server's lapses).
const LIVE_CLAIM_MARGIN: Duration = Duration::from_secs(10);

/// When a client told `busy` may try again, in ms.
const BUSY_RETRY_AFTER_MS: u64 = 1000;

/// Whose session CONNECT opens: a relying party's (by its client token) or, with
/// `OPEN_SESSIONS=1`, an anonymous one counted by the client's address.
struct Identity {
    policy_key: String,
    options: SessionOptions,
    relying_party: Option<crate::relying_party::RunningSession>,
}

async fn identify(app: &App, request: &ConnectRequest, claim_ttl: Duration) -> Result<Identity, ProtoError> {
    let options = SessionOptions { mirrored: request.mirrored, ..Default::default() };
    match &request.session_token {
        Some(token) => {
            let running = crate::relying_party::redeem(app, token, claim_ttl).await?;
            Ok(Identity {
                policy_key: running.record.policy_key.clone(),
                options: SessionOptions {
                    id: running.id.clone(),
                    audience: Some(running.record.relying_party.clone()),
                    flash: running.record.flash,
                    ..options
                },
                relying_party: Some(running),
            })
        }
        None if app.config.open_sessions => Ok(Identity {
            policy_key: format!("address:{}", request.remote.map(|ip| ip.to_string()).unwrap_or_default()),
            options: SessionOptions {
                id: request.session_id.clone().unwrap_or_else(liveness_core::claims::random_uuid),
                client_chose_id: request.session_id.is_some(),
                ..options
            },
            relying_party: None,
        }),
        None => Err(ProtoError::header(
            ErrorCode::SessionTokenRequired,
            "session-token",
            "this server takes sessions created by a relying party: CONNECT with its session-token",
        )),
    }
}

/// The store's records of the session ids clients chose.
const SESSION_ID_CLAIM: &str = "session-id";

fn id_in_use() -> ProtoError {
    ProtoError::header(
        ErrorCode::SessionIdInUse,
        "session-id",
        "another session has this session-id (live, or stored): choose another or leave it out",
    )
}

/// Refuses a camera of `VIRTUAL_CAMERAS`, checks the user's attempts and starts the session
/// CONNECT asked for; the ERROR to answer when it cannot start. A relying party's session that cannot start is finished with that
/// ERROR's code, so its backend learns why.
pub async fn open(app: &Arc<App>, request: &ConnectRequest) -> Result<SessionHandle, ProtoError> {
    if let Some(name) = request.camera.label.as_deref().and_then(|label| app.config.virtual_camera(label)) {
        return Err(ProtoError::header(
            ErrorCode::VirtualCamera,
            "camera-label",
            format!("the camera is a virtual one ({name}): connect with the device's own camera"),
        ));
    }
    let Ok(slot) = app.session_slots.clone().try_acquire_owned() else {
        let mut busy = ProtoError::new(
            ErrorCode::Busy,
            format!("the server runs its {} sessions: try again later", app.config.max_sessions),
        );
        busy.retry_after_ms = Some(BUSY_RETRY_AFTER_MS);
        return Err(busy);
    };
    let claim_ttl = app.config.session_timeout + app.config.connect_timeout + LIVE_CLAIM_MARGIN;
    let identity = identify(app, request, claim_ttl).await?;
    let started = start_counted(app, &identity, claim_ttl).await;
    match (started, &identity.relying_party) {
        (Ok(handle), relying_party) => Ok(SessionHandle {
            _slot: Some(slot),
            policy_key: identity.policy_key.clone(),
            relying_party: relying_party.clone(),
            ..handle
        }),
        (Err(err), Some(running)) => {
            let _ = crate::relying_party::finish(app, running, &Outcome::Ended(err.code.into())).await;
            Err(err)
        }
        (Err(err), None) => Err(err),
    }
}

/// Claims the user's one live session, reserves the session's strike and starts it; undoes
/// the claim and the reservation when it cannot start.
async fn start_counted(app: &Arc<App>, identity: &Identity, claim_ttl: Duration) -> Result<SessionHandle, ProtoError> {
    let unavailable = |err: crate::policy::StoreError| {
        ProtoError::new(ErrorCode::Internal, format!("attempt counters unavailable: {err}"))
    };
    let (key, id) = (&identity.policy_key, &identity.options.id);
    // A session id the client chose is one session's, on every server sharing the store, for
    // as long as a session may last (its stored frames, if any, keep it after). A CONNECT that
    // does not start gives it back, so that the client may try again with it.
    let chose = identity.options.client_chose_id;
    let attempt = liveness_core::claims::random_uuid();
    if chose && !app.policy.claim_record(SESSION_ID_CLAIM, id, &attempt, claim_ttl).await.map_err(unavailable)? {
        return Err(id_in_use());
    }
    let release_id = || async {
        if chose {
            let _ = app.policy.release_record(SESSION_ID_CLAIM, id, &attempt).await;
        }
    };
    // One live session per user: parallel sessions would each get the round's attempts.
    let claims = claims_live(key);
    if claims && !app.policy.claim_live(key, id, claim_ttl).await.map_err(unavailable)? {
        release_id().await;
        return Err(ProtoError::new(ErrorCode::SessionRunning, "another session of this user is live"));
    }
    let release = || async {
        if claims {
            let _ = app.policy.release_live(key, id).await;
        }
        release_id().await;
    };
    let decision = match app.policy.reserve(key, now_ms(), &app.config.policy).await {
        Ok(decision) => decision,
        Err(err) => {
            release().await;
            return Err(unavailable(err));
        }
    };
    let refused = decision.refusal(now_ms()).map(|refusal| ProtoError {
        retry_after_ms: refusal.retry_after_ms,
        ..ProtoError::new(refusal.code, refusal.detail)
    });
    if let Some(refused) = refused {
        release().await;
        return Err(refused);
    }
    match SessionHandle::start(app.clone(), identity.options.clone()).await {
        Ok(handle) => Ok(handle),
        Err(err) => {
            // The server could not start it: the reservation is given back.
            let _ = app.policy.unreserve(key, &app.config.policy).await;
            release().await;
            Err(match err {
                SessionError::IdTaken => id_in_use(),
                other => ProtoError::new(ErrorCode::Internal, other.to_string()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::AnalysisGate;

    #[test]
    fn a_frame_slow_in_its_pipeline_gives_up_its_place_and_still_gets_its_answer() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let gate = AnalysisGate::new(1);
        let answered = AtomicBool::new(false);
        let (answer, events) = std_mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(500));
                answered.store(true, Ordering::SeqCst);
                let _ = answer.send("verdict");
            });
            let turn = gate.enter();
            let waiting =
                scope.spawn(move || await_answer(&events, turn, Duration::from_millis(50), Duration::from_secs(10)));
            // Another session's frame gets the only place while the first still waits.
            let next = gate.enter();
            assert!(!answered.load(Ordering::SeqCst), "the place was held until the answer");
            drop(next);
            assert_eq!(waiting.join().expect("no panic"), Ok("verdict"));
        });
    }

    #[test]
    fn the_page_draws_the_oval_the_sessions_calibrate_in() {
        let script = include_str!("../web/liveness-check.js");
        let fit = script.lines().find(|l| l.starts_with("const FIT = ")).expect("the page's FIT");
        let max_share = liveness_core::challenge::session::MAX_FACE_SHARE;
        let expected = format!(
            "const FIT = {{ minShare: {MIN_FACE_SHARE}, maxShare: {max_share}, maxOffset: {MAX_CENTRE_OFFSET} }};"
        );
        assert_eq!(fit, expected);
    }

    #[test]
    fn a_frame_answered_in_time_keeps_its_place_until_then() {
        let gate = AnalysisGate::new(1);
        let (answer, events) = std_mpsc::channel();
        answer.send(1).expect("sent");
        assert_eq!(await_answer(&events, gate.enter(), Duration::from_secs(1), Duration::from_secs(5)), Ok(1));
        assert_eq!(gate.busy(), 0);
        drop(answer);
        assert_eq!(
            await_answer(&events, gate.enter(), Duration::from_millis(10), Duration::from_millis(20)),
            Err(std_mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
