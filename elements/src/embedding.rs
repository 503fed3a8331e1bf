//! Face embeddings for face matching: the 1024-value descriptor of the `faceres` model of
//! @vladmandic/human (HSE-FaceRes), compared by cosine similarity.
//!
//! The model takes the face crop as its source prepares it: the detector box enlarged 1.4x
//! about its centre, made square and turned upright along the eye line, resized to 224x224,
//! RGB **in [0, 255]** (unlike the other face models). The descriptor is the model's
//! `global_pooling/Mean` output.
//!
//! Embeddings are computed in memory and never stored: callers keep them only for the length
//! of one comparison.

use std::sync::Arc;

use crate::model::{ModelError, SharedModel, output};
use liveness_core::crop::{FACE_CROP_ENLARGE, FaceCrop};
use liveness_core::face::Face;
use liveness_core::frame::{FrameView, resample_rgb};

pub const FACERES_FILE: &str = "faceres.onnx";
const FACERES_INPUT: usize = 224;
const FACERES_DESCRIPTOR: &str = "global_pooling/Mean";
/// Length of a descriptor.
pub const EMBEDDING_LEN: usize = 1024;

/// Cosine similarity at or above which two faces count as the same person.
///
/// Chosen by `make eval` (`lpeval --mode match`, docs/accuracy.md): the lowest hundredth above
/// every impostor pair of the tuning identities (a document photo against another person's
/// selfies, five poses through five cameras). On the reporting identities it falsely matches
/// 0.33 % of impostor pairs (1.12 % at the 0.58 of the release before) and refuses 0.22 % of
/// genuine ones. Selfies rendered from the document photo itself are easy: real photos of one
/// person taken years apart score 0.61-0.72 against each other, and a look-alike reaches 0.645,
/// so calibrate on pairs from your own documents and cameras before relying on it.
pub const SAME_PERSON_SIMILARITY: f32 = 0.61;

/// One face's descriptor, L2-normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(Vec<f32>);

impl Embedding {
    /// From a raw descriptor; None when it is empty, not finite or all zero.
    pub fn new(values: &[f32]) -> Option<Embedding> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if values.is_empty() || !norm.is_finite() || norm <= f32::EPSILON {
            return None;
        }
        Some(Embedding(values.iter().map(|v| v / norm).collect()))
    }

    /// Cosine similarity, -1..1 (1 the same direction); 0 when the lengths differ.
    pub fn similarity(&self, other: &Embedding) -> f32 {
        if self.0.len() != other.0.len() {
            return 0.0;
        }
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum::<f32>().clamp(-1.0, 1.0)
    }

    pub fn values(&self) -> &[f32] {
        &self.0
    }
}

/// Runs `faceres.onnx` on faces.
pub struct Embedder {
    model: Arc<SharedModel>,
}

impl Embedder {
    pub fn new(model: Arc<SharedModel>) -> Embedder {
        Embedder { model }
    }

    /// Loads (or reuses) the model found by [`crate::model::locate`], on one thread.
    pub fn load() -> Result<Embedder, ModelError> {
        let path = crate::model::locate(FACERES_FILE, None)?;
        Ok(Embedder::new(crate::model::shared_session(&path, 1)?))
    }

    /// The descriptor of `face` in `frame`.
    pub fn embed(&self, frame: &FrameView, face: &Face) -> Result<Embedding, ModelError> {
        let crop = FaceCrop::upright(face, FACE_CROP_ENLARGE, FACERES_INPUT);
        let mut input = vec![0.0; FACERES_INPUT * FACERES_INPUT * 3];
        resample_rgb(frame, &crop.to_frame, FACERES_INPUT, FACERES_INPUT, &mut input, |v| v);
        let outputs = self.model.run(&input, &[1, FACERES_INPUT, FACERES_INPUT, 3])?;
        let descriptor = output(&outputs, FACERES_DESCRIPTOR, FACERES_FILE)?;
        if descriptor.data.len() != EMBEDDING_LEN {
            return Err(ModelError::Output {
                model: FACERES_FILE.into(),
                reason: format!("descriptor of {} values, {EMBEDDING_LEN} expected", descriptor.data.len()),
            });
        }
        Embedding::new(&descriptor.data)
            .ok_or_else(|| ModelError::Output { model: FACERES_FILE.into(), reason: "empty descriptor".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_is_cosine_of_normalised_vectors() {
        let a = Embedding::new(&[3.0, 4.0]).unwrap();
        let b = Embedding::new(&[6.0, 8.0]).unwrap();
        let c = Embedding::new(&[-4.0, 3.0]).unwrap();
        assert!((a.similarity(&b) - 1.0).abs() < 1e-6);
        assert!(a.similarity(&c).abs() < 1e-6);
        assert_eq!(a.similarity(&Embedding::new(&[1.0, 2.0, 3.0]).unwrap()), 0.0);
        assert_eq!(Embedding::new(&[0.0, 0.0]), None);
        assert_eq!(Embedding::new(&[f32::NAN, 1.0]), None);
        assert_eq!(Embedding::new(&[]), None);
    }
}
