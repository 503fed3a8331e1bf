//! Passive surface analysis (seed 002) and image quality (seed 000 token `details.quality`)
//! of a face, on luma canvases of the face box. Plain Rust, no model.
//!
//! Surface, on a 256x256 canvas as seed 002 works:
//! - LBP: 8-neighbour codes (neighbour >= centre), histogram, entropy in bits;
//!   `skin_complexity = entropy / 8` (seed `sh_a_score`), real above 0.3.
//! - Frequency: Sobel gradient magnitude; `avg_gradient` natural in 5..30 and
//!   `high_freq_ratio` (share of pixels whose magnitude exceeds [`HIGH_FREQ_MAGNITUDE`])
//!   natural in 0.01..0.15; `frequency_score` (seed `sv_b_score`) is the mean of how natural
//!   each is (1 inside its range, falling linearly to 0 at zero or at twice the upper bound),
//!   real above 0.35.
//! - Moiré: 16 rows across the middle of the face; zero crossings of each row's derivative
//!   (reversals of direction by at least [`MOIRE_MIN_SWING`] grey levels, so that skin grain
//!   and sensor noise do not count); `crossing_ratio = crossings / width`; moiré (seed `ip_c_detected`) when at least 2 rows exceed 0.3. Counted on the face
//!   at the frame's own resolution (at most 256 px), not on the 256 canvas: enlarging a small
//!   face would smooth a pixel-level screen pattern away.
//! - Reflectance: coefficient of variation of brightness; natural in 0.15..0.5, artificial
//!   below 0.1 or above 0.7, uncertain between (seed `pr_d_pattern`).
//! - `is_real = skin_complexity > 0.3 && frequency_score > 0.35 && !moire && reflectance !=
//!   artificial`. Confidence: each check's margin to its threshold as 0..1 (0.5 on the
//!   threshold, 1 at twice the margin), the weakest check's value; below 0.5 exactly when a
//!   check fails.
//!
//! Quality, on the face at the frame's own resolution (at most 256x256: enlarging a small face
//! would blur it), each 0..1 with
//! 1 good, as in seed 000's example; the flags are true when the value is below its
//! threshold: `blur` = v / (v + 100) of the variance v of the Laplacian; `light` = 1 - share of
//! pixels at or above 240 (over-exposure); `darkness` = 1 - share of pixels at or below 40;
//! `illumination` = 1 - 2 x the larger of the left/right and top/bottom mean brightness
//! asymmetries; `specularity` = 1 - 10 x the share of glints (pixels of 230 or more that
//! outshine their 5x5 neighbourhood by more than 40 levels).

// The result types live with the other per-face results, on the ground floor.
pub use crate::face::{QualityResult, Reflectance, SurfaceResult};

/// Side of the surface canvas (seed 002 "256x256 working canvas").
pub const SURFACE_CANVAS: usize = 256;
/// Largest side of the native-resolution canvas (moiré and quality).
pub const NATIVE_CANVAS_MAX: usize = 256;
/// Smallest side of the native-resolution canvas.
pub const NATIVE_CANVAS_MIN: usize = 32;
/// Sobel magnitude counted as a high-frequency component (sharp edge).
pub const HIGH_FREQ_MAGNITUDE: f32 = 100.0;
const MOIRE_SAMPLE_ROWS: usize = 16;
/// Grey levels a row must come back from its last extreme for a reversal to count.
pub const MOIRE_MIN_SWING: f32 = 8.0;
/// Variance of the Laplacian at which `blur` reads 0.5.
const BLUR_HALF_VARIANCE: f32 = 100.0;

/// The thresholds, with seed 002's and seed 000's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceThresholds {
    pub min_skin_complexity: f32,
    pub min_frequency_score: f32,
    pub natural_gradient: (f32, f32),
    pub natural_high_freq: (f32, f32),
    pub moire_crossing_ratio: f32,
    pub moire_rows: u32,
    pub natural_reflectance: (f32, f32),
    pub artificial_reflectance: (f32, f32),
}

