//! lvchallenge on rendered performances of a real face (tests/common/render.rs): every
//! challenge type passes when performed, nothing passes standing still or moving the wrong
//! way, the penalty path scores 5/6, a recorded video passes end to end in gst-launch-1.0
//! while its replay against a fresh sequence fails, and a face lit by the screen-flash colours
//! passes the flash where the same face unlit fails it.

mod common;

use common::render::{self, Expression};
use common::{run_frames, run_frames_with};
use gst::prelude::*;

const CHAIN: &str = "videoconvert ! lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis";

fn messages<'a>(run: &'a common::Run, name: &str) -> Vec<&'a gst::Structure> {
    run.messages.iter().filter(|m| m.name() == name).collect()
}

fn verdict(run: &common::Run) -> &gst::Structure {
    let verdicts = messages(run, "liveness-verdict");
    assert_eq!(verdicts.len(), 1, "one verdict per session");
    verdicts[0]
}

#[test]
fn every_challenge_type_passes_when_performed() {
    let model = common::load_face("astronaut.png");
    let challenges = [
        "turn_left",
        "turn_right",
        "look_up",
        "look_down",
        "nod_yes",
        "shake_no",
        "blink",
        "open_mouth",
        "move_closer",
    ];
    let frames = model.render_all(&render::session(&challenges));
    let run = run_frames(
        &frames,
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge sequence={}", challenges.join(",")),
    )
    .unwrap();
    let v = verdict(&run);
    let results = v.get::<gst::List>("results").unwrap();
    let report: Vec<String> = results
        .iter()
        .map(|r| {
            let r = r.get::<gst::Structure>().unwrap();
            format!("{}={}", r.get::<&str>("challenge").unwrap(), r.get::<bool>("passed").unwrap())
        })
        .collect();
    assert!(v.get::<bool>("passed").unwrap(), "{v}\n{report:?}");
    assert_eq!(v.get::<u32>("passed-challenges").unwrap(), 9, "{report:?}");
    let failed: Vec<String> = messages(&run, "challenge-failed").iter().map(|m| m.to_string()).collect();
    assert_eq!(messages(&run, "challenge-started").len(), 9, "{failed:?}");
    assert_eq!(messages(&run, "challenge-completed").len(), 9);
    assert_eq!(messages(&run, "pose-detected").len(), 9);
    // With lvlandmarks in the chain the mesh's head pose rides along.
    assert!(messages(&run, "pose-detected").iter().all(|m| m.has_field("yaw") && m.has_field("pitch")));
    assert!(messages(&run, "challenge-failed").is_empty());
    // The FaceMeta carries the session as it goes: while the sixth challenge runs, five
    // have passed.
    let sixth = run
        .buffers_of("out")
        .iter()
        .filter_map(|b| b.meta::<gstliveness::meta::FaceMeta>()?.faces().first()?.challenge.clone())
        .find(|c| c.index == 5 && c.verdict.is_none())
        .expect("a frame during the sixth challenge");
    assert_eq!((sixth.challenge.as_str(), sixth.passed, sixth.total), ("shake_no", 5, 9));
    assert!(v.get::<f64>("surface-score").unwrap() >= 0.4);
    assert!(v.get::<bool>("antispoof-real").unwrap());
}

#[test]
fn standing_still_passes_nothing_and_ends_after_its_first_movement() {
    let model = common::load_face("astronaut.png");
    // 0.5 s a try: the first challenge's two tries, then the verdict (no penalty step can
    // bring the score to 0.9); frames for all six challenges are there, unused.
    let still = model.render(&Expression::default());
    // (each retry waits 3 neutral frames for its prompt)
    let frames = vec![still; 12 + 6 * 36 + 30];
    let run = run_frames(
        &frames,
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge seed=11 challenge-timeout=500 require-surface=false require-antispoof=false"),
    )
    .unwrap();
    assert!(messages(&run, "challenge-completed").is_empty());
    assert!(messages(&run, "penalty-added").is_empty());
    assert_eq!(messages(&run, "challenge-failed").len(), 2, "the first challenge and its retry");
    let v = verdict(&run);
    assert!(!v.get::<bool>("passed").unwrap());
    assert_eq!(v.get::<f64>("liveness-score").unwrap(), 0.0);
}

