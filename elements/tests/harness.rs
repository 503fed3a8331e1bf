//! Each in-place element driven through `gst_check::Harness`: the caps it accepts and those it
//! refuses, a flush in the middle of a stream, the end of stream, and lvchallenge's `reset`.
//! Frames are the astronaut photo (tests/fixtures/README.md).

mod common;

use gst::prelude::*;
use gst_check::Harness;
use gstliveness::meta::FaceMeta;

/// Every in-place element, behind the lvfacedetect it needs.
const CHAINS: [&str; 5] = [
    "lvfacedetect",
    "lvfacedetect ! lvlandmarks",
    "lvfacedetect ! lvantispoof",
    "lvfacedetect ! lvsurfaceanalysis",
    "lvfacedetect ! lvchallenge",
];

const FRAME_NS: u64 = 100_000_000;

fn astronaut_rgb() -> (Vec<u8>, u32, u32) {
    let image = image::open(common::fixture("astronaut.png")).expect("astronaut.png").to_rgb8();
    let (width, height) = image.dimensions();
    (image.into_raw(), width, height)
}

fn harness(chain: &str) -> (Harness, Vec<u8>) {
    common::init();
    let (rgb, width, height) = astronaut_rgb();
    let mut h = Harness::new_parse(chain);
    h.set_src_caps_str(&format!("video/x-raw,format=RGB,width={width},height={height},framerate=10/1"));
    (h, rgb)
}

fn frame(rgb: &[u8], index: u64) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_slice(rgb.to_vec());
    let b = buffer.get_mut().expect("a new buffer is writable");
    b.set_pts(gst::ClockTime::from_nseconds(index * FRAME_NS));
    b.set_duration(gst::ClockTime::from_nseconds(FRAME_NS));
    buffer
}

/// Pushes frame `index` and returns the faces on what comes out.
fn push_and_pull(h: &mut Harness, rgb: &[u8], index: u64) -> Vec<liveness_core::face::Face> {
    h.push(frame(rgb, index)).unwrap_or_else(|err| panic!("frame {index}: {err:?}"));
    let out = h.pull().expect("the frame comes out");
    out.meta::<FaceMeta>().map(|m| m.faces().to_vec()).expect("a FaceMeta on the frame")
}

#[test]
fn every_element_passes_frames_in_place_through_a_flush() {
    for chain in CHAINS {
        let (mut h, rgb) = harness(chain);
        assert_eq!(push_and_pull(&mut h, &rgb, 0).len(), 1, "{chain}");
        assert!(h.push_event(gst::event::FlushStart::new()), "{chain}: flush-start");
        assert!(h.push_event(gst::event::FlushStop::new(true)), "{chain}: flush-stop");
        assert!(h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new())), "{chain}");
        // After the flush the element takes frames again, from time 0.
        let faces = push_and_pull(&mut h, &rgb, 0);
        assert_eq!(faces.len(), 1, "{chain}: after the flush");
        assert_eq!(faces[0].track_id, 1, "{chain}: tracks start again after the flush");
    }
}

#[test]
fn every_element_forwards_the_end_of_stream() {
    for chain in CHAINS {
        let (mut h, rgb) = harness(chain);
        push_and_pull(&mut h, &rgb, 0);
        assert!(h.push_event(gst::event::Eos::new()), "{chain}");
        let mut saw_eos = false;
        while let Some(event) = h.try_pull_event() {
            saw_eos |= event.type_() == gst::EventType::Eos;
        }
        assert!(saw_eos, "{chain}: EOS reaches downstream");
    }
}

#[test]
fn formats_outside_the_templates_are_not_negotiated() {
    for chain in CHAINS {
        common::init();
        let mut h = Harness::new_parse(chain);
        h.set_src_caps_str("video/x-raw,format=GRAY16_LE,width=64,height=64,framerate=10/1");
        let result = h.push(gst::Buffer::from_slice(vec![0u8; 64 * 64 * 2]));
        assert_eq!(result, Err(gst::FlowError::NotNegotiated), "{chain}");
    }
}

#[test]
fn lvchallenge_reset_starts_a_new_session_after_a_verdict() {
    let (mut h, rgb) = harness("lvfacedetect ! lvchallenge name=challenge timeout=1");
    let bin = h.element().expect("the harness' bin").downcast::<gst::Bin>().expect("a bin");
    let challenge = bin.by_name("challenge").expect("lvchallenge");
    push_and_pull(&mut h, &rgb, 0);
    // Past the 1 ms session timeout: the session has its (failed) verdict.
    let state = |faces: Vec<liveness_core::face::Face>| faces[0].challenge.clone().expect("the challenge state");
    assert_eq!(state(push_and_pull(&mut h, &rgb, 1)).verdict, Some(false));
    assert_eq!(state(push_and_pull(&mut h, &rgb, 2)).verdict, Some(false), "the verdict stands until reset");
    challenge.emit_by_name::<()>("reset", &[]);
    let after = state(push_and_pull(&mut h, &rgb, 3));
    assert_eq!((after.verdict, after.passed), (None, 0), "{after:?}");
}

/// The tokens and their `is_ok` as lvjwtsink's `verdict` signal hands them out.
type Verdicts = std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>;

/// lvjwtsink behind lvfacedetect, and what its `verdict` signal hands out.
fn jwt_harness() -> (Harness, Vec<u8>, Verdicts) {
    let (h, rgb) = harness(
        "lvfacedetect ! lvjwtsink name=jwt min-age=0 key=harness-secret-that-is-long-enough-0123456789 session-id=h1",
    );
    let bin = h.element().expect("the harness' bin").downcast::<gst::Bin>().expect("a bin");
    let verdicts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = verdicts.clone();
    bin.by_name("jwt").expect("lvjwtsink").connect("verdict", false, move |args| {
        let token = args[1].get::<String>().unwrap_or_default();
        let is_ok = args[2].get::<bool>().unwrap_or(false);
        seen.lock().unwrap().push((token, is_ok));
        None
    });
    (h, rgb, verdicts)
}

#[test]
fn lvjwtsink_hands_out_one_verdict_at_the_end_of_stream_after_a_flush() {
    let (mut h, rgb, verdicts) = jwt_harness();
    for index in 0..3 {
        h.push(frame(&rgb, index)).expect("lvjwtsink takes the frame");
    }
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    assert!(h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new())));
    h.push(frame(&rgb, 0)).expect("frames are taken after the flush");
    assert!(verdicts.lock().unwrap().is_empty(), "no verdict before the stream ends");
    assert!(h.push_event(gst::event::Eos::new()));
    let verdicts = verdicts.lock().unwrap();
    assert_eq!(verdicts.len(), 1, "one verdict for the session");
    assert_eq!(verdicts[0].0.split('.').count(), 3, "a signed JWT");
}

#[test]
fn lvjwtsink_refuses_formats_outside_its_template() {
    let (mut h, _, _) = jwt_harness();
    h.set_src_caps_str("video/x-raw,format=GRAY16_LE,width=64,height=64,framerate=10/1");
    assert_eq!(h.push(gst::Buffer::from_slice(vec![0u8; 64 * 64 * 2])), Err(gst::FlowError::NotNegotiated));
}
