//! GStreamer glue of `lvantispoof`: properties, face selection, aggregation per track.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use super::scorer::{ANTISPOOF_FILE, Aggregation, Aggregator, LIVENESS_FILE, Scorer, frame_score};
use super::{AggregationMode, AntispoofModel};
use crate::element;
use crate::facefilter::FrameFaces;
use liveness_core::face::{Antispoof, Face};
use liveness_core::pad::{FUSION_FILE, Fusion, FusionError};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "lvantispoof",
        gst::DebugColorFlags::empty(),
        Some("Liveness presentation-attack detection"),
    )
});

const DEFAULT_MODEL: AntispoofModel = AntispoofModel::Fusion;
/// AggregateLiveness window (frames).
const DEFAULT_WINDOW: u32 = 10;
const DEFAULT_AGGREGATION: AggregationMode = AggregationMode::Mean;
/// The fusion reads 0.5 at the operating point chosen by `make eval-pad`; the CNNs give
/// probabilities whose source sets no cut-off, so the even odds point for them too.
const DEFAULT_THRESHOLD: f64 = 0.5;

#[derive(Debug, Clone)]
struct Settings {
    model: AntispoofModel,
    antispoof_location: Option<PathBuf>,
    liveness_location: Option<PathBuf>,
    fusion_location: Option<PathBuf>,
    window: u32,
    aggregation: AggregationMode,
    threshold: f64,
    threads: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: DEFAULT_MODEL,
            antispoof_location: None,
            liveness_location: None,
            fusion_location: None,
            window: DEFAULT_WINDOW,
            aggregation: DEFAULT_AGGREGATION,
            threshold: DEFAULT_THRESHOLD,
            threads: element::DEFAULT_THREADS,
        }
    }
}

struct State {
    scorer: Scorer,
    /// Loaded with model `fusion`.
    fusion: Option<Fusion>,
    aggregator: Aggregator,
    /// Each track's last result, carried over the frames it is not scored on.
    sampled: element::Sampled<Antispoof>,
}

