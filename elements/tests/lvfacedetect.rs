//! lvfacedetect on real photos, in real pipelines.

mod common;

use common::{fixture, run, still};
use gst::prelude::*;
use gstliveness::meta::FaceMeta;
use liveness_core::face::{Face, Rect};

/// Where the astronaut's face is in the 512x512 photo (read off the picture: hairline to chin,
/// ear to ear).
const ASTRONAUT_FACE: Rect = Rect { x: 172.0, y: 70.0, width: 105.0, height: 110.0 };

fn faces_of(buffer: &gst::Buffer) -> Vec<Face> {
    buffer.meta::<FaceMeta>().map(|m| m.faces().to_vec()).unwrap_or_default()
}

/// The faces of the first frame a `still` pipeline gives through lvfacedetect.
fn detect(image: &str, caps: &str, detector: &str) -> Vec<Face> {
    let run =
        run(&format!("{} ! {detector} ! appsink name=out sync=false", still(image, caps, 1))).expect("pipeline runs");
    let buffers = run.buffers_of("out");
    assert_eq!(buffers.len(), 1);
    faces_of(buffers[0])
}

#[test]
fn finds_the_astronaut_face_with_ordered_keypoints() {
    let faces = detect("astronaut.png", "video/x-raw,format=I420", "lvfacedetect");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = &faces[0];
    assert_eq!(face.track_id, 1);
    assert!(face.score > 0.8, "score {}", face.score);
    assert!(face.bbox.iou(&ASTRONAUT_FACE) > 0.5, "box {:?}", face.bbox);
    let k = face.keypoints;
    // Eyes above the nose above the mouth; the person's right eye on the image's left.
    assert!(k.right_eye.y < k.nose_tip.y && k.left_eye.y < k.nose_tip.y, "{k:?}");
    assert!(k.nose_tip.y < k.mouth.y, "{k:?}");
    assert!(k.right_eye.x < k.left_eye.x && k.right_ear.x < k.left_ear.x, "{k:?}");
    for point in [k.right_eye, k.left_eye, k.nose_tip, k.mouth] {
        assert!(face.bbox.contains(point), "{point:?} outside {:?}", face.bbox);
    }
}

#[test]
fn every_camera_format_gives_the_same_face() {
    let reference = detect("astronaut.png", "video/x-raw,format=I420", "lvfacedetect")[0].bbox;
    for format in ["NV12", "NV21", "YV12", "YUY2", "UYVY", "RGB", "BGR", "RGBA", "BGRx", "xRGB", "GRAY8"] {
        let faces = detect("astronaut.png", &format!("video/x-raw,format={format}"), "lvfacedetect");
        assert_eq!(faces.len(), 1, "{format}: {faces:?}");
        let centre = faces[0].bbox.center();
        let expected = reference.center();
        assert!(
            (centre.x - expected.x).abs() < 5.0 && (centre.y - expected.y).abs() < 5.0,
            "{format}: centre {centre:?}, I420 gave {expected:?}"
        );
        assert!((faces[0].bbox.width - reference.width).abs() < 4.0, "{format}: {:?} vs {reference:?}", faces[0].bbox);
    }
}

#[test]
fn a_false_face_in_clothing_is_no_second_person() {
    // The demo clip's first frame as Chromium's JPEG encoder gave it to the page: BlazeFace finds
    // the astronaut's face and, near its 0.5 floor, a face in her suit's neck ring half its width.
    let faces = detect("astronaut-page-frame.jpg", "video/x-raw,format=I420", "lvfacedetect");
    assert_eq!(faces.len(), 2, "{faces:?}");
    let false_face = faces.iter().find(|f| f.score < 0.7).expect("the suit's false face");
    assert!(false_face.bbox.width >= 0.4 * faces.iter().map(|f| f.bbox.width).fold(0.0, f32::max), "{faces:?}");
    let main = liveness_core::face::main_faces(&faces, liveness_core::face::MAIN_FACE_RATIO);
    assert_eq!(main.len(), 1, "{faces:?}");
    assert!(faces[main[0]].score > 0.9, "{faces:?}");
}

