//! Relying-party sessions (the shape of AWS Face Liveness and LUNA PASS): the relying party's
//! backend creates a session for one of its users with its API key (`POST /v1/sessions`) and
//! gets a session id and a short-lived, single-use client token; the user's browser CONNECTs
//! with the token; the backend fetches the outcome and the signed verdict token once
//! (`GET /v1/sessions/{id}/result`). The attempts policy counts the relying party's user
//! reference (`rp:<party>:<reference>`), never anything the client says. Sessions, tokens and
//! results live in the attempts store (Redis when configured), so a browser may land on any
//! server sharing it. `POST /v1/admin/final-failures/lift` (ADMIN_TOKEN) lifts a FINAL_FAILURE.

use std::sync::Arc;

use crate::errors::ErrorCode;
use liveness_core::age::AgeDecision;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use warp::http::StatusCode;
use warp::{Filter, Reply};

use crate::App;
use crate::auth;
use crate::clock::now_ms;
use crate::policy::StoreError;
use crate::protocol::{Outcome, ProtoError};
use crate::rest::{RestError, error_reply};
use crate::routes::{self, Handler};

/// Longest user reference, in bytes.
pub const MAX_USER_REFERENCE_BYTES: usize = 128;
/// Largest body of the session endpoints, in bytes.
const MAX_REQUEST_BYTES: usize = 4096;
/// Record kinds in the store.
const SESSION: &str = "rp-session";
const CLIENT_TOKEN: &str = "client-token";

/// Where a relying party's session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Created; its client token waits for CONNECT.
    Created,
    /// Connected and analysing.
    Running,
    /// Ended: its result waits for the relying party.
    Finished,
}

/// How a session ended, as the relying party fetches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResult {
    /// The session id of `POST /v1/sessions`.
    pub session_id: String,
    /// The session passed: its verdict token says so too.
    pub is_ok: bool,
    /// The verdict's error codes, or the one code that ended the session without a verdict.
    pub errors: Vec<u32>,
    /// The liveness check passed: the verdict's only findings, if any, are the age check's.
    #[serde(default)]
    pub liveness_passed: bool,
    /// The age check's decision when it ran: `passed`; `below` (likely under `MIN_AGE`);
    /// `uncertain`: the estimate lies inside `AGE_BUFFER` or the model is not sure enough, so
    /// send the person to a document check (such a session costs no attempt). Absent when the
    /// age check is off or the liveness check did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "uncertain")]
    pub age_decision: Option<AgeDecision>,
    /// The signed verdict token (`sub`: the session id, `aud`: the relying party); absent when
    /// the session ended without a verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// With `?details=true`: the measurements the token leaves out (its scores, the stream
    /// figures, the flash correlations, the age estimate), as lvjwtsink reported them; absent
    /// otherwise, and when the token carries them itself (`STATS_DETAIL=debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub figures: Option<serde_json::Value>,
    /// When the session ended, in ms since the Unix epoch.
    pub finished_at_ms: u64,
}

/// What the store keeps of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    pub relying_party: String,
    /// `rp:<party>:<reference>`: whose attempts the session counts.
    pub policy_key: String,
    pub state: SessionState,
    pub created_at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<SessionResult>,
    /// The relying party's choice of the screen-flash challenge (None: the server's `FLASH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash: Option<bool>,
}

/// A relying party's session that a connection runs.
#[derive(Debug, Clone)]
pub struct RunningSession {
    pub id: String,
    pub record: SessionRecord,
}

/// The body of `201 Created` at `POST /v1/sessions`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Created {
    /// The session's id: the relying party fetches its result with it.
    session_id: String,
    /// For the user's browser only: CONNECT's `session-token`, valid once.
    client_token: String,
    /// How long the client token stays valid, in ms (`CLIENT_TOKEN_TTL_MS`).
    expires_in_ms: u64,
}

/// The body of `POST /v1/admin/final-failures/lift`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Lifted {
    /// The user was in FINAL_FAILURE and no longer is.
    lifted: bool,
}

/// The policy key of a relying party's user: its reference as [`normalize_reference`] gives it.
pub fn policy_key(party: &str, reference: &str) -> String {
    format!("rp:{party}:{}", normalize_reference(reference))
}

