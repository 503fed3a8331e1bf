//! The age check of a session (seed 002: `minAgeThreshold` 18, `minAgeConfidence` 0.70),
//! decided over the session's good frames rather than on one picture.
//!
//! - Each good frame (one whole main face, large, sharp, well exposed, within
//!   [`MAX_POSE_DEGREES`] of frontal) gives one estimate in years from the age model;
//!   [`AgeSamples`] keeps them and sums them up as the median and a robust spread, so one
//!   odd frame does not move the result.
//! - [`AgePolicy::decide`] turns the session's estimate into the probability that the person
//!   is at least `min_age` ([`AgeCheck::confidence`]), from the estimate and the model's
//!   measured error (lvjwtsink's `AgeModel::error_years`) widened by the session's own spread, and into
//!   one of three decisions: `passed` (the estimate is at least `min_age + buffer` and the
//!   confidence reaches `min_confidence`), `below` (the model is at least as sure that the
//!   person is *under* `min_age`), or `uncertain`: neither, which asks for a document check.
//!
//! The buffer is the retail "Challenge 25" practice applied to a machine: a seller of
//! age-restricted goods at 18 asks anyone who looks under 25 for a document, because how
//! old someone looks misses their age by years. The age models are trained on faces of
//! known age, and miss by about as much (see models/MODELS.md and docs/accuracy.md).
//!
//! lvjwtsink's `AgeModel` lists the age models that registry packages ship and that the survey
//! of `lpeval --mode age` measured; `face-api` (the age and gender network of
//! `@vladmandic/face-api`) is the one the element runs by default, and its measured error is
//! [`DEFAULT_MODEL_ERROR_YEARS`].

use crate::errors::Finding;
use crate::face::Face;

/// Seed 002 `minAgeThreshold`.
pub const MIN_AGE_YEARS: u32 = 18;
/// Seed 002 `minAgeConfidence`.
pub const MIN_AGE_CONFIDENCE: f32 = 0.70;
/// Years above `min_age` that an estimate must reach to pass outright: 7 makes the
/// "Challenge 25" of retail at an age limit of 18.
pub const AGE_BUFFER_YEARS: u32 = 7;
/// Good frames a decision needs; with fewer the age is `uncertain`.
pub const MIN_AGE_FRAMES: usize = 10;
/// Estimates a session keeps: more frames barely narrow the median, and each costs a model run
/// (24 runs of face-api cost about 50 ms, twice GEAR's one run on the best shot).
pub const MAX_AGE_FRAMES: usize = 24;
/// A frame counts for the age only with the head within this many degrees of frontal (yaw
/// and pitch each): the models are trained on faces that look about at the camera. lvchallenge
/// calibrates a neutral pose up to 25 degrees off (a laptop's camera below the eyes reads
/// 15-25 degrees of pitch), so every neutral frame counts; the turns of the challenges mostly
/// do not.
pub const MAX_POSE_DEGREES: f32 = 30.0;
/// The face box's shorter side, in pixels, below which a frame does not count.
pub const MIN_FACE_PX: f32 = 80.0;
/// lvsurfaceanalysis' sharpness (`blur`, v / (v + 100) of the Laplacian's variance v) below
/// which a frame is too blurred to show an age: motion blur in the middle of a movement, a
/// camera out of focus. The `blurred` flag (under 0.61) asks more than an age model needs: the
/// models see the face at 64-224 pixels, and the evaluation's upscaled photos of real people
/// read 0.1-0.5 on every frame (docs/accuracy.md).
pub const MIN_SHARPNESS: f32 = 0.08;

/// The measured error of the default age model (face-api, models/MODELS.md), years.
pub const DEFAULT_MODEL_ERROR_YEARS: f32 = 7.0;

