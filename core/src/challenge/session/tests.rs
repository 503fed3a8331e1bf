use super::*;
use crate::challenge::flash;
use crate::face::{HeadPose, Keypoints, Landmarks, Point, Rect};

const FRAME_NS: u64 = 33_333_333;
const FRAME: (u32, u32) = (640, 480);
/// Frames a person takes to react to a prompt (0.5 s at 30 fps).
const REACTION_FRAMES: u64 = 15;

/// A face whose nose sits (dx, dy) eye distances from the eye midpoint (40 px apart).
fn face(dx: f32, dy: f32) -> Face {
    let keypoints = Keypoints {
        right_eye: Point { x: 80.0, y: 100.0 },
        left_eye: Point { x: 120.0, y: 100.0 },
        nose_tip: Point { x: 100.0 + dx * 40.0, y: 100.0 + dy * 40.0 },
        ..Keypoints::default()
    };
    Face::new(1, Rect { x: 50.0, y: 60.0, width: 100.0, height: 100.0 }, 0.9, keypoints)
}

/// A face with lvlandmarks' head pose (degrees) and a mesh.
fn mesh_face(yaw: f32, pitch: f32, points: Vec<[f32; 3]>) -> Face {
    let mut f = face(0.0, 0.5);
    f.bbox = Rect { x: 100.0, y: 80.0, width: 220.0, height: 240.0 };
    f.head_pose = Some(HeadPose { yaw_degrees: yaw, pitch_degrees: pitch, roll_degrees: 0.0 });
    f.landmarks = Some(Landmarks { points, face_flag: 1.0 });
    f
}

fn settings() -> SessionSettings {
    SessionSettings { require_surface: false, require_antispoof: false, ..SessionSettings::default() }
}

fn session(queue: &[ChallengeType]) -> Session {
    Session::new(queue.to_vec(), ChallengeType::HEAD_MOVEMENTS.to_vec(), ChallengeRng::new(Some(3)), settings())
}

/// Plays `frames` of `face` from frame number `from`; returns every event.
fn play(session: &mut Session, from: u64, frames: u64, face: &Face) -> Vec<Event> {
    (from..from + frames).flat_map(|n| session.observe(n * FRAME_NS, std::slice::from_ref(face), FRAME)).collect()
}

#[test]
fn the_hint_names_the_first_blocker_in_the_documented_order() {
    type Set = fn(&mut Blockers);
    let order: [(Set, Hint); 9] = [
        (|b| b.no_face = true, Hint::ShowFace),
        (|b| b.several_faces = true, Hint::OneFace),
        (|b| b.too_small = true, Hint::MoveCloser),
        (|b| b.too_large = true, Hint::MoveBack),
        (|b| b.off_centre = true, Hint::CentreFace),
        (|b| b.dark = true, Hint::MoreLight),
        (|b| b.blurred = true, Hint::HoldStill),
        (|b| b.off_axis = true, Hint::FaceCamera),
        (|b| b.moving = true, Hint::HoldStill),
    ];
    assert_eq!(Blockers::default().hint(), None);
    for (set, hint) in order {
        let mut alone = Blockers::default();
        set(&mut alone);
        assert_eq!(alone.hint(), Some(hint), "{alone:?}");
    }
    // Two at once: the earlier one in the order wins, whichever pair.
    for (i, (first, hint)) in order.iter().enumerate() {
        for (second, _) in &order[i + 1..] {
            let mut both = Blockers::default();
            second(&mut both);
            first(&mut both);
            assert_eq!(both.hint(), Some(*hint), "{both:?}");
        }
    }
    // The blur before the pose: a blurred face turned away is asked to hold still.
    let blurred_and_turned = Blockers { blurred: true, off_axis: true, ..Blockers::default() };
    assert_eq!(blurred_and_turned.hint().map(Hint::name), Some("hold-still"));
    // Dark and blurred are hints only; an off-axis or badly sized face does not calibrate.
    assert!(Blockers { dark: true, blurred: true, moving: true, ..Blockers::default() }.pose_usable());
    assert!(!Blockers { off_axis: true, ..Blockers::default() }.pose_usable());
    assert!(!Blockers { too_large: true, ..Blockers::default() }.pose_usable());
    assert!(!Blockers { off_centre: true, ..Blockers::default() }.pose_usable());
}

#[test]
fn a_blink_is_open_closed_open() {
    assert_eq!(count_blinks([false, true, false]), 1);
    assert_eq!(count_blinks([true, false, true, true, false, false, true]), 1, "closed at the start is no blink");
    assert_eq!(count_blinks([false, true, true]), 0, "still closed at the end");
    assert_eq!(count_blinks([false, true, false, true, false]), 2);
}

fn verdict(events: &[Event]) -> Option<Verdict> {
    events.iter().find_map(|e| if let Event::Verdict(v) = e { Some(v.clone()) } else { None })
}

/// The keypoint face of a person performing `challenge`, `k` frames after its prompt:
/// neutral while reacting, then the movement (gestures go there and back).
fn performing(challenge: Option<ChallengeType>, k: u64) -> Face {
    if k < REACTION_FRAMES {
        return face(0.0, 0.5);
    }
    let phase = (k - REACTION_FRAMES) % 20 < 10;
    match challenge {
        Some(ChallengeType::TurnLeft) => face(0.5, 0.5),
        Some(ChallengeType::TurnRight) => face(-0.5, 0.5),
        Some(ChallengeType::LookUp) => face(0.0, 0.1),
        Some(ChallengeType::LookDown) => face(0.0, 1.0),
        Some(ChallengeType::NodYes) if phase => face(0.0, 1.0),
        Some(ChallengeType::ShakeNo) if phase => face(0.5, 0.5),
        _ => face(0.0, 0.5),
    }
}

