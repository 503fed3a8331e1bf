//! The REST API of seed 001: single-request checks on posted base64 images, answered with
//! JSON in the seed's shapes (camelCase requests, snake_case answers).
//!
//! Every endpoint runs the plugin's own elements on the images ([`crate::analysis`]: one
//! short pipeline per request, models shared) and reads their FaceMeta results; face matching
//! adds the `faceres` embedding ([`gstliveness::embedding`]) on the face the detector found.
//! `processing_time_ms` is the time from the request body's arrival to the answer, measured.
//! Images are decoded in memory, never written anywhere, and embeddings are dropped with the
//! request (seed 001 "Privacy Guarantees").
//!
//! Errors are JSON with the shared error-code table: `{"error": name, "code": n, "detail":
//! text, "field": name?}`, status 400 (bad JSON, field or image), 404/405 (unknown endpoint),
//! 413 (body over `MAX_BODY_BYTES`), 503 (the analysis gate stayed full) or 500. The
//! stored-session endpoints ([`crate::sessions`]) answer the same shape.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::errors::ErrorCode;
use base64::Engine;
use gstliveness::embedding::{Embedder, Embedding, SAME_PERSON_SIMILARITY};
use liveness_core::challenge::ChallengeType;
use liveness_core::challenge::session::{SessionSettings, count_blinks, eyes_closed};
use liveness_core::checks::{FrameCheck, passive_series_live};
use liveness_core::face::{Eyes, Face, QualityResult};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::{Filter, Reply};

use crate::App;
use crate::analysis::{self, AnalyzedFrame, Stage};
use crate::decode::{DecodedFrame, decode_still, still_header};

mod answers;
mod body;
mod proof;

pub(crate) use answers::*;
pub(crate) use proof::{FaceMatchProofBody, ProofCheckBody, SnarkjsProof};

/// Most frames one request may carry (`/blink-check`, `/passive-monitor`).
pub const MAX_REQUEST_FRAMES: usize = 64;
/// How long a request waits for a place in the analysis gate before it gets `busy`.
const SLOT_WAIT: Duration = Duration::from_secs(10);
/// lvchallenge's defaults the two-image challenge check replays (baseline frames, hold).
const BASELINE_FRAMES: usize = 5;
const HOLD_FRAMES: usize = 15;
const EXPRESSION_FRAMES: usize = 5;
/// Default smile probability of `/smile-check` (lvchallenge `smile-threshold`).
const SMILE_THRESHOLD: f64 = 0.7;
/// Default rise of the smile probability, in percent, of `/challenge/validate` (seed 001).
const MIN_EMOTION_CHANGE: f64 = 20.0;

pub use crate::routes::Endpoint;

/// A refused request.
#[derive(Debug, Clone, PartialEq)]
pub struct RestError {
    pub code: ErrorCode,
    pub detail: String,
    pub field: Option<String>,
    /// When to try again (`cooldown`, `busy`), in ms.
    pub retry_after_ms: Option<u64>,
    /// The HTTP status where it is not the code's usual one.
    pub status: Option<StatusCode>,
}

impl RestError {
    pub(crate) fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        RestError { code, detail: detail.into(), field: None, retry_after_ms: None, status: None }
    }

    pub(crate) fn field(code: ErrorCode, field: &str, detail: impl Into<String>) -> Self {
        RestError { code, detail: detail.into(), field: Some(field.to_string()), retry_after_ms: None, status: None }
    }

    pub(crate) fn status(&self) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
        match self.code {
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::UnknownEndpoint => StatusCode::NOT_FOUND,
            ErrorCode::Busy | ErrorCode::StorageFailed | ErrorCode::ServerFull => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
            ErrorCode::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::SessionNotStored | ErrorCode::SessionNotFound => StatusCode::NOT_FOUND,
            ErrorCode::Cooldown => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::FinalFailure => StatusCode::FORBIDDEN,
            ErrorCode::SessionNotFinished | ErrorCode::SessionRunning => StatusCode::CONFLICT,
            ErrorCode::StorageDisabled | ErrorCode::ZkUnavailable => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: self.code.name(),
            code: self.code.code(),
            detail: &self.detail,
            field: self.field.as_deref(),
            retry_after_ms: self.retry_after_ms.or((self.code == ErrorCode::Busy).then_some(BUSY_RETRY_AFTER_MS)),
        }
    }
}

