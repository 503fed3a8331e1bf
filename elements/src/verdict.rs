//! The results that leave the elements, each one typed value with one GStreamer form: the
//! session [`Verdict`] lvchallenge sends downstream (and posts) as `liveness-verdict`, and the
//! per-frame [`FrameResult`] lvjwtsink's `frame-result` signal carries. Applications (lpserver's
//! STATS and REST answers) read the structures back with `TryFrom` and serialise the same
//! values: nothing is flattened and rebuilt on the way, and a value that was not measured is
//! absent (never a `-1`).

use gst::prelude::*;
use serde::Serialize;

use crate::errors::ErrorCode;
use crate::lvchallenge::flash::{self, FlashSchedule, FlashStep};
use crate::meta::{Face, QualityResult};

/// Name of the verdict structure: lvchallenge's custom downstream event and bus message.
pub const VERDICT_STRUCTURE: &str = "liveness-verdict";
/// Name of the per-frame result structure of lvjwtsink's `frame-result` signal.
pub const FRAME_RESULT_STRUCTURE: &str = "frame-result";

/// A structure that does not hold what its type needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    #[error("structure {found} is not {expected}")]
    Name { expected: &'static str, found: String },
    #[error("{structure} has no field {field} of the documented type")]
    Field { structure: &'static str, field: &'static str },
}

/// One challenge of the session: how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChallengeOutcome {
    /// `turn_left`, `blink` ... (lvchallenge's names).
    pub challenge: String,
    pub passed: bool,
    pub attempts: u32,
    /// It was the penalty step added after a failure.
    pub penalty: bool,
    /// Why its last attempt failed: timeout, face-lost, no-reaction, wrong-movement,
    /// planar-motion, flash-mismatch (absent when passed or never asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A screen-flash challenge's last attempt: the correlation of the face's colour with the
    /// flashes (-1..1; absent for other challenges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f32>,
}

/// lvchallenge's verdict on a session. Serialised (the token's `challenges` claim) without the
/// passive scores, which the token carries in their own claims.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub passed: bool,
    /// Share of the challenges passed.
    pub liveness_score: f32,
    pub passed_challenges: u32,
    pub total_challenges: u32,
    /// The challenges asked, in order, the penalty step included.
    pub sequence: Vec<String>,
    pub results: Vec<ChallengeOutcome>,
    /// What failed: timeout, several-faces, incomplete, no-face, not-calibrated,
    /// liveness-score, wrong-movement, planar-motion, flash-mismatch, duplicate-frames,
    /// no-sensor-noise, regular-timing, static-jpeg-tables, surface-score, no-surface-analysis,
    /// antispoof, no-antispoof ([`ErrorCode::from_verdict_failure`] gives their codes).
    pub failures: Vec<String>,
    /// Mean surface confidence over the challenge frames, when lvsurfaceanalysis ran.
    #[serde(skip)]
    pub surface_score: Option<f32>,
    /// Mean anti-spoofing score over the challenge frames and its decision, when
    /// lvantispoof ran.
    #[serde(skip)]
    pub antispoof_score: Option<f32>,
    #[serde(skip)]
    pub antispoof_real: Option<bool>,
    /// Share of the session's frames that repeated the one before (lvsurfaceanalysis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_share: Option<f32>,
    /// Median temporal sensor noise over the session's frames, luma levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor_noise: Option<f32>,
    /// Median absolute deviation of the frame intervals, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing_jitter_ms: Option<f32>,
    /// Distinct JPEG quantisation tables over the session's frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jpeg_tables: Option<u32>,
}

impl Verdict {
    /// Whether `failure` (a name of [`Verdict::failures`]) is among the failures.
    pub fn failed(&self, failure: &str) -> bool {
        self.failures.iter().any(|f| f == failure)
    }

