//! GStreamer glue shared by the in-place video analysis elements: caps, frame mapping and
//! the common fields of their bus messages.

use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;

use crate::meta::FaceMeta;
use crate::model;
use liveness_core::face::Face;
use liveness_core::frame::FrameView;

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

/// Why a buffer cannot be read as a frame of the negotiated caps.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("buffer of {size} bytes does not hold a {width}x{height} {format} frame")]
    Unmappable { size: usize, width: u32, height: u32, format: gst_video::VideoFormat },
    #[error(transparent)]
    View(#[from] liveness_core::frame::FrameError),
}

/// Maps `buffer` readable as a frame of `info`, or says why it cannot be.
pub fn map_frame<'a>(
    buffer: &'a gst::BufferRef,
    info: &gst_video::VideoInfo,
) -> Result<gst_video::VideoFrameRef<&'a gst::BufferRef>, MapError> {
    gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).map_err(|_| MapError::Unmappable {
        size: buffer.size(),
        width: info.width(),
        height: info.height(),
        format: info.format(),
    })
}

/// Maps `buffer` readable as a frame of `info` and runs `f` on its pixels.
pub fn with_frame<R>(
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    f: impl FnOnce(&FrameView) -> R,
) -> Result<R, MapError> {
    let frame = map_frame(buffer, info)?;
    let view = crate::video::frame_view(&frame)?;
    Ok(f(&view))
}

/// Runs `f` on the pixels of `buffer` and turns both a frame that cannot be read and an
/// error of `f` (a model failure) into an element error and a flow error.
pub fn analyse_frame<T, R, E>(
    imp: &T,
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    f: impl FnOnce(&FrameView) -> Result<R, E>,
) -> Result<R, gst::FlowError>
where
    T: ElementImpl,
    E: std::fmt::Display,
{
    match with_frame(buffer, info, f) {
        Err(frame_error) => {
            gst::element_imp_error!(imp, gst::StreamError::Format, ["{}", frame_error]);
            Err(gst::FlowError::Error)
        }
        Ok(Err(model_error)) => {
            gst::element_imp_error!(imp, gst::LibraryError::Failed, ["{}", model_error]);
            Err(gst::FlowError::Error)
        }
        Ok(Ok(result)) => Ok(result),
    }
}

/// A copy of the faces of the buffer's FaceMeta, or None when no lvfacedetect ran upstream.
pub fn faces(buffer: &gst::BufferRef) -> Option<Vec<Face>> {
    buffer.meta::<FaceMeta>().map(|meta| meta.faces().to_vec())
}

/// The faces of the buffer's FaceMeta, for an element that needs lvfacedetect upstream: without
/// a FaceMeta, an element error naming what to put before `element` (`upstream`), and
/// `FlowError::Error`. Every lv element after lvfacedetect follows this one rule.
pub fn required_faces<T: ElementImpl>(
    imp: &T,
    buffer: &gst::BufferRef,
    element: &str,
    upstream: &str,
) -> Result<Vec<Face>, gst::FlowError> {
    faces(buffer).ok_or_else(|| {
        gst::element_imp_error!(
            imp,
            gst::CoreError::Negotiation,
            ["no FaceMeta on the buffer: put {} before {}", upstream, element]
        );
        gst::FlowError::Error
    })
}

/// Puts `faces` back into the buffer's FaceMeta.
pub fn store_faces(buffer: &mut gst::BufferRef, faces: Vec<Face>) {
    if let Some(mut meta) = buffer.meta_mut::<FaceMeta>() {
        *meta.faces_mut() = faces;
    }
}

