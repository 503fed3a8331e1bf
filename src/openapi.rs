//! The OpenAPI 3.1 contract of the HTTP API, served at `GET /openapi.json`: the REST
//! endpoints of seed 001, the relying-party and stored-session endpoints, `/health`, `/ready`
//! and `/metrics`, with the error body every one of them answers on failure.
//!
//! The answer schemas come from the structs the handlers serialise (`utoipa`'s `ToSchema`);
//! the request schemas below describe the JSON fields the handlers read. Defaults that depend
//! on the server's configuration (the anti-spoofing threshold) are written into the document
//! of the running server. LPProto, the WebSocket protocol at `/lpproto`, is not HTTP request
//! and answer and is documented in `docs/lpproto.md`.

use std::borrow::Cow;

use crate::errors::ErrorCode;
use liveness_core::challenge::ChallengeType;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::config::Config;
use crate::relying_party::{Created, Lifted, MAX_USER_REFERENCE_BYTES, SessionResult};
use crate::rest::{self, MAX_REQUEST_FRAMES};
use crate::routes::{Endpoint, Handler, ROUTES, Verb};

/// The request bodies, as the handlers read them (`crate::rest::Request`): only the contract
/// constructs none of them.
#[allow(dead_code)]
mod requests {
    use utoipa::ToSchema;

    /// One image.
    #[derive(ToSchema)]
    pub struct ImageRequest {
        /// A base64 image (JPEG, PNG, WebP ...); a `data:image/...;base64,` prefix is accepted.
        /// At most `MAX_FRAME_BYTES` bytes and `MAX_IMAGE_PIXELS` pixels once decoded.
        pub image: String,
    }

