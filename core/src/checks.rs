//! The per-frame checks of a liveness session, in the order LUNA PASS documents them: one
//! main face, its size and its distance from the frame border, image quality, then the
//! liveness findings the elements upstream left on the face.

use crate::errors::Finding;
use crate::face::{Face, MAIN_FACE_RATIO, main_faces};

/// What the checks accept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameCheckSettings {
    /// Shorter side of the face box, in pixels, below which the face is too small.
    pub min_face_px: u32,
    /// Least distance, in pixels, between the face box and every frame border.
    pub min_border_px: u32,
}

impl Default for FrameCheckSettings {
    fn default() -> Self {
        FrameCheckSettings { min_face_px: 80, min_border_px: 4 }
    }
}

/// The findings on one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameCheck {
    /// Index of the main face in the frame's faces (the largest one).
    pub main_face: Option<usize>,
    pub errors: Vec<Finding>,
}

impl FrameCheck {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Distances from the face box to the top, right, bottom and left frame borders, in pixels
/// (negative where the box crosses the border), as seed 000's `margins`.
pub fn margins(face: &Face, width: u32, height: u32) -> [f32; 4] {
    let b = face.bbox;
    [b.y, width as f32 - (b.x + b.width), height as f32 - (b.y + b.height), b.x]
}

/// Checks the faces of one `width` x `height` frame.
pub fn check_frame(faces: &[Face], width: u32, height: u32, settings: &FrameCheckSettings) -> FrameCheck {
    let main = main_faces(faces, MAIN_FACE_RATIO);
    let Some(&index) = main.first() else {
        return FrameCheck { main_face: None, errors: vec![Finding::NoFace] };
    };
    let face = &faces[index];
    let mut errors = Vec::new();
    if main.len() > 1 {
        errors.push(Finding::SeveralFaces);
    }
    if face.bbox.width.min(face.bbox.height) < settings.min_face_px as f32 {
        errors.push(Finding::FaceTooSmall);
    }
    if margins(face, width, height).iter().any(|&m| m < settings.min_border_px as f32) {
        errors.push(Finding::FaceNearBorder);
    }
    if let Some(q) = face.quality {
        for (flag, code) in [
            (q.is_blurred, Finding::Blurred),
            (q.is_dark, Finding::Dark),
            (q.is_highlighted, Finding::Overexposed),
            (q.is_illuminated, Finding::UnevenIllumination),
            (q.is_specular, Finding::Specular),
        ] {
            if flag {
                errors.push(code);
            }
        }
    }
    if face.antispoof.is_some_and(|a| !a.is_real) {
        errors.push(Finding::SpoofSuspected);
    }
    if face.surface.is_some_and(|s| !s.frame.is_real) {
        errors.push(Finding::SurfaceSuspected);
    }
    FrameCheck { main_face: Some(index), errors }
}

/// Share of a passive series' frames that must show a face for the series to count as live.
pub const MIN_FACE_FRAME_SHARE: f32 = 0.8;

/// The passive verdict on a series of frames without a challenge: a main face in at least
/// [`MIN_FACE_FRAME_SHARE`] of `frames`, and the last one's track judged real by lvantispoof
/// and lvsurfaceanalysis (both must have run).
pub fn passive_series_live(frames: usize, face_frames: usize, last: Option<&Face>) -> bool {
    let share = face_frames as f32 / frames.max(1) as f32;
    share >= MIN_FACE_FRAME_SHARE
        && last
            .is_some_and(|face| face.antispoof.is_some_and(|a| a.is_real) && face.surface.is_some_and(|s| s.session_ok))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::{Antispoof, Keypoints, Rect};

    fn face(x: f32, y: f32, side: f32) -> Face {
        Face::new(1, Rect { x, y, width: side, height: side }, 0.9, Keypoints::default())
    }

    #[test]
    fn a_centred_face_of_good_size_passes() {
        let check = check_frame(&[face(200.0, 100.0, 200.0)], 640, 480, &FrameCheckSettings::default());
        assert_eq!(check, FrameCheck { main_face: Some(0), errors: vec![] });
        assert!(check.is_ok());
    }

    #[test]
    fn each_finding_has_its_code() {
        let s = FrameCheckSettings::default();
        assert_eq!(check_frame(&[], 640, 480, &s).errors, vec![Finding::NoFace]);
        // A second main face; a background face a third as wide does not count.
        let two = [face(20.0, 100.0, 150.0), face(300.0, 100.0, 200.0)];
        let check = check_frame(&two, 640, 480, &s);
        assert_eq!((check.main_face, check.errors), (Some(1), vec![Finding::SeveralFaces]));
        let background = [face(20.0, 100.0, 60.0), face(300.0, 100.0, 200.0)];
        assert!(check_frame(&background, 640, 480, &s).is_ok());
        assert_eq!(check_frame(&[face(200.0, 100.0, 60.0)], 640, 480, &s).errors, vec![Finding::FaceTooSmall]);
        // Crossing the right border, then 2 px from the top.
        assert_eq!(check_frame(&[face(500.0, 100.0, 200.0)], 640, 480, &s).errors, vec![Finding::FaceNearBorder]);
        assert_eq!(check_frame(&[face(200.0, 2.0, 200.0)], 640, 480, &s).errors, vec![Finding::FaceNearBorder]);
        let mut spoof = face(200.0, 100.0, 200.0);
        spoof.antispoof =
            Some(Antispoof { score: 0.2, aggregated_score: 0.2, frames: 1, is_real: false, ..Antispoof::default() });
        assert_eq!(check_frame(&[spoof], 640, 480, &s).errors, vec![Finding::SpoofSuspected]);
    }

    #[test]
    fn a_passive_series_needs_faces_in_most_frames_and_both_passive_checks() {
        let mut live = face(200.0, 100.0, 200.0);
        live.antispoof = Some(Antispoof { is_real: true, ..Antispoof::default() });
        live.surface = Some(crate::face::Surface { session_ok: true, ..Default::default() });
        assert!(passive_series_live(10, 8, Some(&live)));
        assert!(!passive_series_live(10, 7, Some(&live)), "a face in 70 % of the frames");
        assert!(!passive_series_live(10, 10, None));
        let mut no_surface = live.clone();
        no_surface.surface = None;
        assert!(!passive_series_live(10, 10, Some(&no_surface)), "lvsurfaceanalysis did not run");
        let mut spoof = live.clone();
        spoof.antispoof = Some(Antispoof { is_real: false, ..Antispoof::default() });
        assert!(!passive_series_live(10, 10, Some(&spoof)));
    }

    #[test]
    fn margins_read_as_in_seed_000() {
        // Seed 000's example: faceRect 229,138 207x281 in 640x480 -> [138, 204, 61, 229].
        let f = Face::new(1, Rect { x: 229.0, y: 138.0, width: 207.0, height: 281.0 }, 0.9, Keypoints::default());
        assert_eq!(margins(&f, 640, 480), [138.0, 204.0, 61.0, 229.0]);
    }
}
