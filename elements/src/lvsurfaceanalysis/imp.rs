//! GStreamer glue of `lvsurfaceanalysis`: threshold properties, luma canvases of each face,
//! running score per track.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use crate::capture::CaptureMeta;
use crate::element;
use crate::facefilter::FrameFaces;
use liveness_core::capture::Capture;
use liveness_core::crop::FaceCrop;
use liveness_core::face::{Face, QualityResult, Surface};
use liveness_core::frame::resample_luma;
use liveness_core::stream::{LumaPlane, Signature, StreamSignals};
use liveness_core::surface::{
    NATIVE_CANVAS_MAX, NATIVE_CANVAS_MIN, QualityThresholds, RunningScore, SURFACE_CANVAS, SurfaceThresholds,
    analyse_quality, analyse_surface,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("lvsurfaceanalysis", gst::DebugColorFlags::empty(), Some("Liveness surface and quality"))
});

/// Share of the detector box (about its centre) the checks look at: its corners hold
/// background and hair, whose contrast says nothing about the skin.
const SKIN_REGION: f32 = 0.8;
/// seed 002 `minSurfaceScore`.
const DEFAULT_MIN_SURFACE_SCORE: f64 = 0.40;

#[derive(Debug, Clone)]
struct Settings {
    surface: SurfaceThresholds,
    quality: QualityThresholds,
    min_surface_score: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            surface: SurfaceThresholds::default(),
            quality: QualityThresholds::default(),
            min_surface_score: DEFAULT_MIN_SURFACE_SCORE as f32,
        }
    }
}

/// The threshold properties: name, blurb, maximum, and where the value lives.
type Field = fn(&mut Settings) -> &mut f32;
const THRESHOLDS: &[(&str, &str, f64, Field)] = &[
    ("lbp-threshold", "LBP skin complexity (entropy / 8) above which the texture is real (seed 002: 0.3)", 1.0, |s| {
        &mut s.surface.min_skin_complexity
    }),
    ("frequency-threshold", "Frequency score above which the gradients are natural (seed 002: 0.35)", 1.0, |s| {
        &mut s.surface.min_frequency_score
    }),
    ("gradient-min", "Lower end of the natural mean Sobel gradient (seed 002: 5)", 1000.0, |s| {
        &mut s.surface.natural_gradient.0
    }),
    ("gradient-max", "Upper end of the natural mean Sobel gradient (seed 002: 30)", 1000.0, |s| {
        &mut s.surface.natural_gradient.1
    }),
    ("high-freq-min", "Lower end of the natural share of sharp-edge pixels (seed 002: 0.01)", 1.0, |s| {
        &mut s.surface.natural_high_freq.0
    }),
    ("high-freq-max", "Upper end of the natural share of sharp-edge pixels (seed 002: 0.15)", 1.0, |s| {
        &mut s.surface.natural_high_freq.1
    }),
    (
        "moire-ratio",
        "Zero crossings per pixel of a row's derivative above which the row oscillates (seed 002: 0.3)",
        1.0,
        |s| &mut s.surface.moire_crossing_ratio,
    ),
    (
        "reflectance-natural-min",
        "Brightness coefficient of variation above which reflectance is natural (seed 002: 0.15)",
        10.0,
        |s| &mut s.surface.natural_reflectance.0,
    ),
    (
        "reflectance-natural-max",
        "Brightness coefficient of variation below which reflectance is natural (seed 002: 0.5)",
        10.0,
        |s| &mut s.surface.natural_reflectance.1,
    ),
    (
        "reflectance-artificial-below",
        "Brightness coefficient of variation below which reflectance is artificial (seed 002: 0.1)",
        10.0,
        |s| &mut s.surface.artificial_reflectance.0,
    ),
    (
        "reflectance-artificial-above",
        "Brightness coefficient of variation above which reflectance is artificial (seed 002: 0.7)",
        10.0,
        |s| &mut s.surface.artificial_reflectance.1,
    ),
    (
        "min-surface-score",
        "Running mean confidence of a track at or above which its surface passes (seed 002 minSurfaceScore: 0.40)",
        1.0,
        |s| &mut s.min_surface_score,
    ),
    ("blur-threshold", "blur (1 = sharp) below which the face is blurred (is-blurred)", 1.0, |s| &mut s.quality.blur),
    (
        "light-threshold",
        "light (1 = no over-exposed pixels) below which the face is highlighted (is-highlighted)",
        1.0,
        |s| &mut s.quality.light,
    ),
    ("darkness-threshold", "darkness (1 = no under-exposed pixels) below which the face is dark (is-dark)", 1.0, |s| {
        &mut s.quality.darkness
    }),
    (
        "illumination-threshold",
        "illumination (1 = evenly lit) below which the lighting is uneven (is-illuminated)",
        1.0,
        |s| &mut s.quality.illumination,
    ),
    ("specularity-threshold", "specularity (1 = no glints) below which the face is specular (is-specular)", 1.0, |s| {
        &mut s.quality.specularity
    }),
];

