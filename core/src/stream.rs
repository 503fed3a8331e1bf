//! Signals of the stream itself, for frames that may be injected past a camera: each frame's
//! luma on a fixed grid of points is compared with the previous frame's.
//!
//! - `change`, the mean absolute luma change over the grid, and `residual`, what is left of
//!   the change once the previous frame is re-encoded as the current one was: a repeated frame
//!   (a virtual camera or an injector that sends the same picture twice, or re-encodes it) is
//!   the same picture, at most requantised. Its difference from the frame before is nothing, or
//!   the requantisation of that frame on the 8 x 8 JPEG grid: quantising the previous frame's
//!   Y plane with the current frame's luma table (from the capture meta) reproduces the
//!   current frame to within rounding. A new capture is not explained that way, however clean
//!   the camera: its sensor noise and the living head's micro-motion move the coefficients
//!   across the quantiser's steps, and a frame filmed at another quality than the one before
//!   differs from that frame requantised by the first compression's own error. A frame is a
//!   repeat when it changed by under [`UNCHANGED`] levels, or when the requantised frame before
//!   explains all but [`REQUANTISED_SHARE`] of its change. Without the table (a raw camera, a
//!   frame scaled after decoding) only the first rule holds.
//! - `noise`, the median absolute change of the 2 x 2 pixel means at the grid points: most of
//!   a picture (the background, a still face) does not move from one frame to the next, so the
//!   median reads the sensor's temporal noise there. A rendered or synthesised face over a
//!   still background has none: its still pixels come out of the encoder identical every
//!   frame. A photo's grain does not count: it is the same in every frame.
//!
//! - `interval_ms`, the time since the frame before, from the capture meta's capture time
//!   ([`crate::capture`]) or the buffer's timestamp: a camera's clock jitters, a synthetic
//!   stream's timestamps may step exactly.
//! - `jpeg_tables`, the capture meta's hash of the frame's JPEG quantisation tables: lpserver's
//!   page encodes each frame at a quality of its own, a replayed or home-made stream often at
//!   one.
//!
//! None of them stops an attacker who adds noise of the right level to each frame, jitters
//! the timestamps and varies the encoder; they stop the injectors that do not bother.

/// Points of the grid across and down the frame.
pub const GRID_W: usize = 96;
pub const GRID_H: usize = 72;

/// One frame's luma on the grid: each point's pixel, and the mean of the 2 x 2 pixels there;
/// and, where the frame has one, its whole 8-bit Y plane (for the requantisation residual).
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    values: Vec<f32>,
    blocks: Vec<f32>,
    plane: Option<LumaPlane>,
}

/// An 8-bit Y plane, `width` x `height`, rows packed.
#[derive(Debug, Clone, PartialEq)]
pub struct LumaPlane {
    pub width: usize,
    pub height: usize,
    pub luma: Vec<u8>,
}

impl LumaPlane {
    /// Copies the `width` x `height` plane out of `plane` (rows `stride` bytes apart); None when
    /// the plane is too short.
    pub fn copy(plane: &[u8], stride: usize, width: usize, height: usize) -> Option<LumaPlane> {
        let mut luma = Vec::with_capacity(width * height);
        for y in 0..height {
            luma.extend_from_slice(plane.get(y * stride..y * stride + width)?);
        }
        Some(LumaPlane { width, height, luma })
    }
}

impl Signature {
    /// Samples `luma(x, y)` (0..255) of a `width` x `height` frame at the grid's points (the
    /// middle of each cell), and the mean of the 2 x 2 pixels there. The noise is read on the
    /// means: eight-bit sources (a Y plane) move in whole levels, and a single pixel of a
    /// camera whose noise is under a level often reads the same twice, where four rarely do.
    pub fn of(width: usize, height: usize, luma: impl Fn(usize, usize) -> f32) -> Option<Signature> {
        if width < GRID_W || height < GRID_H {
            return None;
        }
        let mut values = Vec::with_capacity(GRID_W * GRID_H);
        let mut blocks = Vec::with_capacity(GRID_W * GRID_H);
        for j in 0..GRID_H {
            let y = (2 * j + 1) * height / (2 * GRID_H);
            let y1 = (y + 1).min(height - 1);
            for i in 0..GRID_W {
                let x = (2 * i + 1) * width / (2 * GRID_W);
                let x1 = (x + 1).min(width - 1);
                let value = luma(x, y);
                values.push(value);
                blocks.push((value + luma(x1, y) + luma(x, y1) + luma(x1, y1)) * 0.25);
            }
        }
        Some(Signature { values, blocks, plane: None })
    }

