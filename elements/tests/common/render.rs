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
//!
//! [`FaceModel::whole_head`] turns the whole head instead: a head proxy around the mesh (an
//! ellipsoid shell whose silhouette takes in hair, ears and jaw line) turns rigidly with the
//! face about the head's centre, a fixed ring further out ties it to the still background,
//! and what the head uncovers is filled from the background beside it. On its renders the
//! mesh reads about 0.8 of the rendered yaw, as on a real head turn.
//!
//! Plain Rust, no GStreamer: the element tests and the evaluation tool (`lpeval`) share it.

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
    /// The mesh's 468 points, then the head proxy's (whole-head models only).
    pub points: Vec<[f32; 3]>,
    /// How much each point follows the head's turn: 1 the face and the head proxy, 0 the
    /// ring that stays with the background.
    follow: Vec<f32>,
    triangles: Vec<[usize; 3]>,
    pivot: [f32; 3],
    /// The head's own axes in camera coordinates (its pose in the photo).
    head_axes: [[f32; 3]; 3],
}

type Matrix = [[f32; 3]; 3];

/// The rotation of a head movement, with lvlandmarks' signs: yaw first (a turn to the
/// person's left brings the nose, in front of the pivot, to +x), then pitch (looking up lifts
/// the nose), then roll (clockwise on screen lowers the person's left eye).
pub fn rotation(yaw: f32, pitch: f32, roll: f32) -> Matrix {
    let (sy, cy) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    let (sr, cr) = roll.to_radians().sin_cos();
    let yaw = [[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]];
    let pitch = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
    let roll = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    multiply(&roll, &multiply(&pitch, &yaw))
}

fn multiply(a: &Matrix, b: &Matrix) -> Matrix {
    std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| a[r][k] * b[k][c]).sum()))
}

fn transpose(a: &Matrix) -> Matrix {
    std::array::from_fn(|r| std::array::from_fn(|c| a[c][r]))
}

const IDENTITY: Matrix = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Depth stretch of the photo's mesh in whole-head models.
const HEAD_DEPTH_GAIN: f32 = 1.5;

/// Points of the face mesh (the rest of `points` is the head proxy).
pub const MESH_POINTS: usize = 468;

