//! The session's verdict: the challenges' outcomes, the passive checks over the challenge
//! frames and the stream figures turned into failures.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
/// How one challenge of the queue ended.
pub(super) struct ChallengeResult {
    pub challenge: ChallengeType,
    pub passed: bool,
    pub attempts: u32,
    pub penalty: bool,
    /// Why its last attempt failed (None when passed or never asked).
    pub reason: Option<FailReason>,
    /// A flash challenge's last response.
    pub response: Option<Response>,
}

impl ChallengeResult {
    fn outcome(&self) -> ChallengeOutcome {
        ChallengeOutcome {
            challenge: self.challenge.name().to_string(),
            passed: self.passed,
            attempts: self.attempts,
            penalty: self.penalty,
            reason: self.reason.map(|r| r.name().to_string()),
            correlation: self.response.map(|r| r.correlation),
        }
    }
}

impl Session {
    /// The stream's figures, and the failures they make under the settings.
    pub(super) fn stream_failures(&self, failures: &mut Vec<&'static str>) -> Option<StreamFigures> {
        let figures = self.stream.figures()?;
        if figures.duplicate_share > self.settings.max_duplicate_share {
            failures.push("duplicate-frames");
        }
        if figures.sensor_noise < self.settings.min_sensor_noise {
            failures.push("no-sensor-noise");
        }
        if figures.timing_jitter_ms.is_some_and(|j| j < self.settings.min_timing_jitter_ms) {
            failures.push("regular-timing");
        }
        if self.settings.require_varying_jpeg && figures.jpeg_tables == Some(1) {
            failures.push("static-jpeg-tables");
        }
        Some(figures)
    }

    pub(super) fn finish(&mut self, ended_by: Option<&'static str>, events: &mut Vec<Event>) {
        // The running challenge and those never reached count as failed; the running one
        // with the attempts it had.
        for (index, &challenge) in self.queue.iter().enumerate().skip(self.results.len()) {
            let running = index == self.index && (self.challenge_started_at.is_some() || self.attempt_number > 0);
            self.results.push(ChallengeResult {
                challenge,
                passed: false,
                attempts: if running { self.attempt_number + 1 } else { 0 },
                penalty: self.penalty_index == Some(index),
                reason: None,
                response: None,
            });
        }
        let passed_challenges = self.results.iter().filter(|r| r.passed).count() as u32;
        let total = self.queue.len().max(1) as u32;
        let liveness_score = passed_challenges as f32 / total as f32;
        let surface_score = (self.surface_frames > 0).then(|| (self.surface_sum / self.surface_frames as f64) as f32);
        let mut failures: Vec<&'static str> = ended_by.into_iter().collect();
        if self.neutral.is_none() {
            // Nothing was asked: the session's finding is why, not a low score.
            if ended_by != Some("several-faces") {
                failures.push(if self.face_seen { "not-calibrated" } else { "no-face" });
            }
        } else if liveness_score < self.settings.min_liveness_score {
            // What the failed challenges failed for; the challenges never asked (the session
            // ended before them) add nothing of their own, only the low score if nothing else
            // explains it.
            let mut low_score = true;
            for result in self.results.iter().filter(|r| !r.passed && (r.attempts > 0 || r.reason.is_some())) {
                let failure = result.reason.map_or("liveness-score", FailReason::verdict_failure);
                low_score = false;
                if !failures.contains(&failure) {
                    failures.push(failure);
                }
            }
            if low_score && !failures.contains(&"liveness-score") {
                failures.push("liveness-score");
            }
        }
        match surface_score {
            Some(score) if score < self.settings.min_surface_score => failures.push("surface-score"),
            None if self.settings.require_surface && self.face_seen && !self.surface_seen => {
                failures.push("no-surface-analysis")
            }
            _ => {}
        }
        // Over the challenge frames when lvantispoof scored any, else its last word.
        let antispoof = if self.antispoof_frames > 0 {
            let frames = self.antispoof_frames;
            Some(((self.antispoof_sum / frames as f64) as f32, self.antispoof_real_frames * 2 >= frames))
        } else {
            self.antispoof
        };
        match antispoof {
            Some((_, false)) => failures.push("antispoof"),
            None if self.settings.require_antispoof && self.face_seen => failures.push("no-antispoof"),
            _ => {}
        }
        let stream = self.stream_failures(&mut failures);
        let verdict = Verdict {
            passed: failures.is_empty(),
            liveness_score,
            passed_challenges,
            total_challenges: total,
            sequence: self.queue.iter().map(|c| c.name().to_string()).collect(),
            results: self.results.iter().map(ChallengeResult::outcome).collect(),
            failures: failures.into_iter().map(str::to_string).collect(),
            surface_score,
            antispoof_score: antispoof.map(|a| a.0),
            antispoof_real: antispoof.map(|a| a.1),
            duplicate_share: stream.map(|s| s.duplicate_share),
            sensor_noise: stream.map(|s| s.sensor_noise),
            timing_jitter_ms: stream.and_then(|s| s.timing_jitter_ms),
            jpeg_tables: stream.and_then(|s| s.jpeg_tables),
        };
        self.verdict = Some(verdict.clone());
        events.push(Event::Verdict(verdict));
    }
}
