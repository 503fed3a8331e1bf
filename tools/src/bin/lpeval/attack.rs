//! Physically motivated simulations of presentation attacks, and of the camera that films
//! both live faces and attacks. Images are RGB on 0..1, `w` x `h` x 3.
//!
//! - [`Print`]: a photo printed and held to the camera: reduced ink gamut and lifted blacks,
//!   a CMY halftone screen (one angle a channel) at 1.6-3.2 camera pixels a dot, paper
//!   texture (grain and fibre), ambient-light gamma, a white paper border round the photo
//!   over the background, and a slight bend (the sheet bows: its rows shift and its sides
//!   darken).
//! - [`Screen`]: a photo or live video shown on a display: backlight gamma, raised black
//!   level and a colour cast, the RGB sub-pixel grid and black matrix at 1.1-2.6 camera
//!   pixels, turned a few degrees (so the camera's own grid makes moiré of it), a glare
//!   patch, refresh banding, and the display's bezel.
//! - [`Recapture`]: a screen video recaptured: the video's compression (first JPEG), its lower
//!   resolution (rescaled down and up) and blur; the camera's JPEG is the second.
//!
//! Each has three strengths (1 subtle .. 3 plain), drawn at random within each.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub type Image = Vec<f32>;

pub fn from_rgb8(rgb: &[u8]) -> Image {
    rgb.iter().map(|&v| v as f32 / 255.0).collect()
}

pub fn to_rgb8(image: &[f32]) -> Vec<u8> {
    image.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
}

/// Bilinear sample of channel `c` at (x, y) (pixel centres at +0.5), None outside.
fn sample(image: &[f32], w: usize, h: usize, x: f32, y: f32, c: usize) -> Option<f32> {
    let (fx, fy) = (x - 0.5, y - 0.5);
    if fx < -0.5 || fy < -0.5 || fx > w as f32 - 0.5 || fy > h as f32 - 0.5 {
        return None;
    }
    let (x0, y0) = (fx.floor().max(0.0) as usize, fy.floor().max(0.0) as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (ax, ay) = ((fx - x0 as f32).clamp(0.0, 1.0), (fy - y0 as f32).clamp(0.0, 1.0));
    let at = |x: usize, y: usize| image[(y * w + x) * 3 + c];
    let top = at(x0, y0) * (1.0 - ax) + at(x1, y0) * ax;
    let bottom = at(x0, y1) * (1.0 - ax) + at(x1, y1) * ax;
    Some(top * (1.0 - ay) + bottom * ay)
}

/// Separable Gaussian blur (sigma in pixels; below 0.2 returns the image unchanged).
pub fn blur(image: &[f32], w: usize, h: usize, sigma: f32) -> Image {
    if sigma < 0.2 {
        return image.to_vec();
    }
    let radius = (sigma * 3.0).ceil() as i64;
    let kernel: Vec<f32> = (-radius..=radius).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let pass = |src: &[f32], horizontal: bool| -> Image {
        let mut out = vec![0.0; src.len()];
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let mut sum = 0.0;
                    for (k, weight) in kernel.iter().enumerate() {
                        let d = k as i64 - radius;
                        let (sx, sy) = if horizontal {
                            ((x as i64 + d).clamp(0, w as i64 - 1) as usize, y)
                        } else {
                            (x, (y as i64 + d).clamp(0, h as i64 - 1) as usize)
                        };
                        sum += weight * src[(sy * w + sx) * 3 + c];
                    }
                    out[(y * w + x) * 3 + c] = sum;
                }
            }
        }
        out
    };
    pass(&pass(image, true), false)
}

