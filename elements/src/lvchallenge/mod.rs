//! `lvchallenge`: the active liveness challenges of seed 002 (head movements held or
//! gestured), with blink, open mouth, smile, move closer and the screen-flash colour challenge,
//! the penalty step, timeouts in stream time, and the verdict.

use gst::glib;
use gst::prelude::*;

pub mod challenge;
pub mod flash;
pub(crate) mod hud;
mod imp;
pub mod planarity;
pub mod pose;
pub mod session;

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

/// Name of the custom upstream event lvchallenge sends when what it needs from lvlandmarks
/// changes: `fine-motion` (the mesh on every frame) and `expressions` (the emotion model),
/// both booleans. lvlandmarks runs the mesh every `idle-every-nth` frames while fine motion is
/// not needed, and the emotion model only while expressions are.
pub const NEEDS_EVENT: &str = "lvchallenge-needs";

/// The upstream event saying `needs`.
pub fn needs_event(needs: session::Needs) -> gst::Event {
    gst::event::CustomUpstream::new(
        gst::Structure::builder(NEEDS_EVENT)
            .field("fine-motion", needs.fine_motion)
            .field("expressions", needs.expressions)
            .build(),
    )
}

/// The needs a [`NEEDS_EVENT`] structure carries; None for any other structure.
pub fn parse_needs_event(s: &gst::StructureRef) -> Option<session::Needs> {
    (s.name() == NEEDS_EVENT).then_some(())?;
    Some(session::Needs { fine_motion: s.get("fine-motion").ok()?, expressions: s.get("expressions").ok()? })
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    ChallengePoseSource::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "lvchallenge", gst::Rank::NONE, LvChallenge::static_type())
}