    /// The failures as error codes, in order, each once.
    pub fn error_codes(&self) -> Vec<ErrorCode> {
        let mut codes = Vec::new();
        for code in self.failures.iter().filter_map(|f| ErrorCode::from_verdict_failure(f)) {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }
}

fn check_name(s: &gst::StructureRef, expected: &'static str) -> Result<(), ResultError> {
    if s.name() == expected { Ok(()) } else { Err(ResultError::Name { expected, found: s.name().to_string() }) }
}

/// A required field of `structure`.
fn field<'a, T: gst::glib::value::FromValue<'a>>(
    s: &'a gst::StructureRef,
    structure: &'static str,
    name: &'static str,
) -> Result<T, ResultError> {
    s.get::<T>(name).map_err(|_| ResultError::Field { structure, field: name })
}

/// An optional number field: absent when not measured.
fn optional_f32(s: &gst::StructureRef, name: &str) -> Option<f32> {
    s.get::<f64>(name).ok().map(|v| v as f32)
}

fn set_optional_f32(s: &mut gst::Structure, name: &str, value: Option<f32>) {
    if let Some(value) = value {
        s.set(name, value as f64);
    }
}

impl From<&ChallengeOutcome> for gst::Structure {
    fn from(r: &ChallengeOutcome) -> gst::Structure {
        let mut s = gst::Structure::builder("challenge")
            .field("challenge", r.challenge.as_str())
            .field("passed", r.passed)
            .field("attempts", r.attempts)
            .field("penalty", r.penalty)
            .build();
        if let Some(reason) = &r.reason {
            s.set("reason", reason.as_str());
        }
        set_optional_f32(&mut s, "correlation", r.correlation);
        s
    }
}

impl TryFrom<&gst::StructureRef> for ChallengeOutcome {
    type Error = ResultError;

    fn try_from(s: &gst::StructureRef) -> Result<Self, ResultError> {
        const NAME: &str = "challenge";
        Ok(ChallengeOutcome {
            challenge: field(s, NAME, "challenge")?,
            passed: field(s, NAME, "passed")?,
            attempts: field(s, NAME, "attempts")?,
            penalty: field(s, NAME, "penalty")?,
            reason: s.get::<String>("reason").ok().filter(|r| !r.is_empty()),
            correlation: optional_f32(s, "correlation"),
        })
    }
}

impl From<&Verdict> for gst::Structure {
    fn from(v: &Verdict) -> gst::Structure {
        let results = gst::List::new(v.results.iter().map(|r| gst::Structure::from(r).to_send_value()));
        let mut s = gst::Structure::builder(VERDICT_STRUCTURE)
            .field("passed", v.passed)
            .field("liveness-score", v.liveness_score as f64)
            .field("passed-challenges", v.passed_challenges)
            .field("total-challenges", v.total_challenges)
            .field("failures", gst::Array::new(v.failures.iter().map(|f| f.to_send_value())))
            .field("sequence", v.sequence.join(","))
            .field("results", results)
            .build();
        set_optional_f32(&mut s, "surface-score", v.surface_score);
        set_optional_f32(&mut s, "antispoof-score", v.antispoof_score);
        if let Some(real) = v.antispoof_real {
            s.set("antispoof-real", real);
        }
        set_optional_f32(&mut s, "duplicate-share", v.duplicate_share);
        set_optional_f32(&mut s, "sensor-noise", v.sensor_noise);
        set_optional_f32(&mut s, "timing-jitter-ms", v.timing_jitter_ms);
        if let Some(tables) = v.jpeg_tables {
            s.set("jpeg-tables", tables);
        }
        s
    }
}

impl TryFrom<&gst::StructureRef> for Verdict {
    type Error = ResultError;

