//! lvsurfaceanalysis on the real photos, on screen and print patterns laid over them, and on
//! blurred, darkened and over-exposed copies.

mod common;

use common::{fixture, run, still};
use gst::prelude::*;
use gstliveness::meta::FaceMeta;
use liveness_core::face::Face;

fn analysed(head: &str) -> Vec<Face> {
    let run = run(&format!("{head} ! lvfacedetect ! lvsurfaceanalysis ! appsink name=out sync=false"))
        .expect("pipeline runs");
    run.buffers_of("out").iter().map(|b| b.meta::<FaceMeta>().expect("FaceMeta").faces()[0].clone()).collect()
}

fn photo(name: &str, pre: &str) -> Face {
    analysed(&format!("{} ! {pre} ! videoconvert ! video/x-raw,format=I420", still(name, "video/x-raw,format=RGB", 1)))
        [0]
    .clone()
}

/// The astronaut with a videotestsrc pattern blended over it at `alpha`.
fn overlaid(pattern: &str, alpha: f32) -> Face {
    analysed(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imagefreeze num-buffers=1 ! mix.sink_0 \
         videotestsrc pattern={pattern} num-buffers=1 ! video/x-raw,width=512,height=512 ! mix.sink_1 \
         compositor name=mix sink_1::alpha={alpha} ! videoconvert ! video/x-raw,format=I420",
        fixture("astronaut.png").display()
    ))[0]
        .clone()
}

#[test]
fn real_faces_come_out_real() {
    for name in ["astronaut.png", "camera.png", "astronaut-eyes-closed.png", "astronaut-mouth-open.png"] {
        let face = photo(name, "identity");
        let surface = face.surface.expect("surface");
        assert!(surface.frame.is_real, "{name}: {surface:?}");
        assert!(surface.frame.confidence >= 0.5 && surface.session_ok, "{name}: {surface:?}");
        assert!(!surface.frame.moire_detected, "{name}: {surface:?}");
        let quality = face.quality.expect("quality");
        assert!(
            !quality.is_blurred && !quality.is_dark && !quality.is_highlighted && !quality.is_specular,
            "{name}: {quality:?}"
        );
    }
}

#[test]
fn screen_grating_and_halftone_patterns_are_caught() {
    // checkers-1: a pixel grid like a screen's; checkers-2: 2 px dots like a coarse halftone.
    for pattern in ["checkers-1", "checkers-2"] {
        let surface = overlaid(pattern, 0.25).surface.unwrap().frame;
        assert!(!surface.is_real, "{pattern}: {surface:?}");
        assert!(surface.moire_detected || surface.frequency_score <= 0.35, "{pattern}: {surface:?}");
        assert!(surface.confidence < 0.5, "{pattern}: {surface:?}");
    }
}

#[test]
fn blur_score_falls_as_the_face_is_blurred() {
    let scores: Vec<f32> = ["identity", "gaussianblur sigma=1", "gaussianblur sigma=2", "gaussianblur sigma=4"]
        .iter()
        .map(|pre| photo("astronaut.png", &format!("videoconvert ! {pre} ! videoconvert")).quality.unwrap().blur)
        .collect();
    assert!(scores.windows(2).all(|pair| pair[1] < pair[0]), "{scores:?}");
    assert!(scores[0] > 0.61 && scores[2] < 0.61, "{scores:?}");
}

#[test]
fn darkened_and_over_exposed_copies_are_flagged() {
    // Darker and darker copies (as far as the detector still finds the face).
    let darkness: Vec<f32> = ["0", "-0.35", "-0.5"]
        .iter()
        .map(|b| {
            photo("astronaut.png", &format!("videoconvert ! videobalance brightness={b}")).quality.unwrap().darkness
        })
        .collect();
    assert!(darkness.windows(2).all(|pair| pair[1] < pair[0]), "{darkness:?}");
    let dark = photo("astronaut.png", "videoconvert ! videobalance brightness=-0.5").quality.unwrap();
    assert!(dark.is_dark && !dark.is_highlighted, "{dark:?}");
    let bright = photo("astronaut.png", "videoconvert ! videobalance brightness=0.4").quality.unwrap();
    assert!(bright.is_highlighted && !bright.is_dark, "{bright:?}");
}

#[test]
fn running_score_and_messages_with_seed_names() {
    let run = run(&format!(
        "{} ! lvfacedetect ! lvsurfaceanalysis post-messages=true ! appsink name=out sync=false",
        still("astronaut.png", "video/x-raw,format=NV12", 3)
    ))
    .unwrap();
    let frames: Vec<u32> = run
        .buffers_of("out")
        .iter()
        .map(|b| b.meta::<FaceMeta>().unwrap().faces()[0].surface.unwrap().session_frames)
        .collect();
    assert_eq!(frames, vec![1, 2, 3]);
    let message = run.messages.iter().find(|m| m.name() == "lvsurfaceanalysis").expect("a message");
    let faces = message.get::<gst::List>("faces").unwrap();
    let face = faces.as_slice()[0].get::<gst::Structure>().unwrap();
    assert!(face.get::<f64>("sh_a_score").unwrap() > 0.3);
    assert!(!face.get::<bool>("ip_c_detected").unwrap());
    assert!(face.get::<f64>("sv_b_score").unwrap() > 0.35);
    assert_eq!(face.get::<&str>("pr_d_pattern").unwrap(), "natural");
    for field in [
        "skin-complexity",
        "frequency-score",
        "surface-score",
        "blur",
        "light",
        "darkness",
        "illumination",
        "specularity",
    ] {
        assert!(face.get::<f64>(field).is_ok(), "{field}");
    }
    for field in [
        "is-real",
        "moire-detected",
        "surface-ok",
        "is-blurred",
        "is-highlighted",
        "is-dark",
        "is-illuminated",
        "is-specular",
    ] {
        assert!(face.get::<bool>(field).is_ok(), "{field}");
    }
}

#[test]
fn thresholds_are_properties_with_seed_defaults() {
    common::init();
    let element = gst::ElementFactory::make("lvsurfaceanalysis").build().unwrap();
    for (name, default) in [
        ("lbp-threshold", 0.3),
        ("frequency-threshold", 0.35),
        ("gradient-min", 5.0),
        ("gradient-max", 30.0),
        ("high-freq-min", 0.01),
        ("high-freq-max", 0.15),
        ("moire-ratio", 0.3),
        ("reflectance-natural-min", 0.15),
        ("reflectance-natural-max", 0.5),
        ("reflectance-artificial-below", 0.1),
        ("reflectance-artificial-above", 0.7),
        ("min-surface-score", 0.4),
    ] {
        assert!((element.property::<f64>(name) - default).abs() < 1e-6, "{name}");
    }
    assert_eq!(element.property::<u32>("moire-rows"), 2);
    // A stricter LBP threshold than the face's complexity calls the same face a spoof.
    let run = run(&format!(
        "{} ! lvfacedetect ! lvsurfaceanalysis lbp-threshold=0.95 ! appsink name=out sync=false",
        still("astronaut.png", "video/x-raw,format=I420", 1)
    ))
    .unwrap();
    let surface = run.buffers_of("out")[0].meta::<FaceMeta>().unwrap().faces()[0].surface.unwrap();
    assert!(!surface.frame.is_real && !surface.session_ok, "{surface:?}");
}