/// Plays a cooperative person from frame `n` until the verdict; `skip` challenges are
/// not performed (the person stands still). Returns the events and the next frame.
fn cooperate(s: &mut Session, mut n: u64, skip: &[usize]) -> (Vec<Event>, u64) {
    let mut events = Vec::new();
    let mut prompt: Option<(usize, u32, u64)> = None;
    while s.verdict().is_none() {
        let current = s.current();
        let key = current.map(|c| (c.1, s.attempt_number));
        if key != prompt.map(|p| (p.0, p.1)) {
            prompt = key.map(|(i, a)| (i, a, n));
        }
        let f = match (current, prompt) {
            (Some(c), Some(p)) if !skip.contains(&c.1) => performing(Some(c.0), n - p.2),
            _ => face(0.0, 0.5),
        };
        events.extend(play(s, n, 1, &f));
        n += 1;
        assert!(n < 20_000, "no verdict");
    }
    (events, n)
}

#[test]
fn static_pose_held_for_fifteen_frames_after_the_prompt_passes() {
    let mut s = session(&[ChallengeType::TurnLeft]);
    let neutral = face(0.0, 0.5);
    let events = play(&mut s, 0, 5, &neutral);
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeStarted { index: 0, total: 1, .. })));
    assert_eq!(s.stage(), Stage::Challenge);
    play(&mut s, 5, REACTION_FRAMES, &neutral);
    // 14 frames turned: not yet.
    let turned = face(0.45, 0.5);
    let events = play(&mut s, 20, 14, &turned);
    assert!(events.iter().any(|e| matches!(e, Event::PoseDetected { .. })));
    assert!(verdict(&events).is_none());
    let events = play(&mut s, 34, 1, &turned);
    assert_eq!(s.passed_so_far(), 1);
    let v = verdict(&events).expect("the 15th frame completes it");
    assert!(v.passed && v.liveness_score == 1.0, "{v:?}");
    assert_eq!(s.stage(), Stage::Done);
}

/// Plays a flash challenge at 30 fps from frame `n`, the skin's colour given by `skin`
/// (schedule, ms since the schedule's start); returns the events and the next frame.
fn flash_frames(s: &mut Session, mut n: u64, skin: impl Fn(&FlashSchedule, f64) -> [f32; 3]) -> (Vec<Event>, u64) {
    let mut events = Vec::new();
    let neutral = face(0.0, 0.5);
    while let Some(schedule) = s.flash_schedule().cloned() {
        let started = s.flash.as_ref().map_or(0, |f| f.started_ns);
        let t = n * FRAME_NS;
        assert!(s.wants_colour());
        s.observe_colour(t, skin(&schedule, t.saturating_sub(started) as f64 / 1e6));
        events.extend(s.observe(t, std::slice::from_ref(&neutral), FRAME));
        n += 1;
    }
    (events, n)
}

/// Skin under ambient light and a tenth of the screen's light, seen `lag` ms late.
fn lit_skin(schedule: &FlashSchedule, ms: f64, lag: f64) -> [f32; 3] {
    let screen = schedule.colour_at(ms - lag).map(|v| (v as f32 / 255.0).powf(2.2));
    let albedo = [150.0, 110.0, 95.0];
    [0, 1, 2].map(|c| albedo[c] * (1.0 + 0.1 * screen[c]))
}

#[test]
fn a_face_lit_by_the_flashes_passes_and_a_face_that_is_not_fails_flash_mismatch() {
    let mut s = session(&[ChallengeType::Flash]);
    let events = play(&mut s, 0, 5, &face(0.0, 0.5));
    let schedule = events
        .iter()
        .find_map(|e| if let Event::ChallengeStarted { flash, .. } = e { flash.clone() } else { None })
        .expect("the prompt carries the schedule");
    assert!(flash::COLOURS.contains(&schedule.steps.len()));
    let started = s.flash.as_ref().map(|f| f.started_ns).unwrap();
    let lasts = (schedule.total_ms() + flash::FlashSettings::default().max_lag_ms) as u64 * 1_000_000;
    assert_eq!(s.time_left_ns(started), Some(lasts), "its schedule and lag window, not the attempt timeout");
    let (events, _) = flash_frames(&mut s, 5, |schedule, ms| lit_skin(schedule, ms, 150.0));
    let v = verdict(&events).expect("decided once the schedule and the lag window are over");
    assert!(v.passed, "{v:?}");
    let correlation = v.results[0].correlation.expect("the response is kept");
    assert!(correlation > 0.9, "{correlation}");

    // A face that stays the same colour fails twice (one retry with a new schedule).
    let mut s = session(&[ChallengeType::Flash]);
    let (mut events, mut n) = (play(&mut s, 0, 5, &face(0.0, 0.5)), 5);
    let first = s.flash_schedule().cloned();
    while s.verdict().is_none() {
        let (more, next) = flash_frames(&mut s, n, |_, _| [150.0, 110.0, 95.0]);
        events.extend(more);
        events.extend(play(&mut s, next, 4, &face(0.0, 0.5)));
        n = next + 4;
    }
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ChallengeFailed { reason, retrying, .. } => Some((*reason, *retrying)),
            _ => None,
        })
        .collect();
    // The challenge failed, and no penalty step could lift 0 of 2 to the minimum: the session ends.
    assert_eq!(failed[..2], [(FailReason::FlashMismatch, true), (FailReason::FlashMismatch, false)]);
    let schedules: Vec<_> = events
        .iter()
        .filter_map(|e| if let Event::ChallengeStarted { flash, .. } = e { flash.clone() } else { None })
        .collect();
    assert_eq!(schedules.len(), 2, "the first attempt's and the retry's: {schedules:?}");
    assert_eq!(Some(&schedules[0]), first.as_ref());
    assert_ne!(schedules[0], schedules[1], "a retry draws a new schedule");
    let v = s.verdict().cloned().expect("a verdict");
    assert!(!v.passed && v.failed("flash-mismatch"), "{v:?}");
    assert_eq!(v.error_codes().first(), Some(&crate::errors::Finding::FlashMismatch));

    // A face that follows the colours a second late is outside the lag window.
    let mut s = session(&[ChallengeType::Flash]);
    play(&mut s, 0, 5, &face(0.0, 0.5));
    let (events, _) = flash_frames(&mut s, 5, |schedule, ms| lit_skin(schedule, ms, 1000.0));
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::FlashMismatch, .. })));
}

