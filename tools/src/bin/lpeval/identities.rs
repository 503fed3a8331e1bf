//! The evaluation's people: registry photos (and the renders of their faces) as identities,
//! split into tuning and reporting sets, with the face model each is rendered from.

use super::*;

/// A photo to make a person of: where it is and which part of it holds the face.
pub(crate) struct Source {
    pub(crate) name: &'static str,
    pub(crate) file: &'static str,
    /// Square crop (x, y, side) of the photo around the face, None for the whole photo.
    pub(crate) crop: Option<(u32, u32, u32)>,
    pub(crate) role: Role,
    pub(crate) origin: &'static str,
}

/// The identities: four tune the thresholds, the others report. Origins and licences are in
/// tests/fixtures/README.md.
pub(crate) const SOURCES: &[Source] = &[
    Source {
        name: "astronaut",
        file: "../tests/fixtures/astronaut.png",
        // As a person stands in the page's oval: the face at the middle, 38 % of the frame.
        crop: Some((97, 0, 256)),
        role: Role::Tuning,
        origin: "scikit-image 0.24.0 astronaut.png, public domain",
    },
    Source {
        name: "obama",
        file: "fixtures/face_recognition/obama.jpg",
        crop: Some((140, 0, 720)),
        role: Role::Tuning,
        origin: "face_recognition 1.3.0 sdist, White House photograph",
    },
    Source {
        name: "t1-ross",
        file: "eval-faces/t1.jpg",
        crop: Some((380, 170, 300)),
        role: Role::Tuning,
        origin: "insightface 2.1 sdist t1.jpg, licence not stated",
    },
    Source {
        name: "t1-phoebe",
        file: "eval-faces/t1.jpg",
        crop: Some((1030, 180, 250)),
        role: Role::Tuning,
        origin: "insightface 2.1 sdist t1.jpg, licence not stated",
    },
    Source {
        name: "biden",
        file: "fixtures/face_recognition/biden.jpg",
        crop: None,
        role: Role::Reporting,
        origin: "face_recognition 1.3.0 sdist, White House photograph",
    },
    Source {
        name: "t1-rachel",
        file: "eval-faces/t1.jpg",
        crop: Some((0, 180, 250)),
        role: Role::Reporting,
        origin: "insightface 2.1 sdist t1.jpg, licence not stated",
    },
    Source {
        name: "t1-monica",
        file: "eval-faces/t1.jpg",
        crop: Some((200, 60, 260)),
        role: Role::Reporting,
        origin: "insightface 2.1 sdist t1.jpg, licence not stated",
    },
    Source {
        name: "t1-chandler",
        file: "eval-faces/t1.jpg",
        crop: Some((650, 250, 290)),
        role: Role::Reporting,
        origin: "insightface 2.1 sdist t1.jpg, licence not stated",
    },
    Source {
        name: "t1-joey",
        file: "eval-faces/t1.jpg",
        crop: Some((830, 0, 290)),
        role: Role::Reporting,
        origin: "insightface 2.1 sdist t1.jpg, licence not stated",
    },
    Source {
        name: "tom-hanks",
        file: "eval-faces/Tom_Hanks_54745.png",
        crop: None,
        role: Role::Reporting,
        origin: "insightface 2.1 sdist Tom_Hanks_54745.png, licence not stated",
    },
];

/// Group photos whose people report (npm @vladmandic/face-api 1.7.15 demo/, licence not
/// stated): named `fa<photo>-<n>`, left to right.
pub(crate) const GROUPS: &[&str] =
    &["sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg", "sample5.jpg", "sample6.jpg"];

/// Photos further than this from frontal (lvchallenge's `calibration-max-degrees`) are left
/// out: such a person first turns toward the camera when asked to, and then turns 20-30
/// degrees more, past the ±25 degrees about the photo that the render check covers (faces 27
/// degrees off read no turn there at all).
pub(crate) const MAX_PHOTO_DEGREES: f32 = 25.0;

