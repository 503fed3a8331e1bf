//! `lpeval --mode camera` (part of `make eval`): the camera sweep of the stream checks.
//!
//! Every camera condition of [`Condition::sweep`] (temporal noise 0.5-4 levels, with and
//! without a temporal denoiser, JPEG 70-95, 15 and 30 fps) films genuine people: each holds
//! still for 2 or 5 s (a person calibrating, or waiting for a prompt), then turns and comes
//! back, read at 10 frames a second with the jitter of a page's timers (a camera slower than
//! its reader gives the same frame again). The frames go through lvsurfaceanalysis' stream
//! signals as lpserver hands them over (decoded to I420 by libjpeg-turbo, the JPEG's luma table
//! in the capture meta), and each session's share of repeated frames and median sensor noise
//! are counted under the repeat rule of the release before (a mean change under 0.5 levels)
//! and under the one that ships. The `duplicated` and `noise-free` attacks are filmed the same
//! way. The thresholds are chosen on the tuning identities' sessions; the table reports the
//! reporting identities'.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use liveness_core::stream::{LumaPlane, Signature, StreamSignals, StreamTally};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::attack::Condition;
use crate::{Actor, Identity, Observed, Person, Role};

/// Sessions per condition, still period and role.
const SESSIONS: usize = 4;
/// The still periods, seconds.
const STILL: [f64; 2] = [2.0, 5.0];
/// The read rate and its jitter (a page's timers), frames a second and seconds.
const READ_FPS: f64 = 10.0;
const READ_JITTER: f64 = 0.035;
/// The rule of the release before: a frame that changed by under this many levels repeated.
const OLD_REPEATED_CHANGE: f32 = 0.5;

/// What the stream checks read on one session.
#[derive(Debug, Clone, serde::Serialize)]
struct Reading {
    kind: &'static str,
    role: Role,
    condition: Option<Condition>,
    still_s: f64,
    frames: usize,
    /// Share of repeated frames under the shipped rule and under the rule before.
    duplicate_share: f32,
    old_duplicate_share: f32,
    sensor_noise: f32,
    /// Distinct JPEG table sets of the session's frames.
    jpeg_tables: Option<u32>,
}

/// The session's script: calibrating while still, then a turn prompt and back.
fn observed_at(t: f64, still: f64) -> Observed {
    let (stage, challenge, index) = match t - still {
        x if x < 0.0 => ("calibrating", None, None),
        x if x < 1.8 => ("challenge", Some("turn_left".to_string()), Some(0)),
        _ => ("centering", None, None),
    };
    Observed { stage: stage.into(), challenge, index, at: t, ..Observed::default() }
}

/// Y plane, capture meta and signature of a JPEG as lpserver and lvsurfaceanalysis see it.
fn signature_of(jpeg: &[u8]) -> Option<(Signature, liveness_core::capture::Capture)> {
    let frame = lpserver::decode::decode_jpeg(jpeg, 4096 * 4096).ok()?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let stride = w.div_ceil(4) * 4;
    let plane = LumaPlane::copy(&frame.data, stride, w, h)?;
    let signature = Signature::of(w, h, |x, y| plane.luma[y * w + x] as f32)?.with_plane(Some(plane.clone()));
    Some((signature, liveness_core::capture::Capture::of_jpeg(jpeg)))
}

/// Plays `actor` for the still period and 3 s more; the stream figures of its frames.
fn read_session(mut actor: impl Actor, still: f64, seed: u64) -> (StreamTally, StreamTally, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut page = actor.through_page().then(|| crate::PageEncoder::seeded(seed));
    let (mut shipped, mut old) = (StreamTally::default(), StreamTally::default());
    let (mut previous, mut t, mut frames) = (None::<Signature>, 0.0, 0);
    while t < still + 3.0 {
        let (jpeg, _) = actor.frame(t, &observed_at(t, still));
        let jpeg = match page.as_mut() {
            Some(page) => page.encode(&jpeg),
            None => jpeg,
        };
        if let Some((signature, capture)) = signature_of(&jpeg) {
            if let Some(signals) =
                previous.as_ref().and_then(|p| StreamSignals::between(p, &signature, capture.luma_table.as_ref()))
            {
                let signals = StreamSignals { jpeg_tables: capture.jpeg_tables, ..signals };
                shipped.add(signals);
                // The same reading judged by the old rule: unchanged under 0.5 levels.
                let unchanged = signals.change < OLD_REPEATED_CHANGE;
                old.add(StreamSignals {
                    change: if unchanged { 0.0 } else { signals.change },
                    residual: None,
                    ..signals
                });
            }
            previous = Some(signature);
            frames += 1;
        }
        t += 1.0 / READ_FPS + rng.random_range(-READ_JITTER..READ_JITTER);
    }
    (shipped, old, frames)
}