impl Default for SurfaceThresholds {
    fn default() -> Self {
        SurfaceThresholds {
            min_skin_complexity: 0.3,           // seed 002
            min_frequency_score: 0.35,          // seed 002
            natural_gradient: (5.0, 30.0),      // seed 002
            natural_high_freq: (0.01, 0.15),    // seed 002
            moire_crossing_ratio: 0.3,          // seed 002
            moire_rows: 2,                      // seed 002 "in multiple rows"
            natural_reflectance: (0.15, 0.5),   // seed 002
            artificial_reflectance: (0.1, 0.7), // seed 002: artificial below 0.1 or above 0.7
        }
    }
}

fn lbp_entropy_bits(canvas: &[f32], size: usize) -> f32 {
    let mut histogram = [0u32; 256];
    let mut count = 0u32;
    for y in 1..size - 1 {
        for x in 1..size - 1 {
            let centre = canvas[y * size + x];
            let neighbours = [
                canvas[(y - 1) * size + x - 1],
                canvas[(y - 1) * size + x],
                canvas[(y - 1) * size + x + 1],
                canvas[y * size + x + 1],
                canvas[(y + 1) * size + x + 1],
                canvas[(y + 1) * size + x],
                canvas[(y + 1) * size + x - 1],
                canvas[y * size + x - 1],
            ];
            let code =
                neighbours.iter().enumerate().fold(0usize, |code, (bit, &n)| code | (usize::from(n >= centre) << bit));
            histogram[code] += 1;
            count += 1;
        }
    }
    let total = count.max(1) as f32;
    histogram.iter().filter(|&&c| c > 0).map(|&c| c as f32 / total).map(|p| -p * p.log2()).sum()
}

/// (mean Sobel magnitude, share of pixels above [`HIGH_FREQ_MAGNITUDE`]).
fn sobel_statistics(canvas: &[f32], size: usize) -> (f32, f32) {
    let mut sum = 0.0f64;
    let mut high = 0u32;
    let mut count = 0u32;
    let at = |x: usize, y: usize| canvas[y * size + x];
    for y in 1..size - 1 {
        for x in 1..size - 1 {
            let gx = (at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x - 1, y) + at(x - 1, y + 1));
            let gy = (at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x, y - 1) + at(x + 1, y - 1));
            // Gradients of 0..255 values stay far from overflow: the plain root, not `hypot`'s
            // overflow-guarded library call on every pixel.
            let magnitude = (gx * gx + gy * gy).sqrt();
            sum += magnitude as f64;
            high += u32::from(magnitude > HIGH_FREQ_MAGNITUDE);
            count += 1;
        }
    }
    let n = count.max(1) as f32;
    ((sum / n as f64) as f32, high as f32 / n)
}

/// How natural `value` is for the range (lo, hi): 1 inside, linearly down to 0 at 0 below
/// and at 2 * hi above.
fn naturalness(value: f32, (lo, hi): (f32, f32)) -> f32 {
    if value < lo {
        (value / lo).clamp(0.0, 1.0)
    } else if value > hi {
        (1.0 - (value - hi) / hi).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Crossing ratio of each sampled row: reversals of the row's direction (zero crossings of
/// its derivative) per pixel, counting a reversal only once the row has come back by at least
/// `MOIRE_MIN_SWING` grey levels from its last extreme, so sensor noise and skin grain do not
/// count while a printed or displayed pattern does.
fn row_crossing_ratios(canvas: &[f32], size: usize) -> Vec<f32> {
    (0..MOIRE_SAMPLE_ROWS)
        .map(|i| {
            // Rows spread over the middle 80 % of the face.
            let y = (size / 10 + i * (size * 8 / 10) / (MOIRE_SAMPLE_ROWS - 1).max(1)).min(size - 1);
            let row = &canvas[y * size..(y + 1) * size];
            let mut reversals = 0u32;
            let mut rising: Option<bool> = None;
            let mut extreme = row.first().copied().unwrap_or(0.0);
            for &value in row.iter().skip(1) {
                match rising {
                    None => {
                        if (value - extreme).abs() >= MOIRE_MIN_SWING {
                            rising = Some(value > extreme);
                            extreme = value;
                        }
                    }
                    Some(true) if value > extreme => extreme = value,
                    Some(false) if value < extreme => extreme = value,
                    Some(up) => {
                        if (value - extreme).abs() >= MOIRE_MIN_SWING {
                            reversals += 1;
                            rising = Some(!up);
                            extreme = value;
                        }
                    }
                }
            }
            reversals as f32 / size as f32
        })
        .collect()
}

fn mean_and_std(values: &[f32]) -> (f32, f32) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let variance = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean as f32, variance.sqrt() as f32)
}

