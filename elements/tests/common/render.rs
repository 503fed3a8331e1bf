//! Test videos of a real face performing movements: the face mesh of a real photo, turned in
//! 3D and re-rendered by piecewise-affine warping of the mesh triangles.
//!
//! The photo's 468 mesh points (from lvlandmarks on the photo itself) are triangulated
//! (Delaunay on their frontal layout), turned about a pivot half a face width behind the face
//! (yaw, pitch, roll), optionally reshaped (eyelids closed, jaw dropped), scaled (moving
//! closer) and projected orthographically. Each triangle is drawn with the photo's pixels of
//! its original position, far triangles first so near ones cover them, triangles turned away
//! from the camera skipped. What the face uncovers shows a smooth skin-coloured fill of the
//! original face region, not the original features. Every frame's pose is known exactly.

use gst::prelude::*;
use gst_video::prelude::*;

use gstliveness::meta::FaceMeta;

use super::{init, still};

/// Mesh indices of the lids (upper, and the lower point each one closes onto).
const RIGHT_UPPER_LID: [usize; 7] = [246, 161, 160, 159, 158, 157, 173];
const RIGHT_LOWER_LID: [usize; 7] = [7, 163, 144, 145, 153, 154, 155];
const LEFT_UPPER_LID: [usize; 7] = [466, 388, 387, 386, 385, 384, 398];
const LEFT_LOWER_LID: [usize; 7] = [249, 390, 373, 374, 380, 381, 382];
/// The ring above each upper lid (the lid's fold), which follows the lid half way.
const RIGHT_LID_FOLD: [usize; 7] = [247, 30, 29, 27, 28, 56, 190];
const LEFT_LID_FOLD: [usize; 7] = [467, 260, 259, 257, 258, 286, 414];
/// Inner lip contour: triangles made of these only are the inside of the mouth.
const INNER_LIPS: [usize; 20] =
    [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 95, 88, 178, 87, 14, 317, 402, 318, 324];
const UPPER_LIP_INNER: usize = 13;
const LOWER_LIP_INNER: usize = 14;
const CHIN: usize = 152;
const MOUTH_INSIDE: [f32; 3] = [70.0, 20.0, 28.0];

/// One frame's pose and expression. Angles in degrees with the signs of lvlandmarks: yaw > 0
/// turns to the person's left, pitch > 0 looks up, roll > 0 lowers the left eye.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expression {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    /// 0 open, 1 closed.
    pub eyes_closed: f32,
    /// 0 closed, 1 wide open.
    pub mouth_open: f32,
    /// Size of the face against the photo (1.2 = 20 % closer).
    pub scale: f32,
}

impl Default for Expression {
    fn default() -> Self {
        Expression { yaw: 0.0, pitch: 0.0, roll: 0.0, eyes_closed: 0.0, mouth_open: 0.0, scale: 1.0 }
    }
}

pub struct FaceModel {
    pub width: usize,
    pub height: usize,
    photo: Vec<[f32; 3]>,
    background: Vec<[f32; 3]>,
    pub points: Vec<[f32; 3]>,
    triangles: Vec<[usize; 3]>,
    pivot: [f32; 3],
}

/// Decodes a fixture photo to RGB, and finds its face mesh with the plugin's own elements.
pub fn load(photo: &str) -> FaceModel {
    init();
    let launch = format!(
        "{} ! lvfacedetect ! lvlandmarks ! appsink name=out sync=false",
        still(photo, "video/x-raw,format=RGB", 1)
    );
    let pipeline = gst::parse::launch(&launch).unwrap().downcast::<gst::Pipeline>().unwrap();
    let sink = pipeline.by_name("out").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let buffer = sample.buffer().unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).unwrap();
    let (width, height) = (info.width() as usize, info.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).unwrap();
    let photo: Vec<[f32; 3]> = (0..width * height)
        .map(|i| {
            let at = (i / width) * stride + (i % width) * 3;
            [data[at] as f32, data[at + 1] as f32, data[at + 2] as f32]
        })
        .collect();
    let meta = buffer.meta::<FaceMeta>().expect("FaceMeta");
    let points = meta.faces()[0].landmarks.as_ref().expect("a mesh on the photo").points.clone();
    FaceModel::new(width, height, photo, points)
}

