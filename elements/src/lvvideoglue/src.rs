//! GStreamer glue of `lvvideogluesrc`: reads one session that `lvvideoglue` stored and pushes
//! its frames as timed image/jpeg buffers carrying their FaceMeta, optionally with the face
//! boxes, the challenge prompt and the verdict drawn on them.

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;

use super::imp::DEFAULT_REDIS_URL;
use crate::element;
use crate::hud::{self, Canvas};
use crate::meta::FaceMeta;
use crate::store::{Record, Store, StoredFrame, redacted, session_key};
use liveness_core::challenge::ChallengeType;
use liveness_core::face::FaceFrame;
use liveness_core::frame::encode_jpeg;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("lvvideogluesrc", gst::DebugColorFlags::empty(), Some("Liveness session frames from Redis"))
});

/// Entries read from Redis per round trip.
const BATCH: usize = 32;
/// Duration of a last frame that has none stored (and no frame before it).
const FALLBACK_DURATION_NS: u64 = 1_000_000_000 / 30;
/// JPEG quality of frames with drawings.
const DRAWN_JPEG_QUALITY: u8 = 90;

#[derive(Debug, Clone, Default)]
struct Settings {
    redis_url: Option<String>,
    session_id: Option<String>,
    draw: bool,
    mirrored: bool,
}

struct State {
    store: Store,
    key: String,
    /// Id of the last entry read.
    cursor: Option<String>,
    pending: VecDeque<Record>,
    exhausted: bool,
    /// The frame after the one being pushed: its timestamp ends the current one.
    ahead: Option<StoredFrame>,
    first_pts: Option<u64>,
    last_duration: Option<u64>,
    caps_size: Option<(u32, u32)>,
    frames: u64,
}

#[derive(Default)]
pub struct LvVideoGlueSrc {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for LvVideoGlueSrc {
    const NAME: &'static str = "GstLvVideoGlueSrc";
    type Type = super::LvVideoGlueSrc;
    type ParentType = gst_base::PushSrc;
}

impl LvVideoGlueSrc {
    /// The next stored frame, reading more entries when needed; summaries met on the way are
    /// posted as messages.
    fn next_frame(&self, state: &mut State) -> Result<Option<StoredFrame>, gst::ErrorMessage> {
        loop {
            match state.pending.pop_front() {
                Some(Record::Frame(frame)) => return Ok(Some(frame)),
                Some(Record::Summary(summary)) => {
                    gst::info!(CAT, imp = self, "session summary: {}", summary);
                    let s = gst::Structure::builder("lvvideogluesrc-summary").field("summary", summary).build();
                    element::post(&*self.obj(), s);
                }
                None if state.exhausted => return Ok(None),
                None => {
                    let entries = state
                        .store
                        .read(&state.key, state.cursor.as_deref(), BATCH)
                        .map_err(|err| gst::error_msg!(gst::ResourceError::Read, ["{}", err]))?;
                    state.exhausted = entries.len() < BATCH;
                    if let Some((id, _)) = entries.last() {
                        state.cursor = Some(id.clone());
                    }
                    state.pending.extend(entries.into_iter().map(|(_, record)| record));
                }
            }
        }
    }
}

/// Face boxes, lvchallenge's prompt and progress bar, and a green (passed) or red (failed)
/// frame border once the verdict is in, drawn on a decoded JPEG and encoded again.
fn draw_results(jpeg: &[u8], faces: &FaceFrame, mirrored: bool) -> Result<Vec<u8>, image::ImageError> {
    let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)?.to_rgb8();
    let (width, height) = image.dimensions();
    let mut rgb = image.into_raw();
    fn canvas<'a>(plane: &'a mut [u8], channels: &'a [usize], width: u32, height: u32) -> Canvas<'a> {
        Canvas {
            width: width as usize,
            height: height as usize,
            plane,
            stride: width as usize * 3,
            channels,
            bytes_per_pixel: 3,
            luma_of_422: None,
        }
    }
    let mut verdict = None;
    {
        let mut all = canvas(&mut rgb, &[0, 1, 2], width, height);
        for face in &faces.faces {
            let prompt = face.challenge.as_ref().and_then(|c| {
                verdict = verdict.or(c.verdict);
                ChallengeType::from_name(&c.challenge).map(|challenge| (challenge, c.progress))
            });
            match prompt {
                Some((challenge, progress)) => hud::draw(&mut all, face.bbox, challenge, progress, mirrored),
                None => all.rect(face.bbox, 2),
            }
        }
    }
    if let Some(passed) = verdict {
        let band = (width.min(height) as i64 / 40).max(4);
        let (w, h) = (width as i64, height as i64);
        for (channels, value) in [(&[0usize, 1, 2][..], 0u8), (if passed { &[1usize][..] } else { &[0usize][..] }, 255)]
        {
            let mut c = canvas(&mut rgb, channels, width, height);
            c.fill(0, 0, w, band, value);
            c.fill(0, h - band, w, h, value);
            c.fill(0, 0, band, h, value);
            c.fill(w - band, 0, w, h, value);
        }
    }
    encode_jpeg(&rgb, width, height, DRAWN_JPEG_QUALITY)
}

