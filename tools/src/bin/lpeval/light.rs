//! The light of the page's screen on the person, for the screen-flash challenge: the colours
//! the page shows (read from STATS, shown from the moment the STATS arrived) add to the
//! ambient light of the scene in proportion to the skin's own colour (a skin reflectance
//! model: the render is albedo x ambient, the screen adds albedo x k x its linear light), most
//! on the face in front of the screen and less on the background behind it; the camera's
//! automatic white balance then pulls the frame's mean back toward grey over about a second.

use liveness_core::challenge::flash::{FlashSchedule, FlashStep, Rgb8, linear};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// The schedule a STATS' `details.challenge.flash` carries, and its key (the challenge's
/// index and colours: a retry draws a new schedule).
pub fn schedule_of(challenge: &Value) -> Option<(String, FlashSchedule)> {
    let flash = challenge.get("flash")?;
    let colours = flash["colours"].as_array()?;
    let durations = flash["durationsMs"].as_array()?;
    let steps = colours
        .iter()
        .zip(durations)
        .map(|(c, d)| FlashStep::from_hex(c.as_str()?, u32::try_from(d.as_u64()?).ok()?))
        .collect::<Option<Vec<_>>>()?;
    let key = format!("{}/{}", challenge["index"], flash["colours"]);
    Some((key, FlashSchedule { steps }))
}

/// The page's own colours while it does not flash (a dark interface).
const PAGE: Rgb8 = [0x14, 0x1a, 0x22];

/// How much of the screen's light reaches the person, against the room's.
#[derive(Debug, Clone, Copy)]
pub struct ScreenLight {
    /// The screen's light on the face at full linear intensity, as a share of the ambient
    /// light: 0.08 (a laptop in a bright office) to 0.4 (a phone held close in a dim room).
    pub strength: f32,
    /// Share of that light the background gets (it stands further from the screen).
    pub background: f32,
}

impl ScreenLight {
    pub fn random(rng: &mut ChaCha8Rng) -> ScreenLight {
        ScreenLight {
            strength: (rng.random_range(0.08f32.ln()..0.4f32.ln())).exp(),
            background: rng.random_range(0.1..0.35),
        }
    }

    /// Lights `scene` (RGB 0..1, `side` x `side`, the face in the middle) by a screen showing
    /// `screen` (None: the page's own colours).
    pub fn apply(&self, scene: &mut [f32], side: usize, screen: Option<Rgb8>) {
        let light = screen.unwrap_or(PAGE).map(linear);
        let page = PAGE.map(linear);
        let r0 = 0.32 * side as f32;
        for y in 0..side {
            for x in 0..side {
                let (dx, dy) = (x as f32 - side as f32 / 2.0, y as f32 - side as f32 / 2.0);
                let near = (-(dx * dx + dy * dy) / (r0 * r0)).exp();
                let k = self.strength * (self.background + (1.0 - self.background) * near);
                let i = (y * side + x) * 3;
                for c in 0..3 {
                    // Relative to the page's own light, which the render already includes.
                    scene[i + c] *= (1.0 + k * light[c]) / (1.0 + k * page[c]);
                }
            }
        }
    }
}

/// A camera's automatic white balance: per-channel gains that undo a change of the frame's
/// mean colour (against the scene it settled on before the session), following it with a
/// time constant.
#[derive(Debug, Clone)]
pub struct WhiteBalance {
    tau: f64,
    /// The frame's channel balance it settled on (mean over grey).
    settled: Option<[f32; 3]>,
    gains: [f32; 3],
    last: f64,
}

impl WhiteBalance {
    pub fn random(rng: &mut ChaCha8Rng) -> WhiteBalance {
        WhiteBalance { tau: rng.random_range(0.5..1.5), settled: None, gains: [1.0; 3], last: 0.0 }
    }

    /// Applies the gains at time `t` (seconds) and lets them follow this frame.
    pub fn apply(&mut self, image: &mut [f32], t: f64) {
        let n = (image.len() / 3).max(1) as f32;
        let mut mean = [0.0f32; 3];
        for p in image.chunks_exact(3) {
            for c in 0..3 {
                mean[c] += p[c] / n;
            }
        }
        let grey = ((mean[0] + mean[1] + mean[2]) / 3.0).max(1e-4);
        let balance = mean.map(|m| m.max(1e-4) / grey);
        let settled = *self.settled.get_or_insert(balance);
        let wanted = [0, 1, 2].map(|c| settled[c] / balance[c]);
        let a = (1.0 - (-(t - self.last).max(0.0) / self.tau).exp()) as f32;
        let gains = [0, 1, 2].map(|c| self.gains[c] + a * (wanted[c] - self.gains[c]));
        self.gains = gains;
        self.last = t;
        for p in image.chunks_exact_mut(3) {
            for c in 0..3 {
                p[c] *= gains[c];
            }
        }
    }
}
