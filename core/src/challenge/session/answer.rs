//! Judging an attempt: whether the face answers the prompt (held poses, gestures, blink,
//! expressions, the screen flash), in time and in the asked direction, and what a failed
//! attempt costs (a retry, a failed challenge, the penalty step).

use super::*;

impl Session {
    /// Reaction window, wrong movements and the planar residual of a head movement; returns
    /// the reason when this frame fails the attempt.
    pub(super) fn check_answer(&mut self, t: u64, face: &Face, challenge: ChallengeType) -> Option<FailReason> {
        let gesture = matches!(challenge, ChallengeType::NodYes | ChallengeType::ShakeNo);
        let asked: &[Pose] = match challenge {
            ChallengeType::TurnLeft => &[Pose::Left],
            ChallengeType::TurnRight => &[Pose::Right],
            ChallengeType::LookUp => &[Pose::Up],
            ChallengeType::LookDown => &[Pose::Down],
            ChallengeType::NodYes => &[Pose::Up, Pose::Down],
            ChallengeType::ShakeNo => &[Pose::Left, Pose::Right],
            _ => return None,
        };
        let shares = self.shares_of(face, gesture)?;
        let best = |wanted: bool| {
            shares.iter().filter(|(p, _)| asked.contains(p) == wanted).map(|(_, s)| *s).fold(f32::MIN, f32::max)
        };
        let (asked_share, other_share) = (best(true), best(false));
        let since_prompt = t.saturating_sub(self.challenge_started_at.unwrap_or(t));
        if self.attempt.onset_at.is_none() {
            if asked_share >= HALF_SHARE {
                if since_prompt < self.settings.reaction_min_ns {
                    // Already under way when the prompt appeared: not an answer to it.
                    return Some(FailReason::WrongMovement);
                }
                self.attempt.onset_at = Some(t);
            } else if since_prompt > self.settings.reaction_max_ns {
                return Some(FailReason::NoReaction);
            }
        }
        self.attempt.peak_share = self.attempt.peak_share.max(asked_share);
        // Until the asked movement has been seen, a movement elsewhere is a wrong answer;
        // after it, what the head does on the way back (a turn tilts the mesh's pitch a
        // little) is not.
        if self.attempt.peak_share < 1.0 && other_share >= HALF_SHARE && other_share > asked_share {
            self.attempt.wrong_frames += 1;
            if self.attempt.wrong_frames >= WRONG_MOVEMENT_FRAMES {
                return Some(FailReason::WrongMovement);
            }
        } else {
            self.attempt.wrong_frames = 0;
        }
        if asked_share >= 1.0
            && let (Some(neutral), Some(mesh)) = (&self.neutral_mesh, &face.landmarks)
            && let Some(residual) = planar_residual(neutral, &mesh.points)
        {
            self.attempt.max_residual = Some(self.attempt.max_residual.map_or(residual, |r| r.max(residual)));
        }
        None
    }

    pub(super) fn evaluate(&mut self, t: u64, face: &Face, neutral: Neutral, events: &mut Vec<Event>) {
        let Some(&challenge) = self.queue.get(self.index) else { return };
        let index = self.index;
        if let Some(reason) = self.check_answer(t, face, challenge) {
            self.fail_attempt(t, reason, events);
            return;
        }
        // Whether this frame shows the movement, and whether the challenge is now done.
        let (showing, done) = match challenge {
            ChallengeType::TurnLeft | ChallengeType::TurnRight | ChallengeType::LookUp | ChallengeType::LookDown => {
                self.static_pose(face, challenge, events)
            }
            ChallengeType::NodYes | ChallengeType::ShakeNo => self.gesture(face, challenge),
            ChallengeType::Blink => self.blink(face, neutral),
            ChallengeType::OpenMouth | ChallengeType::Smile | ChallengeType::MoveCloser => {
                self.expression(face, neutral, challenge, events)
            }
            ChallengeType::Flash => match self.flash_judged(t) {
                Some(false) => return self.fail_attempt(t, FailReason::FlashMismatch, events),
                judged => (false, judged.is_some()),
            },
        };
        if showing && !self.attempt.detected {
            self.attempt.detected = true;
            events.push(Event::PoseDetected { challenge, index });
        }
        if !done {
            return;
        }
        // A head movement seen on the mesh must not be the movement of a plane.
        let threshold = self.settings.planar_threshold;
        if threshold > 0.0 && self.attempt.max_residual.is_some_and(|r| r < threshold) {
            self.fail_attempt(t, FailReason::PlanarMotion, events);
            return;
        }
        events.push(Event::ChallengeCompleted { challenge, index });
        self.results.push(ChallengeResult {
            challenge,
            passed: true,
            attempts: self.attempt_number + 1,
            penalty: self.penalty_index == Some(index),
            reason: None,
            response: self.flash_response.take(),
        });
        self.advance(t, events);
    }

