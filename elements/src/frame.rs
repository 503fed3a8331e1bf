//! Read-only pixel access to raw camera frames in their own format, and resampling of a
//! region of a frame into the small RGB tensors the models take.
//!
//! Elements never convert a whole frame: they read the few thousand pixels a model input
//! needs straight from the planes (I420, NV12, YUY2, packed RGB ...). Because the YUV to RGB
//! conversion is affine, samples are averaged in the frame's own colour space and converted
//! once per output pixel.

use gst_video::prelude::*;

/// How the pixels of a frame are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// 8-bit luma plane, then two chroma planes at half width and half height (I420, YV12:
    /// the plane order is normalised so planes[1] is U and planes[2] is V).
    Yuv420Planar,
    /// 8-bit luma plane, then one interleaved chroma plane at half resolution.
    /// `u_first` is true for NV12 (UVUV...), false for NV21 (VUVU...).
    Yuv420SemiPlanar { u_first: bool },
    /// Packed 4:2:2, two pixels in four bytes; offsets of Y0, U and V within the macropixel
    /// (YUY2: 0, 1, 3; UYVY: 1, 0, 2).
    Yuv422Packed { y_offset: usize, u_offset: usize, v_offset: usize },
    /// Packed RGB with `bytes_per_pixel` bytes a pixel and the byte offsets of R, G and B.
    PackedRgb { bytes_per_pixel: usize, r: usize, g: usize, b: usize },
    /// 8-bit grey.
    Gray,
}

/// The YUV to RGB conversion a frame needs (from its colorimetry).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YuvMatrix {
    /// Red and blue luma weights of the matrix (BT.601: 0.299 / 0.114, BT.709: 0.2126 / 0.0722).
    pub kr: f32,
    pub kb: f32,
    /// Limited ("TV") range 16..235 / 16..240, else full range.
    pub limited_range: bool,
}

impl YuvMatrix {
    pub const BT601_LIMITED: YuvMatrix = YuvMatrix { kr: 0.299, kb: 0.114, limited_range: true };
    pub const BT709_LIMITED: YuvMatrix = YuvMatrix { kr: 0.2126, kb: 0.0722, limited_range: true };

    /// Converts one (Y, U, V) triple, 0..255 each, to RGB 0..255.
    #[inline]
    pub fn to_rgb(&self, yuv: [f32; 3]) -> [f32; 3] {
        let (y, u, v) = if self.limited_range {
            ((yuv[0] - 16.0) * (255.0 / 219.0), (yuv[1] - 128.0) * (255.0 / 224.0), (yuv[2] - 128.0) * (255.0 / 224.0))
        } else {
            (yuv[0], yuv[1] - 128.0, yuv[2] - 128.0)
        };
        // A product with the reciprocal: inside a loop over pixels the division is made once.
        let inverse_kg = 1.0 / (1.0 - self.kr - self.kb);
        let r = y + 2.0 * (1.0 - self.kr) * v;
        let b = y + 2.0 * (1.0 - self.kb) * u;
        let g = (y - self.kr * r - self.kb * b) * inverse_kg;
        [r.clamp(0.0, 255.0), g.clamp(0.0, 255.0), b.clamp(0.0, 255.0)]
    }
}

/// Why a frame cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("video format {0} is not supported")]
    UnsupportedFormat(String),
    #[error("frame plane {plane} holds {len} bytes, {needed} are needed for {width}x{height}")]
    PlaneTooSmall { plane: usize, len: usize, needed: usize, width: usize, height: usize },
}

/// A borrowed, read-only view of one frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    pub width: usize,
    pub height: usize,
    pub layout: PixelLayout,
    pub planes: [&'a [u8]; 3],
    pub strides: [usize; 3],
    pub matrix: YuvMatrix,
}

