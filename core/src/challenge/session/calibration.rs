//! Calibration and the wait before each prompt: the neutral pose, the hints that say what keeps
//! a frame from it ([`Blockers`], [`Hint`]), and the centering stage with its random hold.

use super::*;

/// What the person should change while the session calibrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// No face in the frame: show it.
    ShowFace,
    /// More than one main face: one person only.
    OneFace,
    /// Head turned or tilted beyond `calibration_max_degrees`: look at the camera.
    FaceCamera,
    MoveCloser,
    MoveBack,
    /// The face is off the frame's centre (`max_centre_offset`): into the guide.
    CentreFace,
    /// lvsurfaceanalysis finds the face dark.
    MoreLight,
    /// The face is blurred, or the head moves too much between frames.
    HoldStill,
}

impl Hint {
    pub fn name(self) -> &'static str {
        match self {
            Hint::ShowFace => "show-face",
            Hint::OneFace => "one-face",
            Hint::FaceCamera => "face-camera",
            Hint::MoveCloser => "move-closer",
            Hint::MoveBack => "move-back",
            Hint::CentreFace => "centre-face",
            Hint::MoreLight => "more-light",
            Hint::HoldStill => "hold-still",
        }
    }
}

/// What keeps a frame from calibrating the session. The hint names the first that holds, in
/// this order: no face (`show-face`), several faces (`one-face`), too small (`move-closer`),
/// too large (`move-back`), off-centre (`centre-face`), dark (`more-light`), blurred
/// (`hold-still`), off-axis (`face-camera`), moving (`hold-still`). A dark or blurred face still
/// calibrates when its pose is frontal and steady; the others keep the frame out of the neutral
/// pose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blockers {
    pub no_face: bool,
    pub several_faces: bool,
    pub too_small: bool,
    pub too_large: bool,
    pub off_centre: bool,
    pub dark: bool,
    pub blurred: bool,
    pub off_axis: bool,
    pub moving: bool,
}

impl Blockers {
    /// The hint for the first blocker that holds (None: nothing blocks).
    pub fn hint(self) -> Option<Hint> {
        [
            (self.no_face, Hint::ShowFace),
            (self.several_faces, Hint::OneFace),
            (self.too_small, Hint::MoveCloser),
            (self.too_large, Hint::MoveBack),
            (self.off_centre, Hint::CentreFace),
            (self.dark, Hint::MoreLight),
            (self.blurred, Hint::HoldStill),
            (self.off_axis, Hint::FaceCamera),
            (self.moving, Hint::HoldStill),
        ]
        .into_iter()
        .find_map(|(holds, hint)| holds.then_some(hint))
    }

    /// Whether the frame's pose may go into the neutral pose (dark and blurred are hints only).
    pub(super) fn pose_usable(self) -> bool {
        !(self.no_face || self.several_faces || self.too_small || self.too_large || self.off_centre || self.off_axis)
    }
}

impl Session {
    /// Ends the session when calibration took too long; true when it did.
    pub(super) fn check_calibration_time(&mut self, t: u64, started: u64, events: &mut Vec<Event>) -> bool {
        if t.saturating_sub(started) < self.settings.calibration_timeout_ns {
            return false;
        }
        self.finish(None, events);
        true
    }

    pub(super) fn calibrate(
        &mut self,
        t: u64,
        face: &Face,
        several_faces: bool,
        frame_size: (u32, u32),
        events: &mut Vec<Event>,
    ) {
        if self.source == PoseSource::Auto {
            self.source = if face.head_pose.is_some() { PoseSource::Mesh } else { PoseSource::Keypoints };
        }
        let offsets = self.offsets(face);
        // "Frontal enough": with lvlandmarks upstream the mesh's head pose within
        // calibration_max_degrees (the keypoint offset alone cannot tell a held 30-degree turn,
        // 0.11 eye distances on the astronaut, from a face's own asymmetry, -0.09); without
        // it the nose offset within KEYPOINT_FRONTAL_LIMIT.
        let limit = self.settings.calibration_max_degrees;
        let frontal = match (face.head_pose, offsets) {
            (Some(p), _) => p.yaw_degrees.abs() <= limit && p.pitch_degrees.abs() <= limit,
            (None, Some(o)) => o.x.abs() <= KEYPOINT_FRONTAL_LIMIT,
            (None, None) => false,
        };
        let max_step = if self.source == PoseSource::Keypoints { KEYPOINT_STEADY_STEP } else { MESH_STEADY_DEGREES };
        let side = frame_size.0.min(frame_size.1) as f32;
        let blockers = Blockers {
            no_face: false,
            several_faces,
            too_small: side > 0.0 && face.bbox.width < self.settings.min_face_share * side,
            too_large: side > 0.0
                && (face.bbox.width > MAX_FACE_SHARE * side || face.bbox.height > frame_size.1 as f32),
            off_centre: side > 0.0 && {
                let centre = face.bbox.center();
                let (w, h) = (frame_size.0 as f32, frame_size.1 as f32);
                let limit = self.settings.max_centre_offset;
                (centre.x - w / 2.0).abs() > limit * w || (centre.y - h / 2.0).abs() > limit * h
            },
            dark: face.quality.is_some_and(|q| q.is_dark),
            blurred: face.quality.is_some_and(|q| q.is_blurred),
            off_axis: !frontal,
            moving: !offsets.is_some_and(|o| self.baseline.is_steady(o, max_step)),
        };
        self.set_hint(blockers.hint(), events);
        let Some(offsets) = offsets else { return };
        if let Some(baseline) =
            self.baseline.add(offsets, self.settings.baseline_frames, blockers.pose_usable(), max_step)
        {
            self.neutral = Some(Neutral {
                offsets: baseline,
                eye_ratio: face.eyes.map(|e| e.mean_aspect_ratio()),
                mouth_opened: face.mouth.map(|m| m.opened),
                smile: face.mouth.map(|m| m.smile),
            });
            self.neutral_mesh = face.landmarks.as_ref().map(|l| l.points.clone());
            self.hint = None;
            events.push(Event::Calibrated { baseline });
            if self.prompt_hold_range() == (0, 0) {
                self.start_challenge(t, events);
            } else {
                // The first prompt waits for its hold as well; the head is neutral already.
                self.start_centering(t);
            }
        }
    }

