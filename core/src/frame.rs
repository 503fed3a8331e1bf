//! Read-only pixel access to raw camera frames in their own format, and resampling of a
//! region of a frame into the small RGB tensors the models take.
//!
//! Elements never convert a whole frame: they read the few thousand pixels a model input
//! needs straight from the planes (I420, NV12, YUY2, packed RGB ...). Because the YUV to RGB
//! conversion is affine, samples are averaged in the frame's own colour space and converted
//! once per output pixel.

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
        ColourMap::from_yuv(self).apply(yuv)
    }

    /// The full-range luma (0..255) of every 8-bit Y value.
    pub fn full_range_luma(&self) -> [f32; 256] {
        std::array::from_fn(|y| {
            let y = y as f32;
            if self.limited_range { ((y - 16.0) * (255.0 / 219.0)).clamp(0.0, 255.0) } else { y }
        })
    }
}

/// An affine colour conversion to RGB 0..255: `rgb = m · (native - offset)`, clamped. Pixels
/// are averaged in a frame's own colour space and converted with this once an output pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColourMap {
    offset: [f32; 3],
    m: [[f32; 3]; 3],
}

impl ColourMap {
    /// RGB in, RGB out.
    pub const IDENTITY: ColourMap =
        ColourMap { offset: [0.0; 3], m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] };

    /// Y, U, V in (0..255 each), RGB out.
    pub fn from_yuv(matrix: &YuvMatrix) -> ColourMap {
        let (kr, kb) = (matrix.kr, matrix.kb);
        let (luma, chroma, black) =
            if matrix.limited_range { (255.0 / 219.0, 255.0 / 224.0, 16.0) } else { (1.0, 1.0, 0.0) };
        // r = y + 2(1 - kr) v, b = y + 2(1 - kb) u, g = (y - kr r - kb b) / (1 - kr - kb).
        let (rv, bu) = (2.0 * (1.0 - kr) * chroma, 2.0 * (1.0 - kb) * chroma);
        let kg = 1.0 - kr - kb;
        ColourMap {
            offset: [black, 128.0, 128.0],
            m: [[luma, 0.0, rv], [luma, -kb * bu / kg, -kr * rv / kg], [luma, bu, 0.0]],
        }
    }

    #[inline]
    pub fn apply(&self, native: [f32; 3]) -> [f32; 3] {
        let d = [native[0] - self.offset[0], native[1] - self.offset[1], native[2] - self.offset[2]];
        self.m.map(|row| (row[0] * d[0] + row[1] * d[1] + row[2] * d[2]).clamp(0.0, 255.0))
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

    /// The conversion of (averaged) native triples into RGB.
    pub fn colour_map(&self) -> ColourMap {
        match self.layout {
            PixelLayout::Yuv420Planar | PixelLayout::Yuv420SemiPlanar { .. } | PixelLayout::Yuv422Packed { .. } => {
                ColourMap::from_yuv(&self.matrix)
            }
            PixelLayout::PackedRgb { .. } | PixelLayout::Gray => ColourMap::IDENTITY,
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

    /// For layouts whose first plane is the luma (I420, NV12 ...), a reader of the full-range
    /// luma (0..255) at (x, y) that is a table lookup of the Y plane, the same value as
    /// [`FrameView::luma`]; None for the others. Callers keep inside the frame.
    pub fn y_plane_luma(&self) -> Option<impl Fn(usize, usize) -> f32 + '_> {
        matches!(self.layout, PixelLayout::Yuv420Planar | PixelLayout::Yuv420SemiPlanar { .. }).then(|| {
            let table = self.matrix.full_range_luma();
            let (plane, stride) = (self.planes[0], self.strides[0]);
            move |x: usize, y: usize| table[plane[y * stride + x] as usize]
        })
    }

    /// The RGB value (0..255) of the pixel at (x, y), or None outside the frame.
    pub fn rgb(&self, x: usize, y: usize) -> Option<[f32; 3]> {
        (x < self.width && y < self.height).then(|| self.colour_map().apply(self.native(x, y)))
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
    if out_w == 0 || out_h == 0 {
        return;
    }
    let colour = frame.colour_map();
    // Samples are averaged in the frame's own colour space and converted once a pixel, a row
    // at a time: first each channel over the row (loops the compiler turns into vector code),
    // then interleaved into the output.
    let mut rgb = [vec![0.0f32; out_w], vec![0.0f32; out_w], vec![0.0f32; out_w]];
    let row = |v: usize, samples: &RowSums| {
        // Slices of one length: the loop runs without bounds checks.
        let [a, b, c] = samples.channels.each_ref().map(|channel| &channel[..out_w]);
        let counts = &samples.counts[..out_w];
        let [r, g, bl] = rgb.each_mut().map(|channel| &mut channel[..out_w]);
        for u in 0..out_w {
            let count = counts[u];
            let mean = 1.0 / count.max(1.0);
            let inside = colour.apply([a[u] * mean, b[u] * mean, c[u] * mean]);
            // Blend toward the padding colour where only part of the footprint is inside (an
            // empty footprint gives the padding colour).
            let share = count / samples.total;
            r[u] = normalize(inside[0] * share + PAD_RGB[0] * (1.0 - share));
            g[u] = normalize(inside[1] * share + PAD_RGB[1] * (1.0 - share));
            bl[u] = normalize(inside[2] * share + PAD_RGB[2] * (1.0 - share));
        }
        let pixels = out.chunks_exact_mut(3).skip(v * out_w).take(out_w);
        for (((pixel, &r), &g), &b) in pixels.zip(r.iter()).zip(g.iter()).zip(bl.iter()) {
            pixel.copy_from_slice(&[r, g, b]);
        }
    };
    // One monomorphised walk per layout keeps the per-sample work to a few loads.
    let size = (frame.width, frame.height);
    match frame.layout {
        PixelLayout::Yuv420Planar => resample_with(size, map, out_w, out_h, &I420(*frame), row),
        PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 } => {
            resample_with(size, map, out_w, out_h, &Rgb24(*frame), row)
        }
        _ => resample_with(size, map, out_w, out_h, &PixelAtATime(|x, y| frame.native(x, y)), row),
    }
}

/// Fills `out` (`out_w` x `out_h`) with the full-range luma (0..255) of the frame region that
/// `map` selects: averaged like [`resample_rgb`] when shrinking, bilinear when enlarging;
/// outside the frame it is 0.
pub fn resample_luma(frame: &FrameView, map: &Affine, out_w: usize, out_h: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), out_w * out_h);
    if out_w == 0 || out_h == 0 {
        return;
    }
    // The luma of the frame rectangle the canvas covers is worked out once a pixel (not once a
    // tap: an enlarged canvas reads each pixel about 16 times), then read like a Y plane.
    let patch = LumaPatch::new(frame, map, out_w, out_h);
    luma_with((frame.width, frame.height), map, out_w, out_h, out, &patch);
}

