//! `GstLvFaceFilter`: the abstract base class of the elements that analyse the faces of a
//! frame in place (lvfacedetect, lvlandmarks, lvantispoof, lvsurfaceanalysis).
//!
//! It owns what they share: their pads (always a sink and a src of the same raw formats, see
//! `element::FORMATS`), which faces an element works on (`min-face-size`, `max-faces`) and
//! whether it posts a message per frame (`post-messages`). Each element declares only its
//! own properties and reads these with [`LvFaceFilter::selection`].

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_video::subclass::prelude::*;
use liveness_core::face::Face;

mod imp;

glib::wrapper! {
    pub struct LvFaceFilter(ObjectSubclass<imp::LvFaceFilter>) @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// The values of the shared properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceSelection {
    /// `min-face-size`: faces whose box is smaller (shorter side, pixels) are left out; 0 none.
    pub min_face_size: u32,
    /// `max-faces`: at most this many faces a frame.
    pub max_faces: u32,
    /// `post-messages`.
    pub post_messages: bool,
}

impl Default for FaceSelection {
    fn default() -> Self {
        FaceSelection { min_face_size: 0, max_faces: 10, post_messages: false }
    }
}

impl FaceSelection {
    /// Indices of the faces to analyse: those at least `min_face_size` on their shorter side,
    /// the `max_faces` largest.
    pub fn select(&self, faces: &[Face]) -> Vec<usize> {
        crate::element::select_faces(faces, self.min_face_size, self.max_faces)
    }
}

impl LvFaceFilter {
    /// The shared properties as they are now.
    pub fn selection(&self) -> FaceSelection {
        self.imp().selection()
    }
}

/// What a face element implements; the base class itself adds nothing to override.
pub trait LvFaceFilterImpl: VideoFilterImpl + ObjectSubclass<Type: IsA<LvFaceFilter>> {}

unsafe impl<T: LvFaceFilterImpl> IsSubclassable<T> for LvFaceFilter {}

/// The shared properties of an element that is a [`LvFaceFilter`].
pub fn selection_of<T: LvFaceFilterImpl>(imp: &T) -> FaceSelection {
    imp.obj().upcast_ref::<LvFaceFilter>().selection()
}

/// Marks the base class as plugin API, so that documentation tools describe its properties
/// with each element.
pub fn register_type() {
    LvFaceFilter::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
}
