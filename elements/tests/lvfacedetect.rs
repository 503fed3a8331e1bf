//! lvfacedetect on real photos, in real pipelines.

mod common;

use common::{run, still};
use gstliveness::meta::FaceMeta;

#[test]
fn probe_astronaut() {
    let run = run(&format!("{} ! lvfacedetect post-messages=true ! appsink name=out sync=false", still("astronaut.png", "video/x-raw,format=I420", 2))).unwrap();
    for b in run.buffers_of("out") {
        println!("{:#?}", b.meta::<FaceMeta>());
    }
    println!("{:?}", run.messages);
}