/// How the samples of a pixel layout are read: a row's and a column's offsets are worked out
/// apart, so that walks over an axis-aligned region compute each once.
trait Samples {
    type Row: Copy + Default;
    type Column: Copy + Default;
    fn row(&self, y: usize) -> Self::Row;
    fn column(&self, x: usize) -> Self::Column;
    /// The sample in the frame's own colour space, 0..255 (luma canvases use the first).
    fn read(&self, row: Self::Row, column: Self::Column) -> [f32; 3];

    #[inline]
    fn at(&self, x: usize, y: usize) -> [f32; 3] {
        self.read(self.row(y), self.column(x))
    }
}

/// I420 planes: a row is its offset in the three planes, a column its luma and chroma index.
struct I420<'a>(FrameView<'a>);

impl Samples for I420<'_> {
    type Row = [usize; 3];
    type Column = [usize; 2];

    #[inline]
    fn row(&self, y: usize) -> [usize; 3] {
        let s = &self.0.strides;
        [y * s[0], (y / 2) * s[1], (y / 2) * s[2]]
    }

    #[inline]
    fn column(&self, x: usize) -> [usize; 2] {
        [x, x / 2]
    }

    #[inline]
    fn read(&self, row: [usize; 3], column: [usize; 2]) -> [f32; 3] {
        let p = &self.0.planes;
        [p[0][row[0] + column[0]] as f32, p[1][row[1] + column[1]] as f32, p[2][row[2] + column[1]] as f32]
    }
}

