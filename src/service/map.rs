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

/// The page's language: Chinese unless English is asked for (`?lang=en`, or a browser whose first
/// preferred language is not Chinese but English); `?lang=zh` asks for Chinese whatever the browser says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// From the `lang` query parameter, else the first language of `Accept-Language`.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        let english = |tag: &str| {
            let t = tag.trim().to_ascii_lowercase();
            t == "en" || t.starts_with("en-") || t.starts_with("en_")
        };
        if let Some(q) = query {
            return if english(q) { Lang::En } else { Lang::Zh };
        }
        // The browser's first choice (highest q; the first among equals).
        let first = accept_language.and_then(|a| {
            a.split(',')
                .filter_map(|part| {
                    let mut it = part.split(';');
                    let tag = it.next()?.trim();
                    let q = it
                        .find_map(|p| p.trim().strip_prefix("q=").map(str::to_string))
                        .and_then(|q| q.parse::<f32>().ok())
                        .unwrap_or(1.0);
                    (!tag.is_empty()).then_some((tag.to_string(), q))
                })
                .fold(None::<(String, f32)>, |best, (t, q)| match best {
                    Some((_, bq)) if bq >= q => best,
                    _ => Some((t, q)),
                })
        });
        match first {
            Some((tag, _)) if english(&tag) => Lang::En,
            _ => Lang::Zh,
        }
    }
}

/// Every text of the page, in Chinese and in English: (key, 中文, English). The HTML names them
/// `{{key}}`; the script reads them from `T`.
const TEXTS: &[(&str, &str, &str)] = &[
    ("html_lang", "zh-CN", "en"),
    ("title", "gridplan — 网格", "gridplan — grids (网格)"),
    ("loading", "加载中…", "loading…"),
    ("legend_ok", "达标：户数在规定范围内", "ok: within the band"),
    (
        "legend_under",
        "偏少：户数低于规定范围",
        "under: fewer households than the band",
    ),
    (
        "legend_over",
        "偏多：户数高于规定范围",
        "over: more households than the band",
    ),
    ("legend_none", "无状态", "no status"),
    ("legend_line", "社区 / 村界线", "community / village line"),
    ("legend_grid_edge", "网格边界", "grid edge"),
    ("legend_block", "街区 / 小区边界", "street block edge"),
    ("legend_river", "河流", "river"),
    (
        "legend_violation",
        "违规（点击查看）",
        "violation (click for the rule)",
    ),
    (
        "legend_cadre",
        "由村干部兼任网格员（标记）",
        "held by a village cadre (flagged)",
    ),
    (
        "legend_barrier",
        "道路 / 河流（地面要素，可切换）",
        "roads / rivers (ground layers, toggled on the map)",
    ),
    ("selected", "选中的网格", "Selected grid"),
    ("click", "点击一个网格。", "Click a grid."),
    (
        "check_head",
        "检查网格文件（规划人员）",
        "Check a grids file (planners)",
    ),
    (
        "check_note",
        "检查会统计所提交形状内的户数，因此需要规划人员令牌。",
        "Checking counts households in the shapes sent, so it needs a planner's token.",
    ),
    ("token", "规划人员令牌", "planner token"),
    (
        "visits_head",
        "网格员的月度走访（规划人员）",
        "A worker's month of visits (planners)",
    ),
    (
        "visits_note",
        "走访计划包含居民信息，需要上面的规划人员令牌。",
        "Visits name residents, so they need the planner's token above.",
    ),
    (
        "worker_ph",
        "网格员编号，如 W001-001",
        "worker id, e.g. W001-001",
    ),
    ("show", "显示", "Show"),
    ("downloads", "下载（规划人员）", "Download (planners)"),
    ("ledger", "网格台账 .xlsx", "grid ledger .xlsx"),
    ("atlas", "网格图册 .pdf", "atlas .pdf"),
    ("landing", "API 首页", "API landing page"),
    ("licence", "Leaflet 许可", "Leaflet licence"),
    ("switch", "English", "中文"),
    ("switch_href", "?lang=en", "?lang=zh"),
];