#[test]
fn time_left_counts_down_the_attempt_and_is_capped_by_the_session() {
    let mut s = session(&[ChallengeType::TurnLeft]);
    assert_eq!(s.time_left_ns(0), None);
    play(&mut s, 0, 5, &face(0.0, 0.5));
    let started = s.challenge_started_at.expect("the first challenge started");
    assert_eq!(s.time_left_ns(started), Some(10_000_000_000));
    assert_eq!(s.time_left_ns(started + 4_000_000_000), Some(6_000_000_000));
    assert_eq!(s.time_left_ns(started + 11_000_000_000), Some(0));
    // Late in the session the session's own end comes first.
    s.challenge_started_at = Some(85_000_000_000);
    assert_eq!(s.time_left_ns(86_000_000_000), Some(4_000_000_000));
}

#[test]
fn a_held_turn_counts_though_the_other_axis_moves_more() {
    // Turned left past the threshold, and tilted down further still (as a mesh may read a
    // turn of a head tilted in the photo): the turn is held.
    let mut s = session(&[ChallengeType::TurnLeft]);
    play(&mut s, 0, 5 + REACTION_FRAMES, &face(0.0, 0.5));
    play(&mut s, 20, 3, &face(0.3, 0.5));
    let v = verdict(&play(&mut s, 23, 15, &face(0.3, 0.9))).expect("held");
    assert!(v.passed, "{v:?}");
}

#[test]
fn a_cooperative_person_passes_five_head_movements() {
    let mut s = Session::new(
        vec![
            ChallengeType::TurnLeft,
            ChallengeType::NodYes,
            ChallengeType::TurnRight,
            ChallengeType::ShakeNo,
            ChallengeType::LookDown,
        ],
        ChallengeType::HEAD_MOVEMENTS.to_vec(),
        ChallengeRng::new(Some(3)),
        settings(),
    );
    let (events, _) = cooperate(&mut s, 0, &[]);
    let v = verdict(&events).expect("a verdict");
    assert!(v.passed && v.passed_challenges == 5, "{v:?}");
    // Each prompt after the first waited for the neutral pose.
    assert_eq!(events.iter().filter(|e| matches!(e, Event::ChallengeStarted { .. })).count(), 5);
}

#[test]
fn standing_still_ends_the_session_once_its_first_movement_failed_twice() {
    // A still photo: its first movement fails for no reaction, twice (the attempt and its
    // retry); then no penalty step could bring 4 of 6 to 90 %, and the session ends there
    // instead of asking the four prompts left.
    let mut s = session(&ChallengeType::HEAD_MOVEMENTS[..5]);
    let (mut events, mut n) = (Vec::new(), 0);
    while s.verdict().is_none() && n < 3000 {
        events.extend(play(&mut s, n, 1, &face(0.0, 0.5)));
        n += 1;
    }
    assert!(n * FRAME_NS < 15_000_000_000, "decided after {} s", n * FRAME_NS / 1_000_000_000);
    assert!(!events.iter().any(|e| matches!(e, Event::PenaltyAdded { .. })), "no step that cannot help");
    let started = events.iter().filter(|e| matches!(e, Event::ChallengeStarted { .. })).count();
    assert_eq!(started, 2, "the first movement and its retry");
    let v = verdict(&events).expect("a verdict");
    assert!(!v.passed && v.passed_challenges == 0 && v.total_challenges == 5, "{v:?}");
    assert_eq!((v.results[0].reason.as_deref(), v.results[0].attempts), (Some(FailReason::NoReaction.name()), 2));
    assert!(v.results[1..].iter().all(|r| r.attempts == 0 && !r.passed), "never asked: {v:?}");
    assert_eq!(v.failures, vec!["liveness-score"], "{v:?}");
}