/// Packed RGB, three bytes a pixel.
struct Rgb24<'a>(FrameView<'a>);

impl Samples for Rgb24<'_> {
    type Row = usize;
    type Column = usize;

    #[inline]
    fn row(&self, y: usize) -> usize {
        y * self.0.strides[0]
    }

    #[inline]
    fn column(&self, x: usize) -> usize {
        x * 3
    }

    #[inline]
    fn read(&self, row: usize, column: usize) -> [f32; 3] {
        let px = &self.0.planes[0][row + column..row + column + 3];
        [px[0] as f32, px[1] as f32, px[2] as f32]
    }
}

/// Any reader of one pixel at a time, at (x, y).
struct PixelAtATime<F>(F);

impl<F: Fn(usize, usize) -> [f32; 3]> Samples for PixelAtATime<F> {
    type Row = usize;
    type Column = usize;

    fn row(&self, y: usize) -> usize {
        y
    }

    fn column(&self, x: usize) -> usize {
        x
    }

    #[inline]
    fn read(&self, y: usize, x: usize) -> [f32; 3] {
        (self.0)(x, y)
    }
}

/// The full-range luma of one rectangle of a frame: every frame pixel a canvas reads.
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
        match frame.y_plane_luma() {
            // The Y plane is the luma: one table lookup a pixel.
            Some(luma_at) => {
                for y in y0..y0 + height {
                    luma.extend((x0..x0 + width).map(|x| luma_at(x, y)));
                }
            }
            None => {
                for y in y0..y0 + height {
                    luma.extend((x0..x0 + width).map(|x| frame.luma(x, y)));
                }
            }
        }
        LumaPatch { x0, y0, width, height, luma }
    }
}

impl Samples for LumaPatch {
    type Row = usize;
    type Column = usize;

    /// Rows and columns outside the rectangle (which a canvas inside it never reads) are
    /// taken as its nearest edge.
    #[inline]
    fn row(&self, y: usize) -> usize {
        y.saturating_sub(self.y0).min(self.height.saturating_sub(1)) * self.width
    }

    #[inline]
    fn column(&self, x: usize) -> usize {
        x.saturating_sub(self.x0).min(self.width.saturating_sub(1))
    }

    #[inline]
    fn read(&self, row: usize, column: usize) -> [f32; 3] {
        [self.luma.get(row + column).copied().unwrap_or(0.0), 0.0, 0.0]
    }
}

