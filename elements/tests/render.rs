//! The test-video renderers are right before anything builds on them: on their frames the
//! detector's keypoints and the mesh's head pose move the way the ground-truth pose says; and
//! on them the planarity check separates a turning head from a tilted photo.

mod common;

use common::render::{self, Expression, MESH_POINTS};
use common::run_frames;
use gstliveness::meta::FaceMeta;
use liveness_core::challenge::planarity::planar_residual;
use liveness_core::challenge::session::PLANAR_THRESHOLD;
use liveness_core::face::Face;

/// The single face of each frame after lvfacedetect and lvlandmarks.
fn mesh_faces(frames: &[Vec<u8>], width: usize, height: usize) -> Vec<Face> {
    let run =
        run_frames(frames, width, height, 30, "videoconvert ! lvfacedetect ! lvlandmarks").expect("pipeline runs");
    run.buffers_of("out")
        .iter()
        .map(|b| {
            let faces = b.meta::<FaceMeta>().expect("FaceMeta").faces().to_vec();
            assert_eq!(faces.len(), 1, "one face per rendered frame");
            faces[0].clone()
        })
        .collect()
}

fn nose_offset_x(face: &Face) -> f32 {
    let k = face.keypoints;
    let eye = (k.left_eye.x - k.right_eye.x).hypot(k.left_eye.y - k.right_eye.y);
    (k.nose_tip.x - (k.right_eye.x + k.left_eye.x) / 2.0) / eye
}

#[test]
fn whole_head_renders_read_as_real_head_turns() {
    let model = common::load_whole_head("astronaut.png");
    let poses: Vec<Expression> = [(0.0, 0.0), (25.0, 0.0), (-25.0, 0.0), (0.0, 15.0), (0.0, -15.0)]
        .iter()
        .map(|&(yaw, pitch)| Expression { yaw, pitch, ..Expression::default() })
        .collect();
    let frames: Vec<Vec<u8>> = poses.iter().map(|e| model.render(e)).collect();
    let faces = mesh_faces(&frames, model.width, model.height);
    let pose = |i: usize| faces[i].head_pose.expect("a head pose");
    let (yaw0, pitch0) = (pose(0).yaw_degrees, pose(0).pitch_degrees);
    for (i, e) in poses.iter().enumerate().skip(1) {
        let (yaw, pitch) = (pose(i).yaw_degrees - yaw0, pose(i).pitch_degrees - pitch0);
        let nose = nose_offset_x(&faces[i]) - nose_offset_x(&faces[0]);
        println!(
            "rendered yaw {:+} pitch {:+}: mesh reads yaw {yaw:+.1} pitch {pitch:+.1}, nose offset {nose:+.3}",
            e.yaw, e.pitch
        );
        if e.yaw != 0.0 {
            // Within 30 % of the rendered yaw, and the nose moves most of 0.5 tan(25°) = 0.23.
            assert!((yaw - e.yaw).abs() <= 0.3 * e.yaw.abs(), "yaw {yaw} for {}", e.yaw);
            assert!(nose * e.yaw.signum() > 0.6 * 0.5 * e.yaw.to_radians().tan(), "nose {nose} for {}", e.yaw);
        } else {
            assert!(pitch * e.pitch.signum() > 0.5 * e.pitch.abs(), "pitch {pitch} for {}", e.pitch);
        }
    }
}