/// Resizes to `ow` x `oh`: area average when shrinking, bilinear when enlarging.
pub fn resize(image: &[f32], w: usize, h: usize, ow: usize, oh: usize) -> Image {
    let (kx, ky) = (w as f32 / ow as f32, h as f32 / oh as f32);
    let mut out = vec![0.0; ow * oh * 3];
    for y in 0..oh {
        for x in 0..ow {
            for c in 0..3 {
                out[(y * ow + x) * 3 + c] = if kx > 1.0 || ky > 1.0 {
                    let (x0, x1) = ((x as f32 * kx) as usize, (((x + 1) as f32 * kx) as usize).clamp(1, w));
                    let (y0, y1) = ((y as f32 * ky) as usize, (((y + 1) as f32 * ky) as usize).clamp(1, h));
                    let (x1, y1) = (x1.max(x0 + 1).min(w), y1.max(y0 + 1).min(h));
                    let mut sum = 0.0;
                    for yy in y0..y1 {
                        for xx in x0..x1 {
                            sum += image[(yy * w + xx) * 3 + c];
                        }
                    }
                    sum / ((x1 - x0) * (y1 - y0)).max(1) as f32
                } else {
                    let (sx, sy) = ((x as f32 + 0.5) * kx, (y as f32 + 0.5) * ky);
                    sample(image, w, h, sx, sy, c).unwrap_or(0.0)
                };
            }
        }
    }
    out
}

/// Encodes as JPEG of `quality` and decodes back.
pub fn jpeg_round_trip(image: &[f32], w: usize, h: usize, quality: u8) -> Image {
    let encoded = jpeg(image, w, h, quality);
    match image::load_from_memory(&encoded) {
        Ok(decoded) => from_rgb8(decoded.to_rgb8().as_raw()),
        Err(_) => image.to_vec(),
    }
}

pub fn jpeg(image: &[f32], w: usize, h: usize, quality: u8) -> Vec<u8> {
    // An RGB buffer of the right size always encodes.
    liveness_core::frame::encode_jpeg(&to_rgb8(image), w as u32, h as u32, quality).unwrap_or_default()
}

fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let (u1, u2): (f32, f32) = (rng.random_range(1e-6..1.0), rng.random_range(0.0..1.0));
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Smooth noise: random values on a grid of `cell` pixels, bilinearly interpolated, -1..1.
fn value_noise(w: usize, h: usize, cell: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let (gw, gh) = ((w as f32 / cell) as usize + 2, (h as f32 / cell) as usize + 2);
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let (gx, gy) = (x as f32 / cell, y as f32 / cell);
            let (x0, y0) = (gx as usize, gy as usize);
            let (ax, ay) = (gx - x0 as f32, gy - y0 as f32);
            let at = |x: usize, y: usize| grid[y * gw + x];
            let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1, y0) * ax;
            let bottom = at(x0, y0 + 1) * (1.0 - ax) + at(x0 + 1, y0 + 1) * ax;
            out[y * w + x] = top * (1.0 - ay) + bottom * ay;
        }
    }
    out
}

/// The camera filming the scene: exposure, focus, sensor noise and its JPEG.
#[derive(Debug, Clone, Copy)]
pub struct Camera {
    pub gain: f32,
    pub blur: f32,
    pub noise: f32,
    pub quality: u8,
}

impl Camera {
    pub fn random(rng: &mut ChaCha8Rng) -> Camera {
        Camera {
            gain: rng.random_range(0.85..1.1),
            blur: rng.random_range(0.0..0.5),
            noise: rng.random_range(0.004..0.012),
            quality: rng.random_range(72..=92),
        }
    }

    /// The JPEG the camera (and the web page) would send.
    pub fn capture(&self, scene: &[f32], w: usize, h: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
        let mut image = blur(scene, w, h, self.blur);
        for v in image.iter_mut() {
            *v = *v * self.gain + self.noise * gaussian(rng);
        }
        jpeg(&image, w, h, self.quality)
    }
}

/// One camera condition of `make eval`'s sweep: temporal sensor noise in luma levels (of
/// 255), a temporal denoiser (each frame keeps [`DENOISER_KEEP`] of the noise before it), the
/// JPEG quality the frames arrive at, and the camera's frame rate (a reader faster than the
/// camera gets the same frame again).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Condition {
    pub noise: f32,
    pub denoiser: bool,
    pub quality: u8,
    pub fps: f32,
}