impl<'a> FrameView<'a> {
    /// Builds a view over planes the caller owns, checking that every plane is large enough
    /// for the layout, so that reads inside `width` x `height` never go out of bounds.
    pub fn new(
        width: usize,
        height: usize,
        layout: PixelLayout,
        planes: [&'a [u8]; 3],
        strides: [usize; 3],
        matrix: YuvMatrix,
    ) -> Result<Self, FrameError> {
        let view = FrameView { width, height, layout, planes, strides, matrix };
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let needs: &[(usize, usize, usize)] = match layout {
            PixelLayout::Yuv420Planar => &[(0, width, height), (1, cw, ch), (2, cw, ch)],
            PixelLayout::Yuv420SemiPlanar { .. } => &[(0, width, height), (1, cw * 2, ch)],
            PixelLayout::Yuv422Packed { .. } => &[(0, cw * 4, height)],
            PixelLayout::PackedRgb { bytes_per_pixel, .. } => &[(0, width * bytes_per_pixel, height)],
            PixelLayout::Gray => &[(0, width, height)],
        };
        for &(plane, row_bytes, rows) in needs {
            if rows == 0 {
                continue;
            }
            let needed = strides[plane] * (rows - 1) + row_bytes;
            if strides[plane] < row_bytes || planes[plane].len() < needed {
                return Err(FrameError::PlaneTooSmall { plane, len: planes[plane].len(), needed, width, height });
            }
        }
        Ok(view)
    }

    /// Maps a readable GStreamer video frame.
    pub fn from_video_frame<T>(frame: &'a gst_video::VideoFrameRef<T>) -> Result<Self, FrameError> {
        use gst_video::VideoFormat as F;
        let info = frame.info();
        let layout = match info.format() {
            F::I420 | F::Yv12 => PixelLayout::Yuv420Planar,
            F::Nv12 => PixelLayout::Yuv420SemiPlanar { u_first: true },
            F::Nv21 => PixelLayout::Yuv420SemiPlanar { u_first: false },
            F::Yuy2 => PixelLayout::Yuv422Packed { y_offset: 0, u_offset: 1, v_offset: 3 },
            F::Uyvy => PixelLayout::Yuv422Packed { y_offset: 1, u_offset: 0, v_offset: 2 },
            F::Rgb => PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            F::Bgr => PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 2, g: 1, b: 0 },
            F::Rgba | F::Rgbx => PixelLayout::PackedRgb { bytes_per_pixel: 4, r: 0, g: 1, b: 2 },
            F::Bgra | F::Bgrx => PixelLayout::PackedRgb { bytes_per_pixel: 4, r: 2, g: 1, b: 0 },
            F::Argb | F::Xrgb => PixelLayout::PackedRgb { bytes_per_pixel: 4, r: 1, g: 2, b: 3 },
            F::Abgr | F::Xbgr => PixelLayout::PackedRgb { bytes_per_pixel: 4, r: 3, g: 2, b: 1 },
            F::Gray8 => PixelLayout::Gray,
            other => return Err(FrameError::UnsupportedFormat(other.to_str().to_string())),
        };
        let n_planes = frame.n_planes() as usize;
        let mut planes: [&[u8]; 3] = [&[]; 3];
        let mut strides = [0usize; 3];
        for (i, (plane, stride)) in planes.iter_mut().zip(strides.iter_mut()).enumerate().take(n_planes.min(3)) {
            *plane = frame.plane_data(i as u32).unwrap_or(&[]);
            *stride = frame.plane_stride()[i].max(0) as usize;
        }
        if info.format() == F::Yv12 {
            planes.swap(1, 2);
            strides.swap(1, 2);
        }
        let colorimetry = info.colorimetry();
        let bt709 = colorimetry.matrix() == gst_video::VideoColorMatrix::Bt709;
        let matrix = YuvMatrix {
            kr: if bt709 { 0.2126 } else { 0.299 },
            kb: if bt709 { 0.0722 } else { 0.114 },
            limited_range: colorimetry.range() != gst_video::VideoColorRange::Range0_255,
        };
        FrameView::new(info.width() as usize, info.height() as usize, layout, planes, strides, matrix)
    }

