//! The test-video renderer is right before anything builds on it: on its frames the
//! detector's keypoints move the way the ground-truth pose says.

mod common;

use common::render::{self, Expression};
use common::run_frames;
use gstliveness::meta::FaceMeta;

/// Seed 002's nose offsets (eye distances) of the single face in each frame.
fn nose_offsets(model: &render::FaceModel, poses: &[Expression]) -> Vec<(f32, f32)> {
    let frames: Vec<Vec<u8>> = poses.iter().map(|e| model.render(e)).collect();
    let run = run_frames(&frames, model.width, model.height, 30, "videoconvert ! lvfacedetect").expect("pipeline runs");
    run.buffers_of("out")
        .iter()
        .map(|b| {
            let faces = b.meta::<FaceMeta>().expect("FaceMeta").faces().to_vec();
            assert_eq!(faces.len(), 1, "one face per rendered frame");
            let k = faces[0].keypoints;
            let eye = (k.left_eye.x - k.right_eye.x).hypot(k.left_eye.y - k.right_eye.y);
            (
                (k.nose_tip.x - (k.right_eye.x + k.left_eye.x) / 2.0) / eye,
                (k.nose_tip.y - (k.right_eye.y + k.left_eye.y) / 2.0) / eye,
            )
        })
        .collect()
}

#[test]
fn detector_keypoints_follow_the_rendered_yaw_and_pitch() {
    let model = render::load("astronaut.png");
    let yaws = [-40.0, -25.0, -10.0, 0.0, 10.0, 25.0, 40.0];
    let offsets = nose_offsets(&model, &yaws.map(|yaw| Expression { yaw, ..Expression::default() }));
    println!("yaw -> nose x offset: {:?}", yaws.iter().zip(&offsets).map(|(y, o)| (y, o.0)).collect::<Vec<_>>());
    // The nose offset grows with yaw and changes sign with it (seed 002: > 0 is turn_left).
    assert!(offsets.windows(2).all(|pair| pair[1].0 > pair[0].0), "{offsets:?}");
    let neutral = offsets[3].0;
    assert!(offsets[0].0 < neutral - 0.15 && offsets[6].0 > neutral + 0.15, "{offsets:?}");
    assert!(offsets[0].0 < 0.0 && offsets[6].0 > 0.0, "{offsets:?}");

    let pitches = [-25.0, 0.0, 25.0];
    let vertical = nose_offsets(&model, &pitches.map(|pitch| Expression { pitch, ..Expression::default() }));
    println!("pitch -> nose y offset: {:?}", pitches.iter().zip(&vertical).map(|(p, o)| (p, o.1)).collect::<Vec<_>>());
    // Looking up brings the nose toward the eye line.
    assert!(vertical[2].1 < vertical[1].1 && vertical[1].1 < vertical[0].1, "{vertical:?}");
}

#[test]
#[ignore = "writes a contact sheet of rendered frames to $RENDER_SHEET for a person to look at"]
fn contact_sheet() {
    let model = render::load("astronaut.png");
    let poses = [
        Expression { yaw: -30.0, ..Expression::default() },
        Expression::default(),
        Expression { yaw: 30.0, ..Expression::default() },
        Expression { pitch: 25.0, ..Expression::default() },
        Expression { pitch: -25.0, ..Expression::default() },
        Expression { roll: 20.0, ..Expression::default() },
        Expression { eyes_closed: 1.0, ..Expression::default() },
        Expression { mouth_open: 1.0, ..Expression::default() },
        Expression { scale: 1.3, ..Expression::default() },
    ];
    let path = std::env::var("RENDER_SHEET").unwrap_or_else(|_| "/tmp/render-sheet.ppm".into());
    // 3 x 3 tiles of the face region, as a binary PPM.
    let (x0, y0, tile) = (140usize, 40usize, 180usize);
    let mut sheet = vec![0u8; (tile * 3) * (tile * 3) * 3];
    for (n, pose) in poses.iter().enumerate() {
        let frame = model.render(pose);
        let (tx, ty) = ((n % 3) * tile, (n / 3) * tile);
        for y in 0..tile {
            for x in 0..tile {
                let src = ((y0 + y) * model.width + x0 + x) * 3;
                let dst = ((ty + y) * tile * 3 + tx + x) * 3;
                sheet[dst..dst + 3].copy_from_slice(&frame[src..src + 3]);
            }
        }
    }
    let mut file = format!("P6\n{} {}\n255\n", tile * 3, tile * 3).into_bytes();
    file.extend_from_slice(&sheet);
    std::fs::write(&path, file).unwrap();
}

#[test]
#[ignore = "prints the keypoint offsets against rendered yaw and pitch, the figures behind lvchallenge's thresholds"]
fn calibration_table() {
    let model = render::load("astronaut.png");
    let yaws: Vec<f32> = (-8..=8).map(|i| i as f32 * 5.0).collect();
    let x =
        nose_offsets(&model, &yaws.iter().map(|&yaw| Expression { yaw, ..Expression::default() }).collect::<Vec<_>>());
    let neutral = x[8];
    for (yaw, o) in yaws.iter().zip(&x) {
        println!("yaw {yaw:>5}: x {:+.3} (from neutral {:+.3})", o.0, o.0 - neutral.0);
    }
    let pitches: Vec<f32> = (-6..=6).map(|i| i as f32 * 5.0).collect();
    let y = nose_offsets(
        &model,
        &pitches.iter().map(|&pitch| Expression { pitch, ..Expression::default() }).collect::<Vec<_>>(),
    );
    let neutral = y[6];
    for (pitch, o) in pitches.iter().zip(&y) {
        println!("pitch {pitch:>5}: y {:+.3} (from neutral {:+.3})", o.1, o.1 - neutral.1);
    }
}

/// The sequence the bundled demo clip performs (`make demo`, README).
pub const DEMO_SEQUENCE: [&str; 3] = ["turn_left", "look_up", "turn_right"];

#[test]
#[ignore = "writes the bundled demo clip: DEMO_CLIP=tests/fixtures/demo-session.webm cargo test --test render -- --ignored demo_clip"]
fn demo_clip() {
    let path = std::env::var("DEMO_CLIP").expect("DEMO_CLIP names the file to write");
    let encoder = std::env::var("DEMO_CLIP_ENCODER").unwrap_or_else(|_| {
        "vp8enc target-bitrate=1500000 keyframe-max-dist=60 deadline=0 cpu-used=0 ! webmmux".into()
    });
    let model = render::load("astronaut.png");
    let frames = model.render_all(&render::session(&DEMO_SEQUENCE));
    let tail = format!("videoconvert ! video/x-raw,format=I420 ! {encoder} ! filesink location={path}");
    common::run_frames_with(&frames, model.width, model.height, 30, &tail, |_| {}).expect("the clip is written");
    eprintln!("{} frames written to {path}", frames.len());
}
