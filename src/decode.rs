//! Images as the pipelines take them. Every check that needs only the header (marker, end of
//! image, size) runs before anything is decoded.
//!
//! LPProto frames are camera JPEGs: libjpeg-turbo decodes them straight into I420, the YCbCr
//! planes the JPEG holds (no chroma upsampling, no colour conversion), which the elements read
//! in place. A frame whose chroma is sampled otherwise (4:4:4, 4:2:2, 4:4:0, greyscale) is
//! decoded to its own planes and its chroma resampled to 4:2:0, so a session's frames have one
//! format whatever the camera sends. Any libjpeg-turbo warning (corrupt data, a premature end)
//! refuses the frame. REST stills (JPEG or PNG) are decoded to RGB by the `image` crate.

use std::cell::RefCell;

/// Largest frame side accepted.
pub const MAX_FRAME_SIDE: u32 = 4096;

/// Why an image could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("neither a JPEG nor a PNG")]
    UnknownFormat,
    #[error("the frame does not start with a JPEG marker")]
    NotJpeg,
    #[error("the {format:?} image is truncated: {missing}")]
    Truncated { format: image::ImageFormat, missing: &'static str },
    #[error("{width}x{height} is {} pixels, more than the {max_pixels} allowed", *width as u64 * *height as u64)]
    TooManyPixels { width: u32, height: u32, max_pixels: u64 },
    #[error("{format:?}: {source}")]
    Image { format: image::ImageFormat, source: image::ImageError },
    #[error(
        "a {bytes}-byte {format:?} cannot hold {width}x{height} pixels (it takes at least {least} bytes): a decompression bomb or a truncated file"
    )]
    TooSparse { format: image::ImageFormat, bytes: usize, width: u32, height: u32, least: u64 },
    #[error("the JPEG has {scans} scans, more than the {} allowed", MAX_JPEG_SCANS)]
    TooManyScans { scans: usize },
    #[error("Jpeg: {0}")]
    Jpeg(String),
}

/// Most scans (start-of-scan markers) a JPEG may have. Every scan of a progressive JPEG is a
/// pass over the whole image, so a small file of thousands of tiny scans would cost seconds of
/// CPU; cameras' and browsers' progressive JPEGs have about ten, baseline ones one.
pub const MAX_JPEG_SCANS: usize = 100;

/// Refuses a JPEG of more than `MAX_JPEG_SCANS` scans. Entropy-coded data stuffs every 0xFF
/// with a zero, so a 0xFF 0xDA pair there is a marker; one inside another segment (an EXIF
/// thumbnail's) counts too, which errs on the side of refusing.
fn check_scans(bytes: &[u8]) -> Result<(), DecodeError> {
    let scans = bytes.windows(2).filter(|pair| *pair == [0xFF, 0xDA]).count();
    if scans > MAX_JPEG_SCANS {
        return Err(DecodeError::TooManyScans { scans });
    }
    Ok(())
}

/// A decoded image: RGB (`Rgb`, rows of `width * 3` bytes) or I420 (`I420`, the planes
/// libjpeg-turbo writes with rows padded to 4 bytes, as GStreamer lays I420 out).
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    pub width: u32,
    pub height: u32,
    pub format: gst_video::VideoFormat,
    pub data: Vec<u8>,
}

/// A JPEG ends with its end-of-image marker (a few padding bytes may follow it).
fn jpeg_is_whole(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(32)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// A PNG ends with its IEND chunk.
fn png_is_whole(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND"
}

/// The size a JPEG's start-of-frame segment declares, read from the markers without a
/// decoder (which refuses sides past 65500 with an error that does not say so).
fn declared_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    while at + 9 <= bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        // SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = u16::from_be_bytes([bytes[at + 5], bytes[at + 6]]);
            let width = u16::from_be_bytes([bytes[at + 7], bytes[at + 8]]);
            return Some((u32::from(width), u32::from(height)));
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    None
}

/// Refuses images larger than `max_pixels` or `MAX_FRAME_SIDE`, and images without pixels.
fn check_size(width: u32, height: u32, max_pixels: u64) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::Jpeg(format!("an image of {width}x{height} pixels")));
    }
    let max_pixels = max_pixels.min(MAX_FRAME_SIDE as u64 * MAX_FRAME_SIDE as u64);
    if width as u64 * height as u64 > max_pixels || width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE {
        return Err(DecodeError::TooManyPixels { width, height, max_pixels });
    }
    Ok(())
}