/// Side of the native-resolution canvas of `face`: its skin region's size in frame pixels,
/// kept within NATIVE_CANVAS_MIN..=NATIVE_CANVAS_MAX.
fn native_canvas_side(face: &Face) -> usize {
    ((face.bbox.width.max(face.bbox.height) * SKIN_REGION).round() as usize).clamp(NATIVE_CANVAS_MIN, NATIVE_CANVAS_MAX)
}

struct State {
    running: HashMap<u64, RunningScore>,
    /// Each track's last surface and quality, carried over the frames it is not analysed on.
    sampled: element::Sampled<(Surface, QualityResult)>,
    /// The previous frame's luma grid and capture time, ns (stream signals).
    previous: Option<Signature>,
    previous_time: Option<u64>,
}

#[derive(Default)]
pub struct LvSurfaceAnalysis {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl LvSurfaceAnalysis {
    fn post_faces(&self, buffer: &gst::BufferRef, faces: &[Face]) {
        let list = gst::List::new(faces.iter().filter_map(|face| {
            let (surface, quality) = (face.surface?, face.quality?);
            let r = surface.frame;
            Some(
                gst::Structure::builder("face")
                    .field("track-id", face.track_id)
                    .field("is-real", r.is_real)
                    .field("confidence", r.confidence as f64)
                    .field("sh_a_score", r.skin_complexity as f64)
                    .field("ip_c_detected", r.moire_detected)
                    .field("sv_b_score", r.frequency_score as f64)
                    .field("pr_d_pattern", r.reflectance.as_str())
                    .field("skin-complexity", r.skin_complexity as f64)
                    .field("frequency-score", r.frequency_score as f64)
                    .field("avg-gradient", r.avg_gradient as f64)
                    .field("high-freq-ratio", r.high_freq_ratio as f64)
                    .field("moire-detected", r.moire_detected)
                    .field("moire-rows", r.moire_rows)
                    .field("reflectance", r.reflectance.as_str())
                    .field("reflectance-cv", r.reflectance_cv as f64)
                    .field("surface-score", surface.session_score as f64)
                    .field("surface-frames", surface.session_frames)
                    .field("surface-ok", surface.session_ok)
                    .field("blur", quality.blur as f64)
                    .field("is-blurred", quality.is_blurred)
                    .field("light", quality.light as f64)
                    .field("is-highlighted", quality.is_highlighted)
                    .field("darkness", quality.darkness as f64)
                    .field("is-dark", quality.is_dark)
                    .field("illumination", quality.illumination as f64)
                    .field("is-illuminated", quality.is_illuminated)
                    .field("specularity", quality.specularity as f64)
                    .field("is-specular", quality.is_specular)
                    .build()
                    .to_send_value(),
            )
        }));
        let structure =
            element::message_builder(&*self.obj(), "lvsurfaceanalysis", buffer).field("faces", list).build();
        element::post(&*self.obj(), structure);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LvSurfaceAnalysis {
    const NAME: &'static str = "GstLvSurfaceAnalysis";
    type Type = super::LvSurfaceAnalysis;
    type ParentType = crate::facefilter::LvFaceFilter;
}

impl ObjectImpl for LvSurfaceAnalysis {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut defaults = Settings::default();
            let mut properties: Vec<glib::ParamSpec> = THRESHOLDS
                .iter()
                .map(|(name, blurb, maximum, field)| {
                    glib::ParamSpecDouble::builder(name)
                        .nick(name)
                        .blurb(blurb)
                        .minimum(0.0)
                        .maximum(*maximum)
                        .default_value(*field(&mut defaults) as f64)
                        .mutable_playing()
                        .build()
                })
                .collect();
            properties.extend([glib::ParamSpecUInt::builder("moire-rows")
                .nick("Moire rows")
                .blurb("Sampled rows (of 16) that must oscillate for moire to be detected (seed 002: multiple rows, 2)")
                .minimum(1)
                .maximum(16)
                .default_value(defaults.surface.moire_rows)
                .mutable_playing()
                .build()]);
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, _, field)) = THRESHOLDS.iter().find(|(name, ..)| *name == pspec.name()) {
            *field(&mut settings) = value.get::<f64>().expect("type checked upstream") as f32;
        } else {
            match pspec.name() {
                "moire-rows" => settings.surface.moire_rows = value.get().expect("type checked upstream"),
                name => unreachable!("unknown property {name}"),
            }
        }
        gst::debug!(CAT, imp = self, "{} set to {:?}", pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let mut settings = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, _, field)) = THRESHOLDS.iter().find(|(name, ..)| *name == pspec.name()) {
            return (*field(&mut settings) as f64).to_value();
        }
        match pspec.name() {
            "moire-rows" => settings.surface.moire_rows.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvSurfaceAnalysis {}

impl ElementImpl for LvSurfaceAnalysis {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Liveness surface analysis",
                "Filter/Analyzer/Video",
                "Runs seed 002's passive surface checks (LBP entropy, Sobel frequency, moire, reflectance) and \
                 seed 000's image quality (blur, light, darkness, illumination, specularity) on the luma of each \
                 face lvfacedetect found, without any model, and adds them and a running surface score to its \
                 FaceMeta entry; on every frame, the stream signals against the frame before (mean and median \
                 luma change: repeats and sensor noise; the frame interval and JPEG table hash of the \
                 GstLivenessCaptureMeta where an application adds it) on the FaceMeta frame; optionally posts an \
                 `lvsurfaceanalysis` element message per frame",
                "gst-liveness developers",
            )
        });
        Some(&*METADATA)
    }
}

