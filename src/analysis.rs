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
use gstliveness::meta::FaceMeta;
use liveness_core::checks::{FrameCheck, FrameCheckSettings, check_frame};
use liveness_core::face::Face;

use crate::decode::DecodedFrame;

/// An element the plugin set should provide is not registered.
#[derive(Debug, Clone, thiserror::Error)]
#[error("element {0} is not available: is its plugin installed and registered?")]
pub struct MissingElement(pub &'static str);

/// Why a request's frames could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("frames of one request must have the same size")]
    SizeMismatch,
    #[error(transparent)]
    MissingElement(#[from] MissingElement),
    #[error("the pipeline cannot be built: {0}")]
    Build(#[from] gst::glib::BoolError),
    #[error("the pipeline failed: {0}")]
    Pipeline(String),
    #[error("{out} of {count} frames came out of the pipeline")]
    LostFrames { out: usize, count: usize },
}

/// A pipeline's error as a client may read it: the message and the element's explanation. The
/// debug part's first line (the source file, line and function that raised it, the element's
/// path) goes to the server's log only.
pub fn client_error(err: &gst::message::Error) -> String {
    let details = err.debug().map(|d| d.to_string()).unwrap_or_default();
    tracing::error!(
        element = %err.src().map(|s| s.path_string().to_string()).unwrap_or_default(),
        %details,
        "pipeline error: {}",
        err.error()
    );
    match details.split_once('\n') {
        Some((_location, explanation)) if !explanation.trim().is_empty() => {
            format!("{} ({})", err.error(), explanation.trim())
        }
        _ => err.error().to_string(),
    }
}

/// One element of a chain: its factory and the properties it is built with.
#[derive(Debug, Clone)]
pub struct Stage {
    pub factory: &'static str,
    pub properties: Vec<(&'static str, gst::glib::Value)>,
}

impl Stage {
    pub fn new(factory: &'static str) -> Self {
        Stage { factory, properties: Vec::new() }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<gst::glib::Value>) -> Self {
        self.properties.push((name, value.into()));
        self
    }

    /// The element, built from its factory.
    pub fn build(&self) -> Result<gst::Element, MissingElement> {
        let mut builder = gst::ElementFactory::make(self.factory);
        for (name, value) in &self.properties {
            builder = builder.property(name, value.clone());
        }
        builder.build().map_err(|_| MissingElement(self.factory))
    }
}

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
    /// lvjwtsink's per-frame checks of the faces, and the main face (none when the frame has
    /// none, or several main faces).
    pub fn checked(&self) -> (FrameCheck, Option<&Face>) {
        let check = check_frame(&self.faces, self.width, self.height, &FrameCheckSettings::default());
        let face = check.main_face.and_then(|i| self.faces.get(i));
        (check, face)
    }

    /// A read-only view of the pixels for the model code of the plugin.
    pub fn view(&self) -> Result<liveness_core::frame::FrameView<'_>, liveness_core::frame::FrameError> {
        use liveness_core::frame::{FrameView, PixelLayout, YuvMatrix};
        let (w, h) = (self.width as usize, self.height as usize);
        FrameView::new(
            w,
            h,
            PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 },
            [&self.rgb, &[], &[]],
            [self.stride, 0, 0],
            YuvMatrix::BT601_LIMITED,
        )
    }
}

/// Frame interval of the stream the frames make (10 frames a second).
pub const FRAME_INTERVAL_NS: u64 = 100_000_000;

/// Pushes `frames` (all the same size) through `appsrc ! {chain} ! appsink` and returns
/// every frame's faces and the element messages. Blocking: call it off the async runtime.
pub fn run(frames: Vec<DecodedFrame>, chain: &[Stage]) -> Result<Analysis, AnalysisError> {
    let Some(first) = frames.first() else { return Ok(Analysis { frames: Vec::new(), messages: Vec::new() }) };
    let (width, height) = (first.width, first.height);
    if frames.iter().any(|f| (f.width, f.height) != (width, height)) {
        return Err(AnalysisError::SizeMismatch);
    }
    let info = first.video_info(gst::Fraction::new(1_000_000_000, FRAME_INTERVAL_NS as i32))?;
    let appsrc =
        gst_app::AppSrc::builder().format(gst::Format::Time).max_bytes(0).block(false).caps(&info.to_caps()?).build();
    let appsink = gst_app::AppSink::builder().sync(false).max_buffers(0).build();
    let pipeline = gst::Pipeline::new();
    let mut elements: Vec<gst::Element> = vec![appsrc.clone().upcast()];
    for stage in chain {
        elements.push(stage.build()?);
    }
    elements.push(appsink.clone().upcast());
    pipeline.add_many(&elements)?;
    gst::Element::link_many(&elements)?;
    let guard = StopOnDrop(pipeline.clone());
    let stride = info.stride()[0] as usize;
    let bus = pipeline.bus().ok_or_else(|| AnalysisError::Pipeline("no bus".into()))?;
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(AnalysisError::Pipeline(first_error(&bus).unwrap_or_else(|| "it did not start".into())));
    }
    let count = frames.len();
    for (index, frame) in frames.into_iter().enumerate() {
        let mut buffer = frame.into_buffer(&info);
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_nseconds(index as u64 * FRAME_INTERVAL_NS));
            buffer.set_duration(gst::ClockTime::from_nseconds(FRAME_INTERVAL_NS));
        }
        appsrc.push_buffer(buffer).map_err(|err| AnalysisError::Pipeline(format!("it refused a frame: {err:?}")))?;
    }
    appsrc.end_of_stream().map_err(|err| AnalysisError::Pipeline(format!("end of stream: {err:?}")))?;
    let mut analyzed = Vec::with_capacity(count);
    while let Some(sample) = appsink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let Some(buffer) = sample.buffer() else { continue };
        let faces = buffer.meta::<FaceMeta>().map(|m| m.faces().to_vec()).unwrap_or_default();
        let rgb = buffer.map_readable().map_err(|_| AnalysisError::Pipeline("unreadable buffer".into()))?.to_vec();
        analyzed.push(AnalyzedFrame { width, height, faces, rgb, stride });
    }
    let mut messages = Vec::new();
    for msg in bus.iter() {
        match msg.view() {
            gst::MessageView::Error(err) => {
                return Err(AnalysisError::Pipeline(client_error(err)));
            }
            gst::MessageView::Element(element) => messages.extend(element.structure().map(|s| s.to_owned())),
            _ => {}
        }
    }
    if analyzed.len() != count {
        return Err(AnalysisError::LostFrames { out: analyzed.len(), count });
    }
    drop(guard);
    Ok(Analysis { frames: analyzed, messages })
}

/// The first error message on `bus`, if any (other messages are dropped).
fn first_error(bus: &gst::Bus) -> Option<String> {
    bus.iter_filtered(&[gst::MessageType::Error]).find_map(|msg| match msg.view() {
        gst::MessageView::Error(err) => Some(client_error(err)),
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