    /// One selfie and, optionally, the anti-spoofing threshold.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct LivenessRequest {
        /// A base64 image, as `/detect`'s.
        pub image: String,
        /// Lowest anti-spoofing score of a live face; the server's `ANTISPOOF_THRESHOLD` when
        /// absent.
        #[schema(minimum = 0.0, maximum = 1.0)]
        pub antispoof_threshold: Option<f64>,
    }

    /// One image and, optionally, the threshold of the answer's `is_real`.
    #[derive(ToSchema)]
    pub struct AntispoofRequest {
        /// A base64 image, as `/detect`'s.
        pub image: String,
        /// Lowest anti-spoofing score of a live face; the server's `ANTISPOOF_THRESHOLD` when
        /// absent.
        #[schema(minimum = 0.0, maximum = 1.0)]
        pub threshold: Option<f64>,
    }

    /// An ID photo and a selfie.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct FaceMatchRequest {
        /// A base64 image of the ID document's photo.
        pub id_image: String,
        /// A base64 selfie.
        pub selfie_image: String,
        /// Lowest similarity of one person.
        #[schema(minimum = 0.0, maximum = 1.0, default = 0.61)]
        pub min_confidence: Option<f64>,
    }

    /// An ID photo and a selfie to prove a match of, and the commitments' blindings to reuse.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct FaceMatchProofRequest {
        /// A base64 image of the ID document's photo: one face.
        pub id_image: String,
        /// A base64 selfie: one face.
        pub selfie_image: String,
        /// The proof's threshold of cosine similarity, rounded to hundredths.
        #[schema(minimum = 0.0, maximum = 1.0, default = 0.61)]
        pub min_confidence: Option<f64>,
        /// The blinding of the ID photo's commitment, decimal, below the BN254 scalar field's
        /// modulus: an earlier answer's `blindings.idImage`, so that the same photo gets the same
        /// commitment. A fresh random one when absent.
        pub id_blinding: Option<String>,
        /// The same for the selfie's commitment.
        pub selfie_blinding: Option<String>,
    }

    /// A proof of `/face-match-proof` to check.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct ProofCheckRequest {
        /// The answer's `proof`, in snarkjs's JSON.
        #[schema(value_type = crate::rest::SnarkjsProof)]
        pub proof: serde_json::Value,
        /// The answer's `publicSignals`: 4 decimal strings.
        #[schema(min_items = 4, max_items = 4)]
        pub public_signals: Vec<String>,
        /// The keys the proof should have been made with; refused (`unknown-verifying-key`)
        /// when they are not this server's.
        pub verifying_key_id: Option<String>,
    }

    /// An ID photo and a live selfie.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct VerifyRequest {
        pub id_image: String,
        pub selfie_image: String,
        /// The server's `ANTISPOOF_THRESHOLD` when absent.
        #[schema(minimum = 0.0, maximum = 1.0)]
        pub antispoof_threshold: Option<f64>,
        #[schema(minimum = 0.0, maximum = 1.0, default = 0.61)]
        pub min_face_match_confidence: Option<f64>,
    }

    /// A neutral image and the image of the challenge performed.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct ChallengeRequest {
        /// A challenge that two still images can show (not `nod_yes` or `shake_no`).
        pub challenge_type: String,
        /// The neutral face, base64.
        pub baseline_image: String,
        /// The face performing the challenge, base64, the baseline image's size.
        pub challenge_image: String,
        /// Rise of the smile probability a `smile` needs, in percent.
        #[schema(minimum = 0.0, maximum = 100.0, default = 20.0)]
        pub min_emotion_change: Option<f64>,
    }

    /// One image and, optionally, the smile threshold.
    #[derive(ToSchema)]
    pub struct SmileRequest {
        pub image: String,
        /// Lowest probability of a smile.
        #[schema(minimum = 0.0, maximum = 1.0, default = 0.7)]
        pub threshold: Option<f64>,
    }

    /// A series of frames of one camera (or a single `image`).
    #[derive(ToSchema)]
    pub struct FramesRequest {
        /// Base64 frames in capture order, all of one size, each at most `MAX_FRAME_PIXELS`
        /// pixels; used instead of `image` when present.
        #[schema(min_items = 1, max_items = 64)]
        pub frames: Option<Vec<String>>,
        /// A single base64 image, when `frames` is absent.
        pub image: Option<String>,
    }

    /// A series of frames and, optionally, the anti-spoofing threshold.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct PassiveRequest {
        #[schema(min_items = 1, max_items = 64)]
        pub frames: Option<Vec<String>>,
        pub image: Option<String>,
        /// The server's `ANTISPOOF_THRESHOLD` when absent.
        #[schema(minimum = 0.0, maximum = 1.0)]
        pub antispoof_threshold: Option<f64>,
    }

    /// `POST /v1/sessions`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct CreateSessionRequest {
        /// The relying party's name for its user: the attempt counters count it. Trimmed and
        /// compared without letter case; no control characters.
        #[schema(min_length = 1, max_length = 128)]
        pub user_reference: String,
        /// Run the screen-flash colour challenge in this session (true) or not (false);
        /// absent: the server's `FLASH`. Leave it off for users who asked to avoid flashing
        /// screens.
        pub flash: Option<bool>,
    }

    /// `POST /v1/admin/final-failures/lift`.
    #[derive(ToSchema)]
    #[schema(rename_all = "camelCase")]
    pub struct LiftRequest {
        /// The relying party (its name in `API_KEYS`).
        #[schema(min_length = 1, max_length = 64)]
        pub relying_party: String,
        #[schema(min_length = 1, max_length = 128)]
        pub user_reference: String,
    }
}

use requests::*;

/// The schema of `T` and of every schema it refers to, as components.
fn component<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Ref {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    Ref::from_schema_name(T::name())
}

/// `schema` (an object) with `name` restricted to `values`.
fn with_enum<V: Into<serde_json::Value>>(
    schema: RefOr<Schema>,
    name: &str,
    values: impl IntoIterator<Item = V>,
) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = schema else { return schema };
    if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(name) {
        property.enum_values = Some(values.into_iter().map(Into::into).collect());
    }
    RefOr::T(Schema::Object(object))
}

