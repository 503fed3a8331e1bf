//! Runs the face mesh and emotion models on one face: upright 192x192 crop, mesh, then the
//! geometry of [`super::mesh`]; the emotion model takes the same crop shrunk to 64x64.

use std::sync::Arc;

use super::mesh::{self, MESH_POINTS, MeshPoint};
use crate::model::{ModelError, SharedModel, output};
use liveness_core::crop::{FaceCrop, downsample};
use liveness_core::face::{Eyes, Face, HeadPose, Landmarks, Mouth};
use liveness_core::frame::FrameView;

pub const MESH_FILE: &str = "facemesh.onnx";
pub const EMOTION_FILE: &str = "emotion.onnx";
const MESH_INPUT: usize = 192;
const EMOTION_INPUT: usize = 64;
/// Detector box enlargement for the mesh crop, as the mesh's source crops (human).
const MESH_CROP_ENLARGE: f32 = 1.4;

/// Settings the analysis takes from the element's properties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzerSettings {
    /// Mesh face-flag probability below which the mesh is dropped.
    pub min_face_flag: f32,
    pub eye_closed_ratio: f32,
    /// Run the emotion model; without it the smile reads 0.
    pub emotion: bool,
}

/// What the models found on one face.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceAnalysis {
    pub landmarks: Landmarks,
    pub head_pose: HeadPose,
    pub eyes: Eyes,
    pub mouth: Mouth,
}

impl FaceAnalysis {
    /// Writes the results into the face's meta entry.
    pub fn apply_to(&self, face: &mut Face) {
        face.landmarks = Some(self.landmarks.clone());
        face.head_pose = Some(self.head_pose);
        face.eyes = Some(self.eyes);
        face.mouth = Some(self.mouth);
    }
}

pub struct Analyzer {
    mesh: Arc<SharedModel>,
    emotion: Arc<SharedModel>,
}

impl Analyzer {
    pub fn new(mesh: Arc<SharedModel>, emotion: Arc<SharedModel>) -> Self {
        Analyzer { mesh, emotion }
    }

    /// The analysis of `face`, or None when the mesh model does not see a face in the crop.
    pub fn analyze(
        &self,
        frame: &FrameView,
        face: &Face,
        settings: &AnalyzerSettings,
    ) -> Result<Option<FaceAnalysis>, ModelError> {
        let crop = FaceCrop::upright(face, MESH_CROP_ENLARGE, MESH_INPUT);
        let rgb = crop.rgb_unit(frame);
        let outputs = self.mesh.run(&rgb, &[1, MESH_INPUT, MESH_INPUT, 3])?;
        let face_flag = output(&outputs, "output_faceflag", MESH_FILE)?.data.first().copied().unwrap_or(0.0);
        if face_flag.is_nan() || face_flag < settings.min_face_flag {
            return Ok(None);
        }
        let raw = &output(&outputs, "output_mesh", MESH_FILE)?.data;
        if raw.len() != MESH_POINTS * 3 {
            return Err(ModelError::Output {
                model: MESH_FILE.into(),
                reason: format!("{} mesh values, expected {}", raw.len(), MESH_POINTS * 3),
            });
        }
        let in_crop: Vec<MeshPoint> = raw.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        let scale = crop.scale();
        let points = in_crop
            .iter()
            .map(|p| {
                let at = crop.frame_point(p[0], p[1]);
                [at.x, at.y, p[2] * scale]
            })
            .collect();

        let smile = if settings.emotion {
            let grey = mesh::emotion_input(&downsample(&rgb, MESH_INPUT, 3, MESH_INPUT / EMOTION_INPUT));
            let emotions = self.emotion.run(&grey, &[1, EMOTION_INPUT, EMOTION_INPUT, 1])?;
            emotions.first().and_then(|o| o.data.get(mesh::HAPPY)).copied().unwrap_or(0.0).clamp(0.0, 1.0)
        } else {
            0.0
        };

        Ok(Some(FaceAnalysis {
            landmarks: Landmarks { points, face_flag },
            head_pose: mesh::head_pose(&in_crop, crop.angle),
            eyes: mesh::eyes(&in_crop, settings.eye_closed_ratio),
            mouth: mesh::mouth(&in_crop, smile),
        }))
    }
}
