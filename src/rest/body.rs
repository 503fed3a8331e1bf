//! The bounds of a REST request before its analysis: a place among the requests in flight
//! (`MAX_REST_REQUESTS`, taken before a byte of the body is read), a body bound per endpoint
//! read as a stream (a declared `Content-Length` past it is refused unread; chunked bodies are
//! counted as they come), and a time to send it in (`BODY_TIMEOUT_MS`).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures_util::{Stream, StreamExt};
use warp::http::StatusCode;

use super::RestError;
use crate::config::Config;
use crate::errors::ErrorCode;
use crate::routes::Endpoint;

/// What the client is told to wait before it retries, past `MAX_REST_REQUESTS`.
const RETRY_AFTER_MS: u64 = 1000;

/// Room in a body for the JSON around its images (field names, numbers, a data-URL prefix).
const JSON_ROOM: usize = 64 * 1024;

/// A place among the REST requests in flight, held from before the body is read to the answer.
pub struct Place(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// A place among `MAX_REST_REQUESTS`, or 429 `busy` with a retry time.
pub fn take_place(places: &Arc<tokio::sync::Semaphore>) -> Result<Place, RestError> {
    places.clone().try_acquire_owned().map(Place).map_err(|_| RestError {
        retry_after_ms: Some(RETRY_AFTER_MS),
        status: Some(StatusCode::TOO_MANY_REQUESTS),
        ..RestError::new(ErrorCode::Busy, "every place for REST requests is taken (MAX_REST_REQUESTS)")
    })
}

/// The largest body `endpoint` takes: its images at `MAX_FRAME_BYTES` each in base64 and room
/// for the JSON around them, within `MAX_BODY_BYTES` (a `frames` list takes up to it).
pub fn limit(config: &Config, endpoint: Endpoint) -> usize {
    match endpoint.images() {
        Some(images) => (images * (config.max_frame_bytes.div_ceil(3) * 4) + JSON_ROOM).min(config.max_body_bytes),
        None => config.max_body_bytes,
    }
}

/// Reads a body of at most `limit` bytes within `timeout`: 413 `body-too-large` as soon as
/// the declared length or the bytes read pass it, 408 `body-timeout` when it is not in by then.
pub async fn read<B: Buf>(
    body: impl Stream<Item = Result<B, warp::Error>>,
    declared: Option<u64>,
    limit: usize,
    timeout: Duration,
) -> Result<bytes::Bytes, RestError> {
    let too_large =
        || RestError::new(ErrorCode::BodyTooLarge, format!("this endpoint takes bodies of at most {limit} bytes"));
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let mut body = std::pin::pin!(body);
    let mut read = BytesMut::with_capacity(declared.map_or(0, |length| length as usize));
    let reading = async {
        while let Some(chunk) = body.next().await {
            let mut chunk = chunk
                .map_err(|err| RestError::new(ErrorCode::InvalidJson, format!("the body could not be read: {err}")))?;
            if read.len() + chunk.remaining() > limit {
                return Err(too_large());
            }
            while chunk.has_remaining() {
                let part = chunk.chunk();
                read.extend_from_slice(part);
                let n = part.len();
                chunk.advance(n);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, reading).await {
        Ok(Ok(())) => Ok(read.freeze()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(RestError::new(
            ErrorCode::BodyTimeout,
            format!("the body did not arrive within {} ms (BODY_TIMEOUT_MS)", timeout.as_millis()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<&'static [u8], warp::Error>> {
        futures_util::stream::iter(parts.iter().map(|p| Ok(*p)).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn a_body_within_its_bound_is_read_whole() {
        let body = read(chunks(&[b"{\"a\":", b"1}"]), None, 10, Duration::from_secs(1)).await.expect("read");
        assert_eq!(&body[..], b"{\"a\":1}");
    }

    #[tokio::test]
    async fn a_declared_or_streamed_length_past_the_bound_is_refused() {
        let declared = read(chunks(&[b"{}"]), Some(11), 10, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(declared.code, ErrorCode::BodyTooLarge);
        let streamed = read(chunks(&[b"123456", b"78901"]), None, 10, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!((streamed.code, streamed.status()), (ErrorCode::BodyTooLarge, StatusCode::PAYLOAD_TOO_LARGE));
    }

    #[tokio::test]
    async fn a_body_that_does_not_arrive_in_time_is_refused() {
        // A body that never comes: the time runs out whatever the machine's speed.
        let never = futures_util::stream::pending::<Result<&'static [u8], warp::Error>>();
        let error = read(never, Some(5), 10, Duration::from_millis(50)).await.unwrap_err();
        assert_eq!((error.code, error.status()), (ErrorCode::BodyTimeout, StatusCode::REQUEST_TIMEOUT));
    }

    #[test]
    fn places_run_out_with_a_429_busy_and_come_back() {
        let places = Arc::new(tokio::sync::Semaphore::new(1));
        let place = take_place(&places).expect("one place");
        let refused = take_place(&places).err().expect("none left");
        assert_eq!(
            (refused.code, refused.status(), refused.retry_after_ms),
            (ErrorCode::Busy, StatusCode::TOO_MANY_REQUESTS, Some(1000))
        );
        drop(place);
        assert!(take_place(&places).is_ok());
    }
}