/// The answer to a page of another origin.
pub fn origin_refused() -> RestError {
    RestError::new(ErrorCode::OriginNotAllowed, "this page's origin may not use the server: see ALLOWED_ORIGINS")
}

/// How long a client told `busy` should wait before it retries, in ms.
const BUSY_RETRY_AFTER_MS: u64 = 1000;

/// The JSON body of every HTTP error: the code's name and number from the shared error table,
/// what went wrong, the request field concerned.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody<'a> {
    /// The code's name (`bad_image`, `busy` ...).
    error: &'static str,
    /// The code's number in the error table.
    code: u16,
    /// What went wrong, for people.
    detail: &'a str,
    /// The request field concerned (`image`, `frames[3]`, `userReference` ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// When to try again, in ms (`busy`, `cooldown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

/// A JSON error answer.
pub fn error_reply(error: &RestError, status: Option<StatusCode>) -> warp::reply::Response {
    let body = error.body();
    let retry_after = body.retry_after_ms;
    let mut reply =
        warp::reply::with_status(warp::reply::json(&body), status.unwrap_or_else(|| error.status())).into_response();
    // Retry-After in whole seconds, rounded up, beside the body's milliseconds.
    if let Some(ms) = retry_after
        && let Ok(value) = warp::http::HeaderValue::from_str(&ms.div_ceil(1000).to_string())
    {
        reply.headers_mut().insert(warp::http::header::RETRY_AFTER, value);
    }
    reply
}

/// `POST /<endpoint>` for every endpoint of the route table; other methods and paths fall
/// through to [`recover`].
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    crate::routes::analysis().and(warp::header::optional::<u64>("content-length")).and(warp::body::stream()).then(
        move |endpoint: Endpoint, declared: Option<u64>, body| {
            let app = app.clone();
            async move {
                match answer(app, endpoint, declared, body).await {
                    Ok(value) => warp::reply::with_status(warp::reply::json(&value), StatusCode::OK).into_response(),
                    Err(error) => error_reply(&error, None),
                }
            }
        },
    )
}

/// One REST request: a place among those in flight, the body within its bound and time, then
/// the analysis with a place of the analysis gate LPProto's frames go through as well.
async fn answer<B: bytes::Buf>(
    app: Arc<App>,
    endpoint: Endpoint,
    declared: Option<u64>,
    body: impl futures_util::Stream<Item = Result<B, warp::Error>>,
) -> Result<Value, RestError> {
    let started = Instant::now();
    let _place = body::take_place(&app.rest_places)?;
    let body = body::read(body, declared, body::limit(&app.config, endpoint), app.config.body_timeout).await?;
    tokio::task::spawn_blocking(move || {
        let Some(_pass) = app.analysis_gate.enter_within(SLOT_WAIT) else {
            return Err(RestError::new(ErrorCode::Busy, "every analysis place is busy"));
        };
        let request = parse_body(&body)?;
        drop(body);
        handle(&app, endpoint, &request, started)
    })
    .await
    .unwrap_or_else(|err| Err(RestError::new(ErrorCode::Internal, format!("request task: {err}"))))
}

