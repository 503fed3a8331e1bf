//! The face record: what the elements find about each face in a frame.
//!
//! `lvfacedetect` starts a [`Face`] per detected face; every later element adds its results
//! to the same record (the mesh, the pose, the presentation-attack score, the surface checks,
//! the challenge state). The elements carry it on each buffer in their `FaceMeta`; the server
//! reads it from there.

/// A point in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned rectangle in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    pub fn center(&self) -> Point {
        Point { x: self.x + self.width / 2.0, y: self.y + self.height / 2.0 }
    }

    pub fn contains(&self, p: Point) -> bool {
        p.x >= self.x && p.y >= self.y && p.x <= self.x + self.width && p.y <= self.y + self.height
    }

    /// Intersection over union, 0 when either rectangle is empty.
    pub fn iou(&self, other: &Rect) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The rectangle clipped to a `width` x `height` frame.
    pub fn clamp_to(&self, width: f32, height: f32) -> Rect {
        let x1 = self.x.clamp(0.0, width);
        let y1 = self.y.clamp(0.0, height);
        let x2 = (self.x + self.width).clamp(0.0, width);
        let y2 = (self.y + self.height).clamp(0.0, height);
        Rect { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }
    }
}

/// The six BlazeFace keypoints, named from the person's point of view: `right_eye` is the
/// person's right eye, which is on the image's left in an unmirrored (operator view) frame.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Keypoints {
    pub right_eye: Point,
    pub left_eye: Point,
    pub nose_tip: Point,
    pub mouth: Point,
    pub right_ear: Point,
    pub left_ear: Point,
}

impl Keypoints {
    /// The keypoints in the detector's output order.
    pub fn as_array(&self) -> [Point; 6] {
        [self.right_eye, self.left_eye, self.nose_tip, self.mouth, self.right_ear, self.left_ear]
    }

    pub fn from_array(points: [Point; 6]) -> Self {
        let [right_eye, left_eye, nose_tip, mouth, right_ear, left_ear] = points;
        Keypoints { right_eye, left_eye, nose_tip, mouth, right_ear, left_ear }
    }

    /// Names of the keypoints in [`Keypoints::as_array`] order, as used in messages.
    pub const NAMES: [&'static str; 6] = ["right-eye", "left-eye", "nose-tip", "mouth", "right-ear", "left-ear"];
}

/// The 468-point face mesh of `lvlandmarks`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Landmarks {
    /// MediaPipe face mesh points in frame pixels; z is depth in pixels of the same scale,
    /// smaller is closer to the camera, relative to the face.
    pub points: Vec<[f32; 3]>,
    /// The mesh model's confidence that its crop holds a face, 0..1.
    pub face_flag: f32,
}

impl Landmarks {
    /// The smallest rectangle holding every point.
    pub fn bounds(&self) -> Rect {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &self.points {
            (x0, y0, x1, y1) = (x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1]));
        }
        if x0 > x1 {
            return Rect::default();
        }
        Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
    }
}

/// Head pose in degrees, from the person's point of view (see `lvlandmarks`): yaw positive
/// when the person turns to their left, pitch positive when they look up, roll positive when
/// the head leans so that their left eye is lower in the image.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct HeadPose {
    pub yaw_degrees: f32,
    pub pitch_degrees: f32,
    pub roll_degrees: f32,
}

/// Eye openness from the mesh: the eye aspect ratio (EAR) of each eye.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Eyes {
    pub right_eye_aspect_ratio: f32,
    pub left_eye_aspect_ratio: f32,
    /// Both ratios below the element's `eye-closed-ratio`.
    pub closed: bool,
}

impl Eyes {
    /// The mean of the two eyes' aspect ratios.
    pub fn mean_aspect_ratio(&self) -> f32 {
        (self.right_eye_aspect_ratio + self.left_eye_aspect_ratio) / 2.0
    }
}

/// Mouth state from the mesh and the emotion model.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Mouth {
    /// Inner lip gap over mouth width, 0 closed, about 0.3 and more wide open.
    pub opened: f32,
    /// Probability of a happy expression (emotion model), 0..1.
    pub smile: f32,
}

/// Presentation-attack scores of `lvantispoof`; 1 is real.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Antispoof {
    /// Score of this frame, 0..1: the fusion's (model `fusion`) or the CNNs' mean.
    pub score: f32,
    /// Score aggregated over the last frames of this track.
    pub aggregated_score: f32,
    /// Frames the aggregated score covers.
    pub frames: u32,
    /// `aggregated_score` at or above the element's threshold.
    pub is_real: bool,
    /// `antispoof.onnx`'s probability of a real face in this frame, when it ran.
    #[serde(default)]
    pub antispoof_model: Option<f32>,
    /// `liveness.onnx`'s probability of the live class in this frame, when it ran.
    #[serde(default)]
    pub liveness_model: Option<f32>,
    /// The PAD features of this frame (None on frames smaller than their patch).
    #[serde(default)]
    pub features: Option<PadFeatures>,
}

