//! The planarity check (3D parallax): a printed photo or a screen, however it is tilted or
//! turned, moves every landmark by one plane-to-plane mapping (a homography); a real head
//! does not, because the nose, the cheeks and the face outline lie at different depths and
//! shift against each other when the head turns.
//!
//! [`planar_residual`] fits the homography that best maps the neutral pose's mesh points onto
//! a moved pose's points (direct linear transform on Hartley-normalised points, the smallest
//! eigenvector of AᵀA) and returns the root-mean-square distance between the mapped and the
//! observed points, in units of the neutral eye span (outer eye corner to outer eye corner).
//! A flat face moved by any perspective tilt scores only the mesh's own jitter; a real head
//! turned by 20 degrees scores several times more (figures in the README).

/// Mesh indices of the outer eye corners (MediaPipe face mesh), for the unit of the residual.
const RIGHT_EYE_OUTER: usize = 33;
const LEFT_EYE_OUTER: usize = 263;

/// A 3x3 homography, row-major, mapping (x, y, 1) to homogeneous image coordinates.
pub type Homography = [f64; 9];

/// Applies `h` to (x, y); None where the point maps to infinity.
pub fn apply(h: &Homography, x: f64, y: f64) -> Option<(f64, f64)> {
    let w = h[6] * x + h[7] * y + h[8];
    if w.abs() < 1e-12 {
        return None;
    }
    Some(((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w))
}

/// Translation and scale that move `points` to the origin with a mean distance of √2
/// (Hartley's normalisation), as a homography; None when all points coincide.
fn normalisation(points: &[[f64; 2]]) -> Option<Homography> {
    let n = points.len() as f64;
    let (cx, cy) = points.iter().fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    let mean_distance = points.iter().map(|p| (p[0] - cx).hypot(p[1] - cy)).sum::<f64>() / n;
    if mean_distance < 1e-9 {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean_distance;
    Some([s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0])
}

fn multiply(a: &Homography, b: &Homography) -> Homography {
    let mut out = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    out
}

/// Inverse of a normalisation (scale and translation only).
fn invert_normalisation(t: &Homography) -> Homography {
    let s = t[0];
    [1.0 / s, 0.0, -t[2] / s, 0.0, 1.0 / s, -t[5] / s, 0.0, 0.0, 1.0]
}

/// Eigenvector of the smallest eigenvalue of a symmetric 9x9 matrix (cyclic Jacobi).
fn smallest_eigenvector(mut m: [[f64; 9]; 9]) -> [f64; 9] {
    let mut v = [[0.0; 9]; 9];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..60 {
        let off: f64 = (0..9).flat_map(|p| (p + 1..9).map(move |q| (p, q))).map(|(p, q)| m[p][q] * m[p][q]).sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..9 {
            for q in p + 1..9 {
                if m[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in m.iter_mut() {
                    let (mkp, mkq) = (row[p], row[q]);
                    row[p] = c * mkp - s * mkq;
                    row[q] = s * mkp + c * mkq;
                }
                let (row_p, row_q) = (m[p], m[q]);
                for (k, (mpk, mqk)) in row_p.into_iter().zip(row_q).enumerate() {
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let smallest = (0..9).min_by(|&a, &b| m[a][a].total_cmp(&m[b][b])).unwrap_or(8);
    std::array::from_fn(|k| v[k][smallest])
}

/// The least-squares homography (algebraic error, normalised DLT) mapping `from` onto `to`;
/// None for fewer than 4 pairs or degenerate points.
pub fn fit_homography(from: &[[f64; 2]], to: &[[f64; 2]]) -> Option<Homography> {
    if from.len() != to.len() || from.len() < 4 {
        return None;
    }
    let (tf, tt) = (normalisation(from)?, normalisation(to)?);
    let mut ata = [[0.0f64; 9]; 9];
    for (p, q) in from.iter().zip(to) {
        let (x, y) = apply(&tf, p[0], p[1])?;
        let (u, v) = apply(&tt, q[0], q[1])?;
        let rows = [[-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u], [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v]];
        for row in rows {
            for i in 0..9 {
                for j in 0..9 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
    }
    let h_normalised = smallest_eigenvector(ata);
    let h = multiply(&invert_normalisation(&tt), &multiply(&h_normalised, &tf));
    h.iter().all(|v| v.is_finite()).then_some(h)
}

/// Root-mean-square distance between `to` and `from` mapped by the best homography, in
/// units of the eye span of `from` (mesh points 33 and 263). None when the meshes differ in
/// size, have no eye span or admit no homography.
pub fn planar_residual(from: &[[f32; 3]], to: &[[f32; 3]]) -> Option<f32> {
    if from.len() != to.len() || from.len() <= LEFT_EYE_OUTER {
        return None;
    }
    let eye_span = (from[LEFT_EYE_OUTER][0] - from[RIGHT_EYE_OUTER][0])
        .hypot(from[LEFT_EYE_OUTER][1] - from[RIGHT_EYE_OUTER][1]) as f64;
    if eye_span.is_nan() || eye_span <= 1e-6 {
        return None;
    }
    let flat = |points: &[[f32; 3]]| points.iter().map(|p| [p[0] as f64, p[1] as f64]).collect::<Vec<_>>();
    let (a, b) = (flat(from), flat(to));
    let h = fit_homography(&a, &b)?;
    let mut sum = 0.0;
    for (p, q) in a.iter().zip(&b) {
        let (x, y) = apply(&h, p[0], p[1])?;
        sum += (x - q[0]).powi(2) + (y - q[1]).powi(2);
    }
    Some(((sum / a.len() as f64).sqrt() / eye_span) as f32)
}

/// Synthetic meshes for the session's tests: a face-like point cloud with depth, turned as
/// a head or tilted as a photo.
#[cfg(test)]
pub(crate) fn synthetic_head() -> Vec<[f32; 3]> {
    tests::head(468)
}

#[cfg(test)]
pub(crate) fn turn_synthetic(points: &[[f32; 3]], yaw: f32) -> Vec<[f32; 3]> {
    tests::turn(points, yaw, 60.0)
}

/// The synthetic head as a photo tilted about its vertical axis by about 35 degrees.
#[cfg(test)]
pub(crate) fn tilt_synthetic(points: &[[f32; 3]]) -> Vec<[f32; 3]> {
    tests::warp(points, &tests::TILT)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const TILT: Homography = [0.82, 0.0, 36.0, 0.0, 1.0, 0.0, 0.0009, 0.0, 1.0];

    /// A face-like cloud of points with depth: an ellipsoid cap (cheeks, forehead, chin
    /// behind) and a nose ridge in front, 100 px eye span, centred at (200, 200).
    pub fn head(points: usize) -> Vec<[f32; 3]> {
        let mut out = Vec::with_capacity(points);
        for i in 0..points {
            let a = i as f32 * 2.399_963; // golden angle
            let r = (i as f32 / points as f32).sqrt();
            let (x, y) = (r * a.cos() * 80.0, r * a.sin() * 100.0);
            // Ellipsoid depth: the centre of the face is closest (smaller z is nearer).
            let z = -60.0 * (1.0 - (x / 90.0).powi(2) - (y / 110.0).powi(2)).max(0.0).sqrt();
            // A nose: points near the vertical mid-line below the eyes stand out.
            let nose = if x.abs() < 12.0 && y > -10.0 && y < 40.0 { -25.0 * (1.0 - x.abs() / 12.0) } else { 0.0 };
            out.push([200.0 + x, 200.0 + y, z + nose]);
        }
        out[RIGHT_EYE_OUTER] = [150.0, 170.0, -40.0];
        out[LEFT_EYE_OUTER] = [250.0, 170.0, -40.0];
        out
    }

    /// Rotates `points` about a vertical axis through (200, ·, pivot_z) by `yaw` degrees and
    /// projects them orthographically.
    pub fn turn(points: &[[f32; 3]], yaw: f32, pivot_z: f32) -> Vec<[f32; 3]> {
        let (s, c) = yaw.to_radians().sin_cos();
        points
            .iter()
            .map(|p| {
                let (dx, dz) = (p[0] - 200.0, p[2] - pivot_z);
                [200.0 + dx * c - dz * s, p[1], pivot_z + dx * s + dz * c]
            })
            .collect()
    }

    pub fn warp(points: &[[f32; 3]], h: &Homography) -> Vec<[f32; 3]> {
        points
            .iter()
            .map(|p| {
                let (x, y) = apply(h, p[0] as f64, p[1] as f64).unwrap();
                [x as f32, y as f32, p[2]]
            })
            .collect()
    }

    #[test]
    fn a_known_homography_is_recovered() {
        let from: Vec<[f64; 2]> = (0..50).map(|i| [(i % 7) as f64 * 30.0 + 5.0, (i / 7) as f64 * 25.0 + 3.0]).collect();
        let h = [1.1, 0.2, 30.0, -0.1, 0.9, 12.0, 0.0008, -0.0005, 1.0];
        let to: Vec<[f64; 2]> = from.iter().map(|p| apply(&h, p[0], p[1]).map(|(x, y)| [x, y]).unwrap()).collect();
        let fitted = fit_homography(&from, &to).unwrap();
        for (p, q) in from.iter().zip(&to) {
            let (x, y) = apply(&fitted, p[0], p[1]).unwrap();
            assert!((x - q[0]).abs() < 1e-6 && (y - q[1]).abs() < 1e-6, "{x},{y} vs {q:?}");
        }
    }

    #[test]
    fn a_flat_face_under_any_tilt_is_planar_and_a_turning_head_is_not() {
        let face = head(468);
        // A photo tilted about its vertical axis by about 35 degrees, seen in perspective:
        // foreshortened horizontally, one side larger than the other.
        let tilted = planar_residual(&face, &warp(&face, &TILT)).unwrap();
        // In-plane shake, rotation and scale of a hand-held print.
        let (s, c) = 0.3f64.sin_cos();
        let similar = [1.2 * c, -1.2 * s, 40.0, 1.2 * s, 1.2 * c, -25.0, 0.0, 0.0, 1.0];
        let moved = planar_residual(&face, &warp(&face, &similar)).unwrap();
        assert!(tilted < 1e-4 && moved < 1e-4, "{tilted} {moved}");
        // The same points turned as a 3D head by 20 degrees about a pivot behind the face.
        let turned = planar_residual(&face, &turn(&face, 20.0, 60.0)).unwrap();
        assert!(turned > 0.02, "{turned}");
        let more = planar_residual(&face, &turn(&face, 30.0, 60.0)).unwrap();
        assert!(more > turned, "{more} {turned}");
    }

    #[test]
    fn degenerate_input_has_no_residual() {
        let face = head(468);
        assert_eq!(planar_residual(&face[..100], &face[..100]), None);
        assert_eq!(planar_residual(&face, &face[..400]), None);
        let same = vec![[5.0, 5.0, 0.0]; 468];
        assert_eq!(planar_residual(&same, &same), None);
    }
}