/// Turns warp's rejections into the JSON errors of the table.
pub async fn recover(rejection: warp::Rejection) -> Result<warp::reply::Response, std::convert::Infallible> {
    let (error, status) = if rejection.find::<crate::origin::OriginRefused>().is_some() {
        (origin_refused(), None)
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (RestError::new(ErrorCode::BodyTooLarge, "the request body is larger than MAX_BODY_BYTES"), None)
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (
            RestError::new(ErrorCode::UnknownEndpoint, "no endpoint has this path and method"),
            Some(StatusCode::METHOD_NOT_ALLOWED),
        )
    } else if rejection.is_not_found() {
        (RestError::new(ErrorCode::UnknownEndpoint, "no endpoint has this path"), None)
    } else {
        (RestError::new(ErrorCode::InvalidJson, format!("request refused: {rejection:?}")), None)
    };
    Ok(error_reply(&error, status))
}

pub(crate) fn parse_body(body: &[u8]) -> Result<Map<String, Value>, RestError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(RestError::new(ErrorCode::InvalidJson, "the body must be a JSON object")),
        Err(err) => Err(RestError::new(ErrorCode::InvalidJson, format!("the body is not JSON: {err}"))),
    }
}

/// The fields of one request.
struct Request<'a> {
    map: &'a Map<String, Value>,
    max_image_bytes: usize,
    /// Most pixels of a single image, and of each image of a `frames` list.
    max_image_pixels: u64,
    max_frame_pixels: u64,
}

impl Request<'_> {
    fn string(&self, field: &str) -> Result<&str, RestError> {
        match self.map.get(field) {
            None | Some(Value::Null) => {
                Err(RestError::field(ErrorCode::MissingField, field, format!("{field} is required")))
            }
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(RestError::field(ErrorCode::InvalidField, field, format!("{field} must be a string"))),
        }
    }

    /// An optional number within `range`.
    fn number(&self, field: &str, default: f64, range: std::ops::RangeInclusive<f64>) -> Result<f64, RestError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => value.as_f64().filter(|v| range.contains(v)).ok_or_else(|| {
                RestError::field(
                    ErrorCode::InvalidField,
                    field,
                    format!("{field} must be a number from {} to {}", range.start(), range.end()),
                )
            }),
        }
    }

    fn image(&self, field: &str) -> Result<DecodedFrame, RestError> {
        decode_image(self.string(field)?, field, self.max_image_bytes, self.max_image_pixels)
    }

    /// `frames` (an array of images), or a single `image`.
    fn frames(&self) -> Result<Vec<DecodedFrame>, RestError> {
        let list = match self.map.get("frames") {
            None | Some(Value::Null) => return Ok(vec![self.image("image")?]),
            Some(Value::Array(list)) => list,
            Some(_) => {
                return Err(RestError::field(ErrorCode::InvalidField, "frames", "frames must be an array of images"));
            }
        };
        if list.is_empty() || list.len() > MAX_REQUEST_FRAMES {
            return Err(RestError::field(
                ErrorCode::InvalidField,
                "frames",
                format!("frames must hold 1 to {MAX_REQUEST_FRAMES} images"),
            ));
        }
        // Every frame's header is checked, and the pixels of all summed, before any is decoded.
        let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(list.len());
        let (mut size, mut pixels) = (None, 0u64);
        for (index, item) in list.iter().enumerate() {
            let field = format!("frames[{index}]");
            let Value::String(text) = item else {
                return Err(RestError::field(ErrorCode::InvalidField, &field, "each frame must be a base64 string"));
            };
            let bytes = image_bytes(text, &field, self.max_image_bytes)?;
            let (width, height) = still_header(&bytes, self.max_frame_pixels).map_err(|err| bad_image(&field, err))?;
            if let Some((first_width, first_height)) = size
                && (first_width, first_height) != (width, height)
            {
                return Err(RestError::field(
                    ErrorCode::FrameSizeChanged,
                    &field,
                    format!("{width}x{height} after {first_width}x{first_height}"),
                ));
            }
            size = Some((width, height));
            pixels += width as u64 * height as u64;
            if pixels > self.max_image_pixels {
                return Err(RestError::field(
                    ErrorCode::BadImage,
                    "frames",
                    format!("the frames hold more than {} pixels together (MAX_IMAGE_PIXELS)", self.max_image_pixels),
                ));
            }
            files.push((field, bytes));
        }
        files
            .into_iter()
            .map(|(field, bytes)| decode_still(&bytes, self.max_frame_pixels).map_err(|err| bad_image(&field, err)))
            .collect()
    }
}