impl ObjectImpl for LvVideoGlueSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("redis-url")
                    .nick("Redis URL")
                    .blurb("Redis server the session is in: redis://[:password@]host[:port][/db], rediss:// or unix:///path/to/socket")
                    .default_value(Some(DEFAULT_REDIS_URL))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("session-id")
                    .nick("Session id")
                    .blurb("Session to read, as lvvideoglue's session-id stored it. Required")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("draw")
                    .nick("Draw results")
                    .blurb("Draw face boxes, the running challenge with its progress bar, and a green (passed) or red (failed) border after the verdict on the frames (decoded and encoded again)")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("mirrored")
                    .nick("Mirrored")
                    .blurb("The stored frames are a selfie view: challenge arrows point the mirrored way (as lvchallenge's mirrored)")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_format(gst::Format::Time);
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        let text = || value.get::<Option<String>>().expect("type checked upstream").filter(|s| !s.is_empty());
        match pspec.name() {
            "redis-url" => settings.redis_url = text(),
            "session-id" => settings.session_id = text(),
            "draw" => settings.draw = value.get().expect("type checked upstream"),
            "mirrored" => settings.mirrored = value.get().expect("type checked upstream"),
            name => unreachable!("unknown property {name}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "redis-url" => settings.redis_url.as_deref().unwrap_or(DEFAULT_REDIS_URL).to_value(),
            "session-id" => settings.session_id.to_value(),
            "draw" => settings.draw.to_value(),
            "mirrored" => settings.mirrored.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvVideoGlueSrc {}

impl ElementImpl for LvVideoGlueSrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness session reader",
                "Source/Video",
                "Reads a session stored by lvvideoglue from Redis and pushes its frames as image/jpeg, timestamped \
                 from 0 as they were recorded, each with its FaceMeta; draw=true draws the results on the frames. \
                 `lvvideogluesrc session-id=X ! jpegdec ! videoconvert ! vp8enc ! webmmux ! filesink` writes the \
                 session video. A session that is not stored is an error. Posts element message \
                 lvvideogluesrc-summary (summary: the stored summary, JSON text) for each summary entry",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::builder("image/jpeg").build();
            vec![
                gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps)
                    .expect("valid src pad template"),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseSrcImpl for LvVideoGlueSrc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(session_id) = settings.session_id else {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                ["session-id is not set: which session to read?"]
            ));
        };
        let url = settings.redis_url.unwrap_or_else(|| DEFAULT_REDIS_URL.into());
        let mut store = Store::connect(&url)
            .map_err(|err| gst::error_msg!(gst::ResourceError::OpenRead, ["cannot read sessions: {}", err]))?;
        let key = session_key(&session_id);
        let exists = store.exists(&key).map_err(|err| gst::error_msg!(gst::ResourceError::OpenRead, ["{}", err]))?;
        if !exists {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ["session {:?} is not stored in {} (never stored, expired or deleted)", session_id, redacted(&url)]
            ));
        }
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
            store,
            key,
            cursor: None,
            pending: VecDeque::new(),
            exhausted: false,
            ahead: None,
            first_pts: None,
            last_duration: None,
            caps_size: None,
            frames: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    fn is_seekable(&self) -> bool {
        false
    }

    /// Caps are set with the first frame, whose size only the stored entry tells.
    fn negotiate(&self) -> Result<(), gst::LoggableError> {
        Ok(())
    }
}

