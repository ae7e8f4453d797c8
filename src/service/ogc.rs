//! OGC API – Features, Part 1 Core with GeoJSON and OpenAPI 3.0: landing page, conformance, collections,
//! items with `bbox`, `limit`, `offset` and `datetime`, and single items; Part 2 (CRS by reference):
//! `crs` and `bbox-crs` on items, the `Content-Crs` header, `crs` and `storageCrs` in each collection
//! ([`super::crs`]).

use super::AppState;
use super::crs::{self as ogc_crs, Reprojector, ServedCrs};
use super::error::AppError;
use super::published::Collection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Items per page when the client gives no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// Most items per page; a larger `limit` is clamped to it, not refused.
pub const MAX_LIMIT: usize = 1000;

pub const GEOJSON: &str = "application/geo+json";
const CRS84: &str = ogc_crs::CRS84;

pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    ogc_crs::CONFORMANCE,
];

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(landing))
        .route("/conformance", get(conformance))
        .route("/collections", get(collections))
        .route("/collections/{id}", get(collection))
        .route("/collections/{id}/items", get(items))
        .route("/collections/{id}/items/{fid}", get(item))
}

/// The base URL clients reach us at, from the Host header.
pub fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

async fn landing(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    let format = q.get("f").map(String::as_str);
    if format == Some("html") || (format.is_none() && wants_html(&headers)) {
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = super::map::Lang::choose(q.get("lang").map(String::as_str), accept);
        return Ok(super::map::page(&s, lang).into_response());
    }
    only_params(&q, &["f"])?;
    let b = base(&headers);
    Ok(Json(json!({
        "title": "gridplan",
        "description": "Grids (网格) of communities and villages: household counts, band compliance and grid workers, as OGC API – Features.",
        "links": [
            {"href": format!("{b}/"), "rel": "self", "type": "application/json", "title": "This document"},
            {"href": format!("{b}/?f=html"), "rel": "alternate", "type": "text/html", "title": "The map page"},
            {"href": format!("{b}/api/openapi.json"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "The API definition"},
            {"href": format!("{b}/conformance"), "rel": "conformance", "type": "application/json", "title": "Conformance classes"},
            {"href": format!("{b}/collections"), "rel": "data", "type": "application/json", "title": "The collections"}
        ]
    }))
    .into_response())
}

async fn conformance(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    only_params(&q, &["f"])?;
    Ok(Json(json!({"conformsTo": CONFORMANCE})).into_response())
}

fn collection_json(c: &Collection, b: &str) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": ogc_crs::offered(c.bbox).iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [c.bbox], "crs": CRS84}},
        "links": [
            {"href": format!("{b}/collections/{}", c.id), "rel": "self", "type": "application/json", "title": c.title},
            {"href": format!("{b}/collections/{}/items", c.id), "rel": "items", "type": GEOJSON, "title": c.title}
        ]
    })
}

async fn collections(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    only_params(&q, &["f"])?;
    let b = base(&headers);
    let p = s.published();
    Ok(Json(json!({
        "links": [{"href": format!("{b}/collections"), "rel": "self", "type": "application/json", "title": "Collections"}],
        "collections": p.collections().iter().map(|c| collection_json(c, &b)).collect::<Vec<_>>()
    }))
    .into_response())
}

async fn collection(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    only_params(&q, &["f"])?;
    let p = s.published();
    let c = p
        .collection(&id)
        .ok_or_else(|| AppError::not_found(format!("no collection \"{id}\"")))?;
    Ok(Json(collection_json(c, &base(&headers))).into_response())
}

fn only_params(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), AppError> {
    let mut unknown: Vec<&str> = q
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    unknown.sort_unstable();
    if let Some(k) = unknown.first() {
        return Err(AppError::bad_request(format!(
            "unknown query parameter \"{k}\"; allowed here: {}",
            allowed.join(", ")
        )));
    }
    if let Some(f) = q.get("f")
        && !["json", "geojson"].contains(&f.as_str())
    {
        return Err(AppError::bad_request(format!(
            "format f={f} is not offered here; use f=json"
        )));
    }
    Ok(())
}

