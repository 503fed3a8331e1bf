//! lvchallenge on rendered performances of a real face (tests/common/render.rs): every
//! challenge type passes when performed, nothing passes standing still or moving the wrong
//! way, the penalty path scores 5/6, and a recorded video passes end to end in gst-launch-1.0
//! while its replay against a fresh sequence fails.

mod common;

use common::render::{self, Expression};
use common::run_frames;

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
    let model = render::load("astronaut.png");
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
    assert_eq!(messages(&run, "challenge-started").len(), 9);
    assert_eq!(messages(&run, "challenge-completed").len(), 9);
    assert_eq!(messages(&run, "pose-detected").len(), 9);
    assert!(messages(&run, "challenge-failed").is_empty());
    assert!(v.get::<f64>("surface-score").unwrap() >= 0.4);
    assert!(v.get::<bool>("antispoof-real").unwrap());
}

#[test]
fn standing_still_passes_nothing_and_adds_one_penalty_step() {
    let model = render::load("astronaut.png");
    // 0.5 s a try: 6 challenges x 2 tries = 6 s of a still face.
    let still = model.render(&Expression::default());
    let frames = vec![still; 12 + 6 * 30 + 30];
    let run = run_frames(
        &frames,
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge seed=11 challenge-timeout=500 require-surface=false require-antispoof=false"),
    )
    .unwrap();
    assert!(messages(&run, "challenge-completed").is_empty());
    assert_eq!(messages(&run, "penalty-added").len(), 1);
    assert_eq!(messages(&run, "challenge-failed").len(), 12);
    let v = verdict(&run);
    assert!(!v.get::<bool>("passed").unwrap());
    assert_eq!(v.get::<f64>("liveness-score").unwrap(), 0.0);
}

#[test]
fn moving_the_wrong_way_fails() {
    let model = render::load("astronaut.png");
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
fn penalty_path_scores_five_of_six_and_fails() {
    let model = render::load("astronaut.png");
    // The first challenge is not performed (two 1 s tries go by); the pool holds only
    // turn_left, so the penalty step is turn_left.
    let mut expressions = render::session(&[]);
    expressions.extend(vec![Expression::default(); 2 * 30 + 4]);
    for challenge in ["turn_right", "look_up", "shake_no", "look_down", "turn_left"] {
        expressions.extend(render::perform(challenge));
    }
    let frames = model.render_all(&expressions);
    let run = run_frames(
        &frames,
        model.width,
        model.height,
        30,
        &format!("{CHAIN} ! lvchallenge sequence=nod_yes,turn_right,look_up,shake_no,look_down challenges=turn_left challenge-timeout=1000"),
    )
    .unwrap();
    let penalty = messages(&run, "penalty-added");
    assert_eq!(penalty.len(), 1);
    assert_eq!(penalty[0].get::<&str>("challenge").unwrap(), "turn_left");
    assert_eq!(penalty[0].get::<&str>("text").unwrap(), "PENALTY STEP ADDED");
    let v = verdict(&run);
    assert_eq!((v.get::<u32>("passed-challenges").unwrap(), v.get::<u32>("total-challenges").unwrap()), (5, 6), "{v}");
    assert!((v.get::<f64>("liveness-score").unwrap() - 5.0 / 6.0).abs() < 1e-6);
    assert!(!v.get::<bool>("passed").unwrap());
    let failures = v.get::<gst::Array>("failures").unwrap();
    assert_eq!(failures.iter().map(|f| f.get::<String>().unwrap()).collect::<Vec<_>>(), vec!["liveness-score"]);
}

#[test]
fn mirrored_frames_keep_the_persons_directions() {
    let model = render::load("astronaut.png");
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
    let model = render::load("astronaut.png");
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
