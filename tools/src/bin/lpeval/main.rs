//! `lpeval`: the genuine-motion and attack evaluation behind `make eval`. It starts an
//! lpserver with its default settings, and drives it over LPProto as web clients do:
//!
//! - genuine sessions: a simulated person, rendered by the whole-head renderer from a real
//!   photo, reads each prompt from STATS, reacts after 0.4-1 s and performs it with natural
//!   amplitudes (turns 20-30 degrees, up/down 12-20, nod and shake 10-15 at 1-2 Hz), with
//!   head jitter and occasional blinks;
//! - attacks: a static photo, a hand-held print (moved in the image plane with the prompts),
//!   a photo tilted as a plane timed to the prompts, a passing session's recording replayed
//!   in a loop against a fresh sequence, and two faces.
//!
//! The server runs with its shipped defaults: the screen flash, the stream checks and a random
//! hold before each prompt on, the age check off (`MIN_AGE` 0). A client's frames go through
//! the page's encoder ([`PageEncoder`]: each frame at a JPEG quality of its own) unless it is an
//! injector that writes into the socket itself. The age check has a row of its own (`MIN_AGE`
//! 18): every evaluation identity is an adult, so each session it refuses or sends to a
//! document check counts against it, and the age estimates of each identity's sessions are
//! reported with their spread.
//!
//! Identities are split: the tuning half chose the thresholds, the reporting half gives the
//! figures. It prints BPCER, APCER per attack, the median time to pass and the failure codes,
//! and writes `results.json`, `sessions.csv` and `trace.csv` (the pose of one session) to the
//! output folder, which `scripts/eval-plot.py` draws.
//!
//! - a live person filmed off a screen: a genuine session's person, performing every prompt,
//!   shown on a display and recaptured by the camera (a relayed video call, or a face
//!   animated in real time and put on a screen): only the passive layer can stop it.
//!
//! Every genuine session is filmed by the next camera of the sweep ([`attack::Condition`]:
//! sensor noise 0.5-4 levels with and without a temporal denoiser, JPEG 70-95, 15 and 30 fps,
//! the same frame again when the camera has no new one); the attacks by a camera drawn at
//! random per session (exposure, focus, sensor noise, JPEG 72-92; [`attack::Camera`]).
//!
//! Rows: the shipped defaults, then the flash off (`FLASH=0`) and the flash off with prompts
//! without their hold (`NO_FLASH_PROMPT_HOLD_*_MS=0`), each with one genuine session per identity and
//! the attacks the change is about, then the age check on (`MIN_AGE` 18, with its buffer of 7
//! years and without); the replay loop runs five times as often on the shipped defaults.
//! `--mode camera` sweeps the stream checks over every camera condition ([`camera`]).
//!
//! `--mode pad` builds the presentation-attack calibration set instead ([`pad`], `make
//! eval-pad`); `--mode age` surveys the age models ([`age`], `make age-survey`); `--mode match`
//! measures face matching ([`matching`], part of `make eval`).
//!
//!   lpeval [--mode sessions|pad|age|camera|match] [--set reporting|tuning|all] [--sessions N]
//!          [--attacks M] [--parallel P] [--fps F] [--out DIR] [--faces DIR] [--seed S]
//!          [--kinds K,...] [--rows all|shipped] [--real N]

// The renderer the element tests use, shared as a file: it is plain Rust.
#[path = "../../../../elements/tests/common/render.rs"]
#[allow(dead_code)]
mod render;

mod actors;
mod age;
mod attack;
mod camera;
mod identities;
mod light;
mod matching;
mod pad;
mod real;
mod record;
mod summary;

use actors::*;
use identities::*;
use record::*;
use summary::*;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use gst::prelude::*;
use gstliveness::meta::FaceMeta;
use lpserver::client::receive;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use render::{Expression, FaceModel};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The workspace's folder: models/, .cache/ (the evaluation's photos), target/eval.
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

const HELP: &str = "\
lpeval: genuine and attack sessions against an in-process lpserver (make eval)