/// Share of the previous frame's noise a temporal denoiser keeps (an average over about seven
/// frames: the noise it leaves is 0.38 of the sensor's).
pub const DENOISER_KEEP: f32 = 0.75;

impl Condition {
    /// Every condition of the sweep: noise 0.5-4 levels, denoiser off and on, JPEG 70-95,
    /// 15 and 30 fps (48).
    pub fn sweep() -> Vec<Condition> {
        let mut all = Vec::new();
        for noise in [0.5, 1.0, 2.0, 4.0] {
            for denoiser in [false, true] {
                for quality in [70, 85, 95] {
                    for fps in [15.0, 30.0] {
                        all.push(Condition { noise, denoiser, quality, fps });
                    }
                }
            }
        }
        all
    }

    pub fn name(&self) -> String {
        let denoiser = if self.denoiser { " denoised" } else { "" };
        format!("noise {:.1}{denoiser} q{} {:.0} fps", self.noise, self.quality, self.fps)
    }
}

/// A camera of one [`Condition`] filming a scene as a reader takes frames from it: the same
/// JPEG again while the camera has no new frame, a new capture (blur, exposure, noise, JPEG)
/// when it has.
pub struct Filming {
    pub condition: Condition,
    gain: f32,
    blur: f32,
    /// The camera's clock phase, seconds.
    phase: f64,
    /// The noise field of the last camera frame (levels of 0..1), its frame number and JPEG.
    noise: Vec<f32>,
    last: Option<(i64, Vec<u8>)>,
}

impl Filming {
    pub fn new(condition: Condition, rng: &mut ChaCha8Rng) -> Filming {
        Filming {
            condition,
            gain: rng.random_range(0.85..1.1),
            blur: rng.random_range(0.0..0.5),
            phase: rng.random_range(0.0..1.0),
            noise: Vec::new(),
            last: None,
        }
    }

    fn frame_at(&self, t: f64) -> i64 {
        (t * self.condition.fps as f64 + self.phase).floor() as i64
    }

    /// The JPEG of the camera's frame at `t` when it is the one read last, else None.
    pub fn repeat(&self, t: f64) -> Option<Vec<u8>> {
        self.last.as_ref().filter(|(n, _)| *n == self.frame_at(t)).map(|(_, jpeg)| jpeg.clone())
    }

    /// The camera's new frame at `t` of `scene`.
    pub fn capture(&mut self, t: f64, scene: &[f32], w: usize, h: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
        let number = self.frame_at(t);
        let sigma = self.condition.noise / 255.0;
        // Camera frames since the last read: the denoiser's noise after k of them, in one draw.
        let k = self.last.as_ref().map_or(i64::MAX, |(n, _)| (number - n).max(1)).min(1000) as i32;
        let (keep, fresh) = if !self.condition.denoiser || self.noise.len() != scene.len() {
            let stationary = if self.condition.denoiser {
                (1.0 - DENOISER_KEEP) / (1.0 - DENOISER_KEEP * DENOISER_KEEP).sqrt()
            } else {
                1.0
            };
            (0.0, sigma * stationary)
        } else {
            let a = DENOISER_KEEP;
            let spread = ((1.0 - a.powi(2 * k)) / (1.0 - a * a)).sqrt();
            (a.powi(k), sigma * (1.0 - a) * spread)
        };
        if self.noise.len() != scene.len() {
            self.noise = vec![0.0; scene.len()];
        }
        for n in self.noise.iter_mut() {
            *n = keep * *n + fresh * gaussian(rng);
        }
        let mut image = blur(scene, w, h, self.blur);
        for (v, n) in image.iter_mut().zip(&self.noise) {
            *v = *v * self.gain + n;
        }
        let encoded = jpeg(&image, w, h, self.condition.quality);
        self.last = Some((number, encoded.clone()));
        encoded
    }
}

/// Where a held sheet or display sits in the frame: scale about the centre, offset, its
/// border (paper or bezel) and what is behind it.
#[derive(Debug, Clone, Copy)]
struct Mount {
    scale: f32,
    offset: (f32, f32),
    border: f32,
    border_colour: [f32; 3],
    background: [f32; 3],
    /// Bow of the sheet: rows shift by up to this many pixels at the middle column.
    bend: f32,
}