#[test]
fn moving_the_wrong_way_fails() {
    let model = common::load_face("astronaut.png");
    for (asked, performed) in [("turn_left", "turn_right"), ("look_up", "look_down"), ("nod_yes", "shake_no")] {
        let expressions = render::session(&[performed, performed, performed, performed]);
        let frames = model.render_all(&expressions);
        let run = run_frames(
            &frames,
            model.width,
            model.height,
            30,
            &format!("{CHAIN} ! lvchallenge sequence={asked} challenge-timeout=1500 require-surface=false require-antispoof=false"),
        )
        .unwrap();
        // The asked challenge never completes (a penalty step of another type may).
        let asked_done =
            messages(&run, "challenge-completed").iter().any(|m| m.get::<&str>("challenge").unwrap() == asked);
        assert!(!asked_done, "{asked} passed by {performed}");
        let failed = messages(&run, "challenge-failed")
            .iter()
            .any(|m| m.get::<&str>("challenge").unwrap() == asked && !m.get::<bool>("retrying").unwrap());
        assert!(failed, "{asked} must fail after its retry");
    }
}

#[test]
fn penalty_path_scores_five_of_six_and_passes_at_a_minimum_of_0_8() {
    let model = common::load_face("astronaut.png");
    // The first challenge is not performed (two 2 s tries go by, and the next prompt comes
    // 3 neutral frames later); the pool holds only turn_left, so the penalty step is
    // turn_left. The person answers each prompt about half a second after it. At the
    // default minimum (0.9) the session would end after the failure: no step could make up
    // for it; at 0.8, five of six pass.
    // The two tries end at frames 64 and 127, the next prompt comes 3 frames later: the
    // person starts turning at frame 145.
    let mut expressions = render::session(&[]);
    expressions.extend(vec![Expression::default(); 145 - render::LEAD_IN_FRAMES]);
    for challenge in ["turn_right", "look_up", "shake_no", "look_down", "turn_left"] {
        expressions.extend(render::perform(challenge));
    }
    let frames = model.render_all(&expressions);
    let run = run_frames(
        &frames,
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge sequence=nod_yes,turn_right,look_up,shake_no,look_down challenges=turn_left challenge-timeout=2000 min-liveness-score=0.8"),
    )
    .unwrap();
    let trace: Vec<String> = run
        .messages
        .iter()
        .filter(|m| m.name().starts_with("challenge-") || m.name() == "calibrated")
        .map(|m| {
            format!(
                "{} {:?} {:?} {:?}",
                m.name(),
                m.get::<u64>("running-time").map(|t| t / 33_333_333),
                m.get::<&str>("challenge"),
                m.get::<&str>("reason")
            )
        })
        .collect();
    let penalty = messages(&run, "penalty-added");
    assert_eq!(penalty.len(), 1, "{trace:#?}");
    assert_eq!(penalty[0].get::<&str>("challenge").unwrap(), "turn_left");
    assert_eq!(penalty[0].get::<&str>("text").unwrap(), "PENALTY STEP ADDED");
    let v = verdict(&run);
    assert_eq!(
        (v.get::<u32>("passed-challenges").unwrap(), v.get::<u32>("total-challenges").unwrap()),
        (5, 6),
        "{trace:#?}"
    );
    assert!((v.get::<f64>("liveness-score").unwrap() - 5.0 / 6.0).abs() < 1e-6);
    let failures = v.get::<gst::Array>("failures").unwrap();
    assert!(failures.is_empty(), "{:?}", failures.iter().map(|f| f.get::<String>().unwrap()).collect::<Vec<_>>());
    assert!(v.get::<bool>("passed").unwrap());
}

#[test]
fn mirrored_frames_keep_the_persons_directions() {
    let model = common::load_face("astronaut.png");
    let frames = model.render_all(&render::session(&["turn_left"]));
    for (mirrored, passes) in [(true, true), (false, false)] {
        let run = run_frames(
            &frames,
            model.width,
            model.height,
            30,
            &format!("videoflip video-direction=horiz ! {CHAIN} ! lvchallenge sequence=turn_left mirrored={mirrored} challenge-timeout=3000 require-surface=false require-antispoof=false"),
        )
        .unwrap();
        assert_eq!(messages(&run, "challenge-completed").len() == 1, passes, "mirrored={mirrored}");
    }
}

