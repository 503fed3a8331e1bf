//! What the benchmarks share: the frame they measure on.

use gst::prelude::*;

/// One `width` x `height` frame of the astronaut photo (tests/fixtures) in `format`,
/// letterboxed, with its caps.
pub fn astronaut_frame(format: &str, width: u32, height: u32) -> (gst::Caps, gst::Buffer) {
    let launch = format!(
        "filesrc location={}/../tests/fixtures/astronaut.png ! decodebin ! videoconvert ! videoscale add-borders=true ! \
         video/x-raw,format={format},width={width},height={height},pixel-aspect-ratio=1/1 ! appsink name=out",
        env!("CARGO_MANIFEST_DIR")
    );
    let pipeline = gst::parse::launch(&launch).expect("render").downcast::<gst::Pipeline>().expect("a pipeline");
    let sink = pipeline.by_name("out").expect("appsink").downcast::<gst_app::AppSink>().expect("an appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let sample = sink.pull_sample().expect("one frame");
    pipeline.set_state(gst::State::Null).expect("stops");
    (sample.caps().expect("caps").to_owned(), sample.buffer_owned().expect("buffer"))
}
