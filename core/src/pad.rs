//! Passive presentation-attack detection (PAD) features of one face, and their calibrated
//! logistic fusion with the CNN scores into one score (`lvantispoof model=fusion`).
//!
//! A print or a screen held to the camera leaves traces no live face has, whatever its
//! identity: periodic patterns at the camera's pixel scale (halftone dots, a display's pixel
//! grid and the moiré between it and the sensor), lost fine detail (a recaptured video is
//! blurred, rescaled and compressed twice), a reduced or shifted colour gamut (ink, backlight)
//! and glare. The features measure these on the face:
//!
//! - `periodicity`: on a 64x64 patch at the frame's own resolution in the middle of the face
//!   (Hann-windowed, mean removed), log10 of the largest ratio of a spectral bin's power to
//!   the median power of its ring (same frequency, every direction), over the rings from
//!   1/16 to 1/2 cycle a pixel. A face's spectrum is much the same in every direction; a
//!   halftone, a pixel grid or their moiré is a peak in one. The bins of the 8-pixel JPEG
//!   block grid (both indices multiples of 8) and of the two axes are left out: every
//!   camera's JPEG puts peaks there.
//! - `hf-energy`: the share of the patch's power (DC left out) above 1/4 cycle a pixel.
//! - `sharpness`: mean absolute Laplacian of the patch over its luma standard deviation.
//! - `chroma`, `chroma-spread`: mean and standard deviation of the chroma magnitude
//!   (BT.601 Cb, Cr on 0..1) over the middle half of the 128x128 face crop.
//! - `blue-cast`: mean Cb over the same region (a backlight's blue shift raises it).
//! - `clipped`: share of the crop's middle pixels with a channel at 250 or more (glare).
//! - `block-grid`: a recaptured video's coding blocks, enlarged with the video to a period of
//!   9 to 24 pixels: on the middle of the face at the frame's resolution (at most 128x128),
//!   the profiles of mean absolute horizontal and vertical differences along columns and
//!   rows, their slow trend removed, and the largest normalised autocorrelation of both at
//!   lags 9-24 (16, a multiple of the camera's own 8-pixel JPEG blocks, left out).
//!
//! The fusion reads `models/pad-fusion.json` (written by `make eval-pad`): the features it
//! uses, their standardisation on the tuning identities and the logistic weights. Its bias is
//! shifted so that the fused score reads 0.5 at the operating point chosen there: 0.5 stays
//! the natural threshold.

use crate::face::{Face, PadFeatures};
use crate::frame::{Affine, FrameView, resample_luma};

/// Side of the native-resolution patch the spectral features read.
pub const PATCH: usize = 64;
/// File name of the fusion weights, looked up with the models.
pub const FUSION_FILE: &str = "pad-fusion.json";
/// Version of the fusion file format this build reads.
pub const FUSION_VERSION: u32 = 1;

/// Everything the fusion may combine.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Candidates {
    /// `antispoof.onnx`'s probability of a real face, when it ran.
    pub antispoof_model: Option<f32>,
    /// `liveness.onnx`'s probability of the live class, when it ran.
    pub liveness_model: Option<f32>,
    /// None when the frame is smaller than the patch.
    pub features: Option<PadFeatures>,
}

impl Candidates {
    /// The value of the candidate `name` as the fusion takes it (CNN scores as logits;
    /// `name^2` its square, for features whose live range lies between two attack ranges),
    /// or None when it was not measured or the name is unknown.
    pub fn value(&self, name: &str) -> Option<f32> {
        if let Some(base) = name.strip_suffix("^2") {
            return self.value(base).map(|v| v * v);
        }
        let logit = |p: f32| {
            let p = p.clamp(1e-4, 1.0 - 1e-4);
            (p / (1.0 - p)).ln()
        };
        let f = self.features.as_ref();
        Some(match name {
            "antispoof-model" => logit(self.antispoof_model?),
            "liveness-model" => logit(self.liveness_model?),
            "periodicity" => f?.periodicity,
            "hf-energy" => f?.hf_energy,
            "sharpness" => f?.sharpness,
            "chroma" => f?.chroma,
            "chroma-spread" => f?.chroma_spread,
            "blue-cast" => f?.blue_cast,
            "clipped" => f?.clipped,
            "block-grid" => f?.block_grid,
            _ => return None,
        })
    }
}