/// A user reference as it is compared: without the characters Unicode says to ignore in
/// display (zero-width spaces and joiners, soft hyphens, direction marks, variation selectors,
/// byte order marks), in NFKC (fullwidth `ａｌｉｃｅ` and compatibility forms become `alice`),
/// trimmed and without letter case. `Alice`, ` alice`, `alice` with a zero-width space and
/// fullwidth `ａｌｉｃｅ` are one user.
pub fn normalize_reference(reference: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let visible: String = reference.chars().filter(|c| !ignorable(*c)).collect();
    visible.nfkc().collect::<String>().trim().to_lowercase()
}

/// Unicode's default-ignorable code points (DerivedCoreProperties), which draw nothing.
fn ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// `userReference` of a request: a string of 1 to `MAX_USER_REFERENCE_BYTES` bytes without
/// control characters, that is not empty once normalized.
fn user_reference(body: &Map<String, Value>) -> Result<String, RestError> {
    let reference = text_field(body, "userReference", MAX_USER_REFERENCE_BYTES)?;
    if normalize_reference(&reference).is_empty() {
        return Err(RestError::field(
            ErrorCode::InvalidField,
            "userReference",
            "userReference has no visible character",
        ));
    }
    Ok(reference)
}

fn store_error(err: StoreError) -> RestError {
    RestError::new(ErrorCode::Internal, format!("session store unavailable: {err}"))
}

fn corrupt(err: serde_json::Error) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

/// A random client token: 32 bytes from the OS, base64url.
fn new_client_token() -> Result<String, RestError> {
    use base64::Engine;
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| RestError::new(ErrorCode::Internal, format!("no randomness: {err}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A text field of a JSON body: present, a string, 1 to `max` bytes after trimming, no
/// control characters.
fn text_field(body: &Map<String, Value>, name: &str, max: usize) -> Result<String, RestError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(RestError::field(ErrorCode::MissingField, name, format!("{name} is required"))),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max && !s.chars().any(char::is_control) => {
            Ok(s.trim().to_string())
        }
        Some(_) => Err(RestError::field(
            ErrorCode::InvalidField,
            name,
            format!("{name} is a string of 1 to {max} bytes without control characters"),
        )),
    }
}

fn request_body(body: &[u8]) -> Result<Map<String, Value>, RestError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(RestError::new(ErrorCode::BodyTooLarge, format!("at most {MAX_REQUEST_BYTES} bytes")));
    }
    crate::rest::parse_body(body)
}

/// `POST /v1/sessions`: a session for the relying party's user, with its client token.
async fn create(app: &App, authorization: Option<&str>, body: &[u8]) -> Result<Created, RestError> {
    let party = auth::relying_party(&app.config.api_keys, authorization)?.party.clone();
    let body = request_body(body)?;
    let reference = user_reference(&body)?;
    let flash = match body.get("flash") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flash)) => Some(*flash),
        Some(_) => return Err(RestError::field(ErrorCode::InvalidField, "flash", "flash: true or false")),
    };
    let key = policy_key(&party, &reference);
    let now = now_ms();
    let decision = app.policy.decide(&key, now, &app.config.policy).await.map_err(store_error)?;
    if let Some(refusal) = decision.refusal(now) {
        app.metrics.refused("sessions", refusal.code);
        return Err(RestError {
            retry_after_ms: refusal.retry_after_ms,
            ..RestError::new(refusal.code, refusal.detail)
        });
    }
    let session_id = liveness_core::claims::random_uuid();
    let client_token = new_client_token()?;
    let record = SessionRecord {
        relying_party: party,
        policy_key: key,
        state: SessionState::Created,
        created_at_ms: now,
        result: None,
        flash,
    };
    let ttl = app.config.client_token_ttl;
    save(app, &session_id, &record, ttl).await.map_err(store_error)?;
    app.policy
        .put_record(CLIENT_TOKEN, &auth::digest_hex(&client_token), &session_id, ttl)
        .await
        .map_err(store_error)?;
    Ok(Created { session_id, client_token, expires_in_ms: ttl.as_millis() as u64 })
}

async fn save(app: &App, id: &str, record: &SessionRecord, ttl: std::time::Duration) -> Result<(), StoreError> {
    let json = serde_json::to_string(record).map_err(corrupt)?;
    app.policy.put_record(SESSION, id, &json, ttl).await
}

async fn load(app: &App, id: &str) -> Result<Option<SessionRecord>, StoreError> {
    let json = app.policy.get_record(SESSION, id).await?;
    json.map(|j| serde_json::from_str(&j).map_err(corrupt)).transpose()
}

