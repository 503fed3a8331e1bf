//! `FaceMeta`: the face record that travels with each buffer.
//!
//! `lvfacedetect` attaches it with one [`Face`] per detected face; later elements find the
//! faces here and add their own results to the same entries. The meta survives `queue`, `tee`
//! and other elements that copy metadata, and `videoscale` scales its coordinates. Elements
//! that know nothing of it see every face as a standard `VideoRegionOfInterestMeta` of type
//! `face` as well.

use std::{fmt, mem, ptr};

use gst::prelude::*;

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
    pub features: Option<crate::pad::PadFeatures>,
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
    pub flash: Option<crate::lvchallenge::flash::FlashSchedule>,
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
    fn scaled(&self, sx: f32, sy: f32) -> Face {
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

/// Indices of the main faces among `faces` (at least `ratio` of the largest face's width),
/// largest area first.
pub fn main_faces(faces: &[Face], ratio: f32) -> Vec<usize> {
    let largest = faces.iter().map(|f| f.bbox.width).fold(0.0f32, f32::max);
    let mut main: Vec<usize> = (0..faces.len()).filter(|&i| faces[i].bbox.width >= largest * ratio).collect();
    main.sort_by(|&a, &b| faces[b].bbox.area().total_cmp(&faces[a].bbox.area()));
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
    pub stream: Option<crate::lvsurfaceanalysis::stream::StreamSignals>,
}

/// The custom buffer meta (`GstLivenessFaceMeta`, API `GstLivenessFaceMetaAPI`).
#[repr(transparent)]
pub struct FaceMeta(imp::FaceMeta);

// SAFETY: the meta owns plain Rust data that is Send + Sync.
unsafe impl Send for FaceMeta {}
unsafe impl Sync for FaceMeta {}

impl FaceMeta {
    /// Attaches `frame` to `buffer`, replacing a FaceMeta that is already there.
    pub fn add(buffer: &mut gst::BufferRef, frame: FaceFrame) -> gst::MetaRefMut<'_, Self, gst::meta::Standalone> {
        if let Some(existing) = buffer.meta::<FaceMeta>() {
            let existing = existing.as_ptr() as *mut gst::ffi::GstMeta;
            // SAFETY: the meta belongs to this buffer, which we hold mutably.
            unsafe {
                gst::ffi::gst_buffer_remove_meta(buffer.as_mut_ptr(), existing);
            }
        }
        // SAFETY: init takes the params by ptr::read; ManuallyDrop keeps us from dropping them
        // a second time.
        unsafe {
            let mut params = mem::ManuallyDrop::new(frame);
            let meta = gst::ffi::gst_buffer_add_meta(
                buffer.as_mut_ptr(),
                imp::face_meta_get_info(),
                &mut *params as *mut FaceFrame as gst::glib::ffi::gpointer,
            ) as *mut imp::FaceMeta;
            Self::from_mut_ptr(buffer, meta)
        }
    }

    pub fn frame(&self) -> &FaceFrame {
        &self.0.frame
    }

    pub fn faces(&self) -> &[Face] {
        &self.0.frame.faces
    }

    /// Mutable access for elements that add their results to the faces.
    pub fn faces_mut(&mut self) -> &mut Vec<Face> {
        &mut self.0.frame.faces
    }

    /// Sets the frame's stream signals.
    pub fn set_stream(&mut self, stream: Option<crate::lvsurfaceanalysis::stream::StreamSignals>) {
        self.0.frame.stream = stream;
    }
}

unsafe impl MetaAPI for FaceMeta {
    type GstType = imp::FaceMeta;

    fn meta_api() -> gst::glib::Type {
        imp::face_meta_api_get_type()
    }
}

impl fmt::Debug for FaceMeta {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("FaceMeta").field("frame", &self.0.frame).finish()
    }
}

mod imp {
    use super::*;
    use gst::glib::translate::*;

    #[repr(C)]
    pub struct FaceMeta {
        parent: gst::ffi::GstMeta,
        pub(super) frame: FaceFrame,
    }

    pub(super) fn face_meta_api_get_type() -> gst::glib::Type {
        static TYPE: std::sync::OnceLock<gst::glib::Type> = std::sync::OnceLock::new();
        *TYPE.get_or_init(|| unsafe {
            // The same tags as VideoRegionOfInterestMeta: the coordinates depend on the
            // frame's size and orientation, so converters that change those must transform
            // or drop the meta.
            let tags = [c"video".as_ptr(), c"size".as_ptr(), c"orientation".as_ptr(), ptr::null()];
            let t = gst::glib::Type::from_glib(gst::ffi::gst_meta_api_type_register(
                c"GstLivenessFaceMetaAPI".as_ptr(),
                tags.as_ptr() as *mut *const _,
            ));
            assert_ne!(t, gst::glib::Type::INVALID);
            t
        })
    }