#[test]
fn a_failure_the_score_cannot_absorb_ends_the_session_at_once() {
    let mut s = session(&[
        ChallengeType::TurnLeft,
        ChallengeType::TurnRight,
        ChallengeType::TurnLeft,
        ChallengeType::TurnRight,
        ChallengeType::LookUp,
    ]);
    let (events, _) = cooperate(&mut s, 0, &[0]);
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeFailed { retrying: true, index: 0, .. })));
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeFailed { retrying: false, index: 0, .. })));
    assert!(!events.iter().any(|e| matches!(e, Event::ChallengeStarted { index: 1, .. })), "nothing more is asked");
    let v = s.verdict().unwrap();
    assert_eq!((v.passed_challenges, v.total_challenges), (0, 5), "{v:?}");
    assert!(!v.passed && v.failures == vec!["liveness-score"], "{v:?}");
}

#[test]
fn with_a_lower_minimum_the_penalty_step_is_asked_and_can_pass() {
    // 5 of 6 is enough at a minimum of 0.8: after the failure the session goes on with one
    // penalty step (seed 002), which the person passes.
    let settings = SessionSettings { min_liveness_score: 0.8, ..settings() };
    let queue = vec![
        ChallengeType::TurnLeft,
        ChallengeType::TurnRight,
        ChallengeType::TurnLeft,
        ChallengeType::TurnRight,
        ChallengeType::LookUp,
    ];
    let mut s = Session::new(queue, ChallengeType::HEAD_MOVEMENTS.to_vec(), ChallengeRng::new(Some(3)), settings);
    let (events, _) = cooperate(&mut s, 0, &[0]);
    assert_eq!(events.iter().filter(|e| matches!(e, Event::PenaltyAdded { .. })).count(), 1);
    let v = s.verdict().unwrap();
    assert_eq!((v.passed_challenges, v.total_challenges), (5, 6), "{v:?}");
    assert!((v.liveness_score - 5.0 / 6.0).abs() < 1e-6);
    assert!(v.passed, "{v:?}");
    assert!(v.results[5].penalty && v.results[5].passed && !v.results[0].passed, "{v:?}");
}

#[test]
fn gestures_pass_down_and_back_and_other_movements_are_wrong() {
    let neutral = face(0.0, 0.5);
    // Nod: down and back.
    let mut s = session(&[ChallengeType::NodYes]);
    play(&mut s, 0, 5 + REACTION_FRAMES, &neutral);
    play(&mut s, 20, 3, &face(0.0, 1.0));
    let v = verdict(&play(&mut s, 23, 2, &neutral)).expect("down then centre passes a nod");
    assert!(v.passed);
    // Shaking when a nod is asked is a wrong movement (twice: the attempt and its retry).
    let mut s = session(&[ChallengeType::NodYes]);
    let (events, _) = {
        let mut events = play(&mut s, 0, 5 + REACTION_FRAMES, &neutral);
        events.extend(play(&mut s, 20, 3, &face(0.5, 0.5)));
        (events, 0)
    };
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::WrongMovement, retrying: true, .. }))
    );
    // Turning right when turn_left is asked.
    let mut s = session(&[ChallengeType::TurnLeft]);
    play(&mut s, 0, 5 + REACTION_FRAMES, &neutral);
    let events = play(&mut s, 20, 3, &face(-0.5, 0.5));
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::WrongMovement, .. })));
    // Back to neutral, the retry is prompted and answered right.
    let events = play(&mut s, 23, 3, &neutral);
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeStarted { .. })));
    play(&mut s, 26, REACTION_FRAMES, &neutral);
    let v = verdict(&play(&mut s, 41, 15, &face(0.5, 0.5))).expect("the retry passes");
    assert!(v.passed, "{v:?}");
}

/// A one-prompt session (turn left) whose prompts wait for a hold drawn from
/// `min_ms..=max_ms`, with the challenge generator's `seed`.
fn holding(min_ms: u64, max_ms: u64, seed: u64) -> Session {
    let settings = SessionSettings {
        prompt_hold_min_ns: min_ms * 1_000_000,
        prompt_hold_max_ns: max_ms * 1_000_000,
        ..settings()
    };
    Session::new(
        vec![ChallengeType::TurnLeft],
        ChallengeType::HEAD_MOVEMENTS.to_vec(),
        ChallengeRng::new(Some(seed)),
        settings,
    )
}

/// Plays `faces` one frame each from frame `from`; the frame numbers of the calibration
/// and of the prompt, where they came, and every event.
fn timeline(s: &mut Session, from: u64, faces: &[Face]) -> (Option<u64>, Option<u64>, Vec<Event>) {
    let (mut calibrated, mut prompted, mut all) = (None, None, Vec::new());
    for (n, face) in (from..).zip(faces) {
        let events = s.observe(n * FRAME_NS, std::slice::from_ref(face), FRAME);
        if events.iter().any(|e| matches!(e, Event::Calibrated { .. })) {
            calibrated = Some(n);
        }
        if events.iter().any(|e| matches!(e, Event::ChallengeStarted { .. })) {
            prompted = prompted.or(Some(n));
        }
        all.extend(events);
    }
    (calibrated, prompted, all)
}