    fn try_from(s: &gst::StructureRef) -> Result<Self, ResultError> {
        const NAME: &str = VERDICT_STRUCTURE;
        check_name(s, NAME)?;
        let results = field::<gst::List>(s, NAME, "results")?
            .iter()
            .map(|value| {
                let r = value
                    .get::<gst::Structure>()
                    .map_err(|_| ResultError::Field { structure: NAME, field: "results" })?;
                ChallengeOutcome::try_from(r.as_ref())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let failures = field::<gst::Array>(s, NAME, "failures")?
            .iter()
            .map(|v| v.get::<String>().map_err(|_| ResultError::Field { structure: NAME, field: "failures" }))
            .collect::<Result<Vec<_>, _>>()?;
        let sequence: String = field(s, NAME, "sequence")?;
        Ok(Verdict {
            passed: field(s, NAME, "passed")?,
            liveness_score: field::<f64>(s, NAME, "liveness-score")? as f32,
            passed_challenges: field(s, NAME, "passed-challenges")?,
            total_challenges: field(s, NAME, "total-challenges")?,
            sequence: sequence.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
            results,
            failures,
            surface_score: optional_f32(s, "surface-score"),
            antispoof_score: optional_f32(s, "antispoof-score"),
            antispoof_real: s.get::<bool>("antispoof-real").ok(),
            duplicate_share: optional_f32(s, "duplicate-share"),
            sensor_noise: optional_f32(s, "sensor-noise"),
            timing_jitter_ms: optional_f32(s, "timing-jitter-ms"),
            jpeg_tables: s.get::<u32>("jpeg-tables").ok(),
        })
    }
}

/// A face box in frame pixels, rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FaceRect {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

/// The image-quality figures of the main face (lvsurfaceanalysis, seed 000's names).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityFigures {
    pub blur: f32,
    pub light: f32,
    pub darkness: f32,
    pub illumination: f32,
    pub specularity: f32,
}

impl From<&QualityResult> for QualityFigures {
    fn from(q: &QualityResult) -> Self {
        QualityFigures {
            blur: q.blur,
            light: q.light,
            darkness: q.darkness,
            illumination: q.illumination,
            specularity: q.specularity,
        }
    }
}

/// Where the active challenge stands (lvchallenge's state on the main face).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeProgress {
    /// The running challenge; absent while calibrating, centering or after the verdict.
    pub name: Option<String>,
    pub index: u32,
    pub total: u32,
    /// Hold progress of the running challenge, 0..1.
    pub progress: f32,
    pub passed: u32,
    pub time_left_ms: Option<u64>,
    /// `calibrating`, `centering`, `challenge` or `done`.
    pub stage: String,
    /// What the person should change (`face-camera`, `move-closer` ...).
    pub hint: Option<String>,
    /// While a screen-flash challenge runs: what the page is to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flash: Option<Box<FlashShow>>,
}

/// A screen-flash schedule as the page shows it: `leadMs` of `neutral` grey, the colours for
/// their durations, `tailMs` of grey, starting when the STATS that carries it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlashShow {
    pub neutral: String,
    pub lead_ms: u32,
    /// `#rrggbb` colours in order.
    pub colours: Vec<String>,
    /// Each colour's duration, in ms.
    pub durations_ms: Vec<u32>,
    pub tail_ms: u32,
}

impl From<&FlashSchedule> for FlashShow {
    fn from(s: &FlashSchedule) -> Self {
        FlashShow {
            neutral: FlashStep { rgb: flash::NEUTRAL, ms: 0 }.hex(),
            lead_ms: flash::LEAD_MS,
            colours: s.steps.iter().map(FlashStep::hex).collect(),
            durations_ms: s.steps.iter().map(|step| step.ms).collect(),
            tail_ms: flash::TAIL_MS,
        }
    }
}

impl FlashShow {
    /// The schedule back from its colours and durations (None when they do not parse).
    fn schedule(colours: &gst::Array, durations: &gst::Array) -> Option<FlashSchedule> {
        let steps = colours
            .iter()
            .zip(durations.iter())
            .map(|(c, d)| FlashStep::from_hex(&c.get::<String>().ok()?, d.get::<u32>().ok()?))
            .collect::<Option<Vec<_>>>()?;
        (steps.len() == colours.len()).then_some(FlashSchedule { steps })
    }
}