/// The bytes of a base64 image (a `data:image/...;base64,` prefix is accepted), at most
/// `max_bytes`.
fn image_bytes(text: &str, field: &str, max_bytes: usize) -> Result<Vec<u8>, RestError> {
    let text = text.trim();
    let text = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, data)| data).unwrap_or(""),
        None => text,
    };
    if text.len() / 4 * 3 > max_bytes + 3 {
        return Err(RestError::field(ErrorCode::BadImage, field, format!("images are limited to {max_bytes} bytes")));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|err| RestError::field(ErrorCode::BadBase64, field, format!("{field}: {err}")))?;
    if bytes.len() > max_bytes {
        return Err(RestError::field(ErrorCode::BadImage, field, format!("images are limited to {max_bytes} bytes")));
    }
    Ok(bytes)
}

fn bad_image(field: &str, err: crate::decode::DecodeError) -> RestError {
    RestError::field(ErrorCode::BadImage, field, format!("{field}: {err}"))
}

/// Decodes a base64 image after the checks of `decode::still_header`.
fn decode_image(text: &str, field: &str, max_bytes: usize, max_pixels: u64) -> Result<DecodedFrame, RestError> {
    decode_still(&image_bytes(text, field, max_bytes)?, max_pixels).map_err(|err| bad_image(field, err))
}

fn internal(err: impl std::fmt::Display) -> RestError {
    RestError::new(ErrorCode::Internal, err.to_string())
}

fn run(frames: Vec<DecodedFrame>, chain: &[Stage]) -> Result<analysis::Analysis, RestError> {
    analysis::run(frames, chain).map_err(internal)
}

fn run_one(frame: DecodedFrame, chain: &[Stage]) -> Result<AnalyzedFrame, RestError> {
    run(vec![frame], chain)?.frames.pop().ok_or_else(|| internal("no frame came out of the pipeline"))
}

fn codes(check: &FrameCheck) -> Vec<u16> {
    check.errors.iter().map(|c| c.code()).collect()
}

fn bounding_box(face: &Face) -> BoundingBox {
    let b = face.bbox;
    BoundingBox {
        x: b.x.round() as i32,
        y: b.y.round() as i32,
        width: b.width.round() as i32,
        height: b.height.round() as i32,
    }
}

fn round(value: f32, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value as f64 * scale).round() / scale
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

/// The FaceRes descriptor of `face`, one of `frame`'s.
fn embed(embedder: &Embedder, frame: &AnalyzedFrame, face: &Face) -> Result<Embedding, RestError> {
    embedder.embed(&frame.view().map_err(internal)?, face).map_err(internal)
}

/// The comparison of the main faces of an ID image and a selfie.
struct FaceMatch {
    /// Cosine similarity, floored at 0 (seed 001's `confidence`).
    confidence: f32,
    matched: bool,
    id_face: bool,
    selfie_face: bool,
}

fn match_faces(id: &AnalyzedFrame, selfie: &AnalyzedFrame, min: f64) -> Result<FaceMatch, RestError> {
    let embedder = Embedder::load().map_err(internal)?;
    let id_embedding = id.checked().1.map(|face| embed(&embedder, id, face)).transpose()?;
    let selfie_embedding = selfie.checked().1.map(|face| embed(&embedder, selfie, face)).transpose()?;
    let confidence = match (&id_embedding, &selfie_embedding) {
        (Some(a), Some(b)) => a.similarity(b).max(0.0),
        _ => 0.0,
    };
    let (id_face, selfie_face) = (id_embedding.is_some(), selfie_embedding.is_some());
    Ok(FaceMatch { confidence, matched: id_face && selfie_face && confidence as f64 >= min, id_face, selfie_face })
}

