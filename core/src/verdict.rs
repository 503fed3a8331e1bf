//! The results that leave a liveness check, each one typed value: the session [`Verdict`]
//! (lvchallenge's `liveness-verdict`) and the per-frame [`FrameResult`] (lvjwtsink's
//! `frame-result`, LPProto's STATS). The elements carry them as GStreamer structures and the
//! server reads them back into these same values: nothing is flattened and rebuilt on the way,
//! and a value that was not measured is absent (never a `-1`).

use serde::Serialize;

use crate::contracts::{self as flash, FlashSchedule, FlashStep};
use crate::errors::Finding;
use crate::face::{Face, QualityResult};

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
    /// antispoof, no-antispoof ([`Finding::from_verdict_failure`] gives their codes).
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
    pub fn error_codes(&self) -> Vec<Finding> {
        let mut codes = Vec::new();
        for code in self.failures.iter().filter_map(|f| Finding::from_verdict_failure(f)) {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
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
    pub fn new(timestamp_ns: Option<u64>, errors: &[Finding], faces: &[Face], main_face: Option<usize>) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_names_its_findings_and_serialises_without_the_passive_scores() {
        let v = Verdict {
            passed: false,
            liveness_score: 0.5,
            passed_challenges: 1,
            total_challenges: 2,
            sequence: vec!["turn_left".into(), "flash".into()],
            results: vec![ChallengeOutcome {
                challenge: "turn_left".into(),
                passed: true,
                attempts: 1,
                penalty: false,
                reason: None,
                correlation: None,
            }],
            failures: vec!["timeout".into(), "liveness-score".into(), "timeout".into()],
            surface_score: Some(0.75),
            ..Verdict::default()
        };
        assert_eq!(v.error_codes(), vec![Finding::ChallengeTimeout, Finding::ChallengeFailed]);
        assert!(v.failed("timeout") && !v.failed("antispoof"));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["passedChallenges"], 1);
        assert!(json.get("surfaceScore").is_none() && json["results"][0].get("reason").is_none());
    }

    #[test]
    fn a_frame_result_serialises_as_stats() {
        let schedule = FlashSchedule {
            steps: vec![FlashStep { rgb: [0xd4, 0x40, 0x40], ms: 150 }, FlashStep { rgb: [0, 0x10, 0xff], ms: 300 }],
        };
        let result = FrameResult {
            timestamp_ns: Some(100),
            is_ok: false,
            errors: vec![12],
            details: FrameDetails {
                faces: 1,
                face_rect: Some(FaceRect { x: 1, y: 2, width: 30, height: 40 }),
                face_score: Some(0.5),
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
                    flash: Some(Box::new(FlashShow::from(&schedule))),
                }),
                ..FrameDetails::default()
            },
        };
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
