//! One liveness session as lvjwtsink sees it: the frames' findings, the best shot so far and
//! the challenge verdict, turned into the errors and the claims of the verdict token.

use super::bestshot::{BestShot, ShotScore};
use liveness_core::age::{AgeCheck, AgeSamples};
use liveness_core::checks::{FrameCheck, margins};
use liveness_core::claims::{self as token, Claims, Details, FaceFramePosition, Liveness, RectClaim};
use liveness_core::errors::Finding;
use liveness_core::face::Face;
use liveness_core::verdict::Verdict;

/// What a token needs besides the session: identity and time.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenContext {
    pub session_id: String,
    pub issuer: Option<String>,
    /// `aud`: whom the token is for.
    pub audience: Option<String>,
    pub now_s: u64,
    pub expiry_s: u64,
    /// The best shot as base64 JPEG, when the token carries it.
    pub bestshot: Option<String>,
}

#[derive(Debug, Default)]
pub struct SinkSession {
    pub best: Option<BestShot>,
    pub frames: u64,
    pub frames_with_face: u64,
    /// The main face of the last frame that had one, for the passive findings.
    last_main: Option<Face>,
    pub challenge: Option<Verdict>,
    /// The age estimates of the session's good frames.
    pub age: AgeSamples,
}

/// Frames with these findings do not give a best shot: the face is not alone, or not whole.
const NOT_A_CANDIDATE: [Finding; 3] = [Finding::NoFace, Finding::SeveralFaces, Finding::FaceNearBorder];

impl SinkSession {
    /// Counts a frame and remembers its main face.
    pub fn observe(&mut self, faces: &[Face], check: &FrameCheck) {
        self.frames += 1;
        if let Some(index) = check.main_face {
            self.frames_with_face += 1;
            self.last_main = faces.get(index).cloned();
        }
    }

    /// The score of the frame's main face when it beats the kept best shot.
    pub fn better_shot(&self, faces: &[Face], check: &FrameCheck) -> Option<ShotScore> {
        if check.errors.iter().any(|e| NOT_A_CANDIDATE.contains(e)) {
            return None;
        }
        let score = ShotScore::of(faces.get(check.main_face?)?);
        let kept = self.best.as_ref().map(|b| b.score.total()).unwrap_or(-1.0);
        (score.total() > kept).then_some(score)
    }

    /// The session's errors, sorted: lvchallenge's failures when it ran, else the passive
    /// findings on the last face; no best shot is `no-face`; then the age check's
    /// `age-below-threshold` or `age-uncertain`.
    pub fn errors(&self, age: Option<&AgeCheck>) -> Vec<Finding> {
        let mut errors: Vec<Finding> = match &self.challenge {
            Some(verdict) => verdict.error_codes(),
            None => {
                let mut passive = Vec::new();
                if let Some(face) = &self.last_main {
                    if face.antispoof.is_some_and(|a| !a.is_real) {
                        passive.push(Finding::SpoofSuspected);
                    }
                    if face.surface.is_some_and(|s| !s.session_ok) {
                        passive.push(Finding::SurfaceSuspected);
                    }
                }
                passive
            }
        };
        // Without a best shot: `no-face` when no frame had a face, or when nothing else
        // explains the missing shot (frames with faces but never a whole, single one). A
        // session ended by two faces or by no calibration says so and not `no-face`.
        if self.best.is_none() && (self.frames_with_face == 0 || errors.is_empty()) {
            errors.push(Finding::NoFace);
        }
        errors.extend(age.and_then(AgeCheck::error));
        errors.sort();
        errors.dedup();
        errors
    }

