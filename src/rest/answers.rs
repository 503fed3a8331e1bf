//! The answers of the REST endpoints, in seed 001's shapes (snake_case): what each analysis
//! returns, and the OpenAPI schema of each.

use super::*;

/// A face's box in image pixels, rounded.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BoundingBox {
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) width: i32,
    pub(crate) height: i32,
}

/// A detected face of `/detect`: its box in image pixels and the detector's score.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DetectedFace {
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) width: i32,
    pub(crate) height: i32,
    /// The detector's score, 0 to 1.
    pub(crate) confidence: f64,
}

/// The faces lvfacedetect found.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DetectBody {
    pub(crate) face_count: usize,
    pub(crate) faces: Vec<DetectedFace>,
}

/// lvsurfaceanalysis' findings on the main face (seed 002's surface checks).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SurfaceBody {
    /// The surface checks found a real face.
    pub(crate) is_real: bool,
    /// Their confidence, 0 to 1.
    pub(crate) confidence: f64,
    pub(crate) moire_detected: bool,
    /// `natural`, `uncertain` or `artificial`.
    #[schema(value_type = String)]
    pub(crate) reflectance: &'static str,
    /// Local binary pattern variety of the skin, 0 to 1.
    pub(crate) skin_complexity: f64,
    /// High-frequency share of the face's Sobel energy, 0 to 1.
    pub(crate) frequency_score: f64,
}

/// The image quality of a face (seed 000's `details.quality`): each figure 0 to 1, and
/// whether it crosses lvsurfaceanalysis' threshold.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // describes liveness_core::face::QualityResult, which the answer serialises
pub(crate) struct Quality {
    pub(crate) blur: f32,
    pub(crate) is_blurred: bool,
    pub(crate) light: f32,
    pub(crate) is_highlighted: bool,
    pub(crate) darkness: f32,
    pub(crate) is_dark: bool,
    pub(crate) illumination: f32,
    pub(crate) is_illuminated: bool,
    pub(crate) specularity: f32,
    pub(crate) is_specular: bool,
}

/// `/liveness`: the passive checks of one selfie.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LivenessBody {
    /// One face, its anti-spoofing score at or above the threshold and its surface real.
    pub(crate) is_real: bool,
    /// lvantispoof's fused score, 0 (attack) to 1 (live); null without a face.
    pub(crate) antispoof_score: Option<f64>,
    pub(crate) antispoof_threshold: f64,
    pub(crate) face_count: usize,
    /// The main face's box.
    pub(crate) bounding_box: Option<BoundingBox>,
    pub(crate) surface: Option<SurfaceBody>,
    #[schema(value_type = Option<Quality>)]
    pub(crate) quality: Option<QualityResult>,
    /// Codes of the error table found in the image (no face, several faces, too small ...).
    pub(crate) errors: Vec<u16>,
}

/// `/antispoof`: the anti-spoofing models' score of the main face.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AntispoofBody {
    pub(crate) is_real: bool,
    /// lvantispoof's fused score, 0 (attack) to 1 (live); null without a face.
    pub(crate) antispoof_score: Option<f64>,
    pub(crate) threshold: f64,
    pub(crate) face_count: usize,
    /// The main face's box.
    pub(crate) bounding_box: Option<BoundingBox>,
}

/// `/face-match`: whether the ID photo and the selfie show one person.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FaceMatchBody {
    pub(crate) matched: bool,
    /// Cosine similarity of the two faces' embeddings, floored at 0.
    pub(crate) confidence: f64,
    pub(crate) threshold: f64,
    pub(crate) id_face_extracted: bool,
    pub(crate) selfie_face_extracted: bool,
}

/// `/verify`: liveness of the selfie and its match with the ID photo.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifyBody {
    /// Live and matched.
    pub(crate) verified: bool,
    pub(crate) is_live: bool,
    pub(crate) antispoof_score: Option<f64>,
    pub(crate) faces_match: bool,
    pub(crate) face_match_confidence: f64,
    pub(crate) id_face_extracted: bool,
    /// Codes of the error table found in the selfie.
    pub(crate) errors: Vec<u16>,
}

/// `/smile-check`: the emotion model's smile on the main face.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SmileBody {
    pub(crate) is_smiling: bool,
    /// Probability of a happy expression, 0 to 1; null without a face.
    pub(crate) smile_score: Option<f64>,
    pub(crate) threshold: f64,
    pub(crate) face_count: usize,
    /// The main face's box.
    pub(crate) bounding_box: Option<BoundingBox>,
}

/// `/blink-check`: the eyes frame by frame and the blinks (open, closed, open) among them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BlinkBody {
    pub(crate) blink_detected: bool,
    pub(crate) blink_count: u32,
    /// Per frame: eyes closed, or null without a face.
    pub(crate) eyes_closed: Vec<Option<bool>>,
    /// Per frame: the mean eye aspect ratio, or null without a face.
    pub(crate) ear_values: Vec<Option<f64>>,
    pub(crate) frames_analyzed: usize,
}

/// `/passive-monitor`: lvjwtsink's passive rule over a series of frames.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PassiveBody {
    pub(crate) is_live: bool,
    pub(crate) frames_analyzed: usize,
    /// Frames with one usable face.
    pub(crate) face_frames: usize,
    /// The anti-spoofing score aggregated over the frames.
    pub(crate) antispoof_score: Option<f64>,
    pub(crate) antispoof_frames: Option<u32>,
    /// The surface checks' running score.
    pub(crate) surface_score: Option<f64>,
    /// Spread of the head's yaw and pitch over the frames, in degrees.
    pub(crate) yaw_range: Option<f64>,
    pub(crate) pitch_range: Option<f64>,
    /// Codes of the error table found in any frame, ascending.
    pub(crate) errors: Vec<u16>,
}

/// What the face shows, for the challenge check.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Measures {
    /// Head yaw and pitch in degrees, the person's view.
    pub(crate) yaw: Option<f64>,
    pub(crate) pitch: Option<f64>,
    /// Probability of a happy expression, in percent.
    pub(crate) smile: Option<f64>,
    /// Inner lip gap over mouth width.
    pub(crate) mouth_opened: Option<f64>,
    pub(crate) eye_aspect_ratio: Option<f64>,
    /// The face's width in pixels.
    pub(crate) face_width: f64,
}

impl Measures {
    pub(crate) fn of(face: &Face) -> Self {
        Measures {
            yaw: face.head_pose.map(|p| round(p.yaw_degrees, 2)),
            pitch: face.head_pose.map(|p| round(p.pitch_degrees, 2)),
            smile: face.mouth.map(|m| round(m.smile * 100.0, 2)),
            mouth_opened: face.mouth.map(|m| round(m.opened, 4)),
            eye_aspect_ratio: face.eyes.map(|e| round(e.mean_aspect_ratio(), 4)),
            face_width: round(face.bbox.width, 1),
        }
    }
}

/// `/challenge/validate`: lvchallenge's judgement of the challenge image against the
/// baseline image.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChallengeBody {
    pub(crate) passed: bool,
    #[schema(value_type = String)]
    pub(crate) challenge_type: &'static str,
    /// The baseline image gave lvchallenge its neutral baseline.
    pub(crate) baseline_calibrated: bool,
    pub(crate) baseline: Option<Measures>,
    pub(crate) challenge: Option<Measures>,
    /// Rise of the smile probability from baseline to challenge image, in percent.
    pub(crate) emotion_change: Option<f64>,
    pub(crate) min_emotion_change: f64,
}
