//! The contracts between the elements besides the face record ([`crate::face`]): what a
//! challenge session needs from the face mesh (an upstream event, under the name here), and the
//! screen-flash schedule lvchallenge draws, the page shows and the verdict reports.

use rand::Rng;

/// Name of the custom upstream event lvchallenge sends when what it needs from lvlandmarks
/// changes: `fine-motion` (the mesh on every frame) and `expressions` (the emotion model),
/// both booleans. lvlandmarks runs the mesh every `idle-every-nth` frames while fine motion is
/// not needed, and the emotion model only while expressions are.
pub const NEEDS_EVENT: &str = "lvchallenge-needs";

/// What a session needs from the face mesh (lvlandmarks) on the next frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Head pose, eyes and mouth on every frame (else every few frames will do).
    pub fine_motion: bool,
    /// The emotion model's smile.
    pub expressions: bool,
}

/// A colour of the sequence: sRGB, as the page draws it.
pub type Rgb8 = [u8; 3];

/// The colours a sequence is drawn from: red, yellow, green, cyan, blue and magenta, all of
/// relative luminance 0.18 (WCAG's formula), none a saturated red.
pub const PALETTE: [Rgb8; 6] = [
    [0xd4, 0x40, 0x40],
    [0x7a, 0x7a, 0x00],
    [0x29, 0x87, 0x29],
    [0x27, 0x82, 0x82],
    [0x1f, 0x77, 0xcf],
    [0xd0, 0x00, 0xd0],
];

/// The grey of the same luminance shown before and after the colours.
pub const NEUTRAL: Rgb8 = [0x76, 0x76, 0x76];
/// Grey before the first colour: the page fades into it, the element takes the baseline.
pub const LEAD_MS: u32 = 400;
/// Grey after the last colour.
pub const TAIL_MS: u32 = 300;
/// Colours in a sequence, and each one's duration.
pub const COLOURS: std::ops::RangeInclusive<usize> = 4..=8;
pub const DURATION_MS: std::ops::RangeInclusive<u32> = 100..=300;

/// One colour of a schedule and how long it stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlashStep {
    pub rgb: Rgb8,
    pub ms: u32,
}

impl FlashStep {
    /// `#rrggbb`.
    pub fn hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.rgb[0], self.rgb[1], self.rgb[2])
    }

    /// The step of colour `hex` (`#rrggbb`) lasting `ms` (None when `hex` is not one).
    pub fn from_hex(hex: &str, ms: u32) -> Option<FlashStep> {
        let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
        let value = u32::from_str_radix(digits, 16).ok()?;
        Some(FlashStep { rgb: [(value >> 16) as u8, (value >> 8) as u8, value as u8], ms })
    }
}

/// The colours the page shows, after `LEAD_MS` of grey and before `TAIL_MS` of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FlashSchedule {
    pub steps: Vec<FlashStep>,
}

/// An sRGB value's linear light, 0..1.
pub fn linear(v: u8) -> f32 {
    let c = v as f32 / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

/// WCAG relative luminance of an sRGB colour.
pub fn luminance(rgb: Rgb8) -> f32 {
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// The log-chroma change a colour's light makes on skin, against the grey (linear light).
fn expected_of(rgb: Rgb8) -> [f32; 2] {
    let [r, g, b] = rgb.map(linear);
    [r - g, b - g]
}

impl FlashSchedule {
    /// A random schedule: 4-8 colours, 100-300 ms each, no colour twice in a row.
    pub fn draw<R: Rng>(rng: &mut R) -> FlashSchedule {
        let count = rng.random_range(COLOURS);
        let mut steps: Vec<FlashStep> = Vec::with_capacity(count);
        while steps.len() < count {
            let rgb = PALETTE[rng.random_range(0..PALETTE.len())];
            if steps.last().is_some_and(|last| last.rgb == rgb) {
                continue;
            }
            steps.push(FlashStep { rgb, ms: rng.random_range(DURATION_MS) });
        }
        FlashSchedule { steps }
    }

    /// From the lead's start to the tail's end.
    pub fn total_ms(&self) -> u32 {
        LEAD_MS + self.steps.iter().map(|s| s.ms).sum::<u32>() + TAIL_MS
    }

    /// The colour shown `ms` after the lead began (grey before, after and outside).
    pub fn colour_at(&self, ms: f64) -> Rgb8 {
        let mut start = LEAD_MS as f64;
        if ms < start {
            return NEUTRAL;
        }
        for step in &self.steps {
            if ms < start + step.ms as f64 {
                return step.rgb;
            }
            start += step.ms as f64;
        }
        NEUTRAL
    }

    /// The expected log-chroma change `ms` after the lead began.
    pub fn expected_at(&self, ms: f64) -> [f32; 2] {
        let rgb = self.colour_at(ms);
        if rgb == NEUTRAL { [0.0, 0.0] } else { expected_of(rgb) }
    }
}