/// The luma canvas of `map` over a frame of `size` from `samples` (their first value).
fn luma_with<S: Samples>(size: (usize, usize), map: &Affine, out_w: usize, out_h: usize, out: &mut [f32], samples: &S) {
    let (width, height) = size;
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
        let columns: Vec<_> = (0..out_w)
            .map(|u| {
                taps(map.xu * (u as f32 + 0.5) + map.x0, width)
                    .map(|(x0, x1, ax)| (samples.column(x0), samples.column(x1), ax))
            })
            .collect();
        for (v, line) in out.chunks_exact_mut(out_w).take(out_h).enumerate() {
            let Some((y0, y1, ay)) = taps(map.yv * (v as f32 + 0.5) + map.y0, height) else {
                line.fill(0.0);
                continue;
            };
            let (r0, r1) = (samples.row(y0), samples.row(y1));
            for (value, column) in line.iter_mut().zip(&columns) {
                *value = match *column {
                    Some((c0, c1, ax)) => {
                        let top = samples.read(r0, c0)[0] * (1.0 - ax) + samples.read(r0, c1)[0] * ax;
                        let bottom = samples.read(r1, c0)[0] * (1.0 - ax) + samples.read(r1, c1)[0] * ax;
                        top * (1.0 - ay) + bottom * ay
                    }
                    None => 0.0,
                };
            }
        }
        return;
    }
    if map.scale() < 1.0 {
        // Enlarging: interpolate, so the canvas holds gradients, not blocks of equal pixels
        // (which texture measures would read as flat surfaces).
        let (w, h) = (width as f32, height as f32);
        for v in 0..out_h {
            for u in 0..out_w {
                let (x, y) = map.apply(u as f32 + 0.5, v as f32 + 0.5);
                out[v * out_w + u] = if x < 0.0 || y < 0.0 || x >= w || y >= h {
                    0.0
                } else {
                    // Pixel centres sit at +0.5.
                    let (fx, fy) = ((x - 0.5).max(0.0), (y - 0.5).max(0.0));
                    let (x0, y0) = (fx as usize, fy as usize);
                    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
                    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
                    let top = samples.at(x0, y0)[0] * (1.0 - ax) + samples.at(x1, y0)[0] * ax;
                    let bottom = samples.at(x0, y1)[0] * (1.0 - ax) + samples.at(x1, y1)[0] * ax;
                    top * (1.0 - ay) + bottom * ay
                };
            }
        }
        return;
    }
    let row = |v: usize, samples: &RowSums| {
        let line = &mut out[v * out_w..(v + 1) * out_w];
        for ((value, &sum), &count) in line.iter_mut().zip(&samples.channels[0]).zip(&samples.counts) {
            *value = if count == 0.0 { 0.0 } else { sum / samples.total };
        }
    };
    resample_with(size, map, out_w, out_h, samples, row);
}

/// One output row's samples, a value a pixel: each channel's sum over the samples read
/// inside the frame, and their count; `total` is the samples a pixel takes.
struct RowSums {
    channels: [Vec<f32>; 3],
    counts: Vec<f32>,
    total: f32,
}

impl RowSums {
    #[inline]
    fn set(&mut self, u: usize, sum: [f32; 3], count: u32) {
        for (channel, value) in self.channels.iter_mut().zip(sum) {
            channel[u] = value;
        }
        self.counts[u] = count as f32;
    }
}

/// Walks the output rows of `map` over a frame of `size` and hands `row` each one's samples.
fn resample_with<S: Samples>(
    size: (usize, usize),
    map: &Affine,
    out_w: usize,
    out_h: usize,
    samples: &S,
    row: impl FnMut(usize, &RowSums),
) {
    // A grid of `G` x `G` samples a pixel, `G` a constant so that the loops over it unroll.
    let size = (size.0 as f32, size.1 as f32);
    match (map.scale().round() as usize).clamp(1, 4) {
        1 => Walk::<S, 1>::new(size, map, out_h, samples).run(out_w, row),
        2 => Walk::<S, 2>::new(size, map, out_h, samples).run(out_w, row),
        3 => Walk::<S, 3>::new(size, map, out_h, samples).run(out_w, row),
        _ => Walk::<S, 4>::new(size, map, out_h, samples).run(out_w, row),
    }
}

/// One walk of [`resample_with`]: `G` x `G` samples a pixel at `offsets` within it.
struct Walk<'a, S, const G: usize> {
    size: (f32, f32),
    map: &'a Affine,
    offsets: [f32; G],
    out_h: usize,
    samples: &'a S,
}

impl<'a, S: Samples, const G: usize> Walk<'a, S, G> {
    fn new(size: (f32, f32), map: &'a Affine, out_h: usize, samples: &'a S) -> Self {
        let offsets = std::array::from_fn(|i| (i as f32 + 0.5) * (1.0 / G as f32));
        Walk { size, map, offsets, out_h, samples }
    }

    fn run(&self, out_w: usize, row: impl FnMut(usize, &RowSums)) {
        let sums = RowSums {
            channels: [vec![0.0; out_w], vec![0.0; out_w], vec![0.0; out_w]],
            counts: vec![0.0; out_w],
            total: (G * G) as f32,
        };
        if self.map.xv == 0.0 && self.map.yu == 0.0 { self.aligned(sums, row) } else { self.turned(sums, row) }
    }

