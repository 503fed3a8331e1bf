//! Age check of the best shot with the GEAR model of @vladmandic/human (seed 002:
//! `minAgeThreshold` 18, `minAgeConfidence` 0.70), run once per session.
//!
//! GEAR gives probabilities of seven age classes. The estimate in years is their weighted
//! mean with the source's class weights; the confidence that the person is at least `min_age`
//! is the probability of the classes that lie wholly at or above `min_age` (the class that
//! contains `min_age` counts against, so the check errs on the side of "too young").

use crate::frame::{Affine, FrameView, PixelLayout, YuvMatrix, resample_rgb};
use crate::model::{ModelError, SharedModel, output};

pub const GEAR_FILE: &str = "gear.onnx";
const GEAR_INPUT: usize = 198;
const GEAR_AGE_OUTPUT: &str = "age_output";

/// Seed 002 `minAgeThreshold`.
pub const MIN_AGE_YEARS: u32 = 18;
/// Seed 002 `minAgeConfidence`.
pub const MIN_AGE_CONFIDENCE: f32 = 0.70;

/// GEAR's age classes: first and last year, and the source's weight for the estimate.
const AGE_CLASSES: [(u32, u32, f32); 7] = [
    (0, 20, 15.0),
    (21, 25, 23.0),
    (26, 30, 28.0),
    (31, 40, 35.5),
    (41, 50, 45.5),
    (51, 60, 55.5),
    (61, u32::MAX, 65.0),
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeEstimate {
    pub years: f32,
    /// Class probabilities, normalised to sum 1.
    pub probabilities: [f32; 7],
}

impl AgeEstimate {
    /// From GEAR's `age_output`; None when it does not hold seven non-negative numbers with a
    /// positive sum.
    pub fn from_output(values: &[f32]) -> Option<AgeEstimate> {
        let values: [f32; 7] = values.try_into().ok()?;
        let sum: f32 = values.iter().sum();
        if !sum.is_finite() || sum <= 0.0 || values.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return None;
        }
        let probabilities = values.map(|v| v / sum);
        let years = probabilities.iter().zip(AGE_CLASSES).map(|(p, (_, _, weight))| p * weight).sum();
        Some(AgeEstimate { years, probabilities })
    }

    /// Probability that the person is at least `min_age` years old.
    pub fn probability_at_least(&self, min_age: u32) -> f32 {
        self.probabilities.iter().zip(AGE_CLASSES).filter(|(_, (first, _, _))| *first >= min_age).map(|(p, _)| p).sum()
    }
}

/// The decision against `min_age` and `min_confidence`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeCheck {
    pub estimate: AgeEstimate,
    pub min_age: u32,
    pub min_confidence: f32,
    /// `estimate.probability_at_least(min_age)`.
    pub confidence: f32,
}

impl AgeCheck {
    pub fn new(estimate: AgeEstimate, min_age: u32, min_confidence: f32) -> AgeCheck {
        AgeCheck { estimate, min_age, min_confidence, confidence: estimate.probability_at_least(min_age) }
    }

    pub fn passed(&self) -> bool {
        self.error().is_none()
    }

    /// What failed: the estimate itself is below `min_age`, or the model is not sure enough.
    pub fn error(&self) -> Option<crate::errors::ErrorCode> {
        use crate::errors::ErrorCode;
        if self.estimate.years < self.min_age as f32 {
            Some(ErrorCode::AgeBelowThreshold)
        } else if self.confidence < self.min_confidence {
            Some(ErrorCode::AgeUncertain)
        } else {
            None
        }
    }
}

/// GEAR's input from a best-shot crop (RGB, `size` x `size`, the 1.4x face crop): the region
/// from 10 % to 90 % across and 0 % to 90 % down, 198 x 198, RGB in [0, 1].
pub fn gear_input(rgb: &[u8], size: usize) -> Result<Vec<f32>, crate::frame::FrameError> {
    let crop = FrameView::new(
        size,
        size,
        PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
        [rgb, &[], &[]],
        [size * 3, 0, 0],
        YuvMatrix::BT601_LIMITED,
    )?;
    let region = size as f32;
    let map = Affine {
        xu: 0.8 * region / GEAR_INPUT as f32,
        xv: 0.0,
        x0: 0.1 * region,
        yu: 0.0,
        yv: 0.9 * region / GEAR_INPUT as f32,
        y0: 0.0,
    };
    let mut input = vec![0.0f32; GEAR_INPUT * GEAR_INPUT * 3];
    resample_rgb(&crop, &map, GEAR_INPUT, GEAR_INPUT, &mut input, |v| v * (1.0 / 255.0));
    Ok(input)
}

/// Runs GEAR on a best-shot crop.
pub fn estimate(model: &SharedModel, rgb: &[u8], size: usize) -> Result<AgeEstimate, ModelError> {
    let bad = |reason: String| ModelError::Output { model: GEAR_FILE.to_string(), reason };
    let input = gear_input(rgb, size).map_err(|err| bad(err.to_string()))?;
    let outputs = model.run(&input, &[1, GEAR_INPUT, GEAR_INPUT, 3])?;
    let age = output(&outputs, GEAR_AGE_OUTPUT, GEAR_FILE)?;
    AgeEstimate::from_output(&age.data).ok_or_else(|| bad(format!("{GEAR_AGE_OUTPUT} is not 7 probabilities")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorCode;

    #[test]
    fn years_are_the_weighted_mean_and_confidence_counts_whole_classes() {
        let e = AgeEstimate::from_output(&[0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0]).unwrap();
        assert!((e.years - 31.75).abs() < 1e-5);
        assert_eq!(e.probability_at_least(18), 1.0);
        assert_eq!(e.probability_at_least(30), 0.5);
        // Unnormalised output is normalised.
        let e = AgeEstimate::from_output(&[2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        assert!((e.years - 19.0).abs() < 1e-5);
        // The "below 20" class counts against 18.
        assert!((e.probability_at_least(18) - 0.5).abs() < 1e-6);
        assert!((e.probability_at_least(21) - 0.5).abs() < 1e-6);
        assert!(AgeEstimate::from_output(&[0.0; 7]).is_none());
        assert!(AgeEstimate::from_output(&[1.0; 6]).is_none());
        assert!(AgeEstimate::from_output(&[f32::NAN, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_none());
    }

    #[test]
    fn the_check_names_what_failed() {
        let adult = AgeEstimate::from_output(&[0.1, 0.3, 0.3, 0.3, 0.0, 0.0, 0.0]).unwrap();
        assert!(AgeCheck::new(adult, 18, 0.7).passed());
        assert_eq!(AgeCheck::new(adult, 18, 0.95).error(), Some(ErrorCode::AgeUncertain));
        assert_eq!(AgeCheck::new(adult, 40, 0.7).error(), Some(ErrorCode::AgeBelowThreshold));
        let young = AgeEstimate::from_output(&[0.9, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(AgeCheck::new(young, 18, 0.7).error(), Some(ErrorCode::AgeBelowThreshold));
    }
}