/// The page in `lang`, with the tile URL (if any) filled in.
pub fn page(state: &AppState, lang: Lang) -> Html<String> {
    let tiles = serde_json::to_string(&state.tiles).unwrap_or_else(|_| "null".into());
    let mut html = PAGE.replace("__TILES__", &tiles);
    for (key, zh, en) in TEXTS {
        let text = if lang == Lang::Zh { zh } else { en };
        html = html.replace(&format!("{{{{{key}}}}}"), text);
    }
    let script = if lang == Lang::Zh {
        SCRIPT_ZH
    } else {
        SCRIPT_EN
    };
    Html(
        html.replace("__T__", script)
            .replace("/*__MAP_CSS__*/", MAP_CSS)
            .replace("/*__MAP_EXTRAS__*/", MAP_EXTRAS),
    )
}

/// The script's words: Chinese.
const SCRIPT_ZH: &str = r#"{
  lang: "zh",
  grid: "网格", name: "名称", community: "社区", kind: "类型", households: "户数", population: "人口", unknown: "未知", withheld: "户数过少，不公布",
  band: "规定范围", status: "状态", buildings: "楼栋", workers: "网格员", none: "无", staffing: "配置方式",
  not_assigned: "未分配", cadre: " — ⚑ 由村干部兼任 (cadre_responsible)", area: "面积", compactness: "紧凑度",
  bounds: "四至", grids_layer: "网格", barriers_layer: "道路、河流", blocks_layer: "街区、小区",
  st: { ok: "达标", under: "偏少", over: "偏多" },
  kinds: { basic: "基础网格", dedicated: "专属网格", urban: "城市社区", rural: "农村" },
  policies: { one_full_time_per_grid: "每格一名专职", by_hours: "按工时配置" },
  rules: { band_under: "户数不足", band_over: "户数超标", population_alert: "人口提示", population_band: "人口不符",
    gap: "空隙未覆盖", overlap: "网格重叠", crosses_leaf: "跨越社区边界", outside_leaves: "超出辖区", multi_part: "网格不连片",
    split_building: "楼栋被分割", empty_grid: "空网格", leaf_without_grid: "社区无网格", households_outside_grids: "住户不在网格内",
    split_block: "街区被分割", malformed_grid_code: "网格编码格式错误", duplicate_code: "网格编码重复" },
  summary: (g, c, ok, under, over) => `${c} 个社区共 ${g} 个网格 — 达标 ${ok}，偏少 ${under}，偏多 ${over}`,
  load_failed: "无法加载网格：",
  need_token: "请先输入规划人员令牌", no_assignment: "尚无网格员分配",
  holds_none: w => `${w} 在此分配中没有网格`,
  month: (w, n, h, of, m) => `<b>${w}</b>：${m} 共 ${n} 次走访，${h} 小时 / 可用 ${of} 小时`,
  day_visits: n => `${n} 次走访`, priority: n => `⚑ ${n} 次重点走访`,
  checking: "检查中…", need_token_check: "请先输入规划人员令牌：检查网格文件需要令牌",
  compliant: "合规", not_compliant: "不合规", violations: n => `${n} 处违规`,
  grids_line: (g, ok, under, over) => `网格 ${g}（达标 ${ok}，偏少 ${under}，偏多 ${over}）`,
  gaps: (gap, overlap) => `缝隙 ${gap} m²，重叠 ${overlap} m²`,
  violations_layer: "违规", violation: "违规", from_plan: "当前方案的检查", from_upload: "上传文件的检查"
}"#;

/// The script's words: English.
const SCRIPT_EN: &str = r#"{
  lang: "en",
  grid: "grid", name: "name", community: "community", kind: "kind", households: "households", population: "population", unknown: "unknown", withheld: "too few households to publish",
  band: "band", status: "status", buildings: "buildings", workers: "workers", none: "none", staffing: "staffing",
  not_assigned: "not assigned", cadre: " — ⚑ held by a village cadre (cadre_responsible)", area: "area", compactness: "compactness",
  bounds: "four sides (四至)", grids_layer: "grids", barriers_layer: "roads and rivers", blocks_layer: "street blocks",
  st: { ok: "ok", under: "under", over: "over" },
  kinds: {}, policies: {}, rules: {},
  summary: (g, c, ok, under, over) => `${g} grids in ${c} communities — ok ${ok}, under ${under}, over ${over}`,
  load_failed: "could not load the grids: ",
  need_token: "enter a planner token first", no_assignment: "no assignment yet",
  holds_none: w => `${w} holds no grid in this assignment`,
  month: (w, n, h, of, m) => `<b>${w}</b>: ${n} visits, ${h} h of ${of} h in ${m}`,
  day_visits: n => `${n} visits`, priority: n => `⚑ ${n} priority`,
  checking: "checking…", need_token_check: "enter a planner token first: checking a grids file needs one",
  compliant: "COMPLIANT", not_compliant: "NOT COMPLIANT", violations: n => `${n} violation(s)`,
  grids_line: (g, ok, under, over) => `grids ${g} (ok ${ok}, under ${under}, over ${over})`,
  gaps: (gap, overlap) => `gap ${gap} m², overlap ${overlap} m²`,
  violations_layer: "violations", violation: "violation", from_plan: "the current plan's check", from_upload: "the uploaded file's check"
}"#;