    /// The pixel at (x, y) in the frame's own colour space (Y, U, V or R, G, B), 0..255.
    /// Callers keep x < width and y < height.
    #[inline]
    fn native(&self, x: usize, y: usize) -> [f32; 3] {
        match self.layout {
            PixelLayout::Yuv420Planar => self.yuv420_planar(x, y),
            PixelLayout::Yuv420SemiPlanar { u_first } => {
                let at = (y / 2) * self.strides[1] + (x / 2) * 2;
                let (a, b) = (self.planes[1][at] as f32, self.planes[1][at + 1] as f32);
                let luma = self.planes[0][y * self.strides[0] + x] as f32;
                if u_first { [luma, a, b] } else { [luma, b, a] }
            }
            PixelLayout::Yuv422Packed { y_offset, u_offset, v_offset } => {
                let row = &self.planes[0][y * self.strides[0]..];
                let macro_pixel = (x / 2) * 4;
                let luma = row[macro_pixel + y_offset + (x % 2) * 2];
                [luma as f32, row[macro_pixel + u_offset] as f32, row[macro_pixel + v_offset] as f32]
            }
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 } => self.rgb24(x, y),
            PixelLayout::PackedRgb { bytes_per_pixel, r, g, b } => {
                let at = y * self.strides[0] + x * bytes_per_pixel;
                let px = &self.planes[0][at..at + bytes_per_pixel];
                [px[r] as f32, px[g] as f32, px[b] as f32]
            }
            PixelLayout::Gray => {
                let v = self.planes[0][y * self.strides[0] + x] as f32;
                [v, v, v]
            }
        }
    }

    #[inline]
    fn yuv420_planar(&self, x: usize, y: usize) -> [f32; 3] {
        let (cx, cy) = (x / 2, y / 2);
        [
            self.planes[0][y * self.strides[0] + x] as f32,
            self.planes[1][cy * self.strides[1] + cx] as f32,
            self.planes[2][cy * self.strides[2] + cx] as f32,
        ]
    }

    #[inline]
    fn rgb24(&self, x: usize, y: usize) -> [f32; 3] {
        let at = y * self.strides[0] + x * 3;
        [self.planes[0][at] as f32, self.planes[0][at + 1] as f32, self.planes[0][at + 2] as f32]
    }

    /// Turns an (averaged) native triple into RGB.
    #[inline]
    fn native_to_rgb(&self, native: [f32; 3]) -> [f32; 3] {
        match self.layout {
            PixelLayout::Yuv420Planar | PixelLayout::Yuv420SemiPlanar { .. } | PixelLayout::Yuv422Packed { .. } => {
                self.matrix.to_rgb(native)
            }
            PixelLayout::PackedRgb { .. } | PixelLayout::Gray => native,
        }
    }

    /// Full-range luma (0..255) of the pixel at (x, y); callers keep inside the frame.
    #[inline]
    pub fn luma(&self, x: usize, y: usize) -> f32 {
        match self.layout {
            PixelLayout::Gray => self.native(x, y)[0],
            PixelLayout::PackedRgb { .. } => {
                let [r, g, b] = self.native(x, y);
                self.matrix.kr * r + (1.0 - self.matrix.kr - self.matrix.kb) * g + self.matrix.kb * b
            }
            _ => {
                let y = self.native(x, y)[0];
                if self.matrix.limited_range { ((y - 16.0) * (255.0 / 219.0)).clamp(0.0, 255.0) } else { y }
            }
        }
    }

    /// The RGB value (0..255) of the pixel at (x, y), or None outside the frame.
    pub fn rgb(&self, x: usize, y: usize) -> Option<[f32; 3]> {
        (x < self.width && y < self.height).then(|| self.native_to_rgb(self.native(x, y)))
    }
}

/// Packed RGB (`width` x `height` x 3) as a baseline JPEG of `quality` (1..100).
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100)).encode(
        rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// An affine map from output-tensor pixel coordinates (u, v) to frame coordinates (x, y):
/// `x = xu * u + xv * v + x0`, `y = yu * u + yv * v + y0`, both measured in pixels with
/// (0, 0) the top-left corner of the top-left pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub xu: f32,
    pub xv: f32,
    pub x0: f32,
    pub yu: f32,
    pub yv: f32,
    pub y0: f32,
}

impl Affine {
    #[inline]
    pub fn apply(&self, u: f32, v: f32) -> (f32, f32) {
        (self.xu * u + self.xv * v + self.x0, self.yu * u + self.yv * v + self.y0)
    }

    /// Frame pixels covered by one output pixel along its longer side.
    pub fn scale(&self) -> f32 {
        (self.xu.hypot(self.yu)).max(self.xv.hypot(self.yv))
    }
}

/// Where an output pixel falls outside the frame, the value it gets (RGB 0..255).
pub const PAD_RGB: [f32; 3] = [0.0, 0.0, 0.0];

/// Most frame samples an output pixel averages (a grid of 4 x 4).
const MAX_SAMPLES: usize = 16;

