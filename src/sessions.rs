//! Stored sessions (`STORE_FRAMES=1`, lvvideoglue): `GET /sessions/{id}/video` glues a
//! session into WebM with `lvvideogluesrc ! jpegdec ! videoconvert ! vp8enc ! webmmux`, and
//! `DELETE /sessions/{id}` removes it. Both need `Authorization: Bearer <ADMIN_TOKEN>`; without
//! ADMIN_TOKEN both are refused. Session ids are LPProto's: letters, digits, `-` and `_`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::errors::ErrorCode;
use gst::prelude::*;
use gstliveness::store::{Store, session_key};
use warp::http::StatusCode;
use warp::{Filter, Reply};

use crate::App;
use crate::rest::{RestError, error_reply};
use crate::routes::{self, Handler};

/// The glue pipeline; `lvvideogluesrc`'s Redis URL and session id are set as properties,
/// never written into the launch line.
const GLUE_PIPELINE: &str = "lvvideogluesrc name=src ! jpegdec ! videoconvert ! vp8enc deadline=1 \
                             ! webmmux streamable=true ! appsink name=out sync=false";

/// Longest a video may take to glue.
const GLUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

pub fn routes(app: Arc<App>) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let video_app = app.clone();
    let video = routes::with_param(Handler::SessionVideo)
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::query::<HashMap<String, String>>())
        .then(move |id: String, auth: Option<String>, query: HashMap<String, String>| {
            let app = video_app.clone();
            async move {
                let draw = match query.get("draw").map(String::as_str) {
                    None | Some("0") | Some("false") => false,
                    Some("1") | Some("true") => true,
                    Some(_) => {
                        let error = RestError::field(ErrorCode::InvalidField, "draw", "draw is true or false");
                        return error_reply(&error, None);
                    }
                };
                let answer = match authorize(&app, auth.as_deref(), &id) {
                    Err(error) => Err(error),
                    Ok(url) => tokio::task::spawn_blocking(move || glue_webm(&url, &id, draw))
                        .await
                        .unwrap_or_else(|err| Err(RestError::new(ErrorCode::Internal, format!("glue task: {err}")))),
                };
                match answer {
                    Ok(webm) => warp::http::Response::builder()
                        .status(StatusCode::OK)
                        .header("content-type", "video/webm")
                        // Face images: nothing on the way may keep a copy.
                        .header("cache-control", "no-store")
                        .body(webm.into())
                        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
                    Err(error) => error_reply(&error, None),
                }
            }
        });
    let delete = routes::with_param(Handler::DeleteSession)
        .and(warp::header::optional::<String>("authorization"))
        .then(move |id: String, auth: Option<String>| {
            let app = app.clone();
            async move {
                let answer = match authorize(&app, auth.as_deref(), &id) {
                    Err(error) => Err(error),
                    Ok(url) => tokio::task::spawn_blocking(move || delete_session(&url, &id))
                        .await
                        .unwrap_or_else(|err| Err(RestError::new(ErrorCode::Internal, format!("delete task: {err}")))),
                };
                match answer {
                    Ok(()) => StatusCode::NO_CONTENT.into_response(),
                    Err(error) => error_reply(&error, None),
                }
            }
        });
    video.or(delete).unify()
}

/// Checks the admin token, the session id and that a store is configured; returns the
/// store's URL.
fn authorize(app: &App, auth: Option<&str>, id: &str) -> Result<String, RestError> {
    crate::auth::require_admin(app.config.admin_token.as_deref(), auth)?;
    if !crate::protocol::connection::valid_session_id(id) {
        return Err(RestError::field(
            ErrorCode::InvalidField,
            "id",
            "a session id is 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    app.config.redis_url.clone().ok_or_else(|| RestError::new(ErrorCode::StorageDisabled, "REDIS_URL is not set"))
}

fn storage_failed(err: impl std::fmt::Display) -> RestError {
    RestError::new(ErrorCode::StorageFailed, err.to_string())
}

/// The store, and whether it holds session `id`.
fn stored(url: &str, id: &str) -> Result<Store, RestError> {
    let mut store = Store::connect(url).map_err(storage_failed)?;
    if !store.exists(&session_key(id)).map_err(storage_failed)? {
        return Err(RestError::new(ErrorCode::SessionNotStored, format!("no stored session {id}")));
    }
    Ok(store)
}

fn delete_session(url: &str, id: &str) -> Result<(), RestError> {
    let mut store = stored(url, id)?;
    store.delete(&session_key(id)).map_err(storage_failed)?;
    Ok(())
}

/// Runs the glue pipeline on session `id` and returns the WebM it writes. Blocking.
fn glue_webm(url: &str, id: &str, draw: bool) -> Result<Vec<u8>, RestError> {
    stored(url, id)?;
    let pipeline = gst::parse::launch(GLUE_PIPELINE)
        .map_err(storage_failed)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| storage_failed("not a pipeline"))?;
    let src = pipeline.by_name("src").ok_or_else(|| storage_failed("no lvvideogluesrc"))?;
    src.set_property("redis-url", url);
    src.set_property("session-id", id);
    src.set_property("draw", draw);
    let sink = pipeline
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| storage_failed("no appsink"))?;
    let bus = pipeline.bus().ok_or_else(|| storage_failed("no bus"))?;
    let result = (|| {
        pipeline.set_state(gst::State::Playing).map_err(|_| storage_failed(first_error(&bus)))?;
        let mut webm = Vec::new();
        let deadline = std::time::Instant::now() + GLUE_TIMEOUT;
        loop {
            if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
                if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                    webm.extend_from_slice(map.as_slice());
                }
                continue;
            }
            if sink.is_eos() {
                return Ok(webm);
            }
            if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error])
                && let gst::MessageView::Error(err) = msg.view()
            {
                return Err(storage_failed(err.error()));
            }
            if std::time::Instant::now() > deadline {
                return Err(storage_failed("the glue pipeline did not finish in time"));
            }
        }
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn first_error(bus: &gst::Bus) -> String {
    bus.timed_pop_filtered(gst::ClockTime::from_mseconds(500), &[gst::MessageType::Error])
        .and_then(|msg| match msg.view() {
            gst::MessageView::Error(err) => Some(err.error().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "the glue pipeline did not start".into())
}