    /// Changes the calibration hint, telling of it when it changed.
    pub(super) fn set_hint(&mut self, hint: Option<Hint>, events: &mut Vec<Event>) {
        if hint != self.hint {
            self.hint = hint;
            events.push(Event::Calibrating { hint });
        }
    }

    /// Waits for the neutral zone (every direction under half its threshold) for
    /// CENTRE_FRAMES frames and the prompt's hold, then prompts; a movement that reaches a
    /// threshold during the hold, or an attempt that cannot start in time, fails.
    pub(super) fn centre(&mut self, t: u64, face: &Face, c: Centering, events: &mut Vec<Event>) {
        let shares = self.shares_of(face, false);
        let neutral = shares.is_some_and(|shares| shares.iter().all(|(_, share)| *share < HALF_SHARE));
        let moved = shares.is_some_and(|shares| shares.iter().any(|(_, share)| *share >= 1.0));
        if moved && c.hold_ns > 0 && c.neutral_frames >= CENTRE_FRAMES {
            // The head had come back and then moved as if prompted, before any prompt.
            self.centering = None;
            self.challenge_started_at = Some(c.since);
            self.fail_attempt(t, FailReason::WrongMovement, events);
            return;
        }
        let neutral_frames = if neutral { c.neutral_frames + 1 } else { 0 };
        let neutral_since = if neutral { c.neutral_since.or(Some(t)) } else { None };
        if neutral_frames >= CENTRE_FRAMES && neutral_since.is_some_and(|n| t.saturating_sub(n) >= c.hold_ns) {
            self.start_challenge(t, events);
        } else if t.saturating_sub(c.since) >= self.settings.challenge_timeout_ns.saturating_add(c.hold_ns) {
            // The hold is the session's own wait: the person has the attempt's whole timeout
            // to come back to neutral besides it.
            self.centering = None;
            self.challenge_started_at = Some(c.since);
            self.fail_attempt(t, FailReason::Timeout, events);
        } else {
            // Once back, the head stays back: a movement past half a threshold is not yet an
            // answer to anything, but the hold starts again.
            let neutral_frames =
                if c.neutral_frames >= CENTRE_FRAMES && !neutral { CENTRE_FRAMES } else { neutral_frames };
            self.centering = Some(Centering { neutral_frames, neutral_since, ..c });
        }
    }

    pub(super) fn start_challenge(&mut self, t: u64, events: &mut Vec<Event>) {
        self.attempt = Attempt::default();
        self.centering = None;
        self.challenge_started_at = Some(t);
        self.flash = (self.queue.get(self.index) == Some(&ChallengeType::Flash))
            .then(|| FlashAttempt::new(self.rng.flash_schedule(), t));
        if let Some(&challenge) = self.queue.get(self.index) {
            let flash = self.flash.as_ref().map(|f| f.schedule.clone());
            events.push(Event::ChallengeStarted { challenge, index: self.index, total: self.queue.len(), flash });
        }
    }

    /// The next attempt starts once the head is back in its neutral pose and has held it
    /// for a hold drawn for this prompt.
    pub(super) fn start_centering(&mut self, t: u64) {
        self.flash = None;
        self.attempt = Attempt::default();
        self.challenge_started_at = None;
        let (min, max) = self.prompt_hold_range();
        let hold_ns = self.rng.hold_ns(min, max);
        self.centering = Some(Centering { since: t, neutral_frames: 0, neutral_since: None, hold_ns });
    }

    /// The range the next prompt's hold is drawn from. The screen flash needs none: no
    /// recording can anticipate its colours. Nor does the prompt right after it: the flash's
    /// own random length (its colours and their durations) was a hold a recording could not
    /// time, spent in the neutral pose.
    pub(super) fn prompt_hold_range(&self) -> (u64, u64) {
        let is_flash = |index: Option<usize>| index.and_then(|i| self.queue.get(i)) == Some(&ChallengeType::Flash);
        let after_flash = self.attempt_number == 0 && is_flash(self.index.checked_sub(1));
        if is_flash(Some(self.index)) || after_flash {
            (0, 0)
        } else {
            (self.settings.prompt_hold_min_ns, self.settings.prompt_hold_max_ns)
        }
    }
}
