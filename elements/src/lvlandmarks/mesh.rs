//! What the 468-point MediaPipe face mesh says about a face: head pose, eye aspect ratios and
//! how far the mouth is open. Plain geometry over mesh points.
//!
//! Head pose: the face's own axes are built from the mesh's 3D points (x from the person's
//! right outer eye corner to the left one, y from the nasion to the base of the nose, z their
//! cross product),
//! which is the rotation of the face against the camera; yaw, pitch and roll are read from
//! that rotation matrix (yaw about the face's vertical axis, pitch about its horizontal axis,
//! roll in the image plane). This is the method of @vladmandic/human's face angle, which needs
//! no canonical face model, with one change: human's vertical axis runs from forehead top to
//! chin, a line that leans back by about 12 degrees on a frontal face (measured on the
//! astronaut photo: z -12 at the forehead, +10 under the chin over 100 px), so a frontal face
//! read 12 degrees "down"; nasion and nose base lie in the facial plane and stand square to
//! the camera on a frontal face. Signs follow the person: yaw > 0 is a turn to their left (the
//! nose moves to the image's right in an unmirrored frame, as seed 002's `turn_left`
//! rule `nose.x - eyeMid.x > 0`), pitch > 0 is looking up, roll > 0 leans the head so the
//! left eye is lower in the image.

use liveness_core::face::{Eyes, HeadPose, Mouth};

pub type MeshPoint = [f32; 3];

/// Mesh indices (MediaPipe face mesh topology).
pub mod index {
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const LEFT_EYE_OUTER: usize = 263;
    /// Nasion (top of the nose bridge, between the eyes).
    pub const NASION: usize = 168;
    /// Base of the nose (subnasale).
    pub const NOSE_BASE: usize = 2;
    pub const NOSE_TIP: usize = 1;
    /// Eye contour for the eye aspect ratio: outer corner, two upper lid points, inner
    /// corner, two lower lid points (p1..p6 of Soukupová and Čech).
    pub const RIGHT_EYE: [usize; 6] = [33, 160, 158, 133, 153, 144];
    pub const LEFT_EYE: [usize; 6] = [263, 387, 385, 362, 380, 373];
    pub const RIGHT_EYE_CENTRE: [usize; 2] = [33, 133];
    pub const LEFT_EYE_CENTRE: [usize; 2] = [263, 362];
    pub const UPPER_LIP_INNER: usize = 13;
    pub const LOWER_LIP_INNER: usize = 14;
    pub const MOUTH_CORNER_RIGHT: usize = 61;
    pub const MOUTH_CORNER_LEFT: usize = 291;
}

pub const MESH_POINTS: usize = 468;

/// Eye aspect ratio below which an eye counts as closed (open eyes measure about 0.25-0.35
/// on the mesh; the usual blink threshold of EAR detectors is 0.2).
pub const DEFAULT_EYE_CLOSED_RATIO: f32 = 0.2;

