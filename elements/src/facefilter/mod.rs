//! `GstLvFaceFilter`: the abstract base class of the elements that analyse the faces of a
//! frame in place (lvfacedetect, lvlandmarks, lvantispoof, lvsurfaceanalysis).
//!
//! It owns what they share: their pads (always a sink and a src of the same raw formats, see
//! `element::FORMATS`), the negotiated video format, which faces an element works on
//! (`min-face-size`, `max-faces`), how often it analyses each face (`every-nth`, with
//! `element::Sampled` carrying results between) and whether it posts a message per frame
//! (`post-messages`). Each element declares only its own properties and reads these with
//! [`selection_of`], the format with [`video_info_of`].

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_video::subclass::prelude::*;
use liveness_core::face::Face;

use crate::element::Sampled;

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
    /// `every-nth`: the analysis runs on every n-th frame of each face (1: every frame).
    pub every_nth: u32,
    /// `post-messages`.
    pub post_messages: bool,
}

impl Default for FaceSelection {
    fn default() -> Self {
        FaceSelection { min_face_size: 0, max_faces: 10, every_nth: 1, post_messages: false }
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

    /// The video format negotiated on the sink pad, once caps are set.
    pub fn video_info(&self) -> Option<gst_video::VideoInfo> {
        self.imp().video_info()
    }
}

/// What a face element implements; the base class itself adds nothing to override.
pub trait LvFaceFilterImpl: VideoFilterImpl + ObjectSubclass<Type: IsA<LvFaceFilter>> {}

unsafe impl<T: LvFaceFilterImpl> IsSubclassable<T> for LvFaceFilter {}

/// The shared properties of an element that is a [`LvFaceFilter`].
pub fn selection_of<T: LvFaceFilterImpl>(imp: &T) -> FaceSelection {
    imp.obj().upcast_ref::<LvFaceFilter>().selection()
}

/// The video format negotiated on the sink pad of an element that is a [`LvFaceFilter`], or
/// `NotNegotiated` (with an element error) while there is none.
pub fn video_info_of<T: LvFaceFilterImpl>(imp: &T) -> Result<gst_video::VideoInfo, gst::FlowError> {
    let info = imp.obj().upcast_ref::<LvFaceFilter>().video_info();
    crate::element::negotiated(imp, info.as_ref())
}

/// What an element after lvfacedetect works on in one frame: the faces of the buffer's
/// FaceMeta, the shared properties and the negotiated format.
pub struct FrameFaces {
    pub faces: Vec<Face>,
    pub selection: FaceSelection,
    pub info: gst_video::VideoInfo,
    /// The track ids of every face on the frame, selected or not.
    pub present: Vec<u64>,
}

impl FrameFaces {
    /// The faces of this frame for `imp`: an element error naming lvfacedetect without a
    /// FaceMeta, `NotNegotiated` before caps.
    pub fn of<T: LvFaceFilterImpl>(imp: &T, buffer: &gst::BufferRef) -> Result<FrameFaces, gst::FlowError> {
        let name = imp.obj().factory().map_or_else(|| "this element".to_owned(), |f| f.name().to_string());
        let faces = crate::element::required_faces(imp, buffer, &name, "lvfacedetect")?;
        let present = faces.iter().map(|f| f.track_id).collect();
        Ok(FrameFaces { faces, selection: selection_of(imp), info: video_info_of(imp)?, present })
    }

    /// The selected faces ([`FaceSelection::select`]) split into those analysed on this frame
    /// and those that carry their last results, sampling each track every `every_nth` frames;
    /// `sampled` forgets the tracks that left the frame.
    pub fn sample<R: Clone>(&self, sampled: &mut Sampled<R>, every_nth: u32) -> (Vec<usize>, Vec<usize>) {
        sampled.retain(&self.present);
        self.selection.select(&self.faces).into_iter().partition(|&i| sampled.due(self.faces[i].track_id, every_nth))
    }
}

/// Marks the base class as plugin API, so that documentation tools describe its properties
/// with each element.
pub fn register_type() {
    LvFaceFilter::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
}