/// Margin of `value` over a lower `threshold` as 0..1: 0.5 on it, 1 at twice the threshold.
fn margin_above(value: f32, threshold: f32) -> f32 {
    (0.5 + 0.5 * (value - threshold) / threshold.max(f32::EPSILON)).clamp(0.0, 1.0)
}

/// Runs the four checks on a `size` x `size` luma canvas (0..255) and, for moiré, on the
/// same region at the frame's own resolution (`native`, `native_size` square).
pub fn analyse_surface(
    canvas: &[f32],
    size: usize,
    native: &[f32],
    native_size: usize,
    t: &SurfaceThresholds,
) -> SurfaceResult {
    let skin_complexity = lbp_entropy_bits(canvas, size) / 8.0;
    let (avg_gradient, high_freq_ratio) = sobel_statistics(canvas, size);
    let frequency_score =
        (naturalness(avg_gradient, t.natural_gradient) + naturalness(high_freq_ratio, t.natural_high_freq)) / 2.0;
    let ratios = row_crossing_ratios(native, native_size);
    let moire_rows = ratios.iter().filter(|&&r| r > t.moire_crossing_ratio).count() as u32;
    let max_crossing_ratio = ratios.iter().copied().fold(0.0, f32::max);
    let moire_detected = moire_rows >= t.moire_rows.max(1);
    let (mean, std) = mean_and_std(canvas);
    let reflectance_cv = if mean > 0.0 { std / mean } else { 0.0 };
    let reflectance = if reflectance_cv < t.artificial_reflectance.0 || reflectance_cv > t.artificial_reflectance.1 {
        Reflectance::Artificial
    } else if reflectance_cv > t.natural_reflectance.0 && reflectance_cv < t.natural_reflectance.1 {
        Reflectance::Natural
    } else {
        Reflectance::Uncertain
    };
    let is_real = skin_complexity > t.min_skin_complexity
        && frequency_score > t.min_frequency_score
        && !moire_detected
        && reflectance != Reflectance::Artificial;
    let moire_margin = if moire_detected {
        0.25 * (1.0 - (max_crossing_ratio - t.moire_crossing_ratio) / t.moire_crossing_ratio).clamp(0.0, 1.0)
    } else {
        margin_above(t.moire_crossing_ratio * 2.0 - max_crossing_ratio, t.moire_crossing_ratio)
    };
    let reflectance_margin = match reflectance {
        Reflectance::Natural => 1.0,
        Reflectance::Uncertain => 0.5,
        Reflectance::Artificial => 0.0,
    };
    let confidence = [
        margin_above(skin_complexity, t.min_skin_complexity),
        margin_above(frequency_score, t.min_frequency_score),
        moire_margin,
        reflectance_margin,
    ]
    .into_iter()
    .fold(1.0, f32::min);
    // Keep the confidence on the side of the decision even where margins meet.
    let confidence = if is_real { confidence.max(0.5) } else { confidence.min(0.4999) };
    SurfaceResult {
        skin_complexity,
        avg_gradient,
        high_freq_ratio,
        frequency_score,
        moire_rows,
        max_crossing_ratio,
        moire_detected,
        reflectance_cv,
        reflectance,
        is_real,
        confidence,
    }
}