#[test]
fn no_face_on_a_face_free_photo() {
    let faces = detect("coffee.png", "video/x-raw,format=I420", "lvfacedetect");
    assert!(faces.is_empty(), "{faces:?}");
}

#[test]
fn wide_and_padded_frames_keep_their_geometry() {
    let reference = detect("astronaut.png", "video/x-raw,format=I420", "lvfacedetect")[0].bbox;
    // The photo padded 64 px on the left: a 576x512 landscape frame; the face moves right by
    // exactly 64 px and must be found there.
    let landscape = detect("astronaut.png", "video/x-raw,format=I420", "videobox left=-64 ! lvfacedetect");
    assert_eq!(landscape.len(), 1);
    assert!((landscape[0].bbox.center().x - (reference.center().x + 64.0)).abs() < 5.0, "{:?}", landscape[0].bbox);
    assert!((landscape[0].bbox.center().y - reference.center().y).abs() < 5.0, "{:?}", landscape[0].bbox);
    // Padded 64 px above: a 512x576 portrait frame.
    let portrait = detect("astronaut.png", "video/x-raw,format=I420", "videobox top=-64 ! lvfacedetect");
    assert_eq!(portrait.len(), 1);
    assert!((portrait[0].bbox.center().x - reference.center().x).abs() < 5.0, "{:?}", portrait[0].bbox);
    assert!((portrait[0].bbox.center().y - (reference.center().y + 64.0)).abs() < 5.0, "{:?}", portrait[0].bbox);
}

#[test]
fn full_range_model_finds_a_small_face() {
    // The photo shrunk to 192x192 inside a 640x480 frame: the face is about 35 px wide, a
    // twentieth of the frame.
    let caps = "video/x-raw,format=I420,width=192,height=192";
    let pad = "videobox left=-300 right=-148 top=-200 bottom=-88";
    let faces = detect("astronaut.png", caps, &format!("{pad} ! lvfacedetect model=full"));
    assert_eq!(faces.len(), 1, "{faces:?}");
    let s = 192.0 / 512.0;
    let shifted = Rect {
        x: ASTRONAUT_FACE.x * s + 300.0,
        y: ASTRONAUT_FACE.y * s + 200.0,
        width: ASTRONAUT_FACE.width * s,
        height: ASTRONAUT_FACE.height * s,
    };
    assert!(faces[0].bbox.iou(&shifted) > 0.4, "{:?} vs {shifted:?}", faces[0].bbox);
    // min-face-size drops it again.
    assert!(detect("astronaut.png", caps, &format!("{pad} ! lvfacedetect model=full min-face-size=40")).is_empty());
}

#[test]
fn track_id_stays_the_same_over_frames() {
    let run = run(&format!(
        "{} ! lvfacedetect ! appsink name=out sync=false",
        still("astronaut.png", "video/x-raw,format=NV12", 8)
    ))
    .unwrap();
    let buffers = run.buffers_of("out");
    assert_eq!(buffers.len(), 8);
    for buffer in buffers {
        let ids: Vec<u64> = faces_of(buffer).iter().map(|f| f.track_id).collect();
        assert_eq!(ids, vec![1]);
    }
}