pub struct Identity {
    pub(crate) name: &'static str,
    pub(crate) role: Role,
    /// The photo the renders are made from, SIDE x SIDE.
    pub(crate) photo: image::RgbImage,
    pub(crate) model: Arc<FaceModel>,
    /// The mesh's head pose on the photo itself (yaw, pitch), degrees.
    pub(crate) photo_pose: (f32, f32),
}

/// Decodes, crops and scales a photo to SIDE x SIDE (a small photo is padded with its edge).
pub(crate) fn photo(source: &Source, faces: &std::path::Path) -> Result<image::RgbImage, String> {
    let path = faces.join(source.file);
    let image =
        image::open(&path).map_err(|err| format!("{}: {err} (run make eval, which fetches it)", path.display()))?;
    let mut rgb = image.to_rgb8();
    if let Some((x, y, side)) = source.crop {
        let side = side.min(rgb.width().saturating_sub(x)).min(rgb.height().saturating_sub(y));
        rgb = image::imageops::crop_imm(&rgb, x, y, side, side).to_image();
    }
    // An aligned face crop has no margin for the detector: put it in the middle of a frame
    // twice its size, the border continued from its edge.
    if rgb.width() < 200 {
        let (w, h) = (rgb.width(), rgb.height());
        let mut padded = image::RgbImage::new(w * 2, h * 2);
        for (x, y, p) in padded.enumerate_pixels_mut() {
            let sx = (x as i64 - (w / 2) as i64).clamp(0, w as i64 - 1) as u32;
            let sy = (y as i64 - (h / 2) as i64).clamp(0, h as i64 - 1) as u32;
            *p = *rgb.get_pixel(sx, sy);
        }
        rgb = padded;
    }
    let side = rgb.width().min(rgb.height());
    let square =
        image::imageops::crop_imm(&rgb, (rgb.width() - side) / 2, (rgb.height() - side) / 2, side, side).to_image();
    Ok(image::imageops::resize(&square, SIDE, SIDE, image::imageops::FilterType::CatmullRom))
}

/// Every face lvfacedetect and lvlandmarks find on `rgb`.
pub(crate) fn faces_on(rgb: &image::RgbImage) -> Result<Vec<liveness_core::face::Face>, String> {
    let chain = Chain::new("lvfacedetect ! lvlandmarks")?;
    let faces = chain.faces(rgb);
    chain.stop();
    faces
}

/// A running pipeline `appsrc ! <elements> ! appsink` that analyses RGB frames one at a time.
pub struct Chain {
    pub(crate) pipeline: gst::Pipeline,
    pub(crate) src: gst_app::AppSrc,
    pub(crate) sink: gst_app::AppSink,
    pub(crate) frames: std::cell::Cell<u64>,
}