Usage: lpeval [--mode sessions|pad|age|camera|match] [--set reporting|tuning|all] [--sessions N]
              [--attacks M] [--parallel P] [--fps F] [--out DIR] [--faces DIR] [--seed S]
              [--kinds K,...] [--rows all|shipped] [--real N]

  --mode      sessions (default): LPProto sessions; pad: the presentation-attack calibration
              set of make eval-pad, written to OUT/pad-features.csv (every identity);
              age: the survey of the age models (make age-survey), OUT/age-survey.json;
              camera: the camera sweep's stream figures, OUT/camera-sweep.json;
              match: face matching's false match and non-match rates, OUT/match.json
  --rows      all (default): the shipped defaults, then the flash off, and the flash off
              with prompts without their hold; shipped: the shipped defaults alone
  --real      sessions of the real camera's recording (default 3; 0 skips them)
  --set       identities to run: all (default), the reporting half or the tuning half
  --sessions  genuine sessions per identity (default 3)
  --attacks   sessions per attack kind (default 10; 0 skips the attacks)
  --parallel  sessions at a time (default 4)
  --fps       frames a second each client sends at most (default 10)
  --out       output folder (default target/eval)
  --faces     folder of the fetched photos (default .cache)
  --seed      seed of the simulated people (default 1)
  --kinds     attack kinds to run, comma-separated (default: all of them)
  --probe     NAME: print what the mesh and lvantispoof read on that identity's renders
              (yaw and pitch from -30 to 30 degrees) and stop";

struct Options {
    mode: String,
    set: String,
    sessions: usize,
    attacks: usize,
    parallel: usize,
    fps: f64,
    out: PathBuf,
    faces: PathBuf,
    seed: u64,
    /// Print the mesh's reading of one identity's renders over a grid of poses, and stop.
    probe: Option<String>,
    /// The attack kinds to run (all by default).
    kinds: Vec<&'static str>,
    /// `all` rows, or `shipped` (the shipped defaults alone).
    rows: String,
    /// Sessions of the real camera's recording.
    real: usize,
}