/// Refuses a file too small for the size its header declares, before anything is decoded. A
/// JPEG codes at least one bit for every 8x8 block of luma (its DC difference; a progressive
/// AC scan may skip whole runs of blocks), so a whole one of `pixels` takes at least
/// `pixels / 512` bytes; DEFLATE packs at most 1032 bytes of a PNG's rows (1 bit a pixel at
/// the least) into one, so `pixels / 8256`. Half of each is asked, for a margin: a 1.6 KB file
/// declaring 4096x4096 is refused where decoding it would fill 48 MiB.
fn check_density(format: image::ImageFormat, bytes: usize, width: u32, height: u32) -> Result<(), DecodeError> {
    let pixels = width as u64 * height as u64;
    let least = match format {
        image::ImageFormat::Png => pixels / 16_512,
        _ => pixels / 1024,
    };
    if (bytes as u64) < least {
        return Err(DecodeError::TooSparse { format, bytes, width, height, least });
    }
    Ok(())
}

thread_local! {
    /// One libjpeg-turbo decompressor per thread (each session's actor has its own).
    static DECOMPRESSOR: RefCell<Option<turbojpeg::Decompressor>> = const { RefCell::new(None) };
}

/// Row alignment of the planes libjpeg-turbo writes: GStreamer's I420 rows are padded to 4.
const PLANE_ALIGN: usize = 4;

/// What a JPEG frame's header says, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegHeader {
    pub width: u32,
    pub height: u32,
    subsamp: turbojpeg::Subsamp,
}

fn jpeg_error(err: turbojpeg::Error) -> DecodeError {
    DecodeError::Jpeg(err.to_string())
}

/// Runs `f` with this thread's decompressor.
fn with_decompressor<T>(
    f: impl FnOnce(&mut turbojpeg::Decompressor) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = match slot {
            Some(decompressor) => decompressor,
            None => slot.insert(turbojpeg::Decompressor::new().map_err(jpeg_error)?),
        };
        f(decompressor)
    })
}

/// Checks a JPEG frame (LPProto) without decoding it: the start and end markers, and a size
/// within `max_pixels` and `MAX_FRAME_SIDE`.
pub fn jpeg_header(bytes: &[u8], max_pixels: u64) -> Result<JpegHeader, DecodeError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(DecodeError::NotJpeg);
    }
    if !jpeg_is_whole(bytes) {
        return Err(DecodeError::Truncated { format: image::ImageFormat::Jpeg, missing: "no end-of-image marker" });
    }
    // The size is checked from the markers first, so that one past the bounds is told so.
    if let Some((width, height)) = declared_size(bytes) {
        check_size(width, height, max_pixels)?;
    }
    let header = with_decompressor(|decompressor| decompressor.read_header(bytes).map_err(jpeg_error))?;
    let (width, height) = (dimension(header.width)?, dimension(header.height)?);
    check_size(width, height, max_pixels)?;
    check_density(image::ImageFormat::Jpeg, bytes.len(), width, height)?;
    check_scans(bytes)?;
    Ok(JpegHeader { width, height, subsamp: header.subsamp })
}

/// Decodes a JPEG frame whose header `jpeg_header` has checked into `out`, I420 laid out as
/// [`i420_info`] says (at least that size).
pub fn decode_jpeg_into(bytes: &[u8], header: &JpegHeader, out: &mut [u8]) -> Result<(), DecodeError> {
    let (width, height, subsamp) = (header.width as usize, header.height as usize, header.subsamp);
    let len = turbojpeg::yuv_pixels_len(width, PLANE_ALIGN, height, subsamp).map_err(jpeg_error)?;
    let decode = |pixels: &mut [u8]| {
        let image = turbojpeg::YuvImage { pixels, width, align: PLANE_ALIGN, height, subsamp };
        with_decompressor(|decompressor| decompressor.decompress_to_yuv(bytes, image).map_err(jpeg_error))
    };
    if subsamp == turbojpeg::Subsamp::Sub2x2 {
        // The JPEG's own planes are I420's: libjpeg-turbo writes them in place.
        let Some(planes) = out.get_mut(..len) else {
            return Err(DecodeError::Jpeg(format!("{} bytes for planes of {len}", out.len())));
        };
        return decode(planes);
    }
    let mut own = turbojpeg::YuvImage { pixels: vec![0; len], width, align: PLANE_ALIGN, height, subsamp };
    decode(&mut own.pixels)?;
    to_i420(&own, out)
}