/// `1 / n` for the sample counts 0..=16 (0 for none).
const RECIPROCALS: [f32; MAX_SAMPLES + 1] = {
    let mut table = [0.0; MAX_SAMPLES + 1];
    let mut n = 1;
    while n <= MAX_SAMPLES {
        table[n] = 1.0 / n as f32;
        n += 1;
    }
    table
};

/// Fills `out` (NHWC, `out_w` x `out_h` x 3) with the frame region that `map` selects. Each
/// output pixel averages a grid of up to 4x4 frame pixels spread over its footprint, so
/// strong downscaling does not alias. `normalize` maps an RGB value 0..255 to the model's
/// input range.
pub fn resample_rgb(
    frame: &FrameView,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    out: &mut [f32],
    normalize: impl Fn(f32) -> f32,
) {
    debug_assert_eq!(out.len(), out_w * out_h * 3);
    // Products with reciprocals in place of divisions: a pixel costs a few multiplications.
    let emit = |pixel: usize, sum: [f32; 3], count: u32, total: f32| {
        let rgb = if count == 0 {
            PAD_RGB
        } else {
            let n = count as f32;
            let mean = RECIPROCALS[(count as usize).min(MAX_SAMPLES)];
            let inside = frame.native_to_rgb([sum[0] * mean, sum[1] * mean, sum[2] * mean]);
            if n == total {
                inside
            } else {
                // Blend toward the padding colour where only part of the footprint is inside.
                let share = n / total;
                [
                    inside[0] * share + PAD_RGB[0] * (1.0 - share),
                    inside[1] * share + PAD_RGB[1] * (1.0 - share),
                    inside[2] * share + PAD_RGB[2] * (1.0 - share),
                ]
            }
        };
        out[pixel * 3] = normalize(rgb[0]);
        out[pixel * 3 + 1] = normalize(rgb[1]);
        out[pixel * 3 + 2] = normalize(rgb[2]);
    };
    // One monomorphised loop per layout keeps the per-sample work to a few loads.
    let f = *frame;
    match frame.layout {
        PixelLayout::Yuv420Planar => resample_with(frame, map, out_w, out_h, move |x, y| f.yuv420_planar(x, y), emit),
        PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 } => {
            resample_with(frame, map, out_w, out_h, move |x, y| f.rgb24(x, y), emit)
        }
        _ => resample_with(frame, map, out_w, out_h, move |x, y| f.native(x, y), emit),
    }
}

/// Fills `out` (`out_w` x `out_h`) with the full-range luma (0..255) of the frame region that
/// `map` selects: averaged like [`resample_rgb`] when shrinking, bilinear when enlarging;
/// outside the frame it is 0. YUV frames give their Y plane straight, without any colour
/// conversion.
pub fn resample_luma(frame: &FrameView, map: &Affine, out_w: usize, out_h: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), out_w * out_h);
    let f = *frame;
    let full_range =
        move |y: f32| if f.matrix.limited_range { ((y - 16.0) * (255.0 / 219.0)).clamp(0.0, 255.0) } else { y };
    match frame.layout {
        PixelLayout::Yuv420Planar | PixelLayout::Yuv420SemiPlanar { .. } => {
            // The Y plane is the luma: one load a sample.
            luma_with(frame, map, out_w, out_h, out, move |x, y| full_range(f.planes[0][y * f.strides[0] + x] as f32))
        }
        PixelLayout::Gray => luma_with(frame, map, out_w, out_h, out, move |x, y| f.luma(x, y)),
        _ => {
            // Packed RGB and YUV: the luma of the frame rectangle the canvas covers is worked
            // out once a pixel (not once a tap: an enlarged canvas reads each pixel about 16
            // times), then read like a Y plane.
            let patch = LumaPatch::new(frame, map, out_w, out_h);
            luma_with(frame, map, out_w, out_h, out, move |x, y| patch.get(&f, x, y))
        }
    }
}

/// The full-range luma of one rectangle of a frame.
struct LumaPatch {
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    luma: Vec<f32>,
}