#[test]
fn timeouts_run_in_stream_time() {
    let model = common::load_face("astronaut.png");
    let still = model.render(&Expression::default());
    // 20 frames at 1 fps: 20 s of stream time in a fraction of a second of wall time.
    let frames = vec![still; 20];
    let start = std::time::Instant::now();
    let run = run_frames(
        &frames,
        model.width,
        model.height,
        1,
        &format!(
            "{CHAIN} ! lvchallenge sequence=turn_left timeout=10000 require-surface=false require-antispoof=false"
        ),
    )
    .unwrap();
    let v = verdict(&run);
    let failures = v.get::<gst::Array>("failures").unwrap();
    assert!(failures.iter().any(|f| f.get::<String>().unwrap() == "timeout"), "{v}");
    // Sanity: the run did not wait for the 10 s.
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

/// Writes rendered RGB frames as a Motion-JPEG AVI file.
fn write_video(frames: &[Vec<u8>], width: usize, height: usize, path: &std::path::Path) {
    let tail = format!("videoconvert ! jpegenc quality=95 ! avimux ! filesink location={}", path.display());
    if let Err(err) = run_frames_with(frames, width, height, 30, &tail, |_| {}) {
        panic!("writing {}: {err}", path.display());
    }
}

/// Runs gst-launch-1.0 on the plugin in the build folder and returns the verdict line.
fn gst_launch_verdict(video: &std::path::Path, challenge_props: &str) -> String {
    let launch = format!(
        "filesrc location={} ! decodebin ! videoconvert ! lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis ! lvchallenge {challenge_props} ! fakesink",
        video.display()
    );
    let args: Vec<&str> = std::iter::once("-m").chain(launch.split_whitespace()).collect();
    let text = common::gst_tool("gst-launch-1.0", &args, &[]).replace('\\', "");
    text.lines()
        .find(|l| l.contains("(element): liveness-verdict"))
        .unwrap_or_else(|| panic!("no verdict in\n{text}"))
        .to_string()
}

#[test]
fn a_recorded_performance_passes_in_gst_launch_and_its_replay_fails() {
    let model = common::load_face("astronaut.png");
    let sequence = ["look_up", "turn_left", "nod_yes", "turn_right", "look_down"];
    let frames = model.render_all(&render::session(&sequence));
    let video = std::env::temp_dir().join(format!("gst-liveness-performance-{}.avi", std::process::id()));
    write_video(&frames, model.width, model.height, &video);

    let verdict = gst_launch_verdict(&video, &format!("sequence={}", sequence.join(",")));
    assert!(verdict.contains("passed=(boolean)true") && verdict.contains("passed-challenges=(uint)5"), "{verdict}");

    // The same recording against a freshly drawn sequence.
    let replay = gst_launch_verdict(&video, "seed=20261124");
    let _ = std::fs::remove_file(&video);
    assert!(
        !replay.contains(&format!("sequence=(string){}", sequence.join(","))),
        "the draw repeated the recording: {replay}"
    );
    assert!(replay.contains("passed=(boolean)false"), "{replay}");
}

#[test]
fn reset_starts_a_new_session_and_draw_marks_the_video() {
    let model = common::load_face("astronaut.png");
    let frames = model.render_all(&render::session(&["turn_left", "turn_left"]));
    // The first session asks one turn; on its verdict the application resets it, and the
    // second turn of the recording passes the new session.
    let tail = format!(
        "{CHAIN} ! lvchallenge name=challenge sequence=turn_left draw=true require-surface=false require-antispoof=false \
         ! videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false"
    );
    let run = run_frames_with(&frames, model.width, model.height, 30, &tail, |pipeline| {
        let challenge = pipeline.by_name("challenge").expect("lvchallenge");
        let resets = std::sync::atomic::AtomicUsize::new(0);
        pipeline.bus().expect("a bus").set_sync_handler(move |_, msg| {
            if let gst::MessageView::Element(e) = msg.view()
                && e.structure().is_some_and(|s| s.name() == "liveness-verdict")
                && resets.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
            {
                challenge.emit_by_name::<()>("reset", &[]);
            }
            gst::BusSyncReply::Pass
        });
    })
    .unwrap();
    assert_eq!(messages(&run, "calibrated").len(), 2, "reset takes a new baseline");
    let verdicts = messages(&run, "liveness-verdict");
    assert_eq!(verdicts.len(), 2);
    assert!(verdicts.iter().all(|v| v.get::<bool>("passed").unwrap()));
    // The prompt: a progress bar along the bottom and an arrow above the face differ from the
    // rendered frame.
    let plain = run_frames(
        &frames[20..21],
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge sequence=turn_left baseline-frames=0 require-surface=false require-antispoof=false ! videoconvert ! video/x-raw,format=RGB"),
    )
    .unwrap();
    let drawn = run.buffers_of("out")[20].map_readable().unwrap().to_vec();
    let undrawn = plain.buffers_of("out")[0].map_readable().unwrap().to_vec();
    let changed = drawn.iter().zip(&undrawn).filter(|(a, b)| a != b).count();
    assert!(changed > 1000, "{changed} bytes changed by the prompt");
    let last_row = &drawn[drawn.len() - model.width * 3..];
    assert!(last_row.iter().all(|&v| v == 0 || v == 255), "the progress bar fills the bottom row");
}

#[test]
fn a_face_20_degrees_off_frontal_calibrates_and_one_35_degrees_off_is_asked_to_face_the_camera() {
    let model = common::load_whole_head("astronaut.png");
    for (yaw, calibrates) in [(20.0, true), (-20.0, true), (35.0, false)] {
        let turned = model.render(&Expression { yaw, pitch: 5.0, ..Expression::default() });
        let run = run_frames(
            &vec![turned; 20],
            model.width,
            model.height,
            30,
            &format!("{CHAIN} ! lvchallenge sequence=turn_left require-surface=false require-antispoof=false"),
        )
        .unwrap();
        assert_eq!(!messages(&run, "calibrated").is_empty(), calibrates, "yaw {yaw}");
        let last = run
            .buffers_of("out")
            .last()
            .and_then(|b| b.meta::<gstliveness::meta::FaceMeta>()?.faces().first()?.challenge.clone())
            .expect("the challenge state on the FaceMeta");
        if calibrates {
            assert_eq!((last.stage.as_str(), last.challenge.as_str(), last.hint), ("challenge", "turn_left", None));
        } else {
            assert_eq!((last.stage.as_str(), last.hint.as_deref()), ("calibrating", Some("face-camera")));
            let hints: Vec<String> =
                messages(&run, "calibrating").iter().map(|m| m.get::<String>("hint").unwrap()).collect();
            assert_eq!(hints, vec!["face-camera".to_string()]);
        }
    }
}

/// `rgb` (`width` x `height`) under a box blur of `radius` pixels, three times (about a
/// Gaussian of `radius` pixels): a smeared lens, or a face out of focus.
fn box_blurred(rgb: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let mut image: Vec<f32> = rgb.iter().map(|&v| v as f32).collect();
    for _ in 0..3 {
        for horizontal in [true, false] {
            let source = image.clone();
            for y in 0..height {
                for x in 0..width {
                    for c in 0..3 {
                        let (mut sum, mut n) = (0.0, 0.0);
                        for d in -(radius as i64)..=radius as i64 {
                            let (sx, sy) = if horizontal { (x as i64 + d, y as i64) } else { (x as i64, y as i64 + d) };
                            if sx >= 0 && sy >= 0 && (sx as usize) < width && (sy as usize) < height {
                                sum += source[(sy as usize * width + sx as usize) * 3 + c];
                                n += 1.0;
                            }
                        }
                        image[(y * width + x) * 3 + c] = sum / n;
                    }
                }
            }
        }
    }
    image.iter().map(|&v| v.round() as u8).collect()
}

#[test]
fn a_blurred_face_is_asked_to_hold_still_before_anything_it_cannot_fix_while_blurred() {
    // The astronaut turned 35 degrees off frontal and out of focus: the first blocker in the
    // hint order is the blur (hold-still), not the pose the blur makes hard to read.
    let model = common::load_whole_head("astronaut.png");
    let turned = model.render(&Expression { yaw: 35.0, pitch: 5.0, ..Expression::default() });
    let blurred = box_blurred(&turned, model.width, model.height, 4);
    let run = run_frames(
        &vec![blurred; 12],
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge sequence=turn_left require-surface=false require-antispoof=false"),
    )
    .unwrap();
    let last_face =
        run.buffers_of("out").last().and_then(|b| b.meta::<gstliveness::meta::FaceMeta>()?.faces().first().cloned());
    let last_face = last_face.expect("the face on the FaceMeta");
    assert!(last_face.quality.is_some_and(|q| q.is_blurred), "{:?}", last_face.quality);
    let last = last_face.challenge.expect("the challenge state on the FaceMeta");
    assert_eq!((last.stage.as_str(), last.hint.as_deref()), ("calibrating", Some("hold-still")));
    let hints: Vec<String> = messages(&run, "calibrating").iter().map(|m| m.get::<String>("hint").unwrap()).collect();
    assert_eq!(hints, vec!["hold-still".to_string()]);
}

#[test]
fn a_photo_tilted_with_the_prompt_passes_no_head_movement() {
    // The astronaut's photo (a whole-head render at rest) tilted as a plane by 40 degrees
    // about its vertical axis half a second after the prompt, held there: the mesh reads no
    // turn, so the turn is never seen (it fails for want of a reaction); a real head turned
    // the same way passes.
    let model = common::load_whole_head("astronaut.png");
    let neutral = model.render(&Expression::default());
    let (w, h) = (model.width, model.height);
    let tilt = render::plane_homography(w as f64 / 2.0, h as f64 / 2.0, 600.0, 40.0, 0.0, 0.0, 1.0, (0.0, 0.0));
    let tilted = render::warp_image(&neutral, w, h, &tilt, [128, 128, 128]);
    let turned = model.render(&Expression { yaw: 25.0, ..Expression::default() });
    for (moved, passes) in [(tilted, false), (turned, true)] {
        let mut frames = vec![neutral.clone(); render::LEAD_IN_FRAMES];
        frames.extend(vec![moved; 110]);
        let run = run_frames(
            &frames,
            w,
            h,
            30,
            &format!(
                "{CHAIN} ! lvchallenge sequence=turn_left retries=0 require-surface=false require-antispoof=false"
            ),
        )
        .unwrap();
        let completed = !messages(&run, "challenge-completed").is_empty();
        assert_eq!(completed, passes);
        if !passes {
            let failed = messages(&run, "challenge-failed");
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].get::<&str>("reason").unwrap(), "no-reaction");
        }
    }
}