/// Decodes a JPEG frame (LPProto) into I420 (see [`jpeg_header`] for the checks).
pub fn decode_jpeg(bytes: &[u8], max_pixels: u64) -> Result<DecodedFrame, DecodeError> {
    decode_checked_jpeg(bytes, &jpeg_header(bytes, max_pixels)?)
}

/// Decodes a JPEG frame whose header `jpeg_header` has checked into a frame of its own.
pub fn decode_checked_jpeg(bytes: &[u8], header: &JpegHeader) -> Result<DecodedFrame, DecodeError> {
    let planes = i420_planes(header.width as usize, header.height as usize);
    let mut data = vec![0; planes[2].0 + planes[2].1 * planes[2].2];
    decode_jpeg_into(bytes, header, &mut data)?;
    Ok(DecodedFrame { width: header.width, height: header.height, format: gst_video::VideoFormat::I420, data })
}

/// The caps of JPEG frames of `width` x `height` decoded to I420: full-range BT.601 (JFIF).
pub fn i420_info(width: u32, height: u32, fps: gst::Fraction) -> Result<gst_video::VideoInfo, gst::glib::BoolError> {
    gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width, height)
        .fps(fps)
        .colorimetry(&gst_video::VideoColorimetry::new(
            gst_video::VideoColorRange::Range0_255,
            gst_video::VideoColorMatrix::Bt601,
            gst_video::VideoTransferFunction::Unknown,
            gst_video::VideoColorPrimaries::Unknown,
        ))
        .build()
}

/// Whether `info`'s planes lie where [`decode_jpeg_into`] writes them (they do in every
/// GStreamer release: rows padded to 4 bytes, planes one after the other).
pub fn same_layout(info: &gst_video::VideoInfo) -> bool {
    let planes = i420_planes(info.width() as usize, info.height() as usize);
    let (last, stride, rows) = planes[2];
    info.format() == gst_video::VideoFormat::I420 && lies_as(info, &planes, last + stride * rows)
}

/// Whether `info` lays out `len` bytes of `planes` ((offset, stride, rows) each) as they are.
fn lies_as(info: &gst_video::VideoInfo, planes: &[(usize, usize, usize)], len: usize) -> bool {
    info.size() == len
        && planes.iter().enumerate().all(|(i, &(offset, stride, _))| {
            info.offset().get(i) == Some(&offset) && info.stride().get(i).map(|s| *s as usize) == Some(stride)
        })
}

fn dimension(side: usize) -> Result<u32, DecodeError> {
    u32::try_from(side).map_err(|_| DecodeError::Jpeg(format!("a side of {side} pixels")))
}

/// The layout of I420 planes of `width` x `height` as libjpeg-turbo writes them with
/// `PLANE_ALIGN`: (offset, stride, rows) of Y, U and V.
fn i420_planes(width: usize, height: usize) -> [(usize, usize, usize); 3] {
    let y_stride = width.next_multiple_of(2).next_multiple_of(PLANE_ALIGN);
    let y_rows = height.next_multiple_of(2);
    let uv_stride = width.div_ceil(2).next_multiple_of(PLANE_ALIGN);
    let uv_rows = height.div_ceil(2);
    let u = y_stride * y_rows;
    [(0, y_stride, y_rows), (u, uv_stride, uv_rows), (u + uv_stride * uv_rows, uv_stride, uv_rows)]
}