impl Chain {
    pub fn new(elements: &str) -> Result<Chain, String> {
        let pipeline =
            gst::parse::launch(&format!("appsrc name=src format=time ! {elements} ! appsink name=out sync=false"))
                .map_err(|err| err.to_string())?
                .downcast::<gst::Pipeline>()
                .map_err(|_| "not a pipeline")?;
        let src = pipeline.by_name("src").and_then(|e| e.downcast::<gst_app::AppSrc>().ok()).ok_or("no appsrc")?;
        let sink = pipeline.by_name("out").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).ok_or("no appsink")?;
        pipeline.set_state(gst::State::Playing).map_err(|err| err.to_string())?;
        Ok(Chain { pipeline, src, sink, frames: std::cell::Cell::new(0) })
    }

    /// The faces of the FaceMeta the chain adds to `rgb`.
    pub fn faces(&self, rgb: &image::RgbImage) -> Result<Vec<liveness_core::face::Face>, String> {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, rgb.width(), rgb.height())
            .fps(gst::Fraction::new(30, 1))
            .build()
            .map_err(|err| err.to_string())?;
        let caps = info.to_caps().map_err(|err| err.to_string())?;
        if self.src.caps().as_ref() != Some(&caps) {
            self.src.set_caps(Some(&caps));
        }
        let row = rgb.width() as usize * 3;
        let stride = info.stride()[0] as usize;
        let mut data = vec![0u8; stride * rgb.height() as usize];
        for (out, line) in data.chunks_exact_mut(stride).zip(rgb.as_raw().chunks_exact(row)) {
            out[..row].copy_from_slice(line);
        }
        let mut buffer = gst::Buffer::from_mut_slice(data);
        let n = self.frames.get();
        self.frames.set(n + 1);
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_mseconds(n * 33));
        }
        self.src.push_buffer(buffer).map_err(|err| format!("{err:?}"))?;
        let sample = self.sink.pull_sample().map_err(|_| "no frame came out".to_string())?;
        let meta = sample.buffer().and_then(|b| b.meta::<FaceMeta>()).ok_or("no FaceMeta")?;
        Ok(meta.faces().to_vec())
    }

    pub fn stop(&self) {
        let _ = self.src.end_of_stream();
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The people of a group photo: faces found on overlapping 640-pixel tiles, each cut out
/// square, 2.6 face widths a side, and scaled to SIDE.
pub(crate) fn group_members(path: &std::path::Path) -> Result<Vec<image::RgbImage>, String> {
    let rgb = image::open(path)
        .map_err(|err| format!("{}: {err} (run make eval, which fetches it)", path.display()))?
        .to_rgb8();
    let (w, h) = (rgb.width(), rgb.height());
    let tile = 640u32.min(w).min(h);
    let mut boxes: Vec<(f32, f32, f32)> = Vec::new();
    let starts = |size: u32| {
        (0..).map(move |k| k * tile / 2).take_while(move |s| s + tile <= size).chain(std::iter::once(size - tile))
    };
    for ty in starts(h) {
        for tx in starts(w) {
            let part = image::imageops::crop_imm(&rgb, tx, ty, tile, tile).to_image();
            for face in faces_on(&part)? {
                let (cx, cy) =
                    (tx as f32 + face.bbox.x + face.bbox.width / 2.0, ty as f32 + face.bbox.y + face.bbox.height / 2.0);
                let size = face.bbox.width.max(face.bbox.height);
                // Faces cut by the tile's edge are found whole in a neighbouring tile.
                let inside = face.bbox.x > 2.0
                    && face.bbox.y > 2.0
                    && face.bbox.x + face.bbox.width < tile as f32 - 2.0
                    && face.bbox.y + face.bbox.height < tile as f32 - 2.0;
                if inside && !boxes.iter().any(|b| (b.0 - cx).hypot(b.1 - cy) < 0.5 * b.2.max(size)) {
                    boxes.push((cx, cy, size));
                }
            }
        }
    }
    boxes.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(boxes
        .iter()
        .map(|&(cx, cy, size)| {
            let side = ((2.6 * size) as u32).min(w).min(h);
            let x = ((cx - side as f32 / 2.0).max(0.0) as u32).min(w - side);
            let y = ((cy - side as f32 / 2.0).max(0.0) as u32).min(h - side);
            let square = image::imageops::crop_imm(&rgb, x, y, side, side).to_image();
            image::imageops::resize(&square, SIDE, SIDE, image::imageops::FilterType::CatmullRom)
        })
        .collect())
}

/// The nose keypoint's horizontal offset from the eye midpoint, in eye distances.
pub(crate) fn nose_offset(face: &liveness_core::face::Face) -> f32 {
    let k = face.keypoints;
    let eye = (k.left_eye.x - k.right_eye.x).hypot(k.left_eye.y - k.right_eye.y).max(1e-3);
    (k.nose_tip.x - (k.right_eye.x + k.left_eye.x) / 2.0) / eye
}

/// The whole-head renders of an identity checked against the geometry of a real head turn
/// (and for a second face in view):
/// at ±25 degrees of rendered yaw the mesh must read within 30 % of it, and the nose move
/// at least 60 % of 0.5 x tan(25°) eye distances. Returns a line for the report, or why the
/// identity's renders do not hold.
pub(crate) fn validate(model: &FaceModel) -> Result<String, String> {
    // The person must be alone in every render (a neighbour's face at the crop's edge can
    // come into view when the head turns).
    let read = |e: Expression| -> Result<liveness_core::face::Face, String> {
        let rgb = image::RgbImage::from_raw(SIDE, SIDE, model.render(&e)).ok_or("render size")?;
        let faces = faces_on(&rgb)?;
        let main = liveness_core::face::main_faces(&faces, liveness_core::face::MAIN_FACE_RATIO);
        match main.as_slice() {
            [one] => Ok(faces[*one].clone()),
            [] => Err(format!("no face at yaw {:+.0}", e.yaw)),
            _ => Err(format!("another face comes into view at yaw {:+.0}", e.yaw)),
        }
    };
    let neutral = read(Expression::default())?;
    let pose = |f: &liveness_core::face::Face| f.head_pose.map_or((0.0, 0.0), |p| (p.yaw_degrees, p.pitch_degrees));
    let centre = neutral.bbox.center();
    let mut report = vec![format!(
        "face {:.2} of the frame at ({:.2}, {:.2})",
        neutral.bbox.width / SIDE as f32,
        centre.x / SIDE as f32,
        centre.y / SIDE as f32
    )];
    let mut problems = Vec::new();
    for yaw in [25.0f32, -25.0] {
        let turned = read(Expression { yaw, ..Expression::default() })?;
        let read_yaw = pose(&turned).0 - pose(&neutral).0;
        let nose = nose_offset(&turned) - nose_offset(&neutral);
        report.push(format!("yaw {yaw:+.0} reads {read_yaw:+.1}, nose {nose:+.2}"));
        if (read_yaw - yaw).abs() > 0.3 * yaw.abs() {
            problems.push(format!("mesh yaw {read_yaw:+.1} for {yaw:+.0}"));
        }
        if nose * yaw.signum() < 0.6 * 0.5 * yaw.to_radians().tan() {
            problems.push(format!("nose offset {nose:+.2} for {yaw:+.0}"));
        }
    }
    if problems.is_empty() {
        Ok(report.join("; "))
    } else {
        Err(format!("its renders do not turn like a head ({})", problems.join(", ")))
    }
}

pub(crate) fn identity(source: &Source, faces: &std::path::Path) -> Result<Identity, String> {
    identity_of(source.name, source.role, photo(source, faces)?)
}

pub(crate) fn identity_of(name: &'static str, role: Role, rgb: image::RgbImage) -> Result<Identity, String> {
    let faces = faces_on(&rgb)?;
    let main = liveness_core::face::main_faces(&faces, liveness_core::face::MAIN_FACE_RATIO);
    if main.len() > 1 {
        return Err("another face is in the picture (two main faces)".into());
    }
    let face = main.first().map(|&i| faces[i].clone()).ok_or("no face found on the photo")?;
    let photo_pose = face.head_pose.map(|p| (p.yaw_degrees, p.pitch_degrees)).unwrap_or_default();
    let axes = face.head_pose.map_or([0.0; 3], |p| [p.yaw_degrees, p.pitch_degrees, p.roll_degrees]);
    let points = face.landmarks.ok_or("no mesh on the face")?.points;
    let pixels: Vec<[f32; 3]> = rgb.pixels().map(|p| [p[0] as f32, p[1] as f32, p[2] as f32]).collect();
    let model = Arc::new(FaceModel::whole_head(SIDE as usize, SIDE as usize, pixels, points, axes));
    Ok(Identity { name, role, photo: rgb, model, photo_pose })
}

pub(crate) fn jpeg(rgb: &[u8], side: u32) -> Vec<u8> {
    // An RGB buffer of the right size always encodes.
    liveness_core::frame::encode_jpeg(rgb, side, side, 85).unwrap_or_default()
}
