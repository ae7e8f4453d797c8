//! Bearer tokens and roles. Reading grids and aggregates is open; writing, checking uploaded grids, and
//! any household-level, sensitive or sensitive-derived data (workload, staffing) need a token with the
//! planner role.
//!
//! Fail closed: a tokens-file line without a role, with an unknown role, or with a weak token stops the
//! server from starting, naming the line. Tokens are compared in constant time, every configured token
//! every time, so that timing tells nothing about which bytes matched.

use super::AppState;
use super::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use std::path::Path;
use std::sync::Arc;

/// A request made with a planner's bearer token. As a handler's argument it refuses every other
/// request before the handler runs (and before its body is read): 401 without a token, 403 with a
/// viewer's, 403 when the server has no planner token at all.
#[derive(Debug, Clone, Copy)]
pub struct Planner;

impl FromRequestParts<Arc<AppState>> for Planner {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        state
            .tokens
            .require_planner(&parts.headers)
            .map(|()| Planner)
    }
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Planner,
    Viewer,
}

/// The tokens this server accepts. Never hard-coded: from `GRIDPLAN_PLANNER_TOKEN` and a tokens file.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    roles: Vec<(Vec<u8>, Role)>,
}

/// Tokens shorter than this many characters (not bytes) are refused at start: they are guessable.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Least estimated entropy of a token, in bits: its length times the Shannon entropy of its own
/// characters. A random 16-character token of letters and digits scores about 60; `aaaa…` scores 0
/// and a short pattern repeated scores little.
pub const MIN_TOKEN_BITS: f64 = 48.0;

/// Why a token is refused, or `None` when it is acceptable.
pub fn weakness(token: &str) -> Option<String> {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() < MIN_TOKEN_CHARS {
        return Some(format!(
            "a token must be at least {MIN_TOKEN_CHARS} characters (this one has {})",
            chars.len()
        ));
    }
    if chars.iter().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("a token must not contain spaces or control characters".into());
    }
    let mut counts = std::collections::HashMap::new();
    for c in &chars {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let n = chars.len() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    let bits = per_char * n;
    if bits < MIN_TOKEN_BITS {
        return Some(format!(
            "a token must look random: this one has about {bits:.0} bits of entropy, at least {MIN_TOKEN_BITS:.0} are needed (use e.g. `openssl rand -hex 24`)"
        ));
    }
    None
}

/// Equality that takes the same time whatever the contents and wherever they first differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