    unsafe extern "C" fn face_meta_init(
        meta: *mut gst::ffi::GstMeta,
        params: gst::glib::ffi::gpointer,
        _buffer: *mut gst::ffi::GstBuffer,
    ) -> gst::glib::ffi::gboolean {
        if params.is_null() {
            return false.into_glib();
        }
        unsafe {
            let meta = &mut *(meta as *mut FaceMeta);
            ptr::write(&mut meta.frame, ptr::read(params as *const FaceFrame));
        }
        true.into_glib()
    }

    unsafe extern "C" fn face_meta_free(meta: *mut gst::ffi::GstMeta, _buffer: *mut gst::ffi::GstBuffer) {
        unsafe {
            let meta = &mut *(meta as *mut FaceMeta);
            ptr::drop_in_place(&mut meta.frame);
        }
    }

    unsafe extern "C" fn face_meta_transform(
        dest: *mut gst::ffi::GstBuffer,
        meta: *mut gst::ffi::GstMeta,
        _buffer: *mut gst::ffi::GstBuffer,
        type_: gst::glib::ffi::GQuark,
        data: gst::glib::ffi::gpointer,
    ) -> gst::glib::ffi::gboolean {
        unsafe {
            let meta = &*(meta as *mut FaceMeta);
            let type_ = gst::glib::Quark::from_glib(type_);
            let frame = if type_ == gst::glib::Quark::from_str("gst-copy") {
                meta.frame.clone()
            } else if type_ == gst::glib::Quark::from_str("gst-video-scale") && !data.is_null() {
                let scale = &*(data as *const gst_video::ffi::GstVideoMetaTransform);
                if scale.in_info.is_null() || scale.out_info.is_null() {
                    return false.into_glib();
                }
                let (in_info, out_info) = (&*scale.in_info, &*scale.out_info);
                if in_info.width <= 0 || in_info.height <= 0 {
                    return false.into_glib();
                }
                let sx = out_info.width as f32 / in_info.width as f32;
                let sy = out_info.height as f32 / in_info.height as f32;
                FaceFrame {
                    width: out_info.width as u32,
                    height: out_info.height as u32,
                    faces: meta.frame.faces.iter().map(|f| f.scaled(sx, sy)).collect(),
                    stream: meta.frame.stream,
                }
            } else {
                // Any other transformation (rotation, cropping ...) would leave the
                // coordinates wrong: do not copy the meta.
                return false.into_glib();
            };
            super::FaceMeta::add(gst::BufferRef::from_mut_ptr(dest), frame);
        }
        true.into_glib()
    }

    pub(super) fn face_meta_get_info() -> *const gst::ffi::GstMetaInfo {
        struct MetaInfo(ptr::NonNull<gst::ffi::GstMetaInfo>);
        unsafe impl Send for MetaInfo {}
        unsafe impl Sync for MetaInfo {}

        static META_INFO: std::sync::OnceLock<MetaInfo> = std::sync::OnceLock::new();
        META_INFO
            .get_or_init(|| unsafe {
                MetaInfo(
                    ptr::NonNull::new(gst::ffi::gst_meta_register(
                        face_meta_api_get_type().into_glib(),
                        c"GstLivenessFaceMeta".as_ptr(),
                        mem::size_of::<FaceMeta>(),
                        Some(face_meta_init),
                        Some(face_meta_free),
                        Some(face_meta_transform),
                    ) as *mut gst::ffi::GstMetaInfo)
                    .expect("GstLivenessFaceMeta registration failed"),
                )
            })
            .0
            .as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(track_id: u64) -> Face {
        Face::new(track_id, Rect { x: 10.0, y: 20.0, width: 30.0, height: 40.0 }, 0.9, Keypoints::default())
    }

    #[test]
    fn meta_round_trips_and_copies_with_the_buffer() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let frame = FaceFrame { width: 64, height: 48, faces: vec![face(1), face(2)], ..FaceFrame::default() };
        FaceMeta::add(buffer.get_mut().unwrap(), frame.clone());
        assert_eq!(buffer.meta::<FaceMeta>().unwrap().frame(), &frame);

        // A second add replaces, it does not stack.
        FaceMeta::add(buffer.get_mut().unwrap(), FaceFrame { faces: vec![face(7)], ..frame.clone() });
        assert_eq!(buffer.iter_meta::<FaceMeta>().count(), 1);
        assert_eq!(buffer.meta::<FaceMeta>().unwrap().faces()[0].track_id, 7);

        let copy = buffer.copy_deep().unwrap();
        assert_eq!(copy.meta::<FaceMeta>().unwrap().faces()[0].track_id, 7);
        drop(buffer);
        assert_eq!(copy.meta::<FaceMeta>().unwrap().frame().width, 64);
    }

    #[test]
    fn iou_of_rectangles() {
        let a = Rect { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
        let b = Rect { x: 5.0, y: 0.0, width: 10.0, height: 10.0 };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&Rect { x: 20.0, ..a }), 0.0);
        assert_eq!(a.iou(&a), 1.0);
    }
}
