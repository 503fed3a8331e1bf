//! The base class's GObject side: its properties and the negotiated video format.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::subclass::prelude::*;

use super::FaceSelection;

#[derive(Default)]
pub struct LvFaceFilter {
    selection: Mutex<FaceSelection>,
    /// The format negotiated on the sink pad (`set_info`), for the elements' frame views.
    info: Mutex<Option<gst_video::VideoInfo>>,
}

impl LvFaceFilter {
    pub(super) fn selection(&self) -> FaceSelection {
        *self.selection.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn video_info(&self) -> Option<gst_video::VideoInfo> {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[glib::object_subclass]
impl ObjectSubclass for LvFaceFilter {
    const NAME: &'static str = "GstLvFaceFilter";
    const ABSTRACT: bool = true;
    type Type = super::LvFaceFilter;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for LvFaceFilter {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let defaults = FaceSelection::default();
            vec![
                glib::ParamSpecUInt::builder("min-face-size")
                    .nick("Minimum face size")
                    .blurb("Faces whose box is smaller than this many pixels (shorter side) are left out: lvfacedetect drops them, the later elements do not analyse them; 0 takes every face")
                    .maximum(16384)
                    .default_value(defaults.min_face_size)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-faces")
                    .nick("Maximum faces")
                    .blurb("At most this many faces a frame: lvfacedetect keeps the best scores, the later elements analyse the largest")
                    .minimum(1)
                    .maximum(100)
                    .default_value(defaults.max_faces)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("every-nth")
                    .nick("Every n-th frame")
                    .blurb("Run the element's analysis on every n-th frame of each face only (a new face on its first frame) and carry its last results over the frames between; lvfacedetect detects on every n-th frame and follows the faces between; 1 analyses every frame")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(defaults.every_nth)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("post-messages")
                    .nick("Post messages")
                    .blurb("Post an element message per frame, named after the element, with what it found on each face (docs/elements.md lists the fields)")
                    .default_value(defaults.post_messages)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut selection = self.selection.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "min-face-size" => selection.min_face_size = value.get().expect("type checked upstream"),
            "max-faces" => selection.max_faces = value.get().expect("type checked upstream"),
            "every-nth" => selection.every_nth = value.get().expect("type checked upstream"),
            "post-messages" => selection.post_messages = value.get().expect("type checked upstream"),
            name => unreachable!("unknown property {name}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let selection = self.selection.lock().unwrap_or_else(|p| p.into_inner());
        match pspec.name() {
            "min-face-size" => selection.min_face_size.to_value(),
            "max-faces" => selection.max_faces.to_value(),
            "every-nth" => selection.every_nth.to_value(),
            "post-messages" => selection.post_messages.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for LvFaceFilter {}

impl ElementImpl for LvFaceFilter {
    /// Every face element reads and writes the same raw formats in place.
    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(crate::element::pad_templates);
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for LvFaceFilter {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;
}

impl VideoFilterImpl for LvFaceFilter {
    /// Keeps the negotiated format for the elements ([`super::LvFaceFilter::video_info`]).
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        outcaps: &gst::Caps,
        out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        *self.info.lock().unwrap_or_else(|p| p.into_inner()) = Some(in_info.clone());
        self.parent_set_info(incaps, in_info, outcaps, out_info)
    }
}