/// Validated items parameters.
struct ItemsQuery {
    limit: usize,
    offset: usize,
    /// In CRS84, whatever `bbox-crs` the client gave it in.
    bbox: Option<[f64; 4]>,
    /// The CRS of the answer.
    crs: ServedCrs,
    /// The days asked for by `datetime` (first, last; `None` = open), compared with the features'
    /// `valid_from` / `valid_to`.
    days: Option<(Option<String>, Option<String>)>,
}

/// The days of a valid `datetime` (the date part of each end; `..` or empty = open).
fn datetime_days(d: &str) -> (Option<String>, Option<String>) {
    let day = |x: &str| {
        let x = x.trim();
        (!x.is_empty() && x != "..").then(|| x.chars().take(10).collect::<String>())
    };
    match d.split_once('/') {
        None => (day(d), day(d)),
        Some((a, b)) => (day(a), day(b)),
    }
}

/// Whether a feature in force from `valid_from` until `valid_to` (the day it was retired, excluded;
/// `None` = open) was in force on some day of `days`. A feature without the two is always in force.
fn in_force(json: &str, days: &(Option<String>, Option<String>)) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        return true;
    };
    let p = &v["properties"];
    let from = p["valid_from"].as_str();
    let to = p["valid_to"].as_str();
    let (lo, hi) = days;
    let starts_in_time = match (from, hi) {
        (Some(f), Some(h)) => f <= h.as_str(),
        _ => true,
    };
    let ends_after = match (to, lo) {
        (Some(t), Some(l)) => t > l.as_str(),
        _ => true,
    };
    // Retired the day it took effect (a same-day re-draw): in force on no day at all.
    let some_day = match (from, to) {
        (Some(f), Some(t)) => f < t,
        _ => true,
    };
    starts_in_time && ends_after && some_day
}

fn parse_items_query(
    q: &HashMap<String, String>,
    offered: &[ServedCrs],
) -> Result<ItemsQuery, AppError> {
    only_params(
        q,
        &[
            "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "f",
        ],
    )?;
    let crs = ogc_crs::requested(q, "crs", offered)?;
    let bbox_crs = ogc_crs::requested(q, "bbox-crs", offered)?;
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.trim().parse::<usize>() {
            Ok(0) | Err(_) => {
                return Err(AppError::bad_request(format!(
                    "limit \"{l}\" must be a whole number ≥ 1"
                )));
            }
            Ok(n) => n.min(MAX_LIMIT),
        },
    };
    let offset = match q.get("offset") {
        None => 0,
        Some(o) => o.trim().parse::<usize>().map_err(|_| {
            AppError::bad_request(format!("offset \"{o}\" must be a whole number ≥ 0"))
        })?,
    };
    if q.contains_key("bbox-crs") && !q.contains_key("bbox") {
        return Err(AppError::bad_request(
            "bbox-crs names the CRS of a bbox, and there is no bbox",
        ));
    }
    let bbox = match q.get("bbox") {
        None => None,
        Some(b) => {
            let nums: Result<Vec<f64>, _> = b.split(',').map(|x| x.trim().parse::<f64>()).collect();
            let nums = nums
                .ok()
                .filter(|n| (n.len() == 4 || n.len() == 6) && n.iter().all(|v| v.is_finite()))
                .ok_or_else(|| {
                    AppError::bad_request(format!(
                        "bbox \"{b}\" must be 4 (or 6) comma-separated numbers"
                    ))
                })?;
            let (minx, miny, maxx, maxy) = if nums.len() == 4 {
                (nums[0], nums[1], nums[2], nums[3])
            } else {
                (nums[0], nums[1], nums[3], nums[4])
            };
            if minx > maxx || miny > maxy {
                return Err(AppError::bad_request(
                    "bbox: the lower corner must come first (minx,miny,maxx,maxy, in the axis order of bbox-crs)",
                ));
            }
            Some(ogc_crs::bbox_to_crs84([minx, miny, maxx, maxy], bbox_crs)?)
        }
    };
    if let Some(d) = q.get("datetime") {
        datetime_interval(d).map_err(|why| {
            AppError::bad_request(format!(
                "datetime \"{d}\" {why}; give an RFC 3339 date or date-time, or an interval of two from the earlier to the later (either end may be `..`), e.g. 2026-01-01T00:00:00Z or 2026-01-01/.."
            ))
        })?;
    }
    Ok(ItemsQuery {
        limit,
        offset,
        bbox,
        crs,
        days: q.get("datetime").map(|d| datetime_days(d)),
    })
}