/// Planes of another chroma sampling (or greyscale) as I420 into `out`: each chroma sample
/// of the result is the mean of the source's chroma at the four luma pixels it covers.
fn to_i420(yuv: &turbojpeg::YuvImage<Vec<u8>>, out: &mut [u8]) -> Result<(), DecodeError> {
    let (width, height) = (yuv.width, yuv.height);
    let planes = i420_planes(width, height);
    let needed = planes[2].0 + planes[2].1 * planes[2].2;
    let Some(out) = out.get_mut(..needed) else {
        return Err(DecodeError::Jpeg(format!("{} bytes for planes of {needed}", out.len())));
    };
    let (y_stride, y_rows) = (yuv.y_width(), yuv.y_height());
    for row in 0..height {
        out[row * planes[0].1..][..width].copy_from_slice(&yuv.pixels[row * y_stride..][..width]);
    }
    if yuv.subsamp == turbojpeg::Subsamp::Gray {
        out[planes[1].0..].fill(128);
        return Ok(());
    }
    let (sx, sy) = (yuv.subsamp.width(), yuv.subsamp.height());
    let (uv_stride, uv_rows) = (yuv.uv_width(), yuv.uv_height());
    for (plane, &(offset, stride, rows)) in planes[1..].iter().enumerate() {
        let source = &yuv.pixels[y_stride * y_rows + plane * uv_stride * uv_rows..][..uv_stride * uv_rows];
        for cy in 0..rows {
            for cx in 0..width.div_ceil(2) {
                let mut sum = 0u32;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    // Luma pixel covered, clamped to the image, and the chroma sample it has.
                    let (x, y) = ((2 * cx + dx).min(width - 1), (2 * cy + dy).min(height - 1));
                    sum += source[(y / sy) * uv_stride + x / sx] as u32;
                }
                out[offset + cy * stride + cx] = ((sum + 2) / 4) as u8;
            }
        }
    }
    Ok(())
}

/// Checks a JPEG or PNG still (the REST API's images) without decoding it: its format, its
/// end, a size within `max_pixels` and `MAX_FRAME_SIDE`, enough bytes for that size and (JPEG)
/// at most `MAX_JPEG_SCANS` scans. Returns its size.
pub fn still_header(bytes: &[u8], max_pixels: u64) -> Result<(u32, u32), DecodeError> {
    let format = still_format(bytes)?;
    let whole = match format {
        image::ImageFormat::Png => png_is_whole(bytes),
        _ => jpeg_is_whole(bytes),
    };
    if !whole {
        let missing = if format == image::ImageFormat::Png { "no IEND chunk" } else { "no end-of-image marker" };
        return Err(DecodeError::Truncated { format, missing });
    }
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().map_err(|source| DecodeError::Image { format, source })?;
    check_size(width, height, max_pixels)?;
    check_density(format, bytes.len(), width, height)?;
    if format == image::ImageFormat::Jpeg {
        check_scans(bytes)?;
    }
    Ok((width, height))
}

/// JPEG or PNG, from the file's signature.
fn still_format(bytes: &[u8]) -> Result<image::ImageFormat, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        Ok(image::ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(image::ImageFormat::Png)
    } else {
        Err(DecodeError::UnknownFormat)
    }
}

/// Decodes a JPEG or PNG still to RGB, after the checks of [`still_header`].
pub fn decode_still(bytes: &[u8], max_pixels: u64) -> Result<DecodedFrame, DecodeError> {
    still_header(bytes, max_pixels)?;
    let format = still_format(bytes)?;
    let reader = || image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    // The header was checked: what is decoded is within the bounds.
    // `into_rgb8` keeps an RGB decode's own buffer, which then becomes the GStreamer buffer.
    let rgb = reader().decode().map_err(|source| DecodeError::Image { format, source })?.into_rgb8();
    Ok(DecodedFrame::rgb(rgb.width(), rgb.height(), rgb.into_raw()))
}

impl DecodedFrame {
    /// An RGB image, rows of `width * 3` bytes.
    pub fn rgb(width: u32, height: u32, data: Vec<u8>) -> DecodedFrame {
        DecodedFrame { width, height, format: gst_video::VideoFormat::Rgb, data }
    }

    /// The caps of frames of this size and format (I420: [`i420_info`]).
    pub fn video_info(&self, fps: gst::Fraction) -> Result<gst_video::VideoInfo, gst::glib::BoolError> {
        match self.format {
            gst_video::VideoFormat::I420 => i420_info(self.width, self.height, fps),
            _ => gst_video::VideoInfo::builder(self.format, self.width, self.height).fps(fps).build(),
        }
    }