/// Whether a frame's main face is good enough to estimate the age on: alone and whole,
/// large enough, sharp enough ([`MIN_SHARPNESS`]), not dark, overexposed, unevenly lit or
/// specular (the frame's `errors`), and near-frontal. Presentation-attack findings do not
/// matter here.
pub fn is_age_frame(face: &Face, errors: &[Finding]) -> bool {
    const SPOILING: [Finding; 8] = [
        Finding::NoFace,
        Finding::SeveralFaces,
        Finding::FaceTooSmall,
        Finding::FaceNearBorder,
        Finding::Dark,
        Finding::Overexposed,
        Finding::UnevenIllumination,
        Finding::Specular,
    ];
    let frontal = face
        .head_pose
        .is_none_or(|p| p.yaw_degrees.abs() <= MAX_POSE_DEGREES && p.pitch_degrees.abs() <= MAX_POSE_DEGREES);
    let sharp = face.quality.is_none_or(|q| q.blur >= MIN_SHARPNESS);
    frontal
        && sharp
        && face.bbox.width.min(face.bbox.height) >= MIN_FACE_PX
        && !errors.iter().any(|e| SPOILING.contains(e))
}

/// The per-frame estimates of one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgeSamples {
    years: Vec<f32>,
    /// Good frames seen, estimated or not.
    good_frames: u64,
}

impl AgeSamples {
    /// Counts a good frame; true when its age should be estimated: every `every_nth` good
    /// frame (the first one included) until [`MAX_AGE_FRAMES`] estimates are kept.
    pub fn wants(&mut self, every_nth: u32) -> bool {
        let due = self.good_frames.is_multiple_of(u64::from(every_nth.max(1)));
        self.good_frames += 1;
        due && self.years.len() < MAX_AGE_FRAMES
    }

    /// Keeps one frame's estimate (not-finite values are ignored).
    pub fn push(&mut self, years: f32) {
        if years.is_finite() && self.years.len() < MAX_AGE_FRAMES {
            self.years.push(years);
        }
    }

    pub fn len(&self) -> usize {
        self.years.len()
    }

    pub fn is_empty(&self) -> bool {
        self.years.is_empty()
    }

    /// The median of the estimates and their spread; None without any.
    pub fn estimate(&self) -> Option<SessionAge> {
        let years = median(&self.years)?;
        let deviations: Vec<f32> = self.years.iter().map(|y| (y - years).abs()).collect();
        // 1.4826 x the median absolute deviation estimates a standard deviation without
        // letting a few odd frames widen it.
        let spread_years = 1.4826 * median(&deviations)?;
        Some(SessionAge { years, spread_years, frames: self.years.len() })
    }
}

/// The median of the finite values; None without any.
pub fn median(values: &[f32]) -> Option<f32> {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f32::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 })
}

/// A session's age: the median of its frames' estimates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionAge {
    pub years: f32,
    /// Robust standard deviation of the frames' estimates about the median, years.
    pub spread_years: f32,
    /// Frames the estimate rests on.
    pub frames: usize,
}

impl SessionAge {
    /// Standard deviation of the person's true age about `years`: the model's error on one
    /// session, widened when the session's own frames disagree more than usual (their
    /// median's uncertainty).
    pub fn uncertainty_years(&self, model_error_years: f32) -> f32 {
        let sampling = self.spread_years / (self.frames.max(1) as f32).sqrt();
        model_error_years.hypot(sampling).max(0.5)
    }
}

/// The three outcomes of the age check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeDecision {
    /// Old enough beyond the buffer.
    Passed,
    /// Likely under `min_age`.
    Below,
    /// Neither: the relying party should check a document.
    Uncertain,
}

