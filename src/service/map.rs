//! The map page for people: grids coloured by status, community lines, a legend, the grid's counts,
//! status and workers on click, and a grids file upload that is checked on the spot (with a planner's
//! token: checking counts households in shapes of the caller's choosing). Leaflet is vendored
//! into the binary (from the npm registry, with its licence): the page needs no internet. A base-map tile
//! URL is optional (`--tiles`).

use super::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

const LEAFLET_JS: &[u8] = include_bytes!("../../assets/leaflet/leaflet.js");
const LEAFLET_CSS: &[u8] = include_bytes!("../../assets/leaflet/leaflet.css");
const LEAFLET_LICENSE: &[u8] = include_bytes!("../../assets/leaflet/LICENSE");
const LAYERS_PNG: &[u8] = include_bytes!("../../assets/leaflet/images/layers.png");
const LAYERS_2X_PNG: &[u8] = include_bytes!("../../assets/leaflet/images/layers-2x.png");
const MARKER_PNG: &[u8] = include_bytes!("../../assets/leaflet/images/marker-icon.png");
const MARKER_2X_PNG: &[u8] = include_bytes!("../../assets/leaflet/images/marker-icon-2x.png");
const SHADOW_PNG: &[u8] = include_bytes!("../../assets/leaflet/images/marker-shadow.png");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/assets/leaflet.js",
            get(|| async { asset(LEAFLET_JS, "text/javascript") }),
        )
        .route(
            "/assets/leaflet.css",
            get(|| async { asset(LEAFLET_CSS, "text/css") }),
        )
        .route(
            "/assets/LICENSE-leaflet.txt",
            get(|| async { asset(LEAFLET_LICENSE, "text/plain; charset=utf-8") }),
        )
        .route(
            "/assets/images/layers.png",
            get(|| async { asset(LAYERS_PNG, "image/png") }),
        )
        .route(
            "/assets/images/layers-2x.png",
            get(|| async { asset(LAYERS_2X_PNG, "image/png") }),
        )
        .route(
            "/assets/images/marker-icon.png",
            get(|| async { asset(MARKER_PNG, "image/png") }),
        )
        .route(
            "/assets/images/marker-icon-2x.png",
            get(|| async { asset(MARKER_2X_PNG, "image/png") }),
        )
        .route(
            "/assets/images/marker-shadow.png",
            get(|| async { asset(SHADOW_PNG, "image/png") }),
        )
}

fn asset(bytes: &'static [u8], content_type: &'static str) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