impl FaceModel {
    pub fn new(width: usize, height: usize, photo: Vec<[f32; 3]>, points: Vec<[f32; 3]>) -> Self {
        let flat: Vec<[f32; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
        let triangles = delaunay(&flat);
        let n = points.len() as f32;
        let centre = |axis: usize| points.iter().map(|p| p[axis]).sum::<f32>() / n;
        let (min_x, max_x) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        let face_width = max_x - min_x;
        let pivot = [centre(0), centre(1), centre(2) + 0.5 * face_width];
        let mut model = FaceModel { width, height, background: photo.clone(), photo, points, triangles, pivot };
        model.fill_face_region(face_width);
        model
    }

    /// Replaces the face region of the background with a heavy blur of itself, so what a
    /// turning face uncovers is skin-coloured and featureless.
    fn fill_face_region(&mut self, face_width: f32) {
        let radius = (face_width / 5.0).max(2.0) as isize;
        let (w, h) = (self.width as isize, self.height as isize);
        let mut inside = vec![false; self.width * self.height];
        for tri in &self.triangles {
            let corners = tri.map(|i| [self.points[i][0], self.points[i][1]]);
            raster(&corners, self.width, self.height, |x, y, _| inside[y * self.width + x] = true);
        }
        // Box blur of the photo (separable, twice) restricted to the face region's output.
        let blur_1d = |src: &[[f32; 3]], horizontal: bool| -> Vec<[f32; 3]> {
            let mut out = vec![[0.0; 3]; src.len()];
            for y in 0..h {
                for x in 0..w {
                    let mut sum = [0.0f32; 3];
                    let mut count = 0.0;
                    for d in -radius..=radius {
                        let (sx, sy) = if horizontal { (x + d, y) } else { (x, y + d) };
                        if sx >= 0 && sy >= 0 && sx < w && sy < h {
                            let p = src[(sy * w + sx) as usize];
                            sum[0] += p[0];
                            sum[1] += p[1];
                            sum[2] += p[2];
                            count += 1.0;
                        }
                    }
                    out[(y * w + x) as usize] = [sum[0] / count, sum[1] / count, sum[2] / count];
                }
            }
            out
        };
        let mut blurred = self.photo.clone();
        for _ in 0..2 {
            blurred = blur_1d(&blurred, true);
            blurred = blur_1d(&blurred, false);
        }
        for (i, is_face) in inside.iter().enumerate() {
            if *is_face {
                self.background[i] = blurred[i];
            }
        }
    }

    /// The mesh points of `expression`, in frame pixels (z grows away from the camera).
    pub fn posed_points(&self, e: &Expression) -> Vec<[f32; 3]> {
        let mut points = self.points.clone();
        // Eyelids: the upper lid comes down to meet the lower lid (which rises a little), the
        // fold above it follows half way, so the lid's skin covers the eye.
        for (upper, lower, fold) in
            [(RIGHT_UPPER_LID, RIGHT_LOWER_LID, RIGHT_LID_FOLD), (LEFT_UPPER_LID, LEFT_LOWER_LID, LEFT_LID_FOLD)]
        {
            for ((u, l), f) in upper.iter().zip(lower.iter()).zip(fold.iter()) {
                let (top, bottom) = (self.points[*u][1], self.points[*l][1]);
                let meet = top + (bottom - top) * 0.8;
                points[*u][1] += (meet - top) * e.eyes_closed;
                points[*l][1] += (meet + 0.5 - bottom) * e.eyes_closed;
                points[*f][1] += (meet - top) * 0.5 * e.eyes_closed;
            }
        }
        // Jaw: everything below the mouth line drops, the lower lip most, the chin half.
        let line = (self.points[UPPER_LIP_INNER][1] + self.points[LOWER_LIP_INNER][1]) / 2.0;
        let chin = self.points[CHIN][1];
        let face_height = chin - self.points[10][1];
        let drop = 0.12 * face_height * e.mouth_open;
        for (p, original) in points.iter_mut().zip(&self.points) {
            if original[1] > line {
                let t = ((original[1] - line) / (chin - line).max(1.0)).clamp(0.0, 1.0);
                p[1] += drop * (1.0 - 0.5 * t);
            }
        }
        let (yaw, pitch, roll) = (e.yaw.to_radians(), e.pitch.to_radians(), e.roll.to_radians());
        let c = self.pivot;
        points
            .iter()
            .map(|p| {
                let (mut dx, mut dy, mut dz) = (p[0] - c[0], p[1] - c[1], p[2] - c[2]);
                // Yaw: the nose (in front of the pivot, dz < 0) moves to +x for a turn left.
                let (s, co) = yaw.sin_cos();
                (dx, dz) = (dx * co - dz * s, dx * s + dz * co);
                // Pitch: looking up lifts the nose (y decreases) and brings the chin closer.
                let (s, co) = pitch.sin_cos();
                (dy, dz) = (dy * co + dz * s, -dy * s + dz * co);
                // Roll: clockwise on screen lowers the person's left eye (image right).
                let (s, co) = roll.sin_cos();
                (dx, dy) = (dx * co - dy * s, dx * s + dy * co);
                [c[0] + dx * e.scale, c[1] + dy * e.scale, c[2] + dz * e.scale]
            })
            .collect()
    }

    /// Renders one RGB frame (packed, width * 3 bytes a row).
    pub fn render(&self, e: &Expression) -> Vec<u8> {
        let posed = self.posed_points(e);
        let mut out = self.background.clone();
        let mut order: Vec<(f32, usize)> =
            self.triangles.iter().enumerate().map(|(i, t)| (t.iter().map(|&v| posed[v][2]).sum::<f32>(), i)).collect();
        // Far (large z) first.
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let signed_area =
            |a: [f32; 2], b: [f32; 2], c: [f32; 2]| (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        for (_, i) in order {
            let tri = self.triangles[i];
            let src = tri.map(|v| [self.points[v][0], self.points[v][1]]);
            let dst = tri.map(|v| [posed[v][0], posed[v][1]]);
            let (src_area, dst_area) = (signed_area(src[0], src[1], src[2]), signed_area(dst[0], dst[1], dst[2]));
            let mouth = tri.iter().all(|v| INNER_LIPS.contains(v));
            // Turned away from the camera (winding flipped) or edge-on: not visible.
            if !mouth && (src_area * dst_area <= 0.0 || dst_area.abs() < 1e-3) {
                continue;
            }
            raster(&dst, self.width, self.height, |x, y, bary| {
                out[y * self.width + x] = if mouth && e.mouth_open > 0.0 {
                    MOUTH_INSIDE
                } else {
                    let sx = bary[0] * src[0][0] + bary[1] * src[1][0] + bary[2] * src[2][0];
                    let sy = bary[0] * src[0][1] + bary[1] * src[1][1] + bary[2] * src[2][1];
                    bilinear(&self.photo, self.width, self.height, sx, sy)
                };
            });
        }
        out.iter().flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8)).collect()
    }
}

