//! Who stands in front of the simulated camera: a person who reads the prompts and moves, and
//! the attacks (a picture, a replay, a relay through a screen, repeated frames, two faces).

use super::*;

/// What the client read in the last STATS.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub(crate) stage: String,
    pub(crate) hint: Option<String>,
    pub(crate) challenge: Option<String>,
    pub(crate) index: Option<u64>,
    /// A screen-flash schedule to show (its key, the schedule).
    pub(crate) flash: Option<(String, liveness_core::challenge::flash::FlashSchedule)>,
    /// When the STATS arrived, seconds since CONNECT.
    pub(crate) at: f64,
}

/// How a person performs a prompt.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Motion {
    Hold { yaw: f32, pitch: f32 },
    Swing { yaw: f32, pitch: f32, hz: f32 },
}

pub(crate) fn motion_for(challenge: &str, rng: &mut ChaCha8Rng) -> Option<Motion> {
    let turn = rng.random_range(20.0..30.0);
    let look = rng.random_range(12.0..20.0);
    let swing = rng.random_range(10.0..15.0);
    let hz = rng.random_range(1.0..2.0);
    Some(match challenge {
        "turn_left" => Motion::Hold { yaw: turn, pitch: 0.0 },
        "turn_right" => Motion::Hold { yaw: -turn, pitch: 0.0 },
        "look_up" => Motion::Hold { yaw: 0.0, pitch: look },
        "look_down" => Motion::Hold { yaw: 0.0, pitch: -look },
        // A nod starts downward, a shake to either side.
        "nod_yes" => Motion::Swing { yaw: 0.0, pitch: -swing, hz },
        "shake_no" => Motion::Swing { yaw: if rng.random_bool(0.5) { swing } else { -swing }, pitch: 0.0, hz },
        _ => return None,
    })
}

/// The (yaw, pitch) offset of `motion` at `since` seconds into it (0.35 s to reach a held pose).
pub(crate) fn motion_pose(motion: Motion, since: f64) -> (f32, f32) {
    match motion {
        Motion::Hold { yaw, pitch } => {
            let k = smoothstep((since / 0.35).clamp(0.0, 1.0)) as f32;
            (yaw * k, pitch * k)
        }
        Motion::Swing { yaw, pitch, hz } => {
            let s = (std::f64::consts::TAU * hz as f64 * since).sin() as f32;
            (yaw * s, pitch * s)
        }
    }
}

pub(crate) fn smoothstep(x: f64) -> f64 {
    x * x * (3.0 - 2.0 * x)
}

/// Follows the prompts: a prompt is a STATS in stage `challenge` after any other stage or
/// with another index.
#[derive(Default)]
pub(crate) struct PromptReader {
    pub(crate) last: Option<(String, Option<u64>)>,
}

impl PromptReader {
    /// The challenge newly prompted by `seen`, if any.
    pub(crate) fn new_prompt(&mut self, seen: &Observed) -> Option<String> {
        let key = (seen.stage.clone(), seen.index);
        let changed = self.last.as_ref() != Some(&key);
        self.last = Some(key);
        if changed && seen.stage == "challenge" { seen.challenge.clone() } else { None }
    }
}

/// A person in front of the camera: reacts to each prompt and performs it.
pub(crate) struct Person {
    pub(crate) model: Arc<FaceModel>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) prompts: PromptReader,
    /// The motion under way: (motion, start time); ended: (the pose it ended in, end time).
    pub(crate) motion: Option<(Motion, f64)>,
    pub(crate) returning: Option<((f32, f32), f64)>,
    pub(crate) jitter_phase: [f64; 4],
    pub(crate) next_blink: f64,
    /// The pose the photo shows (mesh yaw, pitch): a person asked to face the camera turns
    /// back from it, over half a second from `facing_since`.
    pub(crate) photo_pose: (f32, f32),
    pub(crate) facing_since: Option<f64>,
    /// The camera filming the person, and the noise of its sensor; or a camera of the sweep
    /// with its frame rate and denoiser.
    pub(crate) camera: attack::Camera,
    pub(crate) filming: Option<attack::Filming>,
    pub(crate) noise: ChaCha8Rng,
    /// The page's screen lighting the person, the camera's white balance, and the flash
    /// schedule being shown (since when, seconds).
    pub(crate) light: light::ScreenLight,
    pub(crate) white_balance: light::WhiteBalance,
    pub(crate) flash: Option<(String, liveness_core::challenge::flash::FlashSchedule, f64)>,
    /// How the face answers the screen's light.
    pub(crate) response: FlashResponse,
    /// Frames sent, for the replay attack.
    pub recording: Recording,
    /// Rendered and injected into the socket, not filmed through the page.
    pub(crate) injected: bool,
}

