//! GStreamer glue of `lvvideoglue`: properties, the Redis connection at start, one stream
//! entry per kept frame, the summary at the verdict or the end of stream, and what happens
//! when Redis goes away mid-stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::OnError;
use crate::element;
use crate::meta::FaceMeta;
use crate::store::{Store, StoreError, StoredFrame, redacted, session_key};
use liveness_core::frame::encode_jpeg;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("lvvideoglue", gst::DebugColorFlags::empty(), Some("Liveness session frames to Redis"))
});

pub(super) const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
const DEFAULT_TTL_S: u32 = 3600;
const DEFAULT_MAX_FRAMES: u32 = 3000;
const DEFAULT_JPEG_QUALITY: u32 = 85;
/// While Redis is away, a new connection is tried at most this often.
const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Settings {
    redis_url: String,
    session_id: Option<String>,
    frame: FrameSettings,
}

/// The settings each frame needs, copied without the strings.
#[derive(Debug, Clone, Copy)]
struct FrameSettings {
    ttl_s: u32,
    max_frames: u32,
    fps_limit: f64,
    jpeg_quality: u32,
    on_error: OnError,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            redis_url: DEFAULT_REDIS_URL.into(),
            session_id: None,
            frame: FrameSettings {
                ttl_s: DEFAULT_TTL_S,
                max_frames: DEFAULT_MAX_FRAMES,
                fps_limit: 0.0,
                jpeg_quality: DEFAULT_JPEG_QUALITY,
                on_error: OnError::Drop,
            },
        }
    }
}

/// What the sink pad receives (one per element: the size of the raw variant does not matter).
#[allow(clippy::large_enum_variant)]
enum Input {
    /// Raw video; formats other than RGB go through GStreamer's converter first.
    Raw {
        info: gst_video::VideoInfo,
        to_rgb: Option<RgbConverter>,
    },
    Jpeg {
        width: u32,
        height: u32,
    },
}

/// Converts raw frames of any format to packed RGB for the JPEG encoder.
struct RgbConverter {
    converter: gst_video::VideoConverter,
    rgb: gst_video::VideoInfo,
}

impl RgbConverter {
    fn new(info: &gst_video::VideoInfo) -> Result<Option<RgbConverter>, glib::BoolError> {
        if info.format() == gst_video::VideoFormat::Rgb {
            return Ok(None);
        }
        let rgb = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, info.width(), info.height())
            .fps(info.fps())
            .par(info.par())
            .interlace_mode(info.interlace_mode())
            .build()?;
        let converter = gst_video::VideoConverter::new(info, &rgb, None)?;
        Ok(Some(RgbConverter { converter, rgb }))
    }
}

/// Packed RGB rows (`width` x 3 bytes each) out of a plane whose rows are `stride` apart.
fn packed_rgb(plane: &[u8], stride: usize, width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * 3 * height);
    for row in plane.chunks(stride.max(1)).take(height) {
        out.extend_from_slice(&row[..(width * 3).min(row.len())]);
    }
    out
}

