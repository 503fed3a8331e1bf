//! GStreamer glue of `lvlandmarks`: properties, the face selection, every-nth carrying.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use super::analyzer::{Analyzer, AnalyzerSettings, EMOTION_FILE, FaceAnalysis, MESH_FILE};
use super::mesh::DEFAULT_EYE_CLOSED_RATIO;
use crate::element;
use crate::events::mesh_event;
use crate::events::parse_needs_event;
use crate::facefilter::FrameFaces;
use liveness_core::contracts::Needs;
use liveness_core::face::Face;
use liveness_core::face::MeshReport;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "lvlandmarks",
        gst::DebugColorFlags::empty(),
        Some("Liveness face mesh, head pose, eyes and mouth"),
    )
});

const DEFAULT_IDLE_EVERY_NTH: u32 = 1;
const DEFAULT_MIN_FACE_FLAG: f64 = 0.5;

#[derive(Debug, Clone)]
struct Settings {
    mesh_location: Option<std::path::PathBuf>,
    emotion_location: Option<std::path::PathBuf>,
    idle_every_nth: u32,
    min_face_flag: f64,
    eye_closed_ratio: f64,
    threads: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mesh_location: None,
            emotion_location: None,
            idle_every_nth: DEFAULT_IDLE_EVERY_NTH,
            min_face_flag: DEFAULT_MIN_FACE_FLAG,
            eye_closed_ratio: DEFAULT_EYE_CLOSED_RATIO as f64,
            threads: element::DEFAULT_THREADS,
        }
    }
}

struct State {
    analyzer: Analyzer,
    /// Each track's last analysis, carried over the frames the mesh does not run on.
    /// (None: the mesh model found no face in the track's box.)
    sampled: element::Sampled<Option<FaceAnalysis>>,
    /// What lvchallenge downstream said it needs; None: everything on every frame.
    needs: Option<Needs>,
}

