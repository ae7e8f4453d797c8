//! What the service publishes: the current plan's grids (with their workers) and communities as OGC API
//! collections, pre-serialised so that a page of items is a concatenation, and a locator for points.
//! Everything here is public: aggregates per grid and community, nothing per household.

use crate::spatial::index::PolygonIndex;
use geo::{BoundingRect, Coord, MultiPolygon};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One feature, ready to send.
pub struct Entry {
    pub id: String,
    pub bbox: [f64; 4],
    /// The Feature object, serialised.
    pub json: String,
}

/// One OGC API collection.
pub struct Collection {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub bbox: [f64; 4],
    /// The features in force.
    pub entries: Vec<Entry>,
    /// The features out of force (the grids a re-draw retired, each with its `valid_from` and
    /// `valid_to`): served only to a request that names the days it asks for (`datetime`), and by id.
    pub retired: Vec<Entry>,
    by_id: HashMap<String, usize>,
    retired_by_id: HashMap<String, usize>,
}

impl Collection {
    fn new(
        id: &'static str,
        title: &'static str,
        description: &'static str,
        entries: Vec<Entry>,
        retired: Vec<Entry>,
    ) -> Collection {
        let bbox = entries.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |b, e| {
                [
                    b[0].min(e.bbox[0]),
                    b[1].min(e.bbox[1]),
                    b[2].max(e.bbox[2]),
                    b[3].max(e.bbox[3]),
                ]
            },
        );
        let bbox = if entries.is_empty() {
            [-180.0, -90.0, 180.0, 90.0]
        } else {
            bbox
        };
        let ids = |entries: &[Entry]| {
            entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.id.clone(), i))
                .collect()
        };
        Collection {
            id,
            title,
            description,
            bbox,
            by_id: ids(&entries),
            retired_by_id: ids(&retired),
            entries,
            retired,
        }
    }

    /// The feature with this id: the one in force, else a retired one.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        match self.by_id.get(id) {
            Some(&i) => Some(&self.entries[i]),
            None => self.retired_by_id.get(id).map(|&i| &self.retired[i]),
        }
    }

    /// The features a request sees: those in force when it names no days (`dated` false), else those in
    /// force and those retired, for the caller to filter by their validity.
    pub fn visible(&self, dated: bool) -> impl Iterator<Item = &Entry> {
        let retired: &[Entry] = if dated { &self.retired } else { &[] };
        self.entries.iter().chain(retired)
    }
}

/// The served state of one plan.
pub struct Published {
    pub plan: Option<i64>,
    pub assignment: Option<i64>,
    pub grids: Collection,
    pub communities: Collection,
    /// The ground layers in force (street blocks, barriers): public features, read-only, served only
    /// when there are any.
    pub blocks: Option<Collection>,
    pub barriers: Option<Collection>,
    grid_index: PolygonIndex<MultiPolygon>,
    grid_props: Vec<Map<String, Value>>,
    leaf_index: PolygonIndex<MultiPolygon>,
    leaf_props: Vec<Map<String, Value>>,
}

/// Properties of a grid that the locator answers with.
const GRID_KEYS: &[&str] = &[
    "id",
    "status",
    "households",
    "population",
    "workers",
    "primary_worker",
    "counts_withheld",
];
/// Properties of a community that the locator answers with.
const LEAF_KEYS: &[&str] = &[
    "code",
    "name",
    "kind",
    "households",
    "grids",
    "counts_withheld",
];

fn features(text: &str) -> Vec<Value> {
    features_of(serde_json::from_str::<Value>(text).ok().as_ref())
}

