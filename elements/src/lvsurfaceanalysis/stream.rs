//! Signals of the stream itself, for frames that may be injected past a camera: each frame's
//! luma on a fixed grid of points is compared with the previous frame's.
//!
//! - `change`, the mean absolute luma change over the grid: a repeated frame (a virtual camera
//!   or an injector that sends the same picture twice, or re-encodes it) changes by nothing or
//!   by its compression alone, while a camera's sensor noise changes every pixel of every frame.
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

/// One frame's luma on the grid: each point's pixel, and the mean of the 2 x 2 pixels there.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    values: Vec<f32>,
    blocks: Vec<f32>,
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
        Some(Signature { values, blocks })
    }
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
}

impl StreamSignals {
    /// The change from `previous` to `current` (None when the grids differ in size: the
    /// frame size changed).
    pub fn between(previous: &Signature, current: &Signature) -> Option<StreamSignals> {
        if previous.values.len() != current.values.len() || current.values.is_empty() {
            return None;
        }
        let change = previous.values.iter().zip(&current.values).map(|(a, b)| (a - b).abs()).sum::<f32>()
            / current.values.len() as f32;
        let mut deltas: Vec<f32> = previous.blocks.iter().zip(&current.blocks).map(|(a, b)| (a - b).abs()).collect();
        let middle = deltas.len() / 2;
        let (_, median, _) = deltas.select_nth_unstable_by(middle, f32::total_cmp);
        Some(StreamSignals { change, noise: *median, interval_ms: None, jpeg_tables: None })
    }
}

/// A frame whose mean change from the one before is below this many levels counts as a
/// repeat (the same picture, at most re-encoded).
pub const REPEATED_CHANGE: f32 = 0.5;
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
        self.repeated += u32::from(signals.change < REPEATED_CHANGE);
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
        let repeated = StreamSignals::between(&signature(&still), &signature(&still)).unwrap();
        assert_eq!((repeated.change, repeated.noise), (0.0, 0.0));
        // A noise-free render whose face moved: it changed, but its still part did not.
        let moved = frame(4.0, 0.0, &mut rng);
        let render = StreamSignals::between(&signature(&still), &signature(&moved)).unwrap();
        assert!(render.change > 0.5 && render.noise == 0.0, "{render:?}");
        // A camera: noise of 2 levels changes every pixel (1.13 x 2 x 1.41 on average); the
        // median change of a 2 x 2 mean is about 0.67 x 2 x 1.41 / 2.
        let (a, b) = (frame(0.0, 2.0, &mut rng), frame(4.0, 2.0, &mut rng));
        let camera = StreamSignals::between(&signature(&a), &signature(&b)).unwrap();
        assert!(camera.noise > 0.7 && camera.change > 2.0, "{camera:?}");
        // Under a level of noise, most pixels of an 8-bit source read the same twice (their
        // median change is 0), but the 2 x 2 means still move.
        let (a, b) = (frame(0.0, 0.4, &mut rng), frame(4.0, 0.4, &mut rng));
        let quiet = StreamSignals::between(&signature(&a), &signature(&b)).unwrap();
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
            tally.add(StreamSignals { change, noise, interval_ms: None, jpeg_tables: None });
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
            camera.add(StreamSignals { change: 2.0, noise: 1.0, interval_ms: Some(interval), jpeg_tables: tables });
            synthetic.add(StreamSignals { change: 2.0, noise: 1.0, interval_ms: Some(100.0), jpeg_tables: Some(1) });
        }
        let (camera, synthetic) = (camera.figures().unwrap(), synthetic.figures().unwrap());
        assert!(camera.timing_jitter_ms.unwrap() > 0.2, "{camera:?}");
        assert_eq!((synthetic.timing_jitter_ms, synthetic.jpeg_tables), (Some(0.0), Some(1)));
        assert_eq!(camera.jpeg_tables, Some(2));
    }
}