/// How the face in front of the camera answers the page's screen light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FlashResponse {
    /// A real face: lit by the screen as it changes.
    Lit,
    /// A rendered puppet that ignores the screen.
    None,
    /// A puppet relit with the screen's colours, this many seconds late (a relay that films
    /// the victim's screen and re-renders).
    Late(f64),
}

impl Person {
    pub(crate) fn new(model: Arc<FaceModel>, photo_pose: (f32, f32), seed: u64) -> Person {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let jitter_phase = [0; 4].map(|_| rng.random_range(0.0..std::f64::consts::TAU));
        let next_blink = rng.random_range(1.0..4.0);
        let camera = attack::Camera::random(&mut rng);
        let noise = ChaCha8Rng::seed_from_u64(seed ^ 0xca3e7a);
        // Drawn from their own generator, so the person's movements stay those of the seed.
        let mut lighting = ChaCha8Rng::seed_from_u64(seed ^ 0x11647);
        let light = light::ScreenLight::random(&mut lighting);
        let white_balance = light::WhiteBalance::random(&mut lighting);
        Person {
            model,
            rng,
            prompts: PromptReader::default(),
            motion: None,
            returning: None,
            jitter_phase,
            next_blink,
            photo_pose,
            facing_since: None,
            camera,
            filming: None,
            noise,
            light,
            white_balance,
            flash: None,
            response: FlashResponse::Lit,
            recording: Vec::new(),
            injected: false,
        }
    }

    pub(crate) fn responding(mut self, response: FlashResponse) -> Person {
        self.response = response;
        self
    }

    /// Filmed by a camera of the sweep's `condition`.
    pub(crate) fn filmed_by(mut self, condition: attack::Condition) -> Person {
        let mut rng = ChaCha8Rng::seed_from_u64(self.noise.random());
        self.filming = Some(attack::Filming::new(condition, &mut rng));
        self
    }

    /// Frames straight from the renderer into the socket: its JPEG without a sensor's noise or
    /// blur, and without the page's encoder.
    pub(crate) fn noise_free(mut self) -> Person {
        self.camera.noise = 0.0;
        self.camera.blur = 0.0;
        self.injected = true;
        self
    }

    /// The colour the page's screen shows at `t` as this face answers it (None: the page's
    /// own colours), after taking a new schedule from `seen`.
    pub(crate) fn screen_at(&mut self, t: f64, seen: &Observed) -> Option<liveness_core::challenge::flash::Rgb8> {
        if let Some((key, schedule)) = &seen.flash
            && self.flash.as_ref().is_none_or(|f| &f.0 != key)
        {
            self.flash = Some((key.clone(), schedule.clone(), seen.at));
        }
        let delay = match self.response {
            FlashResponse::Lit => 0.0,
            FlashResponse::None => return None,
            FlashResponse::Late(delay) => delay,
        };
        let (_, schedule, since) = self.flash.as_ref()?;
        let ms = (t - since - delay) * 1000.0;
        (ms >= 0.0 && ms < schedule.total_ms() as f64).then(|| schedule.colour_at(ms))
    }