    /// Counts a frame toward a hold of `needed` frames and reports the progress: whether the
    /// hold is complete.
    pub(super) fn hold(
        &mut self,
        showing: bool,
        needed: u32,
        challenge: ChallengeType,
        events: &mut Vec<Event>,
    ) -> bool {
        self.attempt.hold = if showing { self.attempt.hold + 1 } else { 0 };
        let progress = (self.attempt.hold as f32 / needed.max(1) as f32).min(1.0);
        events.push(Event::Progress { challenge, index: self.index, progress });
        self.attempt.hold >= needed
    }

    /// A turn or a look up or down, held for `hold_frames`.
    pub(super) fn static_pose(
        &mut self,
        face: &Face,
        challenge: ChallengeType,
        events: &mut Vec<Event>,
    ) -> (bool, bool) {
        let target = match challenge {
            ChallengeType::TurnLeft => Pose::Left,
            ChallengeType::TurnRight => Pose::Right,
            ChallengeType::LookUp => Pose::Up,
            _ => Pose::Down,
        };
        // The asked direction past its threshold counts, whatever the other axis does
        // meanwhile (a turn tilts the mesh's pitch a little): another direction was judged by
        // the wrong-movement rule until the asked one was seen.
        let showing = self
            .shares_of(face, false)
            .is_some_and(|shares| shares.iter().any(|(pose, share)| *pose == target && *share > 1.0));
        let needed = self.settings.hold_frames;
        (showing, self.hold(showing, needed, challenge, events))
    }

    /// A nod (down and back, or up and down) or a head shake (both sides, or one and back).
    pub(super) fn gesture(&mut self, face: &Face, challenge: ChallengeType) -> (bool, bool) {
        let pose = self.gesture_pose(face);
        if self.attempt.history.last() != Some(&pose) {
            self.attempt.history.push(pose);
        }
        self.attempt.seen.insert(pose);
        let h = &self.attempt.history;
        let followed = |a: Pose, b: Pose| h.windows(2).any(|w| w[0] == a && w[1] == b);
        let seen = |p: Pose| self.attempt.seen.contains(&p);
        let nod = challenge == ChallengeType::NodYes;
        let done = if nod {
            (seen(Pose::Up) && seen(Pose::Down))
                || followed(Pose::Down, Pose::Center)
                || h.iter().filter(|p| **p == Pose::Down).count() >= 2
        } else {
            (seen(Pose::Left) && seen(Pose::Right))
                || followed(Pose::Left, Pose::Center)
                || followed(Pose::Right, Pose::Center)
        };
        let vertical = matches!(pose, Pose::Up | Pose::Down);
        (pose != Pose::Center && vertical == nod, done)
    }

    /// Eyes closed, then open again.
    pub(super) fn blink(&mut self, face: &Face, neutral: Neutral) -> (bool, bool) {
        let closed = match (neutral.eye_ratio, face.eyes) {
            (Some(base), Some(eyes)) => eyes_closed(&eyes, base, self.settings.blink_ratio),
            _ => false,
        };
        if closed {
            self.attempt.eyes_were_closed = true;
        }
        let reopened = self.attempt.eyes_were_closed && !closed && face.eyes.is_some();
        (closed, reopened)
    }

