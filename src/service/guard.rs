//! What every request goes through: query strings checked (a repeated parameter, an unknown one under
//! `/api`, an undecodable one are 400 naming the parameter), over-long URIs refused, and every error
//! answered with the JSON error body, whoever produced it (a handler, an extractor, the router's 405).

use super::error::AppError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;

/// Longest request target (path and query) accepted, in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The query parameters each `/api` route takes; every other parameter is refused.
fn api_params(path: &str) -> &'static [&'static str] {
    match path {
        "/api/locate" => &["lon", "lat"],
        "/api/boundaries" | "/api/datasets/boundaries" => &["stranded_workers"],
        p if p.starts_with("/api/assignments/") && p.ends_with("/visits") => &["month"],
        p if p.starts_with("/api/plans/") && p.ends_with("/grids") => &["crs"],
        _ => &[],
    }
}

/// The query's parameters in order, decoded; 400 when undecodable or when one is repeated.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, AppError> {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return Ok(Vec::new());
    };
    let uri: axum::http::Uri = format!("/?{q}")
        .parse()
        .map_err(|_| AppError::bad_request("the query string is not a valid URI query"))?;
    let axum::extract::Query(pairs) =
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri).map_err(|e| {
            AppError::bad_request(format!(
                "the query string cannot be decoded: {}",
                e.body_text()
            ))
        })?;
    let mut seen = HashSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.as_str()) {
            return Err(AppError::bad_request(format!(
                "query parameter \"{k}\" is given more than once"
            )));
        }
    }
    Ok(pairs)
}

/// Checks the request target before any handler sees it.
pub async fn query_guard(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let length = uri.path_and_query().map(|p| p.as_str().len()).unwrap_or(0);
    if length > MAX_URI_BYTES {
        return AppError::new(
            StatusCode::URI_TOO_LONG,
            format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    let pairs = match query_pairs(uri.query()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let path = uri.path();
    if path.starts_with("/api/") {
        let allowed = api_params(path);
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let hint = if allowed.is_empty() {
                "this route takes no query parameters".to_string()
            } else {
                format!("allowed here: {}", allowed.join(", "))
            };
            return AppError::bad_request(format!("unknown query parameter \"{k}\"; {hint}"))
                .into_response();
        }
    }
    next.run(req).await
}

/// Refuses at once (413) a request whose declared `Content-Length` is over `limit`, before anything
/// reads its body: otherwise the server would wait for bytes it will refuse anyway.
pub async fn declared_length(limit: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared
        && n > limit as u64
    {
        return AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body ({n} bytes) is larger than this server accepts ({limit} bytes; --max-body-mb)"
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// The router's answer to a known path asked with the wrong method.
pub async fn method_not_allowed(req: Request) -> Response {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}; the API description is at /api/openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
    .into_response()
}

/// Largest error body from another layer that is carried into the JSON message.
const MAX_CARRIED: usize = 2048;

/// Turns an error answered by anything but [`AppError`] (an extractor's plain-text rejection, a
/// timeout's empty 408, a body limit) into the JSON error body.
pub async fn json_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = match axum::body::to_bytes(body, MAX_CARRIED).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    };
    let mut out = AppError::new(status, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}
