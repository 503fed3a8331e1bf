//! `lpeval --mode age`: the survey of the age models (models/MODELS.md, "Age models"). Each
//! identity sits through several sessions, each filmed by its own random camera under its
//! own light, its head near the camera's axis with a few degrees of drift; every good frame
//! (the element's own test, [`is_age_frame`]) goes through every candidate model, as lvjwtsink
//! would crop it. Per model it prints the cost of one run, each identity's median estimate,
//! how far one identity's session estimates spread (median absolute deviation about their
//! median), the sessions the age check would not pass with that model's error, how far each
//! model lies from the others, and its bias and root mean square error against the middle of
//! the age range of the identities whose age is known (public figures, photo dates
//! bracketed): that error is the model's [`AgeModel::error_years`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gstliveness::age::AgeModel;
use gstliveness::model::SharedModel;
use liveness_core::age::{self, AgeDecision, AgePolicy, AgeSamples, is_age_frame};
use liveness_core::checks::{FrameCheckSettings, check_frame};
use liveness_core::frame::{FrameView, PixelLayout, YuvMatrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::render::Expression;
use crate::{Chain, Identity, Role, SIDE, attack, light};

/// Identities whose age at the photo is bracketed: (name, youngest, oldest), from birth
/// years and the years the photo can have been taken in.
pub const KNOWN_AGES: &[(&str, f32, f32)] = &[
    // Eileen Collins (b. 1956), NASA portrait of her shuttle years (1992-1999).
    ("astronaut", 36.0, 43.0),
    // Barack Obama (b. 1961), photographed as president (2009-2016).
    ("obama", 47.0, 55.0),
    // Joe Biden (b. 1942), photographed as vice president (2009-2016).
    ("biden", 66.0, 74.0),
    // The six cast members of Friends (b. 1963-1969) in a promotional photo of the series
    // (1994-2004).
    ("t1-ross", 27.0, 38.0),
    ("t1-phoebe", 30.0, 41.0),
    ("t1-rachel", 25.0, 35.0),
    ("t1-monica", 29.0, 40.0),
    ("t1-chandler", 25.0, 35.0),
    ("t1-joey", 26.0, 37.0),
];

/// Sessions an identity sits through, and the good frames of each.
const SESSIONS: usize = 5;
const FRAMES: usize = 16;

struct Candidate {
    model: AgeModel,
    shared: Arc<SharedModel>,
}

/// The candidates whose files are found in `dirs` (models/ and the conversion folder).
fn candidates(dirs: &[&Path]) -> Vec<Candidate> {
    let mut found = Vec::new();
    for model in AgeModel::ALL {
        let Some(path) = dirs.iter().map(|d| d.join(model.file_name())).find(|p| p.is_file()) else {
            println!("  {:<13} left out: {} not found (make models converts it)", model.name(), model.file_name());
            continue;
        };
        match gstliveness::model::shared_session(&path, 1) {
            Ok(shared) => found.push(Candidate { model, shared }),
            Err(err) => println!("  {:<13} left out: {err}", model.name()),
        }
    }
    found
}

/// One good frame of a session: the filmed RGB frame and its main face.
fn good_frame(
    chain: &Chain,
    id: &Identity,
    camera: &attack::Camera,
    lighting: (&light::ScreenLight, &mut light::WhiteBalance),
    rng: &mut ChaCha8Rng,
    t: f64,
) -> Result<Option<(image::RgbImage, liveness_core::face::Face)>, String> {
    // Faces the camera as a person asked to does, with a few degrees of drift.
    let e = Expression {
        yaw: -0.85 * id.photo_pose.0 + rng.random_range(-8.0..8.0),
        pitch: -0.85 * id.photo_pose.1 + rng.random_range(-6.0..6.0),
        ..Expression::default()
    };
    let mut scene = attack::from_rgb8(&id.model.render(&e));
    lighting.0.apply(&mut scene, SIDE as usize, None);
    lighting.1.apply(&mut scene, t);
    let jpeg = camera.capture(&scene, SIDE as usize, SIDE as usize, rng);
    let rgb = image::load_from_memory(&jpeg).map_err(|err| err.to_string())?.to_rgb8();
    let faces = chain.faces(&rgb)?;
    let check = check_frame(&faces, SIDE, SIDE, &FrameCheckSettings::default());
    Ok(check.main_face.map(|i| faces[i].clone()).filter(|f| is_age_frame(f, &check.errors)).map(|f| (rgb, f)))
}

fn view(rgb: &image::RgbImage) -> Result<FrameView<'_>, String> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let layout = PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 };
    FrameView::new(w, h, layout, [rgb.as_raw(), &[], &[]], [w * 3, 0, 0], YuvMatrix::BT601_LIMITED)
        .map_err(|err| err.to_string())
}