    /// An open mouth, a smile or a closer face, held for `expression_frames`.
    pub(super) fn expression(
        &mut self,
        face: &Face,
        neutral: Neutral,
        challenge: ChallengeType,
        events: &mut Vec<Event>,
    ) -> (bool, bool) {
        let s = &self.settings;
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
                let factor = s.closer_factor;
                let start = *self.attempt.start_width.get_or_insert(face.bbox.width);
                face.bbox.width >= start * factor
            }
        };
        let needed = self.settings.expression_frames;
        (showing, self.hold(showing, needed, challenge, events))
    }

    /// The gesture direction of this frame, with hysteresis: a direction counts once past its
    /// threshold and is kept until it falls back under half of it.
    pub(super) fn gesture_pose(&mut self, face: &Face) -> Pose {
        let (Some(neutral), Some(offsets)) = (self.neutral, self.offsets(face)) else { return Pose::Center };
        let thresholds = self.thresholds(true);
        let shares = shares(offsets, neutral.offsets, &thresholds);
        let share = |pose: Pose| shares.iter().find(|(p, _)| *p == pose).map_or(0.0, |(_, s)| *s);
        let pose = match self.attempt.gesture_pose {
            Some(held) if held != Pose::Center && share(held) >= HALF_SHARE => held,
            _ => classify(offsets, neutral.offsets, &thresholds),
        };
        self.attempt.gesture_pose = Some(pose);
        pose
    }

    /// Fails the running attempt: retried while retries are left (a planar movement is not
    /// retried: the face is a plane), else the challenge fails and the penalty step is added;
    /// when even a passed penalty step could not lift the liveness score to its minimum, the
    /// session ends here: its verdict cannot change.
    pub(super) fn fail_attempt(&mut self, t: u64, reason: FailReason, events: &mut Vec<Event>) {
        let Some(&challenge) = self.queue.get(self.index) else { return };
        let index = self.index;
        if reason != FailReason::PlanarMotion && self.attempt_number < self.settings.retries {
            self.attempt_number += 1;
            events.push(Event::ChallengeFailed { challenge, index, reason, retrying: true });
            self.start_centering(t);
            return;
        }
        events.push(Event::ChallengeFailed { challenge, index, reason, retrying: false });
        self.results.push(ChallengeResult {
            challenge,
            passed: false,
            attempts: self.attempt_number + 1,
            penalty: self.penalty_index == Some(index),
            reason: Some(reason),
            response: self.flash_response.take(),
        });
        if !self.can_still_pass() {
            self.finish(None, events);
            return;
        }
        if self.penalty_index.is_none()
            && let Some(extra) = self.rng.pick(&self.pool, &self.queue)
        {
            self.queue.push(extra);
            self.penalty_index = Some(self.queue.len() - 1);
            events.push(Event::PenaltyAdded { challenge: extra, total: self.queue.len() });
        }
        self.advance(t, events);
    }

    /// Whether the challenges left, all passed, with the penalty step if it is still to come,
    /// would bring the liveness score to its minimum.
    fn can_still_pass(&self) -> bool {
        let failed = self.results.iter().filter(|r| !r.passed).count();
        let penalty =
            usize::from(self.penalty_index.is_none() && !ChallengeRng::allowed(&self.pool, &self.queue).is_empty());
        let total = self.queue.len() + penalty;
        total > failed && (total - failed) as f32 / total as f32 >= self.settings.min_liveness_score
    }

    pub(super) fn advance(&mut self, t: u64, events: &mut Vec<Event>) {
        self.index += 1;
        self.attempt_number = 0;
        if self.index >= self.queue.len() {
            self.finish(None, events);
        } else {
            self.start_centering(t);
        }
    }

    /// The running flash attempt's judgement once its schedule and lag window are over: its
    /// response kept for the outcome, whether it passed.
    pub(super) fn flash_judged(&mut self, t: u64) -> Option<bool> {
        let flash = self.flash.as_ref()?;
        if !flash.is_over(t, &self.settings.flash) {
            return None;
        }
        let (response, passed) = flash.judge(&self.settings.flash);
        self.flash_response = Some(response);
        self.flash = None;
        Some(passed)
    }
}