/// Quality thresholds: a flag is set when its value is below its threshold. The defaults
/// make seed 000's example token (blur 0.93, light 0.60, darkness 0.82, illumination 0.19,
/// specularity 0.54, no flag set) read as it does there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityThresholds {
    pub blur: f32,
    pub light: f32,
    pub darkness: f32,
    pub illumination: f32,
    pub specularity: f32,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        QualityThresholds { blur: 0.61, light: 0.57, darkness: 0.5, illumination: 0.1, specularity: 0.1 }
    }
}

/// Share of pixels that are small bright highlights: at least 230 and brighter than the mean
/// of their 5x5 neighbourhood by more than 40 grey levels (a glint, not a bright area).
fn specular_share(canvas: &[f32], size: usize) -> f32 {
    // Integral image for the neighbourhood means.
    let mut integral = vec![0.0f64; (size + 1) * (size + 1)];
    for y in 0..size {
        let mut row = 0.0f64;
        for x in 0..size {
            row += canvas[y * size + x] as f64;
            integral[(y + 1) * (size + 1) + x + 1] = integral[y * (size + 1) + x + 1] + row;
        }
    }
    let mut count = 0u32;
    for y in 0..size {
        for x in 0..size {
            let v = canvas[y * size + x];
            if v < 230.0 {
                continue;
            }
            let (x0, y0, x1, y1) = (x.saturating_sub(2), y.saturating_sub(2), (x + 3).min(size), (y + 3).min(size));
            let sum = integral[y1 * (size + 1) + x1] - integral[y0 * (size + 1) + x1] - integral[y1 * (size + 1) + x0]
                + integral[y0 * (size + 1) + x0];
            let mean = sum / ((x1 - x0) * (y1 - y0)) as f64;
            count += u32::from(v as f64 > mean + 40.0);
        }
    }
    count as f32 / (size * size).max(1) as f32
}

fn laplacian_variance(canvas: &[f32], size: usize) -> f32 {
    let at = |x: usize, y: usize| canvas[y * size + x];
    let mut values = Vec::with_capacity((size - 2) * (size - 2));
    for y in 1..size - 1 {
        for x in 1..size - 1 {
            values.push(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y));
        }
    }
    let (_, std) = mean_and_std(&values);
    std * std
}

/// Measures the quality of a `size` x `size` luma canvas (0..255).
pub fn analyse_quality(canvas: &[f32], size: usize, t: &QualityThresholds) -> QualityResult {
    let n = canvas.len().max(1) as f32;
    let variance = laplacian_variance(canvas, size);
    let blur = variance / (variance + BLUR_HALF_VARIANCE);
    let light = 1.0 - canvas.iter().filter(|&&v| v >= 240.0).count() as f32 / n;
    let darkness = 1.0 - canvas.iter().filter(|&&v| v <= 40.0).count() as f32 / n;
    let half = size / 2;
    let region_mean = |x0: usize, x1: usize, y0: usize, y1: usize| {
        let mut sum = 0.0f32;
        for y in y0..y1 {
            sum += canvas[y * size + x0..y * size + x1].iter().sum::<f32>();
        }
        sum / ((x1 - x0) * (y1 - y0)).max(1) as f32
    };
    let asymmetry = |a: f32, b: f32| if a + b > 0.0 { (a - b).abs() / (a + b) } else { 0.0 };
    let left_right = asymmetry(region_mean(0, half, 0, size), region_mean(half, size, 0, size));
    let top_bottom = asymmetry(region_mean(0, size, 0, half), region_mean(0, size, half, size));
    let illumination = (1.0 - 2.0 * left_right.max(top_bottom)).clamp(0.0, 1.0);
    let highlights = specular_share(canvas, size);
    let specularity = (1.0 - 10.0 * highlights).clamp(0.0, 1.0);
    QualityResult {
        blur,
        is_blurred: blur < t.blur,
        light,
        is_highlighted: light < t.light,
        darkness,
        is_dark: darkness < t.darkness,
        illumination,
        is_illuminated: illumination < t.illumination,
        specularity,
        is_specular: specularity < t.specularity,
    }
}