/// Names of every candidate [`Candidates::value`] knows.
pub const CANDIDATES: &[&str] = &[
    "antispoof-model",
    "liveness-model",
    "periodicity",
    "hf-energy",
    "sharpness",
    "chroma",
    "chroma-spread",
    "blue-cast",
    "clipped",
    "block-grid",
];

/// Measures the features of `face`; `crop` is its 128x128 (or any size) RGB crop on 0..1 as
/// `FaceCrop::rgb_unit` makes it. None when the frame is smaller than the patch.
pub fn features(frame: &FrameView, face: &Face, crop: &[f32], crop_size: usize) -> Option<PadFeatures> {
    if frame.width < PATCH || frame.height < PATCH {
        return None;
    }
    let patch = native_square(frame, face, PATCH);
    let (periodicity, hf_energy) = spectral(&patch);
    let side =
        (face.bbox.width.min(face.bbox.height) as usize).clamp(GRID_MIN, GRID_MAX).min(frame.width).min(frame.height);
    let block_grid = block_grid(&native_square(frame, face, side), side);
    let sharpness = sharpness(&patch);
    let colour = colour(crop, crop_size);
    Some(PadFeatures {
        periodicity,
        hf_energy,
        sharpness,
        chroma: colour.0,
        chroma_spread: colour.1,
        blue_cast: colour.2,
        clipped: colour.3,
        block_grid,
    })
}

/// The luma of the `side` x `side` square of frame pixels centred on the face (kept inside
/// the frame; `side` must not exceed it), read pixel for pixel.
fn native_square(frame: &FrameView, face: &Face, side: usize) -> Vec<f32> {
    let centre = face.bbox.center();
    let x0 = (centre.x - side as f32 / 2.0).round().clamp(0.0, (frame.width - side) as f32);
    let y0 = (centre.y - side as f32 / 2.0).round().clamp(0.0, (frame.height - side) as f32);
    let mut square = vec![0.0f32; side * side];
    resample_luma(frame, &Affine { xu: 1.0, xv: 0.0, x0, yu: 0.0, yv: 1.0, y0 }, side, side, &mut square);
    square
}

/// (periodicity, hf-energy) of a PATCH x PATCH luma patch.
fn spectral(patch: &[f32]) -> (f32, f32) {
    let n = PATCH;
    let mean = patch.iter().sum::<f32>() / (n * n) as f32;
    let hann: Vec<f32> = (0..n).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n as f32).cos()).collect();
    let mut re: Vec<f32> = (0..n * n).map(|i| (patch[i] - mean) * hann[i / n] * hann[i % n]).collect();
    let mut im = vec![0.0f32; n * n];
    fft2(&mut re, &mut im, n);
    // Power by ring (integer radius in bins), half the spectrum (it is symmetric for a real
    // input): v in 0..n, u in 0..=n/2.
    let mut rings: Vec<Vec<f32>> = vec![Vec::new(); n / 2 + 1];
    let (mut total, mut high) = (0.0f64, 0.0f64);
    for v in 0..n {
        let fv = if v <= n / 2 { v as i64 } else { v as i64 - n as i64 };
        for u in 0..=n / 2 {
            let fu = u as i64;
            if fu == 0 && fv == 0 {
                continue;
            }
            let power = re[v * n + u].powi(2) + im[v * n + u].powi(2);
            let radius = ((fu * fu + fv * fv) as f32).sqrt();
            total += power as f64;
            if radius > n as f32 / 4.0 {
                high += power as f64;
            }
            let on_axis = fu == 0 || fv == 0;
            let on_block_grid = fu % 8 == 0 && fv % 8 == 0;
            let ring = radius.round() as usize;
            if ring < rings.len() && !on_axis && !on_block_grid {
                rings[ring].push(power);
            }
        }
    }
    if total <= 0.0 {
        return (0.0, 0.0);
    }
    // A face's spectrum falls with frequency but is much the same round each ring; a periodic
    // pattern stands out of its ring. Rings from 1/16 cycle a pixel.
    let mut peak = 0.0f32;
    for ring in rings.iter_mut().skip(n / 16).filter(|r| r.len() >= 8) {
        let strongest = ring.iter().copied().fold(0.0f32, f32::max);
        let middle = ring.len() / 2;
        let median = *ring.select_nth_unstable_by(middle, f32::total_cmp).1;
        peak = peak.max(strongest / median.max(1e-12));
    }
    (peak.max(1.0).log10(), (high / total) as f32)
}