fn median(values: &[f32]) -> f32 {
    age::median(values).unwrap_or(f32::NAN)
}

/// Session estimates: model -> identity -> one median per session.
type Estimates = BTreeMap<&'static str, BTreeMap<&'static str, Vec<f32>>>;

/// Runs the survey and writes `age-survey.json` into `out`.
pub fn run(identities: &[Arc<Identity>], out: &Path, dirs: &[&Path], seed: u64) -> Result<(), String> {
    println!("age models:");
    let candidates = candidates(dirs);
    if candidates.is_empty() {
        return Err("no age model found".into());
    }
    let chain = Chain::new("lvfacedetect ! lvlandmarks ! lvsurfaceanalysis")?;
    let mut estimates: Estimates = BTreeMap::new();
    let mut costs: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut roles = BTreeMap::new();
    for (i, id) in identities.iter().enumerate() {
        roles.insert(id.name, id.role);
        for s in 0..SESSIONS {
            let mut rng = ChaCha8Rng::seed_from_u64(seed * 5000 + (i * 100 + s) as u64);
            let camera = attack::Camera::random(&mut rng);
            let (screen, mut balance) = (light::ScreenLight::random(&mut rng), light::WhiteBalance::random(&mut rng));
            let mut samples: BTreeMap<&'static str, AgeSamples> = BTreeMap::new();
            let mut tries = 0;
            let mut kept = 0;
            while kept < FRAMES && tries < FRAMES * 3 {
                tries += 1;
                let t = tries as f64 * 0.1;
                let Some((rgb, face)) = good_frame(&chain, id, &camera, (&screen, &mut balance), &mut rng, t)? else {
                    continue;
                };
                kept += 1;
                let frame = view(&rgb)?;
                for c in &candidates {
                    let started = Instant::now();
                    let years = c.model.estimate(&c.shared, &frame, &face).map_err(|err| err.to_string())?;
                    costs.entry(c.model.name()).or_default().push(started.elapsed().as_secs_f64() * 1000.0);
                    samples.entry(c.model.name()).or_default().push(years);
                }
            }
            for (name, s) in samples {
                if let Some(age) = s.estimate() {
                    estimates.entry(name).or_default().entry(id.name).or_default().push(age.years);
                }
            }
        }
        print!("\r  {} of {} identities", i + 1, identities.len());
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
    println!();
    chain.stop();
    report(&candidates, &estimates, &costs, &roles, out)
}

/// One model's figures over the identities.
#[derive(Default)]
struct Figures {
    /// Median over identities of each identity's median absolute deviation of session estimates.
    mad: f32,
    /// Sessions not passed (below or uncertain) at the shipped policy with this model's error.
    refused: usize,
    sessions: usize,
    /// The known identities' session estimates against the middle of their age range: the
    /// mean difference (bias) and the root mean square (the model's error, the range's own
    /// half-width of about 4 years included).
    known_bias: f32,
    known_rms: f32,
    cost_ms: f64,
}

fn figures(model: AgeModel, per_id: &BTreeMap<&'static str, Vec<f32>>, cost: &[f64]) -> Figures {
    let policy = AgePolicy { model_error_years: model.error_years(), ..AgePolicy::default() };
    let mut mads = Vec::new();
    let mut f = Figures::default();
    let mut distances = Vec::new();
    for (name, sessions) in per_id {
        let m = median(sessions);
        mads.push(median(&sessions.iter().map(|v| (v - m).abs()).collect::<Vec<_>>()));
        for &years in sessions {
            f.sessions += 1;
            let age = liveness_core::age::SessionAge { years, spread_years: 2.0, frames: FRAMES };
            if policy.decide(Some(age)).decision != AgeDecision::Passed {
                f.refused += 1;
            }
            if let Some((_, lo, hi)) = KNOWN_AGES.iter().find(|k| k.0 == *name) {
                distances.push(years - (lo + hi) / 2.0);
            }
        }
    }
    f.mad = median(&mads);
    if !distances.is_empty() {
        f.known_bias = distances.iter().sum::<f32>() / distances.len() as f32;
        f.known_rms = (distances.iter().map(|d| d * d).sum::<f32>() / distances.len() as f32).sqrt();
    }
    let mut c = cost.to_vec();
    c.sort_by(f64::total_cmp);
    f.cost_ms = c.get(c.len() / 2).copied().unwrap_or(f64::NAN);
    f
}

fn report(
    candidates: &[Candidate],
    estimates: &Estimates,
    costs: &BTreeMap<&'static str, Vec<f64>>,
    roles: &BTreeMap<&'static str, Role>,
    out: &Path,
) -> Result<(), String> {
    let names: Vec<&'static str> = candidates.iter().map(|c| c.model.name()).collect();
    println!("\nsession estimates per identity (median of {SESSIONS} sessions; known age range in brackets):");
    print!("  {:<12}", "identity");
    for n in &names {
        print!(" {n:>13}");
    }
    println!();
    let empty = BTreeMap::new();
    for (id, role) in roles {
        let known = KNOWN_AGES.iter().find(|k| k.0 == *id).map_or(String::new(), |k| format!(" [{}-{}]", k.1, k.2));
        print!("  {id:<12}");
        for n in &names {
            let sessions = estimates.get(n).unwrap_or(&empty).get(id).cloned().unwrap_or_default();
            print!(" {:>13}", format!("{:.1}", median(&sessions)));
        }
        println!("  {role:?}{known}");
    }
    let mut table = Vec::new();
    println!("\nmodel          cost/frame  identity MAD  not passed (of sessions)  known ages: bias / rms");
    for c in candidates {
        let name = c.model.name();
        let f = figures(c.model, estimates.get(name).unwrap_or(&empty), costs.get(name).map_or(&[], |v| v));
        println!(
            "  {name:<13} {:>7.2} ms {:>10.1} y {:>8} of {:<3} {:>14.1} / {:.1} y",
            f.cost_ms, f.mad, f.refused, f.sessions, f.known_bias, f.known_rms
        );
        table.push(json!({"model": name, "cost_ms": f.cost_ms, "identity_mad_years": f.mad, "refused": f.refused,
            "sessions": f.sessions, "known_age_bias_years": f.known_bias, "known_age_rms_years": f.known_rms}));
    }
    println!("\nagreement (mean absolute difference of identity medians, years):");
    let identity_medians = |n: &str| -> BTreeMap<&'static str, f32> {
        estimates.get(n).map(|m| m.iter().map(|(k, v)| (*k, median(v))).collect()).unwrap_or_default()
    };
    for a in &names {
        print!("  {a:<13}");
        for b in &names {
            let (ma, mb) = (identity_medians(a), identity_medians(b));
            let d: Vec<f32> = ma.iter().filter_map(|(k, v)| mb.get(k).map(|w| (v - w).abs())).collect();
            print!(" {:>6.1}", d.iter().sum::<f32>() / d.len().max(1) as f32);
        }
        println!();
    }
    let path = out.join("age-survey.json");
    let text = serde_json::to_string_pretty(&json!({"models": table, "sessions_per_identity": SESSIONS,
        "frames_per_session": FRAMES, "estimates": estimates}))
    .map_err(|err| err.to_string())?;
    std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
    println!("written: {}", path.display());
    Ok(())
}