#[derive(Default)]
pub struct LvAntispoof {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl LvAntispoof {
    fn post_faces(&self, buffer: &gst::BufferRef, faces: &[Face]) {
        let list = gst::List::new(faces.iter().filter_map(|face| {
            let a = face.antispoof?;
            Some(
                gst::Structure::builder("face")
                    .field("track-id", face.track_id)
                    .field("score", a.score as f64)
                    .field("aggregated-score", a.aggregated_score as f64)
                    .field("frames", a.frames)
                    .field("is-real", a.is_real)
                    .build()
                    .to_send_value(),
            )
        }));
        let structure = element::message_builder(&*self.obj(), "lvantispoof", buffer).field("faces", list).build();
        element::post(&*self.obj(), structure);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LvAntispoof {
    const NAME: &'static str = "GstLvAntispoof";
    type Type = super::LvAntispoof;
    type ParentType = crate::facefilter::LvFaceFilter;
}

impl ObjectImpl for LvAntispoof {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("model", DEFAULT_MODEL)
                    .nick("Model")
                    .blurb("What scores the faces: fusion (the calibrated logistic fusion of pad-fusion.json: CNN scores and PAD features, 0.5 at its operating point), antispoof (128x128 CNN), liveness (32x32 CNN), or both CNNs averaged")
                    .mutable_ready()
                    .build(),
                element::model_location_spec(
                    "antispoof-model-location",
                    "Path to the antispoof CNN; unset looks up antispoof.onnx in LIVENESS_MODEL_DIR, then the models/ folder",
                ),
                element::model_location_spec(
                    "liveness-model-location",
                    "Path to the liveness CNN; unset looks up liveness.onnx in LIVENESS_MODEL_DIR, then the models/ folder",
                ),
                glib::ParamSpecString::builder("fusion-location")
                    .nick("Fusion location")
                    .blurb("Path to the fusion weights (model fusion); unset looks up pad-fusion.json in LIVENESS_MODEL_DIR, then the models/ folder")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("window")
                    .nick("Window")
                    .blurb("Frames of a track the aggregated score covers (AggregateLiveness); 1 uses the frame score alone")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_WINDOW)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("aggregation", DEFAULT_AGGREGATION)
                    .nick("Aggregation")
                    .blurb("How the window's frame scores are combined: mean, or median (robust to a few odd frames)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Threshold")
                    .blurb("Aggregated score (0..1, 1 = real) at or above which a face is real")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_playing()
                    .build(),
                element::threads_spec("model sessions"),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "model" => settings.model = value.get().expect("type checked upstream"),
            "antispoof-model-location" => settings.antispoof_location = element::path_from_value(value),
            "liveness-model-location" => settings.liveness_location = element::path_from_value(value),
            "fusion-location" => settings.fusion_location = element::path_from_value(value),
            "window" => settings.window = value.get().expect("type checked upstream"),
            "aggregation" => settings.aggregation = value.get().expect("type checked upstream"),
            "threshold" => settings.threshold = value.get().expect("type checked upstream"),
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            name => unreachable!("unknown property {name}"),
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "model" => settings.model.to_value(),
            "antispoof-model-location" => element::path_to_value(&settings.antispoof_location),
            "liveness-model-location" => element::path_to_value(&settings.liveness_location),
            "fusion-location" => element::path_to_value(&settings.fusion_location),
            "window" => settings.window.to_value(),
            "aggregation" => settings.aggregation.to_value(),
            "threshold" => settings.threshold.to_value(),
            "threads" => settings.threads.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvAntispoof {}

impl ElementImpl for LvAntispoof {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness presentation-attack detection",
                "Filter/Analyzer/Video",
                "Scores each face lvfacedetect found for presentation attacks (1 = real): by default the calibrated fusion \
                 of a CNN (ONNX Runtime) and PAD features (periodic print and screen patterns, colour gamut, glare, coding \
                 blocks), or the antispoof and/or liveness CNN alone; aggregates the score over the last frames of its \
                 track and adds both, with every CNN score and feature measured, to its FaceMeta entry; optionally posts \
                 an `lvantispoof` element message per frame",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }
}

impl BaseTransformImpl for LvAntispoof {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let threads = settings.threads as usize;
        let fusion = if settings.model == AntispoofModel::Fusion {
            let path = crate::model::locate(FUSION_FILE, settings.fusion_location.as_deref())
                .map_err(|err| gst::error_msg!(gst::ResourceError::NotFound, ["{}", err]))?;
            let shown = path.display().to_string();
            let fusion = std::fs::read_to_string(&path)
                .map_err(|err| FusionError::Read { path: shown.clone(), reason: err.to_string() })
                .and_then(|text| Fusion::parse_file(&text, &shown))
                .map_err(|err| gst::error_msg!(gst::ResourceError::Settings, ["{}", err]))?;
            gst::info!(CAT, imp = self, "fusion of {} from {}", fusion.features.join(", "), path.display());
            Some(fusion)
        } else {
            None
        };
        let wants = |model: AntispoofModel, name: &str| {
            settings.model == model
                || settings.model == AntispoofModel::Both
                || fusion.as_ref().is_some_and(|f| f.uses(name))
        };
        let antispoof = if wants(AntispoofModel::Antispoof, "antispoof-model") {
            Some(element::load_model(ANTISPOOF_FILE, settings.antispoof_location.as_deref(), threads)?)
        } else {
            None
        };
        let liveness = if wants(AntispoofModel::Liveness, "liveness-model") {
            Some(element::load_model(LIVENESS_FILE, settings.liveness_location.as_deref(), threads)?)
        } else {
            None
        };
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
            scorer: Scorer::new(antispoof, liveness),
            fusion,
            aggregator: Aggregator::default(),
            sampled: element::Sampled::default(),
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
            state.aggregator.clear();
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let frame = FrameFaces::of(self, buffer)?;
        let settings = self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut state_guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = state_guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        state.aggregator.retain(&frame.present);
        let (due, skipped) = frame.sample(&mut state.sampled, frame.selection.every_nth);
        let FrameFaces { mut faces, selection, info, .. } = frame;
        let scorer = &state.scorer;
        let scores = element::analyse_frame(self, buffer, &info, |view| {
            due.iter().map(|&i| scorer.score(view, &faces[i]).map(|s| (i, s))).collect::<Result<Vec<_>, _>>()
        })?;
        let how = match settings.aggregation {
            AggregationMode::Mean => Aggregation::Mean,
            AggregationMode::Median => Aggregation::Median,
        };
        for (i, candidates) in scores {
            let Some(score) = frame_score(&candidates, state.fusion.as_ref()) else { continue };
            let (aggregated_score, frames) =
                state.aggregator.push(faces[i].track_id, score, settings.window as usize, how);
            let antispoof = Antispoof {
                score,
                aggregated_score,
                frames,
                is_real: aggregated_score as f64 >= settings.threshold,
                antispoof_model: candidates.antispoof_model,
                liveness_model: candidates.liveness_model,
                features: candidates.features,
            };
            faces[i].antispoof = Some(antispoof);
            state.sampled.store(faces[i].track_id, antispoof);
            gst::trace!(CAT, imp = self, "track {}: {score:.3} from {:?}", faces[i].track_id, candidates);
        }
        for i in skipped {
            faces[i].antispoof = state.sampled.carried(faces[i].track_id);
        }
        drop(state_guard);

        if selection.post_messages {
            self.post_faces(buffer, &faces);
        }
        element::store_faces(buffer, faces);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl crate::facefilter::LvFaceFilterImpl for LvAntispoof {}

impl VideoFilterImpl for LvAntispoof {}