const GRID_MIN: usize = 64;
const GRID_MAX: usize = 128;
const GRID_LAGS: std::ops::RangeInclusive<usize> = 9..=24;

/// The `block-grid` feature of a `side` x `side` luma region.
fn block_grid(region: &[f32], side: usize) -> f32 {
    let mut columns = vec![0.0f32; side - 1];
    let mut rows = vec![0.0f32; side - 1];
    for y in 0..side - 1 {
        for x in 0..side - 1 {
            let v = region[y * side + x];
            columns[x] += (region[y * side + x + 1] - v).abs();
            rows[y] += (region[(y + 1) * side + x] - v).abs();
        }
    }
    let score = |profile: &[f32], lag: usize| -> f32 {
        // Trend: a moving average over 7 samples.
        let n = profile.len();
        let detrended: Vec<f32> = (0..n)
            .map(|i| {
                let (lo, hi) = (i.saturating_sub(3), (i + 4).min(n));
                profile[i] - profile[lo..hi].iter().sum::<f32>() / (hi - lo) as f32
            })
            .collect();
        let energy: f32 = detrended.iter().map(|v| v * v).sum();
        if energy <= 0.0 || lag >= n {
            return 0.0;
        }
        let product: f32 = detrended.iter().zip(&detrended[lag..]).map(|(a, b)| a * b).sum();
        product / energy * n as f32 / (n - lag) as f32
    };
    GRID_LAGS.filter(|&lag| lag != 16).map(|lag| (score(&columns, lag) + score(&rows, lag)) / 2.0).fold(0.0, f32::max)
}

/// Mean absolute 4-neighbour Laplacian over the luma standard deviation (+1).
fn sharpness(patch: &[f32]) -> f32 {
    let n = PATCH;
    let mut sum = 0.0f32;
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let c = patch[y * n + x];
            let lap =
                patch[y * n + x - 1] + patch[y * n + x + 1] + patch[(y - 1) * n + x] + patch[(y + 1) * n + x] - 4.0 * c;
            sum += lap.abs();
        }
    }
    let mean_lap = sum / ((n - 2) * (n - 2)) as f32;
    let mean = patch.iter().sum::<f32>() / (n * n) as f32;
    let std = (patch.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / (n * n) as f32).sqrt();
    mean_lap / (std + 1.0)
}

/// (chroma, chroma-spread, blue-cast, clipped) over the middle half of an RGB crop on 0..1.
fn colour(crop: &[f32], size: usize) -> (f32, f32, f32, f32) {
    let (lo, hi) = (size / 4, size - size / 4);
    let mut chroma = Vec::with_capacity((hi - lo) * (hi - lo));
    let (mut cb_sum, mut clipped) = (0.0f32, 0u32);
    for y in lo..hi {
        for x in lo..hi {
            let i = (y * size + x) * 3;
            let Some(&[r, g, b]) = crop.get(i..i + 3).and_then(|p| <&[f32; 3]>::try_from(p).ok()) else { continue };
            let luma = 0.299 * r + 0.587 * g + 0.114 * b;
            let cb = 0.564 * (b - luma);
            let cr = 0.713 * (r - luma);
            chroma.push(cb.hypot(cr));
            cb_sum += cb;
            clipped += u32::from(r.max(g).max(b) >= 250.0 / 255.0);
        }
    }
    let count = chroma.len().max(1) as f32;
    let mean = chroma.iter().sum::<f32>() / count;
    let spread = (chroma.iter().map(|c| (c - mean).powi(2)).sum::<f32>() / count).sqrt();
    (mean, spread, cb_sum / count, clipped as f32 / count)
}

/// In-place 2D FFT of an n x n complex image (n a power of two): rows, then columns.
fn fft2(re: &mut [f32], im: &mut [f32], n: usize) {
    let mut row_re = vec![0.0f32; n];
    let mut row_im = vec![0.0f32; n];
    for y in 0..n {
        row_re.copy_from_slice(&re[y * n..(y + 1) * n]);
        row_im.copy_from_slice(&im[y * n..(y + 1) * n]);
        fft(&mut row_re, &mut row_im);
        re[y * n..(y + 1) * n].copy_from_slice(&row_re);
        im[y * n..(y + 1) * n].copy_from_slice(&row_im);
    }
    for x in 0..n {
        for y in 0..n {
            row_re[y] = re[y * n + x];
            row_im[y] = im[y * n + x];
        }
        fft(&mut row_re, &mut row_im);
        for y in 0..n {
            re[y * n + x] = row_re[y];
            im[y * n + x] = row_im[y];
        }
    }
}