impl Mount {
    /// Renders `image` as mounted; `shade` darkens by the bend.
    fn apply(&self, image: &[f32], w: usize, h: usize) -> Image {
        let mut out = vec![0.0; image.len()];
        let (cx, cy) = (w as f32 / 2.0 + self.offset.0, h as f32 / 2.0 + self.offset.1);
        for y in 0..h {
            for x in 0..w {
                let across = (x as f32 + 0.5 - cx) / (w as f32 / 2.0 * self.scale);
                let bow = self.bend * (1.0 - across * across);
                let shade = 1.0 - 0.12 * (self.bend / 6.0) * across * across;
                let u = (x as f32 + 0.5 - cx) / self.scale + w as f32 / 2.0;
                let v = (y as f32 + 0.5 - cy + bow) / self.scale + h as f32 / 2.0;
                let inside = |m: f32| u >= -m && v >= -m && u < w as f32 + m && v < h as f32 + m;
                for c in 0..3 {
                    let value = if inside(0.0) {
                        sample(image, w, h, u, v, c).unwrap_or(self.border_colour[c]) * shade
                    } else if inside(self.border) {
                        self.border_colour[c] * shade
                    } else {
                        self.background[c]
                    };
                    out[(y * w + x) * 3 + c] = value;
                }
            }
        }
        out
    }
}

fn random_background(rng: &mut ChaCha8Rng) -> [f32; 3] {
    let base = rng.random_range(0.15..0.55);
    [0, 1, 2].map(|_| base * rng.random_range(0.85..1.15))
}

/// A printed photo held to the camera.
#[derive(Debug, Clone, Copy)]
pub struct Print {
    saturation: f32,
    pitch: f32,
    angle: f32,
    visibility: f32,
    grain: f32,
    gamma: f32,
    brightness: f32,
    mount: Mount,
}

impl Print {
    pub fn random(strength: u8, rng: &mut ChaCha8Rng) -> Print {
        let s = strength.clamp(1, 3) as f32;
        let scale = rng.random_range(0.86..0.96);
        Print {
            saturation: 0.9 - 0.1 * s + rng.random_range(-0.05..0.05),
            pitch: rng.random_range(1.6..3.2),
            angle: rng.random_range(0.0..std::f32::consts::FRAC_PI_2),
            visibility: 0.1 + 0.12 * s,
            grain: 0.006 * s,
            gamma: rng.random_range(1.05..1.15 + 0.08 * s),
            brightness: rng.random_range(0.9..1.05),
            mount: Mount {
                scale,
                offset: (rng.random_range(-10.0..10.0), rng.random_range(-10.0..10.0)),
                border: rng.random_range(8.0..20.0),
                border_colour: [0.93, 0.93, 0.91],
                background: random_background(rng),
                bend: rng.random_range(0.0..2.0 * s),
            },
        }
    }

    pub fn apply(&self, image: &[f32], w: usize, h: usize, rng: &mut ChaCha8Rng) -> Image {
        let fibre = value_noise(w, h, 12.0, rng);
        let mut sheet = vec![0.0; image.len()];
        // Cyan, magenta, yellow screens at 15, 75 and 0 degrees from the sheet's angle.
        let angles = [15.0f32, 75.0, 0.0].map(|a| self.angle + a.to_radians());
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                let [r, g, b] = [image[i], image[i + 1], image[i + 2]];
                let luma = 0.299 * r + 0.587 * g + 0.114 * b;
                let paper = 1.0 + 0.03 * fibre[y * w + x] + self.grain * gaussian(rng);
                for c in 0..3 {
                    // Ink gamut: less saturated, blacks lifted, whites the paper's.
                    let ink = 0.06 + 0.86 * (luma + (image[i + c] - luma) * self.saturation);
                    let (sin, cos) = angles[c].sin_cos();
                    let (u, v) = (x as f32 * cos + y as f32 * sin, -(x as f32) * sin + y as f32 * cos);
                    let k = std::f32::consts::TAU / self.pitch;
                    let threshold = 0.5 + 0.25 * ((u * k).cos() + (v * k).cos());
                    let coverage = 1.0 - ink;
                    let dot = ((coverage - threshold) * 4.0 + 0.5).clamp(0.0, 1.0);
                    let printed = ink * (1.0 - self.visibility) + (1.0 - dot) * self.visibility;
                    sheet[i + c] = (printed * paper).clamp(0.0, 1.0).powf(self.gamma) * self.brightness;
                }
            }
        }
        self.mount.apply(&sheet, w, h)
    }
}