impl BaseTransformImpl for LvSurfaceAnalysis {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(State {
            running: HashMap::new(),
            sampled: element::Sampled::default(),
            previous: None,
            previous_time: None,
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
            state.running.clear();
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
        state.running.retain(|track, _| frame.present.contains(track));
        let (due, skipped) = frame.sample(&mut state.sampled, frame.selection.every_nth);
        let FrameFaces { mut faces, selection, info, .. } = frame;
        let (results, signature) = element::analyse_frame(self, buffer, &info, |view| {
            let signature = frame_signature(view);
            let mut canvas = vec![0.0f32; SURFACE_CANVAS * SURFACE_CANVAS];
            let results: Vec<_> = due
                .iter()
                .map(|&i| {
                    // The middle of the face box, read as luma straight from the frame.
                    let crop = FaceCrop::around(&faces[i], SKIN_REGION, 0.0, SURFACE_CANVAS);
                    resample_luma(view, &crop.to_frame, SURFACE_CANVAS, SURFACE_CANVAS, &mut canvas);
                    // The same region at the frame's own resolution (never enlarged), where
                    // pixel-level patterns and blur are measured.
                    let side = native_canvas_side(&faces[i]);
                    let mut native = vec![0.0f32; side * side];
                    let crop = FaceCrop::around(&faces[i], SKIN_REGION, 0.0, side);
                    resample_luma(view, &crop.to_frame, side, side, &mut native);
                    let surface = analyse_surface(&canvas, SURFACE_CANVAS, &native, side, &settings.surface);
                    (i, surface, analyse_quality(&native, side, &settings.quality))
                })
                .collect();
            Ok::<_, std::convert::Infallible>((results, signature))
        })?;
        let capture = <Capture as CaptureMeta>::of(buffer).unwrap_or_default();
        let time = capture.time_ns.or(buffer.pts().map(|t| t.nseconds()));
        let stream = match (&state.previous, &signature) {
            (Some(previous), Some(current)) => StreamSignals::between(previous, current, capture.luma_table.as_ref())
                .map(|s| StreamSignals {
                    interval_ms: time.zip(state.previous_time).map(|(t, p)| t.saturating_sub(p) as f32 / 1e6),
                    jpeg_tables: capture.jpeg_tables,
                    ..s
                }),
            _ => None,
        };
        state.previous = signature;
        state.previous_time = time;
        for (i, frame, quality) in results {
            let (session_score, session_frames) =
                state.running.entry(faces[i].track_id).or_default().add(frame.confidence);
            let surface = Surface {
                frame,
                session_score,
                session_frames,
                session_ok: session_score >= settings.min_surface_score,
            };
            faces[i].surface = Some(surface);
            faces[i].quality = Some(quality);
            state.sampled.store(faces[i].track_id, (surface, quality));
        }
        for i in skipped {
            if let Some((surface, quality)) = state.sampled.carried(faces[i].track_id) {
                faces[i].surface = Some(surface);
                faces[i].quality = Some(quality);
            }
        }
        drop(state_guard);

        if selection.post_messages {
            self.post_faces(buffer, &faces);
        }
        element::store_faces(buffer, faces);
        if let Some(mut meta) = buffer.meta_mut::<crate::meta::FaceMeta>() {
            meta.set_stream(stream);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

/// The frame's stream signature: its luma grid, and its Y plane where it has one.
fn frame_signature(view: &liveness_core::frame::FrameView<'_>) -> Option<Signature> {
    match view.y_plane_luma() {
        Some(luma) => Signature::of(view.width, view.height, luma)
            .map(|s| s.with_plane(LumaPlane::copy(view.planes[0], view.strides[0], view.width, view.height))),
        None => Signature::of(view.width, view.height, |x, y| view.luma(x, y)),
    }
}

impl crate::facefilter::LvFaceFilterImpl for LvSurfaceAnalysis {}

impl VideoFilterImpl for LvSurfaceAnalysis {}