impl LumaPatch {
    /// The rectangle `map` reads for an `out_w` x `out_h` canvas (its corners' bounding box,
    /// with a pixel of margin for the interpolation taps), clipped to the frame.
    fn new(frame: &FrameView, map: &Affine, out_w: usize, out_h: usize) -> LumaPatch {
        let corners = [(0.0, 0.0), (out_w as f32, 0.0), (0.0, out_h as f32), (out_w as f32, out_h as f32)]
            .map(|(u, v)| map.apply(u, v));
        let (xs, ys) = (corners.map(|c| c.0), corners.map(|c| c.1));
        let low = |values: [f32; 4], size: usize| {
            (values.iter().copied().fold(f32::INFINITY, f32::min).floor() - 1.0).clamp(0.0, size as f32) as usize
        };
        let high = |values: [f32; 4], size: usize| {
            (values.iter().copied().fold(f32::NEG_INFINITY, f32::max).ceil() + 2.0).clamp(0.0, size as f32) as usize
        };
        let (x0, x1) = (low(xs, frame.width), high(xs, frame.width));
        let (y0, y1) = (low(ys, frame.height), high(ys, frame.height));
        let (width, height) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
        let mut luma = Vec::with_capacity(width * height);
        for y in y0..y0 + height {
            luma.extend((x0..x0 + width).map(|x| frame.luma(x, y)));
        }
        LumaPatch { x0, y0, width, height, luma }
    }

    /// The luma at (x, y): from the patch, or worked out on the spot outside it.
    #[inline]
    fn get(&self, frame: &FrameView, x: usize, y: usize) -> f32 {
        match (x.checked_sub(self.x0), y.checked_sub(self.y0)) {
            (Some(dx), Some(dy)) if dx < self.width && dy < self.height => self.luma[dy * self.width + dx],
            _ => frame.luma(x, y),
        }
    }
}

fn luma_with(
    frame: &FrameView,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    out: &mut [f32],
    read: impl Fn(usize, usize) -> f32,
) {
    if map.scale() < 1.0 && map.xv == 0.0 && map.yu == 0.0 {
        // Enlarging an axis-aligned region: the interpolation taps of every column and row
        // are computed once.
        let taps = |position: f32, size: usize| -> Option<(usize, usize, f32)> {
            if position < 0.0 || position >= size as f32 {
                return None;
            }
            let p = (position - 0.5).max(0.0);
            let p0 = p as usize;
            Some((p0, (p0 + 1).min(size - 1), p - p0 as f32))
        };
        let columns: Vec<_> = (0..out_w).map(|u| taps(map.xu * (u as f32 + 0.5) + map.x0, frame.width)).collect();
        for v in 0..out_h {
            let row = taps(map.yv * (v as f32 + 0.5) + map.y0, frame.height);
            for (u, column) in columns.iter().enumerate() {
                out[v * out_w + u] = match (row, *column) {
                    (Some((y0, y1, ay)), Some((x0, x1, ax))) => {
                        let top = read(x0, y0) * (1.0 - ax) + read(x1, y0) * ax;
                        let bottom = read(x0, y1) * (1.0 - ax) + read(x1, y1) * ax;
                        top * (1.0 - ay) + bottom * ay
                    }
                    _ => 0.0,
                };
            }
        }
        return;
    }
    if map.scale() < 1.0 {
        // Enlarging: interpolate, so the canvas holds gradients, not blocks of equal pixels
        // (which texture measures would read as flat surfaces).
        let (w, h) = (frame.width as f32, frame.height as f32);
        for v in 0..out_h {
            for u in 0..out_w {
                let (x, y) = map.apply(u as f32 + 0.5, v as f32 + 0.5);
                out[v * out_w + u] = if x < 0.0 || y < 0.0 || x >= w || y >= h {
                    0.0
                } else {
                    // Pixel centres sit at +0.5.
                    let (fx, fy) = ((x - 0.5).max(0.0), (y - 0.5).max(0.0));
                    let (x0, y0) = (fx as usize, fy as usize);
                    let (x1, y1) = ((x0 + 1).min(frame.width - 1), (y0 + 1).min(frame.height - 1));
                    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
                    let top = read(x0, y0) * (1.0 - ax) + read(x1, y0) * ax;
                    let bottom = read(x0, y1) * (1.0 - ax) + read(x1, y1) * ax;
                    top * (1.0 - ay) + bottom * ay
                };
            }
        }
        return;
    }
    let emit = |pixel: usize, sum: [f32; 3], count: u32, total: f32| {
        out[pixel] = if count == 0 { 0.0 } else { sum[0] / total };
    };
    resample_with(frame, map, out_w, out_h, move |x, y| [read(x, y), 0.0, 0.0], emit);
}

