//! `lvchallenge`: the active liveness challenges of seed 002 (head movements held or
//! gestured), with blink, open mouth, smile, move closer and the screen-flash colour challenge,
//! the penalty step, timeouts in stream time, and the verdict.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct LvChallenge(ObjectSubclass<imp::LvChallenge>) @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// What decides the head pose (property `pose-source`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvChallengePoseSource")]
pub enum ChallengePoseSource {
    #[enum_value(name = "The mesh's head pose where lvlandmarks runs, else the keypoints", nick = "auto")]
    Auto = 2,
    #[enum_value(name = "Seed 002's rule on the six detector keypoints", nick = "keypoints")]
    Keypoints = 0,
    #[enum_value(name = "lvlandmarks' head pose from the face mesh", nick = "mesh")]
    Mesh = 1,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    ChallengePoseSource::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "lvchallenge", gst::Rank::NONE, LvChallenge::static_type())
}