fn reading(
    kind: &'static str,
    id: &Identity,
    condition: Option<Condition>,
    still: f64,
    actor: impl Actor,
    seed: u64,
) -> Reading {
    let (shipped, old, frames) = read_session(actor, still, seed);
    let figures = shipped.figures();
    Reading {
        kind,
        role: id.role,
        condition,
        still_s: still,
        frames,
        duplicate_share: figures.map_or(0.0, |f| f.duplicate_share),
        old_duplicate_share: old.figures().map_or(0.0, |f| f.duplicate_share),
        sensor_noise: figures.map_or(0.0, |f| f.sensor_noise),
        jpeg_tables: figures.and_then(|f| f.jpeg_tables),
    }
}

/// One session of the sweep: whose, how long still, under which camera (genuine), or which
/// attack, and its seed.
#[derive(Debug, Clone, Copy)]
struct Job {
    identity: usize,
    still: f64,
    condition: Option<Condition>,
    kind: &'static str,
    seed: u64,
}

/// One session of the sweep, read.
fn job(identities: &[Arc<Identity>], Job { identity, still, condition, kind, seed }: Job) -> Reading {
    let id = &identities[identity];
    let person = Person::new(id.model.clone(), id.photo_pose, seed);
    match (kind, condition) {
        ("genuine", Some(c)) => reading(kind, id, condition, still, person.filmed_by(c), seed),
        ("noise-free", _) => reading(kind, id, None, still, person.noise_free(), seed),
        _ => {
            let rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd0b1e);
            reading(kind, id, None, still, crate::Repeating { person, last: None, left: 0, rng }, seed)
        }
    }
}

/// Runs the sweep on two threads and writes `camera-sweep.json` into `out`.
pub fn run(identities: &[Arc<Identity>], out: &Path, seed: u64) -> Result<(), String> {
    let mut jobs = Vec::new();
    for (c, condition) in Condition::sweep().into_iter().enumerate() {
        for role in [Role::Tuning, Role::Reporting] {
            let people: Vec<usize> = (0..identities.len()).filter(|&i| identities[i].role == role).collect();
            if people.is_empty() {
                continue;
            }
            for n in 0..SESSIONS * STILL.len() {
                jobs.push(Job {
                    identity: people[(c + n) % people.len()],
                    still: STILL[n % STILL.len()],
                    condition: Some(condition),
                    kind: "genuine",
                    seed: seed * 1_000_000 + (c * 100 + n) as u64,
                });
            }
        }
    }
    for kind in ["duplicated", "noise-free"] {
        for n in 0..10 {
            let (identity, still) = (n % identities.len(), STILL[n % STILL.len()]);
            jobs.push(Job { identity, still, condition: None, kind, seed: seed * 2_000_000 + n as u64 });
        }
    }
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(&j) = jobs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                    let r = job(identities, j);
                    results.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                }
            });
        }
    });
    let readings = results.into_inner().unwrap_or_else(|p| p.into_inner());
    println!("camera sweep: {} sessions in {:.0} s", readings.len(), started.elapsed().as_secs_f64());
    let summary = summarise(&readings);
    let path = out.join("camera-sweep.json");
    let text =
        serde_json::to_string_pretty(&json!({"summary": summary, "sessions": readings})).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
    println!("written: {}", path.display());
    Ok(())
}

/// The lpserver defaults the sweep judges by: `MAX_DUPLICATE_SHARE`, `MIN_SENSOR_NOISE` and
/// whether `REQUIRE_VARYING_JPEG` is on.
fn thresholds() -> (f32, f32, bool) {
    let default = |name: &str| {
        lpserver::config::SETTINGS
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.default_text())
            .and_then(|v| v.parse::<f32>().ok())
            .unwrap_or(0.0)
    };
    (default("MAX_DUPLICATE_SHARE"), default("MIN_SENSOR_NOISE"), default("REQUIRE_VARYING_JPEG") != 0.0)
}