    /// The same signature, keeping the frame's whole Y plane as well.
    pub fn with_plane(mut self, plane: Option<LumaPlane>) -> Signature {
        self.plane = plane;
        self
    }
}

/// The orthonormal 8-point DCT-II basis, `[u][x]` (JPEG's forward transform).
fn dct_basis() -> [[f32; 8]; 8] {
    let mut basis = [[0.0f32; 8]; 8];
    for (u, row) in basis.iter_mut().enumerate() {
        let scale = if u == 0 { (1.0f32 / 8.0).sqrt() } else { (2.0f32 / 8.0).sqrt() };
        for (x, value) in row.iter_mut().enumerate() {
            *value = scale * ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
        }
    }
    basis
}

/// `basis * block * basis^T` (forward) or `basis^T * block * basis` (inverse).
fn transform(basis: &[[f32; 8]; 8], block: &[[f32; 8]; 8], inverse: bool) -> [[f32; 8]; 8] {
    let b = |i: usize, j: usize| if inverse { basis[j][i] } else { basis[i][j] };
    let rows: [[f32; 8]; 8] =
        std::array::from_fn(|i| std::array::from_fn(|j| (0..8).map(|k| b(i, k) * block[k][j]).sum()));
    std::array::from_fn(|i| std::array::from_fn(|j| (0..8).map(|k| rows[i][k] * b(j, k)).sum()))
}

/// Mean absolute difference between `current` and `previous` requantised with `table` (the
/// current frame's luma table, natural order), and between `current` and `previous` as they
/// are, over the whole 8 x 8 blocks of every other block row and column; None when the planes
/// differ in size or hold no whole block.
pub fn requantisation_residual(previous: &LumaPlane, current: &LumaPlane, table: &[u16; 64]) -> Option<(f32, f32)> {
    if (previous.width, previous.height) != (current.width, current.height) || current.luma.len() < 64 {
        return None;
    }
    let basis = dct_basis();
    let (mut residual, mut change, mut pixels) = (0.0f64, 0.0f64, 0usize);
    let width = current.width;
    for by in (0..current.height / 8).step_by(2) {
        for bx in (0..width / 8).step_by(2) {
            let at = |y: usize, x: usize| (by * 8 + y) * width + bx * 8 + x;
            let mut block = [[0.0f32; 8]; 8];
            for (y, row) in block.iter_mut().enumerate() {
                for (x, value) in row.iter_mut().enumerate() {
                    *value = previous.luma[at(y, x)] as f32 - 128.0;
                }
            }
            let mut coefficients = transform(&basis, &block, false);
            for (k, value) in coefficients.iter_mut().flatten().enumerate() {
                let step = table[k] as f32;
                *value = (*value / step).round() * step;
            }
            let requantised = transform(&basis, &coefficients, true);
            for (y, row) in requantised.iter().enumerate() {
                for (x, value) in row.iter().enumerate() {
                    let now = current.luma[at(y, x)] as f32;
                    let again = (value + 128.0).round().clamp(0.0, 255.0);
                    residual += (now - again).abs() as f64;
                    change += (now - previous.luma[at(y, x)] as f32).abs() as f64;
                    pixels += 1;
                }
            }
        }
    }
    (pixels > 0).then(|| ((residual / pixels as f64) as f32, (change / pixels as f64) as f32))
}

/// How a frame changed from the one before it, in luma levels (0..255).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct StreamSignals {
    /// Mean absolute change over the grid.
    pub change: f32,
    /// Median absolute change: the temporal noise where the picture stands still.
    pub noise: f32,
    /// Time since the frame before, ms (capture time, else buffer timestamp).
    #[serde(default)]
    pub interval_ms: Option<f32>,
    /// Hash of the frame's JPEG quantisation tables, where the sender gave it.
    #[serde(default)]
    pub jpeg_tables: Option<u32>,
    /// Mean absolute difference between this frame and the frame before re-encoded with this
    /// frame's luma table, over the sampled blocks (None without the table and both Y planes).
    #[serde(default)]
    pub residual: Option<f32>,
    /// Mean absolute change over the same blocks (the residual's reference).
    #[serde(default)]
    pub block_change: Option<f32>,
}