    /// The token's payload.
    pub fn claims(&self, errors: &[Finding], age: Option<&AgeCheck>, context: TokenContext) -> Claims {
        let best = self.best.as_ref();
        let face = best.map(|b| &b.face);
        let position = best.map(|b| {
            let rect = b.face.bbox.clamp_to(b.frame_width as f32, b.frame_height as f32);
            FaceFramePosition {
                face_rect: RectClaim {
                    x: rect.x.round() as i32,
                    y: rect.y.round() as i32,
                    width: rect.width.round() as i32,
                    height: rect.height.round() as i32,
                },
                frame_rect: RectClaim { x: 0, y: 0, width: b.frame_width as i32, height: b.frame_height as i32 },
                margins: margins(&b.face, b.frame_width, b.frame_height).map(|m| m.round() as i32),
            }
        });
        let antispoof_score = self
            .challenge
            .as_ref()
            .and_then(|c| c.antispoof_score)
            .or_else(|| face.and_then(|f| f.antispoof).map(|a| a.aggregated_score));
        let surface_score = match &self.challenge {
            Some(c) => c.surface_score,
            None => self.last_main.as_ref().and_then(|f| f.surface).map(|s| s.session_score),
        };
        Claims {
            details: Details {
                ags: face.map(|f| f.score),
                quality: face.and_then(|f| f.quality),
                face_frame_position: position,
                head_pose: face.and_then(|f| f.head_pose).map(|p| token::HeadPose {
                    yaw: p.yaw_degrees,
                    roll: p.roll_degrees,
                    pitch: p.pitch_degrees,
                }),
                mouth: face.and_then(|f| f.mouth).map(|m| token::Mouth {
                    opened: m.opened.clamp(0.0, 1.0),
                    smile: m.smile,
                    occluded: None,
                }),
                eyeglasses: token::EYEGLASSES_NOT_ESTIMATED,
                liveness: Liveness { score: antispoof_score, quality_score: best.map(|b| b.score.total()) },
            },
            errors: errors.iter().map(|e| e.code()).collect(),
            is_ok: errors.is_empty() && self.challenge.as_ref().is_none_or(|c| c.passed),
            bestshot: context.bestshot,
            iat: context.now_s,
            exp: context.now_s + context.expiry_s,
            jti: token::random_uuid(),
            sub: context.session_id,
            iss: context.issuer,
            aud: context.audience,
            challenges: self.challenge.clone(),
            surface_score,
            age: age.map(|a| token::AgeClaim {
                decision: a.decision,
                years: a.estimate.map(|e| e.years),
                spread_years: a.estimate.map(|e| e.spread_years),
                frames: a.estimate.map_or(0, |e| e.frames),
                confidence: a.confidence,
                min_age: a.policy.min_age,
                buffer_years: a.policy.buffer_years,
                min_confidence: a.policy.min_confidence,
                passed: a.passed(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liveness_core::face::{Antispoof, Keypoints, Rect};

    fn face(side: f32) -> Face {
        Face::new(1, Rect { x: 100.0, y: 80.0, width: side, height: side }, 0.9, Keypoints::default())
    }

    fn shot(face: &Face) -> BestShot {
        BestShot {
            rgb: vec![0; 3 * 32 * 32],
            crop_size: 32,
            face: face.clone(),
            frame_width: 640,
            frame_height: 480,
            score: ShotScore::of(face),
            pts_ns: None,
        }
    }

    fn context() -> TokenContext {
        TokenContext {
            session_id: "s1".into(),
            issuer: None,
            audience: None,
            now_s: 1000,
            expiry_s: 300,
            bestshot: None,
        }
    }

    #[test]
    fn only_better_whole_single_faces_replace_the_best_shot() {
        let mut session = SinkSession::default();
        let faces = [face(120.0)];
        let ok = FrameCheck { main_face: Some(0), errors: vec![] };
        let first = session.better_shot(&faces, &ok).expect("the first face is the best so far");
        session.best = Some(BestShot { score: first, ..shot(&faces[0]) });
        assert!(session.better_shot(&faces, &ok).is_none(), "an equal face does not replace it");
        assert!(session.better_shot(&[face(150.0)], &ok).is_some());
        let cut = FrameCheck { main_face: Some(0), errors: vec![Finding::FaceNearBorder] };
        assert!(session.better_shot(&[face(150.0)], &cut).is_none());
        let small = FrameCheck { main_face: Some(0), errors: vec![Finding::FaceTooSmall] };
        assert!(session.better_shot(&[face(150.0)], &small).is_some(), "small faces are candidates, scored low");
    }

    #[test]
    fn passive_errors_and_claims() {
        let mut session = SinkSession::default();
        assert_eq!(session.errors(None), vec![Finding::NoFace]);
        let mut spoof = face(200.0);
        spoof.antispoof =
            Some(Antispoof { score: 0.2, aggregated_score: 0.3, frames: 5, is_real: false, ..Antispoof::default() });
        session.observe(std::slice::from_ref(&spoof), &FrameCheck { main_face: Some(0), errors: vec![] });
        session.best = Some(shot(&spoof));
        let errors = session.errors(None);
        assert_eq!(errors, vec![Finding::SpoofSuspected]);
        let claims = session.claims(&errors, None, context());
        assert!(!claims.is_ok);
        assert_eq!(claims.errors, vec![10]);
        assert_eq!((claims.iat, claims.exp, claims.sub.as_str()), (1000, 1300, "s1"));
        assert_eq!(claims.details.liveness.score, Some(0.3));
        let position = claims.details.face_frame_position.unwrap();
        assert_eq!(position.margins, [80, 340, 200, 100]);
        assert_eq!(position.frame_rect, RectClaim { x: 0, y: 0, width: 640, height: 480 });
        assert!(claims.challenges.is_none() && claims.age.is_none() && claims.details.head_pose.is_none());
    }

    #[test]
    fn two_faces_without_a_best_shot_are_not_reported_as_no_face() {
        let mut session = SinkSession::default();
        let faces = [Face::default(), Face::default()];
        let check = FrameCheck { main_face: Some(0), errors: vec![Finding::SeveralFaces] };
        session.observe(&faces, &check);
        session.challenge = Some(Verdict {
            passed: false,
            liveness_score: 0.0,
            passed_challenges: 0,
            total_challenges: 1,
            sequence: vec!["turn_left".into()],
            results: Vec::new(),
            failures: vec!["several-faces".into()],
            surface_score: None,
            antispoof_score: None,
            ..Verdict::default()
        });
        assert_eq!(session.errors(None), vec![Finding::SeveralFaces]);
        // No face in any frame: no-face.
        let mut empty = SinkSession::default();
        empty.observe(&[], &FrameCheck::default());
        assert_eq!(empty.errors(None), vec![Finding::NoFace]);
    }

    #[test]
    fn a_failed_challenge_verdict_maps_its_failures_to_codes() {
        let session = SinkSession {
            best: Some(shot(&face(200.0))),
            challenge: Some(Verdict {
                passed: false,
                liveness_score: 0.5,
                passed_challenges: 1,
                total_challenges: 2,
                sequence: vec!["turn_left".into(), "look_up".into()],
                results: vec![],
                failures: vec!["liveness-score".into(), "timeout".into()],
                surface_score: Some(0.7),
                antispoof_score: Some(0.9),
                ..Verdict::default()
            }),
            ..SinkSession::default()
        };
        let errors = session.errors(None);
        assert_eq!(errors, vec![Finding::ChallengeTimeout, Finding::ChallengeFailed]);
        let claims = session.claims(&errors, None, context());
        assert!(!claims.is_ok);
        assert_eq!(claims.surface_score, Some(0.7));
        assert_eq!(claims.details.liveness.score, Some(0.9));
    }
}
