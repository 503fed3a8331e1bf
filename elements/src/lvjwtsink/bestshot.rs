//! The best shot of a session: the frame whose main face is sharpest, best exposed, most
//! frontal and largest, kept as one RGB face crop in memory and encoded as JPEG for the token.

use liveness_core::crop::{FACE_CROP_ENLARGE, FaceCrop};
use liveness_core::face::Face;
use liveness_core::frame::{FrameView, resample_rgb};

/// Head turned this far (yaw and pitch combined, degrees) makes a shot worthless.
pub const MAX_POSE_DEGREES: f32 = 45.0;
/// Face boxes this wide (shorter side, pixels) and wider get the full size score.
pub const FULL_SIZE_PX: f32 = 160.0;
/// The crop never has fewer pixels a side than this, even for tiny faces.
pub const MIN_CROP_PX: usize = 32;

/// How good a face is as a best shot: the product of four 0..1 scores. A score the pipeline
/// cannot measure (no lvsurfaceanalysis, no lvlandmarks) is 1, so it does not rank frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShotScore {
    /// lvsurfaceanalysis quality `blur` (Laplacian variance; 1 = sharp).
    pub sharpness: f32,
    /// Mean of quality `light`, `darkness`, `illumination` and `specularity`.
    pub exposure: f32,
    /// 1 facing the camera, 0 at `MAX_POSE_DEGREES` of yaw and pitch combined (lvlandmarks).
    pub frontal: f32,
    /// Shorter side of the face box over `FULL_SIZE_PX`, at most 1.
    pub size: f32,
}

impl ShotScore {
    pub fn of(face: &Face) -> ShotScore {
        let (sharpness, exposure) = match face.quality {
            Some(q) => (q.blur, (q.light + q.darkness + q.illumination + q.specularity) / 4.0),
            None => (1.0, 1.0),
        };
        let frontal =
            face.head_pose.map(|p| 1.0 - p.yaw_degrees.hypot(p.pitch_degrees) / MAX_POSE_DEGREES).unwrap_or(1.0);
        let size = face.bbox.width.min(face.bbox.height) / FULL_SIZE_PX;
        ShotScore {
            sharpness: sharpness.clamp(0.0, 1.0),
            exposure: exposure.clamp(0.0, 1.0),
            frontal: frontal.clamp(0.0, 1.0),
            size: size.clamp(0.0, 1.0),
        }
    }

    pub fn total(&self) -> f32 {
        self.sharpness * self.exposure * self.frontal * self.size
    }
}

/// The kept best shot.
#[derive(Debug, Clone, PartialEq)]
pub struct BestShot {
    /// RGB, `crop_size` x `crop_size` x 3: the face box enlarged 1.4x about its centre, made
    /// square (the region the face models see, so the age model can run on it later).
    pub rgb: Vec<u8>,
    pub crop_size: usize,
    /// The face as the elements upstream left it, in frame pixels.
    pub face: Face,
    pub frame_width: u32,
    pub frame_height: u32,
    pub score: ShotScore,
    /// Presentation timestamp of the frame, in nanoseconds.
    pub pts_ns: Option<u64>,
}

impl BestShot {
    /// Cuts the face's crop out of `frame` at the face's own resolution, at most `max_size`
    /// pixels a side.
    pub fn capture(frame: &FrameView, face: &Face, score: ShotScore, max_size: usize, pts_ns: Option<u64>) -> BestShot {
        let side = face.bbox.width.max(face.bbox.height) * FACE_CROP_ENLARGE;
        let crop_size = (side.round() as usize).clamp(MIN_CROP_PX, max_size.max(MIN_CROP_PX));
        let crop = FaceCrop::axis_aligned(face, crop_size);
        let mut rgb = vec![0.0f32; crop_size * crop_size * 3];
        resample_rgb(frame, &crop.to_frame, crop_size, crop_size, &mut rgb, |v| v);
        BestShot {
            rgb: rgb.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect(),
            crop_size,
            face: face.clone(),
            frame_width: frame.width as u32,
            frame_height: frame.height as u32,
            score,
            pts_ns,
        }
    }

    /// The crop as a baseline JPEG of `quality` (1..100).
    pub fn jpeg(&self, quality: u8) -> Result<Vec<u8>, image::ImageError> {
        let size = self.crop_size as u32;
        liveness_core::frame::encode_jpeg(&self.rgb, size, size, quality)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liveness_core::face::QualityResult;
    use liveness_core::face::{HeadPose, Keypoints, Rect};
    use liveness_core::frame::{PixelLayout, YuvMatrix};

    fn face(side: f32) -> Face {
        Face::new(1, Rect { x: 100.0, y: 80.0, width: side, height: side }, 0.9, Keypoints::default())
    }

    fn quality(blur: f32) -> QualityResult {
        QualityResult {
            blur,
            is_blurred: false,
            light: 1.0,
            is_highlighted: false,
            darkness: 1.0,
            is_dark: false,
            illumination: 0.8,
            is_illuminated: false,
            specularity: 1.0,
            is_specular: false,
        }
    }

    #[test]
    fn sharp_frontal_large_faces_score_best() {
        let mut good = face(200.0);
        good.quality = Some(quality(0.9));
        good.head_pose = Some(HeadPose { yaw_degrees: 2.0, pitch_degrees: -3.0, roll_degrees: 5.0 });
        let mut blurred = good.clone();
        blurred.quality = Some(quality(0.2));
        let mut turned = good.clone();
        turned.head_pose = Some(HeadPose { yaw_degrees: 30.0, pitch_degrees: 0.0, roll_degrees: 0.0 });
        let mut small = good.clone();
        small.bbox.width = 80.0;
        small.bbox.height = 80.0;
        let best = ShotScore::of(&good).total();
        for other in [&blurred, &turned, &small] {
            assert!(ShotScore::of(other).total() < best * 0.6, "{:?}", ShotScore::of(other));
        }
        assert_eq!(ShotScore::of(&good).size, 1.0);
        assert!((ShotScore::of(&good).exposure - 0.95).abs() < 1e-6);
        // Nothing measured: only the size ranks.
        assert_eq!(ShotScore::of(&face(80.0)).total(), 0.5);
    }

    #[test]
    fn capture_cuts_the_enlarged_face_region_and_encodes_a_jpeg() {
        // A 320x240 RGB frame: red left half, blue right half.
        let (w, h) = (320usize, 240usize);
        let mut pixels = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let p = (y * w + x) * 3;
                if x < 160 {
                    pixels[p] = 200;
                } else {
                    pixels[p + 2] = 200;
                }
            }
        }
        let frame = FrameView::new(
            w,
            h,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            [&pixels, &[], &[]],
            [w * 3, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        // Face box 100x100 centred on the boundary: the crop is 140 px, half red, half blue.
        let f = Face::new(1, Rect { x: 110.0, y: 70.0, width: 100.0, height: 100.0 }, 0.9, Keypoints::default());
        let shot = BestShot::capture(&frame, &f, ShotScore::of(&f), 400, Some(5));
        assert_eq!(shot.crop_size, 140);
        let at = |x: usize, y: usize| &shot.rgb[(y * 140 + x) * 3..(y * 140 + x) * 3 + 3];
        assert_eq!(at(10, 70), &[200, 0, 0]);
        assert_eq!(at(130, 70), &[0, 0, 200]);
        // Capped at max_size.
        assert_eq!(BestShot::capture(&frame, &f, ShotScore::of(&f), 64, None).crop_size, 64);
        let jpeg = shot.jpeg(90).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        let decoded = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (140, 140));
    }
}
