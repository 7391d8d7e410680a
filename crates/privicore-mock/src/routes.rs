//! Looking a request up in the route table generated from the spec
//! ([`generated_routes`](crate::generated_routes)); the handlers are bound separately, by
//! operation id, in [`bindings`](crate::bindings).
//!
//! This module sits below the handlers: it knows methods, paths and ids, never a handler.

use crate::generated_routes::{ROUTES, Route, Verb};
use crate::input::percent_decode;

/// Methods an operation is answered on besides the spec's own. request-status: the spec
/// (following the probe) says POST, the official page and a legacy client say GET; which of the
/// two answers is a setting ([`RequestStatusMethod`](crate::RequestStatusMethod)), the other is
/// refused in `dispatch`.
fn extra_verbs(op: &str) -> &'static [Verb] {
    match op {
        "request_command_status" => &[Verb::Get],
        _ => &[],
    }
}

/// The result of looking a request up.
pub(crate) enum Lookup {
    Found(&'static Route, Vec<(&'static str, String)>),
    /// The path exists for another method.
    WrongMethod,
    NotFound,
}

/// Matches `path` against a template such as `/policy/retrieve-policy/{name}`.
fn match_path(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if h.is_empty() {
                        return None;
                    }
                    params.push((name, percent_decode(h)));
                } else if w != h {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The route for a request among those `served` here (the API listener does not serve the
/// stream-transfer operations, which have their own listeners).
pub(crate) fn find(method: &str, path: &str, served: impl Fn(&Route) -> bool) -> Lookup {
    let mut wrong_method = false;
    for route in ROUTES.iter().filter(|r| served(r)) {
        if let Some(params) = match_path(route.path, path) {
            let answers = |verb: &Verb| verb.as_str() == method;
            if answers(&route.verb) || extra_verbs(route.op).iter().any(answers) {
                return Lookup::Found(route, params);
            }
            wrong_method = true;
        }
    }
    if wrong_method {
        Lookup::WrongMethod
    } else {
        Lookup::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_decoded_parameters() {
        let params = match_path(
            "/policy/retrieve-policy/{name}",
            "/policy/retrieve-policy/my%20policy",
        )
        .expect("matches");
        assert_eq!(params, vec![("name", "my policy".to_owned())]);
        assert!(match_path("/policy/retrieve-policy/{name}", "/policy/retrieve-policy/").is_none());
        assert!(match_path("/health", "/health/x").is_none());
    }

    fn find_any(method: &str, path: &str) -> Lookup {
        find(method, path, |_| true)
    }

    #[test]
    fn lookup_tells_wrong_method_from_unknown_path() {
        assert!(matches!(find_any("POST", "/health"), Lookup::WrongMethod));
        assert!(matches!(find_any("GET", "/nope"), Lookup::NotFound));
        assert!(matches!(
            find_any("GET", "/request-status/abc"),
            Lookup::Found(..)
        ));
        assert!(matches!(
            find_any("POST", "/request-status/abc"),
            Lookup::Found(..)
        ));
    }

    #[test]
    fn routes_left_out_are_not_found() {
        assert!(matches!(find_any("POST", "/"), Lookup::Found(..)));
        assert!(matches!(
            find("POST", "/", |r| r.op != "upload_stream"
                && r.op != "download_data"),
            Lookup::NotFound
        ));
    }
}