/// Why a stored frame could not be encoded.
#[derive(Debug, thiserror::Error)]
enum EncodeError {
    #[error(transparent)]
    Map(#[from] element::MapError),
    #[error("RGB conversion: {0}")]
    Convert(&'static str),
    #[error("JPEG: {0}")]
    Jpeg(String),
}

/// A raw frame as JPEG.
fn raw_to_jpeg(
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    to_rgb: Option<&RgbConverter>,
    quality: u8,
) -> Result<Vec<u8>, EncodeError> {
    let frame = element::map_frame(buffer, info)?;
    let (width, height) = (info.width() as usize, info.height() as usize);
    let rgb = match to_rgb {
        None => packed_rgb(frame.plane_data(0).unwrap_or(&[]), frame.plane_stride()[0].max(0) as usize, width, height),
        Some(c) => {
            let mut out = gst::Buffer::with_size(c.rgb.size()).map_err(|_| EncodeError::Convert("no buffer"))?;
            let out_ref = out.get_mut().ok_or(EncodeError::Convert("new buffer not writable"))?;
            let mut dest = gst_video::VideoFrameRef::from_buffer_ref_writable(out_ref, &c.rgb)
                .map_err(|_| EncodeError::Convert("RGB frame not writable"))?;
            c.converter.frame_ref(&frame, &mut dest);
            packed_rgb(dest.plane_data(0).unwrap_or(&[]), dest.plane_stride()[0].max(0) as usize, width, height)
        }
    };
    encode_jpeg(&rgb, info.width(), info.height(), quality).map_err(|err| EncodeError::Jpeg(err.to_string()))
}

struct State {
    store: Option<Store>,
    url: String,
    key: String,
    input: Option<Input>,
    last_stored_pts: Option<gst::ClockTime>,
    /// Frames stored since the last summary: the end of stream writes one only if some were.
    since_summary: u64,
    summaries: u64,
    /// When Redis was lost (None while connected) and when a connection was last tried.
    lost: Option<Instant>,
    max_frames_reported: bool,
}

#[derive(Default)]
pub struct LvVideoGlue {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    stored: AtomicU64,
    dropped: AtomicU64,
    skipped: AtomicU64,
}

#[glib::object_subclass]
impl ObjectSubclass for LvVideoGlue {
    const NAME: &'static str = "GstLvVideoGlue";
    type Type = super::LvVideoGlue;
    type ParentType = gst_base::BaseSink;
}

impl LvVideoGlue {
    fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A Redis write failed (or Redis is still away): drop the frame or fail, as `on-error`
    /// says. The first failure of an outage posts a warning.
    fn failed(&self, state: &mut State, on_error: OnError, err: &StoreError) -> Result<(), gst::FlowError> {
        state.store = None;
        if on_error == OnError::Fail {
            gst::element_imp_error!(self, gst::ResourceError::Write, ["lost Redis (on-error=fail): {}", err]);
            return Err(gst::FlowError::Error);
        }
        self.dropped.fetch_add(1, Ordering::SeqCst);
        if state.lost.is_none() {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Write,
                ["lost Redis: {}; frames are dropped (counted in `dropped`) until it answers again", err]
            );
            state.lost = Some(Instant::now());
        }
        Ok(())
    }

    /// The connection, reconnecting at most every second while Redis is away.
    fn connection<'a>(&self, state: &'a mut State) -> Result<&'a mut Store, Option<StoreError>> {
        if state.store.is_none() {
            if state.lost.is_some_and(|at| at.elapsed() < RECONNECT_INTERVAL) {
                return Err(None);
            }
            match Store::connect(&state.url) {
                Ok(store) => {
                    if state.lost.take().is_some() {
                        gst::element_imp_info!(
                            self,
                            gst::ResourceError::Write,
                            [
                                "Redis at {} answers again; {} frames were dropped",
                                redacted(&state.url),
                                self.dropped.load(Ordering::SeqCst)
                            ]
                        );
                    }
                    state.store = Some(store);
                }
                Err(err) => {
                    if state.lost.is_some() {
                        state.lost = Some(Instant::now());
                    }
                    return Err(Some(err));
                }
            }
        }
        state.store.as_mut().ok_or(None)
    }

    fn write_frame(
        &self,
        state: &mut State,
        settings: &FrameSettings,
        frame: &StoredFrame,
    ) -> Result<(), gst::FlowError> {
        let key = state.key.clone();
        let result = match self.connection(state) {
            Ok(store) => store.append_frame(&key, frame, settings.ttl_s as u64),
            Err(None) => {
                // Away since less than a second (on-error=drop): counted, no new warning.
                self.dropped.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
            Err(Some(err)) => Err(err),
        };
        match result {
            Ok(()) => {
                self.stored.fetch_add(1, Ordering::SeqCst);
                state.since_summary += 1;
                state.last_stored_pts = Some(gst::ClockTime::from_nseconds(frame.pts_ns));
                Ok(())
            }
            Err(err) => self.failed(state, settings.on_error, &err),
        }
    }

    /// Writes the session's summary entry and posts it as the `lvvideoglue-summary` message.
    fn summarise(&self, reason: &str, verdict: Option<&gst::StructureRef>) -> bool {
        let settings = self.settings();
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = guard.as_mut() else { return true };
        if reason == "eos" && state.summaries > 0 && state.since_summary == 0 {
            return true;
        }
        let counts = (
            self.stored.load(Ordering::SeqCst),
            self.dropped.load(Ordering::SeqCst),
            self.skipped.load(Ordering::SeqCst),
        );
        let summary = serde_json::json!({
            "reason": reason,
            "verdict": verdict.map(super::structure_to_json),
            "stored": counts.0,
            "dropped": counts.1,
            "skipped": counts.2,
        })
        .to_string();
        let key = state.key.clone();
        let written = match self.connection(state) {
            Ok(store) => store.append_summary(&key, &summary, settings.frame.ttl_s as u64).map_err(Some),
            Err(err) => Err(err),
        };
        state.summaries += 1;
        state.since_summary = 0;
        drop(guard);
        let summary_stored = written.is_ok();
        let ok = match written {
            Ok(()) => true,
            Err(err) => {
                let detail = err.map(|e| e.to_string()).unwrap_or_else(|| "Redis is away".into());
                if settings.frame.on_error == OnError::Fail {
                    gst::element_imp_error!(self, gst::ResourceError::Write, ["summary not stored: {}", detail]);
                    false
                } else {
                    gst::element_imp_warning!(self, gst::ResourceError::Write, ["summary not stored: {}", detail]);
                    true
                }
            }
        };
        let message = gst::Structure::builder("lvvideoglue-summary")
            .field("session-id", settings.session_id.unwrap_or_default())
            .field("reason", reason)
            .field("stored", counts.0)
            .field("dropped", counts.1)
            .field("skipped", counts.2)
            .field("summary-stored", summary_stored)
            .build();
        element::post(&*self.obj(), message);
        ok
    }
}

