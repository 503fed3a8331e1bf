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
    run_with(launch, |_| {})
}

/// Like [`run`], with `setup` called on the pipeline before it starts (signal handlers).
pub fn run_with(launch: &str, setup: impl FnOnce(&gst::Pipeline)) -> Result<Run, String> {
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
    setup(&pipeline);
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

pub mod render;

/// Runs `program` (a GStreamer command-line tool, or a script calling one) with `args` and
/// `envs` on the plugin of the build folder and a registry of its own, and returns its
/// standard output; panics with both outputs when it fails.
pub fn gst_tool(program: impl AsRef<std::ffi::OsStr>, args: &[&str], envs: &[(&str, &str)]) -> String {
    // target/debug/deps/<test binary> -> target/debug
    let exe = std::env::current_exe().expect("test binary path");
    let build_dir = exe.parent().and_then(|deps| deps.parent()).expect("build folder").to_path_buf();
    assert!(build_dir.join("libgstliveness.so").exists(), "no libgstliveness.so in {}", build_dir.display());
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let registry = std::env::temp_dir().join(format!(
        "gst-liveness-registry-{}-{}.bin",
        std::process::id(),
        RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let program = program.as_ref();
    let output = std::process::Command::new(program)
        .args(args)
        .env("GST_PLUGIN_PATH", &build_dir)
        .env("GST_REGISTRY", &registry)
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|err| panic!("{} does not run: {err}", program.to_string_lossy()));
    let _ = std::fs::remove_file(&registry);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{} {}\n{text}\n{}",
        program.to_string_lossy(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// Runs `appsrc ! {chain} ! appsink name=out` over RGB frames (`width` x `height`, packed) at
/// `fps`, timestamped from 0, and returns what the sink received and the element messages.
pub fn run_frames(frames: &[Vec<u8>], width: usize, height: usize, fps: u32, chain: &str) -> Result<Run, String> {
    run_frames_with(frames, width, height, fps, &format!("{chain} ! appsink name=out sync=false"), |_| {})
}

/// Like [`run_frames`], with the pipeline's tail (sink included) given whole, and `setup`
/// called on the pipeline before it starts (bus handlers, signals). An appsink named `out`,
/// if there is one, is drained.
pub fn run_frames_with(
    frames: &[Vec<u8>],
    width: usize,
    height: usize,
    fps: u32,
    tail: &str,
    setup: impl FnOnce(&gst::Pipeline),
) -> Result<Run, String> {
    init();
    let launch = format!("appsrc name=src format=time ! {tail}");
    let pipeline = gst::parse::launch(&launch)
        .map_err(|err| err.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let src = pipeline.by_name("src").ok_or("no appsrc")?.downcast::<gst_app::AppSrc>().map_err(|_| "not an appsrc")?;
    let caps = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width as u32, height as u32)
        .fps(gst::Fraction::new(fps as i32, 1))
        .build()
        .map_err(|err| err.to_string())?
        .to_caps()
        .map_err(|err| err.to_string())?;
    src.set_caps(Some(&caps));
    let sink = pipeline.by_name("out").and_then(|e| e.downcast::<gst_app::AppSink>().ok());
    setup(&pipeline);
    let bus = pipeline.bus().expect("pipeline has a bus");
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| first_error(&bus).unwrap_or_else(|| "state change failed".into()))?;
    let frame_duration = gst::ClockTime::SECOND / fps as u64;
    let pusher = {
        let frames: Vec<Vec<u8>> = frames.to_vec();
        let src = src.clone();
        std::thread::spawn(move || {
            for (i, frame) in frames.into_iter().enumerate() {
                let mut buffer = gst::Buffer::from_mut_slice(frame);
                {
                    let buffer = buffer.get_mut().expect("new buffer is writable");
                    buffer.set_pts(frame_duration * i as u64);
                    buffer.set_duration(frame_duration);
                }
                if src.push_buffer(buffer).is_err() {
                    break;
                }
            }
            let _ = src.end_of_stream();
        })
    };
    let mut buffers = Vec::new();
    let mut messages = Vec::new();
    let mut outcome = Ok(());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        if let Some(sink) = &sink
            && let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(20))
        {
            if let Some(buffer) = sample.buffer_owned() {
                buffers.push(("out".to_string(), buffer));
            }
            continue;
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(20)) else {
            if std::time::Instant::now() > deadline {
                outcome = Err("no EOS within 300 s".into());
                break;
            }
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => {
                // Drain what the sink still holds.
                while let Some(sample) = sink.as_ref().and_then(|s| s.try_pull_sample(gst::ClockTime::ZERO)) {
                    if let Some(buffer) = sample.buffer_owned() {
                        buffers.push(("out".to_string(), buffer));
                    }
                }
                break;
            }
            gst::MessageView::Error(err) => {
                outcome = Err(format!("{} ({:?})", err.error(), err.debug()));
                break;
            }
            gst::MessageView::Element(element) => {
                if let Some(s) = element.structure() {
                    messages.push(s.to_owned());
                }
            }
            _ => {}
        }
    }
    let _ = pusher.join();
    let _ = pipeline.set_state(gst::State::Null);
    outcome?;
    Ok(Run { buffers, messages })
}

/// Decodes a fixture photo to RGB, and finds its face mesh with the plugin's own elements.
pub fn load_face(photo: &str) -> render::FaceModel {
    let p = photo_mesh(photo);
    render::FaceModel::new(p.width, p.height, p.pixels, p.points)
}

/// The same photo as a whole-head model ([`render::FaceModel::whole_head`]).
pub fn load_whole_head(photo: &str) -> render::FaceModel {
    let p = photo_mesh(photo);
    render::FaceModel::whole_head(p.width, p.height, p.pixels, p.points, p.head_pose)
}

/// A fixture photo as RGB pixels, with the face mesh lvlandmarks finds on it.
pub struct PhotoMesh {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<[f32; 3]>,
    pub points: Vec<[f32; 3]>,
    /// The mesh's head pose on the photo: yaw, pitch, roll in degrees.
    pub head_pose: [f32; 3],
}

impl PhotoMesh {
    /// The square of `side` pixels from (`x`, `y`), the mesh moved with it.
    pub fn crop(self, x: usize, y: usize, side: usize) -> PhotoMesh {
        assert!(x + side <= self.width && y + side <= self.height, "the crop lies inside the photo");
        let pixels = (0..side * side).map(|i| self.pixels[(y + i / side) * self.width + x + i % side]).collect();
        let points = self.points.iter().map(|p| [p[0] - x as f32, p[1] - y as f32, p[2]]).collect();
        PhotoMesh { width: side, height: side, pixels, points, head_pose: self.head_pose }
    }
}

pub fn photo_mesh(photo: &str) -> PhotoMesh {
    use gst_video::prelude::*;
    use gstliveness::meta::FaceMeta;
    init();
    let launch = format!(
        "{} ! lvfacedetect ! lvlandmarks ! appsink name=out sync=false",
        still(photo, "video/x-raw,format=RGB", 1)
    );
    let pipeline = gst::parse::launch(&launch).unwrap().downcast::<gst::Pipeline>().unwrap();
    let sink = pipeline.by_name("out").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let buffer = sample.buffer().unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).unwrap();
    let (width, height) = (info.width() as usize, info.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).unwrap();
    let photo: Vec<[f32; 3]> = (0..width * height)
        .map(|i| {
            let at = (i / width) * stride + (i % width) * 3;
            [data[at] as f32, data[at + 1] as f32, data[at + 2] as f32]
        })
        .collect();
    let meta = buffer.meta::<FaceMeta>().expect("FaceMeta");
    let face = &meta.faces()[0];
    let points = face.landmarks.as_ref().expect("a mesh on the photo").points.clone();
    let pose = face.head_pose.map_or([0.0; 3], |p| [p.yaw_degrees, p.pitch_degrees, p.roll_degrees]);
    PhotoMesh { width, height, pixels: photo, points, head_pose: pose }
}