    /// Whether a position lies inside the frame; positions are checked before they become
    /// indices (`as u32` then only drops the fraction).
    #[inline]
    fn inside(&self, x: f32, y: f32) -> bool {
        (x >= 0.0) & (y >= 0.0) & (x < self.size.0) & (y < self.size.1)
    }

    /// An axis-aligned region (letterbox, plain crops): sample columns are computed once,
    /// sample rows once an output row.
    fn aligned(&self, mut sums: RowSums, mut row: impl FnMut(usize, &RowSums)) {
        let (map, samples) = (self.map, self.samples);
        let out_w = sums.counts.len();
        let columns: Vec<[Option<S::Column>; G]> = (0..out_w)
            .map(|u| {
                self.offsets.map(|dx| {
                    let x = map.xu * (u as f32 + dx) + map.x0;
                    self.inside(x, 0.0).then(|| samples.column(x as u32 as usize))
                })
            })
            .collect();
        // Where all of a pixel's samples fall inside the frame (most pixels), its grid is
        // summed without a check a sample.
        let whole = |grid: &[Option<S::Column>; G]| grid.iter().all(Option::is_some);
        let full_columns: Vec<Option<[S::Column; G]>> =
            columns.iter().map(|grid| whole(grid).then(|| grid.map(Option::unwrap_or_default))).collect();
        for v in 0..self.out_h {
            let rows = self.offsets.map(|dy| {
                let y = map.yv * (v as f32 + dy) + map.y0;
                self.inside(0.0, y).then(|| samples.row(y as u32 as usize))
            });
            let full_rows = rows.iter().all(Option::is_some).then(|| rows.map(Option::unwrap_or_default));
            for (u, (columns, full)) in columns.iter().zip(&full_columns).enumerate() {
                let (mut s, mut n) = ([0.0f32; 3], 0);
                if let (Some(rows), Some(columns)) = (&full_rows, full) {
                    for &r in rows {
                        columns.iter().for_each(|&c| add(&mut s, samples.read(r, c)));
                    }
                    n = (G * G) as u32;
                } else {
                    for r in rows.iter().flatten() {
                        for c in columns.iter().flatten() {
                            add(&mut s, samples.read(*r, *c));
                            n += 1;
                        }
                    }
                }
                sums.set(u, s, n);
            }
            row(v, &sums);
        }
    }

    /// A turned region. Positions along an output row move in a straight line, so when a
    /// sample's first and last positions on the row lie inside the frame (with a margin for
    /// rounding), all of them do, and the row is read without a check a sample.
    fn turned(&self, mut sums: RowSums, mut row: impl FnMut(usize, &RowSums)) {
        let (map, (w, h)) = (self.map, self.size);
        let out_w = sums.counts.len();
        let margin = 1e-3;
        let well_inside = |(x, y): (f32, f32)| x >= margin && y >= margin && x < w - margin && y < h - margin;
        let last = out_w.saturating_sub(1) as f32;
        for v in 0..self.out_h {
            let vf = v as f32;
            let whole_row = self.offsets.iter().all(|&dy| {
                self.offsets
                    .iter()
                    .all(|&dx| well_inside(map.apply(dx, vf + dy)) && well_inside(map.apply(last + dx, vf + dy)))
            });
            for u in 0..out_w {
                let (mut s, mut n) = ([0.0f32; 3], 0);
                for dy in self.offsets {
                    for dx in self.offsets {
                        let (x, y) = map.apply(u as f32 + dx, vf + dy);
                        if whole_row || self.inside(x, y) {
                            add(&mut s, self.samples.at(x as u32 as usize, y as u32 as usize));
                            n += 1;
                        }
                    }
                }
                sums.set(u, s, n);
            }
            row(v, &sums);
        }
    }
}

#[inline]
fn add(sum: &mut [f32; 3], sample: [f32; 3]) {
    sum[0] += sample[0];
    sum[1] += sample[1];
    sum[2] += sample[2];
}

#[cfg(test)]
mod tests;