/// Seed 002's light-interaction classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reflectance {
    #[default]
    Natural,
    Uncertain,
    Artificial,
}

impl Reflectance {
    pub fn as_str(self) -> &'static str {
        match self {
            Reflectance::Natural => "natural",
            Reflectance::Uncertain => "uncertain",
            Reflectance::Artificial => "artificial",
        }
    }
}

/// Seed 002's four surface checks of one face in one frame and their decision
/// (`lvsurfaceanalysis`).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SurfaceResult {
    pub skin_complexity: f32,
    pub avg_gradient: f32,
    pub high_freq_ratio: f32,
    pub frequency_score: f32,
    /// Rows whose crossing ratio exceeds the threshold, and the largest ratio.
    pub moire_rows: u32,
    pub max_crossing_ratio: f32,
    pub moire_detected: bool,
    pub reflectance_cv: f32,
    pub reflectance: Reflectance,
    pub is_real: bool,
    pub confidence: f32,
}

/// Seed 000's `details.quality` of one face (`lvsurfaceanalysis`; serialised with its
/// camelCase names).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityResult {
    pub blur: f32,
    pub is_blurred: bool,
    pub light: f32,
    pub is_highlighted: bool,
    pub darkness: f32,
    pub is_dark: bool,
    pub illumination: f32,
    pub is_illuminated: bool,
    pub specularity: f32,
    pub is_specular: bool,
}

/// Passive surface analysis of `lvsurfaceanalysis`: this frame's checks and the track's
/// running score.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Surface {
    pub frame: SurfaceResult,
    /// Mean confidence over the track's frames so far (seed 002 `surfaceScore`).
    pub session_score: f32,
    pub session_frames: u32,
    /// `session_score` at or above `min-surface-score` (seed 002 `minSurfaceScore`).
    pub session_ok: bool,
}

/// Where `lvchallenge`'s session stands, on the face it follows.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ChallengeState {
    /// The running challenge (`turn_left` ...), empty while calibrating or after the verdict.
    pub challenge: String,
    pub index: u32,
    pub total: u32,
    /// Hold progress of the running challenge, 0..1.
    pub progress: f32,
    /// Challenges passed so far.
    pub passed: u32,
    /// Time left for the running attempt, in ms of stream running time.
    pub time_left_ms: Option<u64>,
    /// The verdict once the session ended.
    pub verdict: Option<bool>,
    /// `calibrating`, `centering` (back to the neutral pose before the next prompt),
    /// `challenge` or `done`.
    #[serde(default)]
    pub stage: String,
    /// What the person should change while calibrating, the first blocker in this order:
    /// `show-face`, `one-face`, `move-closer`, `move-back`, `more-light`, `hold-still`
    /// (blurred), `face-camera`, `hold-still` (moving); `face-camera` while centering.
    #[serde(default)]
    pub hint: Option<String>,
    /// While a screen-flash challenge runs: the colours the screen is to show.
    #[serde(default)]
    pub flash: Option<crate::contracts::FlashSchedule>,
}

/// One face in one frame. Elements after `lvfacedetect` add their results as new fields.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Face {
    /// Stays the same for the same face across frames of a stream; starts at 1.
    pub track_id: u64,
    /// Face box in frame pixels.
    pub bbox: Rect,
    /// Detection confidence, 0..1.
    pub score: f32,
    pub keypoints: Keypoints,
    /// The detector skipped this frame (lvfacedetect `every-nth`): box, keypoints and score are
    /// the track's last detection, moved as the face mesh saw the face move since.
    #[serde(default)]
    pub tracked: bool,
    pub landmarks: Option<Landmarks>,
    pub head_pose: Option<HeadPose>,
    pub eyes: Option<Eyes>,
    pub mouth: Option<Mouth>,
    pub antispoof: Option<Antispoof>,
    pub surface: Option<Surface>,
    /// Image quality of the face region (seed 000 `details.quality`).
    pub quality: Option<QualityResult>,
    pub challenge: Option<ChallengeState>,
}

impl Face {
    pub fn new(track_id: u64, bbox: Rect, score: f32, keypoints: Keypoints) -> Self {
        Face { track_id, bbox, score, keypoints, ..Face::default() }
    }

    /// The same face with every coordinate multiplied by (`sx`, `sy`).
    pub fn scaled(&self, sx: f32, sy: f32) -> Face {
        let point = |p: Point| Point { x: p.x * sx, y: p.y * sy };
        let mut face = self.clone();
        face.bbox = Rect {
            x: self.bbox.x * sx,
            y: self.bbox.y * sy,
            width: self.bbox.width * sx,
            height: self.bbox.height * sy,
        };
        face.keypoints = Keypoints::from_array(self.keypoints.as_array().map(point));
        if let Some(landmarks) = face.landmarks.as_mut() {
            let depth_scale = (sx * sy).sqrt();
            for p in landmarks.points.iter_mut() {
                *p = [p[0] * sx, p[1] * sy, p[2] * depth_scale];
            }
        }
        face
    }
}

