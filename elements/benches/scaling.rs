//! `make bench`: frames a second of the analysis chain (`lvfacedetect ! lvlandmarks !
//! lvantispoof ! lvsurfaceanalysis`, one face, 640x480 I420) run by one pipeline per thread,
//! with the process on one core and then on two. The models are shared by every pipeline of
//! the process through a pool of ONNX Runtime sessions per model (`LIVENESS_MODEL_SESSIONS`,
//! by default one per core): with one session per model (`LIVENESS_MODEL_SESSIONS=1`) the
//! pipelines queue for each model and a second core adds little.

mod common;

use std::time::Instant;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const CHAIN: &str = "lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis";
const FRAMES_PER_THREAD: usize = 150;

unsafe extern "C" {
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
}

/// Restricts this thread (and the threads it starts) to the cores of `mask`.
fn pin(mask: u64) -> bool {
    // SAFETY: the mask outlives the call and its size is passed; pid 0 is this thread.
    unsafe { sched_setaffinity(0, std::mem::size_of::<u64>(), &mask) == 0 }
}

/// Frames a second of `threads` pipelines each pushing `FRAMES_PER_THREAD` frames.
fn frames_per_second(threads: usize, (caps, buffer): &(gst::Caps, gst::Buffer)) -> f64 {
    let start = std::sync::Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut harness = gst_check::Harness::new_parse(CHAIN);
                harness.set_src_caps(caps.clone());
                harness.play();
                // Warm-up: the pool's sessions, first-run allocations.
                for _ in 0..5 {
                    harness.push(buffer.copy()).expect("push");
                    let _ = harness.pull();
                }
                start.wait();
                for _ in 0..FRAMES_PER_THREAD {
                    harness.push(buffer.copy()).expect("push");
                    let _ = harness.pull();
                }
            });
        }
        start.wait();
        let begun = Instant::now();
        // The scope joins every thread before it returns.
        begun
    });
    (threads * FRAMES_PER_THREAD) as f64 / elapsed.elapsed().as_secs_f64()
}

fn main() {
    gst::init().expect("GStreamer initialises");
    gstliveness::plugin_register_static().expect("liveness plugin registers");
    let frame = common::astronaut_frame("I420", WIDTH, HEIGHT);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "analysis chain ({CHAIN}), one face, {WIDTH}x{HEIGHT} I420, {FRAMES_PER_THREAD} frames a pipeline; \
         model sessions per model: {}",
        gstliveness::model::pool_size()
    );
    println!("{:<12} {:>10} {:>14}", "cores", "pipelines", "frames/s");
    let mut rows = Vec::new();
    for (label, mask, threads) in [("1", 0b01u64, 1usize), ("1", 0b01, 2), ("2", 0b11, 2)] {
        if mask == 0b11 && cores < 2 {
            println!("{label:<12} {threads:>10} {:>14}", "(one core only)");
            continue;
        }
        if !pin(mask) {
            println!("note: could not pin to cores {mask:#b}");
        }
        let fps = frames_per_second(threads, &frame);
        println!("{label:<12} {threads:>10} {fps:>14.1}");
        rows.push((mask, threads, fps));
    }
    if let (Some(one), Some(two)) =
        (rows.iter().find(|r| r.0 == 0b01 && r.1 == 2), rows.iter().find(|r| r.0 == 0b11 && r.1 == 2))
    {
        println!("two cores give {:.2}x the frames a second of one (two pipelines each)", two.2 / one.2);
    }
}