fn detect_chain() -> Vec<Stage> {
    vec![Stage::new("lvfacedetect")]
}

fn landmarks_chain() -> Vec<Stage> {
    vec![Stage::new("lvfacedetect"), Stage::new("lvlandmarks")]
}

/// The REST liveness chain, also the one the server checks at start (`App::new`).
pub(crate) fn liveness_chain(threshold: f64) -> Vec<Stage> {
    vec![
        Stage::new("lvfacedetect"),
        Stage::new("lvlandmarks"),
        Stage::new("lvantispoof").with("threshold", threshold),
        Stage::new("lvsurfaceanalysis"),
    ]
}

/// The liveness findings of one selfie.
fn liveness(frame: &AnalyzedFrame, threshold: f64) -> LivenessBody {
    let (check, face) = frame.checked();
    let antispoof = face.and_then(|f| f.antispoof);
    let surface = face.and_then(|f| f.surface);
    LivenessBody {
        is_real: face.is_some()
            && !check.errors.contains(&liveness_core::errors::Finding::SeveralFaces)
            && antispoof.is_some_and(|a| a.aggregated_score as f64 >= threshold)
            && surface.is_some_and(|s| s.frame.is_real),
        antispoof_score: antispoof.map(|a| round(a.aggregated_score, 4)),
        antispoof_threshold: threshold,
        face_count: frame.faces.len(),
        bounding_box: face.map(bounding_box),
        surface: surface.map(|s| SurfaceBody {
            is_real: s.frame.is_real,
            confidence: round(s.frame.confidence, 4),
            moire_detected: s.frame.moire_detected,
            reflectance: s.frame.reflectance.as_str(),
            skin_complexity: round(s.frame.skin_complexity, 4),
            frequency_score: round(s.frame.frequency_score, 4),
        }),
        quality: face.and_then(|f| f.quality),
        errors: codes(&check),
    }
}

/// Every answer carries the time it took.
#[derive(Debug, Serialize)]
struct Timed<T: Serialize> {
    #[serde(flatten)]
    body: T,
    processing_time_ms: f64,
}

fn to_json<T: Serialize>(body: T) -> Result<Value, RestError> {
    serde_json::to_value(body).map_err(internal)
}

/// Runs one endpoint (blocking).
fn handle(app: &App, endpoint: Endpoint, map: &Map<String, Value>, started: Instant) -> Result<Value, RestError> {
    let request = Request {
        map,
        max_image_bytes: app.config.max_frame_bytes,
        max_image_pixels: app.config.max_image_pixels,
        max_frame_pixels: app.config.max_frame_pixels,
    };
    let threshold = app.config.antispoof_threshold;
    let body = match endpoint {
        Endpoint::Detect => to_json(detect(&request)?),
        Endpoint::Liveness => {
            let threshold = request.number("antispoofThreshold", threshold, 0.0..=1.0)?;
            to_json(liveness(&run_one(request.image("image")?, &liveness_chain(threshold))?, threshold))
        }
        Endpoint::Antispoof => to_json(antispoof(&request, threshold)?),
        Endpoint::FaceMatch => to_json(face_match(&request)?),
        Endpoint::FaceMatchProof => to_json(proof::face_match_proof(app, &request)?),
        Endpoint::FaceMatchProofVerify => to_json(proof::verify(app, &request)?),
        Endpoint::Verify => to_json(verify(&request, threshold)?),
        Endpoint::ChallengeValidate => to_json(challenge_validate(&request)?),
        Endpoint::SmileCheck => to_json(smile_check(&request)?),
        Endpoint::BlinkCheck => to_json(blink_check(&request)?),
        Endpoint::PassiveMonitor => to_json(passive_monitor(&request, threshold)?),
    }?;
    to_json(Timed { body, processing_time_ms: elapsed_ms(started) })
}