impl StreamSignals {
    /// The change from `previous` to `current` (None when the grids differ in size: the
    /// frame size changed); `table` is the current frame's JPEG luma table, where known.
    pub fn between(previous: &Signature, current: &Signature, table: Option<&[u16; 64]>) -> Option<StreamSignals> {
        if previous.values.len() != current.values.len() || current.values.is_empty() {
            return None;
        }
        let change = previous.values.iter().zip(&current.values).map(|(a, b)| (a - b).abs()).sum::<f32>()
            / current.values.len() as f32;
        let mut deltas: Vec<f32> = previous.blocks.iter().zip(&current.blocks).map(|(a, b)| (a - b).abs()).collect();
        let middle = deltas.len() / 2;
        let (_, median, _) = deltas.select_nth_unstable_by(middle, f32::total_cmp);
        let noise = *median;
        // A frame that changed much is no repeat: the residual is not worth its cost there.
        let requantised = match (&previous.plane, &current.plane, table) {
            (Some(before), Some(now), Some(table)) if change < MAX_REPEAT_CHANGE => {
                requantisation_residual(before, now, table)
            }
            _ => None,
        };
        Some(StreamSignals {
            change,
            noise,
            interval_ms: None,
            jpeg_tables: None,
            residual: requantised.map(|r| r.0),
            block_change: requantised.map(|r| r.1),
        })
    }

    /// Whether the frame repeats the one before: it changed by under [`UNCHANGED`] levels, or
    /// the frame before, requantised as this one was, explains all but [`REQUANTISED_SHARE`]
    /// of its change.
    pub fn repeated(&self) -> bool {
        let requantised = match (self.residual, self.block_change) {
            (Some(residual), Some(change)) => residual < REQUANTISED_SHARE * change,
            _ => false,
        };
        self.change < UNCHANGED || requantised
    }
}

/// A frame whose mean change from the one before is under this many levels is the same
/// picture (the sensor noise of the cleanest camera of `make eval`'s sweep, 0.5 levels under a
/// temporal denoiser and JPEG 70, still changes a frame by 0.3 levels or more).
pub const UNCHANGED: f32 = 0.1;
/// A frame that changed by no more than this many levels may be a re-encoded repeat (a
/// requantisation moves a frame by under 1.5 levels at the qualities a sender uses).
pub const MAX_REPEAT_CHANGE: f32 = 3.0;
/// A frame whose change the requantised frame before explains but for this share is a repeat:
/// re-encodings a little below their quality leave 5-50 % of their change (the encoders'
/// rounding), new captures 90 % and more. (At qualities of 95 and above an encoder's rounding
/// is as large as the requantisation: such re-encodings pass for new frames.)
pub const REQUANTISED_SHARE: f32 = 0.6;
/// Noise readings a tally keeps (about 15 minutes at 10 frames a second).
const MAX_READINGS: usize = 10_000;

/// Intervals or table hashes a tally needs before it judges them.
pub const MIN_READINGS: usize = 10;

/// A session's stream signals: frames, repeats, the noise readings, the intervals and the
/// distinct JPEG tables.
#[derive(Debug, Clone, Default)]
pub struct StreamTally {
    frames: u32,
    repeated: u32,
    noise: Vec<f32>,
    intervals: Vec<f32>,
    tables: Vec<u32>,
    frames_with_tables: usize,
}

/// What a session's stream signals come to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamFigures {
    /// Share of the frames that repeated the one before.
    pub duplicate_share: f32,
    /// Median temporal noise over the frames, luma levels.
    pub sensor_noise: f32,
    /// Median absolute deviation of the frame intervals from their median, ms (None before
    /// MIN_READINGS intervals).
    pub timing_jitter_ms: Option<f32>,
    /// Distinct JPEG quantisation tables (None before MIN_READINGS frames gave them).
    pub jpeg_tables: Option<u32>,
}

fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

impl StreamTally {
    pub fn add(&mut self, signals: StreamSignals) {
        self.frames += 1;
        self.repeated += u32::from(signals.repeated());
        if self.noise.len() < MAX_READINGS {
            self.noise.push(signals.noise);
            self.intervals.extend(signals.interval_ms);
        }
        if let Some(hash) = signals.jpeg_tables {
            self.frames_with_tables += 1;
            if self.tables.len() < 64 && !self.tables.contains(&hash) {
                self.tables.push(hash);
            }
        }
    }