/// CONNECT's `session-token`: takes the token (it works once) and marks its session running
/// for at most `running_ttl`.
pub async fn redeem(app: &App, token: &str, running_ttl: std::time::Duration) -> Result<RunningSession, ProtoError> {
    let unavailable =
        |err: StoreError| ProtoError::new(ErrorCode::Internal, format!("session store unavailable: {err}"));
    let invalid = || {
        ProtoError::header(
            ErrorCode::InvalidSessionToken,
            "session-token",
            "the session token is unknown, expired or used: the relying party creates a new session",
        )
    };
    let id = app.policy.take_record(CLIENT_TOKEN, &auth::digest_hex(token)).await.map_err(unavailable)?;
    let id = id.ok_or_else(invalid)?;
    let mut record = load(app, &id).await.map_err(unavailable)?.filter(|r| r.state == SessionState::Created);
    let record = record.as_mut().ok_or_else(invalid)?;
    record.state = SessionState::Running;
    save(app, &id, record, running_ttl).await.map_err(unavailable)?;
    Ok(RunningSession { id, record: record.clone() })
}

/// Keeps how `session` ended for its relying party (for `RESULT_TTL_MS`).
pub async fn finish(app: &App, session: &RunningSession, outcome: &Outcome) -> Result<(), StoreError> {
    let (is_ok, errors, token, figures) = match outcome {
        Outcome::Verdict { is_ok, errors, token, figures } => {
            let figures = figures.as_deref().and_then(|f| serde_json::from_str(f).ok());
            (*is_ok, errors.clone(), Some(token.clone()), figures)
        }
        Outcome::Ended(code) => (false, vec![u32::from(code.code())], None, None),
        Outcome::ServerShutdown => (false, vec![u32::from(ErrorCode::ServerShutdown.code())], None, None),
    };
    let liveness_passed = token.is_some() && AgeDecision::liveness_passed(&errors);
    // The age decision matters once the person is known to be live.
    let age_decision = (app.config.min_age > 0 && liveness_passed).then(|| AgeDecision::of_codes(&errors));
    let result = SessionResult {
        session_id: session.id.clone(),
        is_ok,
        errors,
        liveness_passed,
        age_decision,
        token,
        figures,
        finished_at_ms: now_ms(),
    };
    let record = SessionRecord { state: SessionState::Finished, result: Some(result), ..session.record.clone() };
    save(app, &session.id, &record, app.config.result_ttl).await
}

/// `GET /v1/sessions/{id}/result`: the result of one of the party's ended sessions, once; its
/// `figures` with `details`.
async fn take_result(
    app: &App,
    authorization: Option<&str>,
    id: &str,
    details: bool,
) -> Result<SessionResult, RestError> {
    let party = auth::relying_party(&app.config.api_keys, authorization)?.party.clone();
    let not_found =
        || RestError::new(ErrorCode::SessionNotFound, "no session of yours has this id (unknown, expired or fetched)");
    if !crate::protocol::connection::valid_session_id(id) {
        return Err(not_found());
    }
    // Another party's session is answered as if it did not exist.
    let record =
        load(app, id).await.map_err(store_error)?.filter(|r| r.relying_party == party).ok_or_else(not_found)?;
    if record.state != SessionState::Finished {
        let state = serde_json::to_value(record.state).ok().and_then(|v| v.as_str().map(str::to_string));
        let detail = format!("the session is {}: ask again when it has ended", state.unwrap_or_default());
        return Err(RestError::new(ErrorCode::SessionNotFinished, detail));
    }
    let taken = app.policy.take_record(SESSION, id).await.map_err(store_error)?;
    let taken: Option<SessionRecord> =
        taken.map(|j| serde_json::from_str(&j).map_err(corrupt)).transpose().map_err(store_error)?;
    // Two callers at once: one takes it.
    let mut result = taken.and_then(|r| r.result).ok_or_else(not_found)?;
    if !details {
        result.figures = None;
    }
    Ok(result)
}

/// `?details=true` of the result: whether the relying party asks for the figures.
fn details_query() -> impl Filter<Extract = (bool,), Error = std::convert::Infallible> + Clone {
    warp::query::raw()
        .map(|query: String| query.split('&').any(|pair| pair == "details=true" || pair == "details=1"))
        .or(warp::any().map(|| false))
        .unify()
}

