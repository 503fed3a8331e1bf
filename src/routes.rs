//! Every HTTP route of lpserver, declared once in [`ROUTES`]: a method and a path. From the
//! table come
//! - the warp filters of the handlers ([`filter`], [`analysis`]): a handler names its route,
//!   never its path;
//! - the `path` label of `lpserver_http_requests_total` ([`label`]): a route's path, so that
//!   label values stay bounded whatever clients ask for;
//! - the answer to a request no route takes ([`refusal`]): 404 for a path no route serves,
//!   405 for a known path and another method;
//! - the paths of the OpenAPI contract: one per documented route (`crate::openapi`).

use warp::Filter;
use warp::http::Method;

/// The REST analyses of seed 001, one `POST` route each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Detect,
    Liveness,
    Antispoof,
    FaceMatch,
    FaceMatchProof,
    FaceMatchProofVerify,
    Verify,
    ChallengeValidate,
    SmileCheck,
    BlinkCheck,
    PassiveMonitor,
}

impl Endpoint {
    pub const ALL: [Endpoint; 11] = [
        Endpoint::Detect,
        Endpoint::Liveness,
        Endpoint::Antispoof,
        Endpoint::FaceMatch,
        Endpoint::FaceMatchProof,
        Endpoint::FaceMatchProofVerify,
        Endpoint::Verify,
        Endpoint::ChallengeValidate,
        Endpoint::SmileCheck,
        Endpoint::BlinkCheck,
        Endpoint::PassiveMonitor,
    ];

    /// How many images a request carries: None for a `frames` list (up to
    /// `rest::MAX_REQUEST_FRAMES`), 0 for a proof to check.
    pub fn images(self) -> Option<usize> {
        match self {
            Endpoint::Detect | Endpoint::Liveness | Endpoint::Antispoof | Endpoint::SmileCheck => Some(1),
            Endpoint::FaceMatch | Endpoint::FaceMatchProof | Endpoint::Verify | Endpoint::ChallengeValidate => Some(2),
            Endpoint::FaceMatchProofVerify => Some(0),
            Endpoint::BlinkCheck | Endpoint::PassiveMonitor => None,
        }
    }

    /// Its route.
    pub fn route(self) -> &'static Route {
        ROUTES.iter().find(|r| r.handler == Handler::Analysis(self)).expect("every endpoint has a route")
    }

    /// Its path without the leading `/` (`face-match`, `challenge/validate`).
    pub fn path(self) -> &'static str {
        self.route().path.trim_start_matches('/')
    }
}

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// The web client's page.
    Page,
    /// The page's files (`crate::web::asset`).
    Static,
    Health,
    Ready,
    Metrics,
    OpenApi,
    /// The WebSocket upgrade to LPProto.
    LpProto,
    Analysis(Endpoint),
    CreateSession,
    SessionResult,
    LiftFinalFailure,
    SessionVideo,
    DeleteSession,
}

/// The methods the routes take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Delete => Method::DELETE,
        }
    }
}

/// One route: its method, its path (`{name}` stands for one path segment, `{file*}` for the
/// rest of the path), whether the OpenAPI contract describes it, and what answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub verb: Verb,
    pub path: &'static str,
    pub documented: bool,
    pub handler: Handler,
}

const fn route(verb: Verb, path: &'static str, documented: bool, handler: Handler) -> Route {
    Route { verb, path, documented, handler }
}

/// Every route of the server.
pub static ROUTES: [Route; 23] = [
    route(Verb::Get, "/", false, Handler::Page),
    route(Verb::Get, "/static/{file*}", false, Handler::Static),
    route(Verb::Get, "/health", true, Handler::Health),
    route(Verb::Get, "/ready", true, Handler::Ready),
    route(Verb::Get, "/metrics", true, Handler::Metrics),
    route(Verb::Get, "/openapi.json", true, Handler::OpenApi),
    route(Verb::Get, "/lpproto", false, Handler::LpProto),
    route(Verb::Post, "/detect", true, Handler::Analysis(Endpoint::Detect)),
    route(Verb::Post, "/liveness", true, Handler::Analysis(Endpoint::Liveness)),
    route(Verb::Post, "/antispoof", true, Handler::Analysis(Endpoint::Antispoof)),
    route(Verb::Post, "/face-match", true, Handler::Analysis(Endpoint::FaceMatch)),
    route(Verb::Post, "/face-match-proof", true, Handler::Analysis(Endpoint::FaceMatchProof)),
    route(Verb::Post, "/face-match-proof/verify", true, Handler::Analysis(Endpoint::FaceMatchProofVerify)),
    route(Verb::Post, "/verify", true, Handler::Analysis(Endpoint::Verify)),
    route(Verb::Post, "/challenge/validate", true, Handler::Analysis(Endpoint::ChallengeValidate)),
    route(Verb::Post, "/smile-check", true, Handler::Analysis(Endpoint::SmileCheck)),
    route(Verb::Post, "/blink-check", true, Handler::Analysis(Endpoint::BlinkCheck)),
    route(Verb::Post, "/passive-monitor", true, Handler::Analysis(Endpoint::PassiveMonitor)),
    route(Verb::Post, "/v1/sessions", true, Handler::CreateSession),
    route(Verb::Get, "/v1/sessions/{id}/result", true, Handler::SessionResult),
    route(Verb::Post, "/v1/admin/final-failures/lift", true, Handler::LiftFinalFailure),
    route(Verb::Get, "/sessions/{id}/video", true, Handler::SessionVideo),
    route(Verb::Delete, "/sessions/{id}", true, Handler::DeleteSession),
];

