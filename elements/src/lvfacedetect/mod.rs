//! `lvfacedetect`: finds faces with BlazeFace and attaches them to each buffer as a
//! [`FaceMeta`](crate::meta::FaceMeta) and as `VideoRegionOfInterestMeta`s of type `face`.

use gst::glib;
use gst::prelude::*;

pub mod blazeface;
mod imp;
pub mod tracker;

glib::wrapper! {
    pub struct LvFaceDetect(ObjectSubclass<imp::LvFaceDetect>) @extends crate::facefilter::LvFaceFilter, gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Which BlazeFace model the element runs (property `model`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvFaceDetectModel")]
pub enum FaceDetectModel {
    #[enum_value(name = "Short range (128x128): faces at selfie distance, fastest", nick = "short")]
    Short = 0,
    #[enum_value(name = "Full range (256x256): also small and distant faces", nick = "full")]
    Full = 1,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    FaceDetectModel::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "lvfacedetect", gst::Rank::NONE, LvFaceDetect::static_type())
}