fn features_of(collection: Option<&Value>) -> Vec<Value> {
    collection
        .and_then(|v| v.get("features").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

fn geometry_of(f: &Value) -> Option<MultiPolygon> {
    let g = f.get("geometry")?;
    crate::input::geom::areal(g.get("type")?.as_str()?, g.get("coordinates")?).ok()
}

/// The bounding box of a GeoJSON geometry of any type: every coordinate pair in it.
fn any_bbox(g: &Value) -> Option<[f64; 4]> {
    fn walk(v: &Value, b: &mut [f64; 4]) {
        let Some(a) = v.as_array() else { return };
        match (
            a.first().and_then(Value::as_f64),
            a.get(1).and_then(Value::as_f64),
        ) {
            (Some(x), Some(y)) => {
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            _ => a.iter().for_each(|c| walk(c, b)),
        }
    }
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    walk(g.get("coordinates")?, &mut b);
    (b[0] <= b[2] && b[1] <= b[3]).then_some(b)
}

/// Features of any geometry as entries (the ground layers: no locator, no index).
fn plain_entries(features: &[Value]) -> Vec<Entry> {
    features
        .iter()
        .filter_map(|f| {
            let geometry = f.get("geometry")?;
            let bbox = any_bbox(geometry)?;
            let p = f.get("properties").and_then(Value::as_object)?;
            let id = p.get("id").and_then(Value::as_str)?.to_string();
            let mut feature = Map::new();
            feature.insert("type".into(), "Feature".into());
            feature.insert("id".into(), id.clone().into());
            feature.insert("geometry".into(), geometry.clone());
            feature.insert("properties".into(), Value::Object(p.clone()));
            Some(Entry {
                id,
                bbox,
                json: Value::Object(feature).to_string(),
            })
        })
        .collect()
}

fn entries(
    features: &[Value],
    id_key: &str,
) -> (Vec<Entry>, Vec<MultiPolygon>, Vec<Map<String, Value>>) {
    let mut entries = Vec::with_capacity(features.len());
    let mut shapes = Vec::with_capacity(features.len());
    let mut props = Vec::with_capacity(features.len());
    for f in features {
        let Some(mp) = geometry_of(f) else { continue };
        let p = f
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let id = p
            .get(id_key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let bbox = mp
            .bounding_rect()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
            .unwrap_or([0.0; 4]);
        let mut feature = Map::new();
        feature.insert("type".into(), "Feature".into());
        feature.insert("id".into(), id.clone().into());
        feature.insert(
            "geometry".into(),
            f.get("geometry").cloned().unwrap_or(Value::Null),
        );
        feature.insert("properties".into(), Value::Object(p.clone()));
        entries.push(Entry {
            id,
            bbox,
            json: Value::Object(feature).to_string(),
        });
        shapes.push(mp);
        props.push(p);
    }
    (entries, shapes, props)
}

impl Published {
    /// Nothing planned yet.
    pub fn empty() -> Published {
        Published::build(None, "{}", "{}", None, None)
    }

    /// Builds the served state from a plan's stored grids and communities and, when there is one, its
    /// assignment (whose `workers` and `primary_worker` join the grids), with the ground layers in
    /// force (`ground`: the public blocks and barriers texts, [`crate::output::ground_geojson`]).
    pub fn build(
        plan: Option<i64>,
        grids: &str,
        communities: &str,
        assignment: Option<(i64, &str)>,
        ground: Option<(&str, &str)>,
    ) -> Published {
        // Parsed once: the grids in force, and the record of retired grids beside them.
        let layer = serde_json::from_str::<Value>(grids).ok();
        let mut grid_features = features_of(layer.as_ref());
        let mut retired_features = features_of(
            layer
                .as_ref()
                .and_then(|v| v.get(crate::output::RETIRED_MEMBER)),
        );
        let mut by_id: HashMap<String, Map<String, Value>> = HashMap::new();
        if let Some((_, text)) = assignment {
            for f in features(text) {
                if let Some(p) = f.get("properties").and_then(Value::as_object)
                    && let Some(id) = p.get("id").and_then(Value::as_str)
                {
                    by_id.insert(id.to_string(), p.clone());
                }
            }
        }
        let mut community_features = features(communities);
        // Grids and communities of too few households are published without their counts.
        let withheld =
            super::disclosure::Withheld::of_features(&grid_features, &community_features);
        for f in &mut community_features {
            if let Some(p) = f.get_mut("properties").and_then(Value::as_object_mut) {
                withheld.community_properties(p);
            }
        }
        for f in &mut retired_features {
            if let Some(p) = f.get_mut("properties").and_then(Value::as_object_mut)
                && let Some(h) = p.get("households").and_then(Value::as_u64)
                && !super::disclosure::publishable(h)
            {
                super::disclosure::blank(p, super::disclosure::GRID_COUNTS);
            }
        }
        for f in &mut grid_features {
            let Some(p) = f.get_mut("properties").and_then(Value::as_object_mut) else {
                continue;
            };
            withheld.grid_properties(p);
            let id = p
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let a = by_id.get(&id);
            // Not `workload_hours`: from it and the households the sensitive counts can be solved for
            // (it is planner-only, in the staffing report).
            // `cadre_responsible` (a village cadre holds the grid) and the staffing policy are public
            // flags: they say who holds a grid, nothing about who lives in it.
            for key in [
                "workers",
                "primary_worker",
                "town",
                "cadre_responsible",
                "staffing_policy",
            ] {
                let v = a.and_then(|a| a.get(key)).cloned().unwrap_or(match key {
                    "workers" => Value::Array(vec![]),
                    "cadre_responsible" => Value::Bool(false),
                    _ => Value::Null,
                });
                p.insert(key.into(), v);
            }
        }
        let (g_entries, g_shapes, g_props) = entries(&grid_features, "id");
        // A retired grid has no workers: it is served as it was recorded when retired.
        let (g_retired, _, _) = entries(&retired_features, "id");
        let (c_entries, c_shapes, c_props) = entries(&community_features, "code");
        Published {
            plan,
            assignment: assignment.map(|a| a.0),
            grids: Collection::new(
                "grids",
                "Grids (网格)",
                "The grids of the current plan: households, population, band status and workers. Aggregates per grid only; a grid of too few households to publish is served without its counts (`counts_withheld`). With `datetime`, also the grids earlier re-draws retired, by their validity.",
                g_entries,
                g_retired,
            ),
            communities: Collection::new(
                "communities",
                "Communities and villages",
                "The leaves of the boundary tree, with their households and number of grids.",
                c_entries,
                Vec::new(),
            ),
            blocks: ground
                .map(|(b, _)| plain_entries(&features(b)))
                .filter(|e| !e.is_empty())
                .map(|e| {
                    Collection::new(
                        "blocks",
                        "Street blocks and compounds (街区、小区)",
                        "The blocks the grids are drawn from: code, name and kind only. Public ground features, no household figures.",
                        e,
                        Vec::new(),
                    )
                }),
            barriers: ground
                .map(|(_, b)| plain_entries(&features(b)))
                .filter(|e| !e.is_empty())
                .map(|e| {
                    Collection::new(
                        "barriers",
                        "Roads, rivers and rail (道路、河流)",
                        "The lines grid edges follow: name, class and rank only. Public ground features, no household figures.",
                        e,
                        Vec::new(),
                    )
                }),
            grid_index: PolygonIndex::new(g_shapes),
            grid_props: g_props,
            leaf_index: PolygonIndex::new(c_shapes),
            leaf_props: c_props,
        }
    }

    pub fn collection(&self, id: &str) -> Option<&Collection> {
        match id {
            "grids" => Some(&self.grids),
            "communities" => Some(&self.communities),
            "blocks" => self.blocks.as_ref(),
            "barriers" => self.barriers.as_ref(),
            _ => None,
        }
    }

    /// The collections served: communities and grids, then the ground layers when there are any.
    pub fn collections(&self) -> Vec<&Collection> {
        let mut out = vec![&self.communities, &self.grids];
        out.extend(self.blocks.as_ref());
        out.extend(self.barriers.as_ref());
        out
    }

    /// The community, grid and responsible worker at a WGS84 point.
    pub fn locate(&self, lon: f64, lat: f64) -> Value {
        let p = Coord { x: lon, y: lat };
        let pick =
            |index: &PolygonIndex<MultiPolygon>, props: &[Map<String, Value>], keys: &[&str]| {
                index.containing(p).first().map(|&i| {
                    let mut m = Map::new();
                    for k in keys {
                        if let Some(v) = props[i].get(*k) {
                            m.insert((*k).to_string(), v.clone());
                        }
                    }
                    Value::Object(m)
                })
            };
        let grid = pick(&self.grid_index, &self.grid_props, GRID_KEYS);
        let worker = grid
            .as_ref()
            .and_then(|g| g.get("primary_worker"))
            .cloned()
            .unwrap_or(Value::Null);
        serde_json::json!({
            "lon": lon,
            "lat": lat,
            "community": pick(&self.leaf_index, &self.leaf_props, LEAF_KEYS),
            "grid": grid,
            "worker": worker,
            "plan": self.plan,
        })
    }
}
