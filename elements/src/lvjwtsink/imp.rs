//! GStreamer glue of `lvjwtsink`: properties, the key and the age model at start, the
//! per-frame checks, the age of the good frames and the `frame-result` signal, the verdict
//! from lvchallenge's downstream event or the end of stream, and the delivery of the token
//! (message, signal, file).

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::bestshot::BestShot;
use super::session::{SinkSession, TokenContext};
use super::{AgeModelChoice, JwtAlgorithm};
use crate::age::AgeModel;
use crate::element;
use crate::model::SharedModel;
use crate::signing::{KeySource, SECRET_ENV, Signer};
use crate::verdict::StructureForm;
use liveness_core::age::{self, AgePolicy};
use liveness_core::checks::{FrameCheckSettings, check_frame};
use liveness_core::errors::Finding;
use liveness_core::verdict::{FrameResult, Verdict};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("lvjwtsink", gst::DebugColorFlags::empty(), Some("Liveness verdict token sink"))
});

const DEFAULT_EXPIRY_S: u32 = 300;
const DEFAULT_BESTSHOT_SIZE: u32 = 256;
const DEFAULT_JPEG_QUALITY: u32 = 90;
const DEFAULT_AGE_EVERY_NTH: u32 = 3;

#[derive(Debug, Clone)]
struct Settings {
    algorithm: JwtAlgorithm,
    key: Option<String>,
    key_file: Option<PathBuf>,
    key_id: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    expiry_s: u32,
    session_id: Option<String>,
    include_bestshot: bool,
    token_figures: bool,
    bestshot_size: u32,
    jpeg_quality: u32,
    min_age: u32,
    min_age_confidence: f64,
    age_buffer: u32,
    age_model: AgeModelChoice,
    age_every_nth: u32,
    age_model_location: Option<PathBuf>,
    threads: u32,
    checks: FrameCheckSettings,
    location: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            algorithm: JwtAlgorithm::Hs256,
            key: None,
            key_file: None,
            key_id: None,
            issuer: None,
            audience: None,
            expiry_s: DEFAULT_EXPIRY_S,
            session_id: None,
            include_bestshot: true,
            token_figures: true,
            bestshot_size: DEFAULT_BESTSHOT_SIZE,
            jpeg_quality: DEFAULT_JPEG_QUALITY,
            min_age: age::MIN_AGE_YEARS,
            min_age_confidence: age::MIN_AGE_CONFIDENCE as f64,
            age_buffer: age::AGE_BUFFER_YEARS,
            age_model: AgeModelChoice::FaceApi,
            age_every_nth: DEFAULT_AGE_EVERY_NTH,
            age_model_location: None,
            threads: element::DEFAULT_THREADS,
            checks: FrameCheckSettings::default(),
            location: None,
        }
    }
}

struct State {
    signer: Signer,
    /// The age model, when the age check is on.
    age_model: Option<(AgeModel, Arc<SharedModel>)>,
    info: Option<gst_video::VideoInfo>,
    session: SinkSession,
    session_id: String,
    /// The verdict of this session was handed out; frames are ignored until a new session.
    finished: bool,
}

/// What one verdict hands out.
struct Delivery {
    token: String,
    is_ok: bool,
    errors: Vec<Finding>,
    session_id: String,
    bestshot_pts: Option<u64>,
    bestshot_score: Option<f32>,
    /// The measurements taken out of the token (`token-figures` false), as JSON.
    figures: Option<String>,
}

#[derive(Default)]
pub struct LvJwtSink {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for LvJwtSink {
    const NAME: &'static str = "GstLvJwtSink";
    type Type = super::LvJwtSink;
    type ParentType = gst_base::BaseSink;
}

fn error_array(errors: &[Finding]) -> gst::Array {
    gst::Array::new(errors.iter().map(|e| u32::from(e.code())))
}

impl LvJwtSink {
    /// The `session-id` property, or a random UUID for each session when it is unset.
    fn new_session_id(&self) -> String {
        let configured = self.settings.lock().unwrap_or_else(|p| p.into_inner()).session_id.clone();
        configured.unwrap_or_else(liveness_core::claims::random_uuid)
    }