fn detect(request: &Request) -> Result<DetectBody, RestError> {
    let frame = run_one(request.image("image")?, &detect_chain())?;
    let faces: Vec<DetectedFace> = frame
        .faces
        .iter()
        .map(|f| {
            let BoundingBox { x, y, width, height } = bounding_box(f);
            DetectedFace { x, y, width, height, confidence: round(f.score, 4) }
        })
        .collect();
    Ok(DetectBody { face_count: faces.len(), faces })
}

fn antispoof(request: &Request, default_threshold: f64) -> Result<AntispoofBody, RestError> {
    let threshold = request.number("threshold", default_threshold, 0.0..=1.0)?;
    let chain = [Stage::new("lvfacedetect"), Stage::new("lvantispoof").with("threshold", threshold)];
    let frame = run_one(request.image("image")?, &chain)?;
    let (_, face) = frame.checked();
    let score = face.and_then(|f| f.antispoof).map(|a| a.aggregated_score);
    Ok(AntispoofBody {
        is_real: score.is_some_and(|s| s as f64 >= threshold),
        antispoof_score: score.map(|s| round(s, 4)),
        threshold,
        face_count: frame.faces.len(),
        bounding_box: face.map(bounding_box),
    })
}

/// The default threshold of face matching, in hundredths as the endpoints answer it.
pub(crate) fn same_person_similarity() -> f64 {
    (SAME_PERSON_SIMILARITY as f64 * 100.0).round() / 100.0
}

fn face_match(request: &Request) -> Result<FaceMatchBody, RestError> {
    let min = request.number("minConfidence", same_person_similarity(), 0.0..=1.0)?;
    let (id, selfie) = (request.image("idImage")?, request.image("selfieImage")?);
    let m = match_faces(&run_one(id, &detect_chain())?, &run_one(selfie, &detect_chain())?, min)?;
    Ok(FaceMatchBody {
        matched: m.matched,
        confidence: round(m.confidence, 4),
        threshold: min,
        id_face_extracted: m.id_face,
        selfie_face_extracted: m.selfie_face,
    })
}

fn verify(request: &Request, default_threshold: f64) -> Result<VerifyBody, RestError> {
    let threshold = request.number("antispoofThreshold", default_threshold, 0.0..=1.0)?;
    let min = request.number("minFaceMatchConfidence", same_person_similarity(), 0.0..=1.0)?;
    let (id, selfie) = (request.image("idImage")?, request.image("selfieImage")?);
    let selfie = run_one(selfie, &liveness_chain(threshold))?;
    let live = liveness(&selfie, threshold);
    let m = match_faces(&run_one(id, &detect_chain())?, &selfie, min)?;
    Ok(VerifyBody {
        verified: live.is_real && m.matched,
        is_live: live.is_real,
        antispoof_score: live.antispoof_score,
        faces_match: m.matched,
        face_match_confidence: round(m.confidence, 4),
        id_face_extracted: m.id_face,
        errors: live.errors,
    })
}

fn smile_check(request: &Request) -> Result<SmileBody, RestError> {
    let threshold = request.number("threshold", SMILE_THRESHOLD, 0.0..=1.0)?;
    let frame = run_one(request.image("image")?, &landmarks_chain())?;
    let (_, face) = frame.checked();
    // Decided on the score as reported, so the answer never contradicts itself.
    let smile = face.and_then(|f| f.mouth).map(|m| round(m.smile, 4));
    Ok(SmileBody {
        is_smiling: smile.is_some_and(|s| s >= threshold),
        smile_score: smile,
        threshold,
        face_count: frame.faces.len(),
        bounding_box: face.map(bounding_box),
    })
}

