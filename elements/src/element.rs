//! GStreamer glue shared by the in-place video analysis elements: caps, frame mapping and
//! the common fields of their bus messages.

use gst::prelude::*;
use gst_base::prelude::*;

use crate::frame::FrameView;

/// The raw formats the elements read in place.
pub const FORMATS: &[gst_video::VideoFormat] = &[
    gst_video::VideoFormat::I420,
    gst_video::VideoFormat::Yv12,
    gst_video::VideoFormat::Nv12,
    gst_video::VideoFormat::Nv21,
    gst_video::VideoFormat::Yuy2,
    gst_video::VideoFormat::Uyvy,
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Bgr,
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Argb,
    gst_video::VideoFormat::Abgr,
    gst_video::VideoFormat::Xrgb,
    gst_video::VideoFormat::Xbgr,
    gst_video::VideoFormat::Gray8,
];

/// Always sink and src pads with the same raw caps.
pub fn pad_templates() -> Vec<gst::PadTemplate> {
    let caps = gst_video::VideoCapsBuilder::new().format_list(FORMATS.iter().copied()).build();
    vec![
        gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps)
            .expect("valid src pad template"),
        gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps)
            .expect("valid sink pad template"),
    ]
}

/// Maps `buffer` readable as a frame of `info` and runs `f` on its pixels.
pub fn with_frame<R>(
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    f: impl FnOnce(&FrameView) -> R,
) -> Result<R, String> {
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).map_err(|_| {
        format!(
            "buffer of {} bytes does not hold a {}x{} {} frame",
            buffer.size(),
            info.width(),
            info.height(),
            info.format()
        )
    })?;
    let view = FrameView::from_video_frame(&frame).map_err(|err| err.to_string())?;
    Ok(f(&view))
}

/// An element message `name` with the buffer's timestamp, stream time, running time and
/// duration, as the opencv facedetect element posts them.
pub fn message_builder(
    element: &impl IsA<gst_base::BaseTransform>,
    name: &str,
    buffer: &gst::BufferRef,
) -> gst::structure::Builder {
    let segment = element.as_ref().segment();
    let segment = segment.downcast_ref::<gst::ClockTime>();
    gst::Structure::builder(name)
        .field("timestamp", buffer.pts())
        .field("stream-time", segment.and_then(|s| s.to_stream_time(buffer.pts())))
        .field("running-time", segment.and_then(|s| s.to_running_time(buffer.pts())))
        .field("duration", buffer.duration())
}

/// Posts `structure` as an element message from `element`.
pub fn post(element: &impl IsA<gst::Element>, structure: gst::Structure) {
    let element = element.as_ref();
    let _ = element.post_message(gst::message::Element::builder(structure).src(element).build());
}
