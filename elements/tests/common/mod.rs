//! Helpers shared by the integration tests: plugin registration, fixtures, and running a
//! launch line to the end while collecting what reaches its appsink.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;

use gst::prelude::*;

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstliveness::plugin_register_static().expect("liveness plugin registers");
    });
}

/// A file in tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("tests").join("fixtures").join(name)
}

/// A launch-line fragment decoding a still image fixture into `frames` raw frames of `caps`.
pub fn still(name: &str, caps: &str, frames: u32) -> String {
    format!(
        "filesrc location={} ! decodebin ! videoconvert ! videoscale ! {caps} ! imagefreeze num-buffers={frames}",
        fixture(name).display()
    )
}

/// What a pipeline run gave: the buffers each appsink received and the element messages.
pub struct Run {
    pub buffers: Vec<(String, gst::Buffer)>,
    pub messages: Vec<gst::Structure>,
}

impl Run {
    pub fn buffers_of(&self, sink: &str) -> Vec<&gst::Buffer> {
        self.buffers.iter().filter(|(name, _)| name == sink).map(|(_, b)| b).collect()
    }
}

/// Runs `launch` to EOS. Every appsink in it must be named and have `sync=false`.
pub fn run(launch: &str) -> Result<Run, String> {
    init();
    let pipeline = gst::parse::launch(launch)
        .map_err(|err| err.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let buffers = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for element in pipeline.iterate_sinks().into_iter().flatten() {
        if let Ok(appsink) = element.clone().downcast::<gst_app::AppSink>() {
            let name = appsink.name().to_string();
            let buffers = buffers.clone();
            appsink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |sink| {
                        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        if let Some(buffer) = sample.buffer_owned() {
                            buffers.lock().unwrap().push((name.clone(), buffer));
                        }
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        }
    }
    let bus = pipeline.bus().expect("pipeline has a bus");
    let mut messages = Vec::new();
    let result = pipeline.set_state(gst::State::Playing);
    let outcome = match result {
        Err(_) => Err(first_error(&bus).unwrap_or_else(|| "state change failed".into())),
        Ok(_) => loop {
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(60)) else {
                break Err("no EOS within 60 s".into());
            };
            match msg.view() {
                gst::MessageView::Eos(_) => break Ok(()),
                gst::MessageView::Error(err) => break Err(format!("{} ({:?})", err.error(), err.debug())),
                gst::MessageView::Element(element) => {
                    if let Some(s) = element.structure() {
                        messages.push(s.to_owned());
                    }
                }
                _ => {}
            }
        },
    };
    let _ = pipeline.set_state(gst::State::Null);
    outcome?;
    let buffers = std::mem::take(&mut *buffers.lock().unwrap());
    Ok(Run { buffers, messages })
}

fn first_error(bus: &gst::Bus) -> Option<String> {
    while let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
        if let gst::MessageView::Error(err) = msg.view() {
            return Some(format!("{} ({:?})", err.error(), err.debug()));
        }
    }
    None
}