/// Iterative radix-2 FFT (length a power of two).
fn fft(re: &mut [f32], im: &mut [f32]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let angle = -std::f32::consts::TAU / len as f32;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (angle * k as f32).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let (tr, ti) = (re[b] * c - im[b] * s, re[b] * s + im[b] * c);
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// Why a fusion file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FusionError {
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: version {found}, this build reads version {FUSION_VERSION}")]
    Version { path: String, found: u32 },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// The fusion file's contents.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Fusion {
    pub version: u32,
    /// Candidate names, in the order of the vectors below.
    pub features: Vec<String>,
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub weights: Vec<f32>,
    /// Bias, shifted so that 0.5 is the operating point.
    pub bias: f32,
}

impl Fusion {
    /// Checks the JSON `text` of the fusion file read from `path` (named in the errors).
    pub fn parse_file(text: &str, path: &str) -> Result<Fusion, FusionError> {
        Fusion::parse(text).map_err(|err| match err {
            FusionError::Version { found, .. } => FusionError::Version { path: path.into(), found },
            FusionError::Invalid { reason, .. } | FusionError::Read { reason, .. } => {
                FusionError::Invalid { path: path.into(), reason }
            }
        })
    }

    /// Parses and checks the JSON text of a fusion file.
    pub fn parse(text: &str) -> Result<Fusion, FusionError> {
        let invalid = |reason: String| FusionError::Invalid { path: FUSION_FILE.into(), reason };
        let fusion: Fusion = serde_json::from_str(text).map_err(|err| invalid(err.to_string()))?;
        if fusion.version != FUSION_VERSION {
            return Err(FusionError::Version { path: FUSION_FILE.into(), found: fusion.version });
        }
        let n = fusion.features.len();
        if n == 0 || [fusion.mean.len(), fusion.scale.len(), fusion.weights.len()].iter().any(|&l| l != n) {
            return Err(invalid(format!(
                "features, mean, scale and weights must have the same, non-zero length ({n})"
            )));
        }
        let known = |f: &str| CANDIDATES.contains(&f.strip_suffix("^2").unwrap_or(f));
        if let Some(unknown) = fusion.features.iter().find(|f| !known(f)) {
            return Err(invalid(format!("unknown feature {unknown} (known: {})", CANDIDATES.join(", "))));
        }
        let finite = fusion.mean.iter().chain(&fusion.weights).chain(&fusion.scale).all(|v| v.is_finite());
        if !finite || !fusion.bias.is_finite() || fusion.scale.iter().any(|&s| s <= 0.0) {
            return Err(invalid("values must be finite and scales positive".into()));
        }
        Ok(fusion)
    }

    /// Whether the fusion reads this candidate (alone or squared).
    pub fn uses(&self, name: &str) -> bool {
        self.features.iter().any(|f| f.strip_suffix("^2").unwrap_or(f) == name)
    }