/// A REST answer: the endpoint's body and `processing_time_ms`, in one object.
fn timed(schema: RefOr<Schema>) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = schema else { return schema };
    let time = ObjectBuilder::new()
        .schema_type(Type::Number)
        .minimum(Some(0.0))
        .description(Some("Time from the request body's arrival to the answer, in ms."));
    object.properties.insert("processing_time_ms".into(), time.into());
    object.required.push("processing_time_ms".into());
    RefOr::T(Schema::Object(object))
}

/// What the contract says of one REST endpoint.
struct RestContract {
    summary: &'static str,
    request: (Cow<'static, str>, RefOr<Schema>),
    answer: (Cow<'static, str>, RefOr<Schema>),
}

fn contract<Q: ToSchema, A: ToSchema>(
    summary: &'static str,
    schemas: &mut Vec<(String, RefOr<Schema>)>,
) -> RestContract {
    Q::schemas(schemas);
    A::schemas(schemas);
    RestContract { summary, request: (Q::name(), Q::schema()), answer: (A::name(), timed(A::schema())) }
}

impl Endpoint {
    fn contract(self, schemas: &mut Vec<(String, RefOr<Schema>)>) -> RestContract {
        use rest::{
            AntispoofBody, BlinkBody, ChallengeBody, DetectBody, FaceMatchBody, FaceMatchProofBody, LivenessBody,
            PassiveBody, ProofCheckBody, SmileBody, VerifyBody,
        };
        match self {
            Endpoint::Detect => contract::<ImageRequest, DetectBody>("The faces in an image", schemas),
            Endpoint::Liveness => contract::<LivenessRequest, LivenessBody>("Passive liveness of a selfie", schemas),
            Endpoint::Antispoof => {
                contract::<AntispoofRequest, AntispoofBody>("The anti-spoofing score of a face", schemas)
            }
            Endpoint::FaceMatch => {
                contract::<FaceMatchRequest, FaceMatchBody>("Whether an ID photo and a selfie show one person", schemas)
            }
            Endpoint::FaceMatchProof => contract::<FaceMatchProofRequest, FaceMatchProofBody>(
                "Whether an ID photo and a selfie show one person, with a Groth16 proof of it",
                schemas,
            ),
            Endpoint::FaceMatchProofVerify => contract::<ProofCheckRequest, ProofCheckBody>(
                "Whether a face-match proof shows its public signals",
                schemas,
            ),
            Endpoint::Verify => contract::<VerifyRequest, VerifyBody>("A live selfie matching an ID photo", schemas),
            Endpoint::ChallengeValidate => {
                let mut c = contract::<ChallengeRequest, ChallengeBody>(
                    "A challenge judged on a neutral and a performing image",
                    schemas,
                );
                let still = ChallengeType::ALL.into_iter().filter(|c| c.shows_in_stills());
                c.request.1 = with_enum(c.request.1, "challengeType", still.map(ChallengeType::name));
                c
            }
            Endpoint::SmileCheck => contract::<SmileRequest, SmileBody>("Whether a face smiles", schemas),
            Endpoint::BlinkCheck => contract::<FramesRequest, BlinkBody>("The blinks in a series of frames", schemas),
            Endpoint::PassiveMonitor => {
                contract::<PassiveRequest, PassiveBody>("Passive liveness over a series of frames", schemas)
            }
        }
    }
}

/// An operation of `tag` with its id and summary.
fn operation(tag: &str, id: impl Into<String>, summary: &str) -> OperationBuilder {
    OperationBuilder::new().tag(tag).operation_id(Some(id)).summary(Some(summary))
}

/// A JSON body of the components' schema `name`.
fn json(schema: impl Into<RefOr<Schema>>) -> Content {
    Content::new(Some(schema))
}

fn error_answer(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(Ref::from_schema_name(rest::ErrorBody::name())))
}

fn json_answer(description: &str, schema: impl Into<RefOr<Schema>>) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content("application/json", json(schema))
}

fn json_request(schema: impl Into<RefOr<Schema>>) -> RequestBodyBuilder {
    RequestBodyBuilder::new().required(Some(Required::True)).content("application/json", json(schema))
}

fn bearer(scheme: &str) -> SecurityRequirement {
    SecurityRequirement::new(scheme, Vec::<String>::new())
}

