//! The optional on-video prompt of lvchallenge: face box, an arrow or sign for the requested
//! movement, and the hold progress bar, drawn in white and black on the luma (or the RGB
//! channels) of the frame. No fonts.

use liveness_core::challenge::ChallengeType;
use liveness_core::face::Rect;

/// A writable view of a frame's brightness: where to write a grey level for (x, y).
pub struct Canvas<'a> {
    pub width: usize,
    pub height: usize,
    pub plane: &'a mut [u8],
    pub stride: usize,
    /// Byte offsets written for one pixel (1 for luma planes, 3 for RGB) and bytes per pixel.
    pub channels: &'a [usize],
    pub bytes_per_pixel: usize,
    /// Packed 4:2:2: luma bytes are every other byte starting at this offset.
    pub luma_of_422: Option<usize>,
}

impl Canvas<'_> {
    pub fn put(&mut self, x: i64, y: i64, value: u8) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        let at = match self.luma_of_422 {
            Some(offset) => y * self.stride + (x / 2) * 4 + offset + (x % 2) * 2,
            None => y * self.stride + x * self.bytes_per_pixel,
        };
        for &c in self.channels {
            if let Some(byte) = self.plane.get_mut(at + c) {
                *byte = value;
            }
        }
    }

    /// A rectangle outline `thickness` pixels wide, white inside a black rim.
    pub fn rect(&mut self, r: Rect, thickness: i64) {
        let (x0, y0, x1, y1) = (r.x as i64, r.y as i64, (r.x + r.width) as i64, (r.y + r.height) as i64);
        for t in 0..thickness {
            let value = if t == 0 { 0 } else { 255 };
            for x in x0 - t..=x1 + t {
                self.put(x, y0 - t, value);
                self.put(x, y1 + t, value);
            }
            for y in y0 - t..=y1 + t {
                self.put(x0 - t, y, value);
                self.put(x1 + t, y, value);
            }
        }
    }

    pub fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, value: u8) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.put(x, y, value);
            }
        }
    }

    /// A thick line from (x0, y0) to (x1, y1).
    pub fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, half_width: i64, value: u8) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=steps {
            let t = i as f32 / steps as f32;
            let (x, y) = ((x0 + (x1 - x0) * t) as i64, (y0 + (y1 - y0) * t) as i64);
            for dy in -half_width..=half_width {
                for dx in -half_width..=half_width {
                    self.put(x + dx, y + dy, value);
                }
            }
        }
    }

    /// An arrow from the centre toward (dx, dy) (unit direction), `length` long.
    pub fn arrow(&mut self, cx: f32, cy: f32, dx: f32, dy: f32, length: f32) {
        let (tx, ty) = (cx + dx * length, cy + dy * length);
        let head = length * 0.35;
        // The two barbs, 150 degrees off the shaft.
        let (c, s) = (150f32.to_radians().cos(), 150f32.to_radians().sin());
        let barbs = [(dx * c - dy * s, dx * s + dy * c), (dx * c + dy * s, -dx * s + dy * c)];
        for value in [0u8, 255] {
            let w = if value == 0 { 3 } else { 1 };
            self.line(cx, cy, tx, ty, w, value);
            for (bx, by) in barbs {
                self.line(tx, ty, tx + bx * head, ty + by * head, w, value);
            }
        }
    }
}

/// Draws the prompt for `challenge` on the face box `face`; `progress` fills a bar under the
/// frame. `mirrored` frames show the person's left on the image's left.
pub fn draw(canvas: &mut Canvas, face: Rect, challenge: ChallengeType, progress: f32, mirrored: bool) {
    canvas.rect(face, 3);
    let (cx, cy) = (face.x + face.width / 2.0, face.y - face.height * 0.35);
    let length = face.width * 0.3;
    // The person's left is the image's right in an unmirrored frame.
    let left = if mirrored { -1.0 } else { 1.0 };
    match challenge {
        ChallengeType::TurnLeft => canvas.arrow(cx, cy, left, 0.0, length),
        ChallengeType::TurnRight => canvas.arrow(cx, cy, -left, 0.0, length),
        ChallengeType::LookUp => canvas.arrow(cx, cy, 0.0, -1.0, length),
        ChallengeType::LookDown => canvas.arrow(cx, cy, 0.0, 1.0, length),
        ChallengeType::NodYes => {
            canvas.arrow(cx, cy, 0.0, -1.0, length * 0.7);
            canvas.arrow(cx, cy, 0.0, 1.0, length * 0.7);
        }
        ChallengeType::ShakeNo => {
            canvas.arrow(cx, cy, 1.0, 0.0, length * 0.7);
            canvas.arrow(cx, cy, -1.0, 0.0, length * 0.7);
        }
        ChallengeType::Blink => {
            for side in [-1.0, 1.0] {
                let x = cx + side * length * 0.6;
                canvas.line(x - length * 0.3, cy, x + length * 0.3, cy, 2, 255);
            }
        }
        ChallengeType::OpenMouth => {
            let r = length * 0.4;
            canvas.rect(Rect { x: cx - r, y: cy - r, width: 2.0 * r, height: 2.0 * r }, 2);
        }
        ChallengeType::Smile => {
            let steps = 16;
            for i in 0..steps {
                let a0 = std::f32::consts::PI * i as f32 / steps as f32;
                let a1 = std::f32::consts::PI * (i + 1) as f32 / steps as f32;
                canvas.line(
                    cx + length * a0.cos(),
                    cy + length * 0.5 * a0.sin(),
                    cx + length * a1.cos(),
                    cy + length * 0.5 * a1.sin(),
                    2,
                    255,
                );
            }
        }
        ChallengeType::Flash => {
            // A sun: the light the face is to reflect.
            let r = length * 0.3;
            canvas.rect(Rect { x: cx - r, y: cy - r, width: 2.0 * r, height: 2.0 * r }, 2);
            for (dx, dy) in [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)] {
                canvas.line(cx + dx * r * 1.4, cy + dy * r * 1.4, cx + dx * r * 2.2, cy + dy * r * 2.2, 2, 255);
            }
        }
        ChallengeType::MoveCloser => {
            let grow = face.width * 0.12;
            canvas.rect(
                Rect {
                    x: face.x - grow,
                    y: face.y - grow,
                    width: face.width + 2.0 * grow,
                    height: face.height + 2.0 * grow,
                },
                2,
            );
        }
    }
    // Progress bar along the bottom of the frame.
    let (w, h) = (canvas.width as i64, canvas.height as i64);
    let bar_h = (h / 40).max(4);
    canvas.fill(0, h - bar_h, w, h, 0);
    canvas.fill(0, h - bar_h, (w as f32 * progress.clamp(0.0, 1.0)) as i64, h, 255);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_stays_inside_the_frame_and_marks_the_box_and_bar() {
        let (w, h) = (64usize, 48usize);
        let mut plane = vec![128u8; w * h];
        let mut canvas = Canvas {
            width: w,
            height: h,
            plane: &mut plane,
            stride: w,
            channels: &[0],
            bytes_per_pixel: 1,
            luma_of_422: None,
        };
        // A face box reaching past the frame edges must not panic.
        draw(&mut canvas, Rect { x: -10.0, y: 10.0, width: 90.0, height: 50.0 }, ChallengeType::TurnLeft, 0.5, false);
        let bar_row = &plane[(h - 1) * w..h * w];
        assert_eq!(bar_row[0], 255);
        assert_eq!(bar_row[w - 1], 0);
        assert!(plane.iter().filter(|&&v| v == 255).count() > w);
    }
}
