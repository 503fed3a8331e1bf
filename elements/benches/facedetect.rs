//! `make bench`: time per 640x480 frame of lvfacedetect (both models) and of the opencv
//! `facedetect` element (gstreamer1.0-opencv) on the same frames, in one run, one thread each;
//! then the cost per face of lvlandmarks, lvantispoof and lvsurfaceanalysis and of the chain.
//! Prints wall time and CPU time per frame and the process's peak memory. The process is
//! pinned to one core and lvfacedetect runs with threads=1, so both are measured on one core.

use std::time::{Duration, Instant};

use gst::prelude::*;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

fn fixture(name: &str) -> String {
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Decodes a photo into one 640x480 frame of `format` (aspect kept, borders added).
fn render(photo: &str, format: &str) -> (gst::Caps, gst::Buffer) {
    let launch = format!(
        "filesrc location={} ! decodebin ! videoconvert ! videoscale add-borders=true ! \
         video/x-raw,format={format},width={WIDTH},height={HEIGHT},pixel-aspect-ratio=1/1 ! appsink name=out",
        fixture(photo)
    );
    let pipeline =
        gst::parse::launch(&launch).expect("render pipeline").downcast::<gst::Pipeline>().expect("a pipeline");
    let sink = pipeline.by_name("out").expect("appsink").downcast::<gst_app::AppSink>().expect("an appsink");
    pipeline.set_state(gst::State::Playing).expect("render pipeline plays");
    let sample = sink.pull_sample().expect("one frame");
    pipeline.set_state(gst::State::Null).expect("render pipeline stops");
    (sample.caps().expect("caps").to_owned(), sample.buffer_owned().expect("buffer"))
}

fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc_rusage>::zeroed();
    // SAFETY: getrusage fills the struct. RUSAGE_SELF (0): every thread of the process, so
    // work an element hands to helper threads is counted too.
    let usage = unsafe {
        getrusage(0, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: [i64; 2]| Duration::from_secs(t[0] as u64) + Duration::from_micros(t[1] as u64);
    tv(usage.utime) + tv(usage.stime)
}

#[repr(C)]
struct libc_rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut libc_rusage) -> i32;
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

struct Timing {
    wall_ms: f64,
    cpu_ms: f64,
    median_ms: f64,
    faces: usize,
}

/// Pushes the frames through `element` in a Harness (same thread, synchronous) `rounds` times.
fn time_element(description: &str, frames: &[(gst::Caps, gst::Buffer)], rounds: usize) -> Timing {
    let mut harness = gst_check::Harness::new_parse(description);
    harness.set_src_caps(frames[0].0.clone());
    harness.play();
    let mut faces = 0;
    // Warm-up: model load, first-run allocations.
    for (_, buffer) in frames {
        harness.push(buffer.copy()).expect("warm-up push");
        let _ = harness.pull();
    }
    let mut per_frame = Vec::with_capacity(rounds * frames.len());
    let (wall_start, cpu_start) = (Instant::now(), cpu_time());
    for _ in 0..rounds {
        for (_, buffer) in frames {
            let start = Instant::now();
            harness.push(buffer.copy()).expect("push");
            per_frame.push(start.elapsed().as_secs_f64() * 1000.0);
            if let Ok(out) = harness.pull() {
                faces += out.iter_meta::<gst_video::VideoRegionOfInterestMeta>().count();
            }
        }
    }
    let count = per_frame.len() as f64;
    let wall_ms = wall_start.elapsed().as_secs_f64() * 1000.0 / count;
    let cpu_ms = (cpu_time() - cpu_start).as_secs_f64() * 1000.0 / count;
    // opencv facedetect reports faces as bus messages, not metas: count them from the bus.
    if let Some(bus) =
        harness.element().and_then(|e| e.parent()).and_then(|p| p.downcast::<gst::Bin>().ok()).and_then(|b| b.bus())
    {
        while let Some(msg) = bus.pop() {
            if let gst::MessageView::Element(m) = msg.view()
                && let Some(faces_list) = m.structure().and_then(|s| s.get::<gst::List>("faces").ok())
            {
                faces += faces_list.len();
            }
        }
    }
    per_frame.sort_by(f64::total_cmp);
    Timing { wall_ms, cpu_ms, median_ms: per_frame[per_frame.len() / 2], faces }
}

fn main() {
    // Both detectors on one core: OpenCV would otherwise spread its cascade over every core.
    // Threads started later inherit the affinity.
    let first_core: u64 = 1;
    // SAFETY: the mask outlives the call and its size is passed.
    if unsafe { sched_setaffinity(0, std::mem::size_of::<u64>(), &first_core) } != 0 {
        println!("note: could not pin the process to one core; opencv may use several");
    }
    gst::init().expect("GStreamer initialises");
    gstliveness::plugin_register_static().expect("liveness plugin registers");
    let photos = ["astronaut.png", "coffee.png"];

    let i420: Vec<_> = photos.iter().map(|p| render(p, "I420")).collect();
    let rgb: Vec<_> = photos.iter().map(|p| render(p, "RGB")).collect();
    let rounds_fast = 100;
    let rounds_slow = 10;

    println!(
        "frames: {WIDTH}x{HEIGHT}, {} photos (a face, no face); cpu ms counts every thread of the process",
        photos.len()
    );
    println!("{:<44} {:>9} {:>9} {:>9} {:>7}", "element", "wall ms", "cpu ms", "median", "faces");
    let mut rows = Vec::new();
    for (label, description, frames, rounds) in [
        ("lvfacedetect model=short (I420)", "lvfacedetect model=short threads=1", &i420, rounds_fast),
        ("lvfacedetect model=short (RGB)", "lvfacedetect model=short threads=1", &rgb, rounds_fast),
        ("lvfacedetect model=full (I420)", "lvfacedetect model=full threads=1", &i420, rounds_fast),
        (
            "opencv facedetect (RGB, default cascades)",
            "facedetect updates=every_frame display=false",
            &rgb,
            rounds_slow,
        ),
    ] {
        if gst::ElementFactory::find(description.split_whitespace().next().unwrap_or_default()).is_none() {
            println!("{label:<44} not installed (apt-get install gstreamer1.0-opencv opencv-data)");
            continue;
        }
        let t = time_element(description, frames, rounds);
        println!("{label:<44} {:>9.2} {:>9.2} {:>9.2} {:>7}", t.wall_ms, t.cpu_ms, t.median_ms, t.faces);
        rows.push((label, t));
    }
    if let (Some(ours), Some(opencv)) = (
        rows.iter().find(|(l, _)| l.starts_with("lvfacedetect model=short (I420)")),
        rows.iter().find(|(l, _)| l.starts_with("opencv")),
    ) {
        println!(
            "lvfacedetect (short, I420) is {:.1}x faster than opencv facedetect by CPU time, {:.1}x by wall time",
            opencv.1.cpu_ms / ours.1.cpu_ms,
            opencv.1.wall_ms / ours.1.wall_ms
        );
    }
    // The face elements on the photo with one face: their cost per face is the chain's time
    // less the detector's.
    let one_face = &i420[..1];
    println!();
    println!("one face, 640x480 I420, {rounds_fast} frames");
    let detect_only = time_element("lvfacedetect", one_face, rounds_fast);
    println!("{:<44} {:>9.2} ms a frame", "lvfacedetect", detect_only.cpu_ms);
    for (label, chain) in [
        ("lvlandmarks (mesh + emotion) per face", "lvfacedetect ! lvlandmarks"),
        ("lvantispoof (fusion, the default) per face", "lvfacedetect ! lvantispoof"),
        ("lvantispoof model=both per face", "lvfacedetect ! lvantispoof model=both"),
        ("lvantispoof model=antispoof per face", "lvfacedetect ! lvantispoof model=antispoof"),
        ("lvantispoof model=liveness per face", "lvfacedetect ! lvantispoof model=liveness"),
        ("lvsurfaceanalysis (surface + quality) per face", "lvfacedetect ! lvsurfaceanalysis"),
    ] {
        let t = time_element(chain, one_face, rounds_fast);
        println!("{label:<44} {:>9.2} ms", t.cpu_ms - detect_only.cpu_ms);
    }
    let chain = time_element("lvfacedetect ! lvlandmarks ! lvantispoof", one_face, rounds_fast);
    println!("{:<44} {:>9.2} ms a frame", "lvfacedetect ! lvlandmarks ! lvantispoof", chain.cpu_ms);
    let full = time_element("lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis", one_face, rounds_fast);
    println!("{:<44} {:>9.2} ms a frame", "... ! lvsurfaceanalysis", full.cpu_ms);
    println!();

    for (label, frames) in [("I420", &i420), ("RGB", &rgb)] {
        let (caps, buffer) = &frames[0];
        let info = gst_video::VideoInfo::from_caps(caps).expect("raw video caps");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).expect("frame maps");
        let view = gstliveness::video::frame_view(&frame).expect("supported format");
        let letterbox = gstliveness::lvfacedetect::blazeface::Letterbox::new(WIDTH as usize, HEIGHT as usize, 128);
        let mut input = vec![0.0f32; 128 * 128 * 3];
        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            liveness_core::frame::resample_rgb(&view, &letterbox.affine(), 128, 128, &mut input, |v| v / 127.5 - 1.0);
        }
        println!(
            "of which reading the {label} frame into the 128x128 input: {:.3} ms",
            start.elapsed().as_secs_f64() * 1000.0 / rounds as f64
        );
    }
    // The surface checks on their own, on the 256x256 canvas of a real face.
    {
        use liveness_core::surface::*;
        let (caps, buffer) = &i420[0];
        let info = gst_video::VideoInfo::from_caps(caps).expect("raw video caps");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).expect("frame maps");
        let view = gstliveness::video::frame_view(&frame).expect("supported format");
        let map = liveness_core::frame::Affine { xu: 0.3, xv: 0.0, x0: 280.0, yu: 0.0, yv: 0.3, y0: 150.0 };
        let mut canvas = vec![0.0f32; SURFACE_CANVAS * SURFACE_CANVAS];
        let rounds = 200;
        let time = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            for _ in 0..rounds {
                f();
            }
            start.elapsed().as_secs_f64() * 1000.0 / rounds as f64
        };
        let luma =
            time(&mut || liveness_core::frame::resample_luma(&view, &map, SURFACE_CANVAS, SURFACE_CANVAS, &mut canvas));
        let native = canvas[..96 * 96].to_vec();
        let surface = time(&mut || {
            std::hint::black_box(analyse_surface(&canvas, SURFACE_CANVAS, &native, 96, &SurfaceThresholds::default()));
        });
        let quality = time(&mut || {
            std::hint::black_box(analyse_quality(&native, 96, &QualityThresholds::default()));
        });
        println!("surface analysis: luma canvas {luma:.3} ms, checks {surface:.3} ms, quality (96 px) {quality:.3} ms");
        // The same canvas from an RGB frame (lpserver's decoded JPEGs are RGB).
        let (caps, buffer) = &rgb[0];
        let info = gst_video::VideoInfo::from_caps(caps).expect("raw video caps");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).expect("frame maps");
        let view = gstliveness::video::frame_view(&frame).expect("supported format");
        let luma_rgb =
            time(&mut || liveness_core::frame::resample_luma(&view, &map, SURFACE_CANVAS, SURFACE_CANVAS, &mut canvas));
        println!("surface analysis: luma canvas from RGB {luma_rgb:.3} ms (from I420 {luma:.3} ms)");
    }
    // lvantispoof's PAD features on their own (the crop is read once for the CNNs anyway).
    {
        use liveness_core::face::{Face, Keypoints, Rect};
        let (caps, buffer) = &i420[0];
        let info = gst_video::VideoInfo::from_caps(caps).expect("raw video caps");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).expect("frame maps");
        let view = gstliveness::video::frame_view(&frame).expect("supported format");
        let face = Face::new(1, Rect { x: 250.0, y: 120.0, width: 180.0, height: 180.0 }, 0.9, Keypoints::default());
        let crop = liveness_core::crop::FaceCrop::axis_aligned(&face, 128).rgb_unit(&view);
        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(liveness_core::pad::features(&view, &face, &crop, 128));
        }
        let features_ms = start.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(liveness_core::crop::FaceCrop::axis_aligned(&face, 128).rgb_unit(&view));
        }
        let crop_ms = start.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        println!("lvantispoof: 128x128 face crop {crop_ms:.3} ms, PAD features (all eight) {features_ms:.3} ms a face");
    }
    // lvjwtsink's work: the age model on a good frame, and the JPEG of a 256 px best shot at
    // the verdict.
    {
        use gstliveness::{age, lvjwtsink::bestshot};
        use liveness_core::face::{Face, Keypoints, Rect};
        let (caps, buffer) = &i420[0];
        let info = gst_video::VideoInfo::from_caps(caps).expect("raw video caps");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).expect("frame maps");
        let view = gstliveness::video::frame_view(&frame).expect("supported format");
        let face = Face::new(1, Rect { x: 250.0, y: 120.0, width: 180.0, height: 180.0 }, 0.9, Keypoints::default());
        let rounds = 20;
        let model = age::AgeModel::DEFAULT;
        let path = gstliveness::model::locate(model.file_name(), None).expect("the age model");
        let shared = gstliveness::model::shared_session(&path, 1).expect("the age model loads");
        let _ = model.estimate(&shared, &view, &face);
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(model.estimate(&shared, &view, &face).expect("age"));
        }
        let age_ms = start.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        let shot = bestshot::BestShot::capture(&view, &face, bestshot::ShotScore::of(&face), 256, None);
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            bytes = std::hint::black_box(shot.jpeg(90).expect("jpeg")).len();
        }
        let jpeg_ms = start.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        let (name, side, most) = (model.name(), shot.crop_size, liveness_core::age::MAX_AGE_FRAMES);
        println!(
            "lvjwtsink: {name} age {age_ms:.2} ms a good frame (at most {most} a session), \
             best shot JPEG ({side}x{side}, {bytes} bytes) {jpeg_ms:.2} ms at the verdict"
        );
    }
    println!("peak resident memory of the whole run: {:.1} MiB", peak_rss_mib());
}
