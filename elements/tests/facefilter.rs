//! GstLvFaceFilter, the base class of the face elements: each of them is one, and takes its
//! pads and the properties they share from it.

mod common;

use gst::prelude::*;

const FACE_ELEMENTS: [&str; 4] = ["lvfacedetect", "lvlandmarks", "lvantispoof", "lvsurfaceanalysis"];

fn make(name: &str) -> gst::Element {
    gst::ElementFactory::make(name).build().unwrap_or_else(|err| panic!("{name}: {err}"))
}

#[test]
fn the_face_elements_share_one_base_class_its_properties_and_its_pads() {
    common::init();
    let base = gst::glib::Type::from_name("GstLvFaceFilter").expect("the base class is registered");
    for name in FACE_ELEMENTS {
        let element = make(name);
        assert!(element.type_().is_a(base), "{name} is a GstLvFaceFilter");
        for property in ["min-face-size", "max-faces", "every-nth", "post-messages"] {
            let spec = element.find_property(property).unwrap_or_else(|| panic!("{name} has {property}"));
            assert_eq!(spec.owner_type(), base, "{name}'s {property} is the base class's");
        }
        assert_eq!(
            (
                element.property::<u32>("min-face-size"),
                element.property::<u32>("max-faces"),
                element.property::<u32>("every-nth")
            ),
            (0, 10, 1),
            "{name}'s defaults"
        );
        element.set_property("max-faces", 3u32);
        assert_eq!(element.property::<u32>("max-faces"), 3);
        assert!(element.static_pad("sink").is_some() && element.static_pad("src").is_some(), "{name}'s pads");
    }
    // Each instance keeps its own values.
    let (a, b) = (make("lvantispoof"), make("lvantispoof"));
    a.set_property("min-face-size", 50u32);
    assert_eq!((a.property::<u32>("min-face-size"), b.property::<u32>("min-face-size")), (50, 0));
    // The other elements are not face filters and do not have its properties.
    for name in ["lvchallenge", "lvjwtsink"] {
        assert!(!make(name).type_().is_a(base), "{name}");
        assert!(make(name).find_property("max-faces").is_none(), "{name}");
    }
}