#[test]
fn meta_and_roi_survive_queue_and_tee() {
    let run = run(&format!(
        "{} ! lvfacedetect ! tee name=t t. ! queue ! appsink name=a sync=false t. ! queue ! videoconvert ! appsink name=b sync=false",
        still("astronaut.png", "video/x-raw,format=I420", 2)
    ))
    .unwrap();
    for sink in ["a", "b"] {
        let buffers = run.buffers_of(sink);
        assert_eq!(buffers.len(), 2, "{sink}");
        for buffer in buffers {
            let faces = faces_of(buffer);
            assert_eq!(faces.len(), 1, "{sink}");
            let rois: Vec<_> = buffer.iter_meta::<gst_video::VideoRegionOfInterestMeta>().collect();
            assert_eq!(rois.len(), 1, "{sink}");
            assert_eq!(rois[0].roi_type(), "face");
            assert_eq!(rois[0].id(), 1);
            let (x, y, w, h) = rois[0].rect();
            assert!((x as f32 - faces[0].bbox.x).abs() <= 1.0 && (y as f32 - faces[0].bbox.y).abs() <= 1.0);
            assert!((w as f32 - faces[0].bbox.width).abs() <= 1.0 && (h as f32 - faces[0].bbox.height).abs() <= 1.0);
            let param = rois[0].param("lvfacedetect").expect("detection parameters on the ROI");
            assert_eq!(param.get::<u64>("track-id").unwrap(), 1);
        }
    }
}

#[test]
fn videoscale_scales_the_face_meta() {
    let run = run(&format!(
        "{} ! lvfacedetect ! videoscale ! video/x-raw,width=256,height=256 ! appsink name=out sync=false",
        still("astronaut.png", "video/x-raw,format=I420,width=512,height=512", 1)
    ))
    .unwrap();
    let meta_frame = run.buffers_of("out")[0].meta::<FaceMeta>().expect("meta kept by videoscale").frame().clone();
    assert_eq!((meta_frame.width, meta_frame.height), (256, 256));
    let reference = detect("astronaut.png", "video/x-raw,format=I420", "lvfacedetect")[0].bbox;
    let scaled = meta_frame.faces[0].bbox;
    assert!(
        (scaled.x - reference.x / 2.0).abs() < 0.01 && (scaled.width - reference.width / 2.0).abs() < 0.01,
        "{scaled:?} vs {reference:?}"
    );
}

#[test]
fn posts_face_messages_when_asked() {
    let launch = |post: bool| {
        format!(
            "{} ! lvfacedetect post-messages={post} ! fakesink",
            still("astronaut.png", "video/x-raw,format=I420", 3)
        )
    };
    let quiet = run(&launch(false)).unwrap();
    assert!(quiet.messages.iter().all(|m| m.name() != "lvfacedetect"));
    let loud = run(&launch(true)).unwrap();
    let messages: Vec<_> = loud.messages.iter().filter(|m| m.name() == "lvfacedetect").collect();
    assert_eq!(messages.len(), 3);
    for (i, message) in messages.iter().enumerate() {
        assert_eq!(message.get::<u32>("width").unwrap(), 512);
        assert_eq!(
            message.get::<Option<gst::ClockTime>>("timestamp").unwrap(),
            Some(gst::ClockTime::from_mseconds(40 * i as u64))
        );
        let faces = message.get::<gst::List>("faces").unwrap();
        assert_eq!(faces.len(), 1);
        let face = faces.as_slice()[0].get::<gst::Structure>().unwrap();
        assert_eq!(face.get::<u64>("track-id").unwrap(), 1);
        assert!(face.get::<f64>("score").unwrap() > 0.8);
        let eye = face.get::<gst::Array>("right-eye").unwrap();
        assert_eq!(eye.len(), 2);
        let width = face.get::<i32>("width").unwrap();
        assert!((80..110).contains(&width), "{width}");
    }
}

#[test]
fn missing_model_file_is_a_clear_error_at_start() {
    let err = run(&format!(
        "{} ! lvfacedetect model-location=/nonexistent/blazeface.onnx ! fakesink",
        still("astronaut.png", "video/x-raw,format=I420", 1)
    ))
    .err()
    .expect("the pipeline must fail");
    assert!(err.contains("/nonexistent/blazeface.onnx") && err.contains("not found"), "{err}");
}

#[test]
fn a_file_that_is_not_a_model_is_a_clear_error() {
    let not_a_model = fixture("coffee.png");
    let err = run(&format!(
        "{} ! lvfacedetect model-location={} ! fakesink",
        still("astronaut.png", "video/x-raw,format=I420", 1),
        not_a_model.display()
    ))
    .err()
    .expect("the pipeline must fail");
    assert!(err.contains("could not be loaded"), "{err}");
}