    /// The (offset, stride, rows) of each plane as `data` holds them.
    fn planes(&self) -> Vec<(usize, usize, usize)> {
        let (width, height) = (self.width as usize, self.height as usize);
        match self.format {
            gst_video::VideoFormat::I420 => i420_planes(width, height).to_vec(),
            _ => vec![(0, width * 3, height)],
        }
    }

    /// The frame as a buffer laid out as `info` says; where GStreamer pads rows otherwise
    /// (RGB rows of odd widths), the rows are copied apart.
    pub fn into_buffer(self, info: &gst_video::VideoInfo) -> gst::Buffer {
        let planes = self.planes();
        if lies_as(info, &planes, self.data.len()) {
            return gst::Buffer::from_mut_slice(self.data);
        }
        let mut data = vec![0u8; info.size()];
        for (i, &(offset, stride, rows)) in planes.iter().enumerate() {
            let (Some(&out_offset), Some(&out_stride)) = (info.offset().get(i), info.stride().get(i)) else { continue };
            let row = stride.min(out_stride as usize);
            for r in 0..rows {
                let (from, to) = (offset + r * stride, out_offset + r * out_stride as usize);
                if let (Some(src), Some(dst)) = (self.data.get(from..from + row), data.get_mut(to..to + row)) {
                    dst.copy_from_slice(src);
                }
            }
        }
        gst::Buffer::from_mut_slice(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG of `width` x `height` with the given chroma sampling: a horizontal red-to-blue
    /// ramp over a vertical luma ramp.
    fn jpeg(width: usize, height: usize, subsamp: turbojpeg::Subsamp) -> Vec<u8> {
        let mut pixels = vec![0u8; width * height * 3];
        for y in 0..height {
            for x in 0..width {
                let r = (255 * x / width.max(2).saturating_sub(1).max(1)) as u8;
                let g = (255 * y / height.max(2).saturating_sub(1).max(1)) as u8;
                pixels[(y * width + x) * 3..][..3].copy_from_slice(&[r, g, 255 - r]);
            }
        }
        let image = turbojpeg::Image { pixels, width, pitch: width * 3, height, format: turbojpeg::PixelFormat::RGB };
        turbojpeg::compress(image.as_deref(), 95, subsamp).expect("encodes").to_vec()
    }

    fn rgb_at(frame: &DecodedFrame, x: usize, y: usize) -> [f32; 3] {
        let planes = frame.planes();
        let luma = frame.data[y * planes[0].1 + x] as f32;
        let u = frame.data[planes[1].0 + (y / 2) * planes[1].1 + x / 2] as f32 - 128.0;
        let v = frame.data[planes[2].0 + (y / 2) * planes[2].1 + x / 2] as f32 - 128.0;
        [luma + 1.402 * v, luma - 0.344_136 * u - 0.714_136 * v, luma + 1.772 * u]
    }

    #[test]
    fn every_chroma_sampling_becomes_i420_of_the_same_picture() {
        use turbojpeg::Subsamp::*;
        gst::init().expect("gstreamer");
        for subsamp in [Sub2x2, None, Sub2x1, Sub1x2, Gray] {
            for (width, height) in [(64, 48), (37, 23), (1, 1)] {
                let bytes = jpeg(width, height, subsamp);
                let frame = decode_jpeg(&bytes, 1 << 20).expect("decodes");
                assert_eq!(
                    (frame.width, frame.height, frame.format),
                    (width as u32, height as u32, gst_video::VideoFormat::I420)
                );
                let info = frame.video_info(gst::Fraction::new(10, 1)).expect("caps");
                assert_eq!(frame.data.len(), info.size(), "{subsamp:?} {width}x{height}");
                // The picture survives: a pixel's colour is the ramp's, within JPEG's error.
                let reference = image::load_from_memory(&bytes).expect("image decodes").into_rgb8();
                let (x, y) = (width * 3 / 4, height / 2);
                let expected = reference.get_pixel(x as u32, y as u32).0.map(f32::from);
                let got = rgb_at(&frame, x, y);
                for c in 0..3 {
                    assert!(
                        (got[c] - expected[c]).abs() < 24.0,
                        "{subsamp:?} {width}x{height}: {got:?} vs {expected:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn i420_frames_become_buffers_as_gstreamer_lays_them_out() {
        gst::init().expect("gstreamer");
        for (width, height) in [(640, 480), (37, 23), (642, 11)] {
            let frame = decode_jpeg(&jpeg(width, height, turbojpeg::Subsamp::Sub2x2), 1 << 22).expect("decodes");
            let info = frame.video_info(gst::Fraction::new(10, 1)).expect("caps");
            let planes = frame.planes();
            for (i, (offset, stride, _)) in planes.iter().enumerate() {
                assert_eq!(
                    (info.offset()[i], info.stride()[i] as usize),
                    (*offset, *stride),
                    "{width}x{height} plane {i}"
                );
            }
            let data = frame.data.clone();
            let buffer = frame.into_buffer(&info);
            assert_eq!(buffer.map_readable().expect("readable").as_slice(), &data[..]);
        }
    }

    #[test]
    fn odd_rgb_rows_are_padded_as_gstreamer_expects() {
        gst::init().expect("gstreamer");
        let frame = DecodedFrame::rgb(3, 2, (0..18).collect());
        let info = frame.video_info(gst::Fraction::new(10, 1)).expect("caps");
        let buffer = frame.into_buffer(&info);
        let map = buffer.map_readable().expect("readable");
        assert_eq!(&map[..9], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&map[12..21], &[9, 10, 11, 12, 13, 14, 15, 16, 17]);
    }

    #[test]
    fn bad_jpegs_are_refused_before_or_while_decoding() {
        let good = jpeg(64, 48, turbojpeg::Subsamp::Sub2x2);
        assert!(matches!(decode_jpeg(b"GIF89a", 1 << 20), Err(DecodeError::NotJpeg)));
        assert!(matches!(decode_jpeg(&good[..good.len() / 2], 1 << 20), Err(DecodeError::Truncated { .. })));
        assert!(matches!(decode_jpeg(&good, 100), Err(DecodeError::TooManyPixels { width: 64, height: 48, .. })));
        // Entropy-coded data cut short, with the end marker put back: libjpeg-turbo's warning
        // refuses the frame.
        let mut cut = good[..good.len() * 2 / 3].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        assert!(matches!(decode_jpeg(&cut, 1 << 20), Err(DecodeError::Jpeg(_))), "{:?}", decode_jpeg(&cut, 1 << 20));
        // A progressive JPEG of too many scans (each a pass over the image) is refused
        // before it is decoded: the good frame's scan repeated.
        let sos = good.windows(2).position(|pair| pair == [0xFF, 0xDA]).expect("a scan");
        let eoi = good.len() - 2;
        let mut bomb = good[..eoi].to_vec();
        for _ in 0..MAX_JPEG_SCANS {
            bomb.extend_from_slice(&good[sos..eoi]);
        }
        bomb.extend_from_slice(&[0xFF, 0xD9]);
        let scans = MAX_JPEG_SCANS + 1;
        assert!(matches!(decode_jpeg(&bomb, 1 << 20), Err(DecodeError::TooManyScans { scans: n }) if n == scans));
        assert!(matches!(decode_still(&bomb, 1 << 20), Err(DecodeError::TooManyScans { .. })));
        // CMYK has no YCbCr planes to give.
        let cmyk = turbojpeg::Image {
            pixels: vec![40u8; 16 * 16 * 4],
            width: 16,
            pitch: 64,
            height: 16,
            format: turbojpeg::PixelFormat::CMYK,
        };
        let cmyk = turbojpeg::compress(cmyk.as_deref(), 90, turbojpeg::Subsamp::None).expect("encodes").to_vec();
        assert!(matches!(decode_jpeg(&cmyk, 1 << 20), Err(DecodeError::Jpeg(_))), "{:?}", decode_jpeg(&cmyk, 1 << 20));
        // A header that is not one.
        let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02];
        garbage.extend_from_slice(&[0xFF, 0xD9]);
        assert!(matches!(decode_jpeg(&garbage, 1 << 20), Err(DecodeError::Jpeg(_))));
    }
}
