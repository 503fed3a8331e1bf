//! GStreamer glue of `lvchallenge`: properties, the session per stream, bus messages, the
//! FaceMeta challenge state, the on-video prompt and the `reset` action signal.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::ChallengePoseSource;
use crate::element;
use crate::hud::{self, Canvas};
use crate::meta::FaceMeta;
use crate::verdict::StructureForm;
use liveness_core::challenge::flash;
use liveness_core::challenge::session::{Event, PoseSource, Session, SessionSettings};
use liveness_core::challenge::{ChallengeRng, ChallengeType, SequenceError, format_list, parse_list};
use liveness_core::contracts::Needs;
use liveness_core::face::{ChallengeState, HeadPose};

mod tables;

use tables::*;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("lvchallenge", gst::DebugColorFlags::empty(), Some("Liveness active challenges"))
});

/// Frame duration assumed for buffers without timestamps.
const FALLBACK_FRAME_NS: u64 = 33_333_333;

#[derive(Debug, Clone)]
struct Settings {
    sequence: Option<String>,
    challenges: String,
    length: u32,
    seed: i64,
    session: SessionSettings,
    draw: bool,
    /// Add one screen-flash challenge to the session.
    flash: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sequence: None,
            challenges: format_list(&ChallengeType::HEAD_MOVEMENTS),
            length: 5,
            seed: -1,
            session: SessionSettings::default(),
            draw: false,
            flash: false,
        }
    }
}

struct State {
    session: Session,
    info: Option<gst_video::VideoInfo>,
    frames: u64,
    last_progress: Option<(usize, u32)>,
    /// What was last said upstream about the mesh and emotion model it needs.
    needs_sent: Option<Needs>,
}

impl State {
    /// Keeps a progress event only when the hold changed by a whole percent since the last one
    /// posted, so a held pose does not post a message a frame.
    fn drop_unchanged_progress(&mut self, events: Vec<Event>) -> Vec<Event> {
        events
            .into_iter()
            .filter(|event| match event {
                Event::Progress { index, progress, .. } => {
                    let step = (*index, (progress * 100.0).round() as u32);
                    self.last_progress.replace(step) != Some(step)
                }
                _ => true,
            })
            .collect()
    }
}

