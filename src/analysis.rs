//! Runs posted images through a short pipeline of the plugin's elements and reads back what
//! they found: `appsrc ! <elements> ! appsink`, one pipeline per request.
//!
//! A pipeline is built for each request rather than taken from a pool: the elements keep
//! state per stream (face tracks, the anti-spoofing score aggregated over a track's frames,
//! the surface score of a track, lvchallenge's baseline), and a pooled pipeline would carry
//! one request's faces into the next. The models are shared by the whole process
//! ([`gstliveness::model`]), so a new pipeline loads nothing; building and starting one costs
//! about a millisecond (measured by the `rest` benchmark of the load tool, see the README).

use gst::prelude::*;
use gstliveness::meta::{Face, FaceMeta};

use crate::session::DecodedFrame;

/// One frame as it came out of the pipeline.
pub struct AnalyzedFrame {
    pub width: u32,
    pub height: u32,
    /// The FaceMeta faces, in the detector's order.
    pub faces: Vec<Face>,
    /// The frame's RGB pixels (what the pipeline saw), rows `stride` bytes apart, for models
    /// run after it.
    pub rgb: Vec<u8>,
    pub stride: usize,
}

/// What a pipeline run gives: the frames, and the element messages of the bus (for
/// example lvchallenge's `liveness-verdict`).
pub struct Analysis {
    pub frames: Vec<AnalyzedFrame>,
    pub messages: Vec<gst::Structure>,
}

impl AnalyzedFrame {
    /// A read-only view of the pixels for the model code of the plugin.
    pub fn view(&self) -> Result<gstliveness::frame::FrameView<'_>, String> {
        use gstliveness::frame::{FrameView, PixelLayout, YuvMatrix};
        let (w, h) = (self.width as usize, self.height as usize);
        FrameView::new(
            w,
            h,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            [&self.rgb, &[], &[]],
            [self.stride, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
        .map_err(|err| err.to_string())
    }
}

/// Frame interval of the stream the frames make (10 frames a second).
pub const FRAME_INTERVAL_NS: u64 = 100_000_000;

/// Pushes `frames` (all the same size) through `appsrc ! {elements} ! appsink` and returns
/// every frame's faces. Blocking: call it off the async runtime.
pub fn run(frames: Vec<DecodedFrame>, elements: &str) -> Result<Analysis, String> {
    let Some(first) = frames.first() else { return Ok(Analysis { frames: Vec::new(), messages: Vec::new() }) };
    let (width, height) = (first.width, first.height);
    if frames.iter().any(|f| (f.width, f.height) != (width, height)) {
        return Err("frames of one request must have the same size".into());
    }
    let launch = format!(
        "appsrc name=src format=time max-bytes=0 block=false ! {elements} ! appsink name=sink sync=false \
         max-buffers=0 emit-signals=false"
    );
    let pipeline = gst::parse::launch(&launch)
        .map_err(|err| format!("pipeline: {err}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let guard = StopOnDrop(pipeline.clone());
    let appsrc = pipeline.by_name("src").and_then(|e| e.downcast::<gst_app::AppSrc>().ok()).ok_or("no appsrc")?;
    let appsink = pipeline.by_name("sink").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).ok_or("no appsink")?;
    let info = first
        .video_info(gst::Fraction::new(1_000_000_000, FRAME_INTERVAL_NS as i32))
        .map_err(|err| format!("caps: {err}"))?;
    appsrc.set_caps(Some(&info.to_caps().map_err(|err| format!("caps: {err}"))?));
    let stride = info.stride()[0] as usize;
    let bus = pipeline.bus().ok_or("no bus")?;
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(first_error(&bus).unwrap_or_else(|| "the pipeline did not start".into()));
    }
    let count = frames.len();
    for (index, frame) in frames.into_iter().enumerate() {
        let mut buffer = frame.into_buffer(&info);
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_nseconds(index as u64 * FRAME_INTERVAL_NS));
            buffer.set_duration(gst::ClockTime::from_nseconds(FRAME_INTERVAL_NS));
        }
        appsrc.push_buffer(buffer).map_err(|err| format!("the pipeline refused a frame: {err:?}"))?;
    }
    appsrc.end_of_stream().map_err(|err| format!("end of stream: {err:?}"))?;
    let mut analyzed = Vec::with_capacity(count);
    while let Some(sample) = appsink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let Some(buffer) = sample.buffer() else { continue };
        let faces = buffer.meta::<FaceMeta>().map(|m| m.faces().to_vec()).unwrap_or_default();
        let rgb = buffer.map_readable().map_err(|_| "unreadable buffer".to_string())?.to_vec();
        analyzed.push(AnalyzedFrame { width, height, faces, rgb, stride });
    }
    let mut messages = Vec::new();
    for msg in bus.iter() {
        match msg.view() {
            gst::MessageView::Error(err) => return Err(format!("{} ({:?})", err.error(), err.debug())),
            gst::MessageView::Element(element) => messages.extend(element.structure().map(|s| s.to_owned())),
            _ => {}
        }
    }
    if analyzed.len() != count {
        return Err(format!("{} of {count} frames came out of the pipeline", analyzed.len()));
    }
    drop(guard);
    Ok(Analysis { frames: analyzed, messages })
}

/// The first error message on `bus`, if any (other messages are dropped).
fn first_error(bus: &gst::Bus) -> Option<String> {
    bus.iter_filtered(&[gst::MessageType::Error]).find_map(|msg| match msg.view() {
        gst::MessageView::Error(err) => Some(format!("{} ({:?})", err.error(), err.debug())),
        _ => None,
    })
}

/// Sets the pipeline to Null however `run` returns.
struct StopOnDrop(gst::Pipeline);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}