/// Width and height from a JPEG's header.
fn jpeg_size(jpeg: &[u8]) -> Result<(u32, u32), image::ImageError> {
    image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg).into_dimensions()
}

impl ObjectImpl for LvVideoGlue {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let d = Settings::default();
            vec![
                glib::ParamSpecString::builder("redis-url")
                    .nick("Redis URL")
                    .blurb("Redis server: redis://[:password@]host[:port][/db], rediss:// or unix:///path/to/socket")
                    .default_value(Some(DEFAULT_REDIS_URL))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("session-id")
                    .nick("Session id")
                    .blurb("Session the frames belong to (any text; lvvideogluesrc reads it back by the same id). Required")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("ttl")
                    .nick("Time to live")
                    .blurb("Seconds the session stays in Redis after its last entry")
                    .minimum(1)
                    .maximum(31_536_000)
                    .default_value(d.frame.ttl_s)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-frames")
                    .nick("Maximum frames")
                    .blurb("Frames stored per session at most; later frames are skipped (counted in `skipped`). 0: no limit")
                    .default_value(d.frame.max_frames)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("fps-limit")
                    .nick("Frame rate limit")
                    .blurb("Frames stored per second of stream time at most; frames in between are skipped. 0: every frame")
                    .minimum(0.0)
                    .maximum(1000.0)
                    .default_value(d.frame.fps_limit)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("jpeg-quality")
                    .nick("JPEG quality")
                    .blurb("Quality of the JPEG raw frames are encoded to (image/jpeg input is stored untouched)")
                    .minimum(1)
                    .maximum(100)
                    .default_value(d.frame.jpeg_quality)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("on-error", d.frame.on_error)
                    .nick("On error")
                    .blurb("When Redis fails mid-stream: drop (warning message, frames counted in `dropped`, the pipeline keeps running) or fail (error message)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("stored")
                    .nick("Stored")
                    .blurb("Frames stored since start")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("dropped")
                    .nick("Dropped")
                    .blurb("Frames lost because Redis failed (on-error=drop)")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("skipped")
                    .nick("Skipped")
                    .blurb("Frames left out on purpose: over max-frames or within fps-limit")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn constructed(&self) {
        self.parent_constructed();
        // Storing is not display: frames are written as they come.
        self.obj().set_sync(false);
        self.obj().set_enable_last_sample(false);
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "redis-url" => {
                settings.redis_url = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| DEFAULT_REDIS_URL.into())
            }
            "session-id" => {
                settings.session_id =
                    value.get::<Option<String>>().expect("type checked upstream").filter(|s| !s.is_empty())
            }
            "ttl" => settings.frame.ttl_s = value.get().expect("type checked upstream"),
            "max-frames" => settings.frame.max_frames = value.get().expect("type checked upstream"),
            "fps-limit" => settings.frame.fps_limit = value.get().expect("type checked upstream"),
            "jpeg-quality" => settings.frame.jpeg_quality = value.get().expect("type checked upstream"),
            "on-error" => settings.frame.on_error = value.get().expect("type checked upstream"),
            name => unreachable!("unknown property {name}"),
        }
        gst::debug!(CAT, imp = self, "{} set", pspec.name());
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "redis-url" => settings.redis_url.to_value(),
            "session-id" => settings.session_id.to_value(),
            "ttl" => settings.frame.ttl_s.to_value(),
            "max-frames" => settings.frame.max_frames.to_value(),
            "fps-limit" => settings.frame.fps_limit.to_value(),
            "jpeg-quality" => settings.frame.jpeg_quality.to_value(),
            "on-error" => settings.frame.on_error.to_value(),
            "stored" => self.stored.load(Ordering::SeqCst).to_value(),
            "dropped" => self.dropped.load(Ordering::SeqCst).to_value(),
            "skipped" => self.skipped.load(Ordering::SeqCst).to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvVideoGlue {}

impl ElementImpl for LvVideoGlue {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness session store",
                "Sink/Video",
                "Appends each frame of a session to a Redis stream (key liveness:session:<hex of session-id>): the \
                 frame as JPEG (raw video is encoded, image/jpeg stored untouched), its timestamp and the FaceMeta \
                 results as JSON; the verdict of lvchallenge or the end of stream adds a summary entry. Every write \
                 renews the key's ttl. Redis unreachable at start is an error; lost mid-stream, a warning, frames \
                 counted as dropped and reconnection every second (on-error=drop) or an error (on-error=fail). \
                 Posts element message lvvideoglue-summary (session-id, reason, stored, dropped, skipped, \
                 summary-stored). Stores face images: use it only where keeping them is allowed",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let mut caps = gst_video::VideoCapsBuilder::new().format_list(element::FORMATS.iter().copied()).build();
            caps.merge(gst::Caps::builder("image/jpeg").build());
            vec![
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps)
                    .expect("valid sink pad template"),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseSinkImpl for LvVideoGlue {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings();
        let Some(session_id) = settings.session_id.as_deref() else {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                ["session-id is not set: lvvideoglue stores frames under a session id"]
            ));
        };
        let store = Store::connect(&settings.redis_url)
            .map_err(|err| gst::error_msg!(gst::ResourceError::OpenWrite, ["cannot store frames: {}", err]))?;
        for counter in [&self.stored, &self.dropped, &self.skipped] {
            counter.store(0, Ordering::SeqCst);
        }
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
            store: Some(store),
            url: settings.redis_url.clone(),
            key: session_key(session_id),
            input: None,
            last_stored_pts: None,
            since_summary: 0,
            summaries: 0,
            lost: None,
            max_frames_reported: false,
        });
        gst::info!(CAT, imp = self, "storing session {:?} in {}", session_id, redacted(&settings.redis_url));
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let s = caps.structure(0).ok_or_else(|| gst::loggable_error!(CAT, "empty caps"))?;
        let input = if s.name() == "image/jpeg" {
            let size = |name: &str| s.get::<i32>(name).ok().filter(|v| *v > 0).map(|v| v as u32).unwrap_or(0);
            Input::Jpeg { width: size("width"), height: size("height") }
        } else {
            let info = gst_video::VideoInfo::from_caps(caps)
                .map_err(|_| gst::loggable_error!(CAT, "caps {} are not raw video", caps))?;
            let to_rgb = RgbConverter::new(&info)
                .map_err(|err| gst::loggable_error!(CAT, "no conversion of {} to RGB: {}", caps, err))?;
            Input::Raw { info, to_rgb }
        };
        if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            state.input = Some(input);
        }
        Ok(())
    }

    fn event(&self, event: gst::Event) -> bool {
        let ok = match event.view() {
            gst::EventView::CustomDownstream(custom) => match custom.structure() {
                Some(s) if s.name() == crate::verdict::VERDICT_STRUCTURE => self.summarise("verdict", Some(s)),
                _ => true,
            },
            gst::EventView::Eos(_) => self.summarise("eos", None),
            // Timestamps may start again after a flush: `fps-limit` counts from the next frame.
            gst::EventView::FlushStop(_) => {
                if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                    state.last_stored_pts = None;
                }
                true
            }
            _ => true,
        };
        ok && self.parent_event(event)
    }

    fn render(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        // Only the per-frame settings: the strings are not copied a frame.
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).frame;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = guard.as_mut() else { return Err(gst::FlowError::Flushing) };
        let pts = buffer.pts();
        let over_limit = settings.max_frames > 0 && self.stored.load(Ordering::SeqCst) >= settings.max_frames as u64;
        let too_soon = settings.fps_limit > 0.0
            && match (pts, state.last_stored_pts) {
                (Some(pts), Some(last)) => {
                    // 1 ms of slack: a camera's 10 fps is rarely exactly 100 ms apart.
                    let interval = (1e9 / settings.fps_limit) as u64;
                    pts.nseconds().saturating_sub(last.nseconds()) + 1_000_000 < interval
                }
                _ => false,
            };
        if over_limit || too_soon {
            self.skipped.fetch_add(1, Ordering::SeqCst);
            if over_limit && !state.max_frames_reported {
                state.max_frames_reported = true;
                gst::element_imp_info!(
                    self,
                    gst::ResourceError::NoSpaceLeft,
                    ["max-frames ({}) reached: later frames of the session are not stored", settings.max_frames]
                );
            }
            return Ok(gst::FlowSuccess::Ok);
        }
        let Some(input) = state.input.as_ref() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["buffer before caps"]);
            return Err(gst::FlowError::NotNegotiated);
        };
        let (jpeg, width, height) = match *input {
            Input::Jpeg { width, height } => {
                let map = buffer.map_readable().map_err(|_| {
                    gst::element_imp_error!(self, gst::ResourceError::Read, ["buffer not readable"]);
                    gst::FlowError::Error
                })?;
                let (width, height) = if width > 0 && height > 0 {
                    (width, height)
                } else {
                    // Caps without a size: the JPEG's own header tells.
                    jpeg_size(map.as_slice()).map_err(|err| {
                        gst::element_imp_error!(self, gst::StreamError::Decode, ["not a JPEG frame: {}", err]);
                        gst::FlowError::Error
                    })?
                };
                (map.as_slice().to_vec(), width, height)
            }
            Input::Raw { ref info, ref to_rgb } => {
                let jpeg = raw_to_jpeg(buffer, info, to_rgb.as_ref(), settings.jpeg_quality as u8).map_err(|err| {
                    gst::element_imp_error!(self, gst::StreamError::Encode, ["{}", err]);
                    gst::FlowError::Error
                })?;
                (jpeg, info.width(), info.height())
            }
        };
        let faces_json = match buffer.meta::<FaceMeta>() {
            Some(meta) => Some(serde_json::to_vec(meta.frame()).map_err(|err| {
                gst::element_imp_error!(self, gst::LibraryError::Encode, ["FaceMeta as JSON: {}", err]);
                gst::FlowError::Error
            })?),
            None => None,
        };
        let frame = StoredFrame {
            pts_ns: pts.map(|t| t.nseconds()).unwrap_or(0),
            duration_ns: buffer.duration().map(|d| d.nseconds()),
            width,
            height,
            jpeg,
            faces_json,
        };
        self.write_frame(state, &settings, &frame)?;
        Ok(gst::FlowSuccess::Ok)
    }
}
