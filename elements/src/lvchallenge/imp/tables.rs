//! The numeric properties of lvchallenge as tables: name, blurb, range and the setting each
//! one sets (declared, read and written by the same loop in `ObjectImpl`).

use super::*;

/// Double properties: name, blurb, minimum, maximum, and where the value lives.
pub(super) type DoubleField = fn(&mut Settings) -> &mut f32;
pub(super) const DOUBLES: &[(&str, &str, f64, f64, DoubleField)] = &[
    (
        "turn-threshold",
        "Without lvlandmarks: nose offset from the neutral baseline, in eye distances, that counts as a turn (seed 002's rule read from the neutral baseline; the weaker path, see the README)",
        0.0,
        2.0,
        |s| &mut s.session.static_thresholds.turn,
    ),
    (
        "up-threshold",
        "Without lvlandmarks: nose rise toward the eye line from the baseline, in eye distances, that counts as looking up",
        0.0,
        2.0,
        |s| &mut s.session.static_thresholds.up,
    ),
    (
        "down-threshold",
        "Without lvlandmarks: nose drop from the baseline, in eye distances, that counts as looking down",
        0.0,
        2.0,
        |s| &mut s.session.static_thresholds.down,
    ),
    ("gesture-turn-threshold", "Without lvlandmarks: turn threshold for shake_no, in eye distances", 0.0, 2.0, |s| {
        &mut s.session.gesture_thresholds.turn
    }),
    ("gesture-up-threshold", "Without lvlandmarks: up threshold for nod_yes, in eye distances", 0.0, 2.0, |s| {
        &mut s.session.gesture_thresholds.up
    }),
    ("gesture-down-threshold", "Without lvlandmarks: down threshold for nod_yes, in eye distances", 0.0, 2.0, |s| {
        &mut s.session.gesture_thresholds.down
    }),
    (
        "turn-degrees",
        "Change of the mesh's head yaw from the neutral pose, in degrees, that counts as a turn (lvlandmarks upstream)",
        1.0,
        90.0,
        |s| &mut s.session.mesh_thresholds.turn,
    ),
    (
        "up-degrees",
        "Rise of the mesh's head pitch from the neutral pose, in degrees, that counts as looking up",
        1.0,
        90.0,
        |s| &mut s.session.mesh_thresholds.up,
    ),
    (
        "down-degrees",
        "Drop of the mesh's head pitch from the neutral pose, in degrees, that counts as looking down",
        1.0,
        90.0,
        |s| &mut s.session.mesh_thresholds.down,
    ),
    (
        "gesture-turn-degrees",
        "Yaw change, in degrees, that counts as one side of shake_no (a direction is released under half of it)",
        1.0,
        90.0,
        |s| &mut s.session.mesh_gesture_thresholds.turn,
    ),
    ("gesture-up-degrees", "Pitch rise, in degrees, that counts as the upper side of nod_yes", 1.0, 90.0, |s| {
        &mut s.session.mesh_gesture_thresholds.up
    }),
    ("gesture-down-degrees", "Pitch drop, in degrees, that counts as the lower side of nod_yes", 1.0, 90.0, |s| {
        &mut s.session.mesh_gesture_thresholds.down
    }),
    (
        "calibration-max-degrees",
        "The neutral pose may be this far from frontal (mesh yaw and pitch, degrees); beyond it the hint is face-camera",
        0.0,
        90.0,
        |s| &mut s.session.calibration_max_degrees,
    ),
    (
        "planar-threshold",
        "A head movement whose face mesh moved as a plane (homography residual against the neutral mesh, in eye spans, below this) fails as planar-motion; 0 switches the check off",
        0.0,
        1.0,
        |s| &mut s.session.planar_threshold,
    ),
    (
        "min-liveness-score",
        "Share of passed challenges needed (seed 002: 0.90, so one failure fails); the session ends as soon as the challenges left, the penalty step included, cannot reach it",
        0.0,
        1.0,
        |s| &mut s.session.min_liveness_score,
    ),
    (
        "min-surface-score",
        "Mean lvsurfaceanalysis confidence over the challenge frames needed (seed 002: 0.40)",
        0.0,
        1.0,
        |s| &mut s.session.min_surface_score,
    ),
    ("blink-ratio", "Eyes count as closed below this share of the neutral eye aspect ratio (blink)", 0.0, 1.0, |s| {
        &mut s.session.blink_ratio
    }),
    (
        "mouth-open-gain",
        "Rise of lvlandmarks' mouth-opened ratio over the neutral one that counts as an open mouth",
        0.0,
        1.0,
        |s| &mut s.session.mouth_open_gain,
    ),
    ("smile-threshold", "Smile probability (emotion model) that counts as a smile", 0.0, 1.0, |s| {
        &mut s.session.smile_threshold
    }),
    (
        "smile-gain",
        "Least rise of the smile probability over the neutral one (seed 001 minEmotionChange: 20 %)",
        0.0,
        1.0,
        |s| &mut s.session.smile_gain,
    ),
    ("closer-factor", "Growth of the face box width that counts as moving closer", 1.0, 4.0, |s| {
        &mut s.session.closer_factor
    }),
    (
        "min-face-share",
        "While calibrating, a face narrower than this share of the frame's shorter side is asked to come closer (hint move-closer) and does not calibrate; an application that draws a guide (an oval) sets it so that the session starts with the face filling the guide",
        0.01,
        0.85,
        |s| &mut s.session.min_face_share,
    ),
    (
        "max-centre-offset",
        "While calibrating, a face whose centre is further from the frame's centre than this share of the frame's width (horizontally) or height (vertically) is asked to centre itself (hint centre-face) and does not calibrate; 1 switches the check off",
        0.0,
        1.0,
        |s| &mut s.session.max_centre_offset,
    ),
    (
        "max-duplicate-share",
        "A session more of whose frames than this share repeat the frame before (lvsurfaceanalysis' stream signals) fails duplicate-frames (code 22); 1 switches the check off",
        0.0,
        1.0,
        |s| &mut s.session.max_duplicate_share,
    ),
    (
        "min-sensor-noise",
        "A session whose median temporal sensor noise (luma levels between frames where the picture stands still, lvsurfaceanalysis) is below this fails no-sensor-noise (code 23); 0 switches the check off",
        0.0,
        255.0,
        |s| &mut s.session.min_sensor_noise,
    ),
    (
        "min-timing-jitter",
        "A session whose frame intervals (capture meta or buffer timestamps) deviate from their median by less than this many ms (median absolute deviation, over at least 10 intervals) fails regular-timing (code 24); 0 switches the check off",
        0.0,
        1000.0,
        |s| &mut s.session.min_timing_jitter_ms,
    ),
    (
        "flash-correlation",
        "Least correlation between the face's log chroma and the screen-flash colours that passes a flash challenge",
        -1.0,
        1.0,
        |s| &mut s.session.flash.min_correlation,
    ),
];