fn options() -> Result<Options, String> {
    let root = PathBuf::from(WORKSPACE);
    let mut o = Options {
        mode: "sessions".into(),
        set: "all".into(),
        sessions: 3,
        attacks: 10,
        parallel: 4,
        fps: 10.0,
        out: root.join("target/eval"),
        faces: root.join(".cache"),
        seed: 1,
        probe: None,
        kinds: ATTACKS.to_vec(),
        rows: "all".into(),
        real: 3,
    };
    for (arg, value) in lpserver::client::option_pairs(HELP)? {
        let count = || value.parse::<usize>().map_err(|_| format!("{arg}: a whole number"));
        match arg.as_str() {
            "--mode" if ["sessions", "pad", "age", "camera", "match"].contains(&value.as_str()) => o.mode = value,
            "--mode" => return Err("--mode: sessions, pad, age, camera or match".into()),
            "--rows" if ["all", "shipped"].contains(&value.as_str()) => o.rows = value,
            "--rows" => return Err("--rows: all or shipped".into()),
            "--real" => o.real = count()?,
            "--set" if ["reporting", "tuning", "all"].contains(&value.as_str()) => o.set = value,
            "--set" => return Err("--set: reporting, tuning or all".into()),
            "--sessions" => o.sessions = count()?,
            "--attacks" => o.attacks = count()?,
            "--parallel" => o.parallel = count()?.max(1),
            "--fps" => o.fps = value.parse::<f64>().ok().filter(|f| *f > 0.0).ok_or("--fps: a positive number")?,
            "--out" => o.out = PathBuf::from(value),
            "--faces" => o.faces = PathBuf::from(value),
            "--seed" => o.seed = value.parse().map_err(|_| "--seed: a whole number")?,
            "--probe" => o.probe = Some(value),
            "--kinds" => {
                o.kinds = value
                    .split(',')
                    .map(|k| ATTACKS.iter().find(|a| **a == k.trim()).copied().ok_or(format!("--kinds: unknown {k}")))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    Ok(o)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Tuning,
    Reporting,
}

/// Side of every evaluation frame.
pub const SIDE: u32 = 480;

/// A client that makes the next frame from the time and the last STATS.
trait Actor: Send {
    /// The next frame (JPEG), and the pose it shows (yaw, pitch; for the trace).
    fn frame(&mut self, t: f64, seen: &Observed) -> (Vec<u8>, (f32, f32));

    /// Whether the web page encodes these frames ([`PageEncoder`]: a camera the page films,
    /// real or virtual), or they go into the socket as they are (an injector, or a client that
    /// encodes them itself).
    fn through_page(&self) -> bool {
        true
    }
}

/// The web page's encoder (web/liveness-check.js): it draws the camera's picture and encodes
/// each frame at a JPEG quality of its own, 0.80-0.92, so no two of a session's frames need
/// share one encoder's tables.
pub(crate) struct PageEncoder {
    rng: ChaCha8Rng,
}

impl PageEncoder {
    pub(crate) fn seeded(seed: u64) -> PageEncoder {
        PageEncoder { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x9a6e) }
    }

    /// `jpeg` (the camera's picture) as the page sends it.
    pub(crate) fn encode(&mut self, jpeg: &[u8]) -> Vec<u8> {
        reencode(jpeg, self.rng.random_range(80..=92))
    }
}

/// `jpeg` decoded and encoded again at `quality` (itself when it does not decode).
pub(crate) fn reencode(jpeg: &[u8], quality: u8) -> Vec<u8> {
    match image::load_from_memory(jpeg) {
        Ok(picture) => {
            let rgb = picture.to_rgb8();
            liveness_core::frame::encode_jpeg(rgb.as_raw(), rgb.width(), rgb.height(), quality)
                .unwrap_or_else(|_| jpeg.to_vec())
        }
        Err(_) => jpeg.to_vec(),
    }
}

/// A session's frames as sent: seconds since CONNECT, JPEG.
type Recording = Vec<(f64, Vec<u8>)>;

fn main() {
    // Before the runtime's threads: the variable is read when ONNX Runtime loads.
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { lpserver::quiet_onnx_runtime() };
    let options = match options() {
        Ok(o) => o,
        Err(err) => {
            eprintln!("lpeval: {err}");
            std::process::exit(2);
        }
    };
    let result = tokio::runtime::Runtime::new().map_err(|err| err.to_string()).and_then(|rt| rt.block_on(run(options)));
    if let Err(err) = result {
        eprintln!("lpeval: {err}");
        std::process::exit(1);
    }
}

/// Adds an identity whose photo is near enough to frontal and whose renders turn like a
/// head; says why otherwise. With `sessions` false (the PAD set, whose renders turn at most
/// 15 degrees), any photo with one main face and a mesh is taken.
fn admit(
    candidate: Result<Identity, String>,
    name: &str,
    origin: &str,
    identities: &mut Vec<Arc<Identity>>,
    sessions: bool,
) {
    let id = match candidate {
        Ok(id) => id,
        Err(err) => return println!("  {name:<12} left out: {err}"),
    };
    if !sessions {
        println!("  {name:<12} photo yaw {:+5.1} pitch {:+5.1}  ({origin})", id.photo_pose.0, id.photo_pose.1);
        return identities.push(Arc::new(id));
    }
    let off = id.photo_pose.0.abs().max(id.photo_pose.1.abs());
    if off > MAX_PHOTO_DEGREES {
        return println!(
            "  {name:<12} left out: the photo is {off:.0} degrees off frontal (yaw {:+.1}, pitch {:+.1}): too far to render the face turned to the camera",
            id.photo_pose.0, id.photo_pose.1
        );
    }
    match validate(&id.model) {
        Ok(check) => {
            println!(
                "  {name:<12} photo yaw {:+5.1} pitch {:+5.1}  {:?}  renders: {check}  ({origin})",
                id.photo_pose.0, id.photo_pose.1, id.role
            );
            identities.push(Arc::new(id));
        }
        Err(problem) => println!("  {name:<12} left out: {problem}"),
    }
}

/// Every identity of the evaluation: the registry photos, then the people of the face-api
/// group photos; each one admitted or left out with the reason.
fn load_identities(o: &Options) -> Vec<Arc<Identity>> {
    let mut identities = Vec::new();
    println!("identities (mesh head pose on the photo; role; the renders' check):");
    for source in SOURCES {
        admit(
            identity(source, &o.faces),
            source.name,
            source.origin,
            &mut identities,
            !["pad", "match"].contains(&o.mode.as_str()),
        );
    }
    for (g, file) in GROUPS.iter().enumerate() {
        let members = match group_members(&o.faces.join("eval-faces").join(file)) {
            Ok(members) => members,
            Err(err) => {
                println!("  {file}: left out: {err}");
                continue;
            }
        };
        for (n, rgb) in members.into_iter().enumerate() {
            let name: &'static str = Box::leak(format!("fa{}-{}", g + 1, n + 1).into_boxed_str());
            admit(
                identity_of(name, Role::Reporting, rgb),
                name,
                "npm @vladmandic/face-api 1.7.15 demo photo, licence not stated",
                &mut identities,
                !["pad", "match"].contains(&o.mode.as_str()),
            );
        }
    }
    identities
}

/// `--probe NAME`: what the mesh and lvantispoof read on the identity's renders turned by
/// known angles.
fn probe(identities: &[Arc<Identity>], name: &str) -> Result<(), String> {
    let id = identities.iter().find(|id| id.name == name).ok_or(format!("no identity {name}"))?;
    let chain = Chain::new("lvfacedetect ! lvlandmarks ! lvantispoof")?;
    let face = |e: Expression| {
        let rgb = image::RgbImage::from_raw(SIDE, SIDE, id.model.render(&e)).ok_or("render size".to_string())?;
        let faces = chain.faces(&rgb)?;
        faces.into_iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area())).ok_or("no face".to_string())
    };
    let neutral = face(Expression::default())?.landmarks.map(|l| l.points).unwrap_or_default();
    for (axis, values) in [
        ("yaw", [-30.0f32, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0]),
        ("pitch", [-20.0, -12.0, -6.0, 0.0, 6.0, 12.0, 20.0]),
    ] {
        for v in values {
            let e = if axis == "yaw" {
                Expression { yaw: v, ..Expression::default() }
            } else {
                Expression { pitch: v, ..Expression::default() }
            };
            let f = face(e)?;
            let residual = f
                .landmarks
                .as_ref()
                .and_then(|l| liveness_core::challenge::planarity::planar_residual(&neutral, &l.points))
                .unwrap_or(f32::NAN);
            let (yaw, pitch) = f.head_pose.map_or((f32::NAN, f32::NAN), |p| (p.yaw_degrees, p.pitch_degrees));
            let pad = f.antispoof.map_or(f32::NAN, |a| a.score);
            println!(
                "{name}: rendered {axis} {v:+5.1} -> mesh yaw {yaw:+6.1} pitch {pitch:+6.1}, planar residual {residual:.4}, \
                 lvantispoof {pad:.3}"
            );
        }
    }
    Ok(())
}

