//! The screen-flash challenge: the page fills the screen around the face with a random
//! sequence of colours while it sends frames, and the face must reflect them.
//!
//! A [`FlashSchedule`] is drawn when the challenge is prompted: a neutral grey lead, 4-8
//! colours of 100-300 ms each (no colour twice in a row), a neutral grey tail. The page starts
//! it when the STATS carrying it arrives. Every colour of [`PALETTE`] and the grey have the
//! same relative luminance (0.18, within 4 %): changing from one to the next is a change of hue,
//! not of brightness, so the sequence holds no flash in the sense of WCAG 2.3.1 (a change of
//! relative luminance of 10 % or more), and none is a saturated red (red share of the sRGB sum
//! below 0.8). The page fades into and out of the grey.
//!
//! The face's response: light from the screen adds to the ambient light on the skin, so a
//! skin patch of albedo `a` reads `a_c (A_c + k s_c)` in channel `c` for screen colour `s`.
//! Its log chroma, `ln(R/G)` and `ln(B/G)`, cancels the albedo and, to first order, the ambient
//! level: it moves by `(k/A)(s_r - s_g)` and `(k/A)(s_b - s_g)` (linear light). [`response`]
//! correlates the measured log chroma over the frames with that expected series, at every lag
//! from 0 to `max_lag_ms` (the round trip to the page and the camera's latency), and keeps the
//! best. A face on a screen, a print or a rendered puppet that ignores the page shows no such
//! response; one that follows the colours late (a relay through another screen) shows it
//! outside the lag window.

pub use crate::contracts::{
    COLOURS, DURATION_MS, FlashSchedule, FlashStep, LEAD_MS, NEUTRAL, PALETTE, Rgb8, TAIL_MS, linear, luminance,
};

/// How the response is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlashSettings {
    /// Least correlation between measured and expected log chroma.
    pub min_correlation: f32,
    /// Longest delay between the schedule's start (the frame whose answer carried it) and
    /// the face's response.
    pub max_lag_ms: u32,
    /// Fewest frames with a face during the schedule.
    pub min_frames: usize,
}

impl Default for FlashSettings {
    fn default() -> Self {
        FlashSettings { min_correlation: MIN_CORRELATION, max_lag_ms: 500, min_frames: 8 }
    }
}

/// Default least correlation, chosen on the tuning identities of `make eval`: their genuine
/// flash-lit sessions read 0.84-0.996 (5th percentile 0.905), the replays and puppets at most
/// 0.62 (the README has the figures on the reporting identities).
pub const MIN_CORRELATION: f32 = 0.75;

/// The log chroma (`ln(R/G)`, `ln(B/G)`) of a mean skin colour (any scale), None when a
/// channel is black.
pub fn log_chroma(rgb: [f32; 3]) -> Option<[f32; 2]> {
    let [r, g, b] = rgb;
    (r > 1e-4 && g > 1e-4 && b > 1e-4).then(|| [(r / g).ln(), (b / g).ln()])
}

/// How well the face followed a schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Response {
    /// The best correlation over the lag window (-1..1).
    pub correlation: f32,
    /// The lag it was found at.
    pub lag_ms: u32,
    /// Frames measured during the schedule.
    pub frames: usize,
}

/// Pearson correlation of two series of pairs, both channels pooled after each is centred.
fn correlation(a: &[[f32; 2]], b: &[[f32; 2]]) -> f32 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let mean = |s: &[[f32; 2]], c: usize| s[..n].iter().map(|v| v[c] as f64).sum::<f64>() / n as f64;
    let (ma, mb) = ([mean(a, 0), mean(a, 1)], [mean(b, 0), mean(b, 1)]);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        for c in 0..2 {
            let (x, y) = (a[i][c] as f64 - ma[c], b[i][c] as f64 - mb[c]);
            sab += x * y;
            saa += x * x;
            sbb += y * y;
        }
    }
    if saa <= 1e-12 || sbb <= 1e-12 { 0.0 } else { (sab / (saa * sbb).sqrt()) as f32 }
}

/// The face's response to `schedule`: `samples` are (ms since the schedule's start, log
/// chroma of the skin). The lag is searched in 10 ms steps from 0 to `max_lag_ms`.
pub fn response(schedule: &FlashSchedule, samples: &[(f64, [f32; 2])], max_lag_ms: u32) -> Response {
    let observed: Vec<[f32; 2]> = samples.iter().map(|s| s.1).collect();
    let mut best = Response { correlation: -1.0, lag_ms: 0, frames: samples.len() };
    for lag in (0..=max_lag_ms).step_by(10) {
        let expected: Vec<[f32; 2]> = samples.iter().map(|s| schedule.expected_at(s.0 - lag as f64)).collect();
        // A lag at which the frames saw fewer than two colours tells nothing.
        let distinct = {
            let mut seen: Vec<[u32; 2]> = expected.iter().map(|e| e.map(f32::to_bits)).collect();
            seen.sort_unstable();
            seen.dedup();
            seen.len()
        };
        if distinct < 3 {
            continue;
        }
        let r = correlation(&observed, &expected);
        if r > best.correlation {
            best = Response { correlation: r, lag_ms: lag, frames: samples.len() };
        }
    }
    best
}