/// What was found on a frame besides its verdict.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameDetails {
    pub faces: u32,
    /// The main face's box.
    pub face_rect: Option<FaceRect>,
    /// The main face's detection score (in the structure, not in STATS).
    #[serde(skip)]
    pub face_score: Option<f32>,
    pub quality: Option<QualityFigures>,
    /// The anti-spoofing score aggregated over the main face's track.
    pub antispoof_score: Option<f32>,
    pub challenge: Option<ChallengeProgress>,
}

/// lvjwtsink's finding on one frame: whether it passes the frame checks, the codes of those
/// it fails, and what was found. Serialised, it is the body of LPProto's STATS.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameResult {
    /// Presentation time of the frame, in ns.
    #[serde(skip)]
    pub timestamp_ns: Option<u64>,
    pub is_ok: bool,
    pub errors: Vec<u32>,
    pub details: FrameDetails,
}

impl FrameResult {
    /// The result for `faces` whose main face (if any) is `main_face`.
    pub fn new(timestamp_ns: Option<u64>, errors: &[ErrorCode], faces: &[Face], main_face: Option<usize>) -> Self {
        let main = main_face.and_then(|i| faces.get(i));
        let details = FrameDetails {
            faces: faces.len() as u32,
            face_rect: main.map(|face| FaceRect {
                x: face.bbox.x.round() as i32,
                y: face.bbox.y.round() as i32,
                width: face.bbox.width.round() as i32,
                height: face.bbox.height.round() as i32,
            }),
            face_score: main.map(|face| face.score),
            quality: main.and_then(|face| face.quality.as_ref()).map(QualityFigures::from),
            antispoof_score: main.and_then(|face| face.antispoof).map(|a| a.aggregated_score),
            challenge: main.and_then(|face| face.challenge.as_ref()).map(|c| ChallengeProgress {
                name: (!c.challenge.is_empty()).then(|| c.challenge.clone()),
                index: c.index,
                total: c.total,
                progress: c.progress,
                passed: c.passed,
                time_left_ms: c.time_left_ms,
                stage: c.stage.clone(),
                hint: c.hint.clone(),
                flash: c.flash.as_ref().map(|f| Box::new(FlashShow::from(f))),
            }),
        };
        FrameResult {
            timestamp_ns,
            is_ok: errors.is_empty(),
            errors: errors.iter().map(|e| u32::from(e.code())).collect(),
            details,
        }
    }
}

/// An `errors` field: error codes as unsigned integers.
pub fn error_array(errors: &[u32]) -> gst::Array {
    gst::Array::new(errors.iter().copied())
}

/// The codes of an `errors` field (signal argument or structure field).
pub fn error_codes(array: &gst::Array) -> Vec<u32> {
    array.iter().filter_map(|v| v.get::<u32>().ok()).collect()
}

impl From<&FrameResult> for gst::Structure {
    fn from(r: &FrameResult) -> gst::Structure {
        let d = &r.details;
        let mut s = gst::Structure::builder(FRAME_RESULT_STRUCTURE)
            .field("timestamp", r.timestamp_ns.map(gst::ClockTime::from_nseconds))
            .field("is-ok", r.is_ok)
            .field("errors", error_array(&r.errors))
            .field("faces", d.faces)
            .build();
        if let Some(rect) = d.face_rect {
            s.set("x", rect.x);
            s.set("y", rect.y);
            s.set("width", rect.width);
            s.set("height", rect.height);
        }
        set_optional_f32(&mut s, "score", d.face_score);
        if let Some(q) = d.quality {
            for (name, value) in [
                ("blur", q.blur),
                ("light", q.light),
                ("darkness", q.darkness),
                ("illumination", q.illumination),
                ("specularity", q.specularity),
            ] {
                s.set(name, value as f64);
            }
        }
        set_optional_f32(&mut s, "antispoof-score", d.antispoof_score);
        if let Some(c) = &d.challenge {
            s.set("challenge", c.name.as_deref().unwrap_or(""));
            s.set("challenge-index", c.index);
            s.set("challenge-total", c.total);
            s.set("progress", c.progress as f64);
            s.set("passed", c.passed);
            if let Some(ms) = c.time_left_ms {
                s.set("time-left-ms", ms);
            }
            s.set("stage", c.stage.as_str());
            if let Some(hint) = &c.hint {
                s.set("hint", hint.as_str());
            }
            if let Some(f) = &c.flash {
                s.set("flash-colours", gst::Array::new(f.colours.iter().map(String::as_str)));
                s.set("flash-durations", gst::Array::new(f.durations_ms.iter().copied()));
            }
        }
        s
    }
}