/// The astronaut's still face lit by a screen showing `schedule` from frame `start` on (30 fps),
/// seen `lag_ms` late: each channel gains a quarter of the screen's linear light.
fn lit_frames(
    still: &[u8],
    schedule: &liveness_core::challenge::flash::FlashSchedule,
    start: usize,
    lag_ms: f64,
    count: usize,
) -> Vec<Vec<u8>> {
    let linear = liveness_core::challenge::flash::linear;
    (0..count)
        .map(|n| {
            let ms = (n as f64 - start as f64) * 1000.0 / 30.0 - lag_ms;
            if n < start || ms >= schedule.total_ms() as f64 {
                return still.to_vec();
            }
            let screen = schedule.colour_at(ms).map(linear);
            still
                .chunks_exact(3)
                .flat_map(|p| [0, 1, 2].map(|c| (p[c] as f32 * (1.0 + 0.25 * screen[c])).round().min(255.0) as u8))
                .collect()
        })
        .collect()
}

#[test]
fn a_face_lit_by_the_screen_flash_passes_and_the_same_face_unlit_fails_flash_mismatch() {
    let model = common::load_face("astronaut.png");
    let still = model.render(&Expression::default());
    // The element's schedule, drawn from the same seed (the sequence is fixed: the flash is
    // the seed's first draw).
    let schedule = liveness_core::challenge::ChallengeRng::new(Some(5)).flash_schedule();
    let chain =
        format!("{CHAIN} ! lvchallenge sequence=flash seed=5 retries=0 require-surface=false require-antispoof=false");
    let count = 200;
    // Unlit: the challenge starts (its message carries the schedule) and fails.
    let run = run_frames(&vec![still.clone(); count], model.width, model.height, 30, &chain).unwrap();
    // (then the penalty step, a head movement the still face does not perform)
    let started = messages(&run, "challenge-started");
    assert_eq!(started[0].get::<String>("challenge").unwrap(), "flash");
    let colours = started[0].get::<gst::Array>("flash-colours").unwrap();
    let shown: Vec<String> = colours.iter().map(|c| c.get::<String>().unwrap()).collect();
    assert_eq!(shown, schedule.steps.iter().map(|s| s.hex()).collect::<Vec<_>>());
    let start = (started[0].get::<Option<gst::ClockTime>>("timestamp").unwrap().unwrap().nseconds() * 30
        / 1_000_000_000) as usize;
    let failed = messages(&run, "challenge-failed");
    assert_eq!(failed.first().map(|m| m.get::<String>("reason").unwrap()).as_deref(), Some("flash-mismatch"));
    assert!(!verdict(&run).get::<bool>("passed").unwrap());
    // Lit by the schedule from that frame on, 120 ms late: it passes.
    let frames = lit_frames(&still, &schedule, start, 120.0, count);
    let run = run_frames(&frames, model.width, model.height, 30, &chain).unwrap();
    let v = verdict(&run);
    assert!(v.get::<bool>("passed").unwrap(), "{v}");
    let result = v.get::<gst::List>("results").unwrap();
    let flash = result.iter().next().unwrap().get::<gst::Structure>().unwrap();
    assert!(flash.get::<f64>("correlation").unwrap() > 0.9, "{flash}");
}