impl AgeDecision {
    pub fn name(self) -> &'static str {
        match self {
            AgeDecision::Passed => "passed",
            AgeDecision::Below => "below",
            AgeDecision::Uncertain => "uncertain",
        }
    }

    /// Whether a verdict's error codes leave the liveness check passed: none, or only the age
    /// check's (14, 15).
    pub fn liveness_passed(codes: &[u32]) -> bool {
        let age = [Finding::AgeBelowThreshold, Finding::AgeUncertain].map(|c| u32::from(c.code()));
        codes.iter().all(|c| age.contains(c))
    }

    /// The decision a verdict's error codes show (14 below, 15 uncertain, else passed),
    /// for a session that ran the age check.
    pub fn of_codes(codes: &[u32]) -> AgeDecision {
        let has = |code: Finding| codes.contains(&u32::from(code.code()));
        if has(Finding::AgeBelowThreshold) {
            AgeDecision::Below
        } else if has(Finding::AgeUncertain) {
            AgeDecision::Uncertain
        } else {
            AgeDecision::Passed
        }
    }

    /// The session error it gives.
    pub fn error(self) -> Option<Finding> {
        match self {
            AgeDecision::Passed => None,
            AgeDecision::Below => Some(Finding::AgeBelowThreshold),
            AgeDecision::Uncertain => Some(Finding::AgeUncertain),
        }
    }
}

/// What the age check asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgePolicy {
    pub min_age: u32,
    pub buffer_years: u32,
    pub min_confidence: f32,
    /// The model's error on a session's estimate (a standard deviation, years).
    pub model_error_years: f32,
    pub min_frames: usize,
}

impl Default for AgePolicy {
    fn default() -> Self {
        AgePolicy {
            min_age: MIN_AGE_YEARS,
            buffer_years: AGE_BUFFER_YEARS,
            min_confidence: MIN_AGE_CONFIDENCE,
            model_error_years: DEFAULT_MODEL_ERROR_YEARS,
            min_frames: MIN_AGE_FRAMES,
        }
    }
}

/// The age check of a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeCheck {
    /// None when no frame was good enough.
    pub estimate: Option<SessionAge>,
    pub policy: AgePolicy,
    /// Probability that the person is at least `min_age` (0 without an estimate).
    pub confidence: f32,
    pub decision: AgeDecision,
}

impl AgePolicy {
    pub fn decide(&self, estimate: Option<SessionAge>) -> AgeCheck {
        let Some(age) = estimate else {
            return AgeCheck { estimate, policy: *self, confidence: 0.0, decision: AgeDecision::Uncertain };
        };
        let sigma = age.uncertainty_years(self.model_error_years);
        let confidence = normal_cdf((age.years - self.min_age as f32) / sigma);
        let decision = if age.frames < self.min_frames {
            AgeDecision::Uncertain
        } else if confidence >= self.min_confidence && age.years >= (self.min_age + self.buffer_years) as f32 {
            AgeDecision::Passed
        } else if 1.0 - confidence >= self.min_confidence {
            AgeDecision::Below
        } else {
            AgeDecision::Uncertain
        };
        AgeCheck { estimate, policy: *self, confidence, decision }
    }
}

impl AgeCheck {
    pub fn passed(&self) -> bool {
        self.decision == AgeDecision::Passed
    }

    pub fn error(&self) -> Option<Finding> {
        self.decision.error()
    }
}