#[derive(Default)]
pub struct LvChallenge {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

/// Why the settings cannot make a session.
#[derive(Debug, thiserror::Error)]
enum SettingsError {
    #[error("reaction-min ({min_ms} ms) is later than reaction-max ({max_ms} ms): no movement could answer a prompt")]
    ReactionWindow { min_ms: u64, max_ms: u64 },
    #[error("{property}: {source}")]
    List { property: &'static str, source: SequenceError },
}

/// Builds a session from the settings: the fixed `sequence`, or a random draw.
fn new_session(settings: &Settings) -> Result<Session, SettingsError> {
    let s = &settings.session;
    if s.reaction_min_ns > s.reaction_max_ns {
        return Err(SettingsError::ReactionWindow {
            min_ms: s.reaction_min_ns / 1_000_000,
            max_ms: s.reaction_max_ns / 1_000_000,
        });
    }
    let list = |property| move |source| SettingsError::List { property, source };
    let pool = parse_list(&settings.challenges).map_err(list("challenges"))?;
    let mut rng = ChallengeRng::new(u64::try_from(settings.seed).ok());
    let mut queue = match settings.sequence.as_deref() {
        Some(sequence) => parse_list(sequence).map_err(list("sequence"))?,
        None => rng.sequence(&pool, settings.length as usize).map_err(list("challenges"))?,
    };
    // The flash comes first: the person has just settled facing the camera, as it needs, and
    // its random length is the hold before the first movement prompt.
    if settings.flash && !queue.contains(&ChallengeType::Flash) {
        queue.insert(0, ChallengeType::Flash);
    }
    Ok(Session::new(queue, pool, rng, settings.session.clone()))
}

impl LvChallenge {
    fn post_events(&self, buffer: &gst::BufferRef, events: &[Event], head_pose: Option<HeadPose>) {
        for event in events {
            let message = |name: &str| element::message_builder(&*self.obj(), name, buffer);
            // lvlandmarks' head pose, where it runs, for applications that show it.
            let with_pose = |builder: gst::structure::Builder| match head_pose {
                Some(p) => builder
                    .field("yaw", p.yaw_degrees as f64)
                    .field("pitch", p.pitch_degrees as f64)
                    .field("roll", p.roll_degrees as f64),
                None => builder,
            };
            let structure = match event {
                Event::Calibrating { hint } => {
                    message("calibrating").field("hint", hint.map(|h| h.name()).unwrap_or("")).build()
                }
                Event::Calibrated { baseline } => message("calibrated")
                    .field("baseline-x", baseline.x as f64)
                    .field("baseline-y", baseline.y as f64)
                    .build(),
                Event::ChallengeStarted { challenge, index, total, flash } => {
                    let mut builder = message("challenge-started")
                        .field("challenge", challenge.name())
                        .field("index", *index as u32)
                        .field("total", *total as u32);
                    if let Some(schedule) = flash {
                        builder = builder
                            .field("flash-colours", gst::Array::new(schedule.steps.iter().map(|s| s.hex())))
                            .field("flash-durations", gst::Array::new(schedule.steps.iter().map(|s| s.ms)))
                            .field("flash-lead-ms", flash::LEAD_MS)
                            .field("flash-tail-ms", flash::TAIL_MS);
                    }
                    builder.build()
                }
                Event::PoseDetected { challenge, index } => with_pose(
                    message("pose-detected").field("challenge", challenge.name()).field("index", *index as u32),
                )
                .build(),
                Event::Progress { challenge, index, progress } => with_pose(
                    message("progress")
                        .field("challenge", challenge.name())
                        .field("index", *index as u32)
                        .field("progress", *progress as f64),
                )
                .build(),
                Event::ChallengeCompleted { challenge, index } => message("challenge-completed")
                    .field("challenge", challenge.name())
                    .field("index", *index as u32)
                    .build(),
                Event::ChallengeFailed { challenge, index, reason, retrying } => message("challenge-failed")
                    .field("challenge", challenge.name())
                    .field("index", *index as u32)
                    .field("reason", reason.name())
                    .field("retrying", *retrying)
                    .build(),
                Event::PenaltyAdded { challenge, total } => message("penalty-added")
                    .field("challenge", challenge.name())
                    .field("total", *total as u32)
                    .field("text", "PENALTY STEP ADDED")
                    .build(),
                Event::Verdict(verdict) => {
                    let mut s = verdict.to_structure();
                    // lvjwtsink and other elements downstream get the verdict in the stream,
                    // ahead of the buffer that ended the session.
                    let _ = self.obj().src_pad().push_event(gst::event::CustomDownstream::new(s.clone()));
                    let timing = message("liveness-verdict").build();
                    for (name, value) in timing.iter() {
                        s.set_value(name, value.clone());
                    }
                    s
                }
            };
            gst::debug!(CAT, imp = self, "{}", structure);
            element::post(&*self.obj(), structure);
        }
    }

