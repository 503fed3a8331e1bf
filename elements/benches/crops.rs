//! `make bench`: time of the crops the models take, on one 640x480 frame of the astronaut
//! photo as I420 and as RGB (a face box of 200 pixels in the middle): the face mesh's upright
//! 192x192 crop, the anti-spoofing model's 128x128, BlazeFace's 128x128 letterbox of the whole
//! frame, and lvsurfaceanalysis' 256x256 luma canvas. Microseconds a crop, median of 9 runs of
//! `CROPS_RUNS` (default 200); `CROPS_ONLY=mesh` (a name's start) times only those crops and
//! `CROPS_FORMATS=I420` only that format (`scripts/crop-instructions.sh` counts instructions so).

mod common;

use std::time::Instant;

use gstliveness::lvfacedetect::blazeface::Letterbox;
use liveness_core::crop::FaceCrop;
use liveness_core::face::{Face, Keypoints, Point, Rect};
use liveness_core::frame::{resample_luma, resample_rgb};

const WIDTH: usize = 640;
const HEIGHT: usize = 480;

/// Calls a run (`CROPS_RUNS`, default 200: fewer under valgrind).
fn runs() -> usize {
    std::env::var("CROPS_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

/// Median microseconds of `f` over 9 runs of `runs()` calls.
fn micros(f: &mut dyn FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..runs() {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / runs() as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    gst::init().expect("GStreamer initialises");
    let (cx, cy, side) = (320.0, 220.0, 200.0);
    let keypoints = Keypoints {
        right_eye: Point { x: cx - 50.0, y: cy - 30.0 },
        left_eye: Point { x: cx + 50.0, y: cy - 25.0 },
        ..Keypoints::default()
    };
    let face = Face::new(1, Rect { x: cx - side / 2.0, y: cy - side / 2.0, width: side, height: side }, 0.9, keypoints);
    // CROPS_ONLY=NAME times the crops whose name starts with NAME (for instruction counts
    // under valgrind, which this host's timings need).
    let only = std::env::var("CROPS_ONLY").ok();
    println!(
        "crops of a {side}-pixel face in a {WIDTH}x{HEIGHT} frame, microseconds a crop (median of 9 x {})",
        runs()
    );
    let formats = std::env::var("CROPS_FORMATS").unwrap_or_else(|_| "I420 RGB".into());
    for format in formats.split_whitespace() {
        let (caps, buffer) = common::astronaut_frame(format, WIDTH as u32, HEIGHT as u32);
        let info = gst_video::VideoInfo::from_caps(&caps).expect("video caps");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(&buffer, &info).expect("maps");
        let view = gstliveness::video::frame_view(&frame).expect("a view");
        let mesh = FaceCrop::upright(&face, 1.4, 192);
        let antispoof = FaceCrop::axis_aligned(&face, 128);
        let letterbox = Letterbox::new(WIDTH, HEIGHT, 128).affine();
        let canvas = FaceCrop::around(&face, 0.8, 0.0, 256);
        let mut rgb = vec![0.0f32; 128 * 128 * 3];
        let mut luma = vec![0.0f32; 256 * 256];
        let mut crops: [(&str, &mut dyn FnMut()); 4] = [
            ("mesh 192 upright", &mut || drop(std::hint::black_box(mesh.rgb_unit(&view)))),
            ("anti-spoof 128", &mut || drop(std::hint::black_box(antispoof.rgb_unit(&view)))),
            ("letterbox 128", &mut || {
                resample_rgb(&view, &letterbox, 128, 128, std::hint::black_box(&mut rgb), |v| v / 127.5 - 1.0)
            }),
            ("surface luma 256", &mut || {
                resample_luma(&view, &canvas.to_frame, 256, 256, std::hint::black_box(&mut luma))
            }),
        ];
        print!("{format:>4}:");
        for (name, crop) in &mut crops {
            if only.as_deref().is_none_or(|only| name.starts_with(only)) {
                print!("  {name} {:7.1}", micros(crop));
            }
        }
        println!();
    }
}
