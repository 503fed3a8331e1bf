//! Without the ONNX Runtime library the plugin still registers and its elements still
//! instantiate; starting one fails with an error that says what to do. (Its own test binary:
//! the library is looked up once per process.)

mod common;

use common::{run, still};

#[test]
fn missing_onnx_runtime_is_an_element_error_not_a_crash() {
    // SAFETY: the only test of this binary sets it before any thread reads the environment.
    unsafe { std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.32.0") };
    common::init();
    assert!(gst::ElementFactory::make("lvfacedetect").build().is_ok());
    let err = run(&format!("{} ! lvfacedetect ! fakesink", still("astronaut.png", "video/x-raw,format=I420", 1)))
        .err()
        .expect("the pipeline must fail to start");
    assert!(err.contains("ONNX Runtime library could not be loaded"), "{err}");
    assert!(err.contains("/nonexistent/libonnxruntime.so.1.32.0"), "{err}");
    assert!(err.contains("ORT_DYLIB_PATH"), "{err}");
    // A second attempt gives the same answer rather than crashing.
    let again =
        run(&format!("{} ! lvfacedetect ! fakesink", still("astronaut.png", "video/x-raw,format=I420", 1))).err();
    assert_eq!(again.as_deref().map(|e| e.contains("could not be loaded")), Some(true));
}
