//! The scripts of pipelines/ run as a user runs them: the file pipeline on the rendered clip,
//! the RTSP pipeline against an RTSP server of the test's own on 127.0.0.1 (the
//! gstreamer-rtsp-server crate), the appsrc form on the clip's JPEG frames; the camera
//! pipeline's launch lines parsed (there is no camera here) and its missing-device error; every
//! script's --help and refusals.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{KEY, clip_jpegs, plugin_dir, root, scratch, verify};
use gst::prelude::*;
use gst_rtsp_server::prelude::*;

const SEQUENCE: &str = "turn_left,look_up,turn_right";

/// Runs `pipelines/<script>` with the plugin of this build, a registry of its own and the test
/// key (unless `key` is false).
fn script(name: &str, args: &[&str], key: bool) -> Output {
    let dir = scratch("registry");
    let mut command = Command::new(root().join("pipelines").join(name));
    command
        .args(args)
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", dir.join("registry.bin"))
        .env_remove("LIVENESS_JWT_SECRET");
    if key {
        command.env("LIVENESS_JWT_SECRET", KEY);
    }
    let output = command.output().unwrap_or_else(|err| panic!("{name} runs: {err}"));
    let _ = std::fs::remove_dir_all(dir);
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// The token a script printed: it verifies with the key, says the session passed the clip's
/// sequence.
fn assert_passed(name: &str, output: &Output) {
    assert!(output.status.success(), "{name}: {}", text(&output.stderr));
    let token = text(&output.stdout).trim().to_string();
    let claims = verify(&token);
    assert_eq!(claims["isOk"], true, "{name}: {claims}");
    assert_eq!(claims["challenges"]["sequence"], serde_json::json!(["turn_left", "look_up", "turn_right"]));
    assert!(text(&output.stderr).contains("verdict: isOk true, errors []"), "{}", text(&output.stderr));
}

#[test]
fn the_file_pipeline_prints_a_token_for_the_rendered_clip() {
    let clip = root().join("tests/fixtures/demo-session.webm");
    let clip = clip.to_str().unwrap();
    let output = script("file.sh", &["--input", clip, "--sequence", SEQUENCE, "--min-age", "0"], true);
    assert_passed("file.sh", &output);

    // Refusals say what is wrong.
    let output = script("file.sh", &["--input", clip], false);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no signing key"), "{}", text(&output.stderr));
    let output = script("file.sh", &["--input", "/nonexistent/clip.webm"], true);
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("no file /nonexistent/clip.webm"), "{}", text(&output.stderr));
    let output = script("file.sh", &["--input", root().join("README.md").to_str().unwrap()], true);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("ended without a verdict") && stderr.contains("ERROR"), "{stderr}");
    let output = script("file.sh", &["--input", clip, "--sequence", "turn_left;rm"], true);
    assert_eq!(output.status.code(), Some(2));
}

