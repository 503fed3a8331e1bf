//! The GStreamer form of the results ([`liveness_core::verdict`]): the session verdict
//! lvchallenge sends downstream (and posts) as `liveness-verdict`, and the per-frame result
//! lvjwtsink's `frame-result` signal carries. Applications (lpserver's STATS and REST answers)
//! read the structures back with [`StructureForm::from_structure`] and serialise the same
//! values.

use gst::prelude::*;
use liveness_core::challenge::flash::{FlashSchedule, FlashStep};
use liveness_core::verdict::{
    ChallengeOutcome, ChallengeProgress, FaceRect, FlashShow, FrameDetails, FrameResult, QualityFigures, Verdict,
};

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

/// A result and its one GStreamer structure.
pub trait StructureForm: Sized {
    fn to_structure(&self) -> gst::Structure;
    /// The value a structure holds, or what is wrong with it.
    fn from_structure(s: &gst::StructureRef) -> Result<Self, ResultError>;
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

impl StructureForm for ChallengeOutcome {
    fn to_structure(&self) -> gst::Structure {
        let r = self;
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

    fn from_structure(s: &gst::StructureRef) -> Result<Self, ResultError> {
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

impl StructureForm for Verdict {
    fn to_structure(&self) -> gst::Structure {
        let v = self;
        let results = gst::List::new(v.results.iter().map(|r| r.to_structure().to_send_value()));
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

    fn from_structure(s: &gst::StructureRef) -> Result<Self, ResultError> {
        const NAME: &str = VERDICT_STRUCTURE;
        check_name(s, NAME)?;
        let results = field::<gst::List>(s, NAME, "results")?
            .iter()
            .map(|value| {
                let r = value
                    .get::<gst::Structure>()
                    .map_err(|_| ResultError::Field { structure: NAME, field: "results" })?;
                ChallengeOutcome::from_structure(r.as_ref())
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

/// A flash schedule back from its colours and durations (None when they do not parse).
fn flash_schedule(colours: &gst::Array, durations: &gst::Array) -> Option<FlashSchedule> {
    let steps = colours
        .iter()
        .zip(durations.iter())
        .map(|(c, d)| FlashStep::from_hex(&c.get::<String>().ok()?, d.get::<u32>().ok()?))
        .collect::<Option<Vec<_>>>()?;
    (steps.len() == colours.len()).then_some(FlashSchedule { steps })
}

/// An `errors` field: error codes as unsigned integers.
pub fn error_array(errors: &[u32]) -> gst::Array {
    gst::Array::new(errors.iter().copied())
}

/// The codes of an `errors` field (signal argument or structure field).
pub fn error_codes(array: &gst::Array) -> Vec<u32> {
    array.iter().filter_map(|v| v.get::<u32>().ok()).collect()
}

impl StructureForm for FrameResult {
    fn to_structure(&self) -> gst::Structure {
        let r = self;
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

    fn from_structure(s: &gst::StructureRef) -> Result<Self, ResultError> {
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
                        let schedule = flash_schedule(&colours, &durations)
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
    use liveness_core::verdict::FaceRect;

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
        let s = v.to_structure();
        assert!(!s.has_field("antispoof-score") && !s.has_field("antispoof-real"), "{s}");
        assert_eq!(s.get::<f64>("surface-score").unwrap(), 0.75);
        assert_eq!(Verdict::from_structure(s.as_ref()).unwrap(), v);
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
        assert!(matches!(Verdict::from_structure(other.as_ref()), Err(ResultError::Name { .. })));
        let mut s = verdict().to_structure();
        s.remove_field("passed");
        let err = Verdict::from_structure(s.as_ref()).unwrap_err();
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
        let s = result.to_structure();
        assert!(!s.has_field("time-left-ms") && !s.has_field("blur"), "{s}");
        assert_eq!(FrameResult::from_structure(s.as_ref()).unwrap(), result);
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["isOk"], false);
        assert_eq!(json["errors"], serde_json::json!([12]));
        assert_eq!(json["details"]["faceRect"]["width"], 30);
        assert!(json["details"]["quality"].is_null());
        assert_eq!(json["details"]["challenge"]["name"], "flash");
        let flash = &json["details"]["challenge"]["flash"];
        assert_eq!(flash["colours"], serde_json::json!(["#d44040", "#0010ff"]));
        assert_eq!((flash["durationsMs"][1].as_u64(), flash["leadMs"].as_u64()), (Some(300), Some(400)));
        assert!(json["details"]["challenge"]["timeLeftMs"].is_null());
        assert_eq!(json["details"]["challenge"]["hint"], "face-camera");
        assert!(json.get("timestampNs").is_none());
    }
}