fn bilinear(image: &[[f32; 3]], width: usize, height: usize, x: f32, y: f32) -> [f32; 3] {
    let (fx, fy) = ((x - 0.5).clamp(0.0, width as f32 - 1.0), (y - 0.5).clamp(0.0, height as f32 - 1.0));
    let (x0, y0) = (fx as usize, fy as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
    let mut out = [0.0; 3];
    for (c, value) in out.iter_mut().enumerate() {
        let top = image[y0 * width + x0][c] * (1.0 - ax) + image[y0 * width + x1][c] * ax;
        let bottom = image[y1 * width + x0][c] * (1.0 - ax) + image[y1 * width + x1][c] * ax;
        *value = top * (1.0 - ay) + bottom * ay;
    }
    out
}

/// Calls `plot(x, y, barycentric)` for every pixel whose centre lies in the triangle.
fn raster(t: &[[f32; 2]; 3], width: usize, height: usize, mut plot: impl FnMut(usize, usize, [f32; 3])) {
    let area = (t[1][0] - t[0][0]) * (t[2][1] - t[0][1]) - (t[1][1] - t[0][1]) * (t[2][0] - t[0][0]);
    if area.abs() < 1e-6 {
        return;
    }
    let min_x = t.iter().map(|p| p[0]).fold(f32::MAX, f32::min).floor().max(0.0) as usize;
    let max_x = t.iter().map(|p| p[0]).fold(f32::MIN, f32::max).ceil().min(width as f32 - 1.0).max(0.0) as usize;
    let min_y = t.iter().map(|p| p[1]).fold(f32::MAX, f32::min).floor().max(0.0) as usize;
    let max_y = t.iter().map(|p| p[1]).fold(f32::MIN, f32::max).ceil().min(height as f32 - 1.0).max(0.0) as usize;
    for y in min_y..=max_y {
        for x in min_x..=max_x {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let w0 = ((t[1][0] - px) * (t[2][1] - py) - (t[1][1] - py) * (t[2][0] - px)) / area;
            let w1 = ((t[2][0] - px) * (t[0][1] - py) - (t[2][1] - py) * (t[0][0] - px)) / area;
            let w2 = 1.0 - w0 - w1;
            if w0 >= -1e-4 && w1 >= -1e-4 && w2 >= -1e-4 {
                plot(x, y, [w0, w1, w2]);
            }
        }
    }
}

/// Bowyer-Watson Delaunay triangulation of 2D points.
pub fn delaunay(points: &[[f32; 2]]) -> Vec<[usize; 3]> {
    let n = points.len();
    let (min_x, max_x) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
    let (min_y, max_y) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
    let span = (max_x - min_x).max(max_y - min_y) * 20.0;
    let (cx, cy) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
    let mut all: Vec<[f64; 2]> = points.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    all.push([(cx - span) as f64, (cy - span) as f64]);
    all.push([(cx + span) as f64, (cy - span) as f64]);
    all.push([cx as f64, (cy + span) as f64]);
    let circumcircle = |t: [usize; 3]| {
        let (a, b, c) = (all[t[0]], all[t[1]], all[t[2]]);
        let d = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
        let sq = |p: [f64; 2]| p[0] * p[0] + p[1] * p[1];
        let ux = (sq(a) * (b[1] - c[1]) + sq(b) * (c[1] - a[1]) + sq(c) * (a[1] - b[1])) / d;
        let uy = (sq(a) * (c[0] - b[0]) + sq(b) * (a[0] - c[0]) + sq(c) * (b[0] - a[0])) / d;
        (ux, uy, (a[0] - ux).powi(2) + (a[1] - uy).powi(2))
    };
    let mut triangles: Vec<([usize; 3], (f64, f64, f64))> = vec![([n, n + 1, n + 2], circumcircle([n, n + 1, n + 2]))];
    for (i, &p) in all.iter().enumerate().take(n) {
        let (bad, good): (Vec<_>, Vec<_>) =
            triangles.into_iter().partition(|(_, (ux, uy, r2))| (p[0] - ux).powi(2) + (p[1] - uy).powi(2) < *r2);
        triangles = good;
        // The hole's boundary: edges of bad triangles not shared by another bad triangle.
        let mut edges: Vec<[usize; 2]> = Vec::new();
        for (t, _) in &bad {
            for e in [[t[0], t[1]], [t[1], t[2]], [t[2], t[0]]] {
                let key = [e[0].min(e[1]), e[0].max(e[1])];
                if let Some(at) = edges.iter().position(|k| *k == key) {
                    edges.remove(at);
                } else {
                    edges.push(key);
                }
            }
        }
        for e in edges {
            let t = [e[0], e[1], i];
            triangles.push((t, circumcircle(t)));
        }
    }
    triangles.into_iter().map(|(t, _)| t).filter(|t| t.iter().all(|&v| v < n)).collect()
}

/// Frames (at 30 fps) of a person doing `challenge` from a neutral pose and back; unknown
/// names give neutral frames.
pub fn perform(challenge: &str) -> Vec<Expression> {
    let neutral = Expression::default();
    // Ease from `from` to `to` over `frames` frames.
    let ease = |from: Expression, to: Expression, frames: usize| -> Vec<Expression> {
        (1..=frames)
            .map(|i| {
                let t = i as f32 / frames as f32;
                let mix = |a: f32, b: f32| a + (b - a) * t;
                Expression {
                    yaw: mix(from.yaw, to.yaw),
                    pitch: mix(from.pitch, to.pitch),
                    roll: mix(from.roll, to.roll),
                    eyes_closed: mix(from.eyes_closed, to.eyes_closed),
                    mouth_open: mix(from.mouth_open, to.mouth_open),
                    scale: mix(from.scale, to.scale),
                }
            })
            .collect()
    };
    let hold = |e: Expression, frames: usize| vec![e; frames];
    let there_and_back = |target: Expression, frames: usize| -> Vec<Expression> {
        [ease(neutral, target, 8), hold(target, frames), ease(target, neutral, 8), hold(neutral, 6)].concat()
    };
    let pose = |yaw: f32, pitch: f32| Expression { yaw, pitch, ..neutral };
    match challenge {
        "turn_left" => there_and_back(pose(30.0, 0.0), 22),
        "turn_right" => there_and_back(pose(-30.0, 0.0), 22),
        "look_up" => there_and_back(pose(0.0, 28.0), 22),
        "look_down" => there_and_back(pose(0.0, -25.0), 22),
        "nod_yes" => [there_and_back(pose(0.0, -25.0), 4), there_and_back(pose(0.0, 25.0), 4)].concat(),
        "shake_no" => [there_and_back(pose(30.0, 0.0), 4), there_and_back(pose(-30.0, 0.0), 4)].concat(),
        "blink" => {
            let shut = Expression { eyes_closed: 1.0, ..neutral };
            [ease(neutral, shut, 3), hold(shut, 3), ease(shut, neutral, 3), hold(neutral, 6)].concat()
        }
        "open_mouth" => there_and_back(Expression { mouth_open: 1.0, ..neutral }, 12),
        "move_closer" => there_and_back(Expression { scale: 1.4, ..neutral }, 12),
        _ => hold(neutral, 30),
    }
}

/// A whole session's frames: a neutral lead-in for the baseline, then each challenge.
pub fn session(challenges: &[&str]) -> Vec<Expression> {
    let mut frames = vec![Expression::default(); 12];
    for challenge in challenges {
        frames.extend(perform(challenge));
    }
    frames
}

impl FaceModel {
    /// Renders every expression, rendering each distinct one once.
    pub fn render_all(&self, expressions: &[Expression]) -> Vec<Vec<u8>> {
        let mut cache: Vec<(Expression, Vec<u8>)> = Vec::new();
        expressions
            .iter()
            .map(|e| {
                if let Some((_, frame)) = cache.iter().find(|(c, _)| c == e) {
                    return frame.clone();
                }
                let frame = self.render(e);
                cache.push((*e, frame.clone()));
                frame
            })
            .collect()
    }
}