impl TryFrom<&gst::StructureRef> for FrameResult {
    type Error = ResultError;

    fn try_from(s: &gst::StructureRef) -> Result<Self, ResultError> {
        const NAME: &str = FRAME_RESULT_STRUCTURE;
        check_name(s, NAME)?;
        let int = |name: &str| s.get::<i32>(name).ok();
        let face_rect = match (int("x"), int("y"), int("width"), int("height")) {
            (Some(x), Some(y), Some(width), Some(height)) => Some(FaceRect { x, y, width, height }),
            _ => None,
        };
        let quality = optional_f32(s, "blur").map(|blur| QualityFigures {
            blur,
            light: optional_f32(s, "light").unwrap_or_default(),
            darkness: optional_f32(s, "darkness").unwrap_or_default(),
            illumination: optional_f32(s, "illumination").unwrap_or_default(),
            specularity: optional_f32(s, "specularity").unwrap_or_default(),
        });
        let challenge = match s.get::<String>("challenge") {
            Ok(name) => Some(ChallengeProgress {
                name: (!name.is_empty()).then_some(name),
                index: field(s, NAME, "challenge-index")?,
                total: field(s, NAME, "challenge-total")?,
                progress: field::<f64>(s, NAME, "progress")? as f32,
                passed: field(s, NAME, "passed")?,
                time_left_ms: s.get::<u64>("time-left-ms").ok(),
                stage: field(s, NAME, "stage")?,
                hint: s.get::<String>("hint").ok(),
                flash: match (s.get::<gst::Array>("flash-colours"), s.get::<gst::Array>("flash-durations")) {
                    (Ok(colours), Ok(durations)) => {
                        let schedule = FlashShow::schedule(&colours, &durations)
                            .ok_or(ResultError::Field { structure: NAME, field: "flash-colours" })?;
                        Some(Box::new(FlashShow::from(&schedule)))
                    }
                    _ => None,
                },
            }),
            Err(_) => None,
        };
        Ok(FrameResult {
            timestamp_ns: s.get::<Option<gst::ClockTime>>("timestamp").ok().flatten().map(|t| t.nseconds()),
            is_ok: field(s, NAME, "is-ok")?,
            errors: error_codes(&field::<gst::Array>(s, NAME, "errors")?),
            details: FrameDetails {
                faces: field(s, NAME, "faces")?,
                face_rect,
                face_score: optional_f32(s, "score"),
                quality,
                antispoof_score: optional_f32(s, "antispoof-score"),
                challenge,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        let _ = gst::init();
    }

    fn verdict() -> Verdict {
        Verdict {
            passed: false,
            liveness_score: 0.5,
            passed_challenges: 1,
            total_challenges: 2,
            sequence: vec!["turn_left".into(), "flash".into()],
            results: vec![
                ChallengeOutcome {
                    challenge: "turn_left".into(),
                    passed: true,
                    attempts: 1,
                    penalty: false,
                    reason: None,
                    correlation: None,
                },
                ChallengeOutcome {
                    challenge: "flash".into(),
                    passed: false,
                    attempts: 2,
                    penalty: false,
                    reason: Some("flash-mismatch".into()),
                    correlation: Some(0.25),
                },
            ],
            failures: vec!["timeout".into(), "liveness-score".into()],
            surface_score: Some(0.75),
            antispoof_score: None,
            antispoof_real: None,
            duplicate_share: Some(0.25),
            sensor_noise: None,
            timing_jitter_ms: Some(0.5),
            jpeg_tables: Some(3),
        }
    }

    #[test]
    fn a_verdict_survives_its_structure_and_unmeasured_scores_stay_absent() {
        init();
        let v = verdict();
        let s = gst::Structure::from(&v);
        assert!(!s.has_field("antispoof-score") && !s.has_field("antispoof-real"), "{s}");
        assert_eq!(s.get::<f64>("surface-score").unwrap(), 0.75);
        assert_eq!(Verdict::try_from(s.as_ref()).unwrap(), v);
        assert_eq!(v.error_codes(), vec![ErrorCode::ChallengeTimeout, ErrorCode::ChallengeFailed]);
        assert!(v.failed("timeout") && !v.failed("antispoof"));
        // Serialised for the token: the passive scores are not in it.
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["passedChallenges"], 1);
        assert!(json.get("surfaceScore").is_none() && json["results"][0].get("reason").is_none());
    }

    #[test]
    fn a_structure_that_is_not_a_verdict_is_refused_with_what_is_wrong() {
        init();
        let other = gst::Structure::builder("challenge-started").build();
        assert!(matches!(Verdict::try_from(other.as_ref()), Err(ResultError::Name { .. })));
        let mut s = gst::Structure::from(&verdict());
        s.remove_field("passed");
        let err = Verdict::try_from(s.as_ref()).unwrap_err();
        assert_eq!(err, ResultError::Field { structure: VERDICT_STRUCTURE, field: "passed" });
        assert_eq!(err.to_string(), "liveness-verdict has no field passed of the documented type");
    }

    #[test]
    fn a_frame_result_survives_its_structure_and_serialises_as_stats() {
        init();
        let result = FrameResult {
            timestamp_ns: Some(100),
            is_ok: false,
            errors: vec![12],
            details: FrameDetails {
                faces: 1,
                face_rect: Some(FaceRect { x: 1, y: 2, width: 30, height: 40 }),
                face_score: Some(0.5),
                quality: None,
                antispoof_score: Some(0.25),
                challenge: Some(ChallengeProgress {
                    name: Some("flash".into()),
                    index: 0,
                    total: 3,
                    progress: 0.0,
                    passed: 0,
                    time_left_ms: None,
                    stage: "challenge".into(),
                    hint: Some("face-camera".into()),
                    flash: Some(Box::new(FlashShow::from(&FlashSchedule {
                        steps: vec![
                            FlashStep { rgb: [0xd4, 0x40, 0x40], ms: 150 },
                            FlashStep { rgb: [0, 0x10, 0xff], ms: 300 },
                        ],
                    }))),
                }),
            },
        };
        let s = gst::Structure::from(&result);
        assert!(!s.has_field("time-left-ms") && !s.has_field("blur"), "{s}");
        assert_eq!(FrameResult::try_from(s.as_ref()).unwrap(), result);
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["isOk"], false);
        assert_eq!(json["errors"], serde_json::json!([12]));
        assert_eq!(json["details"]["faceRect"]["width"], 30);
        assert!(json["details"]["quality"].is_null());
        assert_eq!(json["details"]["challenge"]["name"], "flash");
        let flash = &json["details"]["challenge"]["flash"];
        assert_eq!(flash["colours"], serde_json::json!(["#d44040", "#0010ff"]));
        assert_eq!((flash["durationsMs"][1].as_u64(), flash["leadMs"].as_u64()), (Some(300), Some(600)));
        assert!(json["details"]["challenge"]["timeLeftMs"].is_null());
        assert_eq!(json["details"]["challenge"]["hint"], "face-camera");
        assert!(json.get("timestampNs").is_none());
    }
}
