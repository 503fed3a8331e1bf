//! Frames of GStreamer buffers as [`liveness_core::frame::FrameView`]s: the formats the
//! elements accept, and the colour matrix and range their caps give.

use gst_video::prelude::*;
use liveness_core::frame::{FrameError, FrameView, PixelLayout, YuvMatrix};

/// A read-only view of a readable GStreamer video frame.
pub fn frame_view<T>(frame: &gst_video::VideoFrameRef<T>) -> Result<FrameView<'_>, FrameError> {
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
