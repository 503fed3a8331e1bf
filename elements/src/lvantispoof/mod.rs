//! `lvantispoof`: presentation-attack scores per face (by default the calibrated fusion of a
//! CNN and the PAD features of [`crate::pad`]), and the score aggregated over the last frames
//! of each track, written into the face's FaceMeta entry.

use gst::glib;
use gst::prelude::*;

mod imp;
pub mod scorer;

glib::wrapper! {
    pub struct LvAntispoof(ObjectSubclass<imp::LvAntispoof>) @extends crate::facefilter::LvFaceFilter, gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Which CNN(s) score the faces (property `model`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvAntispoofModel")]
pub enum AntispoofModel {
    #[enum_value(name = "antispoof (128x128, sigmoid)", nick = "antispoof")]
    Antispoof = 0,
    #[enum_value(name = "liveness (32x32, softmax)", nick = "liveness")]
    Liveness = 1,
    #[enum_value(name = "Both, fused as the mean of their scores", nick = "both")]
    Both = 2,
    #[enum_value(
        name = "Calibrated fusion of the CNN scores and PAD features named in pad-fusion.json (0.5 = its operating point)",
        nick = "fusion"
    )]
    Fusion = 3,
}

/// How the frame scores of a track are aggregated (property `aggregation`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvAntispoofAggregation")]
pub enum AggregationMode {
    #[enum_value(name = "Mean of the window's scores", nick = "mean")]
    Mean = 0,
    #[enum_value(name = "Median of the window's scores (robust to a few odd frames)", nick = "median")]
    Median = 1,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    AntispoofModel::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    AggregationMode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "lvantispoof", gst::Rank::NONE, LvAntispoof::static_type())
}