/// A running flash challenge: its schedule, when it started, and the skin's log chroma on
/// the frames since.
#[derive(Debug, Clone)]
pub struct FlashAttempt {
    pub schedule: FlashSchedule,
    pub started_ns: u64,
    pub samples: Vec<(f64, [f32; 2])>,
}

impl FlashAttempt {
    pub fn new(schedule: FlashSchedule, started_ns: u64) -> Self {
        FlashAttempt { schedule, started_ns, samples: Vec::new() }
    }

    /// Adds the skin's mean colour on the frame at `t_ns`.
    pub fn add(&mut self, t_ns: u64, rgb: [f32; 3]) {
        if let Some(chroma) = log_chroma(rgb) {
            let ms = t_ns.saturating_sub(self.started_ns) as f64 / 1e6;
            self.samples.push((ms, chroma));
        }
    }

    /// Whether the schedule and the longest lag have passed at `t_ns`.
    pub fn is_over(&self, t_ns: u64, settings: &FlashSettings) -> bool {
        t_ns.saturating_sub(self.started_ns) >= (self.schedule.total_ms() + settings.max_lag_ms) as u64 * 1_000_000
    }

    /// The response, and whether it passes `settings`.
    pub fn judge(&self, settings: &FlashSettings) -> (Response, bool) {
        let r = response(&self.schedule, &self.samples, settings.max_lag_ms);
        (r, r.frames >= settings.min_frames && r.correlation >= settings.min_correlation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn palette_is_isoluminant_and_has_no_saturated_red() {
        let grey = luminance(NEUTRAL);
        assert!((grey - 0.18).abs() < 0.01, "{grey}");
        for rgb in PALETTE {
            let y = luminance(rgb);
            assert!((y - grey).abs() / grey < 0.04, "{rgb:?}: {y} against {grey}");
            let sum = rgb.iter().map(|&v| v as f32).sum::<f32>();
            assert!(rgb[0] as f32 / sum < 0.8, "{rgb:?} is a saturated red");
        }
    }

    #[test]
    fn colours_parse_only_as_six_hex_digits() {
        assert_eq!(FlashStep::from_hex("#d44040", 5), Some(FlashStep { rgb: [0xd4, 0x40, 0x40], ms: 5 }));
        for bad in ["d44040", "#fff", "#+44040", "#d4404g", "#d440400"] {
            assert_eq!(FlashStep::from_hex(bad, 5), None, "{bad}");
        }
    }

    #[test]
    fn schedules_keep_their_limits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..500 {
            let s = FlashSchedule::draw(&mut rng);
            assert!(COLOURS.contains(&s.steps.len()));
            assert!(s.steps.iter().all(|step| DURATION_MS.contains(&step.ms)));
            assert!(s.steps.iter().all(|step| FlashStep::from_hex(&step.hex(), step.ms) == Some(*step)));
            assert!(s.steps.windows(2).all(|w| w[0].rgb != w[1].rgb));
            assert_eq!(s.colour_at(0.0), NEUTRAL);
            assert_eq!(s.colour_at(LEAD_MS as f64), s.steps[0].rgb);
            assert_eq!(s.colour_at(s.total_ms() as f64 - 1.0), NEUTRAL);
        }
    }

    /// Skin of albedo `albedo` under ambient light plus `k` of the screen's light.
    fn skin(schedule: &FlashSchedule, ms: f64, k: f32) -> [f32; 3] {
        let albedo = [0.62, 0.45, 0.38];
        let screen = schedule.colour_at(ms).map(linear);
        [0, 1, 2].map(|c| albedo[c] * (1.0 + k * screen[c]))
    }

    #[test]
    fn a_face_that_reflects_the_colours_correlates_at_its_lag() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let schedule = FlashSchedule::draw(&mut rng);
        let mut attempt = FlashAttempt::new(schedule.clone(), 1_000_000_000);
        // Frames every 100 ms; the face shows the colour of 180 ms earlier.
        let mut t = 1_000_000_000u64;
        while !attempt.is_over(t, &FlashSettings::default()) {
            let ms = (t - 1_000_000_000) as f64 / 1e6;
            attempt.add(t, skin(&schedule, ms - 180.0, 0.3));
            t += 100_000_000;
        }
        let (r, passed) = attempt.judge(&FlashSettings::default());
        assert!(passed && r.correlation > 0.9, "{r:?}");
        assert!((r.lag_ms as i32 - 180).abs() <= 60, "{r:?}");
        // A face that does not change, or follows another sequence, does not.
        let mut still = FlashAttempt::new(schedule.clone(), 0);
        let mut other = FlashAttempt::new(schedule.clone(), 0);
        let unrelated = FlashSchedule::draw(&mut rng);
        for i in 0..40u64 {
            still.add(i * 100_000_000, [0.62, 0.45, 0.38]);
            other.add(i * 100_000_000, skin(&unrelated, i as f64 * 100.0 - 100.0, 0.3));
        }
        assert!(!still.judge(&FlashSettings::default()).1);
        let late = {
            let mut late = FlashAttempt::new(schedule.clone(), 0);
            for i in 0..40u64 {
                late.add(i * 100_000_000, skin(&schedule, i as f64 * 100.0 - 1100.0, 0.3));
            }
            late.judge(&FlashSettings::default())
        };
        assert!(late.0.correlation < 0.9, "a response a second late is outside the window: {late:?}");
        assert!(other.judge(&FlashSettings::default()).0.correlation < 0.9);
    }
}
