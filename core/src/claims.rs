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

impl Claims {
    /// Keeps the decisions only and returns the measurements taken out: the raw scores
    /// (`ags`, `quality`, `liveness`, `surfaceScore`), the stream figures of the challenges
    /// (`duplicateShare`, `sensorNoise`, `timingJitterMs`, `jpegTables`), the flash
    /// correlations and the age estimate (`years`, `spreadYears`). A token that reaches a
    /// browser then tells an attacker nothing to tune against; the decisions (`isOk`,
    /// `errors`, each challenge's outcome, the age decision) and the best shot stay.
    pub fn keep_decisions(&mut self) -> serde_json::Value {
        let details = &mut self.details;
        let challenges = self.challenges.as_mut();
        let figures = serde_json::json!({
            "ags": details.ags.take(),
            "quality": details.quality.take(),
            "livenessScore": details.liveness.score.take(),
            "livenessQualityScore": details.liveness.quality_score.take(),
            "surfaceScore": self.surface_score.take(),
            "duplicateShare": challenges.as_ref().and_then(|c| c.duplicate_share),
            "sensorNoise": challenges.as_ref().and_then(|c| c.sensor_noise),
            "timingJitterMs": challenges.as_ref().and_then(|c| c.timing_jitter_ms),
            "jpegTables": challenges.as_ref().and_then(|c| c.jpeg_tables),
            "flashCorrelations": challenges.as_ref().map(|c| c.results.iter().filter_map(|r| r.correlation).collect::<Vec<_>>()),
            "ageYears": self.age.as_ref().and_then(|a| a.years),
            "ageSpreadYears": self.age.as_ref().and_then(|a| a.spread_years),
        });
        if let Some(challenges) = challenges {
            challenges.duplicate_share = None;
            challenges.sensor_noise = None;
            challenges.timing_jitter_ms = None;
            challenges.jpeg_tables = None;
            for result in &mut challenges.results {
                result.correlation = None;
            }
        }
        if let Some(age) = self.age.as_mut() {
            age.years = None;
            age.spread_years = None;
        }
        figures
    }
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

    #[test]
    fn keeping_decisions_takes_every_measurement_out_and_hands_it_over() {
        use crate::verdict::{ChallengeOutcome, Verdict};
        let flash = ChallengeOutcome {
            challenge: "flash".into(),
            passed: true,
            attempts: 1,
            penalty: false,
            reason: None,
            correlation: Some(0.9),
        };
        let mut claims = Claims {
            details: Details {
                ags: Some(0.97),
                quality: None,
                face_frame_position: None,
                head_pose: Some(HeadPose { yaw: 1.0, roll: 0.0, pitch: 2.0 }),
                mouth: None,
                eyeglasses: EYEGLASSES_NOT_ESTIMATED,
                liveness: Liveness { score: Some(0.81), quality_score: Some(0.7) },
            },
            errors: vec![],
            is_ok: true,
            bestshot: Some("jpeg".into()),
            iat: 1,
            exp: 2,
            jti: "j".into(),
            sub: "s".into(),
            iss: None,
            aud: Some("shop".into()),
            challenges: Some(Verdict {
                passed: true,
                results: vec![flash],
                duplicate_share: Some(0.01),
                sensor_noise: Some(1.4),
                timing_jitter_ms: Some(3.0),
                jpeg_tables: Some(1),
                ..Default::default()
            }),
            surface_score: Some(0.66),
            age: Some(AgeClaim {
                decision: crate::age::AgeDecision::Passed,
                years: Some(34.0),
                spread_years: Some(2.0),
                frames: 12,
                confidence: 0.99,
                min_age: 18,
                buffer_years: 7,
                min_confidence: 0.9,
                passed: true,
            }),
        };
        let figures = claims.keep_decisions();
        let token = serde_json::to_value(&claims).unwrap();
        for path in [
            "/details/ags",
            "/details/liveness/score",
            "/details/liveness/qualityScore",
            "/surfaceScore",
            "/age/years",
            "/age/spreadYears",
            "/challenges/results/0/correlation",
        ] {
            assert!(token.pointer(path).is_none_or(|v| v.is_null()), "{path}: {token}");
        }
        for stream in ["duplicateShare", "sensorNoise", "timingJitterMs", "jpegTables"] {
            assert!(token["challenges"].get(stream).is_none(), "{stream}: {token}");
        }
        // The decisions and the best shot stay.
        assert_eq!((token["isOk"].as_bool(), token["age"]["decision"].as_str()), (Some(true), Some("passed")));
        assert_eq!(token["challenges"]["results"][0]["passed"], true);
        assert_eq!(token["bestshot"], "jpeg");
        // What was taken out is handed over.
        assert_eq!(figures["livenessScore"].as_f64().map(|v| (v * 100.0).round()), Some(81.0));
        assert_eq!(figures["sensorNoise"].as_f64().map(|v| (v * 10.0).round()), Some(14.0));
        assert_eq!(figures["flashCorrelations"][0].as_f64().map(|v| (v * 10.0).round()), Some(9.0));
        assert_eq!(figures["ageYears"], 34.0);
    }
}
