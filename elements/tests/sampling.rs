//! `every-nth` of lvlandmarks, lvantispoof and lvsurfaceanalysis: each analyses the first
//! frame of a face and every n-th after it, and carries its last results over the frames
//! between. The face is the astronaut, eyes open on the first frame and closed on the next
//! four (the same box, so the same track): what the elements report on each frame shows
//! whether they looked at it.

mod common;

use common::{fixture, run_frames};
use gstliveness::meta::FaceMeta;
use liveness_core::face::Face;

fn rgb(name: &str) -> (Vec<u8>, usize, usize) {
    let image = image::open(fixture(name)).expect("fixture decodes").to_rgb8();
    let (w, h) = (image.width() as usize, image.height() as usize);
    (image.into_raw(), w, h)
}

/// The main face of each frame of eyes-open, then four eyes-closed frames, through `chain`.
fn faces(chain: &str) -> Vec<Face> {
    let (open, w, h) = rgb("astronaut.png");
    let (closed, ..) = rgb("astronaut-eyes-closed.png");
    let frames = [open, closed.clone(), closed.clone(), closed.clone(), closed];
    let run = run_frames(&frames, w, h, 10, chain).expect("pipeline runs");
    let faces: Vec<Face> =
        run.buffers_of("out").iter().map(|b| b.meta::<FaceMeta>().expect("FaceMeta").faces()[0].clone()).collect();
    assert_eq!(faces.len(), 5);
    assert!(faces.iter().all(|f| f.track_id == faces[0].track_id), "one track");
    faces
}