#[test]
fn each_prompt_waits_for_a_hold_drawn_for_it_and_a_movement_before_it_fails() {
    let neutral = face(0.0, 0.5);
    // A hold of exactly 1 s: the prompt comes 30 frames after the head settled, not sooner.
    let (calibrated, prompted, _) = timeline(&mut holding(1000, 1000, 3), 0, &vec![neutral.clone(); 60]);
    let wait = prompted.unwrap() - calibrated.unwrap();
    assert!((30..=33).contains(&wait), "prompted {wait} frames after calibrating");
    // Drawn per prompt from 1-2.5 s: sessions wait differently, within the range.
    let waits: Vec<u64> = (0..8)
        .map(|seed| {
            let (calibrated, prompted, _) = timeline(&mut holding(1000, 2500, seed), 0, &vec![neutral.clone(); 100]);
            prompted.unwrap() - calibrated.unwrap()
        })
        .collect();
    assert!(waits.iter().all(|w| (30..=78).contains(w)), "{waits:?}");
    assert!(waits.iter().max().unwrap() - waits.iter().min().unwrap() >= 10, "{waits:?}");
    // A turn that comes during the hold, before any prompt (a recording's next movement):
    // the attempt fails as a movement nobody asked for.
    let mut s = holding(1000, 1000, 3);
    let (calibrated, _, _) = timeline(&mut s, 0, &vec![neutral.clone(); 20]);
    assert!(calibrated.is_some());
    let (_, prompted, events) = timeline(&mut s, 20, &vec![face(0.5, 0.5); 5]);
    assert_eq!(prompted, None);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::WrongMovement, retrying: true, .. })),
        "{events:?}"
    );
    // A smaller movement (past half the threshold, short of it) starts the hold again.
    let mut s = holding(1000, 1000, 3);
    timeline(&mut s, 0, &vec![neutral.clone(); 20]);
    let (_, prompted, events) = timeline(&mut s, 20, &vec![face(0.1, 0.5); 5]);
    assert!(prompted.is_none() && !events.iter().any(|e| matches!(e, Event::ChallengeFailed { .. })), "{events:?}");
    let (_, prompted, _) = timeline(&mut s, 25, &vec![neutral.clone(); 40]);
    assert!((25 + 30..=25 + 33).contains(&prompted.unwrap()), "{prompted:?}");
}

#[test]
fn the_flash_and_the_prompt_after_it_need_no_hold() {
    let settings =
        SessionSettings { prompt_hold_min_ns: 1_000_000_000, prompt_hold_max_ns: 1_000_000_000, ..settings() };
    let queue = vec![ChallengeType::Flash, ChallengeType::TurnLeft, ChallengeType::LookUp];
    let mut s = Session::new(queue, ChallengeType::HEAD_MOVEMENTS.to_vec(), ChallengeRng::new(Some(3)), settings);
    let neutral = face(0.0, 0.5);
    // The flash is prompted on the frame that calibrates: no recording can anticipate it.
    let (calibrated, prompted, _) = timeline(&mut s, 0, &vec![neutral.clone(); 10]);
    assert_eq!(prompted, calibrated);
    assert!(s.flash_schedule().is_some());
    let (events, n) = flash_frames(&mut s, 10, |schedule, ms| lit_skin(schedule, ms, 150.0));
    assert!(events.iter().any(|e| matches!(e, Event::ChallengeCompleted { .. })), "{events:?}");
    // The turn follows as soon as the head is neutral: the flash's random length was its hold.
    let (_, prompted, _) = timeline(&mut s, n, &vec![neutral.clone(); 10]);
    let wait = prompted.expect("the turn is prompted") - n;
    assert!(wait <= CENTRE_FRAMES as u64, "prompted {wait} frames after the flash");
    // The prompt after the turn waits for its hold again (30 frames at 30 fps).
    let mut m = n + 10;
    for k in 0..60 {
        let events = s.observe(m * FRAME_NS, &[performing(Some(ChallengeType::TurnLeft), k)], FRAME);
        m += 1;
        if events.iter().any(|e| matches!(e, Event::ChallengeCompleted { .. })) {
            break;
        }
    }
    let (_, prompted, _) = timeline(&mut s, m, &vec![neutral.clone(); 60]);
    let wait = prompted.expect("look up is prompted") - m;
    assert!((30..=33).contains(&wait), "prompted {wait} frames after the turn");
}

#[test]
fn a_hold_longer_than_the_attempt_timeout_still_prompts() {
    // Attempts of `timeout_ms`, a hold of `hold_ms` before each prompt.
    let timed = |timeout_ms: u64, hold_ms: u64| {
        let settings = SessionSettings {
            challenge_timeout_ns: timeout_ms * 1_000_000,
            prompt_hold_min_ns: hold_ms * 1_000_000,
            prompt_hold_max_ns: hold_ms * 1_000_000,
            ..settings()
        };
        let movements = ChallengeType::HEAD_MOVEMENTS.to_vec();
        Session::new(vec![ChallengeType::TurnLeft], movements, ChallengeRng::new(Some(1)), settings)
    };
    // Attempts of 1 s, a hold of 2 s, the head neutral throughout: the prompt comes after
    // the hold instead of the attempt timing out while the session waited.
    let (calibrated, prompted, events) = timeline(&mut timed(1000, 2000), 0, &vec![face(0.0, 0.5); 90]);
    assert!(!events.iter().any(|e| matches!(e, Event::ChallengeFailed { .. })), "{events:?}");
    let wait = prompted.expect("prompted after the hold") - calibrated.unwrap();
    assert!((60..=63).contains(&wait), "prompted {wait} frames after calibrating");
    // A head that never comes back is still timed out, after the hold and the timeout.
    let mut s = timed(1000, 1000);
    let (calibrated, _, _) = timeline(&mut s, 0, &vec![face(0.0, 0.5); 20]);
    let (_, prompted, events) = timeline(&mut s, 20, &vec![face(0.1, 0.5); 100]);
    assert_eq!(prompted, None);
    let failed_at = events.iter().position(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::Timeout, .. }));
    assert!(failed_at.is_some() && calibrated.is_some(), "{events:?}");
}