fn session_id() -> ParameterBuilder {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("The session id: 1 to 64 letters, digits, `-` or `_`."))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[A-Za-z0-9_-]{1,64}$"))))
}

/// The operations of the routes, by what answers them.
type Operations = Vec<(Handler, OperationBuilder)>;

/// The REST endpoints of seed 001.
fn rest_operations(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Operations {
    let mut operations = Vec::new();
    for endpoint in Endpoint::ALL {
        let RestContract { summary, request, answer } = endpoint.contract(schemas);
        let answer_name = format!("{}Answer", answer.0.trim_end_matches("Body"));
        schemas.push((request.0.to_string(), request.1));
        schemas.push((answer_name.clone(), answer.1));
        let mut post = operation("analysis", endpoint.path().replace(['/', '-'], "_"), summary)
            .request_body(Some(json_request(Ref::from_schema_name(request.0)).build()))
            .response("200", json_answer("The analysis", Ref::from_schema_name(answer_name)))
            .response("400", error_answer("A bad body, field or image (the error names the field)"))
            .response("408", error_answer("The body did not arrive within `BODY_TIMEOUT_MS` (`body-timeout`)"))
            .response("413", error_answer("The body is larger than the endpoint takes (its images at `MAX_FRAME_BYTES` in base64 and 64 KiB; a `frames` list up to `MAX_BODY_BYTES`)"))
            .response("429", error_answer("`MAX_REST_REQUESTS` requests are in flight (`busy`, `retry_after_ms`, `Retry-After`); the body was not read"))
            .response("503", error_answer("Every place of the analysis gate stayed taken for 10 s (`retry_after_ms`, `Retry-After`)"))
            .response("500", error_answer("The analysis failed"));
        if matches!(endpoint, Endpoint::FaceMatchProof | Endpoint::FaceMatchProofVerify) {
            post = post.response(
                "501",
                error_answer("The server has no proof keys: `ZK_KEYS_DIR` is not set (`zk-unavailable`)"),
            );
        }
        operations.push((Handler::Analysis(endpoint), post));
    }
    operations
}

/// The relying party's sessions (`crate::relying_party`).
fn relying_party_operations(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Operations {
    let create = operation(
        "relying party",
        "create_session",
        "A session for one of the relying party's users, with its single-use client token",
    )
    .security(bearer("apiKey"))
    .request_body(Some(json_request(component::<CreateSessionRequest>(schemas)).build()))
    .response("201", json_answer("The session and its client token", component::<Created>(schemas)))
    .response("400", error_answer("A bad body or user reference"))
    .response("401", error_answer("No or an unknown API key"))
    .response("403", error_answer("The user is in FINAL_FAILURE"))
    .response("429", error_answer("The user is in a cooldown (`retry_after_ms`)"))
    .response("500", error_answer("The session store did not answer"));
    let result = operation(
        "relying party",
        "session_result",
        "How one of the party's sessions ended, with its verdict token; answered once",
    )
    .security(bearer("apiKey"))
    .parameter(session_id())
    .parameter(
        ParameterBuilder::new()
            .name("details")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some("`true`: add `figures`, the measurements the token leaves out (scores, stream figures, flash correlations, age estimate)."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean).default(Some(serde_json::json!(false))))),
    )
    .response("200", json_answer("The result", component::<SessionResult>(schemas)))
    .response("401", error_answer("No or an unknown API key"))
    .response("404", error_answer("No session of the party has this id (unknown, expired or fetched)"))
    .response("409", error_answer("The session has not ended yet"))
    .response("500", error_answer("The session store did not answer"));
    let lift = operation("operations", "lift_final_failure", "Lifts one user's FINAL_FAILURE")
        .security(bearer("adminToken"))
        .request_body(Some(json_request(component::<LiftRequest>(schemas)).build()))
        .response("200", json_answer("Whether the user was in FINAL_FAILURE", component::<Lifted>(schemas)))
        .response("400", error_answer("A bad body or field"))
        .response("401", error_answer("No or a wrong admin token, or no ADMIN_TOKEN set"))
        .response("500", error_answer("The attempts store did not answer"));
    vec![(Handler::CreateSession, create), (Handler::SessionResult, result), (Handler::LiftFinalFailure, lift)]
}