pub(super) type UintField = fn(&mut Settings) -> &mut u32;
pub(super) const UINTS: &[(&str, &str, u32, u32, UintField)] = &[
    ("length", "Challenges in a random sequence, besides the screen flash (seed 002: 5)", 1, 20, |s| &mut s.length),
    ("hold-frames", "Consecutive frames a static pose must be held (seed 002: 15)", 1, 1000, |s| {
        &mut s.session.hold_frames
    }),
    ("expression-frames", "Frames an open mouth, a smile or a closer face must be held", 1, 1000, |s| {
        &mut s.session.expression_frames
    }),
    ("retries", "Retries of a failed challenge before it counts as failed (seed 002: 1)", 0, 10, |s| {
        &mut s.session.retries
    }),
    (
        "flash-max-lag",
        "Longest delay between a screen-flash schedule's start and the face's response (the round trip to the page and the camera's latency), in ms",
        0,
        5000,
        |s| &mut s.session.flash.max_lag_ms,
    ),
    (
        "baseline-frames",
        "Stable frontal frames averaged into the neutral baseline; 0 uses seed 002's absolute rule",
        0,
        300,
        |s| &mut s.session.baseline_frames,
    ),
];

pub(super) type MsField = fn(&mut Settings) -> &mut u64;
pub(super) const DURATIONS: &[(&str, &str, MsField)] = &[
    ("challenge-timeout", "Time for one attempt at a challenge, in ms of stream running time", |s| {
        &mut s.session.challenge_timeout_ns
    }),
    ("timeout", "Time for the whole session, in ms of stream running time (seed 002: 90000)", |s| {
        &mut s.session.total_timeout_ns
    }),
    ("face-lost-timeout", "Time without a face that fails the current attempt, in ms of stream running time", |s| {
        &mut s.session.face_lost_timeout_ns
    }),
    (
        "calibration-timeout",
        "Time to take the neutral pose before the session ends with not-calibrated (code 18), in ms of stream running time",
        |s| &mut s.session.calibration_timeout_ns,
    ),
    (
        "prompt-hold-min",
        "Each prompt waits for a hold in the neutral pose drawn from prompt-hold-min to prompt-hold-max (ms of stream running time): a recording cannot know when the prompt comes, and a movement that reaches its threshold before it fails the attempt (wrong-movement); 0 and 0 prompt as soon as the head is neutral",
        |s| &mut s.session.prompt_hold_min_ns,
    ),
    (
        "prompt-hold-max",
        "The longest hold in the neutral pose before a prompt (ms of stream running time; below prompt-hold-min: prompt-hold-min)",
        |s| &mut s.session.prompt_hold_max_ns,
    ),
    (
        "reaction-min",
        "A head movement that reaches half its threshold sooner than this after its prompt was under way before it: wrong-movement (ms)",
        |s| &mut s.session.reaction_min_ns,
    ),
    (
        "reaction-max",
        "A head movement must reach half its threshold within this time after its prompt, else the attempt fails (ms)",
        |s| &mut s.session.reaction_max_ns,
    ),
];