/// The negotiated video info, or the element error for a buffer that came before caps.
pub fn negotiated<T: ElementImpl>(
    imp: &T,
    info: Option<&gst_video::VideoInfo>,
) -> Result<gst_video::VideoInfo, gst::FlowError> {
    info.cloned().ok_or_else(|| {
        gst::element_imp_error!(imp, gst::CoreError::Negotiation, ["buffer before caps"]);
        gst::FlowError::NotNegotiated
    })
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

/// The new value of a path property (a string): None when unset or empty.
pub fn path_from_value(value: &gst::glib::Value) -> Option<std::path::PathBuf> {
    value.get::<Option<String>>().ok().flatten().filter(|s| !s.is_empty()).map(std::path::PathBuf::from)
}

/// A path property's value as `property()` returns it.
pub fn path_to_value(path: &Option<std::path::PathBuf>) -> gst::glib::Value {
    path.as_ref().map(|p| p.display().to_string()).to_value()
}

/// A property giving the path of a model file, changeable until the element starts.
pub fn model_location_spec(name: &str, blurb: &'static str) -> gst::glib::ParamSpec {
    gst::glib::ParamSpecString::builder(name).nick("Model location").blurb(blurb).mutable_ready().build()
}

/// The shared session of model `file` (looked up as `model::locate` does, or at `location`),
/// or the element error to fail `start` with.
pub fn load_model(
    file: &str,
    location: Option<&std::path::Path>,
    threads: usize,
) -> Result<std::sync::Arc<model::SharedModel>, gst::ErrorMessage> {
    let path =
        model::locate(file, location).map_err(|err| gst::error_msg!(gst::ResourceError::NotFound, ["{}", err]))?;
    model::shared_session(&path, threads).map_err(|err| match err {
        model::ModelError::Runtime(_) => gst::error_msg!(gst::LibraryError::Init, ["{}", err]),
        _ => gst::error_msg!(gst::ResourceError::OpenRead, ["{}", err]),
    })
}

/// Indices of the faces to analyse: box at least `min_size` px on its shorter side, the
/// `max_faces` largest.
pub fn select_faces(faces: &[Face], min_size: u32, max_faces: u32) -> Vec<usize> {
    let mut chosen: Vec<usize> =
        (0..faces.len()).filter(|&i| faces[i].bbox.width.min(faces[i].bbox.height) >= min_size as f32).collect();
    chosen.sort_by(|&a, &b| faces[b].bbox.area().total_cmp(&faces[a].bbox.area()));
    chosen.truncate(max_faces as usize);
    chosen
}

/// The results of an analysis that runs on every n-th frame of each face track only: what it
/// found on the last frame it ran is carried over the frames between (by track id). A new
/// track is analysed on its first frame.
#[derive(Debug)]
pub struct Sampled<T> {
    tracks: std::collections::HashMap<u64, (u32, T)>,
}

impl<T> Default for Sampled<T> {
    fn default() -> Self {
        Sampled { tracks: std::collections::HashMap::new() }
    }
}

impl<T: Clone> Sampled<T> {
    /// Whether the analysis runs on this frame of `track`, sampling every `every_nth` frames;
    /// counts the frame.
    pub fn due(&mut self, track: u64, every_nth: u32) -> bool {
        match self.tracks.get_mut(&track) {
            Some((since, _)) if *since + 1 < every_nth.max(1) => {
                *since += 1;
                false
            }
            _ => true,
        }
    }

    /// What the analysis found on this frame of `track`.
    pub fn store(&mut self, track: u64, result: T) {
        self.tracks.insert(track, (0, result));
    }

    /// The last result of `track`, for a frame the analysis did not run on.
    pub fn carried(&self, track: u64) -> Option<T> {
        self.last(track).cloned()
    }

    /// The last result of `track`, borrowed.
    pub fn last(&self, track: u64) -> Option<&T> {
        self.tracks.get(&track).map(|(_, result)| result)
    }

    /// Forgets the tracks that are gone from the frame.
    pub fn retain(&mut self, present: &[u64]) {
        self.tracks.retain(|track, _| present.contains(track));
    }
}

/// ONNX Runtime intra-op threads of an element's model sessions unless set.
pub const DEFAULT_THREADS: u32 = 1;

/// The `threads` property of an element that runs ONNX Runtime models: intra-op threads of its
/// model sessions, 1-64, default 1, settable up to READY (the sessions are made at start).
/// `models` names the element's models; elements with the same model and threads share one
/// session.
pub fn threads_spec(models: &str) -> gst::glib::ParamSpec {
    let blurb = format!(
        "ONNX Runtime intra-op threads of the {models}; elements with the same model and threads share one session"
    );
    gst::glib::ParamSpecUInt::builder("threads")
        .nick("Threads")
        .blurb(&blurb)
        .minimum(1)
        .maximum(64)
        .default_value(DEFAULT_THREADS)
        .mutable_ready()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use liveness_core::face::{Keypoints, Rect};

    #[test]
    fn selection_keeps_the_largest_faces_above_the_minimum() {
        let face =
            |side: f32| Face::new(1, Rect { x: 0.0, y: 0.0, width: side, height: side }, 0.9, Keypoints::default());
        let faces = [face(30.0), face(120.0), face(60.0), face(10.0)];
        assert_eq!(select_faces(&faces, 20, 2), vec![1, 2]);
        assert_eq!(select_faces(&faces, 0, 10), vec![1, 2, 0, 3]);
        assert!(select_faces(&faces, 200, 10).is_empty());
    }

    #[test]
    fn sampling_runs_on_the_first_and_every_nth_frame_of_each_track() {
        let mut sampled = Sampled::default();
        let mut runs = Vec::new();
        for frame in 0..7u32 {
            // Track 2 appears on frame 2.
            for track in [1u64, 2].into_iter().filter(|&t| t == 1 || frame >= 2) {
                if sampled.due(track, 3) {
                    sampled.store(track, frame);
                    runs.push((track, frame));
                }
            }
        }
        assert_eq!(runs, [(1, 0), (2, 2), (1, 3), (2, 5), (1, 6)]);
        assert_eq!(sampled.carried(1), Some(6));
        sampled.retain(&[2]);
        assert_eq!(sampled.carried(1), None);
        assert!(sampled.due(1, 3), "a track seen again starts over");
        assert!((0..5).all(|_| sampled.due(2, 1)), "every-nth=1 runs on every frame");
    }
}