#[test]
fn every_nth_analyses_the_first_and_every_nth_frame_and_carries_between() {
    let every = "lvfacedetect ! lvlandmarks eye-closed-ratio=0.21 ! lvantispoof ! lvsurfaceanalysis";
    let sampled = faces(
        "lvfacedetect ! lvlandmarks every-nth=3 eye-closed-ratio=0.21 ! lvantispoof every-nth=3 ! lvsurfaceanalysis every-nth=3",
    );
    let full = faces(every);

    // The mesh: open eyes carried over frames 1 and 2, closed from frame 3 on.
    let closed: Vec<bool> = sampled.iter().map(|f| f.eyes.expect("eyes on every frame").closed).collect();
    assert_eq!(closed, [false, false, false, true, true]);
    let full_closed: Vec<bool> = full.iter().map(|f| f.eyes.expect("eyes").closed).collect();
    assert_eq!(full_closed, [false, true, true, true, true], "the reference run sees every frame");

    // Anti-spoofing: the frame score of frame 0 on frames 1-2, frame 3's on frame 4; the
    // aggregate counts the scored frames only.
    let antispoof: Vec<_> = sampled.iter().map(|f| f.antispoof.expect("antispoof on every frame")).collect();
    assert_eq!(antispoof[1], antispoof[0]);
    assert_eq!(antispoof[2], antispoof[0]);
    assert_ne!(antispoof[3].score, antispoof[0].score);
    assert_eq!(antispoof[4], antispoof[3]);
    assert_eq!(antispoof.iter().map(|a| a.frames).collect::<Vec<_>>(), [1, 1, 1, 2, 2]);
    assert_eq!(full.iter().map(|f| f.antispoof.expect("antispoof").frames).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    // Frame 3 is scored as the reference run scores the same image.
    assert_eq!(antispoof[3].score, full[3].antispoof.expect("antispoof").score);

    // Surface and quality: likewise, the session score over the analysed frames.
    let surface: Vec<_> = sampled.iter().map(|f| f.surface.expect("surface on every frame")).collect();
    assert_eq!(surface.iter().map(|s| s.session_frames).collect::<Vec<_>>(), [1, 1, 1, 2, 2]);
    assert_eq!(surface[2].frame, surface[0].frame);
    assert_eq!(surface[3].frame, full[3].surface.expect("surface").frame);
    assert_eq!(sampled[2].quality, sampled[0].quality);
    assert!(sampled.iter().all(|f| f.quality.is_some()));
}

/// A head that turns, comes closer and slides right by 3 pixels a frame, then `blank` empty
/// frames.
fn moving_head(frames: usize, blank: usize) -> (Vec<Vec<u8>>, usize, usize) {
    let model = common::load_whole_head("astronaut.png");
    let (w, h) = (model.width, model.height);
    let mut out: Vec<Vec<u8>> = (0..frames)
        .map(|i| {
            let t = i as f32 / frames as f32;
            let e = common::render::Expression { yaw: 20.0 * t, scale: 1.0 + 0.2 * t, ..Default::default() };
            let rendered = model.render(&e);
            // Slide right: each row moves 3*i pixels, the left edge repeats.
            let dx = (3 * i).min(w - 1);
            let mut slid = rendered.clone();
            for y in 0..h {
                let row = &rendered[y * w * 3..(y + 1) * w * 3];
                let out_row = &mut slid[y * w * 3..(y + 1) * w * 3];
                out_row[dx * 3..].copy_from_slice(&row[..(w - dx) * 3]);
                for x in 0..dx {
                    out_row[x * 3..x * 3 + 3].copy_from_slice(&row[..3]);
                }
            }
            slid
        })
        .collect();
    out.extend((0..blank).map(|_| vec![128u8; w * h * 3]));
    (out, w, h)
}

fn all_faces(frames: &[Vec<u8>], w: usize, h: usize, chain: &str) -> Vec<Vec<Face>> {
    let run = run_frames(frames, w, h, 10, chain).expect("pipeline runs");
    run.buffers_of("out").iter().map(|b| b.meta::<FaceMeta>().expect("FaceMeta").faces().to_vec()).collect()
}

#[test]
fn between_detections_the_face_box_follows_the_mesh() {
    let (frames, w, h) = moving_head(24, 0);
    let detected = all_faces(&frames, w, h, "lvfacedetect ! lvlandmarks");
    let followed = all_faces(&frames, w, h, "lvfacedetect every-nth=4 ! lvlandmarks");
    let stale = all_faces(&frames, w, h, "lvfacedetect every-nth=4");
    // The reference may see a second, spurious face on a frame (a fold of the suit): the head
    // is the surest.
    let detected: Vec<Face> =
        detected.iter().map(|f| f.iter().max_by(|a, b| a.score.total_cmp(&b.score)).expect("a face").clone()).collect();
    let counts = |run: &[Vec<Face>]| run.iter().map(Vec::len).collect::<Vec<_>>();
    assert!(followed.iter().chain(&stale).all(|f| f.len() == 1), "{:?} {:?}", counts(&followed), counts(&stale));
    let tracked: Vec<bool> = followed.iter().map(|f| f[0].tracked).collect();
    let expected: Vec<bool> = (0..frames.len()).map(|i| i % 4 != 0).collect();
    assert_eq!(tracked, expected, "the detector runs on every fourth frame");
    assert!(followed.iter().all(|f| f[0].track_id == 1) && detected.iter().all(|f| !f.tracked));
    let mut worst_followed = 1.0f32;
    let mut worst_stale = 1.0f32;
    for i in (0..frames.len()).filter(|i| i % 4 != 0) {
        worst_followed = worst_followed.min(followed[i][0].bbox.iou(&detected[i].bbox));
        worst_stale = worst_stale.min(stale[i][0].bbox.iou(&detected[i].bbox));
        // Without lvlandmarks the box stays where it was detected.
        assert_eq!(stale[i][0].bbox, stale[i - i % 4][0].bbox);
        assert_eq!(followed[i][0].antispoof, None);
    }
    assert!(worst_followed > 0.85, "followed boxes overlap the detector's own by {worst_followed}");
    assert!(worst_followed > worst_stale + 0.05, "following ({worst_followed}) beats standing still ({worst_stale})");
    // The mesh on followed boxes reads the same head pose as on detected ones.
    for (f, d) in followed.iter().zip(&detected) {
        let (f, d) = (f[0].head_pose.expect("pose"), d.head_pose.expect("pose"));
        assert!((f.yaw_degrees - d.yaw_degrees).abs() < 2.0, "{f:?} vs {d:?}");
    }
}

#[test]
fn a_face_the_mesh_loses_is_looked_for_again_on_the_next_frame() {
    let (frames, w, h) = moving_head(4, 4);
    let faces = all_faces(&frames, w, h, "lvfacedetect every-nth=100 ! lvlandmarks");
    // Frame 4 is empty: the followed box is meshed, the mesh finds no face, and frame 5
    // runs the detector, which finds none.
    assert!(faces[4].len() == 1 && faces[4][0].tracked && faces[4][0].landmarks.is_none(), "{:?}", faces[4]);
    assert!(faces[5..].iter().all(|f| f.is_empty()), "{:?}", &faces[5..]);
}

/// A session answering turn_left after a slow drift of the head that stays under half the
/// turn (the movement has not begun), at 30 frames a second.
fn drifting_session() -> (Vec<common::render::Expression>, Vec<Vec<u8>>, usize, usize) {
    use common::render::{self, Expression};
    let model = common::load_face("astronaut.png");
    let mut expressions = vec![Expression::default(); render::LEAD_IN_FRAMES];
    let drift = |i: usize| Expression { yaw: 6.0 * (1.0 - (i as f32 / 10.0 - 1.0).abs()), ..Expression::default() };
    expressions.extend((1..20).map(drift));
    expressions.extend(render::perform("turn_left"));
    let frames = model.render_all(&expressions);
    (expressions, frames, model.width, model.height)
}

#[test]
fn lvchallenge_tells_lvlandmarks_when_it_needs_the_mesh_and_the_smile() {
    use gst::prelude::*;
    use std::sync::{Arc, Mutex};
    let (expressions, frames, w, h) = drifting_session();
    let challenge = "lvchallenge name=challenge sequence=turn_left challenges=turn_left require-surface=false require-antispoof=false";
    let run = |landmarks: &str| {
        let needs = Arc::new(Mutex::new(Vec::new()));
        let seen = needs.clone();
        let tail = format!("lvfacedetect ! {landmarks} ! {challenge} ! appsink name=out sync=false");
        let run = common::run_frames_with(&frames, w, h, 30, &tail, move |pipeline| {
            let pad = pipeline.by_name("challenge").and_then(|c| c.static_pad("sink")).expect("lvchallenge sink");
            pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
                if let Some(gst::PadProbeData::Event(event)) = &info.data
                    && let Some(n) = event.structure().and_then(gstliveness::events::parse_needs_event)
                {
                    seen.lock().unwrap().push(n);
                }
                gst::PadProbeReturn::Ok
            });
        })
        .expect("pipeline runs");
        let faces: Vec<Face> =
            run.buffers_of("out").iter().map(|b| b.meta::<FaceMeta>().expect("FaceMeta").faces()[0].clone()).collect();
        let passed = run
            .messages
            .iter()
            .find(|m| m.name() == "liveness-verdict")
            .map(|v| v.get::<bool>("passed").expect("passed"));
        let needs = needs.lock().unwrap().clone();
        (faces, passed, needs)
    };
    let (idle, idle_passed, needs) = run("lvlandmarks idle-every-nth=3");
    let (every, every_passed, _) = run("lvlandmarks");
    assert_eq!((idle_passed, every_passed), (Some(true), Some(true)));

    // Calibration needs every frame; the prompt (no movement yet) does not; the turn does.
    let fine: Vec<bool> = needs.iter().map(|n| n.fine_motion).collect();
    let first_idle = fine.iter().position(|f| !f).expect("an idle stretch");
    assert!(fine[0] && fine[first_idle..].contains(&true), "{needs:?}");
    // No smile can be asked: the emotion model is never needed.
    assert!(needs.iter().all(|n| !n.expressions), "{needs:?}");

    // While idle the mesh of a frame is the one before's although the head moved; with
    // idle-every-nth=1 every frame is meshed.
    let repeated = |faces: &[Face]| {
        (1..faces.len())
            .filter(|&i| expressions[i] != expressions[i - 1] && faces[i].landmarks == faces[i - 1].landmarks)
            .count()
    };
    assert!(repeated(&idle) >= 5, "{} carried meshes while idle", repeated(&idle));
    assert_eq!(repeated(&every), 0);

    // The smile stays what the emotion model read on the first frame; without lvchallenge
    // it is read on every frame and follows the turning head.
    let smiles = |faces: &[Face]| faces.iter().map(|f| f.mouth.expect("mouth").smile).collect::<Vec<_>>();
    assert!(smiles(&idle).iter().all(|&s| s == smiles(&idle)[0]));
    let free = all_faces(&frames, w, h, "lvfacedetect ! lvlandmarks");
    let free: Vec<Face> = free.into_iter().map(|f| f[0].clone()).collect();
    assert!(smiles(&free).iter().any(|&s| s != smiles(&free)[0]), "the emotion model runs on every frame");
}
