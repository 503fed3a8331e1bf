//! One liveness session: the challenge queue of seed 002 played against the faces of each
//! frame, in stream running time.
//!
//! A session first takes the person's neutral baseline (pose offsets, eye ratio, mouth,
//! smile), then asks the challenges one by one. A challenge passes when its movement is seen
//! (static poses held for `hold_frames` consecutive frames; gestures by seed 002's sequence
//! rules; blink as eyes closing then opening; open mouth, smile and move closer held for
//! `expression_frames`). It fails when its time runs out or the face is lost for too long;
//! the first failure of a challenge is retried once, a second one marks it failed and appends
//! one random penalty challenge (only one per session, "PENALTY STEP ADDED"). The verdict:
//! `liveness_score = passed / queue length` must reach `min_liveness_score` (0.90, so one
//! failure fails), the mean surface confidence over the challenge frames `min_surface_score`
//! (0.40), and the aggregated anti-spoofing score its element's threshold. Two frames with
//! more than one main face, or the total timeout, end the session as failed.

use std::collections::HashSet;

use super::challenge::{ChallengeRng, ChallengeType};
use super::pose::{
    Baseline, KEYPOINT_FRONTAL_LIMIT, MESH_FRONTAL_LIMIT, Offsets, Pose, PoseThresholds, classify, keypoint_offsets,
    mesh_offsets,
};
use crate::meta::Face;

/// Head pose (degrees of yaw and pitch) within which a face counts as frontal for the
/// baseline.
const MESH_FRONTAL_LIMIT_DEGREES: f32 = 12.0;

/// What decides the head pose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoseSource {
    /// Seed 002's rule on the detector's keypoints.
    Keypoints,
    /// lvlandmarks' head pose (yaw, pitch).
    Mesh,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    /// Consecutive frames a static pose must be held (seed 002: 15).
    pub hold_frames: u32,
    /// Frames an open mouth, a smile or a closer face must be held.
    pub expression_frames: u32,
    pub challenge_timeout_ns: u64,
    /// Seed 002: 90 s.
    pub total_timeout_ns: u64,
    pub face_lost_timeout_ns: u64,
    /// Retries of a failed challenge before it counts as failed (seed 002: 1).
    pub retries: u32,
    pub min_liveness_score: f32,
    pub min_surface_score: f32,
    pub require_surface: bool,
    pub require_antispoof: bool,
    pub baseline_frames: u32,
    pub pose_source: PoseSource,
    pub mirrored: bool,
    pub static_thresholds: PoseThresholds,
    pub gesture_thresholds: PoseThresholds,
    pub mesh_thresholds: PoseThresholds,
    /// Eyes count as closed below this share of the baseline eye aspect ratio. The face
    /// mesh under-reads closed eyes: fully closed lids drop its ratio by only 15-27 % (a
    /// mesh-warp closure 0.265 -> 0.226, a painted one 0.265 -> 0.193 on the astronaut), so
    /// the default is 0.90. Open eyes on the same renders read 0.256-0.266 for yaw up to 15
    /// degrees, but 0.200 looking up 25 degrees and 0.31-0.32 looking down or closer: only a
    /// closing and reopening during the blink challenge counts, and a blink is best asked
    /// with the head still.
    pub blink_ratio: f32,
    /// Mouth-opened ratio above the baseline that counts as an open mouth.
    pub mouth_open_gain: f32,
    /// Smile probability that counts as a smile, and its least rise over the baseline
    /// (seed 001 `minEmotionChange` 20 %).
    pub smile_threshold: f32,
    pub smile_gain: f32,
    /// Growth of the face box width that counts as moving closer.
    pub closer_factor: f32,
    /// Faces at least this share of the largest face's width are main faces.
    pub main_face_ratio: f32,
    /// Frames with several main faces that end the session (seed 000).
    pub several_faces_frames: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            hold_frames: 15,
            expression_frames: 5,
            challenge_timeout_ns: 10_000_000_000,
            total_timeout_ns: 90_000_000_000,
            face_lost_timeout_ns: 2_000_000_000,
            retries: 1,
            min_liveness_score: 0.90,
            min_surface_score: 0.40,
            require_surface: true,
            require_antispoof: true,
            baseline_frames: 5,
            pose_source: PoseSource::Keypoints,
            mirrored: false,
            static_thresholds: PoseThresholds::STATIC,
            gesture_thresholds: PoseThresholds::GESTURE,
            mesh_thresholds: PoseThresholds::MESH,
            blink_ratio: 0.90,
            mouth_open_gain: 0.12,
            smile_threshold: 0.7,
            smile_gain: 0.2,
            closer_factor: 1.25,
            main_face_ratio: crate::meta::MAIN_FACE_RATIO,
            several_faces_frames: 2,
        }
    }
}

