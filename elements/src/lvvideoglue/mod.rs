//! `lvvideoglue` and `lvvideogluesrc`: keep a session's frames, with what the chain found on
//! each, in Redis (seed 000's VideoRedis), and read them back as a timed JPEG stream that
//! glues into a video (LUNA PASS VIDEO).
//!
//! Storage holds face images: it happens only where a pipeline puts `lvvideoglue`, and every
//! session expires (`ttl`). The layout in Redis is in [`store`].

use gst::glib;
use gst::prelude::*;

mod imp;
mod src;

glib::wrapper! {
    pub struct LvVideoGlue(ObjectSubclass<imp::LvVideoGlue>) @extends gst_base::BaseSink, gst::Element, gst::Object;
}

glib::wrapper! {
    pub struct LvVideoGlueSrc(ObjectSubclass<src::LvVideoGlueSrc>) @extends gst_base::PushSrc, gst_base::BaseSrc, gst::Element, gst::Object;
}

/// What `lvvideoglue` does when Redis fails during a stream (property `on-error`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstLvVideoGlueOnError")]
pub enum OnError {
    #[enum_value(
        name = "Drop: post a warning, count the frames as dropped, keep the pipeline running and reconnect",
        nick = "drop"
    )]
    Drop = 0,
    #[enum_value(name = "Fail: post an error and stop the stream", nick = "fail")]
    Fail = 1,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    OnError::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(Some(plugin), "lvvideoglue", gst::Rank::NONE, LvVideoGlue::static_type())?;
    gst::Element::register(Some(plugin), "lvvideogluesrc", gst::Rank::NONE, LvVideoGlueSrc::static_type())
}

/// A GStreamer structure as JSON: numbers, booleans, strings, lists, arrays and nested
/// structures as themselves, anything else as its serialised text.
pub fn structure_to_json(s: &gst::StructureRef) -> serde_json::Value {
    s.iter().map(|(name, value)| (name.to_string(), value_to_json(value))).collect::<serde_json::Map<_, _>>().into()
}

fn value_to_json(value: &glib::Value) -> serde_json::Value {
    use serde_json::Value as J;
    if let Ok(v) = value.get::<bool>() {
        J::from(v)
    } else if let Ok(v) = value.get::<i32>() {
        J::from(v)
    } else if let Ok(v) = value.get::<u32>() {
        J::from(v)
    } else if let Ok(v) = value.get::<i64>() {
        J::from(v)
    } else if let Ok(v) = value.get::<u64>() {
        J::from(v)
    } else if let Ok(v) = value.get::<f64>() {
        J::from(v)
    } else if let Ok(v) = value.get::<f32>() {
        J::from(v)
    } else if let Ok(Some(v)) = value.get::<Option<String>>() {
        J::from(v)
    } else if let Ok(list) = value.get::<gst::List>() {
        J::Array(list.iter().map(|v| value_to_json(v)).collect())
    } else if let Ok(array) = value.get::<gst::Array>() {
        J::Array(array.iter().map(|v| value_to_json(v)).collect())
    } else if let Ok(s) = value.get::<gst::Structure>() {
        structure_to_json(&s)
    } else {
        value.serialize().map(|s| J::from(s.to_string())).unwrap_or(J::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_become_json() {
        gst::init().unwrap();
        let s = gst::Structure::builder("liveness-verdict")
            .field("passed", true)
            .field("liveness-score", 0.75f64)
            .field("passed-challenges", 3u32)
            .field("sequence", "turn_left,look_up")
            .field("failures", gst::Array::new(["challenge-timeout"]))
            .field("results", gst::List::new([gst::Structure::builder("r").field("attempts", 2u32).build()]))
            .build();
        assert_eq!(
            structure_to_json(&s),
            serde_json::json!({
                "passed": true,
                "liveness-score": 0.75,
                "passed-challenges": 3,
                "sequence": "turn_left,look_up",
                "failures": ["challenge-timeout"],
                "results": [{"attempts": 2}],
            })
        );
    }
}