#[test]
fn planar_residual_separates_turning_heads_from_tilted_photos() {
    let model = common::load_whole_head("astronaut.png");
    let neutral = model.render(&Expression::default());
    let genuine: Vec<Expression> = [(20.0, 0.0), (-20.0, 0.0), (0.0, 12.0), (0.0, -12.0), (12.0, 0.0)]
        .iter()
        .map(|&(yaw, pitch)| Expression { yaw, pitch, ..Expression::default() })
        .collect();
    let (w, h) = (model.width, model.height);
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    // A photo of the neutral face, turned and tilted as a plane (up to 45 degrees), shaken,
    // rotated and scaled in the image plane.
    let planar: Vec<(&str, [f64; 9])> = vec![
        ("tilt yaw +35", render::plane_homography(cx, cy, 600.0, 35.0, 0.0, 0.0, 1.0, (0.0, 0.0))),
        ("tilt yaw -45", render::plane_homography(cx, cy, 600.0, -45.0, 0.0, 0.0, 1.0, (0.0, 0.0))),
        ("tilt pitch +30", render::plane_homography(cx, cy, 600.0, 0.0, 30.0, 0.0, 1.0, (0.0, 0.0))),
        ("tilt pitch -25", render::plane_homography(cx, cy, 600.0, 0.0, -25.0, 0.0, 1.0, (0.0, 0.0))),
        ("shake", render::plane_homography(cx, cy, 600.0, 0.0, 0.0, 0.0, 1.0, (40.0, -15.0))),
        ("roll 15", render::plane_homography(cx, cy, 600.0, 0.0, 0.0, 15.0, 1.0, (0.0, 0.0))),
        ("scale 1.2", render::plane_homography(cx, cy, 600.0, 0.0, 0.0, 0.0, 1.2, (0.0, 0.0))),
    ];
    let mut frames = vec![neutral.clone()];
    frames.extend(genuine.iter().map(|e| model.render(e)));
    frames.extend(planar.iter().map(|(_, hom)| render::warp_image(&neutral, w, h, hom, [128, 128, 128])));
    let faces = mesh_faces(&frames, w, h);
    let mesh = |i: usize| &faces[i].landmarks.as_ref().expect("a mesh").points[..MESH_POINTS];
    let residual = |i: usize| planar_residual(mesh(0), mesh(i)).expect("a residual");
    let genuine_residuals: Vec<f32> = (1..=genuine.len()).map(residual).collect();
    let planar_residuals: Vec<f32> = (1 + genuine.len()..frames.len()).map(residual).collect();
    for (e, r) in genuine.iter().zip(&genuine_residuals) {
        println!("head yaw {:+} pitch {:+}: residual {r:.4}", e.yaw, e.pitch);
    }
    for ((name, _), (i, r)) in planar.iter().zip(planar_residuals.iter().enumerate()) {
        let p = faces[1 + genuine.len() + i].head_pose.expect("pose");
        println!("photo {name}: residual {r:.4} (mesh reads yaw {:+.1} pitch {:+.1})", p.yaw_degrees, p.pitch_degrees);
    }
    // Every real head movement is above the threshold; every planar motion that the mesh
    // reads as a head movement at all (half a threshold: 6 degrees of yaw, 4 of pitch), and
    // every tilt up to 35 degrees, below it.
    let lowest_genuine = genuine_residuals.iter().copied().fold(f32::MAX, f32::min);
    assert!(lowest_genuine > PLANAR_THRESHOLD, "genuine from {lowest_genuine}");
    let still = faces[0].head_pose.expect("pose");
    for ((name, _), (i, r)) in planar.iter().zip(planar_residuals.iter().enumerate()) {
        let p = faces[1 + genuine.len() + i].head_pose.expect("pose");
        let moved =
            (p.yaw_degrees - still.yaw_degrees).abs() >= 6.0 || (p.pitch_degrees - still.pitch_degrees).abs() >= 4.0;
        if moved || *name != "tilt yaw -45" {
            assert!(*r < PLANAR_THRESHOLD, "{name}: {r}");
        }
    }
}

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
    let model = common::load_face("astronaut.png");
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
#[ignore = "writes a contact sheet of rendered frames to $RENDER_SHEET for a person to look at ($RENDER_WHOLE_HEAD set: the whole-head renderer)"]
fn contact_sheet() {
    let model = if std::env::var_os("RENDER_WHOLE_HEAD").is_some() {
        common::load_whole_head("astronaut.png")
    } else {
        common::load_face("astronaut.png")
    };
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
    let model = common::load_face("astronaut.png");
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
/// The square of astronaut.png the demo clip shows (x, y, side).
pub const DEMO_CROP: (usize, usize, usize) = (65, 0, 320);

#[test]
#[ignore = "writes the bundled demo clip: DEMO_CLIP=tests/fixtures/demo-session.webm cargo test --test render -- --ignored demo_clip"]
fn demo_clip() {
    let path = std::env::var("DEMO_CLIP").expect("DEMO_CLIP names the file to write");
    let encoder = std::env::var("DEMO_CLIP_ENCODER").unwrap_or_else(|_| {
        "vp8enc target-bitrate=1500000 keyframe-max-dist=60 deadline=0 cpu-used=0 ! webmmux".into()
    });
    // The face as a person stands in lpserver's oval: 30 % of the frame, near its middle.
    let p = common::photo_mesh("astronaut.png").crop(DEMO_CROP.0, DEMO_CROP.1, DEMO_CROP.2);
    let model = render::FaceModel::new(p.width, p.height, p.pixels, p.points);
    let frames = model.render_all(&render::session(&DEMO_SEQUENCE));
    let tail = format!("videoconvert ! video/x-raw,format=I420 ! {encoder} ! filesink location={path}");
    common::run_frames_with(&frames, model.width, model.height, 30, &tail, |_| {}).expect("the clip is written");
    eprintln!("{} frames written to {path}", frames.len());
}