/// Why an attempt at a challenge failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    Timeout,
    FaceLost,
}

impl FailReason {
    pub fn name(self) -> &'static str {
        match self {
            FailReason::Timeout => "timeout",
            FailReason::FaceLost => "face-lost",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChallengeResult {
    pub challenge: ChallengeType,
    pub passed: bool,
    pub attempts: u32,
    pub penalty: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub liveness_score: f32,
    pub passed_challenges: u32,
    pub total_challenges: u32,
    /// Mean surface confidence over the challenge frames; None when not measured.
    pub surface_score: Option<f32>,
    /// Last aggregated anti-spoofing score and its decision; None when not measured.
    pub antispoof_score: Option<f32>,
    pub antispoof_real: Option<bool>,
    pub results: Vec<ChallengeResult>,
    /// Codes of what failed: timeout, several-faces, incomplete (the stream ended first),
    /// liveness-score, surface-score, no-surface-analysis, antispoof, no-antispoof.
    pub failures: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Calibrated { baseline: Offsets },
    ChallengeStarted { challenge: ChallengeType, index: usize, total: usize },
    PoseDetected { challenge: ChallengeType, index: usize },
    Progress { challenge: ChallengeType, index: usize, progress: f32 },
    ChallengeCompleted { challenge: ChallengeType, index: usize },
    ChallengeFailed { challenge: ChallengeType, index: usize, reason: FailReason, retrying: bool },
    PenaltyAdded { challenge: ChallengeType, total: usize },
    Verdict(Verdict),
}

/// Where an attempt stands.
#[derive(Debug, Clone, Default)]
struct Attempt {
    hold: u32,
    detected: bool,
    history: Vec<Pose>,
    seen: HashSet<Pose>,
    eyes_were_closed: bool,
    start_width: Option<f32>,
}

/// The person's neutral values, taken with the pose baseline.
#[derive(Debug, Clone, Copy, Default)]
struct Neutral {
    offsets: Offsets,
    eye_ratio: Option<f32>,
    mouth_opened: Option<f32>,
    smile: Option<f32>,
}

pub struct Session {
    settings: SessionSettings,
    queue: Vec<ChallengeType>,
    pool: Vec<ChallengeType>,
    rng: ChallengeRng,
    index: usize,
    attempt_number: u32,
    attempt: Attempt,
    results: Vec<ChallengeResult>,
    /// Index of the penalty challenge in the queue, once added.
    penalty_index: Option<usize>,
    started_at: Option<u64>,
    challenge_started_at: Option<u64>,
    last_face_at: Option<u64>,
    baseline: Baseline,
    neutral: Option<Neutral>,
    several_faces_frames: u32,
    surface_sum: f64,
    surface_frames: u32,
    antispoof: Option<(f32, bool)>,
    verdict: Option<Verdict>,
}

impl Session {
    /// A session asking `queue`; a penalty challenge is drawn from `pool` with `rng`.
    pub fn new(
        queue: Vec<ChallengeType>,
        pool: Vec<ChallengeType>,
        rng: ChallengeRng,
        settings: SessionSettings,
    ) -> Self {
        Session {
            settings,
            queue,
            pool,
            rng,
            index: 0,
            attempt_number: 0,
            attempt: Attempt::default(),
            results: Vec::new(),
            penalty_index: None,
            started_at: None,
            challenge_started_at: None,
            last_face_at: None,
            baseline: Baseline::default(),
            neutral: None,
            several_faces_frames: 0,
            surface_sum: 0.0,
            surface_frames: 0,
            antispoof: None,
            verdict: None,
        }
    }

    pub fn queue(&self) -> &[ChallengeType] {
        &self.queue
    }

    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// Challenges passed so far.
    pub fn passed_so_far(&self) -> u32 {
        self.results.iter().filter(|r| r.passed).count() as u32
    }

    pub fn is_calibrated(&self) -> bool {
        self.neutral.is_some()
    }

    /// The running challenge: (type, index, queue length, hold progress 0..1).
    pub fn current(&self) -> Option<(ChallengeType, usize, usize, f32)> {
        if self.verdict.is_some() || self.neutral.is_none() {
            return None;
        }
        let challenge = *self.queue.get(self.index)?;
        let needed =
            if challenge.is_static_pose() { self.settings.hold_frames } else { self.settings.expression_frames };
        let progress = if challenge.is_static_pose()
            || matches!(challenge, ChallengeType::OpenMouth | ChallengeType::Smile | ChallengeType::MoveCloser)
        {
            (self.attempt.hold as f32 / needed.max(1) as f32).min(1.0)
        } else {
            0.0
        };
        Some((challenge, self.index, self.queue.len(), progress))
    }

    /// Time left at `now_ns` for the running attempt: the attempt's own timeout or the rest of
    /// the session's, whichever ends first. None before the first challenge and after the
    /// verdict.
    pub fn time_left_ns(&self, now_ns: u64) -> Option<u64> {
        if self.verdict.is_some() {
            return None;
        }
        let attempt_end = self.challenge_started_at? + self.settings.challenge_timeout_ns;
        let session_end = self.started_at? + self.settings.total_timeout_ns;
        Some(attempt_end.min(session_end).saturating_sub(now_ns))
    }

    /// The pose the classifier sees in `face` (None before the baseline).
    pub fn pose_of(&self, face: &Face, gesture: bool) -> Option<Pose> {
        let neutral = self.neutral?;
        let offsets = self.offsets(face)?;
        let thresholds = match (self.settings.pose_source, gesture) {
            (PoseSource::Mesh, _) => self.settings.mesh_thresholds,
            (PoseSource::Keypoints, false) => self.settings.static_thresholds,
            (PoseSource::Keypoints, true) => self.settings.gesture_thresholds,
        };
        Some(classify(offsets, neutral.offsets, &thresholds))
    }

    fn offsets(&self, face: &Face) -> Option<Offsets> {
        match self.settings.pose_source {
            PoseSource::Keypoints => keypoint_offsets(&face.keypoints, self.settings.mirrored),
            PoseSource::Mesh => face.head_pose.map(|p| mesh_offsets(&p, self.settings.mirrored)),
        }
    }

    /// Ends an unfinished session (the stream ended): the challenges not passed count as
    /// failed and the verdict carries `reason`. Returns the verdict event, or nothing when
    /// the session already had one.
    pub fn end(&mut self, reason: &'static str) -> Vec<Event> {
        let mut events = Vec::new();
        if self.verdict.is_none() {
            self.finish(Some(reason), &mut events);
        }
        events
    }

    /// Plays one frame: `faces` as lvfacedetect and the elements after it left them.
    pub fn observe(&mut self, running_time_ns: u64, faces: &[Face]) -> Vec<Event> {
        let mut events = Vec::new();
        if self.verdict.is_some() {
            return events;
        }
        let t = running_time_ns;
        let started = *self.started_at.get_or_insert(t);
        if t.saturating_sub(started) >= self.settings.total_timeout_ns {
            self.finish(Some("timeout"), &mut events);
            return events;
        }
        let main = crate::meta::main_faces(faces, self.settings.main_face_ratio);
        if main.len() > 1 {
            self.several_faces_frames += 1;
            if self.several_faces_frames >= self.settings.several_faces_frames {
                self.finish(Some("several-faces"), &mut events);
                return events;
            }
        }
        let Some(face) = main.first().map(|&i| &faces[i]) else {
            let lost_since = self.last_face_at.unwrap_or(started);
            if self.challenge_started_at.is_some() && t.saturating_sub(lost_since) >= self.settings.face_lost_timeout_ns
            {
                self.last_face_at = Some(t);
                self.fail_attempt(t, FailReason::FaceLost, &mut events);
            }
            return events;
        };
        self.last_face_at = Some(t);

        let Some(neutral) = self.neutral else {
            self.calibrate(t, face, &mut events);
            return events;
        };
        if let Some(surface) = face.surface {
            self.surface_sum += surface.frame.confidence as f64;
            self.surface_frames += 1;
        }
        if let Some(a) = face.antispoof {
            self.antispoof = Some((a.aggregated_score, a.is_real));
        }
        if let Some(since) = self.challenge_started_at
            && t.saturating_sub(since) >= self.settings.challenge_timeout_ns
        {
            self.fail_attempt(t, FailReason::Timeout, &mut events);
            return events;
        }
        self.evaluate(t, face, neutral, &mut events);
        events
    }

    fn calibrate(&mut self, t: u64, face: &Face, events: &mut Vec<Event>) {
        let Some(offsets) = self.offsets(face) else { return };
        let limit = match self.settings.pose_source {
            PoseSource::Keypoints => KEYPOINT_FRONTAL_LIMIT,
            PoseSource::Mesh => MESH_FRONTAL_LIMIT,
        };
        // With lvlandmarks upstream, "frontal" is the mesh's head pose within 12 degrees: the
        // keypoint offset alone cannot tell a held 30-degree turn (0.11 eye distances on the
        // astronaut) from a neutral face with its own asymmetry (-0.09).
        let frontal = face.head_pose.map(|p| {
            p.yaw_degrees.abs() < MESH_FRONTAL_LIMIT_DEGREES && p.pitch_degrees.abs() < MESH_FRONTAL_LIMIT_DEGREES
        });
        if let Some(baseline) = self.baseline.add_checked(offsets, self.settings.baseline_frames, limit, frontal) {
            self.neutral = Some(Neutral {
                offsets: baseline,
                eye_ratio: face.eyes.map(|e| e.mean_aspect_ratio()),
                mouth_opened: face.mouth.map(|m| m.opened),
                smile: face.mouth.map(|m| m.smile),
            });
            events.push(Event::Calibrated { baseline });
            self.start_challenge(t, events);
        }
    }

    fn start_challenge(&mut self, t: u64, events: &mut Vec<Event>) {
        self.attempt = Attempt::default();
        self.challenge_started_at = Some(t);
        if let Some(&challenge) = self.queue.get(self.index) {
            events.push(Event::ChallengeStarted { challenge, index: self.index, total: self.queue.len() });
        }
    }

    fn evaluate(&mut self, t: u64, face: &Face, neutral: Neutral, events: &mut Vec<Event>) {
        let Some(&challenge) = self.queue.get(self.index) else { return };
        let index = self.index;
        let s = self.settings.clone();
        // Whether this frame shows the movement, and whether the challenge is now done.
        let (showing, done) = match challenge {
            ChallengeType::TurnLeft | ChallengeType::TurnRight | ChallengeType::LookUp | ChallengeType::LookDown => {
                let target = match challenge {
                    ChallengeType::TurnLeft => Pose::Left,
                    ChallengeType::TurnRight => Pose::Right,
                    ChallengeType::LookUp => Pose::Up,
                    _ => Pose::Down,
                };
                let showing = self.pose_of(face, false) == Some(target);
                self.attempt.hold = if showing { self.attempt.hold + 1 } else { 0 };
                events.push(Event::Progress {
                    challenge,
                    index,
                    progress: (self.attempt.hold as f32 / s.hold_frames.max(1) as f32).min(1.0),
                });
                (showing, self.attempt.hold >= s.hold_frames)
            }
            ChallengeType::NodYes | ChallengeType::ShakeNo => {
                let pose = self.pose_of(face, true).unwrap_or(Pose::Center);
                if self.attempt.history.last() != Some(&pose) {
                    self.attempt.history.push(pose);
                }
                self.attempt.seen.insert(pose);
                let h = &self.attempt.history;
                let followed = |a: Pose, b: Pose| h.windows(2).any(|w| w[0] == a && w[1] == b);
                let seen = |p: Pose| self.attempt.seen.contains(&p);
                let done = if challenge == ChallengeType::NodYes {
                    (seen(Pose::Up) && seen(Pose::Down))
                        || followed(Pose::Down, Pose::Center)
                        || h.iter().filter(|p| **p == Pose::Down).count() >= 2
                } else {
                    (seen(Pose::Left) && seen(Pose::Right))
                        || followed(Pose::Left, Pose::Center)
                        || followed(Pose::Right, Pose::Center)
                };
                let vertical = matches!(pose, Pose::Up | Pose::Down);
                (pose != Pose::Center && vertical == (challenge == ChallengeType::NodYes), done)
            }
            ChallengeType::Blink => {
                let ratio = face.eyes.map(|e| e.mean_aspect_ratio());
                let closed = match (ratio, neutral.eye_ratio, face.eyes) {
                    (Some(r), Some(base), Some(eyes)) => r < s.blink_ratio * base || eyes.closed,
                    _ => false,
                };
                if closed {
                    self.attempt.eyes_were_closed = true;
                }
                let reopened = self.attempt.eyes_were_closed && !closed && ratio.is_some();
                (closed, reopened)
            }
            ChallengeType::OpenMouth | ChallengeType::Smile | ChallengeType::MoveCloser => {
                let showing = match challenge {
                    ChallengeType::OpenMouth => match (face.mouth, neutral.mouth_opened) {
                        (Some(m), Some(base)) => m.opened >= base + s.mouth_open_gain,
                        _ => false,
                    },
                    ChallengeType::Smile => match (face.mouth, neutral.smile) {
                        (Some(m), Some(base)) => m.smile >= s.smile_threshold && m.smile - base >= s.smile_gain,
                        _ => false,
                    },
                    _ => {
                        let start = *self.attempt.start_width.get_or_insert(face.bbox.width);
                        face.bbox.width >= start * s.closer_factor
                    }
                };
                self.attempt.hold = if showing { self.attempt.hold + 1 } else { 0 };
                events.push(Event::Progress {
                    challenge,
                    index,
                    progress: (self.attempt.hold as f32 / s.expression_frames.max(1) as f32).min(1.0),
                });
                (showing, self.attempt.hold >= s.expression_frames)
            }
        };
        if showing && !self.attempt.detected {
            self.attempt.detected = true;
            events.push(Event::PoseDetected { challenge, index });
        }
        if done {
            events.push(Event::ChallengeCompleted { challenge, index });
            self.results.push(ChallengeResult {
                challenge,
                passed: true,
                attempts: self.attempt_number + 1,
                penalty: self.penalty_index == Some(index),
            });
            self.advance(t, events);
        }
    }

    fn fail_attempt(&mut self, t: u64, reason: FailReason, events: &mut Vec<Event>) {
        let Some(&challenge) = self.queue.get(self.index) else { return };
        let index = self.index;
        if self.attempt_number < self.settings.retries {
            self.attempt_number += 1;
            events.push(Event::ChallengeFailed { challenge, index, reason, retrying: true });
            self.attempt = Attempt::default();
            self.challenge_started_at = Some(t);
            return;
        }
        events.push(Event::ChallengeFailed { challenge, index, reason, retrying: false });
        self.results.push(ChallengeResult {
            challenge,
            passed: false,
            attempts: self.attempt_number + 1,
            penalty: self.penalty_index == Some(index),
        });
        if self.penalty_index.is_none()
            && let Some(extra) = self.rng.pick(&self.pool, &self.queue)
        {
            self.queue.push(extra);
            self.penalty_index = Some(self.queue.len() - 1);
            events.push(Event::PenaltyAdded { challenge: extra, total: self.queue.len() });
        }
        self.advance(t, events);
    }

    fn advance(&mut self, t: u64, events: &mut Vec<Event>) {
        self.index += 1;
        self.attempt_number = 0;
        if self.index >= self.queue.len() {
            self.finish(None, events);
        } else {
            self.start_challenge(t, events);
        }
    }

    fn finish(&mut self, ended_by: Option<&'static str>, events: &mut Vec<Event>) {
        // The running challenge and those never reached count as failed; the running one
        // with the attempts it had.
        for (index, &challenge) in self.queue.iter().enumerate().skip(self.results.len()) {
            let running = index == self.index && self.challenge_started_at.is_some();
            self.results.push(ChallengeResult {
                challenge,
                passed: false,
                attempts: if running { self.attempt_number + 1 } else { 0 },
                penalty: self.penalty_index == Some(index),
            });
        }
        let passed_challenges = self.results.iter().filter(|r| r.passed).count() as u32;
        let total = self.queue.len().max(1) as u32;
        let liveness_score = passed_challenges as f32 / total as f32;
        let surface_score = (self.surface_frames > 0).then(|| (self.surface_sum / self.surface_frames as f64) as f32);
        let mut failures: Vec<&'static str> = ended_by.into_iter().collect();
        if liveness_score < self.settings.min_liveness_score {
            failures.push("liveness-score");
        }
        match surface_score {
            Some(score) if score < self.settings.min_surface_score => failures.push("surface-score"),
            None if self.settings.require_surface => failures.push("no-surface-analysis"),
            _ => {}
        }
        match self.antispoof {
            Some((_, false)) => failures.push("antispoof"),
            None if self.settings.require_antispoof => failures.push("no-antispoof"),
            _ => {}
        }
        let verdict = Verdict {
            passed: failures.is_empty(),
            liveness_score,
            passed_challenges,
            total_challenges: total,
            surface_score,
            antispoof_score: self.antispoof.map(|a| a.0),
            antispoof_real: self.antispoof.map(|a| a.1),
            results: self.results.clone(),
            failures,
        };
        self.verdict = Some(verdict.clone());
        events.push(Event::Verdict(verdict));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{Keypoints, Point, Rect};

    const FRAME_NS: u64 = 33_333_333;

    /// A face whose nose sits (dx, dy) eye distances from the eye midpoint (40 px apart).
    fn face(dx: f32, dy: f32) -> Face {
        let keypoints = Keypoints {
            right_eye: Point { x: 80.0, y: 100.0 },
            left_eye: Point { x: 120.0, y: 100.0 },
            nose_tip: Point { x: 100.0 + dx * 40.0, y: 100.0 + dy * 40.0 },
            ..Keypoints::default()
        };
        Face::new(1, Rect { x: 50.0, y: 60.0, width: 100.0, height: 100.0 }, 0.9, keypoints)
    }

    fn settings() -> SessionSettings {
        SessionSettings { require_surface: false, require_antispoof: false, ..SessionSettings::default() }
    }

    fn session(queue: &[ChallengeType]) -> Session {
        Session::new(queue.to_vec(), ChallengeType::HEAD_MOVEMENTS.to_vec(), ChallengeRng::new(Some(3)), settings())
    }

    /// Plays `frames` of `face` from frame number `from`; returns every event.
    fn play(session: &mut Session, from: u64, frames: u64, face: &Face) -> Vec<Event> {
        (from..from + frames).flat_map(|n| session.observe(n * FRAME_NS, std::slice::from_ref(face))).collect()
    }

    fn verdict(events: &[Event]) -> Option<Verdict> {
        events.iter().find_map(|e| if let Event::Verdict(v) = e { Some(v.clone()) } else { None })
    }

    #[test]
    fn static_pose_held_for_fifteen_frames_passes() {
        let mut s = session(&[ChallengeType::TurnLeft]);
        let neutral = face(0.0, 0.5);
        let events = play(&mut s, 0, 5, &neutral);
        assert!(events.iter().any(|e| matches!(e, Event::ChallengeStarted { index: 0, total: 1, .. })));
        // 14 frames turned: not yet.
        let turned = face(0.45, 0.5);
        let events = play(&mut s, 5, 14, &turned);
        assert!(events.iter().any(|e| matches!(e, Event::PoseDetected { .. })));
        assert!(verdict(&events).is_none());
        assert_eq!(s.passed_so_far(), 0);
        let events = play(&mut s, 19, 1, &turned);
        assert_eq!(s.passed_so_far(), 1);
        let v = verdict(&events).expect("the 15th frame completes it");
        assert!(v.passed && v.liveness_score == 1.0, "{v:?}");
    }

    #[test]
    fn time_left_counts_down_the_attempt_and_is_capped_by_the_session() {
        let mut s = session(&[ChallengeType::TurnLeft]);
        assert_eq!(s.time_left_ns(0), None);
        let neutral = face(0.0, 0.5);
        play(&mut s, 0, 5, &neutral);
        let started = s.challenge_started_at.expect("the first challenge started");
        assert_eq!(s.time_left_ns(started), Some(10_000_000_000));
        assert_eq!(s.time_left_ns(started + 4_000_000_000), Some(6_000_000_000));
        assert_eq!(s.time_left_ns(started + 11_000_000_000), Some(0));
        // Late in the session the session's own end comes first.
        s.challenge_started_at = Some(85_000_000_000);
        assert_eq!(s.time_left_ns(86_000_000_000), Some(4_000_000_000));
        play(&mut s, 5, 20, &face(0.45, 0.5));
        assert!(s.verdict().is_some());
        assert_eq!(s.time_left_ns(0), None);
    }

    #[test]
    fn standing_still_fails_every_movement_and_adds_one_penalty_step() {
        let mut s = session(&ChallengeType::HEAD_MOVEMENTS[..5]);
        let neutral = face(0.0, 0.5);
        // 2 attempts x 10 s per challenge, 6 challenges at most: 140 s > the 90 s total.
        let events = play(&mut s, 0, 3000, &neutral);
        let penalties = events.iter().filter(|e| matches!(e, Event::PenaltyAdded { .. })).count();
        assert_eq!(penalties, 1);
        let v = verdict(&events).expect("a verdict");
        assert!(!v.passed && v.passed_challenges == 0, "{v:?}");
        assert!(v.failures.contains(&"timeout"), "{v:?}");
    }

    #[test]
    fn one_failure_gives_five_of_six_and_fails() {
        let mut s = session(&[
            ChallengeType::TurnLeft,
            ChallengeType::TurnRight,
            ChallengeType::TurnLeft,
            ChallengeType::TurnRight,
            ChallengeType::LookUp,
        ]);
        let neutral = face(0.0, 0.5);
        let mut n = 0;
        let mut events = play(&mut s, n, 5, &neutral);
        n += 5;
        // The first challenge times out twice (20 s standing still).
        events.extend(play(&mut s, n, 20 * 30 + 2, &neutral));
        n += 20 * 30 + 2;
        assert!(events.iter().any(|e| matches!(e, Event::ChallengeFailed { retrying: true, .. })));
        assert!(events.iter().any(|e| matches!(e, Event::ChallengeFailed { retrying: false, index: 0, .. })));
        assert_eq!(s.queue().len(), 6);
        // The rest, penalty included, are performed.
        while s.verdict().is_none() {
            let pose = match s.current().map(|c| c.0) {
                Some(ChallengeType::TurnLeft) => face(0.5, 0.5),
                Some(ChallengeType::TurnRight) => face(-0.5, 0.5),
                Some(ChallengeType::LookUp) => face(0.0, 0.1),
                Some(ChallengeType::LookDown) => face(0.0, 1.0),
                // Gestures: down then back to centre, left then back to centre.
                Some(ChallengeType::NodYes) => {
                    if n % 20 < 10 {
                        face(0.0, 1.0)
                    } else {
                        neutral.clone()
                    }
                }
                Some(ChallengeType::ShakeNo) => {
                    if n % 20 < 10 {
                        face(0.5, 0.5)
                    } else {
                        neutral.clone()
                    }
                }
                _ => neutral.clone(),
            };
            events.extend(play(&mut s, n, 1, &pose));
            n += 1;
            assert!(n < 10_000);
        }
        let v = s.verdict().unwrap();
        assert_eq!((v.passed_challenges, v.total_challenges), (5, 6), "{v:?}");
        assert!((v.liveness_score - 5.0 / 6.0).abs() < 1e-6);
        assert!(!v.passed && v.failures == vec!["liveness-score"], "{v:?}");
        assert!(v.results[5].penalty && v.results[5].passed && !v.results[0].passed, "{v:?}");
        assert_eq!(v.results.iter().filter(|r| r.penalty).count(), 1);
    }

    #[test]
    fn gestures_follow_the_seed_rules_and_wrong_directions_do_not_pass() {
        let neutral = face(0.0, 0.5);
        // Nod: down and back.
        let mut s = session(&[ChallengeType::NodYes]);
        play(&mut s, 0, 5, &neutral);
        play(&mut s, 5, 3, &face(0.0, 1.0));
        let v = verdict(&play(&mut s, 8, 2, &neutral)).expect("down then centre passes a nod");
        assert!(v.passed);
        // Shaking does not pass a nod.
        let mut s = session(&[ChallengeType::NodYes]);
        play(&mut s, 0, 5, &neutral);
        for k in 0..10 {
            play(&mut s, 5 + k * 6, 3, &face(if k % 2 == 0 { 0.5 } else { -0.5 }, 0.5));
            play(&mut s, 8 + k * 6, 3, &neutral);
        }
        assert!(s.verdict().is_none());
        // Turning right does not pass turn_left.
        let mut s = session(&[ChallengeType::TurnLeft]);
        play(&mut s, 0, 5, &neutral);
        play(&mut s, 5, 40, &face(-0.5, 0.5));
        assert!(s.verdict().is_none());
    }

    #[test]
    fn several_faces_in_two_frames_end_the_session() {
        let mut s = session(&[ChallengeType::TurnLeft]);
        let mut second = face(0.0, 0.5);
        second.bbox.x += 300.0;
        let pair = [face(0.0, 0.5), second];
        assert!(s.observe(0, &pair).is_empty());
        let events = s.observe(FRAME_NS, &pair);
        let v = verdict(&events).expect("ended");
        assert!(!v.passed && v.failures.contains(&"several-faces"));
        // A small face in the background is not a main face.
        let mut s = session(&[ChallengeType::TurnLeft]);
        let mut small = face(0.0, 0.5);
        small.bbox.width = 20.0;
        for n in 0..5 {
            assert!(verdict(&s.observe(n * FRAME_NS, &[face(0.0, 0.5), small.clone()])).is_none());
        }
    }

    #[test]
    fn losing_the_face_fails_the_attempt_and_timeouts_use_stream_time() {
        let mut s = session(&[ChallengeType::TurnLeft]);
        play(&mut s, 0, 5, &face(0.0, 0.5));
        // 2 s without a face: the attempt fails and is retried.
        let events: Vec<Event> = (5..5 + 61).flat_map(|n| s.observe(n * FRAME_NS, &[])).collect();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::FaceLost, retrying: true, .. }))
        );
        // Stream time, not wall time: a frame 100 s later ends the session at once.
        let events = s.observe(100_000_000_000, &[face(0.0, 0.5)]);
        assert!(verdict(&events).expect("timed out").failures.contains(&"timeout"));
    }

    #[test]
    fn smile_needs_a_rise_over_the_neutral_expression() {
        use crate::meta::Mouth;
        let with_smile = |smile: f32| {
            let mut f = face(0.0, 0.5);
            f.mouth = Some(Mouth { opened: 0.1, smile });
            f
        };
        // A neutral face that smiles: passes after `expression_frames` frames.
        let mut s = session(&[ChallengeType::Smile]);
        play(&mut s, 0, 5, &with_smile(0.1));
        assert!(verdict(&play(&mut s, 5, 4, &with_smile(0.9))).is_none());
        assert!(verdict(&play(&mut s, 9, 1, &with_smile(0.9))).is_some_and(|v| v.passed));
        // Someone who smiles from the start shows no change: no pass (seed 001's
        // minEmotionChange).
        let mut s = session(&[ChallengeType::Smile]);
        play(&mut s, 0, 5, &with_smile(0.95));
        play(&mut s, 5, 60, &with_smile(0.99));
        assert!(s.verdict().is_none());
    }

    #[test]
    fn ending_the_stream_early_fails_the_session_once() {
        let mut s = session(&[ChallengeType::TurnLeft, ChallengeType::TurnRight, ChallengeType::LookUp]);
        play(&mut s, 0, 5, &face(0.0, 0.5));
        play(&mut s, 5, 15, &face(0.5, 0.5));
        let v = verdict(&s.end("incomplete")).expect("a verdict");
        assert_eq!((v.passed_challenges, v.total_challenges), (1, 3));
        // The running challenge had its first attempt; the last one was never asked.
        let attempts: Vec<u32> = v.results.iter().map(|r| r.attempts).collect();
        assert_eq!(attempts, vec![1, 1, 0]);
        assert!(!v.passed && v.failures.contains(&"incomplete"), "{v:?}");
        assert!(s.end("incomplete").is_empty());
    }

    #[test]
    fn required_passive_checks_fail_the_verdict_when_missing() {
        let mut s = Session::new(
            vec![ChallengeType::TurnLeft],
            ChallengeType::HEAD_MOVEMENTS.to_vec(),
            ChallengeRng::new(Some(1)),
            SessionSettings::default(),
        );
        play(&mut s, 0, 5, &face(0.0, 0.5));
        let v = verdict(&play(&mut s, 5, 15, &face(0.5, 0.5))).expect("done");
        assert_eq!(v.liveness_score, 1.0);
        assert!(!v.passed && v.failures == vec!["no-surface-analysis", "no-antispoof"], "{v:?}");
    }
}