    /// The fused score (0..1, 0.5 at the operating point), or None when a feature it uses
    /// was not measured.
    pub fn score(&self, candidates: &Candidates) -> Option<f32> {
        let mut z = self.bias;
        for (i, name) in self.features.iter().enumerate() {
            let x = candidates.value(name)?;
            z += self.weights[i] * (x - self.mean[i]) / self.scale[i];
        }
        Some(1.0 / (1.0 + (-z).exp()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(f: impl Fn(usize, usize) -> f32) -> Vec<f32> {
        (0..PATCH * PATCH).map(|i| f(i % PATCH, i / PATCH)).collect()
    }

    /// A smooth random-looking texture (sum of incommensurate low frequencies).
    fn smooth(x: usize, y: usize) -> f32 {
        let (x, y) = (x as f32, y as f32);
        120.0 + 20.0 * (x * 0.13 + y * 0.07).sin() + 15.0 * (x * 0.05 - y * 0.11).cos() + 8.0 * (x * y * 0.003).sin()
    }

    #[test]
    fn fft_of_a_pure_tone_has_one_peak() {
        let n = 16;
        let mut re: Vec<f32> = (0..n).map(|i| (std::f32::consts::TAU * 3.0 * i as f32 / n as f32).cos()).collect();
        let mut im = vec![0.0; n];
        fft(&mut re, &mut im);
        let power: Vec<f32> = re.iter().zip(&im).map(|(r, i)| r * r + i * i).collect();
        assert!((power[3] - 64.0).abs() < 1e-3 && (power[13] - 64.0).abs() < 1e-3, "{power:?}");
        assert!(power.iter().enumerate().all(|(k, &p)| k == 3 || k == 13 || p < 1e-6));
    }

    #[test]
    fn a_halftone_grid_is_periodic_and_skin_is_not() {
        let plain = patch(smooth);
        // Dots at a 2.7-pixel pitch, rotated: a printed halftone seen by the camera.
        let dots = patch(|x, y| {
            let (u, v) = (x as f32 * 0.94 + y as f32 * 0.34, -(x as f32) * 0.34 + y as f32 * 0.94);
            smooth(x, y) * (0.8 + 0.1 * ((u * 2.33).cos() + (v * 2.33).cos()))
        });
        let (p_plain, hf_plain) = spectral(&plain);
        let (p_dots, hf_dots) = spectral(&dots);
        assert!(p_dots > p_plain + 1.0, "halftone {p_dots} vs plain {p_plain}");
        assert!(hf_dots > hf_plain, "hf {hf_dots} vs {hf_plain}");
        assert!(sharpness(&dots) > sharpness(&plain));
    }

    #[test]
    fn enlarged_coding_blocks_make_a_grid() {
        let side = 96;
        let plain: Vec<f32> = (0..side * side).map(|i| smooth(i % side, i / side)).collect();
        // Blocks of 12 pixels, each a flat step: a video coded in 8-pixel blocks, enlarged 1.5x.
        let blocky: Vec<f32> = (0..side * side).map(|i| smooth((i % side) / 12 * 12, (i / side) / 12 * 12)).collect();
        let (g_plain, g_blocky) = (block_grid(&plain, side), block_grid(&blocky, side));
        assert!(g_blocky > 0.5 && g_blocky > g_plain + 0.3, "blocky {g_blocky} vs plain {g_plain}");
    }

    #[test]
    fn colour_statistics() {
        let size = 8;
        // Skin-like orange everywhere, one clipped white pixel in the middle.
        let mut crop: Vec<f32> = (0..size * size).flat_map(|_| [0.8, 0.55, 0.45]).collect();
        let i = (4 * size + 4) * 3;
        crop[i..i + 3].copy_from_slice(&[1.0, 1.0, 1.0]);
        let (chroma, spread, cb, clipped) = colour(&crop, size);
        assert!(chroma > 0.1 && spread > 0.0 && cb < 0.0, "{chroma} {spread} {cb}");
        assert!((clipped - 1.0 / 16.0).abs() < 1e-6, "{clipped}");
    }

    #[test]
    fn fusion_file_is_checked() {
        let good = r#"{"version":1,"features":["periodicity","liveness-model"],"mean":[1.0,0.0],
            "scale":[0.5,2.0],"weights":[-2.0,1.0],"bias":0.25}"#;
        let fusion = Fusion::parse(good).expect("a valid file");
        assert!(fusion.uses("liveness-model") && !fusion.uses("antispoof-model"));
        let features = PadFeatures { periodicity: 1.0, ..PadFeatures::default() };
        let mut c = Candidates { liveness_model: Some(0.5), features: Some(features), antispoof_model: None };
        // z = 0.25 + 0 + 0 -> sigmoid(0.25).
        assert!((fusion.score(&c).unwrap_or(0.0) - 0.5622).abs() < 1e-3);
        c.features = Some(PadFeatures { periodicity: 2.0, ..features });
        assert!(fusion.score(&c).unwrap_or(1.0) < 0.1, "a periodic face scores low");
        assert_eq!(c.value("periodicity^2"), Some(4.0));
        let squared = Fusion::parse(&good.replace("\"liveness-model\"", "\"liveness-model^2\"")).expect("valid");
        assert!(squared.uses("liveness-model"), "a squared CNN score needs the CNN");
        assert_eq!(fusion.score(&Candidates::default()), None, "liveness-model not measured");
        for bad in [
            good.replace("\"version\":1", "\"version\":2"),
            good.replace("\"periodicity\"", "\"colour\""),
            good.replace("[0.5,2.0]", "[0.0,2.0]"),
            good.replace("[-2.0,1.0]", "[-2.0]"),
            "{}".to_string(),
        ] {
            assert!(Fusion::parse(&bad).is_err(), "{bad}");
        }
    }
}