impl Route {
    /// The route `handler` answers.
    pub fn of(handler: Handler) -> &'static Route {
        ROUTES.iter().find(|r| r.handler == handler).expect("every handler has a route")
    }

    /// The path's parameters when `path` is this route's (`{name}` segments in order, then
    /// `{file*}`'s rest), None when it is not.
    pub fn matches(&self, path: &str) -> Option<Vec<String>> {
        let template: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        let given: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut params = Vec::new();
        for (i, part) in template.iter().enumerate() {
            if *part == "{file*}" {
                let rest = given.get(i..)?.join("/");
                return (!rest.is_empty()).then(|| {
                    params.push(rest);
                    params
                });
            }
            let segment = given.get(i)?;
            if part.starts_with('{') {
                if segment.is_empty() {
                    return None;
                }
                params.push(segment.to_string());
            } else if part != segment {
                return None;
            }
        }
        (given.len() == template.len()).then_some(params)
    }
}

/// A request's route by its path alone (any method).
fn by_path(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.matches(path).is_some())
}

/// The `path` label of a request: its route's path, None for a path no route serves.
pub fn label(path: &str) -> Option<&'static str> {
    by_path(path).map(|r| r.path)
}

/// Why no route takes a request: its path is no route's (404), or its path is known and its
/// method is not (405); None when a route takes it.
pub fn refusal(method: &Method, path: &str) -> Option<warp::http::StatusCode> {
    use warp::http::StatusCode;
    let routes: Vec<&Route> = ROUTES.iter().filter(|r| r.matches(path).is_some()).collect();
    if routes.is_empty() {
        Some(StatusCode::NOT_FOUND)
    } else if method == Method::OPTIONS || routes.iter().any(|r| r.verb.method() == method) {
        // OPTIONS: a CORS preflight, which the routes that take it answer.
        None
    } else {
        Some(StatusCode::METHOD_NOT_ALLOWED)
    }
}

/// The requests of the route `handler` answers, with the path's parameters.
pub fn filter(handler: Handler) -> impl Filter<Extract = (Vec<String>,), Error = warp::Rejection> + Clone {
    let route = Route::of(handler);
    warp::method().and(warp::path::full()).and_then(move |method: Method, path: warp::path::FullPath| async move {
        match route.matches(path.as_str()) {
            Some(params) if method == route.verb.method() => Ok(params),
            _ => Err(warp::reject::not_found()),
        }
    })
}

/// The requests of the parameterless route `handler` answers.
pub fn at(handler: Handler) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    filter(handler).map(|_| ()).untuple_one()
}

/// The requests of the route `handler` answers, with its one parameter (`{id}`, `{file*}`).
pub fn with_param(handler: Handler) -> impl Filter<Extract = (String,), Error = warp::Rejection> + Clone {
    filter(handler).map(|params: Vec<String>| params.into_iter().next().unwrap_or_default())
}

/// The requests of every analysis route, with the endpoint.
pub fn analysis() -> impl Filter<Extract = (Endpoint,), Error = warp::Rejection> + Clone {
    warp::method().and(warp::path::full()).and_then(|method: Method, path: warp::path::FullPath| async move {
        ROUTES
            .iter()
            .filter(|r| r.verb.method() == method && r.matches(path.as_str()).is_some())
            .find_map(|r| if let Handler::Analysis(endpoint) = r.handler { Some(endpoint) } else { None })
            .ok_or_else(warp::reject::not_found)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_routes_with_their_parameters() {
        let result = Route::of(Handler::SessionResult);
        assert_eq!(result.matches("/v1/sessions/abc-123/result"), Some(vec!["abc-123".to_string()]));
        assert_eq!(result.matches("/v1/sessions//result"), None);
        assert_eq!(result.matches("/v1/sessions/a/b/result"), None);
        assert_eq!(Route::of(Handler::Page).matches("/"), Some(vec![]));
        assert_eq!(Route::of(Handler::Page).matches("/x"), None);
        let files = Route::of(Handler::Static);
        assert_eq!(files.matches("/static/strings.js"), Some(vec!["strings.js".to_string()]));
        assert_eq!(files.matches("/static/"), None);
        assert_eq!(Endpoint::ChallengeValidate.path(), "challenge/validate");
        assert_eq!(Endpoint::ALL.map(|e| e.route().verb), [Verb::Post; 11]);
        assert_eq!(Endpoint::FaceMatchProofVerify.path(), "face-match-proof/verify");
    }

    #[test]
    fn labels_stay_bounded_and_unknown_paths_are_404_known_ones_405() {
        assert_eq!(label("/v1/sessions/abc-123/result"), Some("/v1/sessions/{id}/result"));
        assert_eq!(label("/sessions/x/video"), Some("/sessions/{id}/video"));
        assert_eq!(label("/liveness"), Some("/liveness"));
        assert_eq!(label("/static/lpclient.js"), Some("/static/{file*}"));
        assert_eq!(label("/a/b/c/d/e"), None);
        use warp::http::StatusCode;
        assert_eq!(refusal(&Method::GET, "/nothing-here"), Some(StatusCode::NOT_FOUND));
        assert_eq!(refusal(&Method::GET, "/liveness"), Some(StatusCode::METHOD_NOT_ALLOWED));
        assert_eq!(refusal(&Method::POST, "/health"), Some(StatusCode::METHOD_NOT_ALLOWED));
        assert_eq!(refusal(&Method::POST, "/liveness"), None);
        assert_eq!(refusal(&Method::DELETE, "/sessions/abc"), None);
        assert_eq!(refusal(&Method::GET, "/sessions/abc"), Some(StatusCode::METHOD_NOT_ALLOWED));
    }

    #[test]
    fn every_handler_has_one_route() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert_ne!(a.handler, b.handler, "{a:?} and {b:?}");
                assert!(!(a.verb == b.verb && a.path == b.path), "{} {:?} twice", a.path, a.verb);
            }
        }
    }
}