impl Reading {
    /// Flagged by the shipped checks: `duplicate-frames`, `no-sensor-noise`, `static-jpeg-tables`.
    fn flags(&self, (max_share, min_noise, varying): (f32, f32, bool)) -> [bool; 3] {
        [self.duplicate_share > max_share, self.sensor_noise < min_noise, varying && self.jpeg_tables == Some(1)]
    }
}

/// Per condition and role: sessions flagged by each rule, the largest duplicate share, the
/// least sensor noise; then the attacks. Printed and returned.
fn summarise(readings: &[Reading]) -> Value {
    let shipped = thresholds();
    let (max_share, min_noise, varying) = shipped;
    println!(
        "thresholds: MAX_DUPLICATE_SHARE {max_share}, MIN_SENSOR_NOISE {min_noise}, REQUIRE_VARYING_JPEG {}",
        u8::from(varying)
    );
    println!(
        "{:<28} {:>9} | {:>10} {:>10} {:>10} {:>10} {:>10} | {:>10} {:>10}",
        "condition (role)", "sessions", "22 before", "22 now", "max share", "23 now", "25 now", "min noise", "p1 noise"
    );
    let mut rows = BTreeMap::new();
    for role in [Role::Tuning, Role::Reporting] {
        for condition in Condition::sweep() {
            let of: Vec<&Reading> = readings
                .iter()
                .filter(|r| r.role == role && r.condition == Some(condition) && r.kind == "genuine")
                .collect();
            if of.is_empty() {
                continue;
            }
            let before = of.iter().filter(|r| r.old_duplicate_share > max_share).count();
            let now = of.iter().filter(|r| r.flags(shipped)[0]).count();
            let noise_flags = of.iter().filter(|r| r.flags(shipped)[1]).count();
            let table_flags = of.iter().filter(|r| r.flags(shipped)[2]).count();
            let share = of.iter().map(|r| r.duplicate_share).fold(0.0, f32::max);
            let mut noise: Vec<f32> = of.iter().map(|r| r.sensor_noise).collect();
            noise.sort_by(f32::total_cmp);
            let name = format!("{} ({role:?})", condition.name());
            println!(
                "{name:<28} {:>9} | {before:>10} {now:>10} {share:>10.3} {noise_flags:>10} {table_flags:>10} | {:>10.3} {:>10.3}",
                of.len(),
                noise[0],
                noise[noise.len() / 100]
            );
            rows.insert(
                name,
                json!({"sessions": of.len(), "flagged_22_before": before, "flagged_22_now": now,
                       "flagged_23_now": noise_flags, "flagged_25_now": table_flags,
                       "max_duplicate_share": share, "min_sensor_noise": noise[0]}),
            );
        }
    }
    let mut attacks = serde_json::Map::new();
    for kind in ["duplicated", "noise-free"] {
        let of: Vec<&Reading> = readings.iter().filter(|r| r.kind == kind).collect();
        let duplicates = of.iter().filter(|r| r.flags(shipped)[0]).count();
        let noise = of.iter().filter(|r| r.flags(shipped)[1]).count();
        let tables = of.iter().filter(|r| r.flags(shipped)[2]).count();
        let flagged = of.iter().filter(|r| r.flags(shipped).contains(&true)).count();
        let least = of.iter().map(|r| r.duplicate_share).fold(f32::MAX, f32::min);
        let most_noise = of.iter().map(|r| r.sensor_noise).fold(0.0, f32::max);
        println!(
            "attack {kind:<11} {} sessions: {flagged} flagged (22: {duplicates}, least share {least:.3}; 23: {noise}, most noise {most_noise:.3}; 25: {tables})",
            of.len()
        );
        attacks.insert(
            kind.into(),
            json!({"sessions": of.len(), "flagged": flagged, "flagged_22": duplicates, "flagged_23": noise,
                   "flagged_25": tables}),
        );
    }
    json!({"max_duplicate_share": max_share, "min_sensor_noise": min_noise, "require_varying_jpeg": varying,
           "conditions": rows, "attacks": attacks})
}