    /// Ends the session: age check, errors, token. Returns what to hand out.
    fn finish(&self, state: &mut State, settings: &Settings) -> Result<Delivery, gst::ErrorMessage> {
        let best = state.session.best.as_ref();
        // Without any face there is no age to speak of: the session failed for that.
        let seen = state.session.frames_with_face > 0;
        let age = state.age_model.as_ref().filter(|_| seen).map(|(model, _)| {
            let policy = AgePolicy {
                min_age: settings.min_age,
                buffer_years: settings.age_buffer,
                min_confidence: settings.min_age_confidence as f32,
                model_error_years: model.error_years(),
                min_frames: age::MIN_AGE_FRAMES,
            };
            policy.decide(state.session.age.estimate())
        });
        if let Some(age) = &age {
            gst::info!(
                CAT,
                imp = self,
                "age {:?} over the good frames, P(>= {}) = {:.2}: {}",
                age.estimate,
                age.policy.min_age,
                age.confidence,
                age.decision.name()
            );
        }
        let bestshot = match (settings.include_bestshot, best) {
            (true, Some(best)) => {
                let jpeg = best
                    .jpeg(settings.jpeg_quality as u8)
                    .map_err(|err| gst::error_msg!(gst::LibraryError::Encode, ["best shot JPEG: {}", err]))?;
                Some(base64::engine::general_purpose::STANDARD.encode(jpeg))
            }
            _ => None,
        };
        let errors = state.session.errors(age.as_ref());
        let now_s = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let context = TokenContext {
            session_id: state.session_id.clone(),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            now_s,
            expiry_s: settings.expiry_s as u64,
            bestshot,
        };
        let mut claims = state.session.claims(&errors, age.as_ref(), context);
        let figures = (!settings.token_figures).then(|| claims.keep_decisions().to_string());
        let token = state
            .signer
            .sign(&claims)
            .map_err(|err| gst::error_msg!(gst::LibraryError::Failed, ["signing the token: {}", err]))?;
        let delivery = Delivery {
            token,
            is_ok: claims.is_ok,
            errors,
            session_id: state.session_id.clone(),
            bestshot_pts: best.and_then(|b| b.pts_ns),
            bestshot_score: best.map(|b| b.score.total()),
            figures,
        };
        // Only the token keeps the best shot from here on.
        state.session = SinkSession::default();
        state.finished = true;
        Ok(delivery)
    }

    /// Ends the session if one is open, then hands the token out. Called without the state lock.
    fn finish_and_deliver(&self, verdict: Option<Verdict>) -> bool {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let result = {
            let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let Some(state) = guard.as_mut() else { return true };
            if state.finished {
                return true;
            }
            state.session.challenge = verdict.or(state.session.challenge.take());
            self.finish(state, &settings)
        };
        match result {
            Ok(delivery) => self.deliver(delivery, &settings),
            Err(err) => {
                self.post_error_message(err);
                false
            }
        }
    }