/// `/blink-check`: lvchallenge's blink rule (its default `blink-ratio` of the open-eye ratio,
/// the frames' highest) on each frame, and its count of open-closed-open.
fn blink_check(request: &Request) -> Result<BlinkBody, RestError> {
    let frames = run(request.frames()?, &landmarks_chain())?.frames;
    let eyes: Vec<Option<Eyes>> = frames.iter().map(|f| f.checked().1.and_then(|face| face.eyes)).collect();
    let open = eyes.iter().flatten().map(Eyes::mean_aspect_ratio).fold(f32::NAN, f32::max);
    let blink_ratio = SessionSettings::default().blink_ratio;
    let closed: Vec<Option<bool>> = eyes.iter().map(|e| e.map(|e| eyes_closed(&e, open, blink_ratio))).collect();
    let blinks = count_blinks(closed.iter().flatten().copied());
    Ok(BlinkBody {
        blink_detected: blinks > 0,
        blink_count: blinks,
        eyes_closed: closed,
        ear_values: eyes.iter().map(|e| e.map(|e| round(e.mean_aspect_ratio(), 4))).collect(),
        frames_analyzed: frames.len(),
    })
}

/// `/passive-monitor`: lvjwtsink's passive rule over the frames, with the spread of the pose.
fn passive_monitor(request: &Request, default_threshold: f64) -> Result<PassiveBody, RestError> {
    let threshold = request.number("antispoofThreshold", default_threshold, 0.0..=1.0)?;
    let frames = run(request.frames()?, &liveness_chain(threshold))?.frames;
    let faces: Vec<&Face> = frames.iter().filter_map(|f| f.checked().1).collect();
    let last = faces.last().copied();
    let antispoof = last.and_then(|f| f.antispoof);
    let poses: Vec<_> = faces.iter().filter_map(|f| f.head_pose).collect();
    let span = |get: fn(&liveness_core::face::HeadPose) -> f32| {
        let values = poses.iter().map(get);
        let range = values.clone().fold(f32::NEG_INFINITY, f32::max) - values.fold(f32::INFINITY, f32::min);
        (!poses.is_empty()).then(|| round(range, 2))
    };
    let mut errors: Vec<u16> = frames.iter().flat_map(|f| codes(&f.checked().0)).collect();
    errors.sort_unstable();
    errors.dedup();
    Ok(PassiveBody {
        is_live: passive_series_live(frames.len(), faces.len(), last),
        frames_analyzed: frames.len(),
        face_frames: faces.len(),
        antispoof_score: antispoof.map(|a| round(a.aggregated_score, 4)),
        antispoof_frames: antispoof.map(|a| a.frames),
        surface_score: last.and_then(|f| f.surface).map(|s| round(s.session_score, 4)),
        yaw_range: span(|p| p.yaw_degrees),
        pitch_range: span(|p| p.pitch_degrees),
        errors,
    })
}

/// The frames `/challenge/validate` shows lvchallenge: the baseline image for the neutral
/// baseline's frames, then the challenge image for as long as the challenge must be held (a
/// blink: closed once, then open again).
fn challenge_frames(challenge: ChallengeType, baseline: DecodedFrame, shown: DecodedFrame) -> Vec<DecodedFrame> {
    let mut frames: Vec<DecodedFrame> = (0..BASELINE_FRAMES).map(|_| baseline.clone()).collect();
    match challenge {
        ChallengeType::Blink => {
            frames.push(shown);
            frames.push(baseline);
        }
        c if c.is_static_pose() => frames.extend((0..HOLD_FRAMES).map(|_| shown.clone())),
        _ => frames.extend((0..EXPRESSION_FRAMES).map(|_| shown.clone())),
    }
    frames
}