impl FaceModel {
    pub fn new(width: usize, height: usize, photo: Vec<[f32; 3]>, points: Vec<[f32; 3]>) -> Self {
        let flat: Vec<[f32; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
        let triangles = delaunay(&flat);
        let n = points.len() as f32;
        let centre = |axis: usize| points.iter().map(|p| p[axis]).sum::<f32>() / n;
        let (min_x, max_x) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        let face_width = max_x - min_x;
        let pivot = [centre(0), centre(1), centre(2) + 0.5 * face_width];
        let follow = vec![1.0; points.len()];
        let mut model = FaceModel {
            width,
            height,
            background: photo.clone(),
            photo,
            points,
            follow,
            triangles,
            pivot,
            head_axes: IDENTITY,
        };
        model.fill_face_region(face_width);
        model
    }

    /// A model that turns the whole head (see the module docs): `points` is the photo's face
    /// mesh in frame pixels, `head_pose` the mesh's head pose on the photo (yaw, pitch, roll
    /// in degrees), about whose axes the head turns.
    pub fn whole_head(
        width: usize,
        height: usize,
        photo: Vec<[f32; 3]>,
        points: Vec<[f32; 3]>,
        head_pose: [f32; 3],
    ) -> Self {
        let n = points.len() as f32;
        let centre = |axis: usize| points.iter().map(|p| p[axis]).sum::<f32>() / n;
        let (cx, cy, cz) = (centre(0), centre(1), centre(2));
        let extent = |axis: usize| {
            let (lo, hi) = points.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[axis]), hi.max(p[axis])));
            hi - lo
        };
        let (face_width, face_height) = (extent(0), extent(1));
        // The mesh model's depth is shallower than a head's: stretched by 1.5 the nose stands
        // about 0.5 eye distances in front of the eyes, and the mesh reads 0.76-0.8 of the
        // rendered yaw (tests/render.rs).
        let points: Vec<[f32; 3]> = points.iter().map(|p| [p[0], p[1], cz + (p[2] - cz) * HEAD_DEPTH_GAIN]).collect();
        // The head: an ellipsoid about as deep as it is wide, its centre behind the face; its
        // outline (hair and ears) reaches 0.72 face widths to each side and 0.8 face heights
        // above and below a point a little above the face's centre.
        let (ax, ay, az) = (0.72 * face_width, 0.8 * face_height, 0.7 * face_width);
        let head_centre = [cx, cy - 0.12 * face_height, cz + 0.55 * face_width];
        let mut all = points.clone();
        let mut follow = vec![1.0; points.len()];
        let flat: Vec<[f32; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
        let hull = convex_hull(&flat);
        let ring = |scale: f32, count: usize| {
            (0..count).map(move |k| {
                let angle = k as f32 / count as f32 * std::f32::consts::TAU;
                (head_centre[0] + scale * ax * angle.cos(), head_centre[1] + scale * ay * angle.sin())
            })
        };
        // The shell: rings of the ellipsoid at 0.8 and 1.0 of the outline, in front of its
        // centre, outside the face mesh.
        for (scale, count) in [(0.8f32, 40usize), (0.92, 48), (1.0, 56)] {
            let depth = az * (1.0 - scale * scale).max(0.0).sqrt();
            for (x, y) in ring(scale, count) {
                if inside_hull(&hull, [x, y], 0.04 * face_width) {
                    continue;
                }
                all.push([x, y, head_centre[2] - depth]);
                follow.push(1.0);
            }
        }
        // The anchor ring, with the background: far behind everything, never turned.
        for (x, y) in ring(1.45, 64) {
            all.push([x, y, head_centre[2] + az]);
            follow.push(0.0);
        }
        let flat_all: Vec<[f32; 2]> = all.iter().map(|p| [p[0], p[1]]).collect();
        let triangles = delaunay(&flat_all);
        let background = fill_ellipse(&photo, width, height, head_centre, 1.02 * ax, 1.02 * ay);
        FaceModel {
            width,
            height,
            background,
            photo,
            points: all,
            follow,
            triangles,
            pivot: head_centre,
            head_axes: rotation(head_pose[0], head_pose[1], head_pose[2]),
        }
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
        let c = self.pivot;
        // The movement about the head's own axes: a head already turned or tilted in the
        // photo turns about its neck, not about the camera's vertical.
        let turn = rotation(e.yaw, e.pitch, e.roll);
        let m = multiply(&multiply(&self.head_axes, &turn), &transpose(&self.head_axes));
        points
            .iter()
            .zip(&self.follow)
            .map(|(p, &follow)| {
                if follow == 0.0 {
                    return *p;
                }
                let d = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
                let r = |row: usize| m[row][0] * d[0] + m[row][1] * d[1] + m[row][2] * d[2];
                [c[0] + r(0) * e.scale, c[1] + r(1) * e.scale, c[2] + r(2) * e.scale]
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
            // The band that ties the head to the background stretches and is never culled.
            let anchored = tri.iter().any(|&v| self.follow[v] == 0.0);
            // Turned away from the camera (winding flipped) or edge-on: not visible.
            if !mouth && !anchored && (src_area * dst_area <= 0.0 || dst_area.abs() < 1e-3) {
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

/// Convex hull of 2D points (monotone chain), counter-clockwise in image coordinates.
fn convex_hull(points: &[[f32; 2]]) -> Vec<[f32; 2]> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<[f32; 2]> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f32; 2]>> =
            if pass == 0 { Box::new(sorted.iter()) } else { Box::new(sorted.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Whether `p` lies inside `hull` or within `margin` of it.
fn inside_hull(hull: &[[f32; 2]], p: [f32; 2], margin: f32) -> bool {
    let n = hull.len();
    (0..n).all(|i| {
        let (a, b) = (hull[i], hull[(i + 1) % n]);
        let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
        let cross = ex * (p[1] - a[1]) - ey * (p[0] - a[0]);
        cross / ex.hypot(ey).max(1e-6) >= -margin
    })
}

/// The photo with an ellipse (the head) filled row by row from the background at its left
/// and right edges, so that what a turning head uncovers looks like what is beside it.
fn fill_ellipse(photo: &[[f32; 3]], width: usize, height: usize, c: [f32; 3], ax: f32, ay: f32) -> Vec<[f32; 3]> {
    let mut out = photo.to_vec();
    for y in 0..height {
        let dy = (y as f32 + 0.5 - c[1]) / ay;
        if dy.abs() >= 1.0 {
            continue;
        }
        let half = ax * (1.0 - dy * dy).sqrt();
        let (left, right) = ((c[0] - half).floor() as isize - 2, (c[0] + half).ceil() as isize + 2);
        let sample = |x: isize| -> [f32; 3] {
            // Mean of a few pixels outside the edge, clamped to the frame.
            let mut sum = [0.0f32; 3];
            for k in 0..4 {
                let xx = (x + if x < c[0] as isize { -k } else { k }).clamp(0, width as isize - 1) as usize;
                let p = photo[y * width + xx];
                sum = [sum[0] + p[0] / 4.0, sum[1] + p[1] / 4.0, sum[2] + p[2] / 4.0];
            }
            sum
        };
        let (a, b) = (sample(left), sample(right));
        for x in left.max(0)..=right.min(width as isize - 1) {
            let t = (x - left) as f32 / (right - left).max(1) as f32;
            out[y * width + x as usize] =
                [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
        }
    }
    out
}

/// A presentation attack's picture: `frame` (RGB, packed) seen through the homography `h`
/// (from the output pixel to the source pixel), what falls outside filled with `fill`.
pub fn warp_image(frame: &[u8], width: usize, height: usize, h: &[f64; 9], fill: [u8; 3]) -> Vec<u8> {
    let mut out = vec![0u8; frame.len()];
    for y in 0..height {
        for x in 0..width {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let w = h[6] * px + h[7] * py + h[8];
            let at = (y * width + x) * 3;
            let (sx, sy) = ((h[0] * px + h[1] * py + h[2]) / w, (h[3] * px + h[4] * py + h[5]) / w);
            if w <= 0.0 || sx < 0.0 || sy < 0.0 || sx >= width as f64 || sy >= height as f64 {
                out[at..at + 3].copy_from_slice(&fill);
                continue;
            }
            let (fx, fy) = ((sx - 0.5).max(0.0), (sy - 0.5).max(0.0));
            let (x0, y0) = (fx as usize, fy as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (ax, ay) = ((fx - x0 as f64) as f32, (fy - y0 as f64) as f32);
            for c in 0..3 {
                let v = |xx: usize, yy: usize| frame[(yy * width + xx) * 3 + c] as f32;
                let top = v(x0, y0) * (1.0 - ax) + v(x1, y0) * ax;
                let bottom = v(x0, y1) * (1.0 - ax) + v(x1, y1) * ax;
                out[at + c] = (top * (1.0 - ay) + bottom * ay).round() as u8;
            }
        }
    }
    out
}

/// The homography (output pixel -> source pixel) of a flat picture turned about a vertical
/// (`yaw`) and a horizontal (`pitch`) axis through (`cx`, `cy`), scaled by `scale`, turned
/// in the image plane by `roll` and shifted by (`dx`, `dy`), seen by a pinhole camera of
/// focal length `focal` pixels. Angles in degrees, with lvlandmarks' signs.
#[allow(clippy::too_many_arguments)]
pub fn plane_homography(
    cx: f64,
    cy: f64,
    focal: f64,
    yaw: f64,
    pitch: f64,
    roll: f64,
    scale: f64,
    (dx, dy): (f64, f64),
) -> [f64; 9] {
    // Forward map of a picture point: lift to 3D at depth `focal`, turn about the picture's
    // centre, project. The inverse of the resulting 3x3 matrix maps output to source.
    let (sy, cyw) = (-yaw.to_radians()).sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    let (sr, cr) = roll.to_radians().sin_cos();
    // R = Rroll * Rpitch * Ryaw acting on (x, y, z) with z away from the camera.
    let ryaw = [[cyw, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cyw]];
    let rpitch = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
    let rroll = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    let mul = |a: [[f64; 3]; 3], b: [[f64; 3]; 3]| {
        let mut m = [[0.0; 3]; 3];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = (0..3).map(|k| a[r][k] * b[k][c]).sum();
            }
        }
        m
    };
    let r = mul(rroll, mul(rpitch, ryaw));
    // Source point (u, v) -> 3D (u - cx, v - cy, 0) relative to the picture centre at depth
    // focal; turned: R * (u - cx, v - cy, 0) * scale + (0, 0, focal); projected with the
    // camera centred on (cx, cy).
    let forward = [
        [focal * r[0][0] * scale + cx * r[2][0] * scale, focal * r[0][1] * scale + cx * r[2][1] * scale, 0.0],
        [focal * r[1][0] * scale + cy * r[2][0] * scale, focal * r[1][1] * scale + cy * r[2][1] * scale, 0.0],
        [r[2][0] * scale, r[2][1] * scale, 0.0],
    ];
    // Columns 3: the translation (-cx, -cy) of the source and the depth.
    let mut m = [[0.0; 3]; 3];
    for row in 0..3 {
        m[row][0] = forward[row][0];
        m[row][1] = forward[row][1];
        let depth_term = [cx * focal + dx * focal, cy * focal + dy * focal, focal][row];
        m[row][2] = depth_term - forward[row][0] * cx - forward[row][1] * cy;
    }
    invert3(m)
}

fn invert3(m: [[f64; 3]; 3]) -> [f64; 9] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let inv = |a: f64| a / det;
    [
        inv(m[1][1] * m[2][2] - m[1][2] * m[2][1]),
        inv(m[0][2] * m[2][1] - m[0][1] * m[2][2]),
        inv(m[0][1] * m[1][2] - m[0][2] * m[1][1]),
        inv(m[1][2] * m[2][0] - m[1][0] * m[2][2]),
        inv(m[0][0] * m[2][2] - m[0][2] * m[2][0]),
        inv(m[0][2] * m[1][0] - m[0][0] * m[1][2]),
        inv(m[1][0] * m[2][1] - m[1][1] * m[2][0]),
        inv(m[0][1] * m[2][0] - m[0][0] * m[2][1]),
        inv(m[0][0] * m[1][1] - m[0][1] * m[1][0]),
    ]
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
    // Back to neutral, then a pause like a person's before the next prompt is answered:
    // lvchallenge prompts once the head is neutral and wants the movement to begin 0.3-3 s
    // after the prompt.
    let there_and_back = |target: Expression, frames: usize| -> Vec<Expression> {
        [ease(neutral, target, 8), hold(target, frames), ease(target, neutral, 8), hold(neutral, PAUSE_FRAMES)].concat()
    };
    let pose = |yaw: f32, pitch: f32| Expression { yaw, pitch, ..neutral };
    let swing = |one: Expression, other: Expression| -> Vec<Expression> {
        [
            ease(neutral, one, 6),
            hold(one, 3),
            ease(one, other, 10),
            hold(other, 3),
            ease(other, neutral, 6),
            hold(neutral, PAUSE_FRAMES),
        ]
        .concat()
    };
    match challenge {
        "turn_left" => there_and_back(pose(30.0, 0.0), 22),
        "turn_right" => there_and_back(pose(-30.0, 0.0), 22),
        "look_up" => there_and_back(pose(0.0, 28.0), 22),
        "look_down" => there_and_back(pose(0.0, -25.0), 22),
        // One swing to each side, then the pause: a second movement after it would answer
        // the next prompt wrongly.
        "nod_yes" => swing(pose(0.0, -25.0), pose(0.0, 25.0)),
        "shake_no" => swing(pose(30.0, 0.0), pose(-30.0, 0.0)),
        "blink" => {
            let shut = Expression { eyes_closed: 1.0, ..neutral };
            [ease(neutral, shut, 3), hold(shut, 3), ease(shut, neutral, 3), hold(neutral, PAUSE_FRAMES)].concat()
        }
        "open_mouth" => there_and_back(Expression { mouth_open: 1.0, ..neutral }, 12),
        "move_closer" => there_and_back(Expression { scale: 1.4, ..neutral }, 12),
        _ => hold(neutral, 30),
    }
}

/// Neutral frames after each movement, and before the first one. lvchallenge prompts after 3
/// neutral frames (after 5 for the first prompt, at calibration) and wants the movement to
/// begin 0.3-3 s after the prompt: these pauses answer in time whether the clip plays at 30
/// frames a second (0.43 s) or is analysed at 6 (2.2-2.5 s).
pub const PAUSE_FRAMES: usize = 16;
pub const LEAD_IN_FRAMES: usize = 18;

/// A whole session's frames: a neutral lead-in for the baseline, then each challenge.
pub fn session(challenges: &[&str]) -> Vec<Expression> {
    let mut frames = vec![Expression::default(); LEAD_IN_FRAMES];
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
