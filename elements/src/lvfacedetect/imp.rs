//! GStreamer glue of `lvfacedetect`: properties, caps, and per-buffer detection.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use super::FaceDetectModel;
use super::blazeface::{Detection, Detector, DetectorSettings, ModelKind};
use super::tracker::{Follower, Tracker};
use crate::element;
use crate::events::parse_mesh_event;
use crate::facefilter::FaceSelection;
use crate::meta::FaceMeta;
use liveness_core::face::{Face, FaceFrame, Keypoints};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("lvfacedetect", gst::DebugColorFlags::empty(), Some("Liveness BlazeFace face detector"))
});

const DEFAULT_MODEL: FaceDetectModel = FaceDetectModel::Short;
/// MediaPipe's face detection default.
const DEFAULT_MIN_SCORE: f64 = 0.5;
/// MediaPipe's `min_suppression_threshold`.
const DEFAULT_IOU: f64 = 0.3;

#[derive(Debug, Clone)]
struct Settings {
    model: FaceDetectModel,
    model_location: Option<PathBuf>,
    min_score: f64,
    iou: f64,
    threads: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: DEFAULT_MODEL,
            model_location: None,
            min_score: DEFAULT_MIN_SCORE,
            iou: DEFAULT_IOU,
            threads: element::DEFAULT_THREADS,
        }
    }
}

impl Settings {
    fn detector_settings(&self, selection: FaceSelection) -> DetectorSettings {
        DetectorSettings {
            min_score: self.min_score as f32,
            iou_threshold: self.iou as f32,
            max_faces: selection.max_faces as usize,
            min_face_size_px: selection.min_face_size as f32,
        }
    }
}

struct State {
    detector: Detector,
    tracker: Tracker,
    /// The faces between detections (`every-nth`).
    follower: Follower,
}

#[derive(Default)]
pub struct LvFaceDetect {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl LvFaceDetect {
    fn post_faces(&self, buffer: &gst::BufferRef, frame: &FaceFrame) {
        let faces = gst::List::new(frame.faces.iter().map(|face| {
            let mut s = gst::Structure::builder("face")
                .field("track-id", face.track_id)
                .field("x", face.bbox.x.round() as i32)
                .field("y", face.bbox.y.round() as i32)
                .field("width", face.bbox.width.round() as i32)
                .field("height", face.bbox.height.round() as i32)
                .field("score", face.score as f64)
                .field("tracked", face.tracked)
                .build();
            for (name, point) in Keypoints::NAMES.iter().zip(face.keypoints.as_array()) {
                s.set(*name, gst::Array::new([point.x as f64, point.y as f64]));
            }
            s.to_send_value()
        }));
        let structure = element::message_builder(&*self.obj(), "lvfacedetect", buffer)
            .field("width", frame.width)
            .field("height", frame.height)
            .field("faces", faces)
            .build();
        element::post(&*self.obj(), structure);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LvFaceDetect {
    const NAME: &'static str = "GstLvFaceDetect";
    type Type = super::LvFaceDetect;
    type ParentType = crate::facefilter::LvFaceFilter;
}

impl ObjectImpl for LvFaceDetect {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("model", DEFAULT_MODEL)
                    .nick("Model")
                    .blurb("BlazeFace model: short range for faces at selfie distance (about a fifth of the frame or larger), full range also for small, distant faces at about 4x the cost")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model-location")
                    .nick("Model location")
                    .blurb("Path to the BlazeFace .onnx file; unset looks up the file of `model` in LIVENESS_MODEL_DIR, then the models/ folder")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("min-score")
                    .nick("Minimum score")
                    .blurb("Detections scoring below this (0..1) are dropped; lower finds more faces and more false ones")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MIN_SCORE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("iou")
                    .nick("Suppression overlap")
                    .blurb("Detections overlapping a better one by more than this intersection-over-union are merged into it (weighted non-maximum suppression)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_IOU)
                    .mutable_playing()
                    .build(),
                element::threads_spec("model session"),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "model" => settings.model = value.get().expect("type checked upstream"),
            "model-location" => settings.model_location = element::path_from_value(value),
            "min-score" => settings.min_score = value.get().expect("type checked upstream"),
            "iou" => settings.iou = value.get().expect("type checked upstream"),
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            name => unreachable!("unknown property {name}"),
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "model" => settings.model.to_value(),
            "model-location" => element::path_to_value(&settings.model_location),
            "min-score" => settings.min_score.to_value(),
            "iou" => settings.iou.to_value(),
            "threads" => settings.threads.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvFaceDetect {}

impl ElementImpl for LvFaceDetect {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness face detector",
                "Filter/Analyzer/Video",
                "Finds faces with BlazeFace (ONNX Runtime) and attaches them as FaceMeta and \
                 VideoRegionOfInterestMeta (type face) with box, score, six keypoints and a track id; \
                 optionally posts an `lvfacedetect` element message per frame",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }
}

impl BaseTransformImpl for LvFaceDetect {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let kind = match settings.model {
            FaceDetectModel::Short => ModelKind::ShortRange,
            FaceDetectModel::Full => ModelKind::FullRange,
        };
        let shared =
            element::load_model(kind.file_name(), settings.model_location.as_deref(), settings.threads as usize)?;
        gst::info!(CAT, imp = self, "using {} with {} thread(s)", shared.path().display(), settings.threads);
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
            detector: Detector::new(kind, shared),
            tracker: Tracker::default(),
            follower: Follower::default(),
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) | gst::EventView::StreamStart(_) = event.view()
            && let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut()
        {
            state.tracker.reset();
            state.follower.reset();
        }
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        // lvlandmarks' word on where the faces of a frame are: kept for the frames the
        // detector skips, not passed further upstream.
        if let gst::EventView::CustomUpstream(custom) = event.view()
            && let Some((pts, reports)) = custom.structure().and_then(parse_mesh_event)
        {
            if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                state.follower.report(pts, &reports);
            }
            return true;
        }
        self.parent_src_event(event)
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let selection = crate::facefilter::selection_of(self);
        let mut state_guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = state_guard.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["not started"]);
            return Err(gst::FlowError::Flushing);
        };
        let info = crate::facefilter::video_info_of(self)?;