    fn reset(&self) {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = state.as_mut() {
            match new_session(&settings) {
                Ok(session) => {
                    gst::info!(CAT, imp = self, "new session: {}", format_list(session.queue()));
                    state.session = session;
                    state.last_progress = None;
                }
                Err(err) => gst::warning!(CAT, imp = self, "reset ignored: {}", err),
            }
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LvChallenge {
    const NAME: &'static str = "GstLvChallenge";
    type Type = super::LvChallenge;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for LvChallenge {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut d = Settings::default();
            let mut properties = vec![
                glib::ParamSpecString::builder("sequence")
                    .nick("Sequence")
                    .blurb("Fixed comma-separated challenge list (turn_left, turn_right, look_up, look_down, nod_yes, shake_no, blink, open_mouth, smile, move_closer, flash); unset draws a random one")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("challenges")
                    .nick("Challenge pool")
                    .blurb("Comma-separated challenges a random sequence and the penalty step are drawn from")
                    .default_value(Some(d.challenges.as_str()))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecInt64::builder("seed")
                    .nick("Seed")
                    .blurb("Seed of the challenge draw for a reproducible sequence; -1 draws from the operating system's random source")
                    .minimum(-1)
                    .default_value(-1)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("pose-source", ChallengePoseSource::Auto)
                    .nick("Pose source")
                    .blurb("What decides the head movements: auto (lvlandmarks' 3D head pose in degrees where it runs upstream, else the keypoints), mesh, or keypoints (seed 002's nose offset on the detector keypoints, the weaker path)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("mirrored")
                    .nick("Mirrored")
                    .blurb("The frames are mirrored (selfie view): directions stay the person's own")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("require-surface")
                    .nick("Require surface analysis")
                    .blurb("Fail the verdict when no lvsurfaceanalysis results reached the element")
                    .default_value(true)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("require-antispoof")
                    .nick("Require anti-spoofing")
                    .blurb("Fail the verdict when no lvantispoof results reached the element")
                    .default_value(true)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("flash")
                    .nick("Screen flash")
                    .blurb("Add one screen-flash challenge as the session's first step, right after calibration (the prompt after it needs no hold: the flash's random length was one): the application fills the screen around the face with the colours of the challenge-started message (flash-colours, flash-durations after flash-lead-ms of grey) and the face must reflect them (flash-mismatch otherwise). Off by default: the colours change hue at one luminance, never brightness, but people with photosensitive epilepsy may still choose to avoid them")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("require-varying-jpeg")
                    .nick("Require varying JPEG tables")
                    .blurb("Fail static-jpeg-tables (code 25) when every frame (at least 10) carried the same JPEG quantisation tables in the capture meta: for senders told to vary their encoder's quality, as lpserver's page is")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("draw")
                    .nick("Draw")
                    .blurb("Draw the prompt on the video: face box, an arrow or sign for the movement, the hold progress bar")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
            ];
            for (name, blurb, min, max, field) in DOUBLES {
                properties.push(
                    glib::ParamSpecDouble::builder(name)
                        .nick(name)
                        .blurb(blurb)
                        .minimum(*min)
                        .maximum(*max)
                        .default_value(*field(&mut d) as f64)
                        .mutable_ready()
                        .build(),
                );
            }
            for (name, blurb, min, max, field) in UINTS {
                properties.push(
                    glib::ParamSpecUInt::builder(name)
                        .nick(name)
                        .blurb(blurb)
                        .minimum(*min)
                        .maximum(*max)
                        .default_value(*field(&mut d))
                        .mutable_ready()
                        .build(),
                );
            }
            for (name, blurb, field) in DURATIONS {
                properties.push(
                    glib::ParamSpecUInt64::builder(name)
                        .nick(name)
                        .blurb(blurb)
                        // A hold before the prompts may be none; every other duration is some.
                        .minimum(u64::from(!name.starts_with("prompt-hold")))
                        .maximum(24 * 3600 * 1000)
                        .default_value(*field(&mut d) / 1_000_000)
                        .mutable_ready()
                        .build(),
                );
            }
            properties
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![
                glib::subclass::Signal::builder("reset")
                    .action()
                    .class_handler(|args| {
                        if let Some(element) = args.first().and_then(|v| v.get::<super::LvChallenge>().ok()) {
                            element.imp().reset();
                        }
                        None
                    })
                    .build(),
            ]
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        let name = pspec.name();
        if let Some((.., field)) = DOUBLES.iter().find(|d| d.0 == name) {
            *field(&mut settings) = value.get::<f64>().expect("type checked upstream") as f32;
        } else if let Some((.., field)) = UINTS.iter().find(|d| d.0 == name) {
            *field(&mut settings) = value.get().expect("type checked upstream");
        } else if let Some((.., field)) = DURATIONS.iter().find(|d| d.0 == name) {
            *field(&mut settings) = value.get::<u64>().expect("type checked upstream").saturating_mul(1_000_000);
        } else {
            match name {
                "sequence" => {
                    settings.sequence =
                        value.get::<Option<String>>().expect("type checked upstream").filter(|s| !s.trim().is_empty())
                }
                "challenges" => {
                    settings.challenges = value
                        .get::<Option<String>>()
                        .expect("type checked upstream")
                        .unwrap_or_else(|| format_list(&ChallengeType::HEAD_MOVEMENTS))
                }
                "seed" => settings.seed = value.get().expect("type checked upstream"),
                "pose-source" => {
                    settings.session.pose_source =
                        match value.get::<ChallengePoseSource>().expect("type checked upstream") {
                            ChallengePoseSource::Auto => PoseSource::Auto,
                            ChallengePoseSource::Keypoints => PoseSource::Keypoints,
                            ChallengePoseSource::Mesh => PoseSource::Mesh,
                        }
                }
                "mirrored" => settings.session.mirrored = value.get().expect("type checked upstream"),
                "require-surface" => settings.session.require_surface = value.get().expect("type checked upstream"),
                "require-antispoof" => settings.session.require_antispoof = value.get().expect("type checked upstream"),
                "require-varying-jpeg" => {
                    settings.session.require_varying_jpeg = value.get().expect("type checked upstream")
                }
                "draw" => settings.draw = value.get().expect("type checked upstream"),
                "flash" => settings.flash = value.get().expect("type checked upstream"),
                other => unreachable!("unknown property {other}"),
            }
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", name, value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        let name = pspec.name();
        if let Some((.., field)) = DOUBLES.iter().find(|d| d.0 == name) {
            return (*field(&mut settings) as f64).to_value();
        }
        if let Some((.., field)) = UINTS.iter().find(|d| d.0 == name) {
            return (*field(&mut settings)).to_value();
        }
        if let Some((.., field)) = DURATIONS.iter().find(|d| d.0 == name) {
            return (*field(&mut settings) / 1_000_000).to_value();
        }
        match name {
            "sequence" => settings.sequence.to_value(),
            "challenges" => settings.challenges.to_value(),
            "seed" => settings.seed.to_value(),
            "pose-source" => match settings.session.pose_source {
                PoseSource::Auto => ChallengePoseSource::Auto,
                PoseSource::Keypoints => ChallengePoseSource::Keypoints,
                PoseSource::Mesh => ChallengePoseSource::Mesh,
            }
            .to_value(),
            "mirrored" => settings.session.mirrored.to_value(),
            "require-surface" => settings.session.require_surface.to_value(),
            "require-antispoof" => settings.session.require_antispoof.to_value(),
            "require-varying-jpeg" => settings.session.require_varying_jpeg.to_value(),
            "draw" => settings.draw.to_value(),
            "flash" => settings.flash.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for LvChallenge {}

impl ElementImpl for LvChallenge {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness challenges",
                "Filter/Analyzer/Video",
                "Asks a random sequence of head movements (seed 002: turn_left, turn_right, look_up, look_down, nod_yes, \
                 shake_no; also blink, open_mouth, smile, move_closer) and decides from the FaceMeta of lvfacedetect, \
                 lvlandmarks, lvantispoof and lvsurfaceanalysis whether a live person performed them: head movements from \
                 the face mesh's 3D head pose against the person's own neutral pose, answered within a reaction window, \
                 not planar. Posts element messages calibrating (hint, the first blocker in this order: show-face, one-face, \
                 move-closer, move-back, centre-face, more-light, hold-still (blurred), face-camera, hold-still (moving); or empty), calibrated, challenge-started (challenge, index, total; for the screen-flash challenge flash-colours, flash-durations, flash-lead-ms, flash-tail-ms to show around the face), pose-detected (first valid frame; \
                 with yaw, pitch, roll where lvlandmarks runs), progress (0..1 of a hold, likewise), challenge-completed, challenge-failed (reason: timeout, face-lost, no-reaction, wrong-movement, planar-motion, flash-mismatch; retrying), penalty-added \
                 (PENALTY STEP ADDED) and liveness-verdict (passed, liveness-score, passed-challenges, \
                 total-challenges, surface-score, antispoof-score, antispoof-real, duplicate-share, sensor-noise, timing-jitter-ms, jpeg-tables, failures, sequence, results), \
                 which also travels downstream as a custom serialized event ahead of the buffer that ended the \
                 session (lvjwtsink reads it); action signal reset starts a new session",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(element::pad_templates);
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for LvChallenge {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let session =
            new_session(&settings).map_err(|err| gst::error_msg!(gst::LibraryError::Settings, ["{}", err]))?;
        gst::info!(CAT, imp = self, "session: {}", format_list(session.queue()));
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(State { session, info: None, frames: 0, last_progress: None, needs_sent: None });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view() {
            // A stream that ends mid-session still gets its (failed) verdict.
            let ended = self
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
                .map(|state| state.session.end("incomplete"));
            if let Some(events) = ended
                && !events.is_empty()
            {
                self.post_events(&gst::Buffer::new(), &events, None);
            }
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let faces = element::required_faces(
            self,
            buffer,
            "lvchallenge",
            "lvfacedetect (and lvlandmarks, lvantispoof, lvsurfaceanalysis)",
        )?;
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut state_guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = state_guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let running_time = self
            .obj()
            .segment()
            .downcast_ref::<gst::ClockTime>()
            .and_then(|segment| segment.to_running_time(buffer.pts()))
            .map(|t| t.nseconds())
            .unwrap_or(state.frames * FALLBACK_FRAME_NS);
        state.frames += 1;
        let frame_size = state.info.as_ref().map_or((0, 0), |info| (info.width(), info.height()));
        feed_signals(&mut state.session, buffer, state.info.as_ref(), &faces, running_time);
        let events = state.session.observe(running_time, &faces, frame_size);
        let events = state.drop_unchanged_progress(events);
        let current = state.session.current();
        let stage = state.session.stage();
        let verdict = state.session.verdict().map(|v| v.passed);
        let passed = state.session.passed_so_far();
        let time_left_ms = state.session.time_left_ns(running_time).map(|ns| ns / 1_000_000);
        let info = state.info.clone();
        let flash = state.session.flash_schedule().cloned();
        let needs = state.session.needs();
        let needs_changed = state.needs_sent.replace(needs) != Some(needs);
        drop(state_guard);

        // lvlandmarks upstream runs its models on the frames this session needs them on.
        if needs_changed {
            self.obj().sink_pad().push_event(crate::events::needs_event(needs));
        }

        // The session follows the largest face: its head pose rides on the messages and the
        // session state goes on its FaceMeta entry.
        let followed =
            faces.iter().enumerate().max_by(|a, b| a.1.bbox.area().total_cmp(&b.1.bbox.area())).map(|(i, _)| i);
        self.post_events(buffer, &events, followed.and_then(|i| faces[i].head_pose));
        if let (Some(i), Some(mut meta)) = (followed, buffer.meta_mut::<FaceMeta>()) {
            let (name, index, total, progress) =
                current.map(|(c, i, t, p)| (c.name().to_string(), i as u32, t as u32, p)).unwrap_or_default();
            if let Some(face) = meta.faces_mut().get_mut(i) {
                face.challenge = Some(ChallengeState {
                    challenge: name,
                    index,
                    total,
                    progress,
                    passed,
                    verdict,
                    time_left_ms,
                    stage: stage.name().to_string(),
                    hint: stage.hint().map(|h| h.name().to_string()),
                    flash,
                });
            }
        }
        if settings.draw
            && let (Some(i), Some((challenge, _, _, progress)), Some(info)) = (followed, current, info)
        {
            let face = faces[i].bbox;
            draw_prompt(buffer, &info, face, challenge, progress, settings.session.mirrored);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

/// What the session reads off the frame itself: lvsurfaceanalysis' stream signals and, during
/// a screen-flash challenge, the colour of the followed face's skin.
fn feed_signals(
    session: &mut Session,
    buffer: &gst::BufferRef,
    info: Option<&gst_video::VideoInfo>,
    faces: &[liveness_core::face::Face],
    running_time: u64,
) {
    if let Some(stream) = buffer.meta::<FaceMeta>().and_then(|meta| meta.frame().stream) {
        session.observe_stream(stream);
    }
    if session.wants_colour()
        && let Some(info) = info
        && let Some(face) = faces.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
        && let Some(rgb) = skin_colour(buffer, info, face.bbox)
    {
        session.observe_colour(running_time, rgb);
    }
}

/// The mean RGB (0..255) of the skin in the middle of `face`: cheeks, nose and the lower
/// forehead, away from hair, background and the eyes' dark, on a 16 x 16 grid of pixels.
fn skin_colour(
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    face: liveness_core::face::Rect,
) -> Option<[f32; 3]> {
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).ok()?;
    let view = crate::video::frame_view(&frame).ok()?;
    let mut sum = [0.0f64; 3];
    let mut count = 0u32;
    const GRID: u32 = 16;
    for j in 0..GRID {
        for i in 0..GRID {
            let u = 0.25 + 0.5 * (i as f32 + 0.5) / GRID as f32;
            let v = 0.3 + 0.5 * (j as f32 + 0.5) / GRID as f32;
            let (x, y) = (face.x + u * face.width, face.y + v * face.height);
            if x < 0.0 || y < 0.0 {
                continue;
            }
            if let Some(rgb) = view.rgb(x as usize, y as usize) {
                for c in 0..3 {
                    sum[c] += rgb[c] as f64;
                }
                count += 1;
            }
        }
    }
    (count > GRID).then(|| sum.map(|v| (v / count as f64) as f32))
}

/// Draws the prompt on the frame's luma (or RGB) plane.
fn draw_prompt(
    buffer: &mut gst::BufferRef,
    info: &gst_video::VideoInfo,
    face: liveness_core::face::Rect,
    challenge: ChallengeType,
    progress: f32,
    mirrored: bool,
) {
    use gst_video::VideoFormat as F;
    let Ok(mut frame) = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info) else { return };
    let (width, height) = (info.width() as usize, info.height() as usize);
    let stride = frame.plane_stride()[0].max(0) as usize;
    let (channels, bytes_per_pixel, luma_of_422): (&[usize], usize, Option<usize>) = match info.format() {
        F::I420 | F::Yv12 | F::Nv12 | F::Nv21 | F::Gray8 => (&[0], 1, None),
        F::Yuy2 => (&[0], 2, Some(0)),
        F::Uyvy => (&[0], 2, Some(1)),
        F::Rgb | F::Bgr => (&[0, 1, 2], 3, None),
        F::Rgba | F::Bgra | F::Rgbx | F::Bgrx => (&[0, 1, 2], 4, None),
        F::Argb | F::Abgr | F::Xrgb | F::Xbgr => (&[1, 2, 3], 4, None),
        _ => return,
    };
    let Ok(plane) = frame.plane_data_mut(0) else { return };
    let mut canvas = Canvas { width, height, plane, stride, channels, bytes_per_pixel, luma_of_422 };
    hud::draw(&mut canvas, face, challenge, progress, mirrored);
}

impl VideoFilterImpl for LvChallenge {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        outcaps: &gst::Caps,
        out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            state.info = Some(in_info.clone());
        }
        self.parent_set_info(incaps, in_info, outcaps, out_info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_posted_only_when_it_changes() {
        let session = new_session(&Settings { seed: 1, ..Settings::default() }).unwrap();
        let mut state = State { session, info: None, frames: 0, last_progress: None, needs_sent: None };
        let progress =
            |index: usize, progress: f32| Event::Progress { challenge: ChallengeType::TurnLeft, index, progress };
        assert_eq!(state.drop_unchanged_progress(vec![progress(0, 0.2)]).len(), 1);
        assert!(state.drop_unchanged_progress(vec![progress(0, 0.2)]).is_empty());
        assert_eq!(state.drop_unchanged_progress(vec![progress(0, 0.4), progress(1, 0.4)]).len(), 2);
        let other = Event::PoseDetected { challenge: ChallengeType::TurnLeft, index: 1 };
        assert_eq!(state.drop_unchanged_progress(vec![other, progress(1, 0.4)]).len(), 1);
    }

    #[test]
    fn sessions_from_settings_and_clear_errors() {
        let mut settings = Settings { seed: 5, ..Settings::default() };
        let a = new_session(&settings).unwrap();
        let b = new_session(&settings).unwrap();
        assert_eq!(a.queue(), b.queue());
        assert_eq!(a.queue().len(), 5);
        settings.sequence = Some("blink,smile".into());
        assert_eq!(new_session(&settings).unwrap().queue(), &[ChallengeType::Blink, ChallengeType::Smile]);
        settings.sequence = Some("blink,wink".into());
        assert!(new_session(&settings).err().unwrap().to_string().contains("sequence: unknown challenge \"wink\""));
        settings.sequence = None;
        settings.challenges = "blink".into();
        assert!(new_session(&settings).err().unwrap().to_string().contains("cannot be drawn"));
        settings.challenges = "turn_left,turn_right".into();
        settings.session.reaction_min_ns = 4_000_000_000;
        assert!(
            new_session(&settings)
                .err()
                .unwrap()
                .to_string()
                .contains("reaction-min (4000 ms) is later than reaction-max (3000 ms)")
        );
    }
}
