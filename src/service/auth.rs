//! Bearer tokens and roles. Reading grids and aggregates is open; writing, and any household-level or
//! sensitive data, needs a token with the planner role.

use super::error::AppError;
use axum::http::{HeaderMap, StatusCode, header};
use std::collections::HashMap;
use std::path::Path;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Planner,
    Viewer,
}

/// The tokens this server accepts. Never hard-coded: from `GRIDPLAN_PLANNER_TOKEN` and a tokens file.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    roles: HashMap<String, Role>,
}

/// Tokens shorter than this are refused at start: they are guessable.
const MIN_TOKEN_LEN: usize = 12;

impl Tokens {
    /// The environment's planner token, plus a tokens file of `TOKEN ROLE` lines (`#` comments).
    pub fn load(env_token: Option<String>, file: Option<&Path>) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        if let Some(tok) = env_token.filter(|s| !s.trim().is_empty()) {
            t.add(tok.trim(), Role::Planner)?;
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let tok = parts.next().unwrap_or_default();
                let role = match parts.next().unwrap_or("planner") {
                    "planner" => Role::Planner,
                    "viewer" => Role::Viewer,
                    other => {
                        return Err(format!(
                            "{}: line {}: unknown role \"{other}\" (planner or viewer)",
                            path.display(),
                            n + 1
                        ));
                    }
                };
                t.add(tok, role)
                    .map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
            }
        }
        Ok(t)
    }

    fn add(&mut self, token: &str, role: Role) -> Result<(), String> {
        if token.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "a token must be at least {MIN_TOKEN_LEN} characters"
            ));
        }
        self.roles.insert(token.to_string(), role);
        Ok(())
    }

    pub fn has_planner(&self) -> bool {
        self.roles.values().any(|r| *r == Role::Planner)
    }

    /// Ok when the request carries a planner token; 401 without a valid token, 403 with a token that
    /// is not a planner's (or when no planner token is configured at all).
    pub fn require_planner(&self, headers: &HeaderMap) -> Result<(), AppError> {
        if !self.has_planner() {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "writes are refused: no planner token is configured on this server (set GRIDPLAN_PLANNER_TOKEN)",
            ));
        }
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "this needs a planner's bearer token",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                AppError::new(
                    StatusCode::UNAUTHORIZED,
                    "use `Authorization: Bearer <token>`",
                )
            })?;
        match self.roles.get(token) {
            Some(Role::Planner) => Ok(()),
            Some(Role::Viewer) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "this token may read, not plan",
            )),
            None => Err(AppError::new(StatusCode::UNAUTHORIZED, "unknown token")),
        }
    }
}