/// The page's styles beyond the base layout: grid labels, the selected grid, and a phone layout (the
/// map fills the top two thirds of a narrow screen, the side panel scrolls below it).
const MAP_CSS: &str = r##"
  .leaflet-tooltip.grid-label { background: transparent; border: 0; box-shadow: none; padding: 0;
    font-weight: 600; font-size: 11px; color: #222; text-shadow: 0 0 3px #fff, 0 0 3px #fff; }
  .leaflet-tooltip.grid-label::before { display: none; }
  @media (max-width: 700px) {
    #map { right: 0; bottom: 32vh; }
    #side { top: 68vh; left: 0; width: auto; border-left: 0; border-top: 1px solid #ccc; box-sizing: border-box; }
    #side h3 { display: none; }
  }
"##;

/// The page's script beyond loading the layers: labels at the zooms where a grid is big enough to
/// carry one, the selected grid highlighted, a scale bar, and the violations of the current plan's
/// check (and of an uploaded file's) drawn as a clickable layer. `#grid=ID` opens the page on a grid.
const MAP_EXTRAS: &str = r##"
let COMMUNITIES = { features: [] };
let GRID_LAYER = null;
L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
map.createPane("violations").style.zIndex = 450;
const violationLayer = L.geoJSON(null, {
  pane: "violations", className: "violation",
  style: { color: "#c00", weight: 3, dashArray: "5 4", fillColor: "#c00", fillOpacity: 0.15 },
  onEachFeature: (f, layer) => {
    const html = violationHtml(f.properties);
    layer.bindPopup(html);
    layer.on("click", () => { document.getElementById("info").innerHTML = html; });
  }
}).addTo(map);

// A grid's label: its name, else its number within the community (the code's last digits).
function labelOf(p) {
  if (p.name) return p.name;
  const id = String(p.id);
  const m = id.match(/-(G\d+)$/) || id.match(/^\d{12}(\d{3})$/) || id.match(/^\d{15}(\d{3})$/);
  return m ? m[1] : id;
}

// Labels only where the grid is wide enough on screen to carry one, so zoomed out the map stays clear.
function updateLabels() {
  if (!GRID_LAYER) return;
  let shown = 0;
  GRID_LAYER.eachLayer(l => {
    const b = l.getBounds();
    const w = map.latLngToContainerPoint(b.getNorthEast()).x - map.latLngToContainerPoint(b.getSouthWest()).x;
    // About 12 px a character at the labels' size (a Chinese character takes its full width).
    const needed = Math.max(44, 12 * labelOf(l.feature.properties).length);
    if (w >= needed && map.getBounds().intersects(b)) { l.openTooltip(); shown++; } else { l.closeTooltip(); }
  });
  document.body.dataset.labels = String(shown);
}

let selected = null;
function select(layer) {
  if (selected && GRID_LAYER) GRID_LAYER.resetStyle(selected);
  selected = layer;
  layer.setStyle({ color: "#0057b8", weight: 4, fillOpacity: 0.6 });
  layer.bringToFront();
  document.body.dataset.selected = layer.feature.properties.id;
}

function violationHtml(p) {
  const rule = word(T.rules, p.rule);
  return `<b>${esc(T.violation)}${T.lang === "zh" ? "：" : ": "}${esc(rule)}</b><br>` +
    `${esc(p.at)}<br>${esc(p.text)}<br><small>${esc(p.source)}</small>`;
}

// The shapes a violation is about: its grids (from `uploaded` when given, else the plan's), else its
// community.
function shapesOf(v, uploaded) {
  const ids = String(v.grid || "").split(",").map(s => s.trim()).filter(Boolean);
  const out = [];
  const lonLat = f => { let c = f.geometry && f.geometry.coordinates; while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
    return Array.isArray(c) && Math.abs(c[0]) <= 180 && Math.abs(c[1]) <= 90; };
  for (const id of ids) {
    const mine = uploaded && (uploaded.features || []).find(f => String(f.id ?? (f.properties || {}).id) === id && lonLat(f));
    let found = mine ? mine.geometry : null;
    if (!found && GRID_LAYER) GRID_LAYER.eachLayer(l => { if (String(l.feature.properties.id) === id) found = l.feature.geometry; });
    if (found) out.push(found);
  }
  if (!out.length && v.leaf) {
    const c = COMMUNITIES.features.find(f => (f.properties || {}).code === v.leaf);
    if (c) out.push(c.geometry);
  }
  return out;
}

// Draws `violations` (a check's), replacing what was drawn; `fit`: zoom to them.
function drawViolations(violations, uploaded, source, fit) {
  violationLayer.clearLayers();
  let n = 0;
  for (const v of violations) {
    for (const g of shapesOf(v, uploaded)) {
      violationLayer.addData({ type: "Feature", geometry: g, properties: {
        rule: v.rule, at: v.grid || named(v.leaf), text: said(v), source } });
      n++;
    }
  }
  document.body.dataset.violations = String(n);
  if (fit && n) map.fitBounds(violationLayer.getBounds(), { maxZoom: 15 });
}

// Called once the grids are drawn.
async function extras(gridLayer) {
  GRID_LAYER = gridLayer;
  gridLayer.eachLayer(l => l.bindTooltip(esc(labelOf(l.feature.properties)), { permanent: true, direction: "center", className: "grid-label", opacity: 1 }));
  map.on("zoomend moveend", updateLabels);
  const wanted = new URLSearchParams(location.hash.slice(1)).get("grid");
  if (wanted) gridLayer.eachLayer(l => { if (String(l.feature.properties.id) === wanted) { map.fitBounds(l.getBounds(), { maxZoom: 16, padding: [60, 60] }); select(l);
    document.getElementById("info").innerHTML = describe(l.feature.properties); } });
  updateLabels();
  document.body.dataset.mapHeight = String(document.getElementById("map").clientHeight);
  document.body.dataset.viewportHeight = String(window.innerHeight);
  try {
    const plans = await (await fetch("/api/plans")).json();
    if (plans.published == null) return;
    const r = await fetch(`/api/plans/${plans.published}/report`);
    if (r.ok) drawViolations((await r.json()).violations || [], null, T.from_plan, false);
  } catch (e) { console.warn("violations: " + e.message); }
}
"##;

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="{{html_lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="stylesheet" href="/assets/leaflet.css">
<style>
  html, body { margin: 0; height: 100%; font: 14px/1.4 system-ui, sans-serif; }
  #map { position: absolute; top: 0; bottom: 0; left: 0; right: 320px; background: #f4f2ec; }
  #side { position: absolute; top: 0; bottom: 0; right: 0; width: 300px; padding: 10px; overflow: auto; border-left: 1px solid #ccc; }
  .legend span { display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: middle; border: 1px solid #555; }
  table { border-collapse: collapse; } td { padding: 1px 6px 1px 0; vertical-align: top; }
  #status { color: #555; } pre { white-space: pre-wrap; font-size: 12px; }
/*__MAP_CSS__*/
</style>
</head>
<body>
<div id="map"></div>
<div id="side">
  <h3>gridplan</h3>
  <div id="status">{{loading}}</div>
  <p><a id="lang-switch" href="{{switch_href}}">{{switch}}</a></p>
  <div class="legend" id="legend">
    <div><span style="background:#2e9e4f"></span>{{legend_ok}}</div>
    <div><span style="background:#f0a500"></span>{{legend_under}}</div>
    <div><span style="background:#d7301f"></span>{{legend_over}}</div>
    <div><span style="background:#999"></span>{{legend_none}}</div>
    <div><span style="background:none;border:3px dashed #111"></span>{{legend_line}}</div>
    <div><span style="background:none;border:1px solid #555"></span>{{legend_grid_edge}}</div>
    <div><span style="background:none;border:1px dotted #8d6e63"></span>{{legend_block}}</div>
    <div><span style="background:none;border:2px dashed #6a1b9a"></span>{{legend_cadre}}</div>
    <div><span style="background:none;border:0;border-top:3px solid #6d4c41;height:0"></span>{{legend_barrier}}</div>
    <div><span style="background:none;border:0;border-top:3px solid #1e88e5;height:0"></span>{{legend_river}}</div>
    <div><span style="background:rgba(204,0,0,.15);border:2px dashed #c00"></span>{{legend_violation}}</div>
  </div>
  <h4>{{selected}}</h4>
  <div id="info">{{click}}</div>
  <h4>{{check_head}}</h4>
  <p>{{check_note}}</p>
  <input type="password" id="token" placeholder="{{token}}" autocomplete="off">
  <input type="file" id="upload" accept=".geojson,.json">
  <pre id="check"></pre>
  <p id="downloads" hidden>{{downloads}}: <a href="#" data-report="xlsx">{{ledger}}</a> · <a href="#" data-report="pdf">{{atlas}}</a> <span id="download-note"></span></p>
  <h4>{{visits_head}}</h4>
  <p>{{visits_note}}</p>
  <input id="sched-worker" placeholder="{{worker_ph}}" size="16">
  <input id="sched-month" placeholder="YYYY-MM" size="8">
  <button id="sched-go">{{show}}</button>
  <div id="schedule"></div>
  <p><a href="/?f=json">{{landing}}</a> · <a href="/api/openapi.json">OpenAPI</a> · <a href="/assets/LICENSE-leaflet.txt">{{licence}}</a></p>
</div>
<script src="/assets/leaflet.js"></script>
<script>
const TILES = __TILES__;
const T = __T__;
const COLORS = { ok: "#2e9e4f", under: "#f0a500", over: "#d7301f" };
const map = L.map("map", { preferCanvas: false });
// The ground layers lie under the grids (the grids' overlay pane is at 400).
map.createPane("blocks").style.zIndex = 380;
map.createPane("barriers").style.zIndex = 390;
// The base map, when one is configured (`serve --basemap URL`): 天地图's hosts are t0–t7.
if (TILES) { L.tileLayer(TILES, { maxZoom: 19, subdomains: /tianditu/.test(TILES) ? "01234567" : "abc" }).addTo(map); }
document.body.dataset.basemap = TILES || "";
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

// Communities and towns by name where the boundaries give one (code → name), filled once loaded.
const NAMES = {};
const named = code => (code && NAMES[code]) || code || "";
// A code of the data (a grid kind, a staffing policy) in the page's words, else as it is.
const word = (table, code) => (code && table[code]) || code || "";
// A violation or a problem in the page's language (reports carry the Chinese beside the English).
const said = v => (T.lang === "zh" && v.message_zh) || v.message;

function describe(p) {
  const rows = [[T.grid, p.id], [T.name, p.name ?? ""], [T.community, named(p.community)],
    [T.kind, word(T.kinds, p.kind) + (p.community_kind ? (T.lang === "zh" ? "（" + word(T.kinds, p.community_kind) + "）" : " (" + p.community_kind + ")") : "")], [T.households, p.counts_withheld ? T.withheld : p.households],
    [T.population, p.counts_withheld ? T.withheld : (p.population ?? T.unknown)], [T.band, p.min + "–" + p.max], [T.status, (T.st[p.status] || p.status)],
    [T.buildings, p.counts_withheld ? T.withheld : p.buildings], [T.workers, (p.workers || []).join(", ") || T.none],
    [T.staffing, (word(T.policies, p.staffing_policy) || T.not_assigned) + (p.cadre_responsible ? T.cadre : "")],
    [T.area, Math.round(p.area_m2 / 1000) / 1000 + " km²"], [T.compactness, p.compactness]];
  if (p.bounds_description) rows.splice(2, 0, [T.bounds, p.bounds_description]);
  return "<table>" + rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td><b>${esc(v)}</b></td></tr>`).join("") + "</table>";
}

(async () => {
  try {
    const [communities, grids] = await Promise.all([all("/collections/communities/items?limit=1000"), all("/collections/grids/items?limit=1000")]);
    for (const c of communities.features) { const p = c.properties || {}; if (p.code && p.name) NAMES[p.code] = p.name; }
    const gridLayer = L.geoJSON(grids, {
      className: "grid",
      style: f => ({ color: f.properties.cadre_responsible ? "#6a1b9a" : "#555", weight: f.properties.cadre_responsible ? 3 : 1,
        dashArray: f.properties.cadre_responsible ? "6 4" : null, fillColor: COLORS[f.properties.status] || "#999", fillOpacity: 0.45 }),
      onEachFeature: (f, layer) => {
        layer.bindPopup(describe(f.properties));
        layer.on("click", () => { document.getElementById("info").innerHTML = describe(f.properties); select(layer); });
      }
    }).addTo(map);
    L.geoJSON(communities, { interactive: false, className: "community", style: { color: "#111", weight: 3, dashArray: "10 5", fill: false } }).addTo(map);
    COMMUNITIES = communities;
    if (grids.features.length) map.fitBounds(gridLayer.getBounds());
    extras(gridLayer);
    const counts = grids.features.reduce((c, f) => (c[f.properties.status] = (c[f.properties.status] || 0) + 1, c), {});
    document.getElementById("status").textContent =
      T.summary(grids.features.length, communities.features.length, counts.ok || 0, counts.under || 0, counts.over || 0);
    document.body.dataset.grids = String(grids.features.length);
    document.body.dataset.lang = T.lang;
    try { await groundLayers(gridLayer); } catch (e) { console.warn("ground layers: " + e.message); }
    if (fromHash.get("worker") && fromHash.get("month")) await showSchedule(fromHash.get("worker"), fromHash.get("month"));
  } catch (e) {
    document.getElementById("status").textContent = T.load_failed + e.message;
  }
})();

// The ground layers the service has (public, read-only collections), under the grids, each with a
// toggle: barriers drawn at once, blocks fetched when first switched on (a county has many).
async function groundLayers(gridLayer) {
  const r = await fetch("/collections", { headers: { Accept: "application/json" } });
  const listed = r.ok ? (await r.json()).collections.map(c => c.id) : [];
  const overlays = { [T.grids_layer]: gridLayer, [T.violations_layer]: violationLayer };
  if (listed.includes("barriers")) {
    const barriers = await all("/collections/barriers/items?limit=1000");
    const river = c => /river|canal|water|河/.test(String(c || ""));
    overlays[T.barriers_layer] = L.geoJSON(barriers, { pane: "barriers", interactive: false, className: "barrier",
      style: f => ({ color: river(f.properties.class) ? "#1e88e5" : "#6d4c41", weight: 1 + 0.6 * (f.properties.rank ?? 1), opacity: 0.9 }) }).addTo(map);
    document.body.dataset.barriers = String(barriers.features.length);
  }
  if (listed.includes("blocks")) {
    const blocks = L.layerGroup();
    let loaded = false;
    overlays[T.blocks_layer] = blocks;
    map.on("overlayadd", async e => {
      if (e.layer !== blocks || loaded) return;
      loaded = true;
      const fc = await all("/collections/blocks/items?limit=1000");
      L.geoJSON(fc, { pane: "blocks", interactive: false, className: "block",
        style: { color: "#8d6e63", weight: 0.8, dashArray: "1 3", fillColor: "#d7ccc8", fillOpacity: 0.3 } }).addTo(blocks);
      document.body.dataset.blocks = String(fc.features.length);
    });
  }
  if (Object.keys(overlays).length > 1) L.control.layers(null, overlays, { collapsed: false }).addTo(map);
}

// A worker's month (planner-only route): the worker's grids outlined on the map and, per working day,
// the visits, the walking distance and how many are priority visits (residents of a category).
let scheduleLayer = null;
async function showSchedule(worker, month) {
  const out = document.getElementById("schedule");
  const token = document.getElementById("token").value.trim();
  if (!token) { out.textContent = T.need_token; return; }
  const assignment = (await (await fetch("/api/plans")).json()).assignment;
  if (!assignment) { out.textContent = T.no_assignment; return; }
  const r = await fetch(`/api/assignments/${assignment}/visits?month=${encodeURIComponent(month)}`,
    { method: "POST", headers: { "Authorization": "Bearer " + token } });
  const plan = await r.json();
  if (!r.ok) { out.textContent = plan.error; return; }
  const w = plan.workers.find(x => x.id === worker);
  if (!w) { out.textContent = T.holds_none(worker); return; }
  const grids = {};
  map.eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.id && l.getBounds) grids[l.feature.properties.id] = l; });
  if (scheduleLayer) scheduleLayer.remove();
  scheduleLayer = L.layerGroup().addTo(map);
  for (const g of w.grids) { if (grids[g]) L.geoJSON(grids[g].feature, { style: { color: "#0057b8", weight: 4, fill: false } }).addTo(scheduleLayer); }
  const byDay = {};
  for (const v of w.visits) (byDay[v.date] = byDay[v.date] || []).push(v);
  out.innerHTML = `<p>${T.month(esc(w.id), w.visits.length, Math.round(w.minutes / 60), Math.round(w.minutes_available / 60), esc(plan.month))}</p>` +
    "<table class='days'>" + w.routes.map(d => {
      const vs = byDay[d.date] || [];
      const priority = vs.filter(v => v.category !== "others").length;
      return `<tr><td>${esc(d.date)}</td><td>${T.day_visits(d.visits)}</td><td>${(d.distance_m / 1000).toFixed(1)} km</td><td>${priority ? T.priority(priority) : ""}</td></tr>`;
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

// The published plan's ledger and atlas (planner-only routes: they list workers' names and phones),
// offered once a planner token is entered, fetched with it and saved from memory.
const tokenInput = document.getElementById("token");
const showDownloads = () => { document.getElementById("downloads").hidden = !tokenInput.value.trim(); };
tokenInput.addEventListener("input", showDownloads);
showDownloads();
for (const a of document.querySelectorAll("#downloads a[data-report]")) {
  a.addEventListener("click", async ev => {
    ev.preventDefault();
    const note = document.getElementById("download-note");
    note.textContent = "…";
    const plan = (await (await fetch("/api/plans")).json()).published;
    if (!plan) { note.textContent = ""; return; }
    const r = await fetch(`/api/plans/${plan}/report.${a.dataset.report}`, { headers: { "Authorization": "Bearer " + tokenInput.value.trim() } });
    if (!r.ok) { note.textContent = (await r.json()).error; return; }
    const url = URL.createObjectURL(await r.blob());
    const save = Object.assign(document.createElement("a"), { href: url, download: `plan-${plan}.${a.dataset.report}` });
    document.body.appendChild(save); save.click(); save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    note.textContent = "";
  });
}

document.getElementById("upload").addEventListener("change", async ev => {
  const file = ev.target.files[0];
  if (!file) return;
  const out = document.getElementById("check");
  out.textContent = T.checking;
  const token = document.getElementById("token").value.trim();
  if (!token) { out.textContent = T.need_token_check; ev.target.value = ""; return; }
  const body = await file.arrayBuffer();
  const r = await fetch("/api/check", { method: "POST", body, headers: { "Content-Type": "application/geo+json", "Authorization": "Bearer " + token } });
  const report = await r.json();
  if (r.ok) { let uploaded = null; try { uploaded = JSON.parse(new TextDecoder().decode(body)); } catch (e) { /* drawn from the plan's shapes */ } drawViolations(report.violations || [], uploaded, T.from_upload, true); }
  if (!r.ok) { out.textContent = report.error + "\n" + (report.problems || []).map(said).join("\n"); return; }
  const s = report.summary;
  out.textContent = `${s.compliant ? T.compliant : T.not_compliant}: ${T.violations(s.violations)}\n` +
    T.grids_line(s.grids, s.ok, s.under, s.over) + "\n" +
    T.gaps(s.gap_area_m2.toFixed(1), s.overlap_area_m2.toFixed(1)) + "\n" +
    report.violations.slice(0, 20).map(v => `${v.grid || named(v.leaf)}${T.lang === "zh" ? "：" + word(T.rules, v.rule) + "：" : ": "}${said(v)}`).join("\n");
});
/*__MAP_EXTRAS__*/
</script>
</body>
</html>
"##;
