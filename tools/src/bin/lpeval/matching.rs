//! `lpeval --mode match` (part of `make eval`): face matching as `/face-match` and
//! `/face-match-proof` do it, on the evaluation identities.
//!
//! Each identity's photo is its ID document photo. Its selfies are whole-head renders at five
//! poses, each filmed by the five cameras of [`CAMERAS`] (clean, dark, bright, blurred, noisy),
//! and, where a package holds several photos of the person (obama: three), the other photos
//! as they are. Every image goes through what the endpoints run: `lvfacedetect`, the frame
//! checks' main face, the FaceRes descriptor. Genuine pairs: the ID photo against each of the
//! identity's selfies; impostor pairs: the ID photo against every selfie of each other identity
//! of the same half (but for [`SUSPECTED_SAME`]). The halves are those of the presentation-attack set ([`crate::pad`]):
//! the threshold is chosen on the tuning half (the lowest hundredth, the proof's resolution,
//! above every impostor score there, which `SAME_PERSON_SIMILARITY` ships) and the false match
//! and non-match rates are reported on each half, per camera, at the shipped threshold and at
//! the release before's 0.58. Each pair is also compared as the proof compares it (8-bit
//! quantised descriptors, integer rule) and the largest change of similarity is reported.
//! Scores go to `match-scores.csv`, the summary to `match.json`; `scripts/eval-plot.py` draws
//! the ROC curves (`match-roc.png`).

use std::path::Path;
use std::sync::Arc;

use gstliveness::embedding::{Embedder, Embedding, SAME_PERSON_SIMILARITY};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::attack::{Camera, from_rgb8};
use crate::pad::pad_role;
use crate::render::Expression;
use crate::{Identity, Role, SIDE};

/// The selfie cameras: (name, camera). Gains below 1 under-expose (a dim room), above 1
/// over-expose and clip (a window behind the screen); blur is the Gaussian sigma in pixels of a
/// 480-pixel frame.
pub const CAMERAS: [(&str, Camera); 5] = [
    ("clean", Camera { gain: 1.0, blur: 0.0, noise: 0.004, quality: 92 }),
    ("dark", Camera { gain: 0.45, blur: 0.3, noise: 0.015, quality: 80 }),
    ("bright", Camera { gain: 1.35, blur: 0.0, noise: 0.004, quality: 90 }),
    ("blurred", Camera { gain: 1.0, blur: 2.5, noise: 0.006, quality: 85 }),
    ("noisy", Camera { gain: 1.0, blur: 0.3, noise: 0.035, quality: 70 }),
];

/// The threshold of the release before, chosen from three photos of one person.
const THRESHOLD_BEFORE: f32 = 0.58;

/// The selfie poses: (name, yaw, pitch) in degrees.
const POSES: [(&str, f32, f32); 5] =
    [("frontal", 0.0, 0.0), ("left", 20.0, 0.0), ("right", -15.0, 4.0), ("up", 0.0, 12.0), ("down", 5.0, -10.0)];

/// Other photos of one identity in the fetched packages: (identity, files under `.cache`).
const OTHER_PHOTOS: [(&str, &[&str]); 1] =
    [("obama", &["fixtures/face_recognition/obama2.jpg", "fixtures/face_recognition/obama3.jpg"])];

/// Identities of different photos that look like one person (by eye; the packages do not
/// say): their pairs count neither as genuine nor as impostor pairs, and their scores are
/// printed apart. fa1-4 and fa3-2 are the same-looking woman in two photos of one series.
const SUSPECTED_SAME: [(&str, &str); 1] = [("fa1-4", "fa3-2")];

fn suspected_same(a: &str, b: &str) -> bool {
    SUSPECTED_SAME.iter().any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b))
}

/// One selfie's descriptor and how it was made.
struct Selfie {
    camera: &'static str,
    pose: &'static str,
    embedding: Embedding,
}

/// One identity's ID photo and selfies.
struct Person {
    name: &'static str,
    role: Role,
    id_photo: Embedding,
    selfies: Vec<Selfie>,
}

/// One compared pair.
struct Pair {
    role: Role,
    /// The ID photo's identity and the selfie's.
    id: &'static str,
    selfie: &'static str,
    genuine: bool,
    camera: &'static str,
    pose: &'static str,
    similarity: f32,
    quantised: f64,
}