/// Walks the output pixels and hands `emit` (pixel index, sum of the samples read inside the
/// frame, their count, samples per pixel).
fn resample_with(
    frame: &FrameView,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    read: impl Fn(usize, usize) -> [f32; 3],
    mut emit: impl FnMut(usize, [f32; 3], u32, f32),
) {
    let grid = (map.scale().round() as usize).clamp(1, 4);
    let step = 1.0 / grid as f32;
    let (w, h) = (frame.width as f32, frame.height as f32);
    let offsets: Vec<f32> = (0..grid).map(|i| (i as f32 + 0.5) * step).collect();
    let total = (grid * grid) as f32;
    let mut write = |u: usize, v: usize, sum: [f32; 3], count: u32| emit(v * out_w + u, sum, count, total);

    if map.xv == 0.0 && map.yu == 0.0 {
        // Axis-aligned (letterbox, plain crops): sample columns and rows are computed once.
        let column = |u: usize, i: usize| {
            let x = map.xu * (u as f32 + offsets[i]) + map.x0;
            (x >= 0.0 && x < w).then_some(x as usize)
        };
        let row = |v: usize, j: usize| {
            let y = map.yv * (v as f32 + offsets[j]) + map.y0;
            (y >= 0.0 && y < h).then_some(y as usize)
        };
        let columns: Vec<Option<usize>> =
            (0..out_w).flat_map(|u| (0..grid).map(move |i| (u, i))).map(|(u, i)| column(u, i)).collect();
        let mut rows: Vec<Option<usize>> = Vec::with_capacity(grid);
        for v in 0..out_h {
            rows.clear();
            rows.extend((0..grid).map(|j| row(v, j)));
            for u in 0..out_w {
                let mut sum = [0.0f32; 3];
                let mut count = 0u32;
                for y in rows.iter().flatten() {
                    for x in columns[u * grid..(u + 1) * grid].iter().flatten() {
                        let px = read(*x, *y);
                        sum[0] += px[0];
                        sum[1] += px[1];
                        sum[2] += px[2];
                        count += 1;
                    }
                }
                write(u, v, sum, count);
            }
        }
        return;
    }

    for v in 0..out_h {
        for u in 0..out_w {
            let mut sum = [0.0f32; 3];
            let mut count = 0u32;
            for dy in &offsets {
                for dx in &offsets {
                    let (x, y) = map.apply(u as f32 + dx, v as f32 + dy);
                    if x >= 0.0 && y >= 0.0 && x < w && y < h {
                        let px = read(x as usize, y as usize);
                        sum[0] += px[0];
                        sum[1] += px[1];
                        sum[2] += px[2];
                        count += 1;
                    }
                }
            }
            write(u, v, sum, count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb_to_yuv601_limited(rgb: [f32; 3]) -> [u8; 3] {
        let y = 16.0 + (65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]) / 255.0;
        let u = 128.0 + (-37.797 * rgb[0] - 74.203 * rgb[1] + 112.0 * rgb[2]) / 255.0;
        let v = 128.0 + (112.0 * rgb[0] - 93.786 * rgb[1] - 18.214 * rgb[2]) / 255.0;
        [y.round() as u8, u.round() as u8, v.round() as u8]
    }

    #[test]
    fn bt601_limited_round_trips_primary_colours() {
        for rgb in
            [[255.0, 0.0, 0.0], [0.0, 255.0, 0.0], [0.0, 0.0, 255.0], [128.0, 128.0, 128.0], [200.0, 150.0, 90.0]]
        {
            let yuv = rgb_to_yuv601_limited(rgb);
            let back = YuvMatrix::BT601_LIMITED.to_rgb([yuv[0] as f32, yuv[1] as f32, yuv[2] as f32]);
            for c in 0..3 {
                assert!((back[c] - rgb[c]).abs() < 2.5, "{rgb:?} -> {yuv:?} -> {back:?}");
            }
        }
    }

    /// The same 4x2 picture in every layout must read back as the same RGB.
    #[test]
    fn every_layout_reads_the_same_pixels() {
        let picture: Vec<[f32; 3]> = (0..8).map(|i| [i as f32 * 30.0, 255.0 - i as f32 * 30.0, 100.0]).collect();
        let (w, h) = (4usize, 2usize);
        let rgba: Vec<u8> = picture.iter().flat_map(|p| [p[0] as u8, p[1] as u8, p[2] as u8, 255]).collect();
        let bgr: Vec<u8> = picture.iter().flat_map(|p| [p[2] as u8, p[1] as u8, p[0] as u8]).collect();
        let rgba_view = FrameView::new(
            w,
            h,
            PixelLayout::PackedRgb { bytes_per_pixel: 4, r: 0, g: 1, b: 2 },
            [&rgba, &[], &[]],
            [16, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        let bgr_view = FrameView::new(
            w,
            h,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 2, g: 1, b: 0 },
            [&bgr, &[], &[]],
            [12, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        for y in 0..h {
            for x in 0..w {
                assert_eq!(rgba_view.rgb(x, y), bgr_view.rgb(x, y));
                assert_eq!(rgba_view.rgb(x, y), Some(picture[y * w + x]));
            }
        }
        // A flat colour in I420 and NV12 reads back as that colour everywhere.
        let yuv = rgb_to_yuv601_limited([200.0, 150.0, 90.0]);
        let luma = vec![yuv[0]; w * h];
        let (u, v) = (vec![yuv[1]; 2], vec![yuv[2]; 2]);
        let uv: Vec<u8> = [yuv[1], yuv[2], yuv[1], yuv[2]].to_vec();
        let i420 =
            FrameView::new(w, h, PixelLayout::Yuv420Planar, [&luma, &u, &v], [4, 2, 2], YuvMatrix::BT601_LIMITED)
                .unwrap();
        let nv12 = FrameView::new(
            w,
            h,
            PixelLayout::Yuv420SemiPlanar { u_first: true },
            [&luma, &uv, &[]],
            [4, 4, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        let yuy2_bytes: Vec<u8> =
            (0..h).flat_map(|_| [yuv[0], yuv[1], yuv[0], yuv[2], yuv[0], yuv[1], yuv[0], yuv[2]]).collect();
        let yuy2 = FrameView::new(
            w,
            h,
            PixelLayout::Yuv422Packed { y_offset: 0, u_offset: 1, v_offset: 3 },
            [&yuy2_bytes, &[], &[]],
            [8, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        for view in [i420, nv12, yuy2] {
            let px = view.rgb(3, 1).unwrap();
            assert!(
                (px[0] - 200.0).abs() < 2.5 && (px[1] - 150.0).abs() < 2.5 && (px[2] - 90.0).abs() < 2.5,
                "{:?}: {px:?}",
                view.layout
            );
        }
        assert_eq!(i420.rgb(4, 0), None);
    }

    #[test]
    fn short_planes_are_rejected_not_read() {
        let small = vec![0u8; 10];
        let err = FrameView::new(4, 4, PixelLayout::Gray, [&small, &[], &[]], [4, 0, 0], YuvMatrix::BT601_LIMITED)
            .unwrap_err();
        assert!(matches!(err, FrameError::PlaneTooSmall { plane: 0, needed: 16, .. }));
    }

    #[test]
    fn resampling_averages_and_pads() {
        // 8x8 grey frame: left half black, right half white.
        let pixels: Vec<u8> = (0..64).map(|i| if i % 8 < 4 { 0 } else { 255 }).collect();
        let view =
            FrameView::new(8, 8, PixelLayout::Gray, [&pixels, &[], &[]], [8, 0, 0], YuvMatrix::BT601_LIMITED).unwrap();
        // 2x2 output covering the frame: each output pixel averages a 4x4 block.
        let map = Affine { xu: 4.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 4.0, y0: 0.0 };
        let mut out = vec![0.0; 12];
        resample_rgb(&view, &map, 2, 2, &mut out, |v| v);
        assert_eq!(&out[0..3], &[0.0, 0.0, 0.0]);
        assert_eq!(&out[3..6], &[255.0, 255.0, 255.0]);
        // Shifted by half the frame to the right: the right output column falls outside.
        let shifted = Affine { x0: 4.0, ..map };
        resample_rgb(&view, &shifted, 2, 2, &mut out, |v| v / 255.0);
        assert_eq!(out[0], 1.0);
        assert_eq!(out[3], PAD_RGB[0] / 255.0);
    }

    #[test]
    fn luma_reads_the_y_plane_in_full_range_and_interpolates_when_enlarging() {
        let luma = [16u8, 235, 16, 235];
        let chroma = [128u8];
        let i420 = FrameView::new(
            2,
            2,
            PixelLayout::Yuv420Planar,
            [&luma, &chroma, &chroma],
            [2, 1, 1],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        let mut out = vec![0.0; 4];
        resample_luma(&i420, &Affine { xu: 1.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 1.0, y0: 0.0 }, 2, 2, &mut out);
        assert_eq!(out, vec![0.0, 255.0, 0.0, 255.0]);
        let rgb = [200u8, 150, 90];
        let one = FrameView::new(
            1,
            1,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            [&rgb, &[], &[]],
            [3, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        let mut px = vec![0.0; 1];
        resample_luma(&one, &Affine { xu: 1.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 1.0, y0: 0.0 }, 1, 1, &mut px);
        assert!((px[0] - (0.299 * 200.0 + 0.587 * 150.0 + 0.114 * 90.0)).abs() < 0.01, "{px:?}");
        // Enlarged 4x: values between the two columns are interpolated, not repeated.
        let mut wide = vec![0.0; 8 * 8];
        resample_luma(&i420, &Affine { xu: 0.25, xv: 0.0, x0: 0.0, yu: 0.0, yv: 0.25, y0: 0.0 }, 8, 8, &mut wide);
        let distinct: std::collections::BTreeSet<u32> = wide[..8].iter().map(|v| v.round() as u32).collect();
        assert!(distinct.len() >= 4, "{:?}", &wide[..8]);
        // The axis-aligned fast path and the general path give the same canvas.
        let pixels: Vec<u8> = (0..20 * 20).map(|i| (i * 13 % 256) as u8).collect();
        let grey = FrameView::new(20, 20, PixelLayout::Gray, [&pixels, &[], &[]], [20, 0, 0], YuvMatrix::BT601_LIMITED)
            .unwrap();
        let straight = Affine { xu: 0.3, xv: 0.0, x0: 2.0, yu: 0.0, yv: 0.3, y0: 1.0 };
        let (mut a, mut b) = (vec![0.0; 40 * 40], vec![0.0; 40 * 40]);
        resample_luma(&grey, &straight, 40, 40, &mut a);
        resample_luma(&grey, &Affine { xv: 1e-9, ..straight }, 40, 40, &mut b);
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-3, "{p} {q}");
        }
    }

    #[test]
    fn rgb_luma_through_the_patch_equals_the_luma_of_each_tap() {
        let pixels: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 31 % 253) as u8).collect();
        let rgb = FrameView::new(
            64,
            48,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            [&pixels, &[], &[]],
            [64 * 3, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        let maps = [
            // enlarging, axis-aligned; rotated; shrinking; partly outside the frame
            Affine { xu: 0.2, xv: 0.0, x0: 10.0, yu: 0.0, yv: 0.2, y0: 5.0 },
            Affine { xu: 0.25, xv: -0.1, x0: 30.0, yu: 0.1, yv: 0.25, y0: 4.0 },
            Affine { xu: 2.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 2.0, y0: 0.0 },
            Affine { xu: 0.5, xv: 0.0, x0: -8.0, yu: 0.0, yv: 0.5, y0: 30.0 },
        ];
        for map in maps {
            let (mut fast, mut each) = (vec![0.0; 40 * 40], vec![0.0; 40 * 40]);
            resample_luma(&rgb, &map, 40, 40, &mut fast);
            luma_with(&rgb, &map, 40, 40, &mut each, |x, y| rgb.luma(x, y));
            for (p, q) in fast.iter().zip(&each) {
                assert!((p - q).abs() < 1e-3, "{map:?}: {p} {q}");
            }
        }
    }

    #[test]
    fn axis_aligned_and_general_paths_agree() {
        let pixels: Vec<u8> = (0..48 * 32 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let view = FrameView::new(
            48,
            32,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            [&pixels, &[], &[]],
            [144, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .unwrap();
        let straight = Affine { xu: 2.5, xv: 0.0, x0: -3.0, yu: 0.0, yv: 2.5, y0: 1.0 };
        // The same map with a rotation too small to move any sample to another pixel... but
        // enough to take the general path.
        let almost = Affine { xv: 1e-7, ..straight };
        let (mut a, mut b) = (vec![0.0; 20 * 14 * 3], vec![0.0; 20 * 14 * 3]);
        resample_rgb(&view, &straight, 20, 14, &mut a, |v| v);
        resample_rgb(&view, &almost, 20, 14, &mut b, |v| v);
        assert_eq!(a, b);
    }
}
