//! `FaceMeta`: the face record ([`liveness_core::face`]) that travels with each buffer.
//!
//! `lvfacedetect` attaches it with one [`Face`] per detected face; later elements find the
//! faces here and add their own results to the same entries. The meta survives `queue`, `tee`
//! and other elements that copy metadata, and `videoscale` scales its coordinates. Elements
//! that know nothing of it see every face as a standard `VideoRegionOfInterestMeta` of type
//! `face` as well.

use std::{fmt, mem, ptr};

use gst::prelude::*;
use liveness_core::face::{Face, FaceFrame};

/// The custom buffer meta (`GstLivenessFaceMeta`, API `GstLivenessFaceMetaAPI`).
#[repr(transparent)]
pub struct FaceMeta(imp::FaceMeta);

// SAFETY: the meta owns plain Rust data that is Send + Sync.
unsafe impl Send for FaceMeta {}
unsafe impl Sync for FaceMeta {}

impl FaceMeta {
    /// Attaches `frame` to `buffer`, replacing a FaceMeta that is already there.
    pub fn add(buffer: &mut gst::BufferRef, frame: FaceFrame) -> gst::MetaRefMut<'_, Self, gst::meta::Standalone> {
        if let Some(existing) = buffer.meta::<FaceMeta>() {
            let existing = existing.as_ptr() as *mut gst::ffi::GstMeta;
            // SAFETY: the meta belongs to this buffer, which we hold mutably.
            unsafe {
                gst::ffi::gst_buffer_remove_meta(buffer.as_mut_ptr(), existing);
            }
        }
        // SAFETY: init takes the params by ptr::read; ManuallyDrop keeps us from dropping them
        // a second time.
        unsafe {
            let mut params = mem::ManuallyDrop::new(frame);
            let meta = gst::ffi::gst_buffer_add_meta(
                buffer.as_mut_ptr(),
                imp::face_meta_get_info(),
                &mut *params as *mut FaceFrame as gst::glib::ffi::gpointer,
            ) as *mut imp::FaceMeta;
            Self::from_mut_ptr(buffer, meta)
        }
    }

    pub fn frame(&self) -> &FaceFrame {
        &self.0.frame
    }

    pub fn faces(&self) -> &[Face] {
        &self.0.frame.faces
    }

    /// Mutable access for elements that add their results to the faces.
    pub fn faces_mut(&mut self) -> &mut Vec<Face> {
        &mut self.0.frame.faces
    }

    /// Sets the frame's stream signals.
    pub fn set_stream(&mut self, stream: Option<liveness_core::stream::StreamSignals>) {
        self.0.frame.stream = stream;
    }
}

unsafe impl MetaAPI for FaceMeta {
    type GstType = imp::FaceMeta;

    fn meta_api() -> gst::glib::Type {
        imp::face_meta_api_get_type()
    }
}

impl fmt::Debug for FaceMeta {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("FaceMeta").field("frame", &self.0.frame).finish()
    }
}

mod imp {
    use super::*;
    use gst::glib::translate::*;

    #[repr(C)]
    pub struct FaceMeta {
        parent: gst::ffi::GstMeta,
        pub(super) frame: FaceFrame,
    }

    pub(super) fn face_meta_api_get_type() -> gst::glib::Type {
        static TYPE: std::sync::OnceLock<gst::glib::Type> = std::sync::OnceLock::new();
        *TYPE.get_or_init(|| unsafe {
            // The same tags as VideoRegionOfInterestMeta: the coordinates depend on the
            // frame's size and orientation, so converters that change those must transform
            // or drop the meta.
            let tags = [c"video".as_ptr(), c"size".as_ptr(), c"orientation".as_ptr(), ptr::null()];
            let t = gst::glib::Type::from_glib(gst::ffi::gst_meta_api_type_register(
                c"GstLivenessFaceMetaAPI".as_ptr(),
                tags.as_ptr() as *mut *const _,
            ));
            assert_ne!(t, gst::glib::Type::INVALID);
            t
        })
    }

    unsafe extern "C" fn face_meta_init(
        meta: *mut gst::ffi::GstMeta,
        params: gst::glib::ffi::gpointer,
        _buffer: *mut gst::ffi::GstBuffer,
    ) -> gst::glib::ffi::gboolean {
        if params.is_null() {
            return false.into_glib();
        }
        unsafe {
            let meta = &mut *(meta as *mut FaceMeta);
            ptr::write(&mut meta.frame, ptr::read(params as *const FaceFrame));
        }
        true.into_glib()
    }