    pub(crate) fn expression(&mut self, t: f64, seen: &Observed) -> Expression {
        if let Some(challenge) = self.prompts.new_prompt(seen) {
            let reaction = self.rng.random_range(0.4..1.0);
            self.returning = None;
            self.motion = motion_for(&challenge, &mut self.rng).map(|m| (m, t + reaction));
        } else if seen.stage != "challenge"
            && let Some((motion, start)) = self.motion.take()
        {
            // The prompt is over (passed, failed or retried): back to the neutral pose.
            self.returning = Some((motion_pose(motion, (t - start).max(0.0)), t));
        }
        let (mut yaw, mut pitch) = match (self.motion, self.returning) {
            (Some((motion, start)), _) if t >= start => motion_pose(motion, t - start),
            (_, Some((from, at))) => {
                let k = 1.0 - smoothstep(((t - at) / 0.35).clamp(0.0, 1.0)) as f32;
                (from.0 * k, from.1 * k)
            }
            _ => (0.0, 0.0),
        };
        if seen.stage == "calibrating" && seen.hint.as_deref() == Some("face-camera") && self.facing_since.is_none() {
            self.facing_since = Some(t + self.rng.random_range(0.4..1.0));
        }
        if let Some(since) = self.facing_since {
            // Turns to within a few degrees of the camera, and keeps that as the neutral pose.
            let k = smoothstep(((t - since) / 0.5).clamp(0.0, 1.0)) as f32 * 0.85;
            yaw -= self.photo_pose.0 * k;
            pitch -= self.photo_pose.1 * k;
        }
        // A living head is never quite still: about a degree of slow drift.
        let p = self.jitter_phase;
        yaw += (0.6 * (1.3 * t + p[0]).sin() + 0.3 * (3.1 * t + p[1]).sin()) as f32;
        pitch += (0.5 * (1.1 * t + p[2]).sin() + 0.3 * (2.7 * t + p[3]).sin()) as f32;
        // Blinks every 2-6 s, 150 ms each.
        let eyes_closed = if t >= self.next_blink && t < self.next_blink + 0.15 {
            1.0
        } else {
            if t >= self.next_blink + 0.15 {
                self.next_blink = t + self.rng.random_range(2.0..6.0);
            }
            0.0
        };
        Expression { yaw, pitch, eyes_closed, ..Expression::default() }
    }
}

impl Actor for Person {
    fn frame(&mut self, t: f64, seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        let e = self.expression(t, seen);
        // A camera slower than its reader: the same frame again.
        if let Some(jpeg) = self.filming.as_ref().and_then(|f| f.repeat(t)) {
            self.recording.push((t, jpeg.clone()));
            return (jpeg, (e.yaw, e.pitch));
        }
        let mut scene = attack::from_rgb8(&self.model.render(&e));
        let screen = self.screen_at(t, seen);
        self.light.apply(&mut scene, SIDE as usize, screen);
        self.white_balance.apply(&mut scene, t);
        let frame = self.film(t, &scene);
        self.recording.push((t, frame.clone()));
        (frame, (e.yaw, e.pitch))
    }

    fn through_page(&self) -> bool {
        !self.injected
    }
}

impl Person {
    /// The JPEG the person's camera makes of `scene` at `t`.
    pub(crate) fn film(&mut self, t: f64, scene: &[f32]) -> Vec<u8> {
        match &mut self.filming {
            Some(filming) => filming.capture(t, scene, SIDE as usize, SIDE as usize, &mut self.noise),
            None => self.camera.capture(scene, SIDE as usize, SIDE as usize, &mut self.noise),
        }
    }
}

/// A live person performing the prompts, filmed off a display.
pub(crate) struct ScreenRelay {
    pub(crate) person: Person,
    pub(crate) screen: attack::Screen,
}

impl Actor for ScreenRelay {
    fn frame(&mut self, t: f64, seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        let e = self.person.expression(t, seen);
        let scene = attack::from_rgb8(&self.person.model.render(&e));
        let shown = self.screen.apply(&scene, SIDE as usize, SIDE as usize, t as f32);
        (self.person.film(t, &shown), (e.yaw, e.pitch))
    }
}

/// A person's frames sent two or three times each, as an injector running slower than it
/// sends does: half the repeats the same bytes, half re-encoded a little lower.
pub(crate) struct Repeating {
    pub(crate) person: Person,
    pub(crate) last: Option<(Vec<u8>, (f32, f32))>,
    pub(crate) left: u32,
    pub(crate) rng: ChaCha8Rng,
}

impl Actor for Repeating {
    fn frame(&mut self, t: f64, seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        if let Some((jpeg, pose)) = &self.last
            && self.left > 0
        {
            self.left -= 1;
            if self.rng.random_bool(0.5) {
                return (jpeg.clone(), *pose);
            }
            let quality = self.person.camera.quality.saturating_sub(self.rng.random_range(2..6));
            return (reencode(jpeg, quality), *pose);
        }
        let (jpeg, pose) = self.person.frame(t, seen);
        self.left = self.rng.random_range(1..=2);
        self.last = Some((jpeg.clone(), pose));
        (jpeg, pose)
    }

    /// An injector: its frames go straight into the socket.
    fn through_page(&self) -> bool {
        false
    }
}