/// The page, with the tile URL (if any) filled in.
pub fn page(state: &AppState) -> Html<String> {
    let tiles = serde_json::to_string(&state.tiles).unwrap_or_else(|_| "null".into());
    Html(PAGE.replace("__TILES__", &tiles))
}

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gridplan — grids (网格)</title>
<link rel="stylesheet" href="/assets/leaflet.css">
<style>
  html, body { margin: 0; height: 100%; font: 14px/1.4 system-ui, sans-serif; }
  #map { position: absolute; top: 0; bottom: 0; left: 0; right: 320px; background: #f4f2ec; }
  #side { position: absolute; top: 0; bottom: 0; right: 0; width: 300px; padding: 10px; overflow: auto; border-left: 1px solid #ccc; }
  .legend span { display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: middle; border: 1px solid #555; }
  table { border-collapse: collapse; } td { padding: 1px 6px 1px 0; vertical-align: top; }
  #status { color: #555; } pre { white-space: pre-wrap; font-size: 12px; }
</style>
</head>
<body>
<div id="map"></div>
<div id="side">
  <h3>gridplan</h3>
  <div id="status">loading…</div>
  <div class="legend" id="legend">
    <div><span style="background:#2e9e4f"></span>ok: within the band</div>
    <div><span style="background:#f0a500"></span>under: fewer households than the band</div>
    <div><span style="background:#d7301f"></span>over: more households than the band</div>
    <div><span style="background:#999"></span>no status</div>
    <div><span style="background:none;border:2px solid #222"></span>community / village line</div>
    <div><span style="background:none;border:2px dashed #6a1b9a"></span>held by a village cadre (flagged)</div>
  </div>
  <h4>Selected grid</h4>
  <div id="info">Click a grid.</div>
  <h4>Check a grids file (planners)</h4>
  <p>Checking counts households in the shapes sent, so it needs a planner's token.</p>
  <input type="password" id="token" placeholder="planner token" autocomplete="off">
  <input type="file" id="upload" accept=".geojson,.json">
  <pre id="check"></pre>
  <h4>A worker's month of visits (planners)</h4>
  <p>Visits name residents, so they need the planner's token above.</p>
  <input id="sched-worker" placeholder="worker id, e.g. W001-001" size="16">
  <input id="sched-month" placeholder="YYYY-MM" size="8">
  <button id="sched-go">Show</button>
  <div id="schedule"></div>
  <p><a href="/?f=json">API landing page</a> · <a href="/api/openapi.json">OpenAPI</a> · <a href="/assets/LICENSE-leaflet.txt">Leaflet licence</a></p>
</div>
<script src="/assets/leaflet.js"></script>
<script>
const TILES = __TILES__;
const COLORS = { ok: "#2e9e4f", under: "#f0a500", over: "#d7301f" };
const map = L.map("map", { preferCanvas: false });
if (TILES) { L.tileLayer(TILES, { maxZoom: 19 }).addTo(map); }
map.setView([32.3, 118.8], 12);

async function all(url) {
  const features = [];
  while (url) {
    const r = await fetch(url, { headers: { Accept: "application/geo+json" } });
    if (!r.ok) throw new Error(url + ": " + r.status);
    const page = await r.json();
    features.push(...page.features);
    const next = (page.links || []).find(l => l.rel === "next");
    url = next ? next.href : null;
  }
  return { type: "FeatureCollection", features };
}

function esc(v) { return String(v).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

function describe(p) {
  const rows = [["grid", p.id], ["name", p.name ?? ""], ["community", p.community],
    ["kind", (p.kind ?? "") + (p.community_kind ? " (" + p.community_kind + ")" : "")], ["households", p.households],
    ["population", p.population ?? "unknown"], ["band", p.min + "–" + p.max], ["status", p.status],
    ["buildings", p.buildings], ["workers", (p.workers || []).join(", ") || "none"],
    ["staffing", (p.staffing_policy || "not assigned") + (p.cadre_responsible ? " — ⚑ held by a village cadre (cadre_responsible)" : "")],
    ["area", Math.round(p.area_m2 / 1000) / 1000 + " km²"], ["compactness", p.compactness]];
  return "<table>" + rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td><b>${esc(v)}</b></td></tr>`).join("") + "</table>";
}

(async () => {
  try {
    const [communities, grids] = await Promise.all([all("/collections/communities/items?limit=1000"), all("/collections/grids/items?limit=1000")]);
    const gridLayer = L.geoJSON(grids, {
      className: "grid",
      style: f => ({ color: f.properties.cadre_responsible ? "#6a1b9a" : "#444", weight: f.properties.cadre_responsible ? 3 : 1,
        dashArray: f.properties.cadre_responsible ? "6 4" : null, fillColor: COLORS[f.properties.status] || "#999", fillOpacity: 0.45 }),
      onEachFeature: (f, layer) => {
        layer.bindPopup(describe(f.properties));
        layer.on("click", () => { document.getElementById("info").innerHTML = describe(f.properties); });
      }
    }).addTo(map);
    L.geoJSON(communities, { interactive: false, style: { color: "#222", weight: 2.5, fill: false } }).addTo(map);
    if (grids.features.length) map.fitBounds(gridLayer.getBounds());
    const counts = grids.features.reduce((c, f) => (c[f.properties.status] = (c[f.properties.status] || 0) + 1, c), {});
    document.getElementById("status").textContent =
      `${grids.features.length} grids in ${communities.features.length} communities — ok ${counts.ok || 0}, under ${counts.under || 0}, over ${counts.over || 0}`;
    document.body.dataset.grids = String(grids.features.length);
    if (fromHash.get("worker") && fromHash.get("month")) await showSchedule(fromHash.get("worker"), fromHash.get("month"));
  } catch (e) {
    document.getElementById("status").textContent = "could not load the grids: " + e.message;
  }
})();

// A worker's month (planner-only route): the worker's grids outlined on the map and, per working day,
// the visits, the walking distance and how many are priority visits (residents of a category).
let scheduleLayer = null;
async function showSchedule(worker, month) {
  const out = document.getElementById("schedule");
  const token = document.getElementById("token").value.trim();
  if (!token) { out.textContent = "enter a planner token first"; return; }
  const assignment = (await (await fetch("/api/plans")).json()).assignment;
  if (!assignment) { out.textContent = "no assignment yet"; return; }
  const r = await fetch(`/api/assignments/${assignment}/visits?month=${encodeURIComponent(month)}`,
    { method: "POST", headers: { "Authorization": "Bearer " + token } });
  const plan = await r.json();
  if (!r.ok) { out.textContent = plan.error; return; }
  const w = plan.workers.find(x => x.id === worker);
  if (!w) { out.textContent = `${worker} holds no grid in this assignment`; return; }
  const grids = {};
  map.eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.id && l.getBounds) grids[l.feature.properties.id] = l; });
  if (scheduleLayer) scheduleLayer.remove();
  scheduleLayer = L.layerGroup().addTo(map);
  for (const g of w.grids) { if (grids[g]) L.geoJSON(grids[g].feature, { style: { color: "#0057b8", weight: 4, fill: false } }).addTo(scheduleLayer); }
  const byDay = {};
  for (const v of w.visits) (byDay[v.date] = byDay[v.date] || []).push(v);
  out.innerHTML = `<p><b>${esc(w.id)}</b>: ${w.visits.length} visits, ${Math.round(w.minutes / 60)} h of ${Math.round(w.minutes_available / 60)} h in ${esc(plan.month)}</p>` +
    "<table class='days'>" + w.routes.map(d => {
      const vs = byDay[d.date] || [];
      const priority = vs.filter(v => v.category !== "others").length;
      return `<tr><td>${esc(d.date)}</td><td>${d.visits} visits</td><td>${(d.distance_m / 1000).toFixed(1)} km</td><td>${priority ? "⚑ " + priority + " priority" : ""}</td></tr>`;
    }).join("") + "</table>";
  if (scheduleLayer.getLayers().length) map.fitBounds(L.featureGroup(scheduleLayer.getLayers()).getBounds());
  document.body.dataset.schedule = String(w.visits.length);
}
document.getElementById("sched-go").addEventListener("click", () =>
  showSchedule(document.getElementById("sched-worker").value.trim(), document.getElementById("sched-month").value.trim()));
// `#worker=…&month=…[&token=…]` opens a schedule directly (the hash never reaches the server; it is
// cleared from the address bar at once).
const fromHash = new URLSearchParams(location.hash.slice(1));
if (fromHash.get("worker") && fromHash.get("month")) {
  document.getElementById("sched-worker").value = fromHash.get("worker");
  document.getElementById("sched-month").value = fromHash.get("month");
  if (fromHash.get("token")) document.getElementById("token").value = fromHash.get("token");
  history.replaceState(null, "", location.pathname + location.search);
}

document.getElementById("upload").addEventListener("change", async ev => {
  const file = ev.target.files[0];
  if (!file) return;
  const out = document.getElementById("check");
  out.textContent = "checking…";
  const token = document.getElementById("token").value.trim();
  if (!token) { out.textContent = "enter a planner token first: checking a grids file needs one"; ev.target.value = ""; return; }
  const r = await fetch("/api/check", { method: "POST", body: await file.arrayBuffer(), headers: { "Content-Type": "application/geo+json", "Authorization": "Bearer " + token } });
  const report = await r.json();
  if (!r.ok) { out.textContent = report.error + "\n" + (report.problems || []).map(p => p.message).join("\n"); return; }
  const s = report.summary;
  out.textContent = `${s.compliant ? "COMPLIANT" : "NOT COMPLIANT"}: ${s.violations} violation(s)\n` +
    `grids ${s.grids} (ok ${s.ok}, under ${s.under}, over ${s.over})\n` +
    `gap ${s.gap_area_m2.toFixed(1)} m², overlap ${s.overlap_area_m2.toFixed(1)} m²\n` +
    report.violations.slice(0, 20).map(v => `${v.grid || v.leaf}: ${v.message}`).join("\n");
});
</script>
</body>
</html>
"##;