impl PushSrcImpl for LvVideoGlueSrc {
    fn create(&self, _buffer: Option<&mut gst::BufferRef>) -> Result<CreateSuccess, gst::FlowError> {
        let (draw, mirrored) = {
            let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
            (settings.draw, settings.mirrored)
        };
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = guard.as_mut() else { return Err(gst::FlowError::Flushing) };
        let fail = |imp: &Self, err: gst::ErrorMessage| {
            imp.post_error_message(err);
            gst::FlowError::Error
        };
        let frame = match state.ahead.take() {
            Some(frame) => frame,
            None => match self.next_frame(state).map_err(|err| fail(self, err))? {
                Some(frame) => frame,
                None => {
                    gst::info!(CAT, imp = self, "end of session after {} frames", state.frames);
                    return Err(gst::FlowError::Eos);
                }
            },
        };
        state.ahead = self.next_frame(state).map_err(|err| fail(self, err))?;
        let first = *state.first_pts.get_or_insert(frame.pts_ns);
        let duration = match &state.ahead {
            Some(next) if next.pts_ns > frame.pts_ns => next.pts_ns - frame.pts_ns,
            _ => frame.duration_ns.or(state.last_duration).unwrap_or(FALLBACK_DURATION_NS),
        };
        state.last_duration = Some(duration);
        state.frames += 1;

        let faces = match frame.faces() {
            Some(Ok(faces)) => Some(faces),
            Some(Err(err)) => {
                gst::warning!(CAT, imp = self, "results of the frame at {} ns not readable: {}", frame.pts_ns, err);
                None
            }
            None => None,
        };
        let jpeg = match (&faces, draw) {
            (Some(faces), true) => draw_results(&frame.jpeg, faces, mirrored).map_err(|err| {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Decode,
                    ["stored frame at {} ns: {}", frame.pts_ns, err]
                );
                gst::FlowError::Error
            })?,
            _ => frame.jpeg,
        };
        let size = (frame.width, frame.height);
        let new_caps = (state.caps_size != Some(size)).then(|| {
            state.caps_size = Some(size);
            gst::Caps::builder("image/jpeg")
                .field("width", frame.width as i32)
                .field("height", frame.height as i32)
                .field("framerate", gst::Fraction::new(0, 1))
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .field("parsed", true)
                .build()
        });
        drop(guard);

        if let Some(caps) = new_caps {
            self.obj().set_caps(&caps).map_err(|_| {
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ["downstream refuses {}", caps]);
                gst::FlowError::NotNegotiated
            })?;
        }
        let mut buffer = gst::Buffer::from_mut_slice(jpeg);
        {
            let buffer = buffer.get_mut().expect("new buffer is writable");
            buffer.set_pts(gst::ClockTime::from_nseconds(frame.pts_ns.saturating_sub(first)));
            buffer.set_duration(gst::ClockTime::from_nseconds(duration));
            if let Some(faces) = faces {
                FaceMeta::add(buffer, faces);
            }
        }
        Ok(CreateSuccess::NewBuffer(buffer))
    }
}