#[derive(Default)]
pub struct LvLandmarks {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl LvLandmarks {
    fn post_faces(&self, buffer: &gst::BufferRef, faces: &[Face]) {
        let list = gst::List::new(faces.iter().filter(|f| f.landmarks.is_some()).map(|face| {
            let pose = face.head_pose.unwrap_or_default();
            let eyes = face.eyes.unwrap_or_default();
            let mouth = face.mouth.unwrap_or_default();
            gst::Structure::builder("face")
                .field("track-id", face.track_id)
                .field("yaw", pose.yaw_degrees as f64)
                .field("pitch", pose.pitch_degrees as f64)
                .field("roll", pose.roll_degrees as f64)
                .field("right-eye-ratio", eyes.right_eye_aspect_ratio as f64)
                .field("left-eye-ratio", eyes.left_eye_aspect_ratio as f64)
                .field("eyes-closed", eyes.closed)
                .field("mouth-opened", mouth.opened as f64)
                .field("smile", mouth.smile as f64)
                .field("face-flag", face.landmarks.as_ref().map(|l| l.face_flag as f64).unwrap_or(0.0))
                .build()
                .to_send_value()
        }));
        let structure = element::message_builder(&*self.obj(), "lvlandmarks", buffer).field("faces", list).build();
        element::post(&*self.obj(), structure);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LvLandmarks {
    const NAME: &'static str = "GstLvLandmarks";
    type Type = super::LvLandmarks;
    type ParentType = crate::facefilter::LvFaceFilter;
}

impl ObjectImpl for LvLandmarks {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                element::model_location_spec(
                    "mesh-model-location",
                    "Path to the face mesh model; unset looks up facemesh.onnx in LIVENESS_MODEL_DIR, then the models/ folder",
                ),
                element::model_location_spec(
                    "emotion-model-location",
                    "Path to the emotion (smile) model; unset looks up emotion.onnx in LIVENESS_MODEL_DIR, then the models/ folder",
                ),
                glib::ParamSpecUInt::builder("idle-every-nth")
                    .nick("Every n-th frame while idle")
                    .blurb("While lvchallenge downstream needs no fine motion (no gesture, expression or hold under way: its `lvchallenge-needs` events), run the mesh on every n-th frame of each face only; the emotion model runs only while lvchallenge needs expressions. 1 keeps every-nth")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_IDLE_EVERY_NTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("min-face-flag")
                    .nick("Minimum face flag")
                    .blurb("The mesh model's own face probability below which its mesh is dropped for that face (0..1)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MIN_FACE_FLAG)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("eye-closed-ratio")
                    .nick("Eye closed ratio")
                    .blurb("Eye aspect ratio below which an eye counts as closed; the eyes are closed when both are (open eyes measure about 0.25-0.35)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_EYE_CLOSED_RATIO as f64)
                    .mutable_playing()
                    .build(),
                element::threads_spec("mesh and emotion sessions"),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "mesh-model-location" => settings.mesh_location = element::path_from_value(value),
            "emotion-model-location" => settings.emotion_location = element::path_from_value(value),
            "idle-every-nth" => settings.idle_every_nth = value.get().expect("type checked upstream"),
            "min-face-flag" => settings.min_face_flag = value.get().expect("type checked upstream"),
            "eye-closed-ratio" => settings.eye_closed_ratio = value.get().expect("type checked upstream"),
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            name => unreachable!("unknown property {name}"),
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "mesh-model-location" => element::path_to_value(&settings.mesh_location),
            "emotion-model-location" => element::path_to_value(&settings.emotion_location),
            "idle-every-nth" => settings.idle_every_nth.to_value(),
            "min-face-flag" => settings.min_face_flag.to_value(),
            "eye-closed-ratio" => settings.eye_closed_ratio.to_value(),
            "threads" => settings.threads.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvLandmarks {}

impl ElementImpl for LvLandmarks {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness face landmarks",
                "Filter/Analyzer/Video",
                "Runs the 468-point face mesh (ONNX Runtime) on each face lvfacedetect found and adds to its FaceMeta \
                 entry: mesh points, head pose (yaw positive turning to the person's left, pitch positive looking up, \
                 roll positive with the left eye lower), eye aspect ratios and closed eyes, mouth opening, smile \
                 (emotion model); optionally posts an `lvlandmarks` element message per frame",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }
}

impl BaseTransformImpl for LvLandmarks {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let threads = settings.threads as usize;
        let analyzer = Analyzer::new(
            element::load_model(MESH_FILE, settings.mesh_location.as_deref(), threads)?,
            element::load_model(EMOTION_FILE, settings.emotion_location.as_deref(), threads)?,
        );
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(State { analyzer, sampled: element::Sampled::default(), needs: None });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    fn src_event(&self, event: gst::Event) -> bool {
        // lvchallenge's word on what it needs: kept, not passed further upstream.
        if let gst::EventView::CustomUpstream(custom) = event.view()
            && let Some(needs) = custom.structure().and_then(parse_needs_event)
        {
            gst::debug!(CAT, imp = self, "downstream needs {needs:?}");
            if let Some(state) = self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                state.needs = Some(needs);
            }
            return true;
        }
        self.parent_src_event(event)
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let frame = FrameFaces::of(self, buffer)?;
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut state_guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = state_guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let fine_motion = state.needs.is_none_or(|n| n.fine_motion);
        let every_nth = frame.selection.every_nth;
        let every_nth = if fine_motion { every_nth } else { settings.idle_every_nth.max(every_nth) };
        let (due, skipped) = frame.sample(&mut state.sampled, every_nth);
        let FrameFaces { mut faces, selection, info, .. } = frame;
        let analyzer_settings = AnalyzerSettings {
            min_face_flag: settings.min_face_flag as f32,
            eye_closed_ratio: settings.eye_closed_ratio as f32,
            emotion: state.needs.is_none_or(|n| n.expressions),
        };
        let analyzer = &state.analyzer;
        let results = match due.is_empty() {
            true => Vec::new(),
            false => element::analyse_frame(self, buffer, &info, |view| {
                due.iter()
                    .map(|&i| analyzer.analyze(view, &faces[i], &analyzer_settings).map(|a| (i, a)))
                    .collect::<Result<Vec<_>, _>>()
            })?,
        };
        let mut reports = Vec::with_capacity(results.len());
        for (i, mut analysis) in results {
            if let Some(analysis) = analysis.as_mut() {
                if !analyzer_settings.emotion {
                    // The smile stays what the emotion model last read on this face.
                    let last = state.sampled.last(faces[i].track_id).and_then(Option::as_ref);
                    analysis.mouth.smile = last.map_or(0.0, |a| a.mouth.smile);
                }
                analysis.apply_to(&mut faces[i]);
            }
            reports.push(MeshReport {
                track_id: faces[i].track_id,
                bbox: analysis.as_ref().map(|a| a.landmarks.bounds()),
            });
            state.sampled.store(faces[i].track_id, analysis);
        }
        for i in skipped {
            if let Some(analysis) = state.sampled.last(faces[i].track_id).and_then(Option::as_ref) {
                analysis.apply_to(&mut faces[i]);
            }
        }
        drop(state_guard);

        // Where the mesh found the faces, for lvfacedetect's frames between detections.
        if !reports.is_empty() {
            self.obj().sink_pad().push_event(mesh_event(buffer.pts(), &reports));
        }
        if selection.post_messages {
            self.post_faces(buffer, &faces);
        }
        element::store_faces(buffer, faces);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl crate::facefilter::LvFaceFilterImpl for LvLandmarks {}

impl VideoFilterImpl for LvLandmarks {}