/// `POST /v1/admin/final-failures/lift`: an operator lifts one user's FINAL_FAILURE.
async fn lift(app: &App, authorization: Option<&str>, body: &[u8]) -> Result<Lifted, RestError> {
    auth::require_admin(app.config.admin_token.as_deref(), authorization)?;
    let body = request_body(body)?;
    let party = text_field(&body, "relyingParty", 64)?;
    let reference = user_reference(&body)?;
    let lifted = app.policy.lift_final_failure(&policy_key(&party, &reference)).await.map_err(store_error)?;
    Ok(Lifted { lifted })
}

fn reply<T: Serialize>(answer: Result<T, RestError>, status: StatusCode) -> warp::reply::Response {
    match answer {
        // Client tokens and verdict tokens: nothing on the way may keep a copy.
        Ok(body) => warp::reply::with_header(
            warp::reply::with_status(warp::reply::json(&body), status),
            "cache-control",
            "no-store",
        )
        .into_response(),
        Err(error) => error_reply(&error, None),
    }
}

pub fn routes(app: Arc<App>) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let authorization = || warp::header::optional::<String>("authorization");
    // The same body bound as the REST routes, so that a refused body is answered here.
    let body = warp::body::content_length_limit(app.config.max_body_bytes as u64).and(warp::body::bytes());
    let (create_app, result_app, lift_app) = (app.clone(), app.clone(), app);
    let create = routes::at(Handler::CreateSession).and(authorization()).and(body).then(
        move |auth: Option<String>, body: bytes::Bytes| {
            let app = create_app.clone();
            async move { reply(create(&app, auth.as_deref(), &body).await, StatusCode::CREATED) }
        },
    );
    let result = routes::with_param(Handler::SessionResult).and(authorization()).and(details_query()).then(
        move |id: String, auth: Option<String>, details: bool| {
            let app = result_app.clone();
            async move { reply(take_result(&app, auth.as_deref(), &id, details).await, StatusCode::OK) }
        },
    );
    let lift = routes::at(Handler::LiftFinalFailure).and(authorization()).and(body).then(
        move |auth: Option<String>, body: bytes::Bytes| {
            let app = lift_app.clone();
            async move { reply(lift(&app, auth.as_deref(), &body).await, StatusCode::OK) }
        },
    );
    create.or(result).unify().or(lift).unify()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_whatever_the_letter_case_spaces_invisible_characters_and_compatibility_forms() {
        assert_eq!(policy_key("shop", " Alice "), "rp:shop:alice");
        for same in ["ali\u{200B}ce", "\u{FEFF}alice", "a\u{00AD}lice", "ａｌｉｃｅ", "ALICE", "alice\u{200D}"] {
            assert_eq!(policy_key("shop", same), "rp:shop:alice", "{same:?}");
        }
        // NFKC: the ligature "ﬁ" is "fi"; a composed and a decomposed "é" are one letter.
        assert_eq!(normalize_reference("\u{FB01}le"), "file");
        assert_eq!(normalize_reference("e\u{0301}"), normalize_reference("\u{00E9}"));
        assert_ne!(policy_key("shop", "alice"), policy_key("bank", "alice"), "parties do not share users");
        assert_ne!(policy_key("shop", "alice"), policy_key("shop", "alicia"));
    }

    #[test]
    fn client_tokens_are_long_and_random() {
        let (a, b) = (new_client_token().unwrap(), new_client_token().unwrap());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn references_are_checked() {
        let body = |v: Value| v.as_object().cloned().unwrap();
        let field = |v: Value| text_field(&body(v), "userReference", 8).map_err(|e| e.code);
        assert_eq!(field(serde_json::json!({"userReference": " bob "})), Ok("bob".into()));
        assert_eq!(field(serde_json::json!({})), Err(ErrorCode::MissingField));
        for bad in
            [serde_json::json!(""), serde_json::json!(7), serde_json::json!("a\nb"), serde_json::json!("123456789")]
        {
            assert_eq!(field(serde_json::json!({"userReference": bad})), Err(ErrorCode::InvalidField), "{bad}");
        }
        let only_invisible = body(serde_json::json!({"userReference": "\u{200B}\u{200C}"}));
        assert_eq!(user_reference(&only_invisible).map_err(|e| e.code), Err(ErrorCode::InvalidField));
    }
}