/// `/challenge/validate`: lvchallenge itself judges the movement, at 10 frames a second.
fn challenge_validate(request: &Request) -> Result<ChallengeBody, RestError> {
    let name = request.string("challengeType")?;
    let challenge = ChallengeType::from_name(name).ok_or_else(|| {
        RestError::field(ErrorCode::InvalidField, "challengeType", format!("unknown challenge {name:?}"))
    })?;
    if !challenge.shows_in_stills() {
        return Err(RestError::field(
            ErrorCode::InvalidField,
            "challengeType",
            "nod_yes, shake_no and flash happen over time: two still images cannot show them",
        ));
    }
    let change = request.number("minEmotionChange", MIN_EMOTION_CHANGE, 0.0..=100.0)?;
    let baseline = request.image("baselineImage")?;
    let shown = request.image("challengeImage")?;
    if (baseline.width, baseline.height) != (shown.width, shown.height) {
        return Err(RestError::field(
            ErrorCode::FrameSizeChanged,
            "challengeImage",
            format!("{}x{} after {}x{}", shown.width, shown.height, baseline.width, baseline.height),
        ));
    }
    // Two stills have no timing: the challenge image follows the baseline at once, so the
    // reaction window of a live session (`reaction-min`) does not apply.
    let judge = Stage::new("lvchallenge")
        .with("sequence", challenge.name())
        .with("retries", 0u32)
        .with("require-surface", false)
        .with("require-antispoof", false)
        .with("reaction-min", 1u64)
        .with("baseline-frames", BASELINE_FRAMES as u32)
        .with("hold-frames", HOLD_FRAMES as u32)
        .with("expression-frames", EXPRESSION_FRAMES as u32)
        .with("smile-gain", change / 100.0);
    let chain = [Stage::new("lvfacedetect"), Stage::new("lvlandmarks"), judge];
    let analysis = run(challenge_frames(challenge, baseline, shown), &chain)?;
    let named = |name: &str| analysis.messages.iter().any(|m| m.name() == name);
    let first = analysis.frames.first().and_then(|f| f.checked().1);
    let last = analysis.frames.get(BASELINE_FRAMES).and_then(|f| f.checked().1);
    let smile_change = match (first.and_then(|f| f.mouth), last.and_then(|f| f.mouth)) {
        (Some(a), Some(b)) => Some(round((b.smile - a.smile) * 100.0, 2)),
        _ => None,
    };
    Ok(ChallengeBody {
        passed: named("challenge-completed"),
        challenge_type: challenge.name(),
        baseline_calibrated: named("calibrated"),
        baseline: first.map(Measures::of),
        challenge: last.map(Measures::of),
        emotion_change: smile_change,
        min_emotion_change: change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_decode_with_clear_errors() {
        let err = decode_image("not base64!", "image", 1000, 1 << 24).unwrap_err();
        assert_eq!((err.code, err.field.as_deref()), (ErrorCode::BadBase64, Some("image")));
        let err = decode_image("aGVsbG8=", "image", 1000, 1 << 24).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadImage);
        let err = decode_image(&"A".repeat(4000), "idImage", 1000, 1 << 24).unwrap_err();
        assert_eq!((err.code, err.field.as_deref()), (ErrorCode::BadImage, Some("idImage")));
        let err = decode_image("data:image/png;base64,aGVsbG8=", "image", 1000, 1 << 24).unwrap_err();
        assert_eq!(err.code, ErrorCode::BadImage, "{err:?}");
    }

    #[test]
    fn fields_are_checked() {
        let map = parse_body(br#"{"image": 5, "threshold": 2}"#).unwrap();
        let request =
            Request { map: &map, max_image_bytes: 1000, max_image_pixels: 1 << 24, max_frame_pixels: 1 << 21 };
        assert_eq!(request.string("image").unwrap_err().code, ErrorCode::InvalidField);
        assert_eq!(request.string("other").unwrap_err().code, ErrorCode::MissingField);
        assert_eq!(request.number("threshold", 0.5, 0.0..=1.0).unwrap_err().code, ErrorCode::InvalidField);
        assert_eq!(request.number("absent", 0.5, 0.0..=1.0).unwrap(), 0.5);
        assert_eq!(parse_body(b"[1]").unwrap_err().code, ErrorCode::InvalidJson);
        assert_eq!(parse_body(b"{").unwrap_err().code, ErrorCode::InvalidJson);
    }
}