    /// None before any frame was compared with the one before.
    pub fn figures(&self) -> Option<StreamFigures> {
        if self.frames == 0 {
            return None;
        }
        let mut intervals = self.intervals.clone();
        let timing_jitter_ms = (intervals.len() >= MIN_READINGS).then(|| {
            let middle = median(&mut intervals);
            median(&mut intervals.iter().map(|i| (i - middle).abs()).collect::<Vec<_>>())
        });
        Some(StreamFigures {
            duplicate_share: self.repeated as f32 / self.frames as f32,
            sensor_noise: median(&mut self.noise.clone()),
            timing_jitter_ms,
            jpeg_tables: (self.frames_with_tables >= MIN_READINGS).then_some(self.tables.len() as u32),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A still scene (a gradient and a disc) whose disc moves `shift` pixels, with sensor
    /// noise of `sigma` levels.
    fn frame(shift: f32, sigma: f32, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f32> {
        let (w, h) = (320usize, 240usize);
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let disc = if (x - 160.0 - shift).hypot(y - 120.0) < 50.0 { 60.0 } else { 0.0 };
                let noise = if sigma > 0.0 {
                    let (u1, u2): (f32, f32) = (rng.random_range(1e-6..1.0), rng.random_range(0.0..1.0));
                    sigma * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
                } else {
                    0.0
                };
                (80.0 + x * 0.2 + disc + noise).round().clamp(0.0, 255.0)
            })
            .collect()
    }

    fn signature(frame: &[f32]) -> Signature {
        Signature::of(320, 240, |x, y| frame[y * 320 + x]).unwrap()
    }

    #[test]
    fn repeats_renders_and_noisy_frames_read_apart() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let still = frame(0.0, 0.0, &mut rng);
        let repeated = StreamSignals::between(&signature(&still), &signature(&still), None).unwrap();
        assert_eq!((repeated.change, repeated.noise), (0.0, 0.0));
        // A noise-free render whose face moved: it changed, but its still part did not.
        let moved = frame(4.0, 0.0, &mut rng);
        let render = StreamSignals::between(&signature(&still), &signature(&moved), None).unwrap();
        assert!(render.change > 0.5 && render.noise == 0.0, "{render:?}");
        // A camera: noise of 2 levels changes every pixel (1.13 x 2 x 1.41 on average); the
        // median change of a 2 x 2 mean is about 0.67 x 2 x 1.41 / 2.
        let (a, b) = (frame(0.0, 2.0, &mut rng), frame(4.0, 2.0, &mut rng));
        let camera = StreamSignals::between(&signature(&a), &signature(&b), None).unwrap();
        assert!(camera.noise > 0.7 && camera.change > 2.0, "{camera:?}");
        // Under a level of noise, most pixels of an 8-bit source read the same twice (their
        // median change is 0), but the 2 x 2 means still move.
        let (a, b) = (frame(0.0, 0.4, &mut rng), frame(4.0, 0.4, &mut rng));
        let quiet = StreamSignals::between(&signature(&a), &signature(&b), None).unwrap();
        let mut pixel: Vec<f32> = a.iter().zip(&b).step_by(97).map(|(x, y)| (x - y).abs()).collect();
        pixel.sort_by(f32::total_cmp);
        assert_eq!(pixel[pixel.len() / 2], 0.0);
        assert!(quiet.noise >= 0.25, "{quiet:?}");
        assert!(Signature::of(50, 40, |_, _| 0.0).is_none());
    }

    #[test]
    fn a_tally_counts_repeats_and_takes_the_median_noise() {
        let mut tally = StreamTally::default();
        assert_eq!(tally.figures(), None);
        for (change, noise) in [(3.0, 1.0), (0.0, 0.0), (2.5, 1.2), (4.0, 1.5)] {
            tally.add(StreamSignals { change, noise, ..StreamSignals::default() });
        }
        let figures = tally.figures().unwrap();
        assert_eq!((figures.duplicate_share, figures.sensor_noise), (0.25, 1.2));
        assert_eq!((figures.timing_jitter_ms, figures.jpeg_tables), (None, None));
        // Intervals of a camera sampled at 10 fps (3 or 4 periods of 33.3 ms, jitter) and of a
        // synthetic stream (exactly 100 ms); one JPEG table set, then two.
        let (mut camera, mut synthetic) = (StreamTally::default(), StreamTally::default());
        for n in 0..20 {
            let jitter = [0.4, -0.7, 0.2, -0.3, 0.9][n % 5];
            let interval = if n % 3 == 0 { 133.3 } else { 100.0 } + jitter;
            let tables = Some(if n % 2 == 0 { 1 } else { 2 });
            camera.add(StreamSignals {
                change: 2.0,
                noise: 1.0,
                interval_ms: Some(interval),
                jpeg_tables: tables,
                ..StreamSignals::default()
            });
            synthetic.add(StreamSignals {
                change: 2.0,
                noise: 1.0,
                interval_ms: Some(100.0),
                jpeg_tables: Some(1),
                ..StreamSignals::default()
            });
        }
        let (camera, synthetic) = (camera.figures().unwrap(), synthetic.figures().unwrap());
        assert!(camera.timing_jitter_ms.unwrap() > 0.2, "{camera:?}");
        assert_eq!((synthetic.timing_jitter_ms, synthetic.jpeg_tables), (Some(0.0), Some(1)));
        assert_eq!(camera.jpeg_tables, Some(2));
    }

    /// A grey scene with a face-sized disc and fine texture, shifted `shift` pixels, filmed
    /// with `sigma` levels of sensor noise and encoded at `quality`: the JPEG and its Y plane
    /// (a grey picture's Y is its red channel; its chroma is flat and decodes exactly).
    fn filmed(shift: f32, sigma: f32, quality: u8, rng: &mut rand_chacha::ChaCha8Rng) -> (Vec<u8>, LumaPlane) {
        let (w, h) = (320usize, 240usize);
        let grey: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - shift, (i / w) as f32);
                let disc = if (x - 160.0).hypot(y - 120.0) < 60.0 { 50.0 } else { 0.0 };
                let texture = 12.0 * (x * 0.7).sin() * (y * 0.45).cos() + 6.0 * (x * 0.13 + y * 0.29).sin();
                let (u1, u2): (f32, f32) = (rng.random_range(1e-6..1.0), rng.random_range(0.0..1.0));
                let noise = sigma * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
                (90.0 + x * 0.15 + disc + texture + noise).round().clamp(0.0, 255.0) as u8
            })
            .collect();
        let rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        let jpeg = crate::frame::encode_jpeg(&rgb, w as u32, h as u32, quality).unwrap();
        (jpeg.clone(), decoded(&jpeg))
    }

    fn decoded(jpeg: &[u8]) -> LumaPlane {
        let rgb = image::load_from_memory(jpeg).unwrap().to_rgb8();
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        LumaPlane { width: w, height: h, luma: rgb.pixels().map(|p| p.0[0]).collect() }
    }

    fn signals(before: &LumaPlane, now: &(Vec<u8>, LumaPlane)) -> StreamSignals {
        let of = |p: &LumaPlane| {
            Signature::of(p.width, p.height, |x, y| p.luma[y * p.width + x] as f32).unwrap().with_plane(Some(p.clone()))
        };
        let table = crate::capture::jpeg_luma_table(&now.0).unwrap();
        StreamSignals::between(&of(before), &of(&now.1), Some(&table)).unwrap()
    }

    #[test]
    fn a_requantised_repeat_is_told_from_a_clean_still_camera() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (sigma, quality) in [(0.5, 70), (0.5, 95), (0.3, 85), (2.0, 80)] {
            // A clean camera, a head holding still (drifting 0.05 px a frame), the page's
            // quality varying a little from frame to frame.
            let first = filmed(0.0, sigma, quality, &mut rng);
            let second = filmed(0.05, sigma, quality - 2, &mut rng);
            let camera = signals(&first.1, &second);
            assert!(!camera.repeated(), "camera sigma {sigma} q{quality}: {camera:?}");
            assert!(camera.residual.unwrap() > 0.9 * camera.block_change.unwrap(), "{camera:?}");
            // The same frame sent again, as it was and re-encoded through RGB at qualities
            // around its own.
            let same = signals(&first.1, &first);
            assert!(same.repeated() && same.change == 0.0, "{same:?}");
            // (At 95 and above the encoder's own rounding, a level here and there, is as large
            // as the requantisation: such repeats count when unchanged only.)
            for again in [quality - 5, quality - 2].into_iter().filter(|_| quality < 95) {
                let rgb: Vec<u8> = first.1.luma.iter().flat_map(|&v| [v, v, v]).collect();
                let jpeg = crate::frame::encode_jpeg(&rgb, 320, 240, again).unwrap();
                let repeat = signals(&first.1, &(jpeg.clone(), decoded(&jpeg)));
                assert!(repeat.repeated(), "re-encoded q{quality} -> q{again}: {repeat:?}");
            }
        }
        // Without the luma table only an unchanged frame counts.
        let (a, b) = (filmed(0.0, 0.5, 80, &mut rng), filmed(0.0, 0.5, 75, &mut rng));
        let of = |p: &LumaPlane| Signature::of(p.width, p.height, |x, y| p.luma[y * p.width + x] as f32).unwrap();
        let blind = StreamSignals::between(&of(&a.1), &of(&b.1), None).unwrap();
        assert_eq!((blind.residual, blind.repeated()), (None, false));
        assert!(StreamSignals::between(&of(&a.1), &of(&a.1), None).unwrap().repeated());
    }
}