/// An OGC API `datetime`: an instant (RFC 3339 date or date-time) or an interval `start/end` whose ends
/// are instants, `..` or empty (open), not both open, the start not after the end.
pub fn valid_datetime(d: &str) -> bool {
    datetime_interval(d).is_ok()
}

/// The first and last second (since 1970, UTC) a `datetime` covers (`None` = open), or why it is
/// not one: a day the calendar does not have (`2026-02-30`), an interval that ends before it starts.
fn datetime_interval(d: &str) -> Result<(Option<i64>, Option<i64>), String> {
    let not_instant = |x: &str| format!("has \"{x}\", which is no calendar day or date-time");
    match d.split_once('/') {
        None => instant_seconds(d)
            .map(|(a, b)| (Some(a), Some(b)))
            .ok_or_else(|| "is no calendar day or date-time".to_string()),
        Some((a, b)) => {
            let open = |x: &str| x.is_empty() || x == "..";
            if open(a) && open(b) {
                return Err("is open at both ends".into());
            }
            let end = |x: &str| -> Result<Option<(i64, i64)>, String> {
                if open(x) {
                    Ok(None)
                } else {
                    instant_seconds(x).map(Some).ok_or_else(|| not_instant(x))
                }
            };
            let (start, finish) = (end(a)?, end(b)?);
            if let (Some((s, _)), Some((_, f))) = (start, finish)
                && s > f
            {
                return Err(format!("ends ({b}) before it starts ({a})"));
            }
            Ok((start.map(|s| s.0), finish.map(|f| f.1)))
        }
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The first and last second (since 1970, UTC) of an RFC 3339 date (its whole day, in UTC) or
/// date-time; `None` when it is neither or names a day the calendar does not have.
fn instant_seconds(s: &str) -> Option<(i64, i64)> {
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (y, m, d) = (digits(y, 4)?, digits(m, 2)?, digits(d, 2)?);
    let year = i32::try_from(y).ok()?;
    if !(1..=12).contains(&m) || d < 1 || d > crate::model::date::days_in_month(year, m) {
        return None;
    }
    let day = crate::model::Date {
        year,
        month: m,
        day: d,
    }
    .days()
        * 86_400;
    let Some(time) = time else {
        return Some((day, day + 86_399));
    };
    let (clock, zone) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, None)
    } else {
        let i = time.rfind(['+', '-'])?;
        (&time[..i], Some((&time[i..i + 1], &time[i + 1..])))
    };
    let mut offset = 0i64;
    if let Some((sign, z)) = zone {
        let (h, m) = z.split_once(':')?;
        let (h, m) = (digits(h, 2)?, digits(m, 2)?);
        if h >= 24 || m >= 60 {
            return None;
        }
        offset = i64::from(h * 3600 + m * 60) * if sign == "-" { -1 } else { 1 };
    }
    let clock = match clock.split_once('.') {
        None => clock,
        Some((c, frac)) if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) => c,
        Some(_) => return None,
    };
    let mut hms = clock.split(':');
    let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    let (h, m, sec) = (digits(h, 2)?, digits(m, 2)?, digits(sec, 2)?);
    if h >= 24 || m >= 60 || sec > 60 {
        return None;
    }
    let t = day + i64::from(h * 3600 + m * 60 + sec) - offset;
    Some((t, t))
}

