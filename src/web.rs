//! The browser client: the files of `web/` (an ES module package, see web/package.json),
//! built into the binary (no build step, no files to install beside it). `/` is the demo
//! page; `/static/<path>` the package's files.

use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE};

pub const INDEX_HTML: &str = include_str!("../web/index.html");

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[(&str, &str, &str)] = &[
    ("liveness-check.js", JS, include_str!("../web/liveness-check.js")),
    ("lpclient.js", JS, include_str!("../web/lpclient.js")),
    ("i18n.js", JS, include_str!("../web/i18n.js")),
    ("strings.js", JS, include_str!("../web/strings.js")),
    ("liveness-check.css", "text/css; charset=utf-8", include_str!("../web/liveness-check.css")),
];

/// The asset at `path` (under `/static/`), with its content type.
pub fn asset(path: &str) -> Option<warp::reply::Response> {
    let (_, content_type, body) = ASSETS.iter().find(|(file, _, _)| *file == path)?;
    let mut response = warp::reply::Response::new((*body).into());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, warp::http::HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, warp::http::HeaderValue::from_static("no-cache"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Code;
    use serde_json::{Map, Value};

    /// One language of strings.js, whose `STRINGS` is a JSON object of dictionaries.
    fn dictionary(language: &str) -> Map<String, Value> {
        let (_, _, text) = ASSETS.iter().find(|(file, _, _)| *file == "strings.js").expect("asset");
        let object = text.split_once("export const STRINGS = ").expect("the STRINGS object").1;
        let all: Map<String, Value> =
            serde_json::from_str(object.trim_end().trim_end_matches(';')).expect("STRINGS is a JSON object");
        all.get(language).and_then(Value::as_object).cloned().expect("the language")
    }

    #[test]
    fn every_language_has_every_string_a_sentence_for_every_code_and_a_prompt_for_every_challenge() {
        let english = dictionary("en");
        for code in Code::all() {
            assert!(english.contains_key(&format!("code.{}", code.code())), "no sentence for {}", code.name());
        }
        for challenge in liveness_core::challenge::ChallengeType::ALL {
            for kind in ["prompt", "icon"] {
                let key = format!("{kind}.{}", challenge.name());
                assert!(english.contains_key(&key), "no {key}: the element names every challenge and its cue");
            }
        }
        let french = dictionary("fr");
        let keys = |d: &Map<String, Value>| d.keys().cloned().collect::<std::collections::BTreeSet<_>>();
        assert_eq!(keys(&english), keys(&french), "one set of strings in every language");
        for (key, value) in &french {
            assert!(value.as_str().is_some_and(|s| !s.is_empty()), "{key}");
        }
    }

    #[test]
    fn every_string_the_scripts_ask_for_exists() {
        let english = dictionary("en");
        let script = ASSETS.iter().find(|(file, _, _)| *file == "liveness-check.js").expect("the element").2;
        let mut asked = 0;
        // Literal keys: t("..."), "key.name" in the tables and data-i18n="...".
        for quote in ['"', '\''] {
            for piece in script.split(quote).skip(1).step_by(2) {
                let looks_like_key = piece.split('.').count() >= 2
                    && piece.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                    && [
                        "intro", "options", "button", "state", "guide", "prompt", "step", "cue", "result", "action",
                        "code", "retry", "layout",
                    ]
                    .iter()
                    .any(|prefix| piece.starts_with(&format!("{prefix}.")));
                if looks_like_key {
                    asked += 1;
                    assert!(english.contains_key(piece), "liveness-check.js asks for {piece:?}, not in strings.js");
                }
            }
        }
        assert!(asked > 30, "{asked}");
    }
}