#[test]
fn properties_have_documented_defaults_and_ranges() {
    common::init();
    let element = gst::ElementFactory::make("lvfacedetect").build().unwrap();
    assert_eq!(
        element.property_value("model").get::<gstliveness::lvfacedetect::FaceDetectModel>().unwrap(),
        gstliveness::lvfacedetect::FaceDetectModel::Short
    );
    assert_eq!(element.property::<f64>("min-score"), 0.5);
    assert_eq!(element.property::<f64>("iou"), 0.3);
    assert_eq!(element.property::<u32>("max-faces"), 10);
    assert_eq!(element.property::<u32>("min-face-size"), 0);
    assert_eq!(element.property::<u32>("threads"), 1);
    assert!(!element.property::<bool>("post-messages"));
    assert_eq!(element.property::<Option<String>>("model-location"), None);
    element.set_property_from_str("model", "full");
    assert_eq!(
        element.property_value("model").get::<gstliveness::lvfacedetect::FaceDetectModel>().unwrap(),
        gstliveness::lvfacedetect::FaceDetectModel::Full
    );
    for pspec in element.list_properties() {
        if pspec.owner_type() == element.type_() {
            assert!(pspec.blurb().is_some_and(|b| b.len() > 20), "{} needs a blurb", pspec.name());
        }
    }
}

#[test]
fn plugin_loads_from_the_build_folder_in_gst_inspect() {
    let text = common::gst_tool("gst-inspect-1.0", &["liveness"], &[]);
    for element in ["lvfacedetect", "lvlandmarks", "lvantispoof", "lvsurfaceanalysis", "lvchallenge", "lvjwtsink"] {
        assert!(text.contains(element), "{element} missing from\n{text}");
    }
    assert!(text.contains("Liveness face detector"), "{text}");
}

#[test]
fn meta_survives_a_format_conversion() {
    let run = run(&format!(
        "{} ! lvfacedetect ! videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false",
        still("astronaut.png", "video/x-raw,format=I420,width=512,height=512", 1)
    ))
    .unwrap();
    let buffer = run.buffers_of("out")[0];
    assert_eq!(faces_of(buffer).len(), 1);
    assert_eq!(buffer.iter_meta::<gst_video::VideoRegionOfInterestMeta>().count(), 1);
}

/// Every model-loading element takes the path of each model it loads; a wrong one is an
/// error at start naming it, and a right one works.
#[test]
fn every_model_has_a_location_property() {
    let head = still("astronaut.png", "video/x-raw,format=I420", 1);
    for (chain, property) in [
        ("lvlandmarks", "mesh-model-location"),
        ("lvlandmarks", "emotion-model-location"),
        ("lvantispoof model=antispoof", "antispoof-model-location"),
        ("lvantispoof model=liveness", "liveness-model-location"),
        ("lvjwtsink location=/dev/null key=0123456789abcdef0123456789abcdef min-age=18", "age-model-location"),
    ] {
        let wrong = format!("/nonexistent/{property}.onnx");
        // lvjwtsink is a sink.
        let tail = if chain.starts_with("lvjwtsink") { "" } else { " ! fakesink" };
        let err = run(&format!("{head} ! lvfacedetect ! {chain} {property}={wrong}{tail}"))
            .err()
            .unwrap_or_else(|| panic!("{property}: the pipeline must fail"));
        assert!(err.contains(&wrong) && err.contains("not found"), "{property}: {err}");
    }
    let models = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    for (element, property, file) in [
        ("lvlandmarks", "mesh-model-location", "facemesh.onnx"),
        ("lvantispoof model=liveness", "liveness-model-location", "liveness.onnx"),
    ] {
        let path = models.join(file);
        assert!(
            run(&format!("{head} ! lvfacedetect ! {element} {property}={} ! fakesink", path.display())).is_ok(),
            "{property}"
        );
    }
}