fn geojson_response(body: Vec<u8>, crs: ServedCrs) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(GEOJSON));
    r.headers_mut().insert("content-crs", crs.header());
    r
}

fn page_href(
    b: &str,
    id: &str,
    q: &ItemsQuery,
    offset: usize,
    raw: &HashMap<String, String>,
) -> String {
    let mut href = format!(
        "{b}/collections/{id}/items?limit={}&offset={offset}",
        q.limit
    );
    if let Some(bbox) = raw.get("bbox") {
        href.push_str(&format!("&bbox={}", bbox.replace(' ', "")));
    }
    if let Some(dt) = raw.get("datetime") {
        href.push_str(&format!("&datetime={}", dt.replace(' ', "%20")));
    }
    for key in ["bbox-crs", "crs"] {
        if let Some(c) = raw.get(key) {
            href.push_str(&format!("&{key}={}", c.trim().replace(' ', "%20")));
        }
    }
    href
}

async fn items(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(raw) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    let p = s.published();
    let c = p
        .collection(&id)
        .ok_or_else(|| AppError::not_found(format!("no collection \"{id}\"")))?;
    let q = parse_items_query(&raw, &ogc_crs::offered(c.bbox))?;
    let b = base(&headers);
    // Without `datetime` the features in force; with it, the retired ones too, kept by their validity.
    let visible = c.visible(q.days.is_some());
    let matching: Vec<&super::published::Entry> = match q.bbox {
        None => visible.collect(),
        Some(bb) => visible
            .filter(|e| {
                e.bbox[0] <= bb[2] && bb[0] <= e.bbox[2] && e.bbox[1] <= bb[3] && bb[1] <= e.bbox[3]
            })
            .collect(),
    };
    let matching: Vec<&super::published::Entry> = match &q.days {
        None => matching,
        Some(days) => matching
            .into_iter()
            .filter(|e| in_force(&e.json, days))
            .collect(),
    };
    let matched = matching.len();
    let page: Vec<&super::published::Entry> =
        matching.into_iter().skip(q.offset).take(q.limit).collect();
    let mut links = vec![
        json!({"href": page_href(&b, &id, &q, q.offset, &raw), "rel": "self", "type": GEOJSON, "title": "This page"}),
        json!({"href": format!("{b}/collections/{id}"), "rel": "collection", "type": "application/json", "title": c.title}),
    ];
    if q.offset + page.len() < matched {
        links.push(json!({"href": page_href(&b, &id, &q, q.offset + page.len(), &raw), "rel": "next", "type": GEOJSON, "title": "Next page"}));
    }
    if q.offset > 0 {
        links.push(json!({"href": page_href(&b, &id, &q, q.offset.saturating_sub(q.limit), &raw), "rel": "prev", "type": GEOJSON, "title": "Previous page"}));
    }
    let head = format!(
        "{{\"type\":\"FeatureCollection\",\"numberMatched\":{matched},\"numberReturned\":{},\"links\":{},\"features\":[",
        page.len(),
        Value::Array(links)
    );
    let mut body =
        Vec::with_capacity(head.len() + page.iter().map(|e| e.json.len() + 1).sum::<usize>() + 2);
    body.extend_from_slice(head.as_bytes());
    let reproject = Reprojector::new(q.crs)?;
    for (i, e) in page.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        if q.crs == ServedCrs::Crs84 {
            body.extend_from_slice(e.json.as_bytes());
        } else {
            body.extend_from_slice(reproject.feature(&e.json)?.as_bytes());
        }
    }
    body.extend_from_slice(b"]}");
    Ok(geojson_response(body, q.crs))
}