        let detect = state.follower.detect_now(selection.every_nth);
        let faces: Vec<(u64, Detection)> = if detect {
            let detector_settings = settings.detector_settings(selection);
            let detections: Vec<Detection> =
                element::analyse_frame(self, buffer, &info, |view| state.detector.detect(view, &detector_settings))?;
            let boxes: Vec<_> = detections.iter().map(|d| d.bbox).collect();
            let faces: Vec<_> = state.tracker.update(&boxes).into_iter().zip(detections).collect();
            state.follower.detected(buffer.pts().map(gst::ClockTime::nseconds), &faces);
            faces
        } else {
            let faces = state.follower.predicted();
            state.tracker.follow(&faces.iter().map(|(id, d)| (*id, d.bbox)).collect::<Vec<_>>());
            faces
        };
        drop(state_guard);
        let frame = FaceFrame {
            width: info.width(),
            height: info.height(),
            faces: faces
                .into_iter()
                .map(|(id, d)| {
                    let mut face = Face::new(id, d.bbox, d.score, d.keypoints);
                    face.tracked = !detect;
                    face
                })
                .collect(),
            stream: None,
        };
        gst::trace!(CAT, imp = self, "{} face(s) at {:?}", frame.faces.len(), buffer.pts());
        for face in &frame.faces {
            let clipped = face.bbox.clamp_to(info.width() as f32, info.height() as f32);
            let mut roi = gst_video::VideoRegionOfInterestMeta::add(
                buffer,
                "face",
                (
                    clipped.x.round() as u32,
                    clipped.y.round() as u32,
                    clipped.width.round() as u32,
                    clipped.height.round() as u32,
                ),
            );
            roi.set_id(i32::try_from(face.track_id).unwrap_or(i32::MAX));
            roi.add_param(
                gst::Structure::builder("lvfacedetect")
                    .field("track-id", face.track_id)
                    .field("score", face.score as f64)
                    .build(),
            );
        }
        if selection.post_messages {
            self.post_faces(buffer, &frame);
        }
        FaceMeta::add(buffer, frame);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl crate::facefilter::LvFaceFilterImpl for LvFaceDetect {}

impl VideoFilterImpl for LvFaceDetect {}