/// The standard normal distribution function (Abramowitz and Stegun 7.1.26 for erf, error
/// under 1.5e-7).
fn normal_cdf(z: f32) -> f32 {
    let x = f64::from(z) / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    let erf = if x >= 0.0 { erf } else { -erf };
    (0.5 * (1.0 + erf)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{HeadPose, Keypoints, QualityResult, Rect};

    fn samples(years: &[f32]) -> AgeSamples {
        let mut s = AgeSamples::default();
        for y in years {
            s.push(*y);
        }
        s
    }

    fn policy() -> AgePolicy {
        AgePolicy { model_error_years: 6.0, ..AgePolicy::default() }
    }

    #[test]
    fn the_session_estimate_is_the_median_and_one_bad_frame_does_not_move_the_decision() {
        let steady = [31.0, 29.5, 30.5, 32.0, 28.0, 30.0, 31.5, 29.0, 30.0, 30.5, 29.5];
        let before = samples(&steady).estimate().unwrap();
        assert_eq!(before.years, 30.0);
        assert_eq!(before.frames, 11);
        let mut odd = steady.to_vec();
        odd[3] = 9.0; // one frame read as a child's face
        let after = samples(&odd).estimate().unwrap();
        assert!((after.years - before.years).abs() <= 0.5, "{after:?}");
        assert!(after.spread_years < 2.0, "a single odd frame barely widens the spread: {after:?}");
        assert_eq!(policy().decide(Some(before)).decision, AgeDecision::Passed);
        assert_eq!(policy().decide(Some(after)).decision, AgeDecision::Passed);
        // Not-finite values are never kept.
        let mut s = samples(&[30.0]);
        s.push(f32::NAN);
        assert_eq!(s.len(), 1);
        assert!(AgeSamples::default().estimate().is_none());
    }

    #[test]
    fn the_buffer_separates_passed_uncertain_and_below() {
        let at = |years: f32| policy().decide(Some(SessionAge { years, spread_years: 2.0, frames: 20 }));
        // min_age 18 + buffer 7: 25 passes outright.
        assert_eq!(at(25.0).decision, AgeDecision::Passed);
        assert_eq!(at(40.0).decision, AgeDecision::Passed);
        // Adult by the estimate, but inside the buffer: a document check.
        assert_eq!(at(24.5).decision, AgeDecision::Uncertain);
        assert_eq!(at(19.0).decision, AgeDecision::Uncertain);
        assert_eq!(at(17.0).decision, AgeDecision::Uncertain, "just under 18 is not sure enough to refuse");
        // Sure enough that the person is under 18 (P >= 0.70 of being younger).
        assert_eq!(at(12.0).decision, AgeDecision::Below);
        assert_eq!(at(12.0).error(), Some(Finding::AgeBelowThreshold));
        assert_eq!(at(20.0).error(), Some(Finding::AgeUncertain));
        assert_eq!(at(30.0).error(), None);
        // The confidence is P(age >= 18) under the model's error: 0.5 at the limit itself.
        assert!((at(18.0).confidence - 0.5).abs() < 1e-3);
        assert!(at(30.0).confidence > 0.97 && at(12.0).confidence < 0.2);
        // A buffer of 0 passes at the limit when the model is sure enough.
        let no_buffer = AgePolicy { buffer_years: 0, ..policy() };
        assert_eq!(
            no_buffer.decide(Some(SessionAge { years: 22.0, spread_years: 2.0, frames: 20 })).decision,
            AgeDecision::Passed
        );
    }

    #[test]
    fn few_frames_or_frames_that_disagree_make_the_age_uncertain() {
        let few = SessionAge { years: 35.0, spread_years: 2.0, frames: MIN_AGE_FRAMES - 1 };
        assert_eq!(policy().decide(Some(few)).decision, AgeDecision::Uncertain);
        let none = policy().decide(None);
        assert_eq!((none.decision, none.confidence), (AgeDecision::Uncertain, 0.0));
        // Frames that disagree widely widen the uncertainty: the same median is less sure.
        let calm = SessionAge { years: 22.0, spread_years: 1.0, frames: 10 };
        let wild = SessionAge { years: 22.0, spread_years: 40.0, frames: 10 };
        assert!(policy().decide(Some(wild)).confidence < policy().decide(Some(calm)).confidence);
        // Higher minimum confidence: a 26-year estimate no longer passes at 0.99.
        let strict = AgePolicy { min_confidence: 0.99, ..policy() };
        assert_eq!(
            strict.decide(Some(SessionAge { years: 26.0, spread_years: 1.0, frames: 20 })).decision,
            AgeDecision::Uncertain
        );
    }

    #[test]
    fn every_nth_good_frame_is_estimated_up_to_the_cap() {
        let mut s = AgeSamples::default();
        let wanted: Vec<bool> = (0..6).map(|_| s.wants(3)).collect();
        assert_eq!(wanted, [true, false, false, true, false, false]);
        let mut s = AgeSamples::default();
        for _ in 0..MAX_AGE_FRAMES {
            assert!(s.wants(1));
            s.push(30.0);
        }
        assert!(!s.wants(1), "no estimate beyond the cap");
        s.push(30.0);
        assert_eq!(s.len(), MAX_AGE_FRAMES);
    }

    #[test]
    fn only_whole_sharp_well_lit_near_frontal_large_faces_count() {
        let mut face = Face::new(1, Rect { x: 100.0, y: 80.0, width: 150.0, height: 150.0 }, 0.9, Keypoints::default());
        assert!(is_age_frame(&face, &[]));
        assert!(is_age_frame(&face, &[Finding::SpoofSuspected]), "attack findings do not spoil the age");
        for spoiling in [Finding::Dark, Finding::Overexposed, Finding::SeveralFaces, Finding::FaceNearBorder] {
            assert!(!is_age_frame(&face, &[spoiling]), "{spoiling:?}");
        }
        // Sharpness: the `blurred` flag alone does not spoil a frame, a face with no detail does.
        let quality = |blur: f32| {
            Some(QualityResult {
                blur,
                is_blurred: blur < 0.61,
                light: 0.9,
                is_highlighted: false,
                darkness: 0.9,
                is_dark: false,
                illumination: 0.9,
                is_illuminated: false,
                specularity: 0.9,
                is_specular: false,
            })
        };
        face.quality = quality(0.3);
        assert!(is_age_frame(&face, &[Finding::Blurred]));
        face.quality = quality(0.05);
        assert!(!is_age_frame(&face, &[Finding::Blurred]), "too blurred for an age");
        face.quality = None;
        face.head_pose = Some(HeadPose { yaw_degrees: 35.0, pitch_degrees: 0.0, roll_degrees: 0.0 });
        assert!(!is_age_frame(&face, &[]), "turned away");
        face.head_pose = Some(HeadPose { yaw_degrees: 0.0, pitch_degrees: -32.0, roll_degrees: 0.0 });
        assert!(!is_age_frame(&face, &[]), "looking down");
        face.head_pose = Some(HeadPose { yaw_degrees: 10.0, pitch_degrees: 24.0, roll_degrees: 30.0 });
        assert!(is_age_frame(&face, &[]));
        face.bbox.width = 60.0;
        assert!(!is_age_frame(&face, &[]), "too small");
    }

    #[test]
    fn a_verdicts_codes_show_its_age_decision() {
        assert_eq!(AgeDecision::of_codes(&[]), AgeDecision::Passed);
        assert_eq!(AgeDecision::of_codes(&[11, 12]), AgeDecision::Passed);
        assert_eq!(AgeDecision::of_codes(&[15]), AgeDecision::Uncertain);
        assert_eq!(AgeDecision::of_codes(&[10, 14]), AgeDecision::Below);
        assert!(AgeDecision::liveness_passed(&[]) && AgeDecision::liveness_passed(&[14, 15]));
        assert!(!AgeDecision::liveness_passed(&[10, 14]) && !AgeDecision::liveness_passed(&[12]));
        for decision in [AgeDecision::Passed, AgeDecision::Below, AgeDecision::Uncertain] {
            let codes: Vec<u32> = decision.error().map(|e| u32::from(e.code())).into_iter().collect();
            assert_eq!(AgeDecision::of_codes(&codes), decision);
            assert_eq!(serde_json::to_value(decision).unwrap(), decision.name());
        }
    }

    #[test]
    fn the_normal_distribution_function_is_accurate() {
        for (z, p) in [(0.0, 0.5), (1.0, 0.841_344_7), (-1.0, 0.158_655_3), (1.96, 0.975_002_1), (-3.0, 0.001_349_9)] {
            assert!((normal_cdf(z) - p).abs() < 1e-5, "{z}: {}", normal_cdf(z));
        }
    }
}
