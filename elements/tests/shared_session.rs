//! A model is loaded once per process: a second pipeline, and a second element in the same
//! pipeline, reuse the first one's ONNX Runtime session. (Its own test binary, so no other
//! test loads models in this process.)

mod common;

use common::{run, still};
use gstliveness::model;

#[test]
fn pipelines_share_one_session_per_model_and_thread_setting() {
    assert_eq!(model::sessions_loaded(), 0);
    let launch =
        format!("{} ! lvfacedetect ! lvfacedetect ! fakesink", still("astronaut.png", "video/x-raw,format=I420", 2));
    run(&launch).expect("first pipeline runs");
    assert_eq!(model::sessions_loaded(), 1, "two elements, one session");
    run(&launch).expect("second pipeline runs");
    assert_eq!(model::sessions_loaded(), 1, "a second pipeline must not load the model again");

    // Two pipelines running at the same time, still one session.
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let launch = launch.clone();
            std::thread::spawn(move || run(&launch).map(|_| ()))
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread finishes").expect("pipeline runs");
    }
    assert_eq!(model::sessions_loaded(), 1);

    // Another thread setting is another session; the full-range model is another file.
    run(&format!(
        "{} ! lvfacedetect threads=2 ! lvfacedetect model=full ! fakesink",
        still("astronaut.png", "video/x-raw,format=I420", 1)
    ))
    .unwrap();
    assert_eq!(model::sessions_loaded(), 3);
}