#[test]
fn a_movement_already_under_way_at_the_prompt_or_too_late_fails() {
    let neutral = face(0.0, 0.5);
    // Prompted, and the turn is there within 0.1 s: a recording, not an answer.
    let mut s = session(&[ChallengeType::TurnLeft]);
    play(&mut s, 0, 5, &neutral);
    let events = play(&mut s, 5, 3, &face(0.5, 0.5));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::WrongMovement, retrying: true, .. }))
    );
    // The retry waits for the neutral pose: no prompt while the head stays turned.
    play(&mut s, 8, 30, &face(0.5, 0.5));
    assert_eq!(s.stage(), Stage::Centering);
    assert_eq!(s.stage().hint(), Some(Hint::FaceCamera));
    assert_eq!(s.current(), None);
    // Prompted again, then no movement for 3 s: no reaction.
    play(&mut s, 38, 3, &neutral);
    assert_eq!(s.stage(), Stage::Challenge);
    let events = play(&mut s, 41, 100, &neutral);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::NoReaction, retrying: false, .. }))
    );
    // One challenge failed: no penalty step could reach the minimum score, the session ends.
    assert!(!events.iter().any(|e| matches!(e, Event::PenaltyAdded { .. })));
    let v = verdict(&events).expect("ended");
    assert_eq!(v.results[0].reason.as_deref(), Some(FailReason::NoReaction.name()));
    assert_eq!(v.failures, vec!["liveness-score"]);
    // Failing for a wrong movement in the last attempt is reported as such.
    let mut s = session(&[ChallengeType::TurnLeft]);
    play(&mut s, 0, 5, &neutral);
    play(&mut s, 5, 3, &face(0.5, 0.5));
    play(&mut s, 8, 3, &neutral);
    let events = play(&mut s, 11, 3, &face(0.5, 0.5));
    let v = verdict(&events).expect("ended with the failed challenge");
    assert_eq!(v.results[0].reason.as_deref(), Some(FailReason::WrongMovement.name()), "{v:?}");
    assert!(v.failed("wrong-movement"), "{v:?}");
}

#[test]
fn calibration_takes_a_neutral_pose_up_to_25_degrees_off_frontal() {
    let points = super::super::planarity::synthetic_head();
    let mut s = session(&[ChallengeType::TurnLeft]);
    // 20 degrees off frontal (yaw), 8 up: a user with a turned neutral pose calibrates.
    let events = play(&mut s, 0, 5, &mesh_face(-20.0, 8.0, points.clone()));
    assert!(events.iter().any(|e| matches!(e, Event::Calibrated { .. })), "{events:?}");
    // A turn to the left from there: yaw from -20 to -6 (14 degrees).
    play(&mut s, 5, REACTION_FRAMES, &mesh_face(-20.0, 8.0, points.clone()));
    let turned = super::super::planarity::turn_synthetic(&points, 14.0);
    let v = verdict(&play(&mut s, 20, 15, &mesh_face(-6.0, 8.0, turned))).expect("passed");
    assert!(v.passed, "{v:?}");

    // 30 degrees off: the hint asks to face the camera, and after the calibration timeout
    // the session ends as not calibrated (not as a missing check: the checks ran).
    let mut s = Session::new(
        vec![ChallengeType::TurnLeft],
        ChallengeType::HEAD_MOVEMENTS.to_vec(),
        ChallengeRng::new(Some(1)),
        SessionSettings::default(),
    );
    let mut far = mesh_face(30.0, 0.0, points.clone());
    far.antispoof = Some(crate::face::Antispoof {
        score: 0.9,
        aggregated_score: 0.9,
        frames: 1,
        is_real: true,
        ..crate::face::Antispoof::default()
    });
    far.surface = Some(crate::face::Surface {
        frame: Default::default(),
        session_score: 0.9,
        session_frames: 1,
        session_ok: true,
    });
    let events = play(&mut s, 0, 5, &far);
    assert!(events.contains(&Event::Calibrating { hint: Some(Hint::FaceCamera) }), "{events:?}");
    assert_eq!(s.stage(), Stage::Calibrating(Some(Hint::FaceCamera)));
    let events = play(&mut s, 5, 30 * 30, &far);
    let v = verdict(&events).expect("ended at the calibration timeout");
    assert_eq!(v.failures, vec!["not-calibrated"], "{v:?}");

    // Too small a face: move closer; too wide: move back.
    let mut s = session(&[ChallengeType::TurnLeft]);
    let mut small = mesh_face(0.0, 0.0, points.clone());
    small.bbox.width = 50.0;
    assert!(play(&mut s, 0, 10, &small).contains(&Event::Calibrating { hint: Some(Hint::MoveCloser) }));
    assert!(!s.is_calibrated());
    let mut large = mesh_face(0.0, 0.0, points.clone());
    large.bbox.width = 450.0;
    assert!(play(&mut s, 10, 10, &large).contains(&Event::Calibrating { hint: Some(Hint::MoveBack) }));
    assert!(!s.is_calibrated());
}

