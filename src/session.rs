//! One liveness session: a pipeline `appsrc ! lvfacedetect ! lvlandmarks ! lvantispoof !
//! lvsurfaceanalysis ! lvchallenge ! lvjwtsink` fed with decoded frames, whose per-frame results
//! and verdict come back through lvjwtsink's signals. Models are shared by every session of
//! the process, so a new session costs no model load. With `STORE_FRAMES=1` the chain also
//! tees into `lvvideoglue`, which keeps the session's frames and results in Redis.

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstliveness::errors::ErrorCode;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::lpproto::ProtoError;

/// What lvjwtsink (or the bus) says after a frame.
#[derive(Debug, Clone)]
pub enum SinkEvent {
    Frame(gst::Structure),
    Verdict { token: String, is_ok: bool, errors: Vec<u32> },
    Failed(String),
}

/// The error codes of lvjwtsink's `errors` arrays (signal argument, frame-result field).
pub fn error_codes(array: Option<gst::Array>) -> Vec<u32> {
    array.map(|a| a.iter().filter_map(|v| v.get::<u32>().ok()).collect()).unwrap_or_default()
}

/// How long a frame may take through the pipeline before the session fails.
const FRAME_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest frame side accepted.
pub const MAX_FRAME_SIDE: u32 = 4096;

pub struct LivenessSession {
    pub id: String,
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    events: mpsc::UnboundedReceiver<SinkEvent>,
    started: Instant,
    info: Option<gst_video::VideoInfo>,
    pub frames: u64,
    /// With frame storage: where the end of stream is announced, so that `stop` lets
    /// lvvideoglue write the last frames and the summary first.
    eos: Option<std::sync::mpsc::Receiver<()>>,
}

/// How long `stop` waits for lvvideoglue to finish writing.
const STORE_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A decoded frame, RGB.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Decodes a JPEG, refusing anything else and frames over `MAX_FRAME_SIDE`.
pub fn decode_jpeg(bytes: &[u8]) -> Result<DecodedFrame, ProtoError> {
    let not_jpeg = |detail: String| ProtoError::new(ErrorCode::NotJpeg, detail);
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(not_jpeg("the frame does not start with a JPEG marker".into()));
    }
    decode(bytes, image::ImageFormat::Jpeg).map_err(|err| not_jpeg(format!("JPEG: {err}")))
}

/// Decodes a JPEG or PNG still (the REST API's images), refusing images over
/// `MAX_FRAME_SIDE`.
pub fn decode_still(bytes: &[u8]) -> Result<DecodedFrame, String> {
    let format = if bytes.starts_with(&[0xFF, 0xD8]) {
        image::ImageFormat::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        image::ImageFormat::Png
    } else {
        return Err("neither a JPEG nor a PNG".into());
    };
    decode(bytes, format).map_err(|err| format!("{format:?}: {err}"))
}

fn decode(bytes: &[u8], format: image::ImageFormat) -> Result<DecodedFrame, image::ImageError> {
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_FRAME_SIDE);
    limits.max_image_height = Some(MAX_FRAME_SIDE);
    reader.limits(limits);
    let rgb = reader.decode()?.to_rgb8();
    Ok(DecodedFrame { width: rgb.width(), height: rgb.height(), rgb: rgb.into_raw() })
}

impl DecodedFrame {
    /// The caps of frames of this size, RGB.
    pub fn video_info(&self, fps: gst::Fraction) -> Result<gst_video::VideoInfo, gst::glib::BoolError> {
        gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, self.width, self.height).fps(fps).build()
    }

    /// The frame as a buffer laid out as `info` says: GStreamer pads each RGB row to a
    /// multiple of 4 bytes, so frames of odd widths need their rows copied apart.
    pub fn into_buffer(self, info: &gst_video::VideoInfo) -> gst::Buffer {
        let row = self.width as usize * 3;
        let stride = info.stride()[0] as usize;
        if stride == row {
            return gst::Buffer::from_mut_slice(self.rgb);
        }
        let mut data = vec![0u8; stride * self.height as usize];
        for (out, row_in) in data.chunks_exact_mut(stride).zip(self.rgb.chunks_exact(row)) {
            out[..row].copy_from_slice(row_in);
        }
        gst::Buffer::from_mut_slice(data)
    }
}

/// Settings of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    pub id: String,
    /// Frames are a selfie view (mirrored).
    pub mirrored: bool,
}