/// Average surface confidence over a session, against seed 002's `minSurfaceScore`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunningScore {
    sum: f64,
    frames: u32,
}

impl RunningScore {
    pub fn add(&mut self, confidence: f32) -> (f32, u32) {
        self.sum += confidence as f64;
        self.frames += 1;
        ((self.sum / self.frames as f64) as f32, self.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: usize = 256;

    /// The checks with the same picture as canvas and native-resolution face.
    fn surface(picture: &[f32], t: &SurfaceThresholds) -> SurfaceResult {
        analyse_surface(picture, S, picture, S, t)
    }

    fn canvas(f: impl Fn(usize, usize) -> f32) -> Vec<f32> {
        (0..S * S).map(|i| f(i % S, i / S).clamp(0.0, 255.0)).collect()
    }

    /// Deterministic pseudo-random noise in -1..1.
    fn noise(x: usize, y: usize) -> f32 {
        let mut h = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        (h % 20001) as f32 / 10000.0 - 1.0
    }

    /// Skin-like: broad shading with fine texture correlated over a few pixels (pores), as a
    /// face looks once resampled to the canvas.
    fn skin(x: usize, y: usize) -> f32 {
        let shade = 130.0 + 60.0 * ((x as f32 / S as f32) * 3.0).sin() * ((y as f32 / S as f32) * 2.0).cos();
        let (bx, by) = (x / 3, y / 3);
        let (fx, fy) = ((x % 3) as f32 / 3.0, (y % 3) as f32 / 3.0);
        let texture = noise(bx, by) * (1.0 - fx) * (1.0 - fy)
            + noise(bx + 1, by) * fx * (1.0 - fy)
            + noise(bx, by + 1) * (1.0 - fx) * fy
            + noise(bx + 1, by + 1) * fx * fy;
        shade + 8.0 * texture
    }

    #[test]
    fn lbp_flat_patch_is_spoof_noise_is_complex() {
        let t = SurfaceThresholds::default();
        let flat = surface(&canvas(|_, _| 128.0), &t);
        assert!(flat.skin_complexity < 0.3, "{flat:?}");
        assert!(!flat.is_real);
        let noisy = surface(&canvas(|x, y| 128.0 + 60.0 * noise(x, y)), &t);
        assert!(noisy.skin_complexity > 0.8, "{noisy:?}");
    }

    #[test]
    fn frequency_ranges() {
        let t = SurfaceThresholds::default();
        // A gentle gradient: almost no gradient energy, below the natural range.
        let smooth = surface(&canvas(|x, _| x as f32 * 0.25), &t);
        assert!(smooth.avg_gradient < 5.0 && smooth.frequency_score < 0.35, "{smooth:?}");
        // A checkerboard of 2 px squares: every edge sharp, far above the range.
        let checker = surface(&canvas(|x, y| if (x / 2 + y / 2) % 2 == 0 { 40.0 } else { 215.0 }), &t);
        assert!(checker.high_freq_ratio > 0.15 && checker.avg_gradient > 30.0, "{checker:?}");
        assert!(checker.frequency_score < 0.35 && !checker.is_real, "{checker:?}");
        // Skin-like texture sits inside both ranges.
        let natural = surface(&canvas(skin), &t);
        assert!(natural.frequency_score > 0.35, "{natural:?}");
    }

    #[test]
    fn sinusoidal_grating_is_moire() {
        let t = SurfaceThresholds::default();
        // Period 3 px: the derivative changes sign about twice per period.
        let grating = surface(&canvas(|x, y| skin(x, y) + 30.0 * (x as f32 * std::f32::consts::TAU / 3.0).sin()), &t);
        assert!(grating.moire_detected && grating.max_crossing_ratio > 0.3, "{grating:?}");
        assert!(!grating.is_real);
        // A slow grating (period 40 px) is not.
        let slow = surface(
            &canvas(|x, y| skin(x, y) * 0.0 + 128.0 + 30.0 * (x as f32 * std::f32::consts::TAU / 40.0).sin()),
            &t,
        );
        assert!(!slow.moire_detected, "{slow:?}");
    }

    #[test]
    fn reflectance_classes() {
        let t = SurfaceThresholds::default();
        let uniform = surface(&canvas(|x, y| 128.0 + 3.0 * noise(x, y)), &t);
        assert_eq!(uniform.reflectance, Reflectance::Artificial, "{uniform:?}");
        let natural = surface(&canvas(|x, y| 128.0 + 45.0 * ((x + y) as f32 / 40.0).sin()), &t);
        assert_eq!(natural.reflectance, Reflectance::Natural, "{natural:?}");
        let harsh = surface(&canvas(|x, _| if x < S / 2 { 8.0 } else { 250.0 }), &t);
        assert_eq!(harsh.reflectance, Reflectance::Artificial, "{harsh:?}");
    }

    #[test]
    fn skin_like_texture_is_real_with_confidence_above_half() {
        let result = surface(&canvas(skin), &SurfaceThresholds::default());
        assert!(result.is_real && result.confidence >= 0.5, "{result:?}");
        let flat = surface(&canvas(|_, _| 128.0), &SurfaceThresholds::default());
        assert!(flat.confidence < 0.5, "{flat:?}");
    }

    #[test]
    fn quality_flags() {
        const Q: usize = 128;
        let t = QualityThresholds::default();
        let picture = |f: &dyn Fn(usize, usize) -> f32| -> Vec<f32> {
            (0..Q * Q).map(|i| f(i % Q, i / Q).clamp(0.0, 255.0)).collect()
        };
        let sharp = picture(&|x, y| skin(x * 2, y * 2) + 25.0 * noise(x, y));
        let good = analyse_quality(&sharp, Q, &t);
        assert!(
            !good.is_blurred && !good.is_dark && !good.is_highlighted && !good.is_illuminated && !good.is_specular,
            "{good:?}"
        );
        let flat = analyse_quality(&picture(&|x, _| 120.0 + x as f32 * 0.1), Q, &t);
        assert!(flat.is_blurred, "{flat:?}");
        let dark = analyse_quality(&picture(&|x, y| 20.0 + 5.0 * noise(x, y)), Q, &t);
        assert!(dark.is_dark && !dark.is_highlighted, "{dark:?}");
        let bright = analyse_quality(&picture(&|x, y| 250.0 + 5.0 * noise(x, y)), Q, &t);
        assert!(bright.is_highlighted && !bright.is_dark, "{bright:?}");
        let half_lit = analyse_quality(&picture(&|x, _| if x < Q / 2 { 30.0 } else { 200.0 }), Q, &t);
        assert!(half_lit.is_illuminated, "{half_lit:?}");
        let glints = analyse_quality(&picture(&|x, y| if (x % 8 < 3) && (y % 8 < 3) { 255.0 } else { 110.0 }), Q, &t);
        assert!(glints.is_specular, "{glints:?}");
    }

    #[test]
    fn running_score_averages() {
        let mut running = RunningScore::default();
        assert_eq!(running.add(0.8), (0.8, 1));
        let (score, frames) = running.add(0.2);
        assert!((score - 0.5).abs() < 1e-6 && frames == 2);
    }
}