/// An RTSP server on 127.0.0.1 streaming the clip's frames as MJPEG at 7 frames a second (a
/// debug build analyses about that many, so every held pose is seen long enough); returns its
/// URL.
struct RtspServer {
    main_loop: gst::glib::MainLoop,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RtspServer {
    fn start(frames: &Path) -> (RtspServer, String) {
        lpserver::init_gstreamer().unwrap();
        let server = gst_rtsp_server::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service("0");
        let factory = gst_rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(&format!(
            "( imagesequencesrc location={}/%05d.jpg framerate=7/1 ! jpegparse ! rtpjpegpay name=pay0 pt=26 )",
            frames.display()
        ));
        server.mount_points().unwrap().add_factory("/clip", factory);
        let context = gst::glib::MainContext::new();
        server.attach(Some(&context)).expect("the RTSP server listens");
        let port = server.bound_port();
        let main_loop = gst::glib::MainLoop::new(Some(&context), false);
        let running = main_loop.clone();
        let thread = std::thread::spawn(move || {
            let _server = server;
            context.with_thread_default(|| running.run()).unwrap();
        });
        (RtspServer { main_loop, thread: Some(thread) }, format!("rtsp://127.0.0.1:{port}/clip"))
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn the_rtsp_pipeline_reaches_a_verdict_from_a_local_server() {
    let frames = clip_frames();
    let (_server, url) = RtspServer::start(&frames);
    let output = script("rtsp.sh", &["--location", &url, "--sequence", SEQUENCE, "--min-age", "0"], true);
    assert_passed("rtsp.sh", &output);

    let output = script("rtsp.sh", &["--location", "http://127.0.0.1/x"], true);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not an rtsp://"), "{}", text(&output.stderr));
    let output = script("rtsp.sh", &["--location", &url, "--protocol", "sctp"], true);
    assert_eq!(output.status.code(), Some(2));
}

/// The clip's frames as numbered JPEG files in a scratch folder.
fn clip_frames() -> PathBuf {
    let dir = scratch("frames");
    for (i, jpeg) in clip_jpegs().iter().enumerate() {
        std::fs::write(dir.join(format!("{i:05}.jpg")), jpeg).unwrap();
    }
    dir
}

/// The launch line a script's --dry-run prints, parsed as gst-launch-1.0 would.
fn parse_dry_run(name: &str, args: &[&str]) -> gst::Element {
    let output = script(name, args, false);
    assert!(output.status.success(), "{name} {args:?}: {}", text(&output.stderr));
    let line = text(&output.stdout);
    let description = line.trim().strip_prefix("gst-launch-1.0 -e ").expect("a gst-launch-1.0 line");
    lpserver::init_gstreamer().unwrap();
    gst::parse::launch(description).unwrap_or_else(|err| panic!("{name} {args:?}: {err}\n{description}"))
}

#[test]
fn the_camera_pipeline_parses_for_every_format_and_names_a_missing_device() {
    for format in ["auto", "mjpeg", "raw"] {
        let pipeline = parse_dry_run("camera.sh", &["--dry-run", "--format", format, "--size", "1280x720"]);
        let pipeline = pipeline.downcast::<gst::Bin>().unwrap();
        let source = pipeline.iterate_sources().into_iter().flatten().next().expect("a source");
        assert_eq!(source.factory().unwrap().name(), "v4l2src");
        assert_eq!(source.property::<String>("device"), "/dev/video0");
        let names: Vec<String> = pipeline
            .iterate_recurse()
            .into_iter()
            .flatten()
            .filter_map(|e| e.factory().map(|f| f.name().to_string()))
            .collect();
        for element in ["lvfacedetect", "lvlandmarks", "lvantispoof", "lvsurfaceanalysis", "lvchallenge", "lvjwtsink"] {
            assert!(names.iter().any(|n| n == element), "{format}: {names:?}");
        }
        assert_eq!(names.iter().any(|n| n == "jpegdec"), format == "mjpeg", "{names:?}");
    }
    // With the prompt on screen, and on another device.
    let pipeline = parse_dry_run("camera.sh", &["--dry-run", "--display", "--mirrored", "--device", "/dev/video2"]);
    let pipeline = pipeline.downcast::<gst::Bin>().unwrap();
    let challenge = pipeline
        .iterate_recurse()
        .into_iter()
        .flatten()
        .find(|e| e.factory().is_some_and(|f| f.name() == "lvchallenge"))
        .unwrap();
    assert!(challenge.property::<bool>("draw") && challenge.property::<bool>("mirrored"));

    let output = script("camera.sh", &["--device", "/dev/video-lv-missing"], true);
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("no camera at /dev/video-lv-missing"), "{}", text(&output.stderr));
    let readme = root().join("README.md");
    let output = script("camera.sh", &["--device", readme.to_str().unwrap()], true);
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("README.md is not a video device"), "{}", text(&output.stderr));
    let output = script("camera.sh", &["--size", "big"], true);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_appsrc_form_prints_a_token_for_the_clips_frames() {
    let dir = clip_frames();
    let frames = dir.to_str().unwrap();
    let args = ["--frames", frames, "--fps", "30", "--sequence", SEQUENCE, "--min-age", "0"];
    assert_passed("appsrc.py", &script("appsrc.py", &args, true));
    let output = script("appsrc.py", &["--frames", frames], false);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no signing key"), "{}", text(&output.stderr));
    let output = script("appsrc.py", &["--frames", "/nonexistent"], true);
    assert_eq!(output.status.code(), Some(3));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_script_explains_itself_and_refuses_unknown_arguments() {
    for (name, mentions) in [
        ("camera.sh", "--device"),
        ("rtsp.sh", "--location"),
        ("file.sh", "--input"),
        ("appsrc.py", "--frames"),
        ("glue-session.sh", "--session"),
    ] {
        let output = script(name, &["--help"], false);
        assert!(output.status.success(), "{name} --help");
        let help = text(&output.stdout);
        assert!(help.contains(mentions) && help.to_lowercase().contains("usage"), "{name}: {help}");
        let output = script(name, &["--no-such-option"], true);
        assert_eq!(output.status.code(), Some(2), "{name}");
    }
    // Without the plugin on the path, the scripts say how to find it.
    let output = Command::new(root().join("pipelines/file.sh"))
        .args(["--input", root().join("tests/fixtures/demo-session.webm").to_str().unwrap()])
        .env("GST_PLUGIN_PATH", "/nonexistent")
        .env("GST_PLUGIN_SYSTEM_PATH", "/nonexistent")
        .env("GST_REGISTRY", scratch("empty").join("registry.bin"))
        .env("LIVENESS_JWT_SECRET", KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("the liveness plugin is not found"), "{}", text(&output.stderr));
}