impl Tokens {
    /// The environment's planner token, plus a tokens file of `TOKEN ROLE` lines (`#` comments); the
    /// role (`planner` or `viewer`) is required on every line.
    pub fn load(env_token: Option<String>, file: Option<&Path>) -> Result<Tokens, String> {
        let mut t = Tokens::default();
        if let Some(tok) = env_token.filter(|s| !s.trim().is_empty()) {
            t.add(tok.trim(), Role::Planner)
                .map_err(|e| format!("GRIDPLAN_PLANNER_TOKEN: {e}"))?;
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            // A byte-order mark (Windows editors write one) is not part of the first token.
            let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let at = format!("{}: line {}", path.display(), n + 1);
                let mut parts = line.split_whitespace();
                let tok = parts.next().unwrap_or_default();
                let role = match parts.next() {
                    Some("planner") => Role::Planner,
                    Some("viewer") => Role::Viewer,
                    Some(other) => {
                        return Err(format!(
                            "{at}: unknown role \"{other}\" (planner or viewer)"
                        ));
                    }
                    None => {
                        return Err(format!(
                            "{at}: no role: write `TOKEN planner` or `TOKEN viewer`"
                        ));
                    }
                };
                if let Some(extra) = parts.next() {
                    return Err(format!(
                        "{at}: unexpected \"{extra}\" after the role (one `TOKEN ROLE` per line)"
                    ));
                }
                t.add(tok, role).map_err(|e| format!("{at}: {e}"))?;
            }
        }
        Ok(t)
    }

    fn add(&mut self, token: &str, role: Role) -> Result<(), String> {
        if let Some(why) = weakness(token) {
            return Err(why);
        }
        if self.roles.iter().any(|(t, _)| t == token.as_bytes()) {
            return Err("the same token is given twice".into());
        }
        self.roles.push((token.as_bytes().to_vec(), role));
        Ok(())
    }

    pub fn has_planner(&self) -> bool {
        self.roles.iter().any(|(_, r)| *r == Role::Planner)
    }

    /// The role of a token, comparing it with every configured token in constant time.
    fn role_of_token(&self, token: &[u8]) -> Option<Role> {
        let mut found = None;
        for (t, role) in &self.roles {
            if constant_time_eq(t, token) {
                found = Some(*role);
            }
        }
        found
    }

    /// The role the request's bearer token carries: `Ok(None)` without an `Authorization` header, 401
    /// for a malformed header or an unknown token.
    pub fn role(&self, headers: &HeaderMap) -> Result<Option<Role>, AppError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let malformed = || {
            AppError::new(
                StatusCode::UNAUTHORIZED,
                "use `Authorization: Bearer <token>`",
            )
        };
        let value = value.to_str().map_err(|_| malformed())?.trim();
        // The scheme is case-insensitive (RFC 7235 §2.1).
        let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(malformed());
        }
        match self.role_of_token(token.trim().as_bytes()) {
            Some(role) => Ok(Some(role)),
            None => Err(AppError::new(StatusCode::UNAUTHORIZED, "unknown token")),
        }
    }

    /// Whether the request carries a valid planner token (no error for anything else).
    pub fn is_planner(&self, headers: &HeaderMap) -> bool {
        matches!(self.role(headers), Ok(Some(Role::Planner)))
    }

    /// Ok when the request carries a planner token; 401 without a valid token, 403 with a token that
    /// is not a planner's (or when no planner token is configured at all).
    pub fn require_planner(&self, headers: &HeaderMap) -> Result<(), AppError> {
        if !self.has_planner() {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "refused: no planner token is configured on this server (set GRIDPLAN_PLANNER_TOKEN)",
            ));
        }
        match self.role(headers)? {
            Some(Role::Planner) => Ok(()),
            Some(Role::Viewer) => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "this token may read, not plan",
            )),
            None => Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "this needs a planner's bearer token",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tokens");
        std::fs::write(&f, text).unwrap();
        (dir, f)
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_token() {
        let (_d, f) = file("\u{FEFF}9f2c4e7a1b8d3f60c5e2a7b4 planner\n");
        let t = Tokens::load(None, Some(&f)).unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Bearer 9f2c4e7a1b8d3f60c5e2a7b4".parse().unwrap(),
        );
        assert!(t.require_planner(&h).is_ok());
    }

    #[test]
    fn a_line_without_a_role_refuses_to_start_naming_the_line() {
        let (_d, f) = file("# tokens\n9f2c4e7a1b8d3f60c5e2 viewer\n\n4b7e1d9c2a6f8e03d5b1\n");
        let e = Tokens::load(None, Some(&f)).unwrap_err();
        assert!(e.contains("line 4") && e.contains("no role"), "{e}");
    }

    #[test]
    fn token_length_is_counted_in_characters_and_weak_tokens_are_refused() {
        // Four CJK characters are twelve bytes: still four characters.
        assert!(weakness("网格网格").is_some());
        assert!(weakness("aaaaaaaaaaaaaaaaaaaaaaaa").is_some());
        assert!(weakness("abababababababababababab").is_some());
        assert!(weakness("9f2c4e7a1b8d3f60c5e2a7b4").is_none());
        assert!(Tokens::load(Some("网格网格".into()), None).is_err());
    }

    #[test]
    fn bearer_is_case_insensitive_and_comparison_finds_the_role() {
        let t = Tokens::load(Some("9f2c4e7a1b8d3f60c5e2a7b4".into()), None).unwrap();
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                format!("{scheme} 9f2c4e7a1b8d3f60c5e2a7b4")
                    .parse()
                    .unwrap(),
            );
            assert!(t.require_planner(&h).is_ok(), "{scheme}");
        }
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Bearer 9f2c4e7a1b8d3f60c5e2a7b".parse().unwrap(),
        );
        assert_eq!(
            t.require_planner(&h).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