/// The main face's descriptor of an image, as the endpoints find it.
fn descriptor(embedder: &Embedder, rgb: &image::RgbImage) -> Result<Option<Embedding>, String> {
    let frame = lpserver::decode::DecodedFrame::rgb(rgb.width(), rgb.height(), rgb.as_raw().clone());
    let chain = [lpserver::analysis::Stage::new("lvfacedetect")];
    let mut analysis = lpserver::analysis::run(vec![frame], &chain).map_err(|err| err.to_string())?;
    let Some(frame) = analysis.frames.pop() else { return Ok(None) };
    let Some(face) = frame.checked().1 else { return Ok(None) };
    let view = frame.view().map_err(|err| err.to_string())?;
    embedder.embed(&view, face).map(Some).map_err(|err| err.to_string())
}

fn decode_jpeg(jpeg: &[u8]) -> Result<image::RgbImage, String> {
    Ok(image::load_from_memory(jpeg).map_err(|err| err.to_string())?.to_rgb8())
}

/// The identity's selfies: every pose through every camera, then its other photos.
fn selfies(embedder: &Embedder, id: &Identity, faces: &Path, seed: u64) -> Result<(Vec<Selfie>, usize), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut out, mut missed) = (Vec::new(), 0);
    let side = SIDE as usize;
    for (pose, yaw, pitch) in POSES {
        let scene = from_rgb8(&id.model.render(&Expression { yaw, pitch, ..Expression::default() }));
        for (camera, settings) in &CAMERAS {
            let rgb = decode_jpeg(&settings.capture(&scene, side, side, &mut rng))?;
            match descriptor(embedder, &rgb)? {
                Some(embedding) => out.push(Selfie { camera, pose, embedding }),
                None => missed += 1,
            }
        }
    }
    for (_, files) in OTHER_PHOTOS.iter().filter(|(name, _)| *name == id.name) {
        for file in *files {
            let path = faces.join(file);
            let rgb = image::open(&path).map_err(|err| format!("{}: {err}", path.display()))?.to_rgb8();
            match descriptor(embedder, &rgb)? {
                Some(embedding) => out.push(Selfie { camera: "other-photo", pose: "photo", embedding }),
                None => missed += 1,
            }
        }
    }
    Ok((out, missed))
}

fn people(embedder: &Embedder, identities: &[Arc<Identity>], faces: &Path, seed: u64) -> Result<Vec<Person>, String> {
    let mut people = Vec::new();
    for (i, id) in identities.iter().enumerate() {
        let Some(id_photo) = descriptor(embedder, &id.photo)? else {
            println!("  {:<12} left out: no face found on its photo", id.name);
            continue;
        };
        let (selfies, missed) = selfies(embedder, id, faces, seed * 1000 + i as u64)?;
        println!("  {:<12} {:?}: {} selfies, {missed} without a face", id.name, pad_role(id), selfies.len());
        people.push(Person { name: id.name, role: pad_role(id), id_photo, selfies });
    }
    Ok(people)
}

fn pairs(people: &[Person]) -> Vec<Pair> {
    let mut out = Vec::new();
    for id in people {
        let id_q = zkmatch::Descriptor::quantise(id.id_photo.values());
        for other in people.iter().filter(|p| p.role == id.role && !suspected_same(id.name, p.name)) {
            for s in &other.selfies {
                let quantised = match (&id_q, zkmatch::Descriptor::quantise(s.embedding.values())) {
                    (Some(a), Some(b)) => a.similarity(&b),
                    _ => f64::NAN,
                };
                out.push(Pair {
                    role: id.role,
                    id: id.name,
                    selfie: other.name,
                    genuine: other.name == id.name,
                    camera: s.camera,
                    pose: s.pose,
                    similarity: id.id_photo.similarity(&s.embedding),
                    quantised,
                });
            }
        }
    }
    out
}

/// False matches and non-matches of `pairs` at `threshold`: (FMR, FNMR, impostors, genuine).
fn rates<'a>(pairs: impl Iterator<Item = &'a Pair>, threshold: f32) -> (f64, f64, usize, usize) {
    let (mut fm, mut fnm, mut impostors, mut genuine) = (0, 0, 0, 0);
    for p in pairs {
        if p.genuine {
            genuine += 1;
            fnm += (p.similarity < threshold) as usize;
        } else {
            impostors += 1;
            fm += (p.similarity >= threshold) as usize;
        }
    }
    let rate = |n: usize, of: usize| if of == 0 { f64::NAN } else { n as f64 / of as f64 };
    (rate(fm, impostors), rate(fnm, genuine), impostors, genuine)
}

