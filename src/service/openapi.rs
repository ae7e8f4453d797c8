//! The OpenAPI 3.0 description at `/api/openapi.json`: self-contained (no external `$ref`), with
//! `components.parameters.limit` carrying `default` and `maximum`, where QGIS reads the page size.

use super::ogc::{DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::{Value, json};

fn ok(description: &str, media: &str) -> Value {
    json!({"description": description, "content": {media: {"schema": {"type": "object"}}}})
}

fn err(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The document.
pub fn document() -> Value {
    let geo = "application/geo+json";
    let js = "application/json";
    let planner = json!([{"planner": []}]);
    let errors = json!({
        "400": err("Bad input: the message names the file, feature and field"),
        "401": err("A planner token is needed"),
        "403": err("This token may not do this"),
        "404": err("Not found"),
        "405": err("This method is not allowed here"),
        "408": err("The request, or its body, took too long to arrive"),
        "409": err("The data in force changed while the request was validated; send it again"),
        "413": err("The body is too large"),
        "414": err("The request target is too long"),
        "422": err("Cannot be done with the data in force (including: no staffing solution within the solver's time limit)"),
        "429": err("Busy: too many such jobs at once, or a planner's job is running; retry after the Retry-After seconds")
    });
    let with_errors = |mut responses: Value| {
        if let (Some(r), Some(e)) = (responses.as_object_mut(), errors.as_object()) {
            for (k, v) in e {
                r.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "gridplan",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Grids (网格) of communities and villages as OGC API – Features, and the planning API. Reading grids and aggregates is open; writing and household-level or sensitive data need a planner's bearer token."
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/": {"get": {"summary": "Landing page (JSON; HTML map page for browsers)", "operationId": "getLandingPage", "parameters": [{"$ref": "#/components/parameters/f"}], "responses": {"200": ok("Landing page", js)}}},
            "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformanceDeclaration", "responses": {"200": ok("Conformance", js)}}},
            "/collections": {"get": {"summary": "Collections", "operationId": "getCollections", "responses": {"200": ok("Collections", js)}}},
            "/collections/{collectionId}": {"get": {"summary": "One collection", "operationId": "describeCollection", "parameters": [{"$ref": "#/components/parameters/collectionId"}], "responses": with_errors(json!({"200": ok("Collection", js)}))}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "Features of a collection", "operationId": "getFeatures",
                "parameters": [
                    {"$ref": "#/components/parameters/collectionId"},
                    {"$ref": "#/components/parameters/limit"},
                    {"$ref": "#/components/parameters/offset"},
                    {"$ref": "#/components/parameters/bbox"},
                    {"$ref": "#/components/parameters/bbox-crs"},
                    {"$ref": "#/components/parameters/crs"},
                    {"$ref": "#/components/parameters/datetime"}
                ],
                "responses": with_errors(json!({"200": ok("A page of features", geo)}))
            }},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "One feature", "operationId": "getFeature",
                "parameters": [{"$ref": "#/components/parameters/collectionId"}, {"$ref": "#/components/parameters/featureId"}, {"$ref": "#/components/parameters/crs"}],
                "responses": with_errors(json!({"200": ok("The feature", geo)}))
            }},
            "/api/locate": {"get": {
                "summary": "The community, grid and responsible worker at a WGS84 point",
                "parameters": [
                    {"name": "lon", "in": "query", "required": true, "schema": {"type": "number", "minimum": -180, "maximum": 180}},
                    {"name": "lat", "in": "query", "required": true, "schema": {"type": "number", "minimum": -90, "maximum": 90}}
                ],
                "responses": with_errors(json!({"200": ok("Where the point is", js)}))
            }},
            "/api/datasets": {"get": {"summary": "Dataset versions (metadata only)", "responses": {"200": ok("Datasets", js)}}},
            "/api/datasets/{kind}": {"post": {
                "summary": "Upload a new version of households, boundaries, workers (GeoJSON or CSV) or rules (TOML)", "security": planner,
                "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"type": "string", "enum": ["households", "boundaries", "workers", "rules", "blocks", "barriers"]}}, {"$ref": "#/components/parameters/stranded_workers"}],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": with_errors(json!({"201": ok("Stored", js)}))
            }},
            "/api/datasets/{kind}/latest": {"get": {
                "summary": "The newest uploaded file of a kind (household-level: planners only)", "security": planner,
                "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": with_errors(json!({"200": {"description": "The file as uploaded"}}))
            }},
            "/api/boundaries": {"post": {
                "summary": "Replace the boundaries and re-plan", "security": planner,
                "requestBody": {"required": true, "content": {geo: {"schema": {"type": "object"}}}},
                "parameters": [{"$ref": "#/components/parameters/prefer"}, {"$ref": "#/components/parameters/stranded_workers"}],
                "responses": with_errors(json!({"201": ok("New boundaries version and plan", js), "202": ok("The job, running: follow it at /api/jobs/{jobId}", js)}))
            }},
            "/api/plans": {
                "get": {"summary": "Plans, newest first", "responses": {"200": ok("Plans", js)}},
                "post": {
                    "summary": "Run a partition with the data in force and optional rules (TOML text)", "security": planner,
                    "requestBody": {"required": false, "content": {js: {"schema": {"type": "object", "properties": {"rules": {"type": "string"}, "note": {"type": "string"}, "previous": {"type": "integer"}, "date": {"type": "string", "format": "date"}}}}}},
                    "parameters": [{"$ref": "#/components/parameters/prefer"}],
                    "responses": with_errors(json!({"201": ok("The new plan, published", js), "202": ok("The job, running: follow it at /api/jobs/{jobId}", js)}))
                }
            },
            "/api/jobs": {"get": {"summary": "The newest planning jobs: which server holds each, done or failed (planners only)", "security": planner, "responses": with_errors(json!({"200": ok("Jobs", js)}))}},
            "/api/jobs/{jobId}": {"get": {"summary": "A planning job: running (and on which server), done (with its plan and answer) or failed", "security": planner, "parameters": [{"$ref": "#/components/parameters/jobId"}], "responses": with_errors(json!({"200": ok("Job", js)}))}},
            "/api/plans/{planId}": {"get": {"summary": "A plan: inputs, summary, quality", "parameters": [{"$ref": "#/components/parameters/planId"}], "responses": with_errors(json!({"200": ok("Plan", js)}))}},
            "/api/plans/{planId}/grids": {"get": {"summary": "A plan's grids, as a file: WGS84, or in the CRS named by `crs` (e.g. EPSG:4490, EPSG:4549) with the legacy `crs` member, east first", "parameters": [{"$ref": "#/components/parameters/planId"}, {"name": "crs", "in": "query", "required": false, "schema": {"type": "string"}}], "responses": with_errors(json!({"200": ok("Grids", geo)}))}},
            "/api/plans/{planId}/report": {"get": {"summary": "A plan's report (building ids withheld)", "parameters": [{"$ref": "#/components/parameters/planId"}], "responses": with_errors(json!({"200": ok("Report", js)}))}},
            "/api/plans/{planId}/diff/{otherPlanId}": {"get": {
                "summary": "What changed between two plans, household by household (counts only). Planners wait their turn; others are answered 429 when busy",
                "parameters": [{"$ref": "#/components/parameters/planId"}, {"name": "otherPlanId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": with_errors(json!({"200": ok("Diff", js)}))
            }},
            "/api/plans/{planId}/sensitive": {"get": {"summary": "Per-grid counts of people needing visits and the weekly workload (planners only)", "security": planner, "parameters": [{"$ref": "#/components/parameters/planId"}], "responses": with_errors(json!({"200": ok("Counts", js)}))}},
            "/api/check": {"post": {
                "summary": "Check uploaded grids against the data in force (planners only: counting households in shapes of the caller's choosing would locate them)", "security": planner,
                "requestBody": {"required": true, "content": {geo: {"schema": {"type": "object"}}}},
                "responses": with_errors(json!({"200": ok("Compliance report", js)}))
            }},
            "/api/assignments": {"post": {
                "summary": "Assign the workers in force to a plan's grids (HiGHS)", "security": planner,
                "requestBody": {"required": false, "content": {js: {"schema": {"type": "object", "properties": {"plan": {"type": "integer"}}}}}},
                "responses": with_errors(json!({"201": ok("Staffing", js)}))
            }},
            "/api/assignments/{assignmentId}": {"get": {
                "summary": "An assignment's staffing report (planners only: workloads are functions of the sensitive counts)", "security": planner,
                "parameters": [{"name": "assignmentId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": with_errors(json!({"200": ok("Staffing", js)}))
            }},
            "/api/assignments/{assignmentId}/visits": {"post": {
                "summary": "Each worker's visits for a month at the residents' cadence, walking routes, and with a visit log in the body (CSV resident,worker,time or a JSON array) the overdue residents and handed-over lists (planners only: names residents)", "security": planner,
                "parameters": [
                    {"name": "assignmentId", "in": "path", "required": true, "schema": {"type": "integer"}},
                    {"name": "month", "in": "query", "required": true, "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}}
                ],
                "requestBody": {"required": false, "content": {"text/csv": {"schema": {"type": "string"}}, js: {"schema": {"type": "array"}}}},
                "responses": with_errors(json!({"200": ok("Visits", js)}))
            }},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": ok("OpenAPI", "application/vnd.oai.openapi+json;version=3.0")}}}
        },
        "components": {
            "securitySchemes": {"planner": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status"], "properties": {
                    "error": {"type": "string"}, "status": {"type": "integer"},
                    "problems": {"type": "array", "items": {"type": "object"}}
                }}
            },
            "parameters": {
                "f": {"name": "f", "in": "query", "required": false, "schema": {"type": "string", "enum": ["json", "html"]}},
                "collectionId": {"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string", "enum": ["communities", "grids", "blocks", "barriers"]}},
                "featureId": {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}},
                "planId": {"name": "planId", "in": "path", "required": true, "schema": {"type": "integer"}},
                "jobId": {"name": "jobId", "in": "path", "required": true, "schema": {"type": "integer"}},
                "stranded_workers": {"name": "stranded_workers", "in": "query", "required": false, "description": "accept: store boundaries that drop towns the workers in force serve (refused with 422 naming them otherwise); the answer states them under stranded_workers, and assignments wait for workers of the new towns", "schema": {"type": "string", "enum": ["accept"]}},
                "prefer": {"name": "Prefer", "in": "header", "required": false, "description": "respond-async: answer 202 at once with the job, which goes on (on another server if this one dies)", "schema": {"type": "string"}},
                "limit": {"name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "Most features per page; larger values are clamped to the maximum.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
                "offset": {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
                "bbox": {"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
                    "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
                "crs": {"name": "crs", "in": "query", "required": false, "description": "The CRS of the answer (OGC API – Features Part 2): one of the collection's `crs` list, e.g. http://www.opengis.net/def/crs/EPSG/0/4490 (CGCS2000, latitude first) or a CGCS2000 Gauss–Krüger zone (northing first); CRS84 by default. The answer's Content-Crs header names it.", "schema": {"type": "string", "format": "uri"}},
                "bbox-crs": {"name": "bbox-crs", "in": "query", "required": false, "description": "The CRS of bbox, in its axis order: one of the collection's `crs` list; CRS84 by default.", "schema": {"type": "string", "format": "uri"}},
                "datetime": {"name": "datetime", "in": "query", "required": false, "style": "form", "explode": false, "schema": {"type": "string"}}
            }
        }
    });
    // The handover files, added apart (the document above is as deep as `json!` expands).
    let binary = |description: &str, media: &str| json!({"description": description, "content": {media: {"schema": {"type": "string", "format": "binary"}}}});
    let unavailable = json!({"description": "The server cannot make the file, and says what it lacks (the atlas: a CJK font; install fonts-wqy-microhei or set GRIDPLAN_CJK_FONT)"});
    let handover = [
        (
            "/api/plans/{planId}/report.xlsx",
            "The plan's grid ledger (网格台账): a summary sheet with a row per community and a sheet per town with a row per grid (code, name, community, 四至, households, population, km², status, and the worker's id, name and phone from the plan's newest assignment and the workers in force) (planners only: personal data)",
            binary(
                "The ledger",
                crate::output::handover::ReportFormat::Ledger.media_type(),
            ),
        ),
        (
            "/api/plans/{planId}/report.pdf",
            "The plan's atlas (网格图册): a page per community (A4 landscape, A3 for many grids) with its grids drawn and labelled, scale bar, north arrow, legend, and a table of its grids (code, 四至, households, worker's name and phone) (planners only: personal data)",
            binary(
                "The atlas",
                crate::output::handover::ReportFormat::Atlas.media_type(),
            ),
        ),
    ];
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, summary, body) in handover {
            let mut responses = with_errors(json!({"200": body}));
            responses["503"] = unavailable.clone();
            paths.insert(
                path.to_string(),
                json!({"get": {"summary": summary, "security": planner, "parameters": [{"$ref": "#/components/parameters/planId"}], "responses": responses}}),
            );
        }
    }
    doc
}