/// A photo or live video shown on a display held to the camera.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    gamma: f32,
    black: f32,
    cast: [f32; 3],
    pitch: f32,
    angle: f32,
    visibility: f32,
    glare: (f32, f32, f32, f32),
    banding: (f32, f32, f32),
    mount: Mount,
}

impl Screen {
    pub fn random(strength: u8, w: usize, h: usize, rng: &mut ChaCha8Rng) -> Screen {
        let s = strength.clamp(1, 3) as f32;
        Screen {
            gamma: rng.random_range(0.85..1.2),
            black: rng.random_range(0.02..0.03 + 0.015 * s),
            cast: [rng.random_range(0.9..1.0), rng.random_range(0.95..1.02), rng.random_range(1.0..1.04 + 0.03 * s)],
            pitch: rng.random_range(1.1..2.6),
            angle: rng.random_range(-8.0f32..8.0).to_radians(),
            visibility: 0.04 + 0.1 * s,
            glare: (
                rng.random_range(0.2..0.8) * w as f32,
                rng.random_range(0.2..0.8) * h as f32,
                rng.random_range(40.0..110.0),
                rng.random_range(0.05..0.1 + 0.1 * s),
            ),
            banding: (
                rng.random_range(0.01..0.01 + 0.015 * s),
                rng.random_range(30.0..120.0),
                rng.random_range(0.0..6.3),
            ),
            mount: Mount {
                scale: rng.random_range(0.9..1.0),
                offset: (rng.random_range(-8.0..8.0), rng.random_range(-8.0..8.0)),
                border: rng.random_range(10.0..30.0),
                border_colour: [0.03, 0.03, 0.035],
                background: random_background(rng),
                bend: 0.0,
            },
        }
    }

    /// The display filmed at time `t` seconds (the refresh bands roll).
    pub fn apply(&self, image: &[f32], w: usize, h: usize, t: f32) -> Image {
        let mut shown = vec![0.0; image.len()];
        let (sin, cos) = self.angle.sin_cos();
        let k = std::f32::consts::TAU / self.pitch;
        let (gx, gy, gr, ga) = self.glare;
        let (ba, bp, bphase) = self.banding;
        for y in 0..h {
            for x in 0..w {
                let (u, v) = (x as f32 * cos + y as f32 * sin, -(x as f32) * sin + y as f32 * cos);
                let row = 0.6 + 0.4 * (0.5 + 0.5 * (v * k).cos());
                let band = 1.0 + ba * (std::f32::consts::TAU * y as f32 / bp + bphase + t * 2.0).sin();
                let d2 = (x as f32 - gx).powi(2) + (y as f32 - gy).powi(2);
                let glare = ga * (-d2 / (2.0 * gr * gr)).exp();
                let i = (y * w + x) * 3;
                for c in 0..3 {
                    let light = self.black + (1.0 - self.black) * image[i + c].clamp(0.0, 1.0).powf(self.gamma);
                    let subpixel = 0.5 + 0.5 * (u * k - std::f32::consts::TAU * c as f32 / 3.0).cos();
                    let grid = (1.0 - self.visibility) + self.visibility * subpixel * row / 0.4;
                    shown[i + c] = (light * self.cast[c] * grid * band + glare).clamp(0.0, 1.0);
                }
            }
        }
        self.mount.apply(&shown, w, h)
    }
}

