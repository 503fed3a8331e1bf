//! Face crops: the square regions around a detected face that the face models take, made
//! once per face and frame and shared by the models that need the same region.

use crate::face::{Face, Point};
use crate::frame::{Affine, FrameView, resample_rgb};

/// The face models' source enlarges the detector box by this factor about its centre
/// before cropping (@vladmandic/human).
pub const FACE_CROP_ENLARGE: f32 = 1.4;

/// A square region of a frame, possibly rotated, seen as an `size` x `size` pixel image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceCrop {
    /// Crop pixel (u, v) to frame pixel.
    pub to_frame: Affine,
    pub size: usize,
    /// Rotation of the crop's axes against the frame's, radians, clockwise as displayed.
    pub angle: f32,
}

impl FaceCrop {
    /// The detector box enlarged by `enlarge` about its centre, made square (longer side),
    /// and turned by `angle` radians about its centre.
    pub fn around(face: &Face, enlarge: f32, angle: f32, size: usize) -> FaceCrop {
        let centre = face.bbox.center();
        let side = face.bbox.width.max(face.bbox.height) * enlarge;
        let scale = side / size as f32;
        let (sin, cos) = angle.sin_cos();
        let half = size as f32 / 2.0;
        // frame = centre + R(angle) * (crop - half) * scale
        let to_frame = Affine {
            xu: cos * scale,
            xv: -sin * scale,
            x0: centre.x - (cos * half - sin * half) * scale,
            yu: sin * scale,
            yv: cos * scale,
            y0: centre.y - (sin * half + cos * half) * scale,
        };
        FaceCrop { to_frame, size, angle }
    }

    /// Axis-aligned crop as the anti-spoofing and emotion models' source makes it.
    pub fn axis_aligned(face: &Face, size: usize) -> FaceCrop {
        FaceCrop::around(face, FACE_CROP_ENLARGE, 0.0, size)
    }

    /// Crop turned so the eyes lie level (the face stands upright in the crop).
    pub fn upright(face: &Face, enlarge: f32, size: usize) -> FaceCrop {
        FaceCrop::around(face, enlarge, eye_line_angle(face), size)
    }

    /// Crop pixel to frame pixel.
    pub fn frame_point(&self, u: f32, v: f32) -> Point {
        let (x, y) = self.to_frame.apply(u, v);
        Point { x, y }
    }

    /// Frame pixels per crop pixel.
    pub fn scale(&self) -> f32 {
        self.to_frame.scale()
    }

    /// The crop's RGB pixels (NHWC, `size` x `size` x 3) with values `v / 255` (0..1).
    pub fn rgb_unit(&self, frame: &FrameView) -> Vec<f32> {
        let mut out = vec![0.0; self.size * self.size * 3];
        resample_rgb(frame, &self.to_frame, self.size, self.size, &mut out, |v| v * (1.0 / 255.0));
        out
    }
}

/// Angle of the line from the person's right eye to their left eye (radians; 0 when level,
/// positive when the left eye is lower in the image).
pub fn eye_line_angle(face: &Face) -> f32 {
    let (r, l) = (face.keypoints.right_eye, face.keypoints.left_eye);
    (l.y - r.y).atan2(l.x - r.x)
}

/// Shrinks an NHWC image with `channels` channels by an integer `factor`, averaging each
/// factor x factor block (`size` must be a multiple of `factor`).
pub fn downsample(image: &[f32], size: usize, channels: usize, factor: usize) -> Vec<f32> {
    let out_size = size / factor;
    let mut out = vec![0.0; out_size * out_size * channels];
    let area = (factor * factor) as f32;
    for v in 0..out_size {
        for u in 0..out_size {
            for c in 0..channels {
                let mut sum = 0.0;
                for dy in 0..factor {
                    for dx in 0..factor {
                        sum += image[((v * factor + dy) * size + u * factor + dx) * channels + c];
                    }
                }
                out[(v * out_size + u) * channels + c] = sum / area;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{Keypoints, Rect};

    fn face_at(cx: f32, cy: f32, side: f32, angle: f32) -> Face {
        let half_eye = side / 4.0;
        let (sin, cos) = angle.sin_cos();
        let keypoints = Keypoints {
            right_eye: Point { x: cx - half_eye * cos, y: cy - half_eye * sin },
            left_eye: Point { x: cx + half_eye * cos, y: cy + half_eye * sin },
            ..Keypoints::default()
        };
        Face::new(1, Rect { x: cx - side / 2.0, y: cy - side / 2.0, width: side, height: side }, 0.9, keypoints)
    }

    #[test]
    fn axis_aligned_crop_covers_the_enlarged_box() {
        let crop = FaceCrop::axis_aligned(&face_at(100.0, 50.0, 40.0, 0.0), 128);
        let top_left = crop.frame_point(0.0, 0.0);
        let bottom_right = crop.frame_point(128.0, 128.0);
        assert!((top_left.x - 72.0).abs() < 1e-3 && (top_left.y - 22.0).abs() < 1e-3, "{top_left:?}");
        assert!((bottom_right.x - 128.0).abs() < 1e-3 && (bottom_right.y - 78.0).abs() < 1e-3, "{bottom_right:?}");
    }

    #[test]
    fn upright_crop_follows_the_eye_line() {
        let angle = 20f32.to_radians();
        let face = face_at(100.0, 100.0, 80.0, angle);
        assert!((eye_line_angle(&face) - angle).abs() < 1e-5);
        let crop = FaceCrop::upright(&face, 1.5, 192);
        // The crop's horizontal axis runs along the eye line, its centre is the face centre.
        let centre = crop.frame_point(96.0, 96.0);
        assert!((centre.x - 100.0).abs() < 1e-3 && (centre.y - 100.0).abs() < 1e-3);
        let right = crop.frame_point(192.0, 96.0);
        let along = (right.y - centre.y).atan2(right.x - centre.x);
        assert!((along - angle).abs() < 1e-4, "{along}");
    }

    #[test]
    fn downsample_averages_blocks() {
        let image: Vec<f32> = (0..16).map(|i| i as f32).collect(); // 4x4, one channel
        assert_eq!(downsample(&image, 4, 1, 2), vec![2.5, 4.5, 10.5, 12.5]);
    }
}