impl LivenessSession {
    /// Builds and starts the pipeline. Blocking: call it off the async runtime.
    pub fn start(config: &Config, options: &SessionOptions) -> Result<LivenessSession, String> {
        let challenge = match (&config.challenge_sequence, &config.challenges) {
            (Some(sequence), _) => format!("sequence={sequence}"),
            (None, Some(pool)) => format!("challenges={pool} length={}", config.challenge_length),
            (None, None) => format!("length={}", config.challenge_length),
        };
        // With STORE_FRAMES, a tee hands every analysed frame (and the verdict) to
        // lvvideoglue through a queue, so that Redis never holds up the answers.
        let store = if config.store_frames && config.redis_url.is_some() {
            " ! tee name=t t. ! queue max-size-buffers=300 max-size-bytes=0 max-size-time=0 ! lvvideoglue name=glue t."
        } else {
            ""
        };
        let launch = format!(
            "appsrc name=src format=time is-live=true max-bytes=0 ! lvfacedetect ! lvlandmarks \
             ! lvantispoof threshold={} ! lvsurfaceanalysis ! lvchallenge name=challenge {challenge} mirrored={} \
             challenge-timeout={} timeout={}{store} ! lvjwtsink name=jwt min-age={}",
            config.antispoof_threshold,
            options.mirrored,
            config.challenge_timeout.as_millis(),
            config.session_timeout.as_millis(),
            config.min_age
        );
        let pipeline = gst::parse::launch(&launch)
            .map_err(|err| format!("pipeline: {err}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "not a pipeline".to_string())?;
        if let (Some(glue), Some(url)) = (pipeline.by_name("glue"), &config.redis_url) {
            glue.set_property("redis-url", url);
            glue.set_property("session-id", &options.id);
            glue.set_property("ttl", config.store_ttl_s);
        }
        let jwt = pipeline.by_name("jwt").ok_or("no lvjwtsink")?;
        jwt.set_property("session-id", &options.id);
        jwt.set_property_from_str("algorithm", config.jwt_algorithm.nick());
        if let Some(secret) = &config.jwt_secret {
            jwt.set_property("key", secret);
        }
        if let Some(file) = &config.jwt_key_file {
            jwt.set_property("key-file", file.display().to_string());
        }
        if let Some(issuer) = &config.jwt_issuer {
            jwt.set_property("issuer", issuer);
        }
        let (sender, events) = mpsc::unbounded_channel();
        let frames = sender.clone();
        jwt.connect("frame-result", false, move |args| {
            if let Ok(s) = args[1].get::<gst::Structure>() {
                let _ = frames.send(SinkEvent::Frame(s));
            }
            None
        });
        let verdicts = sender.clone();
        jwt.connect("verdict", false, move |args| {
            let token = args[1].get::<String>().unwrap_or_default();
            let is_ok = args[2].get::<bool>().unwrap_or(false);
            let errors = error_codes(args[3].get::<gst::Array>().ok());
            let _ = verdicts.send(SinkEvent::Verdict { token, is_ok, errors });
            None
        });
        let bus = pipeline.bus().ok_or("no bus")?;
        let (eos_sender, eos) = std::sync::mpsc::channel();
        let eos_sender = std::sync::Mutex::new(eos_sender);
        bus.set_sync_handler(move |_, msg| {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    let _ = sender.send(SinkEvent::Failed(format!("{} ({:?})", err.error(), err.debug())));
                }
                gst::MessageView::Eos(_) => {
                    let _ = eos_sender.lock().map(|s| s.send(()));
                }
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
        let appsrc = pipeline.by_name("src").and_then(|e| e.downcast::<gst_app::AppSrc>().ok()).ok_or("no appsrc")?;
        let mut session = LivenessSession {
            id: options.id.clone(),
            pipeline,
            appsrc,
            events,
            started: Instant::now(),
            info: None,
            frames: 0,
            eos: (!store.is_empty()).then_some(eos),
        };
        if session.pipeline.set_state(gst::State::Playing).is_err() {
            let reason = match session.events.try_recv() {
                Ok(SinkEvent::Failed(reason)) => reason,
                _ => "the pipeline did not start".into(),
            };
            session.stop();
            return Err(reason);
        }
        Ok(session)
    }

    /// Pushes one frame; the answer comes from [`LivenessSession::answer`].
    pub fn push(&mut self, frame: DecodedFrame) -> Result<(), ProtoError> {
        let info = match &self.info {
            Some(info) if (info.width(), info.height()) != (frame.width, frame.height) => {
                return Err(ProtoError::new(
                    ErrorCode::FrameSizeChanged,
                    format!("{}x{} after {}x{}", frame.width, frame.height, info.width(), info.height()),
                ));
            }
            Some(info) => info.clone(),
            None => {
                let internal = |err: gst::glib::BoolError| ProtoError::new(ErrorCode::Internal, format!("caps: {err}"));
                let info = frame.video_info(gst::Fraction::new(0, 1)).map_err(internal)?;
                self.appsrc.set_caps(Some(&info.to_caps().map_err(internal)?));
                self.info = Some(info.clone());
                info
            }
        };
        let mut buffer = frame.into_buffer(&info);
        if let Some(buffer) = buffer.get_mut() {
            // Stream time is the time since the session started: challenge timeouts run in it.
            buffer.set_pts(gst::ClockTime::from_nseconds(self.started.elapsed().as_nanos() as u64));
        }
        self.frames += 1;
        self.appsrc
            .push_buffer(buffer)
            .map(|_| ())
            .map_err(|err| ProtoError::new(ErrorCode::Internal, format!("pipeline refused the frame: {err:?}")))
    }

    /// The next result: the frame's checks, or the verdict.
    pub async fn answer(&mut self) -> SinkEvent {
        match tokio::time::timeout(FRAME_ANSWER_TIMEOUT, self.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => SinkEvent::Failed("the pipeline stopped".into()),
            Err(_) => SinkEvent::Failed("no answer from the pipeline".into()),
        }
    }

    /// Stops the pipeline; with frame storage, after the stored frames and summary are
    /// written (at most `STORE_DRAIN_TIMEOUT`). Blocking.
    pub fn stop(&mut self) {
        if let Some(eos) = self.eos.take()
            && self.appsrc.end_of_stream().is_ok()
        {
            let _ = eos.recv_timeout(STORE_DRAIN_TIMEOUT);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Drop for LivenessSession {
    fn drop(&mut self) {
        self.stop();
    }
}