    unsafe extern "C" fn face_meta_free(meta: *mut gst::ffi::GstMeta, _buffer: *mut gst::ffi::GstBuffer) {
        unsafe {
            let meta = &mut *(meta as *mut FaceMeta);
            ptr::drop_in_place(&mut meta.frame);
        }
    }

    unsafe extern "C" fn face_meta_transform(
        dest: *mut gst::ffi::GstBuffer,
        meta: *mut gst::ffi::GstMeta,
        _buffer: *mut gst::ffi::GstBuffer,
        type_: gst::glib::ffi::GQuark,
        data: gst::glib::ffi::gpointer,
    ) -> gst::glib::ffi::gboolean {
        unsafe {
            let meta = &*(meta as *mut FaceMeta);
            let type_ = gst::glib::Quark::from_glib(type_);
            let frame = if type_ == gst::glib::Quark::from_str("gst-copy") {
                meta.frame.clone()
            } else if type_ == gst::glib::Quark::from_str("gst-video-scale") && !data.is_null() {
                let scale = &*(data as *const gst_video::ffi::GstVideoMetaTransform);
                if scale.in_info.is_null() || scale.out_info.is_null() {
                    return false.into_glib();
                }
                let (in_info, out_info) = (&*scale.in_info, &*scale.out_info);
                if in_info.width <= 0 || in_info.height <= 0 {
                    return false.into_glib();
                }
                let sx = out_info.width as f32 / in_info.width as f32;
                let sy = out_info.height as f32 / in_info.height as f32;
                FaceFrame {
                    width: out_info.width as u32,
                    height: out_info.height as u32,
                    faces: meta.frame.faces.iter().map(|f| f.scaled(sx, sy)).collect(),
                    stream: meta.frame.stream,
                }
            } else {
                // Any other transformation (rotation, cropping ...) would leave the
                // coordinates wrong: do not copy the meta.
                return false.into_glib();
            };
            super::FaceMeta::add(gst::BufferRef::from_mut_ptr(dest), frame);
        }
        true.into_glib()
    }

    pub(super) fn face_meta_get_info() -> *const gst::ffi::GstMetaInfo {
        struct MetaInfo(ptr::NonNull<gst::ffi::GstMetaInfo>);
        unsafe impl Send for MetaInfo {}
        unsafe impl Sync for MetaInfo {}

        static META_INFO: std::sync::OnceLock<MetaInfo> = std::sync::OnceLock::new();
        META_INFO
            .get_or_init(|| unsafe {
                MetaInfo(
                    ptr::NonNull::new(gst::ffi::gst_meta_register(
                        face_meta_api_get_type().into_glib(),
                        c"GstLivenessFaceMeta".as_ptr(),
                        mem::size_of::<FaceMeta>(),
                        Some(face_meta_init),
                        Some(face_meta_free),
                        Some(face_meta_transform),
                    ) as *mut gst::ffi::GstMetaInfo)
                    .expect("GstLivenessFaceMeta registration failed"),
                )
            })
            .0
            .as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liveness_core::face::{Keypoints, Rect};

    fn face(track_id: u64) -> Face {
        Face::new(track_id, Rect { x: 10.0, y: 20.0, width: 30.0, height: 40.0 }, 0.9, Keypoints::default())
    }

    #[test]
    fn meta_round_trips_and_copies_with_the_buffer() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        let frame = FaceFrame { width: 64, height: 48, faces: vec![face(1), face(2)], ..FaceFrame::default() };
        FaceMeta::add(buffer.get_mut().unwrap(), frame.clone());
        assert_eq!(buffer.meta::<FaceMeta>().unwrap().frame(), &frame);

        // A second add replaces, it does not stack.
        FaceMeta::add(buffer.get_mut().unwrap(), FaceFrame { faces: vec![face(7)], ..frame.clone() });
        assert_eq!(buffer.iter_meta::<FaceMeta>().count(), 1);
        assert_eq!(buffer.meta::<FaceMeta>().unwrap().faces()[0].track_id, 7);

        let copy = buffer.copy_deep().unwrap();
        assert_eq!(copy.meta::<FaceMeta>().unwrap().faces()[0].track_id, 7);
        drop(buffer);
        assert_eq!(copy.meta::<FaceMeta>().unwrap().frame().width, 64);
    }
}