fn sub(a: MeshPoint, b: MeshPoint) -> MeshPoint {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn norm(a: MeshPoint) -> f32 {
    (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
}

fn normalize(a: MeshPoint) -> MeshPoint {
    let n = norm(a).max(f32::EPSILON);
    [a[0] / n, a[1] / n, a[2] / n]
}

fn cross(a: MeshPoint, b: MeshPoint) -> MeshPoint {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn distance_2d(a: MeshPoint, b: MeshPoint) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Head pose from mesh points given in a crop turned by `crop_angle` radians against the
/// frame (the turn is added to roll).
pub fn head_pose(points: &[MeshPoint], crop_angle: f32) -> HeadPose {
    use index::*;
    let x_axis = normalize(sub(points[LEFT_EYE_OUTER], points[RIGHT_EYE_OUTER]));
    let down = sub(points[NOSE_BASE], points[NASION]);
    let z_axis = normalize(cross(x_axis, down));
    let y_axis = cross(z_axis, x_axis);
    // The face's axes in camera coordinates are the columns of its rotation; yaw tips the x
    // axis out of the image plane, roll turns it within, pitch tips the y axis out.
    let yaw = (-x_axis[2]).clamp(-1.0, 1.0).asin();
    let roll = x_axis[1].atan2(x_axis[0]);
    // Looking up brings the base of the nose toward the camera: the y axis (nasion to nose
    // base) gets a negative z.
    let pitch = (-y_axis[2]).atan2(z_axis[2]);
    HeadPose {
        // The mesh's z grows away from the camera: a turn to the person's left takes their
        // left eye away, x_axis.z > 0, so the sign is flipped once more here.
        yaw_degrees: -yaw.to_degrees(),
        pitch_degrees: pitch.to_degrees(),
        roll_degrees: (roll + crop_angle).to_degrees(),
    }
}

/// Eye aspect ratio of one eye: (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|), in the image plane.
pub fn eye_aspect_ratio(points: &[MeshPoint], eye: [usize; 6]) -> f32 {
    let p = eye.map(|i| points[i]);
    let width = distance_2d(p[0], p[3]);
    if width <= f32::EPSILON {
        return 0.0;
    }
    (distance_2d(p[1], p[5]) + distance_2d(p[2], p[4])) / (2.0 * width)
}

pub fn eyes(points: &[MeshPoint], closed_ratio: f32) -> Eyes {
    let right = eye_aspect_ratio(points, index::RIGHT_EYE);
    let left = eye_aspect_ratio(points, index::LEFT_EYE);
    Eyes {
        right_eye_aspect_ratio: right,
        left_eye_aspect_ratio: left,
        closed: right < closed_ratio && left < closed_ratio,
    }
}

/// Inner lip gap over mouth width (0 when closed).
pub fn mouth_opened(points: &[MeshPoint]) -> f32 {
    use index::*;
    let width = distance_2d(points[MOUTH_CORNER_RIGHT], points[MOUTH_CORNER_LEFT]);
    if width <= f32::EPSILON {
        return 0.0;
    }
    distance_2d(points[UPPER_LIP_INNER], points[LOWER_LIP_INNER]) / width
}

pub fn mouth(points: &[MeshPoint], smile: f32) -> Mouth {
    Mouth { opened: mouth_opened(points), smile }
}

/// Emotion classes of the emotion model, in output order.
pub const EMOTIONS: [&str; 7] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
pub const HAPPY: usize = 3;

/// The emotion model's input from an RGB [0, 1] crop already at 64x64: grey
/// (0.2989 R + 0.587 G + 0.114 B), then `(g - 0.5) * 2`, as its source prepares it.
pub fn emotion_input(rgb64: &[f32]) -> Vec<f32> {
    rgb64.chunks_exact(3).map(|p| (0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2] - 0.5) * 2.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schematic frontal face: eyes, forehead, chin, mouth in a 192 crop, z = 0.
    fn frontal() -> Vec<MeshPoint> {
        let mut points = vec![[96.0, 96.0, 0.0]; MESH_POINTS];
        let mut set = |i: usize, x: f32, y: f32| points[i] = [x, y, 0.0];
        set(index::RIGHT_EYE_OUTER, 60.0, 80.0);
        set(index::LEFT_EYE_OUTER, 132.0, 80.0);
        set(index::NASION, 96.0, 80.0);
        set(index::NOSE_BASE, 96.0, 120.0);
        // Right eye: width 24, lid gap 8 -> EAR 8/24.
        set(160, 68.0, 76.0);
        set(158, 76.0, 76.0);
        set(133, 84.0, 80.0);
        set(153, 76.0, 84.0);
        set(144, 68.0, 84.0);
        // Left eye the same, mirrored.
        set(387, 124.0, 76.0);
        set(385, 116.0, 76.0);
        set(362, 108.0, 80.0);
        set(380, 116.0, 84.0);
        set(373, 124.0, 84.0);
        set(index::MOUTH_CORNER_RIGHT, 76.0, 140.0);
        set(index::MOUTH_CORNER_LEFT, 116.0, 140.0);
        set(index::UPPER_LIP_INNER, 96.0, 138.0);
        set(index::LOWER_LIP_INNER, 96.0, 142.0);
        points
    }

    /// Turns the points about the face centre: yaw about the vertical axis, the person's left
    /// eye moving away from the camera (z grows) for a positive turn to their left.
    fn turned(points: &[MeshPoint], yaw_degrees: f32) -> Vec<MeshPoint> {
        let (s, c) = yaw_degrees.to_radians().sin_cos();
        points
            .iter()
            .map(|p| {
                let (x, z) = (p[0] - 96.0, p[2]);
                [96.0 + x * c - z * s, p[1], x * s + z * c]
            })
            .collect()
    }

    #[test]
    fn frontal_face_has_zero_pose() {
        let pose = head_pose(&frontal(), 0.0);
        assert!(
            pose.yaw_degrees.abs() < 1e-3 && pose.pitch_degrees.abs() < 1e-3 && pose.roll_degrees.abs() < 1e-3,
            "{pose:?}"
        );
    }

    #[test]
    fn turning_left_is_positive_yaw_and_crop_angle_is_roll() {
        let pose = head_pose(&turned(&frontal(), 30.0), 0.0);
        assert!((pose.yaw_degrees - 30.0).abs() < 0.5, "{pose:?}");
        assert!(pose.pitch_degrees.abs() < 0.5, "{pose:?}");
        let leaning = head_pose(&frontal(), 15f32.to_radians());
        assert!((leaning.roll_degrees - 15.0).abs() < 1e-3, "{leaning:?}");
    }

    #[test]
    fn looking_up_is_positive_pitch() {
        // Nose base forward (closer, smaller z), nasion back.
        let mut points = frontal();
        points[index::NOSE_BASE][2] = -15.0;
        points[index::NASION][2] = 15.0;
        let pose = head_pose(&points, 0.0);
        assert!(pose.pitch_degrees > 20.0, "{pose:?}");
    }

    #[test]
    fn eye_and_mouth_ratios() {
        let mut points = frontal();
        let open = eyes(&points, DEFAULT_EYE_CLOSED_RATIO);
        assert!((open.right_eye_aspect_ratio - 8.0 / 24.0).abs() < 1e-5);
        assert!((open.left_eye_aspect_ratio - 8.0 / 24.0).abs() < 1e-5);
        assert!(!open.closed);
        for i in [160, 158, 153, 144, 387, 385, 380, 373] {
            points[i][1] = 80.0 + (points[i][1] - 80.0) / 8.0;
        }
        let shut = eyes(&points, DEFAULT_EYE_CLOSED_RATIO);
        assert!(shut.closed, "{shut:?}");
        assert!((mouth_opened(&frontal()) - 0.1).abs() < 1e-5);
    }
}