    fn deliver(&self, d: Delivery, settings: &Settings) -> bool {
        gst::info!(CAT, imp = self, "verdict: ok {}, errors {:?}", d.is_ok, d.errors);
        let obj = self.obj();
        let mut structure = gst::Structure::builder("liveness-token")
            .field("token", &d.token)
            .field("is-ok", d.is_ok)
            .field("errors", error_array(&d.errors))
            .field("session-id", &d.session_id)
            .field("bestshot-pts", d.bestshot_pts.map(gst::ClockTime::from_nseconds))
            .build();
        // Absent when no frame gave a best shot.
        if let Some(score) = d.bestshot_score {
            structure.set("bestshot-score", f64::from(score));
        }
        if let Some(figures) = &d.figures {
            structure.set("figures", figures);
        }
        element::post(&*obj, structure);
        let figures = d.figures.clone().unwrap_or_default();
        obj.emit_by_name::<()>("verdict", &[&d.token, &d.is_ok, &error_array(&d.errors), &figures]);
        if let Some(path) = &settings.location
            && let Err(err) = write_private(path, d.token.as_bytes())
        {
            gst::element_imp_error!(
                self,
                gst::ResourceError::OpenWrite,
                ["cannot write the token to {}: {}", path.display(), err]
            );
            return false;
        }
        true
    }
}

/// The age model's shared session, or an error that names the model and the way out.
fn load_age_model(
    model: AgeModel,
    location: Option<&std::path::Path>,
    threads: usize,
) -> Result<Arc<SharedModel>, gst::ErrorMessage> {
    let way_out = "set age-model-location, choose another age-model, or min-age=0 to switch the age check off";
    let path = crate::model::locate(model.file_name(), location).map_err(|err| {
        gst::error_msg!(gst::ResourceError::NotFound, ["age model {}: {}; {}", model.name(), err, way_out])
    })?;
    crate::model::shared_session(&path, threads).map_err(|err| {
        gst::error_msg!(gst::ResourceError::OpenRead, ["age model {}: {}; {}", model.name(), err, way_out])
    })
}

/// Writes `bytes` to `path`, readable by the owner only (the token holds a face image).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

impl ObjectImpl for LvJwtSink {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let d = Settings::default();
            vec![
                glib::ParamSpecEnum::builder_with_default("algorithm", d.algorithm)
                    .nick("Algorithm")
                    .blurb("Token signature: hs256 (secret from key, key-file or LIVENESS_JWT_SECRET), rs256 or es256 (PEM private key in key-file)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("key")
                    .nick("HS256 secret")
                    .blurb("Shared secret for hs256, at least 32 bytes; write-only. There is no default key: without key, key-file or LIVENESS_JWT_SECRET the element does not start")
                    .write_only()
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("key-file")
                    .nick("Key file")
                    .blurb("File holding the hs256 secret (one trailing newline ignored) or the rs256/es256 private key in PEM")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("key-id")
                    .nick("Key id")
                    .blurb("`kid` of the token header, so verifiers can pick the key; none when unset")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("issuer")
                    .nick("Issuer")
                    .blurb("`iss` claim of the token; left out when unset")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("audience")
                    .nick("Audience")
                    .blurb("`aud` claim of the token: whom it is for (lpserver: the relying party); left out when unset")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("expiry")
                    .nick("Expiry")
                    .blurb("Seconds from issue (`iat`) to expiry (`exp`) of the token")
                    .minimum(1)
                    .maximum(31_536_000)
                    .default_value(d.expiry_s)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("session-id")
                    .nick("Session id")
                    .blurb("`sub` claim of the token; when unset each session gets a random UUID")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("include-bestshot")
                    .nick("Include best shot")
                    .blurb("Put the best shot (base64 JPEG face crop) into the token's `bestshot` claim")
                    .default_value(d.include_bestshot)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("token-figures")
                    .nick("Figures in the token")
                    .blurb("Put the measurements (ags, quality, liveness and surface scores, the stream figures duplicateShare, sensorNoise, timingJitterMs and jpegTables, the flash correlations, the age estimate) into the token beside the decisions; false leaves them null there and posts them as the `figures` JSON of the liveness-token message instead (a token that reaches a browser then tells an attacker nothing to tune against)")
                    .default_value(d.token_figures)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("bestshot-size")
                    .nick("Best shot size")
                    .blurb("Largest side of the best-shot crop in pixels (the face box enlarged 1.4x, at the face's own resolution up to this)")
                    .minimum(32)
                    .maximum(1024)
                    .default_value(d.bestshot_size)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("jpeg-quality")
                    .nick("JPEG quality")
                    .blurb("JPEG quality of the best shot")
                    .minimum(1)
                    .maximum(100)
                    .default_value(d.jpeg_quality)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("min-age")
                    .nick("Minimum age")
                    .blurb("Age in years the person must be (seed 002: 18), estimated over the session's good frames; 0 disables the age check")
                    .maximum(150)
                    .default_value(d.min_age)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("min-age-confidence")
                    .nick("Minimum age confidence")
                    .blurb("Probability, from the session's estimate and the model's measured error, that the person is at least min-age, needed to pass (seed 002: 0.70); a person as likely as this to be under min-age gets age-below-threshold (14)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(d.min_age_confidence)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("age-buffer")
                    .nick("Age buffer")
                    .blurb("Years above min-age the estimate must reach to pass outright (7: the \"Challenge 25\" practice at 18); an adult estimate inside the buffer gives age-uncertain (15): check a document")
                    .maximum(100)
                    .default_value(d.age_buffer)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("age-model", d.age_model)
                    .nick("Age model")
                    .blurb("Age model run on the good frames (models/MODELS.md has the survey)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("age-every-nth")
                    .nick("Age every nth good frame")
                    .blurb("Estimate the age on every nth good frame (one main face, large, sharp, well lit, within 30 degrees of frontal), at most 24 a session; at least 10 are needed for a decision")
                    .minimum(1)
                    .maximum(100)
                    .default_value(d.age_every_nth)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("age-model-location")
                    .nick("Age model location")
                    .blurb("Path of the age model file; unset looks for the age-model's file in LIVENESS_MODEL_DIR, the source tree's models/ and the installed model folder")
                    .mutable_ready()
                    .build(),
                element::threads_spec("age model session"),
                glib::ParamSpecUInt::builder("min-face-size")
                    .nick("Minimum face size")
                    .blurb("Shorter side of the face box, in pixels, below which a frame reports face-too-small (error 3)")
                    .maximum(16384)
                    .default_value(d.checks.min_face_px)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("min-border-distance")
                    .nick("Minimum border distance")
                    .blurb("Least distance in pixels between the face box and the frame border; closer reports face-near-border (error 4) and the frame cannot be the best shot")
                    .maximum(16384)
                    .default_value(d.checks.min_border_px)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb("Also write each token to this file (mode 0600). The token holds the best shot, a face image: this stores biometric data")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![
                // verdict(token, is_ok, errors, figures): once per session, from the streaming
                // thread; figures is the JSON taken out of the token (`token-figures` false), else
                // empty.
                glib::subclass::Signal::builder("verdict")
                    .param_types([
                        String::static_type(),
                        bool::static_type(),
                        gst::Array::static_type(),
                        String::static_type(),
                    ])
                    .build(),
                // frame-result(structure): every frame's checks, from the streaming thread.
                glib::subclass::Signal::builder("frame-result").param_types([gst::Structure::static_type()]).build(),
            ]
        });
        SIGNALS.as_ref()
    }

    fn constructed(&self) {
        self.parent_constructed();
        // Frames are judged as they come; waiting for the clock only slows files down.
        self.obj().set_sync(false);
        // The best shot is the only frame the element keeps.
        self.obj().set_enable_last_sample(false);
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        let text = || value.get::<Option<String>>().expect("type checked upstream").filter(|s| !s.is_empty());
        match pspec.name() {
            "algorithm" => settings.algorithm = value.get().expect("type checked upstream"),
            "key" => settings.key = text(),
            "key-file" => settings.key_file = text().map(PathBuf::from),
            "key-id" => settings.key_id = text(),
            "issuer" => settings.issuer = text(),
            "audience" => settings.audience = text(),
            "expiry" => settings.expiry_s = value.get().expect("type checked upstream"),
            "session-id" => settings.session_id = text(),
            "include-bestshot" => settings.include_bestshot = value.get().expect("type checked upstream"),
            "token-figures" => settings.token_figures = value.get().expect("type checked upstream"),
            "bestshot-size" => settings.bestshot_size = value.get().expect("type checked upstream"),
            "jpeg-quality" => settings.jpeg_quality = value.get().expect("type checked upstream"),
            "min-age" => settings.min_age = value.get().expect("type checked upstream"),
            "min-age-confidence" => settings.min_age_confidence = value.get().expect("type checked upstream"),
            "age-buffer" => settings.age_buffer = value.get().expect("type checked upstream"),
            "age-model" => settings.age_model = value.get().expect("type checked upstream"),
            "age-every-nth" => settings.age_every_nth = value.get().expect("type checked upstream"),
            "age-model-location" => settings.age_model_location = element::path_from_value(value),
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            "min-face-size" => settings.checks.min_face_px = value.get().expect("type checked upstream"),
            "min-border-distance" => settings.checks.min_border_px = value.get().expect("type checked upstream"),
            "location" => settings.location = text().map(PathBuf::from),
            name => unreachable!("unknown property {name}"),
        }
        // The secret itself is never logged.
        if pspec.name() != "key" {
            gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).to_value();
        match pspec.name() {
            "algorithm" => settings.algorithm.to_value(),
            "key-file" => path(&settings.key_file),
            "key-id" => settings.key_id.to_value(),
            "issuer" => settings.issuer.to_value(),
            "audience" => settings.audience.to_value(),
            "expiry" => settings.expiry_s.to_value(),
            "session-id" => settings.session_id.to_value(),
            "include-bestshot" => settings.include_bestshot.to_value(),
            "token-figures" => settings.token_figures.to_value(),
            "bestshot-size" => settings.bestshot_size.to_value(),
            "jpeg-quality" => settings.jpeg_quality.to_value(),
            "min-age" => settings.min_age.to_value(),
            "min-age-confidence" => settings.min_age_confidence.to_value(),
            "age-buffer" => settings.age_buffer.to_value(),
            "age-model" => settings.age_model.to_value(),
            "age-every-nth" => settings.age_every_nth.to_value(),
            "age-model-location" => element::path_to_value(&settings.age_model_location),
            "threads" => settings.threads.to_value(),
            "min-face-size" => settings.checks.min_face_px.to_value(),
            "min-border-distance" => settings.checks.min_border_px.to_value(),
            "location" => path(&settings.location),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvJwtSink {}

impl ElementImpl for LvJwtSink {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness verdict token sink",
                "Sink/Analyzer/Video",
                "Checks every frame (one main face, size, border distance, quality, anti-spoofing, surface), keeps \
                 the best shot (sharpest, best exposed, most frontal, largest face), estimates the age on the \
                 session's good frames (passed, below or uncertain), and at the verdict of lvchallenge (or at end \
                 of stream without it) signs the seed 000 token (JWT: details, errors, isOk, bestshot, iat, exp, jti, sub, challenges, surfaceScore, age). Posts \
                 element message liveness-token (token, is-ok, errors, session-id, bestshot-pts, bestshot-score); \
                 signals verdict (token, is_ok, errors) and frame-result (a frame-result structure: timestamp, \
                 is-ok, errors, faces, x, y, width, height, score, quality values, antispoof-score, challenge, \
                 challenge-index, challenge-total, progress, passed, time-left-ms, stage, hint)",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new().format_list(element::FORMATS.iter().copied()).build();
            vec![
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps)
                    .expect("valid sink pad template"),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseSinkImpl for LvJwtSink {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let source = KeySource {
            key: settings.key.as_deref(),
            key_file: settings.key_file.as_deref(),
            env_secret: std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty()),
            key_id: settings.key_id.as_deref(),
        };
        let signer = Signer::new(settings.algorithm.into(), &source)
            .map_err(|err| gst::error_msg!(gst::LibraryError::Settings, ["{}", err]))?;
        if settings.algorithm == JwtAlgorithm::Rs256 {
            gst::warning!(
                CAT,
                imp = self,
                "rs256 signs through the rsa crate, which is not constant-time (RUSTSEC-2023-0071): prefer es256"
            );
        }
        let age_model = if settings.min_age > 0 {
            let model = AgeModel::from(settings.age_model);
            let shared = load_age_model(model, settings.age_model_location.as_deref(), settings.threads as usize)?;
            Some((model, shared))
        } else {
            None
        };
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
            signer,
            age_model,
            info: None,
            session: SinkSession::default(),
            session_id: self.new_session_id(),
            finished: false,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|_| gst::loggable_error!(CAT, "caps {} are not raw video", caps))?;
        if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            state.info = Some(info);
        }
        Ok(())
    }

    fn event(&self, event: gst::Event) -> bool {
        let delivered = match event.view() {
            gst::EventView::CustomDownstream(custom) => {
                match custom
                    .structure()
                    .filter(|s| s.name() == crate::verdict::VERDICT_STRUCTURE)
                    .map(Verdict::from_structure)
                {
                    Some(Ok(verdict)) => self.finish_and_deliver(Some(verdict)),
                    Some(Err(err)) => {
                        gst::element_imp_error!(self, gst::StreamError::Format, ["lvchallenge's verdict: {}", err]);
                        false
                    }
                    None => true,
                }
            }
            // Without lvchallenge the stream's end is the session's end.
            gst::EventView::Eos(_) => self.finish_and_deliver(None),
            _ => true,
        };
        delivered && self.parent_event(event)
    }

    fn render(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let faces = element::required_faces(self, buffer, "lvjwtsink", "lvfacedetect (and the other lv elements)")?;
        // Only the settings a frame needs: the strings of the others are not copied a frame.
        let (checks, bestshot_size, age_every_nth) = {
            let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
            (settings.checks, settings.bestshot_size as usize, settings.age_every_nth)
        };
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = guard.as_mut() else { return Err(gst::FlowError::Flushing) };
        let info = element::negotiated(self, state.info.as_ref())?;
        let check = check_frame(&faces, info.width(), info.height(), &checks);
        let challenge = check.main_face.and_then(|i| faces[i].challenge.as_ref());
        if state.finished {
            // lvchallenge's `reset` starts a new session: its state shows no verdict again.
            if challenge.is_some_and(|c| c.verdict.is_none()) {
                state.finished = false;
                state.session = SinkSession::default();
                state.session_id = self.new_session_id();
            } else {
                return Ok(gst::FlowSuccess::Ok);
            }
        }
        state.session.observe(&faces, &check);
        if let Some(score) = state.session.better_shot(&faces, &check)
            && let Some(face) = check.main_face.map(|i| &faces[i])
        {
            let pts = buffer.pts().map(|t| t.nseconds());
            let shot = element::analyse_frame(self, buffer, &info, |frame| {
                Ok::<_, std::convert::Infallible>(BestShot::capture(frame, face, score, bestshot_size, pts))
            })?;
            gst::debug!(CAT, imp = self, "best shot at {:?}: {:?}", buffer.pts(), score);
            state.session.best = Some(shot);
        }
        if let (Some((model, shared)), Some(face)) = (&state.age_model, check.main_face.map(|i| &faces[i]))
            && age::is_age_frame(face, &check.errors)
            && state.session.age.wants(age_every_nth)
        {
            let years = element::analyse_frame(self, buffer, &info, |frame| {
                model.estimate(shared, frame, face).map_err(|err| format!("age model: {err}"))
            })?;
            gst::trace!(CAT, imp = self, "age {:.1} years at {:?}", years, buffer.pts());
            state.session.age.push(years);
        }
        drop(guard);
        let result = FrameResult::new(buffer.pts().map(|t| t.nseconds()), &check.errors, &faces, check.main_face);
        self.obj().emit_by_name::<()>("frame-result", &[&result.to_structure()]);
        Ok(gst::FlowSuccess::Ok)
    }
}
