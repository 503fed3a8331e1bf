//! `lpeval --mode pad` (`make eval-pad`): the presentation-attack calibration set, and every
//! candidate's value on it.
//!
//! Identities: every person of the evaluation photos with one main face and a mesh (the
//! session evaluation's checks on 25-degree turns do not apply: these renders turn at most
//! 15 degrees). Live samples of each: its photo and five whole-head renders (turned either
//! way, looking up, looking down, eyes closed), each filmed twice by a camera drawn at random
//! (exposure, focus, sensor noise, JPEG 72-92). Attacks: the scenes of the photo and of two
//! renders printed, shown on a screen, or recaptured from a screen video ([`crate::attack`]),
//! at strengths 1, 2 and 3, then filmed the same way.
//! Every frame goes through a real pipeline (`lvfacedetect ! lvantispoof model=both !
//! lvsurfaceanalysis`) and the largest face's candidates are written to `pad-features.csv`.
//!
//! The split is by identity, and not the one of the session evaluation: the tuning half is
//! the session tuning identities and the people of group photos 1-3; the reporting half the
//! others (t1's rachel, monica, chandler and joey, tom-hanks and the people of group photos
//! 4-6). `scripts/pad-fit.py` fits the fusion on the first and reports on the second.

use std::path::Path;
use std::sync::Arc;

use liveness_core::face::Face;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::attack::{Camera, Image, Print, Recapture, Screen, from_rgb8};
use crate::render::Expression;
use crate::{Chain, Identity, Role, SIDE};

/// The PAD half an identity belongs to.
pub fn pad_role(id: &Identity) -> Role {
    let group_tuning = ["fa1-", "fa2-", "fa3-"].iter().any(|p| id.name.starts_with(p));
    if id.role == Role::Tuning || group_tuning { Role::Tuning } else { Role::Reporting }
}

pub const FAMILIES: [&str; 3] = ["print", "screen", "recapture"];

/// One frame of the set.
struct Sample {
    identity: &'static str,
    role: Role,
    family: &'static str,
    strength: u8,
    source: &'static str,
    jpeg: Vec<u8>,
}

/// The live scenes of an identity: (source, image on 0..1).
fn scenes(id: &Identity) -> Vec<(&'static str, Image)> {
    let mut out = vec![("photo", from_rgb8(id.photo.as_raw()))];
    for (source, e) in [
        ("render-turned", Expression { yaw: 15.0, ..Expression::default() }),
        ("render-up", Expression { pitch: 10.0, ..Expression::default() }),
        ("render-other-way", Expression { yaw: -12.0, pitch: 4.0, ..Expression::default() }),
        ("render-down", Expression { yaw: -8.0, pitch: -8.0, ..Expression::default() }),
        ("render-eyes-closed", Expression { yaw: 5.0, eyes_closed: 1.0, ..Expression::default() }),
    ] {
        out.push((source, from_rgb8(&id.model.render(&e))));
    }
    out
}

fn samples(id: &Identity, seed: u64) -> Vec<Sample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (SIDE as usize, SIDE as usize);
    let role = pad_role(id);
    let mut out = Vec::new();
    let scenes = scenes(id);
    for (source, scene) in scenes.iter().flat_map(|s| [s, s]) {
        let camera = Camera::random(&mut rng);
        out.push(Sample {
            identity: id.name,
            role,
            family: "live",
            strength: 0,
            source,
            jpeg: camera.capture(scene, w, h, &mut rng),
        });
    }
    // Attacks from the photo and from two renders, each family and strength.
    for (source, scene) in [&scenes[0], &scenes[1], &scenes[3]] {
        for strength in 1..=3u8 {
            for family in FAMILIES {
                let attacked = match family {
                    "print" => Print::random(strength, &mut rng).apply(scene, w, h, &mut rng),
                    "screen" => Screen::random(strength, w, h, &mut rng).apply(scene, w, h, 0.0),
                    _ => Recapture::random(strength, &mut rng).apply(scene, w, h),
                };
                let camera = Camera::random(&mut rng);
                out.push(Sample {
                    identity: id.name,
                    role,
                    family,
                    strength,
                    source,
                    jpeg: camera.capture(&attacked, w, h, &mut rng),
                });
            }
        }
    }
    out
}

const HEADER: &str = "identity,role,family,strength,source,antispoof-model,liveness-model,periodicity,hf-energy,\
sharpness,chroma,chroma-spread,blue-cast,clipped,block-grid,skin-complexity,avg-gradient,high-freq-ratio,frequency-score,\
max-crossing-ratio,reflectance-cv,surface-confidence,blur,light,darkness,illumination,specularity,fused";

fn row(s: &Sample, face: &Face) -> Option<String> {
    let a = face.antispoof?;
    let f = a.features?;
    let surface = face.surface?.frame;
    let q = face.quality?;
    let opt = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.5}"));
    let values = [
        f.periodicity,
        f.hf_energy,
        f.sharpness,
        f.chroma,
        f.chroma_spread,
        f.blue_cast,
        f.clipped,
        f.block_grid,
        surface.skin_complexity,
        surface.avg_gradient,
        surface.high_freq_ratio,
        surface.frequency_score,
        surface.max_crossing_ratio,
        surface.reflectance_cv,
        surface.confidence,
        q.blur,
        q.light,
        q.darkness,
        q.illumination,
        q.specularity,
    ];
    let values: Vec<String> = values.iter().map(|v| format!("{v:.5}")).collect();
    Some(format!(
        "{},{:?},{},{},{},{},{},{},{}",
        s.identity,
        s.role,
        s.family,
        s.strength,
        s.source,
        opt(a.antispoof_model),
        opt(a.liveness_model),
        values.join(","),
        opt(Some(a.score)),
    ))
}

/// Builds the set, measures it and writes `pad-features.csv` (and the example frames of the
/// first identity to `pad-samples/`).
pub fn run(identities: &[Arc<Identity>], out: &Path, seed: u64) -> Result<(), String> {
    let chain = Chain::new("lvfacedetect ! lvantispoof model=both ! lvsurfaceanalysis")?;
    let mut csv = format!("{HEADER}\n");
    let (mut rows, mut missed) = (0usize, 0usize);
    let samples_dir = out.join("pad-samples");
    std::fs::create_dir_all(&samples_dir).map_err(|err| format!("{}: {err}", samples_dir.display()))?;
    let mut written = std::collections::HashSet::new();
    for (i, id) in identities.iter().enumerate() {
        let set = samples(id, seed * 100_000 + i as u64);
        let mut found = 0;
        for s in &set {
            let name = format!("{}-{}.jpg", s.identity, s.family);
            if i == 0 && s.source == "photo" && (s.family == "live" || s.strength == 2) && written.insert(name.clone())
            {
                std::fs::write(samples_dir.join(&name), &s.jpeg).map_err(|err| format!("{name}: {err}"))?;
            }
            let rgb = image::load_from_memory(&s.jpeg).map_err(|err| err.to_string())?.to_rgb8();
            let faces = chain.faces(&rgb)?;
            let largest = faces.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()));
            match largest.and_then(|face| row(s, face)) {
                Some(line) => {
                    csv.push_str(&line);
                    csv.push('\n');
                    rows += 1;
                    found += 1;
                }
                None => missed += 1,
            }
        }
        println!("  {:<12} {:?}: {found}/{} frames with a face", id.name, pad_role(id), set.len());
    }
    chain.stop();
    let path = out.join("pad-features.csv");
    std::fs::write(&path, csv).map_err(|err| format!("{}: {err}", path.display()))?;
    println!("written: {} ({rows} frames; {missed} without a face left out)", path.display());
    Ok(())
}
