//! The verdict token's claims: seed 000's JWT payload (`details`, `errors`, `isOk`, `bestshot`,
//! `iat`, `jti`) with `exp`, `sub`, the challenge results, `surfaceScore` and `age`. lvjwtsink
//! fills and signs them; a relying party reads them back.

use serde::Serialize;

/// A random (version 4) UUID in its usual text form, from the operating system's randomness.
pub fn random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The token payload. Fields that a pipeline cannot measure are `null` (see the README's
/// token table); `bestshot`, `iss` and `age` are left out when switched off.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub details: Details,
    pub errors: Vec<u16>,
    pub is_ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bestshot: Option<String>,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// lvchallenge's verdict, when it ran.
    pub challenges: Option<crate::verdict::Verdict>,
    pub surface_score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<AgeClaim>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    pub ags: Option<f32>,
    /// lvsurfaceanalysis' quality, serialised with seed 000's names.
    pub quality: Option<crate::face::QualityResult>,
    pub face_frame_position: Option<FaceFramePosition>,
    pub head_pose: Option<HeadPose>,
    pub mouth: Option<Mouth>,
    pub eyeglasses: &'static str,
    pub liveness: Liveness,
}

/// `eyeglasses`: no glasses model runs, so this is always the same documented value.
pub const EYEGLASSES_NOT_ESTIMATED: &str = "GlassesEstimation.NotEstimated";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RectClaim {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceFramePosition {
    pub face_rect: RectClaim,
    pub frame_rect: RectClaim,
    /// Top, right, bottom, left distances from the face box to the frame border.
    pub margins: [i32; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPose {
    pub yaw: f32,
    pub roll: f32,
    pub pitch: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mouth {
    pub opened: f32,
    pub smile: f32,
    /// No occlusion model runs: always null.
    pub occluded: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Liveness {
    pub score: Option<f32>,
    pub quality_score: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgeClaim {
    /// `passed`, `below` (likely under `minAge`) or `uncertain` (check a document).
    pub decision: crate::age::AgeDecision,
    /// Median of the good frames' estimates, years; null when no frame was good enough.
    pub years: Option<f32>,
    /// Robust standard deviation of the frames' estimates, years.
    pub spread_years: Option<f32>,
    /// Good frames the estimate rests on.
    pub frames: usize,
    /// Probability that the person is at least `minAge`.
    pub confidence: f32,
    pub min_age: u32,
    /// Years above `minAge` an estimate must reach to pass.
    pub buffer_years: u32,
    pub min_confidence: f32,
    /// `decision` is `passed`.
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (random_uuid(), random_uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
