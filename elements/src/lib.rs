//! `liveness`: GStreamer elements that decide whether a live person is in front of a camera.
//!
//! Every element works in place on the raw frames cameras give and exchanges its findings
//! through [`meta::FaceMeta`], one record per buffer ([`liveness_core::face`]) that grows as
//! the buffer travels down the chain. The logic without GStreamer (the challenge session, the
//! checks, the features, the verdict) is `liveness-core`'s; the elements run it on buffers.
//! Neural networks run on ONNX Runtime through [`model`], which loads each model once per
//! process.
#![allow(clippy::non_send_fields_in_send_ty)]

use gst::glib;

pub mod age;
pub mod capture;
mod element;
pub mod embedding;
pub mod events;
pub mod facefilter;
mod hud;
pub mod lvantispoof;
pub mod lvchallenge;
pub mod lvfacedetect;
#[cfg(feature = "jwt")]
pub mod lvjwtsink;
pub mod lvlandmarks;
pub mod lvsurfaceanalysis;
#[cfg(feature = "videoglue")]
pub mod lvvideoglue;
pub mod meta;
pub mod model;
#[cfg(feature = "jwt")]
pub mod signing;
#[cfg(feature = "videoglue")]
pub mod store;
pub mod verdict;
pub mod video;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    facefilter::register_type();
    lvfacedetect::register(plugin)?;
    lvlandmarks::register(plugin)?;
    lvantispoof::register(plugin)?;
    lvsurfaceanalysis::register(plugin)?;
    lvchallenge::register(plugin)?;
    #[cfg(feature = "jwt")]
    lvjwtsink::register(plugin)?;
    #[cfg(feature = "videoglue")]
    lvvideoglue::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    liveness,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
