//! Presentation-attack scores of one face: the two CNNs of @vladmandic/human, the PAD
//! features of [`crate::pad`] and their calibrated fusion; and the aggregation of a track's
//! scores over its last frames (LUNA PASS's AggregateLiveness, seed 000).
//!
//! Both models take the face crop as their source makes it: the detector box enlarged 1.4x
//! about its centre, made square, RGB in [0, 1]. `antispoof.onnx` takes it at 128x128 and
//! gives a sigmoid, the probability of a real face; `liveness.onnx` takes the same crop
//! shrunk to 32x32 and gives a softmax of two classes, index 0 read as "live". The crop is
//! read from the frame once, shrunk for the second model and measured for the PAD features.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::model::{ModelError, SharedModel};
use liveness_core::crop::{FaceCrop, downsample};
use liveness_core::face::Face;
use liveness_core::frame::FrameView;
use liveness_core::pad::{Candidates, Fusion};

pub const ANTISPOOF_FILE: &str = "antispoof.onnx";
pub const LIVENESS_FILE: &str = "liveness.onnx";
const ANTISPOOF_INPUT: usize = 128;
const LIVENESS_INPUT: usize = 32;
/// Index of the "live" class in the liveness model's softmax.
const LIVENESS_LIVE_CLASS: usize = 0;

/// The mean of the CNN scores that ran (model `both`), or the one that ran.
pub fn mean_score(candidates: &Candidates) -> Option<f32> {
    match (candidates.antispoof_model, candidates.liveness_model) {
        (Some(a), Some(l)) => Some((a + l) / 2.0),
        (a, l) => a.or(l),
    }
}

pub struct Scorer {
    antispoof: Option<Arc<SharedModel>>,
    liveness: Option<Arc<SharedModel>>,
}

impl Scorer {
    pub fn new(antispoof: Option<Arc<SharedModel>>, liveness: Option<Arc<SharedModel>>) -> Self {
        Scorer { antispoof, liveness }
    }

    /// Every candidate of one face: the scores of the models loaded, and the PAD features.
    pub fn score(&self, frame: &FrameView, face: &Face) -> Result<Candidates, ModelError> {
        let crop = FaceCrop::axis_aligned(face, ANTISPOOF_INPUT).rgb_unit(frame);
        let first = |outputs: Vec<crate::model::ModelOutput>, index: usize, file: &str| {
            outputs
                .first()
                .and_then(|o| o.data.get(index))
                .copied()
                .ok_or_else(|| ModelError::Output { model: file.to_string(), reason: "empty output".into() })
        };
        let antispoof = match &self.antispoof {
            Some(model) => {
                Some(first(model.run(&crop, &[1, ANTISPOOF_INPUT, ANTISPOOF_INPUT, 3])?, 0, ANTISPOOF_FILE)?)
            }
            None => None,
        };
        let liveness = match &self.liveness {
            Some(model) => {
                let small = downsample(&crop, ANTISPOOF_INPUT, 3, ANTISPOOF_INPUT / LIVENESS_INPUT);
                Some(first(
                    model.run(&small, &[1, LIVENESS_INPUT, LIVENESS_INPUT, 3])?,
                    LIVENESS_LIVE_CLASS,
                    LIVENESS_FILE,
                )?)
            }
            None => None,
        };
        Ok(Candidates {
            antispoof_model: antispoof.map(|s| s.clamp(0.0, 1.0)),
            liveness_model: liveness.map(|s| s.clamp(0.0, 1.0)),
            features: liveness_core::pad::features(frame, face, &crop, ANTISPOOF_INPUT),
        })
    }
}

/// The frame score of one face: the fusion's when one is loaded, else the CNNs' mean.
pub fn frame_score(candidates: &Candidates, fusion: Option<&Fusion>) -> Option<f32> {
    match fusion {
        Some(fusion) => fusion.score(candidates),
        None => mean_score(candidates),
    }
}

/// How the scores of a track's last frames are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Mean,
    /// Robust to a few odd frames (motion blur, a hand passing).
    Median,
}

/// The last `window` frame scores of every track present in the latest frame.
#[derive(Debug, Default)]
pub struct Aggregator {
    tracks: HashMap<u64, VecDeque<f32>>,
}

impl Aggregator {
    /// Adds this frame's score of `track` and returns (aggregated score, frames covered).
    pub fn push(&mut self, track: u64, score: f32, window: usize, how: Aggregation) -> (f32, u32) {
        let scores = self.tracks.entry(track).or_default();
        scores.push_back(score);
        while scores.len() > window.max(1) {
            scores.pop_front();
        }
        let value = match how {
            Aggregation::Mean => scores.iter().sum::<f32>() / scores.len() as f32,
            Aggregation::Median => {
                let mut sorted: Vec<f32> = scores.iter().copied().collect();
                sorted.sort_by(f32::total_cmp);
                let mid = sorted.len() / 2;
                if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] }
            }
        };
        (value, scores.len() as u32)
    }

    /// Forgets the tracks that are not in `present`.
    pub fn retain(&mut self, present: &[u64]) {
        self.tracks.retain(|track, _| present.contains(track));
    }

    pub fn clear(&mut self) {
        self.tracks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_score_is_the_mean_of_what_ran() {
        let both = Candidates { antispoof_model: Some(0.8), liveness_model: Some(0.4), ..Candidates::default() };
        assert_eq!(mean_score(&both), Some(0.6));
        assert_eq!(frame_score(&both, None), Some(0.6));
        let one = Candidates { liveness_model: Some(0.4), ..Candidates::default() };
        assert_eq!(mean_score(&one), Some(0.4));
        assert_eq!(mean_score(&Candidates::default()), None);
    }

    #[test]
    fn aggregation_over_a_sliding_window() {
        let mut aggregator = Aggregator::default();
        assert_eq!(aggregator.push(1, 1.0, 3, Aggregation::Mean), (1.0, 1));
        assert_eq!(aggregator.push(1, 0.0, 3, Aggregation::Mean), (0.5, 2));
        aggregator.push(1, 0.5, 3, Aggregation::Mean);
        // The first score leaves the window.
        assert_eq!(aggregator.push(1, 0.5, 3, Aggregation::Mean), (1.0 / 3.0, 3));
        // Another track has its own window.
        assert_eq!(aggregator.push(2, 0.9, 3, Aggregation::Median), (0.9, 1));
        // Median of 0.0, 0.5, 0.5, 0.1 over the last 3: 0.5, 0.5, 0.1 -> 0.5.
        assert_eq!(aggregator.push(1, 0.1, 3, Aggregation::Median), (0.5, 3));
        aggregator.retain(&[2]);
        assert_eq!(aggregator.push(1, 0.2, 3, Aggregation::Mean), (0.2, 1));
    }
}