#[test]
fn with_a_guide_calibration_waits_for_the_face_to_fill_it() {
    let points = super::super::planarity::synthetic_head();
    // A guide's fit (lpserver's oval): a quarter of the frame's height at least, the centre
    // within a fifth of the frame's size of its centre.
    let fit = SessionSettings { min_face_share: 0.25, max_centre_offset: 0.2, ..settings() };
    let guided = || {
        Session::new(
            vec![ChallengeType::TurnLeft],
            ChallengeType::HEAD_MOVEMENTS.to_vec(),
            ChallengeRng::new(Some(1)),
            fit.clone(),
        )
    };
    // 100 px of 480: calibrates by default, not with the guide.
    let mut modest = mesh_face(0.0, 0.0, points.clone());
    modest.bbox = Rect { x: 270.0, y: 190.0, width: 100.0, height: 110.0 };
    let mut s = session(&[ChallengeType::TurnLeft]);
    play(&mut s, 0, 10, &modest);
    assert!(s.is_calibrated());
    let mut s = guided();
    assert!(play(&mut s, 0, 10, &modest).contains(&Event::Calibrating { hint: Some(Hint::MoveCloser) }));
    assert!(!s.is_calibrated());
    // Large enough at the frame's left edge (centre 140 px from the centre's 320): centre it.
    let mut aside = mesh_face(0.0, 0.0, points.clone());
    aside.bbox = Rect { x: 80.0, y: 120.0, width: 200.0, height: 220.0 };
    assert!(play(&mut s, 10, 10, &aside).contains(&Event::Calibrating { hint: Some(Hint::CentreFace) }));
    assert!(!s.is_calibrated());
    let mut inside = aside.clone();
    inside.bbox.x = 230.0;
    play(&mut s, 20, 10, &inside);
    assert!(s.is_calibrated());
}

#[test]
fn a_planar_movement_fails_the_challenge_and_a_3d_one_passes() {
    use super::super::planarity::{synthetic_head, tilt_synthetic, turn_synthetic};
    let points = synthetic_head();
    let neutral = mesh_face(0.0, 0.0, points.clone());
    // The mesh reads a 16-degree turn in both; the photo's points moved by a homography.
    for (moved, planar) in [(turn_synthetic(&points, 16.0), false), (tilt_synthetic(&points), true)] {
        let mut s = session(&[ChallengeType::TurnLeft]);
        play(&mut s, 0, 5 + REACTION_FRAMES, &neutral);
        let events = play(&mut s, 20, 15, &mesh_face(16.0, 0.0, moved));
        if planar {
            assert!(events.iter().any(|e| matches!(
                e,
                Event::ChallengeFailed { reason: FailReason::PlanarMotion, retrying: false, .. }
            )));
            let v = verdict(&events).expect("ended at once: the score cannot be reached");
            assert_eq!(v.results[0].attempts, 1, "a plane gets no retry");
            assert!(v.failed("planar-motion"), "{v:?}");
        } else {
            assert!(verdict(&events).is_some_and(|v| v.passed), "{events:?}");
        }
    }
}

#[test]
fn several_faces_in_two_frames_end_the_session() {
    let mut s = session(&[ChallengeType::TurnLeft]);
    let mut second = face(0.0, 0.5);
    second.bbox.x += 300.0;
    let pair = [face(0.0, 0.5), second];
    assert_eq!(s.observe(0, &pair, FRAME), vec![Event::Calibrating { hint: Some(Hint::OneFace) }]);
    let events = s.observe(FRAME_NS, &pair, FRAME);
    let v = verdict(&events).expect("ended");
    assert!(!v.passed && v.failures == vec!["several-faces"], "{v:?}");
    // A small face in the background is not a main face.
    let mut s = session(&[ChallengeType::TurnLeft]);
    let mut small = face(0.0, 0.5);
    small.bbox.width = 20.0;
    for n in 0..5 {
        assert!(verdict(&s.observe(n * FRAME_NS, &[face(0.0, 0.5), small.clone()], FRAME)).is_none());
    }
}

#[test]
fn losing_the_face_fails_the_attempt_and_timeouts_use_stream_time() {
    let mut s = session(&[ChallengeType::TurnLeft]);
    play(&mut s, 0, 5, &face(0.0, 0.5));
    // 2 s without a face: the attempt fails and is retried.
    let events: Vec<Event> = (5..5 + 61).flat_map(|n| s.observe(n * FRAME_NS, &[], FRAME)).collect();
    assert!(
        events.iter().any(|e| matches!(e, Event::ChallengeFailed { reason: FailReason::FaceLost, retrying: true, .. }))
    );
    // Stream time, not wall time: a frame 100 s later ends the session at once.
    let events = s.observe(100_000_000_000, &[face(0.0, 0.5)], FRAME);
    assert!(verdict(&events).expect("timed out").failed("timeout"));
}