/// A photo of the person held in front of the camera: still, moved in the image plane, or
/// tilted as a plane, with the prompts.
pub(crate) struct Picture {
    pub(crate) neutral: Vec<u8>,
    pub(crate) kind: PictureKind,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) prompts: PromptReader,
    pub(crate) motion: Option<(Motion, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PictureKind {
    Still,
    HandHeld,
    Tilted,
}

impl Actor for Picture {
    fn frame(&mut self, t: f64, seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        if let Some(challenge) = self.prompts.new_prompt(seen) {
            let reaction = self.rng.random_range(0.4..1.0);
            self.motion = motion_for(&challenge, &mut self.rng).map(|m| (m, t + reaction));
        } else if seen.stage != "challenge" {
            self.motion = None;
        }
        let (yaw, pitch) = match self.motion {
            Some((motion, start)) if t >= start => motion_pose(motion, t - start),
            _ => (0.0, 0.0),
        };
        let c = SIDE as f64 / 2.0;
        // The hand is not still either.
        let (wx, wy) = ((1.7 * t).sin() * 4.0, (1.3 * t).cos() * 3.0);
        let homography = match self.kind {
            PictureKind::Still => None,
            // Moved in its own plane: slid toward the asked side and rotated a little.
            PictureKind::HandHeld => Some(render::plane_homography(
                c,
                c,
                600.0,
                0.0,
                0.0,
                yaw as f64 * 0.3,
                1.0,
                (wx + yaw as f64 * 3.0, wy - pitch as f64 * 3.0),
            )),
            // Tilted as a plane, half again as far as a head would turn.
            PictureKind::Tilted => {
                Some(render::plane_homography(c, c, 600.0, yaw as f64 * 1.5, pitch as f64 * 1.5, 0.0, 1.0, (wx, wy)))
            }
        };
        let frame = match homography {
            None => self.neutral.clone(),
            Some(h) => {
                let rgb = image::load_from_memory(&self.neutral).map(|i| i.to_rgb8().into_raw()).unwrap_or_default();
                if rgb.len() != (SIDE * SIDE * 3) as usize {
                    return (self.neutral.clone(), (0.0, 0.0));
                }
                jpeg(&render::warp_image(&rgb, SIDE as usize, SIDE as usize, &h, [90, 90, 90]), SIDE)
            }
        };
        (frame, (yaw, pitch))
    }
}

/// A recorded session played back in a loop, whatever the prompts say.
pub(crate) struct Replay {
    pub(crate) frames: Arc<Recording>,
    pub(crate) offset: f64,
}

impl Actor for Replay {
    fn frame(&mut self, t: f64, _seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        let length = self.frames.last().map_or(1.0, |f| f.0 + 0.1);
        let at = (t + self.offset) % length;
        let index = self.frames.partition_point(|f| f.0 <= at).saturating_sub(1);
        (self.frames[index].1.clone(), (0.0, 0.0))
    }
}

/// A person performing the prompts with a second person's face beside theirs.
pub(crate) struct TwoFaces {
    pub(crate) person: Person,
    pub(crate) other: Vec<u8>,
}

impl Actor for TwoFaces {
    fn frame(&mut self, t: f64, seen: &Observed) -> (Vec<u8>, (f32, f32)) {
        let e = self.person.expression(t, seen);
        let own = self.person.model.render(&e);
        let side = SIDE as usize;
        // Both faces at 60 % size, side by side.
        let small = (side * 3) / 5;
        let mut out = vec![110u8; side * side * 3];
        for (image, x0) in [(&own, 0usize), (&self.other, side - small)] {
            for y in 0..small {
                for x in 0..small {
                    let (sx, sy) = (x * side / small, y * side / small);
                    let (dst, src) = (((y + (side - small) / 2) * side + x0 + x) * 3, (sy * side + sx) * 3);
                    out[dst..dst + 3].copy_from_slice(&image[src..src + 3]);
                }
            }
        }
        (jpeg(&out, SIDE), (e.yaw, e.pitch))
    }
}

/// The attack kinds, in the report's order.
pub(crate) const ATTACKS: [&str; 10] = [
    "static-photo",
    "hand-held-print",
    "planar-tilt",
    "replay-loop",
    "two-faces",
    "screen-relay",
    "puppet",
    "puppet-late",
    "noise-free",
    "duplicated",
];
