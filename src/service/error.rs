//! The one place where errors become HTTP statuses: JSON bodies, clear messages, never a 500 for a
//! user's mistake, never internals in the body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to a client.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
    pub problems: Vec<crate::problem::Problem>,
}

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> AppError {
        AppError {
            status,
            message: message.into(),
            problems: Vec::new(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    pub fn internal(what: impl std::fmt::Display) -> AppError {
        tracing::error!("internal error: {what}");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has the details",
        )
    }
}

impl From<crate::Error> for AppError {
    fn from(e: crate::Error) -> AppError {
        match e {
            crate::Error::Invalid(problems) => AppError {
                status: StatusCode::BAD_REQUEST,
                message: format!(
                    "invalid input: {} problem(s)",
                    problems.iter().filter(|p| p.is_error()).count()
                ),
                problems,
            },
            e if e.is_bad_input() => AppError::bad_request(e.to_string()),
            e => AppError::internal(e),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> AppError {
        AppError::internal(e)
    }
}

impl From<axum::extract::rejection::BytesRejection> for AppError {
    fn from(r: axum::extract::rejection::BytesRejection) -> AppError {
        // A client that stopped sending its body (the body idle timeout) is a 408, not a bad request.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&r);
        while let Some(e) = source {
            if e.is::<tower_http::timeout::TimeoutError>() {
                return AppError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body stopped arriving; send it again",
                );
            }
            source = e.source();
        }
        let status = r.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than this server accepts".to_string()
        } else {
            format!("cannot read the request body: {r}")
        };
        AppError::new(status, message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message, "status": self.status.as_u16()});
        if !self.problems.is_empty() {
            body["problems"] = json!(self.problems.iter().take(200).collect::<Vec<_>>());
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}