/// An in-process lpserver with its defaults (a random signing key: nothing is kept): its
/// LPProto URL, the sender that stops it and its task.
type Server = (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), lpserver::StartError>>);

/// An in-process lpserver with its shipped defaults, but for `vars` (and what the environment
/// sets).
async fn start_server(o: &Options, vars: &[(&str, &str)]) -> Result<Server, String> {
    let secret: String = ChaCha8Rng::seed_from_u64(o.seed ^ 0x5eed)
        .sample_iter(rand::distr::Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    let config = lpserver::config::Config::from_lookup(|name| match name {
        "LIVENESS_JWT_SECRET" => Some(secret.clone()),
        // lpeval is the relying party of its simulated people.
        "API_KEYS" => Some(format!("lpeval:{EVAL_API_KEY}")),
        other => match vars.iter().find(|(name, _)| *name == other) {
            Some((_, value)) => Some(value.to_string()),
            None => std::env::var(other).ok(),
        },
    })
    .map_err(|err| format!("configuration: {err}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|err| err.to_string())?;
    let lpproto = lpserver::routes::Route::of(lpserver::routes::Handler::LpProto).path;
    let url = format!("ws://{}{lpproto}", listener.local_addr().map_err(|err| err.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lpserver::serve(config, listener, async {
        let _ = stopped.await;
    }));
    Ok((url, stop, server))
}

/// What the genuine sessions gave: their records, the frames of the first that passed (for
/// the replay attack) and its pose trace.
struct Genuine {
    records: Vec<SessionRecord>,
    recording: Option<(Arc<Identity>, Recording)>,
    trace: Vec<(f64, f32, f32, String)>,
}

/// `sessions` genuine sessions of `kind` per identity, each filmed by the next camera of the
/// sweep.
async fn run_genuine(
    o: &Options,
    (kind, sessions): (&'static str, usize),
    chosen: &[Arc<Identity>],
    url: &str,
    limit: &Arc<tokio::sync::Semaphore>,
) -> Result<Genuine, String> {
    let mut tasks = Vec::new();
    let sweep = attack::Condition::sweep();
    for (i, id) in chosen.iter().enumerate() {
        for n in 0..sessions {
            let (url, id, limit) = (url.to_string(), id.clone(), limit.clone());
            let seed = o.seed * 1000 + (i * 100 + n) as u64;
            let condition = sweep[(n * chosen.len() + i) % sweep.len()];
            let fps = o.fps;
            tasks.push(tokio::spawn(async move {
                let _slot = limit.acquire_owned().await;
                let person = Person::new(id.model.clone(), id.photo_pose, seed).filmed_by(condition);
                let mut played = play(&url, person, fps, kind, &id).await;
                played.record.camera = Some(condition);
                played
            }));
        }
    }
    let mut genuine = Genuine { records: Vec::new(), recording: None, trace: Vec::new() };
    for task in tasks {
        let played = task.await.map_err(|err| err.to_string())?;
        let r = &played.record;
        let age = match (&r.age_decision, r.age_years) {
            (Some(decision), Some(years)) => format!("age {years:.1} {decision}"),
            (Some(decision), None) => format!("age - {decision}"),
            _ => String::new(),
        };
        println!(
            "  {kind} {:<12} {:<28} {:5.1} s {:<32} {age} {}",
            r.identity,
            r.outcome,
            r.seconds,
            r.camera.map(|c| c.name()).unwrap_or_default(),
            r.failed_challenges.join(" ")
        );
        if r.passed && genuine.recording.is_none() {
            let id = chosen.iter().find(|id| id.name == r.identity).cloned();
            genuine.recording = id.map(|id| (id, played.actor.recording.clone()));
            genuine.trace = played.trace.clone();
        }
        genuine.records.push(played.record);
    }
    Ok(genuine)
}

/// One attack session of `kind`, the `n`th of its kind.
async fn attack_session(
    kind: &'static str,
    n: usize,
    (id, other): (Arc<Identity>, Arc<Identity>),
    replay: Option<(Arc<Identity>, Arc<Recording>)>,
    url: String,
    seed: u64,
    fps: f64,
) -> SessionRecord {
    let neutral = || jpeg(&id.model.render(&Expression::default()), SIDE);
    let picture = |kind| Picture {
        neutral: neutral(),
        kind,
        rng: ChaCha8Rng::seed_from_u64(seed),
        prompts: PromptReader::default(),
        motion: None,
    };
    match kind {
        "static-photo" => play(&url, picture(PictureKind::Still), fps, kind, &id).await.record,
        "hand-held-print" => play(&url, picture(PictureKind::HandHeld), fps, kind, &id).await.record,
        "planar-tilt" => play(&url, picture(PictureKind::Tilted), fps, kind, &id).await.record,
        "replay-loop" => match replay {
            Some((rid, frames)) => {
                let offset = (n as f64 * 1.7) % frames.last().map_or(1.0, |f| f.0.max(1.0));
                play(&url, Replay { frames, offset }, fps, kind, &rid).await.record
            }
            None => SessionRecord { outcome: "no passing session to record".into(), ..SessionRecord::new(kind, &id) },
        },
        // A face rendered live and injected, performing every prompt: it ignores the screen,
        // or is relit with its colours 0.7-1.5 s late.
        "puppet" | "puppet-late" => {
            let response = if kind == "puppet" {
                FlashResponse::None
            } else {
                FlashResponse::Late(ChaCha8Rng::seed_from_u64(seed ^ 0x1a7e).random_range(0.7..1.5))
            };
            let person = Person::new(id.model.clone(), id.photo_pose, seed).responding(response);
            play(&url, person, fps, kind, &id).await.record
        }
        // The same live-rendered puppet, relit with the screen as a real face would be, injected
        // without a camera's noise, or at a lower rate than it sends.
        "noise-free" => {
            let person = Person::new(id.model.clone(), id.photo_pose, seed).noise_free();
            play(&url, person, fps, kind, &id).await.record
        }
        "duplicated" => {
            let person = Person::new(id.model.clone(), id.photo_pose, seed);
            let rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd0b1e);
            play(&url, Repeating { person, last: None, left: 0, rng }, fps, kind, &id).await.record
        }
        "screen-relay" => {
            let person = Person::new(id.model.clone(), id.photo_pose, seed);
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c4ee2);
            let screen = attack::Screen::random(1 + (n % 3) as u8, SIDE as usize, SIDE as usize, &mut rng);
            play(&url, ScreenRelay { person, screen }, fps, kind, &id).await.record
        }
        _ => {
            let person = Person::new(id.model.clone(), id.photo_pose, seed);
            let other = other.model.render(&Expression::default());
            play(&url, TwoFaces { person, other }, fps, kind, &id).await.record
        }
    }
}

/// The attacks of `row`, each kind over the chosen identities in turn (the replay loop five
/// times as often on the shipped defaults: its acceptance is the rarest event measured).
async fn run_attacks(
    o: &Options,
    row: &Row,
    chosen: &[Arc<Identity>],
    url: &str,
    limit: &Arc<tokio::sync::Semaphore>,
    recording: &Option<(Arc<Identity>, Recording)>,
) -> Result<Vec<SessionRecord>, String> {
    let replay = recording.as_ref().map(|(id, frames)| (id.clone(), Arc::new(frames.clone())));
    let mut tasks = Vec::new();
    let kinds = o.kinds.iter().copied().filter(|k| row.attacks.is_none_or(|only| only.contains(k)));
    for kind in kinds {
        let count = if kind == "replay-loop" && row.name.is_empty() { o.attacks * 5 } else { o.attacks };
        for n in 0..count {
            let pair = (chosen[n % chosen.len()].clone(), chosen[(n + 1) % chosen.len()].clone());
            let (url, limit, replay) = (url.to_string(), limit.clone(), replay.clone());
            let (seed, fps) = (o.seed * 7000 + n as u64, o.fps);
            let name = row.kind(kind);
            tasks.push(tokio::spawn(async move {
                let _slot = limit.acquire_owned().await;
                SessionRecord { kind: name, ..attack_session(kind, n, pair, replay, url, seed, fps).await }
            }));
        }
    }
    let mut records = Vec::new();
    for task in tasks {
        let r = task.await.map_err(|err| err.to_string())?;
        println!(
            "  {:<15} {:<12} {:<28} {:5.1} s {}",
            r.kind,
            r.identity,
            r.outcome,
            r.seconds,
            r.failed_challenges.join(" ")
        );
        records.push(r);
    }
    Ok(records)
}

async fn run(o: Options) -> Result<(), String> {
    lpserver::init_gstreamer().map_err(|err| err.to_string())?;
    std::fs::create_dir_all(&o.out).map_err(|err| format!("{}: {err}", o.out.display()))?;
    let identities = load_identities(&o);
    if let Some(name) = &o.probe {
        return probe(&identities, name);
    }
    if o.mode == "pad" {
        return pad::run(&identities, &o.out, o.seed);
    }
    if o.mode == "camera" {
        return camera::run(&identities, &o.out, o.seed);
    }
    if o.mode == "match" {
        return matching::run(&identities, &o.faces, &o.out, o.seed);
    }
    if o.mode == "age" {
        let root = PathBuf::from(WORKSPACE);
        let (models, candidates) = (root.join("models"), root.join(".cache/convert/candidates"));
        return age::run(&identities, &o.out, &[&models, &candidates], o.seed);
    }
    let wanted = |role: Role| o.set == "all" || (o.set == "tuning") == (role == Role::Tuning);
    let chosen: Vec<Arc<Identity>> = identities.iter().filter(|id| wanted(id.role)).cloned().collect();
    if chosen.is_empty() {
        return Err("no identity to run".into());
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(o.parallel));
    let started = Instant::now();
    let (mut records, mut trace) = (Vec::new(), Vec::new());
    for row in ROWS.iter().take(if o.rows == "all" { ROWS.len() } else { 1 }) {
        if !row.name.is_empty() {
            println!("\n== row: {} ({:?}) ==", row.name, row.vars);
        }
        let (url, stop, server) = start_server(&o, row.vars).await?;
        let kind: &'static str = if row.name.is_empty() { "genuine" } else { row.kind("genuine").leak() };
        let genuine = run_genuine(&o, (kind, row.sessions.unwrap_or(o.sessions)), &chosen, &url, &limit).await?;
        records.extend(genuine.records);
        if row.name.is_empty() {
            trace = genuine.trace;
        }
        if o.attacks > 0 {
            records.extend(run_attacks(&o, row, &chosen, &url, &limit, &genuine.recording).await?);
        }
        // The real camera's recording, where it was fetched, against what ships.
        if row.name.is_empty() && o.real > 0 {
            match real::clip(&o.faces.join(real::RECORDING)) {
                Ok(clip) => records.extend(real::run(Arc::new(clip), o.real, &url, o.fps, &chosen[0]).await),
                Err(err) => println!("  real-camera row left out: {err}"),
            }
        }
        let _ = stop.send(());
        let _ = server.await;
    }

    println!(
        "\n== make eval: {} sessions in {:.0} s, set {} ==",
        records.len(),
        started.elapsed().as_secs_f64(),
        o.set
    );
    let mut summary = serde_json::Map::new();
    for row in &ROWS {
        for role in [Role::Tuning, Role::Reporting] {
            if let Some(value) = genuine_summary(&records, &chosen, role, &row.kind("genuine")) {
                summary.insert(format!("{}-{role:?}", row.kind("genuine")).to_lowercase(), value);
            }
        }
        for kind in ATTACKS {
            if let Some(value) = attack_summary(&records, &row.kind(kind)) {
                summary.insert(row.kind(kind), value);
            }
        }
    }
    if let Some(value) = real::summary(&records) {
        summary.insert("real-camera".into(), value);
    }
    write_results(&o, summary, &records, &trace)
}

#[cfg(test)]
mod tests {
    use super::render::{delaunay, rotation};

    fn apply(m: [[f32; 3]; 3], p: [f32; 3]) -> [f32; 3] {
        std::array::from_fn(|r| (0..3).map(|k| m[r][k] * p[k]).sum())
    }

    fn length(p: [f32; 3]) -> f32 {
        p.iter().map(|v| v * v).sum::<f32>().sqrt()
    }

    #[test]
    fn the_renderers_rotation_keeps_lengths_and_turns_the_head_with_lvlandmarks_signs() {
        // The nose is in front of the pivot (z grows away from the camera).
        let nose = [0.0, 0.0, -1.0];
        let left = apply(rotation(20.0, 0.0, 0.0), nose);
        assert!(left[0] > 0.3, "yaw > 0 (the person's left) brings the nose to +x: {left:?}");
        let up = apply(rotation(0.0, 20.0, 0.0), nose);
        assert!(up[1] < -0.3, "pitch > 0 lifts the nose (y grows down): {up:?}");
        let eye = apply(rotation(0.0, 0.0, 20.0), [1.0, 0.0, 0.0]);
        assert!(eye[1] > 0.3, "roll > 0 lowers the point at +x: {eye:?}");
        let p = [0.3, -0.7, 0.2];
        assert!((length(apply(rotation(17.0, -9.0, 4.0), p)) - length(p)).abs() < 1e-5);
    }

    #[test]
    fn delaunay_cuts_a_square_round_its_centre_into_four_triangles() {
        let triangles = delaunay(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.5, 0.5]]);
        assert_eq!(triangles.len(), 4, "{triangles:?}");
        assert!(triangles.iter().all(|t| t.contains(&4)), "{triangles:?}");
    }
}