#[test]
fn a_session_without_any_face_says_no_face_and_nothing_else() {
    let mut s = Session::new(
        vec![ChallengeType::TurnLeft],
        ChallengeType::HEAD_MOVEMENTS.to_vec(),
        ChallengeRng::new(Some(1)),
        SessionSettings::default(),
    );
    let events: Vec<Event> = (0..31 * 30).flat_map(|n| s.observe(n * FRAME_NS, &[], FRAME)).collect();
    assert_eq!(verdict(&events).expect("ended").failures, vec!["no-face"]);
    let mut s = session(&[ChallengeType::TurnLeft]);
    assert_eq!(verdict(&s.end("incomplete")).expect("ended").failures, vec!["incomplete", "no-face"]);
}

#[test]
fn smile_needs_a_rise_over_the_neutral_expression() {
    use crate::face::Mouth;
    let with_smile = |smile: f32| {
        let mut f = face(0.0, 0.5);
        f.mouth = Some(Mouth { opened: 0.1, smile });
        f
    };
    // A neutral face that smiles: passes after `expression_frames` frames.
    let mut s = session(&[ChallengeType::Smile]);
    play(&mut s, 0, 5, &with_smile(0.1));
    assert!(verdict(&play(&mut s, 5, 4, &with_smile(0.9))).is_none());
    assert!(verdict(&play(&mut s, 9, 1, &with_smile(0.9))).is_some_and(|v| v.passed));
    // Someone who smiles from the start shows no change: no pass (seed 001's
    // minEmotionChange).
    let mut s = session(&[ChallengeType::Smile]);
    play(&mut s, 0, 5, &with_smile(0.95));
    play(&mut s, 5, 60, &with_smile(0.99));
    assert!(s.verdict().is_none());
}

#[test]
fn ending_the_stream_early_fails_the_session_once() {
    let mut s = session(&[ChallengeType::TurnLeft, ChallengeType::TurnRight, ChallengeType::LookUp]);
    play(&mut s, 0, 5 + REACTION_FRAMES, &face(0.0, 0.5));
    play(&mut s, 20, 15, &face(0.5, 0.5));
    // Back to neutral: the second challenge is prompted.
    play(&mut s, 35, 5, &face(0.0, 0.5));
    let v = verdict(&s.end("incomplete")).expect("a verdict");
    assert_eq!((v.passed_challenges, v.total_challenges), (1, 3));
    // The running challenge had its first attempt; the last one was never asked.
    let attempts: Vec<u32> = v.results.iter().map(|r| r.attempts).collect();
    assert_eq!(attempts, vec![1, 1, 0]);
    assert!(!v.passed && v.failed("incomplete"), "{v:?}");
    assert!(s.end("incomplete").is_empty());
}

#[test]
fn required_passive_checks_fail_the_verdict_when_missing() {
    let mut s = Session::new(
        vec![ChallengeType::TurnLeft],
        ChallengeType::HEAD_MOVEMENTS.to_vec(),
        ChallengeRng::new(Some(1)),
        SessionSettings::default(),
    );
    play(&mut s, 0, 5 + REACTION_FRAMES, &face(0.0, 0.5));
    let v = verdict(&play(&mut s, 20, 15, &face(0.5, 0.5))).expect("done");
    assert_eq!(v.liveness_score, 1.0);
    assert!(!v.passed && v.failures == vec!["no-surface-analysis", "no-antispoof"], "{v:?}");
}

/// A TurnLeft session whose face lvantispoof calls real on the first `real` frames after
/// calibration (the reaction, then the turn) and not after, with aggregated scores 0.8
/// (real) and 0.2.
fn antispoof_verdict(real: u64) -> Verdict {
    let settings = SessionSettings { require_surface: false, ..SessionSettings::default() };
    let mut s = Session::new(
        vec![ChallengeType::TurnLeft],
        ChallengeType::HEAD_MOVEMENTS.to_vec(),
        ChallengeRng::new(Some(1)),
        settings,
    );
    let scored = |f: Face, is_real: bool| {
        let mut f = f;
        let score = if is_real { 0.8 } else { 0.2 };
        f.antispoof = Some(crate::face::Antispoof {
            score,
            aggregated_score: score,
            frames: 10,
            is_real,
            ..crate::face::Antispoof::default()
        });
        f
    };
    play(&mut s, 0, 5, &scored(face(0.0, 0.5), true));
    let mut events = Vec::new();
    for n in 0..REACTION_FRAMES + 15 {
        let f = if n < REACTION_FRAMES { face(0.0, 0.5) } else { face(0.5, 0.5) };
        events.extend(play(&mut s, 5 + n, 1, &scored(f, n < real)));
    }
    verdict(&events).expect("done")
}

#[test]
fn the_passive_decision_is_the_majority_of_the_challenge_frames() {
    // Real through the reaction and the start of the turn, not on the turn's last frames:
    // most frames real, it passes, though the last frames alone would have failed it.
    let v = antispoof_verdict(REACTION_FRAMES + 3);
    assert!(v.passed, "{v:?}");
    assert_eq!(v.antispoof_real, Some(true));
    let score = v.antispoof_score.expect("scored");
    assert!(score > 0.5 && score < 0.8, "the mean of the frames' scores: {score}");
    // Real on a third of the frames: fails with `antispoof`.
    let v = antispoof_verdict(REACTION_FRAMES / 3);
    assert!(!v.passed && v.failures == vec!["antispoof"], "{v:?}");
    assert!(v.antispoof_score.expect("scored") < 0.5, "{v:?}");
}