/// The stored sessions (`crate::sessions`, `STORE_FRAMES=1`).
fn stored_session_operations() -> Operations {
    let refusals = |operation: OperationBuilder| {
        operation
            .response("400", error_answer("A malformed session id or query"))
            .response("401", error_answer("No or a wrong admin token, or no ADMIN_TOKEN set"))
            .response("404", error_answer("No stored session has this id"))
            .response("501", error_answer("Storage is off (no REDIS_URL)"))
            .response("503", error_answer("The store did not answer"))
    };
    let draw = ParameterBuilder::new()
        .name("draw")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some("Draw the analysis (face box, challenge) on the frames."))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["0", "1", "false", "true"]))));
    let webm = ObjectBuilder::new().schema_type(Type::String).content_media_type("video/webm");
    let video = operation("stored sessions", "session_video", "A stored session's frames glued into WebM (VP8)")
        .security(bearer("adminToken"))
        .parameter(session_id())
        .parameter(draw)
        .response(
            "200",
            ResponseBuilder::new().description("The video").content("video/webm", Content::new(Some(webm))),
        );
    let delete = operation("stored sessions", "delete_session", "Removes a stored session's frames and record")
        .security(bearer("adminToken"))
        .parameter(session_id())
        .response("204", ResponseBuilder::new().description("Removed"));
    vec![(Handler::SessionVideo, refusals(video)), (Handler::DeleteSession, refusals(delete))]
}

/// `/health`, `/ready`, `/metrics` and this document.
fn operations_operations(schemas: &mut Vec<(String, RefOr<Schema>)>) -> Operations {
    let get = |id: &str, summary: &str| operation("operations", id, summary);
    let ready = component::<crate::Ready>(schemas);
    let text = |media: &str| {
        ResponseBuilder::new()
            .description("The text")
            .content(media, Content::new(Some(ObjectBuilder::new().schema_type(Type::String))))
    };
    let document = ObjectBuilder::new().schema_type(Type::Object).description(Some("An OpenAPI 3.1 document"));
    let openmetrics = crate::metrics::CONTENT_TYPE.split(';').next().unwrap_or_default();
    vec![
        (
            Handler::Health,
            get("health", "The process answers")
                .response("200", json_answer("Alive", component::<crate::Health>(schemas))),
        ),
        (
            Handler::Ready,
            get("ready", "The server can take sessions: store, ONNX Runtime and analysis pipeline")
                .response("200", json_answer("Ready", ready.clone()))
                .response("503", json_answer("Not ready: the fields name what failed", ready)),
        ),
        (
            Handler::Metrics,
            get("metrics", "Prometheus metrics (OpenMetrics 1.0 text)").response("200", text(openmetrics)),
        ),
        (Handler::OpenApi, get("openapi", "This document").response("200", json_answer("The contract", document))),
    ]
}

/// The contract's paths: one per documented route of the route table, in its order, with the
/// operation of what answers it.
fn paths_of(mut operations: Operations) -> PathsBuilder {
    let mut paths = PathsBuilder::new();
    for route in ROUTES.iter().filter(|r| r.documented) {
        let Some(at) = operations.iter().position(|(handler, _)| *handler == route.handler) else {
            continue;
        };
        let (_, operation) = operations.swap_remove(at);
        let method = match route.verb {
            Verb::Get => HttpMethod::Get,
            Verb::Post => HttpMethod::Post,
            Verb::Delete => HttpMethod::Delete,
        };
        paths = paths.path(route.path, PathItem::new(method, operation));
    }
    paths
}