/// A screen video recaptured: compressed, at a lower resolution, blurred.
#[derive(Debug, Clone, Copy)]
pub struct Recapture {
    quality: u8,
    factor: f32,
    blur: f32,
}

impl Recapture {
    pub fn random(strength: u8, rng: &mut ChaCha8Rng) -> Recapture {
        let s = strength.clamp(1, 3) as f32;
        Recapture {
            quality: (75.0 - 15.0 * s + rng.random_range(-5.0..5.0)) as u8,
            factor: 0.8 - 0.15 * s + rng.random_range(-0.05..0.05),
            blur: 0.3 + 0.35 * s + rng.random_range(-0.1..0.1),
        }
    }

    /// The video at its own, lower resolution and compressed there, shown enlarged to the
    /// display and slightly out of the camera's focus.
    pub fn apply(&self, image: &[f32], w: usize, h: usize) -> Image {
        let (sw, sh) = (((w as f32 * self.factor) as usize).max(8), ((h as f32 * self.factor) as usize).max(8));
        let video = jpeg_round_trip(&resize(image, w, h, sw, sh), sw, sh, self.quality);
        blur(&resize(&video, sw, sh, w, h), w, h, self.blur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn simulations_keep_the_image_size_and_range() {
        let (w, h) = (32, 24);
        let image: Image = (0..w * h * 3).map(|i| (i % 7) as f32 / 7.0).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for s in 1..=3 {
            let outs = [
                Print::random(s, &mut rng).apply(&image, w, h, &mut rng),
                Screen::random(s, w, h, &mut rng).apply(&image, w, h, 0.0),
                Recapture::random(s, &mut rng).apply(&image, w, h),
            ];
            for out in outs {
                assert_eq!(out.len(), image.len());
                assert!(out.iter().all(|v| (-1e-3..=1.0 + 1e-3).contains(v)));
            }
        }
        assert_eq!(blur(&image, w, h, 1.0).len(), image.len());
    }

    /// Mean absolute luma change between two JPEGs of one still scene.
    fn change(a: &[u8], b: &[u8]) -> f32 {
        let (a, b) = (image::load_from_memory(a).unwrap().to_luma8(), image::load_from_memory(b).unwrap().to_luma8());
        let sum: f32 = a.pixels().zip(b.pixels()).map(|(p, q)| (p.0[0] as f32 - q.0[0] as f32).abs()).sum();
        sum / a.pixels().len() as f32
    }

    #[test]
    fn a_camera_slower_than_its_reader_repeats_frames_and_a_denoiser_lowers_its_noise() {
        let (w, h) = (48, 32);
        let scene: Image = vec![0.5; w * h * 3];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let condition = Condition { noise: 4.0, denoiser: false, quality: 95, fps: 15.0 };
        // Read at 30 fps, a 15 fps camera has a new frame on every other read.
        let mut camera = Filming::new(condition, &mut rng);
        let mut repeats = 0;
        for i in 0..30 {
            let t = i as f64 / 30.0;
            match camera.repeat(t) {
                Some(_) => repeats += 1,
                None => drop(camera.capture(t, &scene, w, h, &mut rng)),
            }
        }
        assert!((14..=16).contains(&repeats), "{repeats} repeats of 30 reads");
        // Consecutive frames of a still scene differ by the sensor's temporal noise; the
        // denoiser keeps 0.38 of it.
        let mut noisy = Filming::new(condition, &mut rng);
        let mut denoised = Filming::new(Condition { denoiser: true, ..condition }, &mut rng);
        let frames = |c: &mut Filming, rng: &mut ChaCha8Rng| {
            let first = c.capture(0.0, &scene, w, h, rng);
            (first, c.capture(1.0 / 15.0, &scene, w, h, rng))
        };
        let (a, b) = frames(&mut noisy, &mut rng);
        let (c, d) = frames(&mut denoised, &mut rng);
        let (raw, filtered) = (change(&a, &b), change(&c, &d));
        assert!(raw > 2.5 && filtered < raw * 0.6, "raw {raw}, denoised {filtered}");
        assert_eq!(Condition::sweep().len(), 48);
    }
}
