//! `lvsurfaceanalysis`: the four passive texture checks of seed 002 (LBP, Sobel frequency,
//! moiré, reflectance) and the image quality of seed 000 on each face, without any model.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct LvSurfaceAnalysis(ObjectSubclass<imp::LvSurfaceAnalysis>) @extends crate::facefilter::LvFaceFilter, gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "lvsurfaceanalysis", gst::Rank::NONE, LvSurfaceAnalysis::static_type())
}