async fn item(
    State(s): State<Arc<AppState>>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(raw) = q.map_err(|e| AppError::bad_request(e.body_text()))?;
    only_params(&raw, &["f", "crs"])?;
    let p = s.published();
    let c = p
        .collection(&id)
        .ok_or_else(|| AppError::not_found(format!("no collection \"{id}\"")))?;
    let e = c
        .get(&fid)
        .ok_or_else(|| AppError::not_found(format!("no feature \"{fid}\" in {id}")))?;
    let crs = ogc_crs::requested(&raw, "crs", &ogc_crs::offered(c.bbox))?;
    let stored = Reprojector::new(crs)?.feature(&e.json)?;
    let b = base(&headers);
    let links = json!([
        {"href": format!("{b}/collections/{id}/items/{fid}"), "rel": "self", "type": GEOJSON, "title": "This feature"},
        {"href": format!("{b}/collections/{id}"), "rel": "collection", "type": "application/json", "title": c.title}
    ]);
    // The feature ends with its closing brace: add the links before it.
    let json = stored.trim_end();
    let mut body = json.strip_suffix('}').unwrap_or(json).to_string();
    body.push_str(&format!(",\"links\":{links}}}"));
    Ok(geojson_response(body.into_bytes(), crs))
}

#[cfg(test)]
mod datetime_tests {
    use super::{datetime_days, in_force, valid_datetime};

    fn feature(from: &str, to: Option<&str>) -> String {
        serde_json::json!({"type": "Feature", "properties": {"valid_from": from, "valid_to": to}})
            .to_string()
    }

    #[test]
    fn a_retired_grid_is_found_by_a_date_inside_its_validity_not_by_today() {
        let retired = feature("2026-01-01", Some("2026-06-01"));
        let current = feature("2026-06-01", None);
        let asks = |d: &str| {
            assert!(valid_datetime(d), "{d}");
            let days = datetime_days(d);
            (in_force(&retired, &days), in_force(&current, &days))
        };
        assert_eq!(asks("2026-03-01"), (true, false));
        assert_eq!(asks("2026-03-01T12:00:00Z"), (true, false));
        assert_eq!(asks("2026-11-22"), (false, true));
        // valid_to is the day of the re-draw: the retired grid no longer, the new one already.
        assert_eq!(asks("2026-06-01"), (false, true));
        assert_eq!(asks("2026-05-01/.."), (true, true));
        assert_eq!(asks("../2025-12-31"), (false, false));
        assert_eq!(asks("2025-01-01/2026-01-01"), (true, false));
        // A grid retired the day it took effect was in force on no day, whatever is asked.
        let same_day = feature("2026-06-01", Some("2026-06-01"));
        for d in [
            "2026-06-01",
            "2026-05-01/2026-07-01",
            "../..",
            "2026-06-01/..",
        ] {
            assert!(!in_force(&same_day, &datetime_days(d)), "{d}");
        }
        // A feature without a record is always in force.
        assert!(in_force(
            r#"{"properties":{}}"#,
            &datetime_days("2000-01-01")
        ));
    }

    #[test]
    fn days_the_calendar_lacks_and_intervals_that_end_before_they_start_are_no_datetime() {
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "2026-04-31T00:00:00Z",
            "2026-05-01/2026-01-01",
            "2026-01-01T12:00:00Z/2026-01-01T11:59:59Z",
            // 00:30 at +08:00 is 16:30 the day before in UTC: before the start.
            "2026-01-01T00:00:00Z/2026-01-01T00:30:00+08:00",
            "../..",
            "2026-13-01",
        ] {
            assert!(!valid_datetime(bad), "{bad}");
        }
        for good in [
            "2024-02-29",
            "2026-01-01/2026-01-01",
            "2026-01-01T12:00:00Z/2026-01-01",
            "2026-01-01/2026-05-01",
            "2026-01-01T08:00:00+08:00/2026-01-01T00:00:00Z",
            "../2026-01-01T00:00:00.5Z",
            "2026-01-01/..",
        ] {
            assert!(valid_datetime(good), "{good}");
        }
    }
}
