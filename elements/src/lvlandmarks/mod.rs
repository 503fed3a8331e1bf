//! `lvlandmarks`: runs the 468-point face mesh on each face `lvfacedetect` found and adds
//! head pose, eye aspect ratios (blink), mouth opening and smile to its FaceMeta entry.

use gst::glib;
use gst::prelude::*;

pub mod analyzer;
mod imp;
pub mod mesh;

glib::wrapper! {
    pub struct LvLandmarks(ObjectSubclass<imp::LvLandmarks>) @extends crate::facefilter::LvFaceFilter, gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "lvlandmarks", gst::Rank::NONE, LvLandmarks::static_type())
}