/// The table of one half at one threshold: every camera, then all.
fn table(pairs: &[Pair], role: Role, threshold: f32) -> Value {
    let mut rows = serde_json::Map::new();
    let cameras = CAMERAS.iter().map(|(name, _)| *name).chain(["other-photo", "all"]);
    for camera in cameras {
        let chosen = pairs.iter().filter(|p| p.role == role && (camera == "all" || p.camera == camera));
        let (fmr, fnmr, impostors, genuine) = rates(chosen, threshold);
        if impostors + genuine == 0 {
            continue;
        }
        println!(
            "  {role:?} {camera:<12} at {threshold:.2}: FMR {:6.2} % of {impostors:5}  FNMR {:6.2} % of {genuine:4}",
            fmr * 100.0,
            fnmr * 100.0
        );
        rows.insert(
            camera.into(),
            json!({"fmr": fmr, "fnmr": fnmr, "impostor_pairs": impostors, "genuine_pairs": genuine}),
        );
    }
    Value::Object(rows)
}

fn write_scores(pairs: &[Pair], out: &Path) -> Result<(), String> {
    let mut csv = String::from("role,id,selfie,genuine,camera,pose,similarity,quantised\n");
    for p in pairs {
        csv.push_str(&format!(
            "{:?},{},{},{},{},{},{:.5},{:.5}\n",
            p.role, p.id, p.selfie, p.genuine, p.camera, p.pose, p.similarity, p.quantised
        ));
    }
    let path = out.join("match-scores.csv");
    std::fs::write(&path, csv).map_err(|err| format!("{}: {err}", path.display()))
}

/// Runs the evaluation and writes `match-scores.csv` and `match.json` to `out`.
pub fn run(identities: &[Arc<Identity>], faces: &Path, out: &Path, seed: u64) -> Result<(), String> {
    let embedder = Embedder::load().map_err(|err| err.to_string())?;
    let people = people(&embedder, identities, faces, seed)?;
    let pairs = pairs(&people);
    write_scores(&pairs, out)?;
    for (a, b) in SUSPECTED_SAME {
        let (Some(x), Some(y)) = (people.iter().find(|p| p.name == a), people.iter().find(|p| p.name == b)) else {
            continue;
        };
        let best = |p: &Person, q: &Person| {
            q.selfies.iter().map(|s| p.id_photo.similarity(&s.embedding)).fold(f32::MIN, f32::max)
        };
        println!(
            "  {a} and {b} (left out, one person by eye): best similarity {:.3} and {:.3}",
            best(x, y),
            best(y, x)
        );
    }
    let highest_impostor =
        pairs.iter().filter(|p| p.role == Role::Tuning && !p.genuine).map(|p| p.similarity).fold(f32::MIN, f32::max);
    // The lowest hundredth strictly above every tuning impostor.
    let chosen = ((highest_impostor * 100.0).floor() + 1.0) / 100.0;
    let quantisation = pairs.iter().map(|p| (p.quantised - p.similarity as f64).abs()).fold(0.0f64, f64::max);
    println!(
        "\nface matching: {} identities, {} pairs; highest tuning impostor {highest_impostor:.3}, chosen threshold {chosen:.2} (shipped {SAME_PERSON_SIMILARITY:.2}, before {THRESHOLD_BEFORE:.2}); quantised similarity within {quantisation:.4} of the descriptors'",
        people.len(),
        pairs.len()
    );
    let mut summary = json!({
        "identities": people.iter().map(|p| json!({"name": p.name, "role": format!("{:?}", p.role), "selfies": p.selfies.len()})).collect::<Vec<_>>(),
        "highest_tuning_impostor": highest_impostor,
        "chosen_threshold": chosen,
        "shipped_threshold": SAME_PERSON_SIMILARITY,
        "threshold_before": THRESHOLD_BEFORE,
        "largest_quantisation_change": quantisation,
    });
    if (chosen - SAME_PERSON_SIMILARITY).abs() > 0.001 {
        println!("  the tuning half chooses {chosen:.2}; SAME_PERSON_SIMILARITY ships {SAME_PERSON_SIMILARITY:.2}");
    }
    for (label, threshold) in [("shipped", SAME_PERSON_SIMILARITY), ("before", THRESHOLD_BEFORE)] {
        for role in [Role::Tuning, Role::Reporting] {
            summary[format!("{label}-{role:?}").to_lowercase()] = table(&pairs, role, threshold);
        }
    }
    let path = out.join("match.json");
    let text = serde_json::to_string_pretty(&summary).map_err(|err| err.to_string())?;
    std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
    println!("written: {} and match-scores.csv", path.display());
    Ok(())
}