/// The contract of the server configured by `config`.
pub fn document(config: &Config) -> OpenApi {
    let mut schemas = Vec::new();
    let mut operations = rest_operations(&mut schemas);
    operations.extend(relying_party_operations(&mut schemas));
    operations.extend(stored_session_operations());
    operations.extend(operations_operations(&mut schemas));
    let paths = paths_of(operations);
    let error = with_enum(rest::ErrorBody::schema(), "error", ErrorCode::ALL.map(ErrorCode::name));
    schemas.push((rest::ErrorBody::name().into_owned(), with_enum(error, "code", ErrorCode::ALL.map(ErrorCode::code))));
    for (name, schema) in &mut schemas {
        if name.ends_with("Request") {
            let threshold = serde_json::json!(config.antispoof_threshold);
            set_default(schema, &["antispoofThreshold", "threshold"], threshold);
        }
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme("apiKey", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
        .security_scheme("adminToken", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    let info = InfoBuilder::new().title("lpserver").version(env!("CARGO_PKG_VERSION")).description(Some(format!(
        "Liveness checks over HTTP. Images are base64 in JSON; every error answers the `ErrorBody` shape \
             with a code of the shared error table. Series hold at most {MAX_REQUEST_FRAMES} frames; user \
             references at most {MAX_USER_REFERENCE_BYTES} bytes. LPProto, the WebSocket protocol at /lpproto, \
             is described in docs/lpproto.md."
    )));
    OpenApiBuilder::new().info(info).paths(paths).components(Some(components.build())).build()
}

/// Writes the server's default into the thresholds of a request schema.
fn set_default(schema: &mut RefOr<Schema>, names: &[&str], value: serde_json::Value) {
    let RefOr::T(Schema::Object(object)) = schema else { return };
    for name in names {
        if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(*name)
            && property.default.is_none()
        {
            property.default = Some(value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document_json() -> serde_json::Value {
        let lookup = |name: &str| match name {
            "LIVENESS_JWT_SECRET" => Some("a test secret of enough length".to_string()),
            "OPEN_SESSIONS" => Some("1".to_string()),
            _ => None,
        };
        let config = Config::from_lookup(lookup).expect("config");
        serde_json::to_value(document(&config)).expect("json")
    }

    #[test]
    fn the_contract_has_one_path_per_documented_route_of_the_table() {
        let document = document_json();
        let paths = document["paths"].as_object().expect("paths");
        let documented: Vec<&crate::routes::Route> = ROUTES.iter().filter(|r| r.documented).collect();
        for route in &documented {
            let method = format!("{:?}", route.verb).to_lowercase();
            assert!(paths.get(route.path).and_then(|p| p.get(&method)).is_some(), "{} {method} is missing", route.path);
        }
        assert_eq!(paths.len(), documented.len(), "no path the table does not hold");
        assert!(ROUTES.iter().filter(|r| !r.documented).all(|r| !paths.contains_key(r.path)));
    }

    #[test]
    fn schemas_name_the_error_codes_and_the_configured_threshold() {
        let document = document_json();
        let schemas = &document["components"]["schemas"];
        let names = schemas["ErrorBody"]["properties"]["error"]["enum"].as_array().expect("error names");
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert!(names.contains(&serde_json::json!("busy")));
        let threshold = &schemas["LivenessRequest"]["properties"]["antispoofThreshold"]["default"];
        assert!(threshold.as_f64().is_some_and(|t| t > 0.0 && t < 1.0), "{threshold}");
        let answer = &schemas["DetectAnswer"];
        assert!(answer["required"].as_array().is_some_and(|r| r.contains(&"processing_time_ms".into())), "{answer}");
        let challenges = schemas["ChallengeRequest"]["properties"]["challengeType"]["enum"].as_array().expect("names");
        assert!(challenges.contains(&"turn_left".into()) && !challenges.contains(&"nod_yes".into()));
        assert!(!challenges.contains(&"flash".into()));
        // The face-match defaults the contract writes are the threshold the server applies.
        let shipped = crate::rest::same_person_similarity();
        for (schema, field) in [
            ("FaceMatchRequest", "minConfidence"),
            ("FaceMatchProofRequest", "minConfidence"),
            ("VerifyRequest", "minFaceMatchConfidence"),
        ] {
            assert_eq!(schemas[schema]["properties"][field]["default"].as_f64(), Some(shipped), "{schema}.{field}");
        }
    }
}