/// Faces at least this share of the largest face's width count as main faces (seed 000: a
/// second main face in the frame ends a session; small faces in the background do not).
pub const MAIN_FACE_RATIO: f32 = 0.5;

/// A face beside the largest one counts as a second person only when the detector is at least
/// this sure of it. BlazeFace scores real faces at 0.8-0.97 at every size a main face has; the
/// false faces it finds in clothing and backgrounds score near its 0.5 floor (0.59 on the
/// astronaut's suit ring as the page's JPEG encodes it, half the width of her face while she
/// turns).
pub const SECOND_FACE_MIN_SCORE: f32 = 0.7;

/// Indices of the main faces among `faces` (at least `ratio` of the largest face's width),
/// largest area first. A box whose centre lies inside a larger main face's box is a second
/// reading of that face (a detection of part of it that non-maximum suppression kept because
/// it covers too little of the whole), not another person: one face box holds one face; nor
/// is a face beside it scored below [`SECOND_FACE_MIN_SCORE`].
pub fn main_faces(faces: &[Face], ratio: f32) -> Vec<usize> {
    let largest = faces.iter().map(|f| f.bbox.width).fold(0.0f32, f32::max);
    let mut candidates: Vec<usize> = (0..faces.len()).filter(|&i| faces[i].bbox.width >= largest * ratio).collect();
    candidates.sort_by(|&a, &b| faces[b].bbox.area().total_cmp(&faces[a].bbox.area()));
    let mut main: Vec<usize> = Vec::with_capacity(candidates.len());
    for i in candidates {
        let centre = faces[i].bbox.center();
        let same_face = main.iter().any(|&m| faces[m].bbox.contains(centre));
        let doubtful = !main.is_empty() && faces[i].score < SECOND_FACE_MIN_SCORE;
        if !same_face && !doubtful {
            main.push(i);
        }
    }
    main
}

/// Everything the meta holds: the size of the frame the coordinates refer to, and the faces.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct FaceFrame {
    pub width: u32,
    pub height: u32,
    pub faces: Vec<Face>,
    /// How the frame changed from the one before it (lvsurfaceanalysis): repeated frames and
    /// the sensor's temporal noise.
    #[serde(default)]
    pub stream: Option<crate::stream::StreamSignals>,
}

/// The PAD features of one face in one frame ([`crate::pad`] computes them).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PadFeatures {
    pub periodicity: f32,
    pub hf_energy: f32,
    pub sharpness: f32,
    pub chroma: f32,
    pub chroma_spread: f32,
    pub blue_cast: f32,
    pub clipped: f32,
    pub block_grid: f32,
}

/// Name of the custom upstream event lvlandmarks sends after each frame it meshed: where the
/// mesh found each face (`tracks`, a list of `track` structures with `track-id`, `found` and,
/// when found, the mesh's bounding box `x`, `y`, `width`, `height` in frame pixels) and the
/// frame's `pts`.
pub const MESH_EVENT: &str = "lvlandmarks-tracks";

/// What the mesh found for one track on one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshReport {
    pub track_id: u64,
    /// The mesh's bounding box; None when the mesh found no face in the track's box.
    pub bbox: Option<Rect>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_rectangles() {
        let a = Rect { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
        let b = Rect { x: 5.0, y: 0.0, width: 10.0, height: 10.0 };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&Rect { x: 20.0, ..a }), 0.0);
        assert_eq!(a.iou(&a), 1.0);
    }

    fn face_at(x: f32, y: f32, side: f32) -> Face {
        Face { bbox: Rect { x, y, width: side, height: side }, score: 0.9, ..Face::default() }
    }

    #[test]
    fn a_part_of_a_face_is_no_second_main_face() {
        // The whole face, a box on its upper half (IoU 0.25: kept by non-maximum suppression),
        // a second person beside it and a small face in the background.
        let faces =
            [face_at(50.0, 50.0, 5.0), face_at(0.0, 0.0, 100.0), face_at(25.0, 10.0, 50.0), face_at(120.0, 0.0, 90.0)];
        assert_eq!(main_faces(&faces, MAIN_FACE_RATIO), vec![1, 3]);
        // Two people whose boxes overlap at the edges are still two.
        let faces = [face_at(0.0, 0.0, 100.0), face_at(80.0, 0.0, 100.0)];
        assert_eq!(main_faces(&faces, MAIN_FACE_RATIO).len(), 2);
        // A doubtful detection beside the face (a pattern on clothing) is no second person,
        // however large; the largest face is the main one whatever its score.
        let mut faces = [face_at(0.0, 0.0, 100.0), face_at(120.0, 100.0, 60.0)];
        faces[1].score = 0.59;
        assert_eq!(main_faces(&faces, MAIN_FACE_RATIO), vec![0]);
        faces[0].score = 0.55;
        faces[1].score = 0.9;
        assert_eq!(main_faces(&faces, MAIN_FACE_RATIO), vec![0, 1]);
    }
}
