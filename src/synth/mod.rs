//! **Test and demo data, not the product.** Behind the `synth` feature (on by default, for `gridplan
//! generate`, the bundled demo, the tests and the benchmarks); nothing in the library depends on it.
//!
//! A seeded synthetic district, realistic enough to exercise every rule: an urban street of compounds
//! with many-household buildings, a rural town of scattered houses, a concave (L-shaped) community, a
//! multi-part community with an enclave, a village with a lake, a community too small for one grid
//! (120 households), one whose count fits no whole number of grids (550), a 640-household tower, and a
//! few households in the river between the towns (outside every leaf).
//!
//! The geometry is built in metres in CGCS2000 / 3-degree Gauss–Krüger CM 120E (EPSG:4549) around
//! Liuhe, Nanjing (district code 320116), and written in WGS84 through PROJ. Larger data repeats the
//! district's two towns across a wider county ("replicas"). The same seed gives byte-identical files.
//!
//! The grids file is a naive guillotine partition (recursive straight cuts between buildings) with three
//! injected faults in the first replica: an overlap strip, a gap strip, and a grid reaching into its
//! neighbours. It is what the demo `check` finds fault with; the real partition engine lives elsewhere.

pub mod compounds;

pub use compounds::{CitySpec, Fabric};

use crate::error::Result;
use crate::output::{FeatureWriter, Shape};
use crate::rng::Rng;
use crate::spatial::crs::{Crs, Transform, WGS84};
use crate::spatial::geometry;
use geo::{BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::Path;

/// The metric CRS the district is built in.
pub const BUILD_CRS: Crs = Crs(4549);
/// Where the first replica's south-west corner lies (lon, lat): Liuhe, Nanjing.
const ORIGIN_LON_LAT: (f64, f64) = (118.80, 32.30);
/// Size of an urban lattice cell (m).
const URBAN_CELL: f64 = 900.0;
/// Size of a rural lattice cell (m).
const RURAL_CELL: f64 = 2500.0;
/// Width of the river between the two towns (m).
const RIVER: f64 = 300.0;
/// Space between replicas (m).
const REPLICA_GAP: f64 = 500.0;
/// Households in one replica, about.
pub const HOUSEHOLDS_PER_REPLICA: u64 = 19_500;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub replicas: usize,
    /// Counties the replicas are spread over (consecutive replicas share a county). One county is the
    /// district of the demo (code 320116 under no parent); more make a province (320000) of counties
    /// 320116, 320117, …, each with its own towns, for the county-by-county commands.
    pub counties: usize,
}

/// Replicas per county when the number of counties is not given: about 490,000 households.
pub const REPLICAS_PER_COUNTY: usize = 25;

impl Spec {
    /// The demo district (one replica), or enough replicas for about `households`.
    pub fn new(seed: u64, households: Option<u64>) -> Spec {
        let replicas = households
            .map(|h| (h as f64 / HOUSEHOLDS_PER_REPLICA as f64).round().max(1.0) as usize)
            .unwrap_or(1);
        Spec {
            seed,
            replicas,
            counties: replicas.div_ceil(REPLICAS_PER_COUNTY),
        }
    }

    /// The county (0-based) of replica `r`, and `r`'s number within its county.
    fn county_of(&self, r: usize) -> (usize, usize) {
        let counties = self.counties.clamp(1, self.replicas.max(1));
        let per = self.replicas.div_ceil(counties).max(1);
        (r / per, r % per)
    }

    /// The 6-digit code of county `c`.
    fn county_code(c: usize) -> String {
        format!("{}", 320_116 + c)
    }

    /// The 9-digit codes of replica `r`'s urban street and rural town.
    fn town_codes(&self, r: usize) -> (String, String) {
        let (c, local) = self.county_of(r);
        let county = Spec::county_code(c);
        (
            format!("{county}{:03}", 1 + local),
            format!("{county}{:03}", 101 + local),
        )
    }
}

/// One generated boundary unit.
pub struct Unit {
    pub code: String,
    pub name: String,
    pub level: &'static str,
    pub parent: Option<String>,
    pub kind: Option<&'static str>,
    pub geometry: MultiPolygon,
}

/// One generated household point (one household each).
pub struct Point {
    pub pos: Coord,
    pub building: String,
    pub entrance: Option<u32>,
    pub community: Option<String>,
    pub population: u32,
    pub elderly_alone: u32,
    pub key_persons: u32,
    pub vulnerable: u32,
}

/// A generated district in the build CRS.
pub struct District {
    pub units: Vec<Unit>,
    pub points: Vec<Point>,
    pub grids: Vec<(String, String, MultiPolygon)>,
    pub workers: Vec<GenWorker>,
    /// Street blocks and compounds (code, name, kind, polygon), each inside one leaf.
    pub blocks: Vec<(String, String, &'static str, MultiPolygon)>,
    /// Named roads and the river (name, class, rank, line).
    pub barriers: Vec<(String, &'static str, u32, LineString)>,
}

/// One generated grid worker.
pub struct GenWorker {
    pub id: String,
    pub kind: &'static str,
    pub town: String,
    pub home: Coord,
    pub exited: bool,
}

/// What [`write()`] wrote.
pub struct Written {
    pub blocks: usize,
    pub barriers: usize,
    pub workers: usize,
    pub leaves: usize,
    pub households: usize,
    pub points: usize,
    pub grids: usize,
}

const PLACE_NAMES: &[&str] = &[
    "雄州", "龙池", "金牛", "长芦", "瓜埠", "程桥", "马鞍", "冶山", "竹镇", "横梁", "新篁", "八百",
    "玉带", "葛塘", "大厂", "灵岩", "方山", "平山", "东沟", "西陵",
];

fn place(i: usize) -> String {
    let base = PLACE_NAMES[i % PLACE_NAMES.len()];
    if i < PLACE_NAMES.len() {
        base.to_string()
    } else {
        format!("{base}{}", i / PLACE_NAMES.len() + 1)
    }
}

/// A lattice of cells whose shared edges are jittered polylines: neighbouring cells share their edge
/// exactly, so the cells tile the block with no gap and no overlap.
struct Lattice {
    cell: f64,
    n: usize,
    vertices: Vec<Vec<Coord>>,
    /// Horizontal edges: from vertex (i, j) to (i + 1, j), intermediate points.
    h_edges: Vec<Vec<Vec<Coord>>>,
    /// Vertical edges: from vertex (i, j) to (i, j + 1).
    v_edges: Vec<Vec<Vec<Coord>>>,
}

impl Lattice {
    fn new(rng: &mut Rng, origin: Coord, cell: f64, n: usize) -> Lattice {
        let jitter = cell * 0.12;
        let vertices: Vec<Vec<Coord>> = (0..=n)
            .map(|i| {
                (0..=n)
                    .map(|j| {
                        let interior_x = i > 0 && i < n;
                        let interior_y = j > 0 && j < n;
                        let dx = if interior_x {
                            rng.range(-jitter, jitter)
                        } else {
                            0.0
                        };
                        let dy = if interior_y {
                            rng.range(-jitter, jitter)
                        } else {
                            0.0
                        };
                        Coord {
                            x: origin.x + i as f64 * cell + dx,
                            y: origin.y + j as f64 * cell + dy,
                        }
                    })
                    .collect()
            })
            .collect();
        let wiggle = |rng: &mut Rng, a: Coord, b: Coord, on_border: bool| -> Vec<Coord> {
            const STEPS: usize = 4;
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len = dx.hypot(dy);
            let (nx, ny) = (-dy / len, dx / len);
            (1..STEPS)
                .map(|s| {
                    let t = s as f64 / STEPS as f64;
                    let off = if on_border {
                        0.0
                    } else {
                        rng.range(-0.05, 0.05) * cell
                    };
                    Coord {
                        x: a.x + t * dx + off * nx,
                        y: a.y + t * dy + off * ny,
                    }
                })
                .collect()
        };
        let h_edges = (0..n)
            .map(|i| {
                (0..=n)
                    .map(|j| wiggle(rng, vertices[i][j], vertices[i + 1][j], j == 0 || j == n))
                    .collect()
            })
            .collect();
        let v_edges = (0..=n)
            .map(|i| {
                (0..n)
                    .map(|j| wiggle(rng, vertices[i][j], vertices[i][j + 1], i == 0 || i == n))
                    .collect()
            })
            .collect();
        Lattice {
            cell,
            n,
            vertices,
            h_edges,
            v_edges,
        }
    }

    /// The polyline of the lattice edge from vertex `a` to vertex `b` (neighbours), both ends included.
    fn edge(&self, a: (usize, usize), b: (usize, usize)) -> Vec<Coord> {
        let mut line = vec![self.vertices[a.0][a.1]];
        let inner: Vec<Coord> = if a.1 == b.1 {
            let i = a.0.min(b.0);
            let e = &self.h_edges[i][a.1];
            if a.0 < b.0 {
                e.clone()
            } else {
                e.iter().rev().copied().collect()
            }
        } else {
            let j = a.1.min(b.1);
            let e = &self.v_edges[a.0][j];
            if a.1 < b.1 {
                e.clone()
            } else {
                e.iter().rev().copied().collect()
            }
        };
        line.extend(inner);
        line.push(self.vertices[b.0][b.1]);
        line
    }

    /// The outline of a set of cells, counter-clockwise, built from the lattice's own edges (no boolean
    /// operation, so neighbouring outlines share their edges bit for bit). The cells must form one
    /// simply connected region.
    fn outline(&self, cells: &[(usize, usize)]) -> Polygon {
        type V = (usize, usize);
        let mut edges: Vec<(V, V)> = Vec::new();
        for &(i, j) in cells {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            for k in 0..4 {
                edges.push((corners[k], corners[(k + 1) % 4]));
            }
        }
        let boundary: Vec<(V, V)> = edges
            .iter()
            .filter(|(a, b)| !edges.contains(&(*b, *a)))
            .copied()
            .collect();
        let next: std::collections::HashMap<V, V> = boundary.iter().copied().collect();
        let start = boundary.iter().map(|e| e.0).min().unwrap_or((0, 0));
        let mut ring = vec![self.vertices[start.0][start.1]];
        let mut at = start;
        for _ in 0..boundary.len() {
            let Some(&to) = next.get(&at) else { break };
            ring.extend(self.edge(at, to).into_iter().skip(1));
            at = to;
            if at == start {
                break;
            }
        }
        Polygon::new(LineString(ring), vec![])
    }

    /// Cell (i, j) as a counter-clockwise polygon.
    fn cell(&self, i: usize, j: usize) -> MultiPolygon {
        MultiPolygon(vec![self.outline(&[(i, j)])])
    }

    fn all_cells(&self) -> Vec<(usize, usize)> {
        (0..self.n)
            .flat_map(|i| (0..self.n).map(move |j| (i, j)))
            .collect()
    }

    fn extent(&self) -> f64 {
        self.cell * self.n as f64
    }
}

fn rect_polygon(min: Coord, max: Coord) -> MultiPolygon {
    MultiPolygon(vec![Rect::new(min, max).to_polygon()])
}

fn union(a: &MultiPolygon, b: &MultiPolygon) -> MultiPolygon {
    geometry::normalized(a.union(b))
}

fn square(c: Coord, half: f64) -> MultiPolygon {
    rect_polygon(
        Coord {
            x: c.x - half,
            y: c.y - half,
        },
        Coord {
            x: c.x + half,
            y: c.y + half,
        },
    )
}

/// An irregular closed blob (a lake) around `c`.
fn blob(rng: &mut Rng, c: Coord, radius: f64) -> LineString {
    const N: usize = 14;
    let mut pts: Vec<Coord> = (0..N)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / N as f64;
            let r = radius * rng.range(0.7, 1.1);
            Coord {
                x: c.x + r * a.cos(),
                y: c.y + r * a.sin(),
            }
        })
        .collect();
    pts.push(pts[0]);
    // Holes run clockwise.
    pts.reverse();
    LineString(pts)
}

/// Builds the district in the build CRS.
pub fn district(spec: &Spec) -> Result<District> {
    let to_build = Transform::new(WGS84, BUILD_CRS)?;
    let origin = to_build.point(Coord {
        x: ORIGIN_LON_LAT.0,
        y: ORIGIN_LON_LAT.1,
    })?;
    let mut rng = Rng::new(spec.seed);
    let mut d = District {
        units: Vec::new(),
        points: Vec::new(),
        grids: Vec::new(),
        workers: Vec::new(),
        blocks: Vec::new(),
        barriers: Vec::new(),
    };
    let width = 3.0 * URBAN_CELL + RIVER + 3.0 * RURAL_CELL + REPLICA_GAP;
    let height = 3.0 * RURAL_CELL + REPLICA_GAP;
    let cols = (spec.replicas as f64).sqrt().ceil() as usize;
    let counties = spec.counties.clamp(1, spec.replicas.max(1));
    let province = (counties > 1).then(|| "320000000000".to_string());
    if let Some(code) = &province {
        d.units.push(Unit {
            code: code.clone(),
            name: "江苏省 (synthetic)".to_string(),
            level: "province",
            parent: None,
            kind: None,
            geometry: MultiPolygon(vec![]),
        });
    }
    let county_units: Vec<(usize, String)> = (0..counties)
        .map(|c| {
            let code = format!("{}000000", Spec::county_code(c));
            d.units.push(Unit {
                code: code.clone(),
                name: if c == 0 {
                    "六合区 (synthetic)".to_string()
                } else {
                    format!("{}区 (synthetic)", PLACE_NAMES[(7 * c) % PLACE_NAMES.len()])
                },
                level: "district",
                parent: province.clone(),
                kind: None,
                geometry: MultiPolygon(vec![]),
            });
            (d.units.len() - 1, code)
        })
        .collect();
    for r in 0..spec.replicas {
        let base = Coord {
            x: origin.x + (r % cols) as f64 * width,
            y: origin.y + (r / cols) as f64 * height,
        };
        let (c, _) = spec.county_of(r);
        replica(
            &mut rng,
            &mut d,
            r,
            base,
            &county_units[c].1,
            &spec.town_codes(r),
        );
    }
    // A county is its towns' outlines, one part each (the river and the gaps between replicas divide
    // them); the province is its counties'.
    for (unit, code) in &county_units {
        let parts: Vec<Polygon> = d
            .units
            .iter()
            .filter(|u| u.parent.as_deref() == Some(code.as_str()))
            .flat_map(|u| u.geometry.0.iter().cloned())
            .collect();
        d.units[*unit].geometry = MultiPolygon(parts);
    }
    if province.is_some() {
        let parts: Vec<Polygon> = county_units
            .iter()
            .flat_map(|(unit, _)| d.units[*unit].geometry.0.iter().cloned())
            .collect();
        d.units[0].geometry = MultiPolygon(parts);
    }
    // The ground (streets, blocks, the river) from its own random stream, so the households, grids
    // and workers are the same with or without it.
    let mut ground_rng = Rng::new(spec.seed ^ 0x57EE_7B10_C500_0000);
    for r in 0..spec.replicas {
        let base = Coord {
            x: origin.x + (r % cols) as f64 * width,
            y: origin.y + (r / cols) as f64 * height,
        };
        ground(&mut ground_rng, &mut d, r, base, &spec.town_codes(r));
    }
    Ok(d)
}

/// Street lattice of one area: `n` × `n` cells of `cell` metres; every `road_every`-th line is a
/// named road, every `arterial_every`-th an arterial; neighbouring cells are merged at random into
/// compounds of two or three (bars and L-shapes), so blocks are irregular.
struct Streets {
    n: usize,
    road_every: usize,
    arterial_every: usize,
    cell: f64,
    suffix: (&'static str, &'static str),
}

fn ground(rng: &mut Rng, d: &mut District, r: usize, base: Coord, codes: &(String, String)) {
    let urban_origin = base;
    let rural_origin = Coord {
        x: base.x + 3.0 * URBAN_CELL + RIVER,
        y: base.y,
    };
    let leaves: Vec<(String, MultiPolygon)> = d
        .units
        .iter()
        .filter(|u| u.level == "community" || u.level == "village")
        .filter(|u| {
            let town = if u.level == "community" {
                &codes.0
            } else {
                &codes.1
            };
            u.code.starts_with(town.as_str())
        })
        .map(|u| (u.code.clone(), u.geometry.clone()))
        .collect();
    let mut n_name = 0usize;
    for (origin, streets, kinds) in [
        (
            urban_origin,
            Streets {
                n: 48,
                road_every: 4,
                arterial_every: 16,
                cell: 3.0 * URBAN_CELL / 48.0,
                suffix: ("路", "大道"),
            },
            ["compound", "street_block"],
        ),
        (
            rural_origin,
            Streets {
                n: 66,
                road_every: 6,
                arterial_every: 22,
                cell: 3.0 * RURAL_CELL / 66.0,
                suffix: ("村道", "公路"),
            },
            ["hamlet", "farmland"],
        ),
    ] {
        let lat = Lattice::new(rng, origin, streets.cell, streets.n);
        // Roads: whole lattice lines, named.
        for vertical in [true, false] {
            for i in (0..=streets.n).step_by(streets.road_every) {
                let mut line: Vec<Coord> = Vec::new();
                for j in 0..streets.n {
                    let (a, b) = if vertical {
                        ((i, j), (i, j + 1))
                    } else {
                        ((j, i), (j + 1, i))
                    };
                    let e = lat.edge(a, b);
                    let skip = usize::from(!line.is_empty());
                    line.extend(e.into_iter().skip(skip));
                }
                let arterial = i % streets.arterial_every == 0;
                n_name += 1;
                let name = format!(
                    "{}{}",
                    place(n_name + 3 * r),
                    if arterial {
                        streets.suffix.1
                    } else {
                        streets.suffix.0
                    }
                );
                let (class, rank) = if arterial {
                    ("arterial", 3)
                } else {
                    ("road", 2)
                };
                d.barriers.push((name, class, rank, LineString(line)));
            }
        }
        // Blocks: lattice cells merged into bars and L-shapes, clipped to each leaf.
        let mut taken = vec![vec![false; streets.n]; streets.n];
        let mut shapes: Vec<Vec<(usize, usize)>> = Vec::new();
        for j in 0..streets.n {
            for i in 0..streets.n {
                if taken[i][j] {
                    continue;
                }
                let free = |i: usize, j: usize, t: &Vec<Vec<bool>>| {
                    i < streets.n && j < streets.n && !t[i][j]
                };
                // Cells never merge across a road.
                let no_road_x = (i + 1) % streets.road_every != 0;
                let no_road_y = (j + 1) % streets.road_every != 0;
                let roll = rng.unit();
                let mut shape = vec![(i, j)];
                if roll < 0.3 && no_road_x && free(i + 1, j, &taken) {
                    shape.push((i + 1, j));
                    if rng.unit() < 0.4 && no_road_y && free(i, j + 1, &taken) {
                        shape.push((i, j + 1));
                    }
                } else if roll < 0.5 && no_road_y && free(i, j + 1, &taken) {
                    shape.push((i, j + 1));
                }
                for &(a, b) in &shape {
                    taken[a][b] = true;
                }
                shapes.push(shape);
            }
        }
        for shape in shapes {
            let poly = MultiPolygon(vec![lat.outline(&shape)]);
            let Some(pb) = poly.bounding_rect() else {
                continue;
            };
            for (code, leaf) in &leaves {
                let Some(lb) = leaf.bounding_rect() else {
                    continue;
                };
                let meets = pb.min().x < lb.max().x
                    && lb.min().x < pb.max().x
                    && pb.min().y < lb.max().y
                    && lb.min().y < pb.max().y;
                if !meets {
                    continue;
                }
                let part = geometry::normalized(poly.intersection(leaf));
                // One block per piece of land (a block the leaf's outline cuts in two is two blocks).
                for piece in part
                    .0
                    .into_iter()
                    .filter(|p| geo::Area::unsigned_area(p) > 1.0)
                {
                    let k = d.blocks.len();
                    let kind = if shape.len() > 1 { kinds[0] } else { kinds[1] };
                    let name = format!(
                        "{}{}",
                        place(k % 97),
                        if shape.len() > 1 { "小区" } else { "地块" }
                    );
                    d.blocks.push((
                        format!("{code}-K{:04}", k),
                        name,
                        kind,
                        MultiPolygon(vec![piece]),
                    ));
                }
            }
        }
    }
    // The river between the street and the town, along its middle.
    let x = base.x + 3.0 * URBAN_CELL + RIVER / 2.0;
    d.barriers.push((
        if r == 0 {
            "滁河".to_string()
        } else {
            format!("滁河{}", r + 1)
        },
        "river",
        3,
        LineString(vec![
            Coord { x, y: base.y },
            Coord {
                x,
                y: base.y + 3.0 * RURAL_CELL,
            },
        ]),
    ));
}

struct LeafPlan {
    code: String,
    geometry: MultiPolygon,
    households: u64,
    urban: bool,
    tower: bool,
}

fn replica(
    rng: &mut Rng,
    d: &mut District,
    r: usize,
    base: Coord,
    district_code: &str,
    codes: &(String, String),
) {
    let street = format!("{}000", codes.0);
    let town = format!("{}000", codes.1);
    let urban = Lattice::new(rng, base, URBAN_CELL, 3);
    let rural_origin = Coord {
        x: base.x + urban.extent() + RIVER,
        y: base.y,
    };
    let rural = Lattice::new(rng, rural_origin, RURAL_CELL, 3);

    // Urban street: seven communities from nine cells.
    let l_shape = MultiPolygon(vec![urban.outline(&[(0, 0), (1, 0), (0, 1)])]);
    let mut c11 = urban.cell(1, 1);
    let enclave_centre = {
        let b = c11.bounding_rect().map(|r| r.center()).unwrap_or(base);
        Coord {
            x: b.x + 120.0,
            y: b.y + 60.0,
        }
    };
    let enclave = square(enclave_centre, 110.0).0.remove(0);
    // The enclave is a hole of one community and a second part of another: the same ring, both ways.
    let mut hole = enclave.exterior().clone();
    hole.0.reverse();
    c11.0[0].interiors_push(hole);
    let c11_with_hole = c11;
    let c22_with_enclave = MultiPolygon(vec![urban.outline(&[(2, 2)]), enclave]);
    let urban_plan: Vec<(MultiPolygon, u64, bool, Option<&'static str>)> = vec![
        (l_shape, 4_200, false, None),
        (urban.cell(2, 0), 120, false, None),
        (c11_with_hole, rng.int(2_200, 2_800), false, None),
        (urban.cell(2, 1), rng.int(2_000, 2_400), true, None),
        (
            urban.cell(0, 2),
            rng.int(1_000, 1_400),
            false,
            Some("rural"),
        ),
        (urban.cell(1, 2), 550, false, None),
        (c22_with_enclave, rng.int(1_300, 1_600), false, None),
    ];
    let mut leaves = Vec::new();
    let street_first = d.units.len();
    d.units.push(Unit {
        code: street.clone(),
        name: format!("{}街道", place(2 * r)),
        level: "street",
        parent: Some(district_code.to_string()),
        kind: Some("urban"),
        geometry: MultiPolygon(vec![]),
    });
    for (k, (geom, households, tower, kind)) in urban_plan.into_iter().enumerate() {
        let code = format!("{}{:03}", &street[..9], k + 1);
        let geometry = geometry::normalized(geom);
        d.units.push(Unit {
            code: code.clone(),
            name: format!("{}社区", place(7 * r + k + 3)),
            level: "community",
            parent: Some(street.clone()),
            kind,
            geometry: geometry.clone(),
        });
        leaves.push(LeafPlan {
            code,
            geometry,
            households,
            urban: kind.is_none(),
            tower,
        });
    }
    d.units[street_first].geometry = MultiPolygon(vec![urban.outline(&urban.all_cells())]);

    // Rural town: nine villages, one with a lake.
    let town_first = d.units.len();
    d.units.push(Unit {
        code: town.clone(),
        name: format!("{}镇", place(2 * r + 1)),
        level: "town",
        parent: Some(district_code.to_string()),
        kind: Some("rural"),
        geometry: MultiPolygon(vec![]),
    });
    for k in 0..9 {
        let (i, j) = (k % 3, k / 3);
        let mut geom = rural.cell(i, j);
        if (i, j) == (1, 1) {
            let c = geom
                .bounding_rect()
                .map(|r| r.center())
                .unwrap_or(rural_origin);
            let lake = blob(rng, c, 420.0);
            geom.0[0].interiors_push(lake);
        }
        let code = format!("{}{:03}", &town[..9], 201 + k);
        let geometry = geometry::normalized(geom);
        d.units.push(Unit {
            code: code.clone(),
            name: format!("{}村", place(9 * r + k + 5)),
            level: "village",
            parent: Some(town.clone()),
            kind: None,
            geometry: geometry.clone(),
        });
        leaves.push(LeafPlan {
            code,
            geometry,
            households: rng.int(350, 1_300),
            urban: false,
            tower: false,
        });
    }
    d.units[town_first].geometry = MultiPolygon(vec![rural.outline(&rural.all_cells())]);

    for leaf in &leaves {
        if leaf.urban || leaf.tower {
            compounds(rng, d, leaf);
        } else {
            hamlets(rng, d, leaf);
        }
    }
    // A few households in the river: outside every leaf.
    for k in 0..3 {
        d.points.push(Point {
            pos: Coord {
                x: base.x + urban.extent() + RIVER / 2.0,
                y: base.y + 500.0 + 700.0 * k as f64,
            },
            building: format!("{street}-boat{k}"),
            entrance: None,
            community: None,
            population: 2,
            elderly_alone: 0,
            key_persons: 0,
            vulnerable: 0,
        });
    }
    // Workers: fewer full-time workers than grids in the street (a shortfall to report), part-timers and
    // village cadres in the town, and a few who exited.
    let first_rural = leaves
        .iter()
        .position(|l| l.code.starts_with(&town[..9]))
        .unwrap_or(leaves.len());
    for (code, leaf_range, mix) in [
        (
            &street,
            0..first_rural,
            [("full_time", 0.82), ("part_time", 0.12), ("cadre", 0.0)],
        ),
        (
            &town,
            first_rural..leaves.len(),
            [("full_time", 0.8), ("part_time", 0.1), ("cadre", 0.25)],
        ),
    ] {
        let households: u64 = leaves[leaf_range.clone()]
            .iter()
            .map(|l| l.households)
            .sum();
        let grids_about = households as f64 / if code == &street { 400.0 } else { 250.0 };
        let mut n = 0;
        for (kind, share) in mix {
            for _ in 0..(grids_about * share).round() as usize {
                n += 1;
                let leaf =
                    &leaves[leaf_range.start + rng.int(0, (leaf_range.len() - 1) as u64) as usize];
                let Some(home) = random_inside(rng, &leaf.geometry, 20.0) else {
                    continue;
                };
                d.workers.push(GenWorker {
                    id: format!("W{}-{n:03}", &code[6..9]),
                    kind,
                    town: code.clone(),
                    home,
                    exited: n % 17 == 0,
                });
            }
        }
    }
    let faults = r == 0;
    for (n, leaf) in leaves.iter().enumerate() {
        let fault = if !faults {
            Fault::None
        } else {
            match n {
                2 => Fault::Overlap(30.0),
                9 => Fault::Gap(40.0),
                _ => Fault::None,
            }
        };
        naive_grids(d, leaf, fault);
    }
    if faults {
        // One grid of the L-shaped community reaches out of it: a square around a point of its outline
        // that lies on the community's boundary, far from its sibling grids.
        let l = &leaves[0];
        let siblings: Vec<usize> = (0..d.grids.len())
            .filter(|&g| d.grids[g].1 == l.code)
            .collect();
        // A point of the outline with a neighbouring community just across it.
        let on_boundary = |v: Coord| {
            [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)]
                .iter()
                .any(|(dx, dy)| {
                    let p = Coord {
                        x: v.x + dx,
                        y: v.y + dy,
                    };
                    !geometry::contains(&l.geometry, p)
                        && leaves[1..]
                            .iter()
                            .any(|o| geometry::contains(&o.geometry, p))
                })
        };
        let mut best: Option<(f64, usize, Coord)> = None;
        for &g in &siblings {
            for &v in d.grids[g].2.0.iter().flat_map(|p| p.exterior().0.iter()) {
                if !on_boundary(v) {
                    continue;
                }
                let clearance = siblings
                    .iter()
                    .filter(|&&o| o != g)
                    .map(|&o| distance_to(&d.grids[o].2, v))
                    .fold(f64::INFINITY, f64::min);
                if best.is_none_or(|b| clearance > b.0) {
                    best = Some((clearance, g, v));
                }
            }
        }
        if let Some((_, g, v)) = best {
            d.grids[g].2 = union(&d.grids[g].2, &square(v, 50.0));
        }
    }
}

fn distance_to(mp: &MultiPolygon, c: Coord) -> f64 {
    mp.0.iter()
        .flat_map(|p| p.exterior().0.iter())
        .map(|v| (v.x - c.x).hypot(v.y - c.y))
        .fold(f64::INFINITY, f64::min)
}

fn random_inside(rng: &mut Rng, geom: &MultiPolygon, margin: f64) -> Option<Coord> {
    let r = geom.bounding_rect()?;
    for _ in 0..500 {
        let c = Coord {
            x: rng.range(r.min().x + margin, r.max().x - margin),
            y: rng.range(r.min().y + margin, r.max().y - margin),
        };
        let ok = [
            (0.0, 0.0),
            (-margin, -margin),
            (margin, -margin),
            (margin, margin),
            (-margin, margin),
        ]
        .iter()
        .all(|(dx, dy)| {
            geometry::contains(
                geom,
                Coord {
                    x: c.x + dx,
                    y: c.y + dy,
                },
            )
        });
        if ok {
            return Some(c);
        }
    }
    None
}

fn people(rng: &mut Rng, urban: bool) -> Point {
    let population = if urban {
        rng.int(1, 4) as u32
    } else {
        rng.int(1, 5) as u32
    };
    let elderly_alone = (population == 1 && rng.unit() < if urban { 0.15 } else { 0.3 }) as u32;
    Point {
        pos: Coord { x: 0.0, y: 0.0 },
        building: String::new(),
        entrance: None,
        community: None,
        population,
        elderly_alone,
        key_persons: (rng.unit() < 0.004) as u32,
        vulnerable: (rng.unit() < 0.02) as u32,
    }
}

/// Urban compounds: buildings of several entrances, every household of a building at one point.
fn compounds(rng: &mut Rng, d: &mut District, leaf: &LeafPlan) {
    let mut left = leaf.households;
    let mut building = 0;
    if leaf.tower {
        // The 640-household tower: eight entrances of eighty households.
        if let Some(pos) = random_inside(rng, &leaf.geometry, 50.0) {
            for h in 0..640 {
                let mut p = people(rng, true);
                // Entrances 9 m apart along the tower, an address point each.
                p.pos = Coord {
                    x: pos.x - 31.5 + 9.0 * (h / 80) as f64,
                    y: pos.y,
                };
                p.building = format!("{}-T1", leaf.code);
                p.entrance = Some(1 + h / 80);
                d.points.push(p);
            }
            left = left.saturating_sub(640);
        }
    }
    let mut attempts = 0;
    while left > 0 && attempts < 1_000 {
        attempts += 1;
        let Some(centre) = random_inside(rng, &leaf.geometry, 60.0) else {
            continue;
        };
        let rows = rng.int(1, 3);
        let cols = rng.int(2, 4);
        for a in 0..rows {
            for b in 0..cols {
                if left == 0 {
                    break;
                }
                let pos = Coord {
                    x: centre.x - 45.0 + b as f64 * 30.0,
                    y: centre.y - 30.0 + a as f64 * 30.0,
                };
                if !geometry::contains(&leaf.geometry, pos) {
                    continue;
                }
                building += 1;
                let entrances = rng.int(2, 4) as u32;
                let per_entrance = rng.int(10, 30);
                let size = (entrances as u64 * per_entrance).min(left);
                for h in 0..size {
                    let mut p = people(rng, true);
                    p.pos = pos;
                    p.building = format!("{}-B{building:03}", leaf.code);
                    p.entrance = Some(1 + (h / per_entrance) as u32);
                    d.points.push(p);
                }
                left -= size;
            }
        }
    }
}

/// Rural hamlets: houses scattered around a few centres, one household per house.
fn hamlets(rng: &mut Rng, d: &mut District, leaf: &LeafPlan) {
    let n_hamlets = rng.int(3, 7);
    let centres: Vec<Coord> = (0..n_hamlets)
        .filter_map(|_| random_inside(rng, &leaf.geometry, 150.0))
        .collect();
    if centres.is_empty() {
        return;
    }
    let mut house = 0;
    let mut placed = 0;
    let mut attempts = 0;
    while placed < leaf.households && attempts < leaf.households * 20 {
        attempts += 1;
        let c = centres[rng.int(0, centres.len() as u64 - 1) as usize];
        let pos = Coord {
            x: c.x + rng.range(-160.0, 160.0),
            y: c.y + rng.range(-160.0, 160.0),
        };
        if !geometry::contains(&leaf.geometry, pos) {
            continue;
        }
        house += 1;
        let mut p = people(rng, false);
        p.pos = pos;
        p.building = format!("{}-H{house:04}", leaf.code);
        p.community = Some(leaf.code.clone());
        d.points.push(p);
        placed += 1;
    }
}

enum Fault {
    None,
    /// The first cut's low side reaches this many metres past the cut: an overlap strip.
    Overlap(f64),
    /// The first cut's high side starts this many metres past the cut: a gap strip.
    Gap(f64),
}

/// Naive grids by recursive straight cuts between buildings (a baseline, not the partition engine).
fn naive_grids(d: &mut District, leaf: &LeafPlan, fault: Fault) {
    let mut atoms: Vec<(Coord, u64)> = Vec::new();
    {
        let mut by_building: std::collections::BTreeMap<&str, (Coord, u64)> = Default::default();
        for p in d
            .points
            .iter()
            .filter(|p| p.building.starts_with(&leaf.code))
        {
            let e = by_building.entry(&p.building).or_insert((p.pos, 0));
            e.1 += 1;
        }
        atoms.extend(by_building.into_values());
    }
    let total: u64 = atoms.iter().map(|a| a.1).sum();
    let target = if leaf.urban || leaf.tower {
        400.0
    } else {
        250.0
    };
    let k = ((total as f64 / target).round() as usize).max(1);
    let mut out = Vec::new();
    cut(leaf.geometry.clone(), &mut atoms, k, &mut out, fault);
    for (n, g) in out.into_iter().enumerate() {
        d.grids.push((
            crate::model::IdStyle::Legacy.id(&leaf.code, n as u32 + 1),
            leaf.code.clone(),
            g,
        ));
    }
}

fn cut(
    region: MultiPolygon,
    atoms: &mut [(Coord, u64)],
    k: usize,
    out: &mut Vec<MultiPolygon>,
    fault: Fault,
) {
    if k <= 1 || atoms.len() <= 1 {
        out.push(region);
        return;
    }
    let Some(r) = region.bounding_rect() else {
        return;
    };
    let xs = atoms
        .iter()
        .map(|a| a.0.x)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |m, x| {
            (m.0.min(x), m.1.max(x))
        });
    let ys = atoms
        .iter()
        .map(|a| a.0.y)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |m, y| {
            (m.0.min(y), m.1.max(y))
        });
    let vertical = xs.1 - xs.0 >= ys.1 - ys.0;
    let key = |c: &Coord| if vertical { (c.x, c.y) } else { (c.y, c.x) };
    atoms.sort_by(|a, b| {
        key(&a.0)
            .partial_cmp(&key(&b.0))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let k1 = k / 2;
    let total: u64 = atoms.iter().map(|a| a.1).sum();
    let want = total as f64 * k1 as f64 / k as f64;
    let mut best: Option<(f64, usize)> = None;
    let mut prefix = 0u64;
    for i in 1..atoms.len() {
        prefix += atoms[i - 1].1;
        if key(&atoms[i - 1].0).0 < key(&atoms[i].0).0 {
            let miss = (prefix as f64 - want).abs();
            if best.is_none_or(|b| miss < b.0) {
                best = Some((miss, i));
            }
        }
    }
    let Some((_, i)) = best else {
        out.push(region);
        return;
    };
    let c = (key(&atoms[i - 1].0).0 + key(&atoms[i].0).0) / 2.0;
    let (lo_end, hi_start) = match fault {
        Fault::None => (c, c),
        Fault::Overlap(w) => (c + w, c),
        Fault::Gap(w) => (c, c + w),
    };
    let pad = 10.0;
    let (min, max) = (
        Coord {
            x: r.min().x - pad,
            y: r.min().y - pad,
        },
        Coord {
            x: r.max().x + pad,
            y: r.max().y + pad,
        },
    );
    let (lo_rect, hi_rect) = if vertical {
        (
            rect_polygon(
                min,
                Coord {
                    x: lo_end,
                    y: max.y,
                },
            ),
            rect_polygon(
                Coord {
                    x: hi_start,
                    y: min.y,
                },
                max,
            ),
        )
    } else {
        (
            rect_polygon(
                min,
                Coord {
                    x: max.x,
                    y: lo_end,
                },
            ),
            rect_polygon(
                Coord {
                    x: min.x,
                    y: hi_start,
                },
                max,
            ),
        )
    };
    let lo = geometry::normalized(region.intersection(&lo_rect));
    let hi = geometry::normalized(region.intersection(&hi_rect));
    let (a, b) = atoms.split_at_mut(i);
    cut(lo, a, k1, out, Fault::None);
    cut(hi, b, k - k1, out, Fault::None);
}

/// The CRSs the generated files are written in.
#[derive(Debug, Clone, Copy)]
pub struct Crss {
    /// `households.geojson`.
    pub households: Crs,
    /// Every other file.
    pub others: Crs,
}

/// Each household's id: its building's and its number there (`320116001001-B001-007`), unique in the
/// district, so that visit schedules and logs name residents.
fn household_ids(points: &[Point]) -> Vec<String> {
    let mut numbered: HashMap<&str, u32> = HashMap::new();
    points
        .iter()
        .map(|p| {
            let n = numbered.entry(p.building.as_str()).or_default();
            *n += 1;
            format!("{}-{:03}", p.building, n)
        })
        .collect()
}

/// A made-up name and phone for the `i`-th generated worker, for the ledger and the atlas to show: drawn
/// from the index (not the random stream, so the rest of the district is as before), the phones in
/// the 1390000xxxx block.
fn synthetic_contact(i: usize) -> (String, String) {
    const SURNAMES: [&str; 20] = [
        "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高",
        "林", "何", "郭", "马", "罗",
    ];
    const GIVEN: [&str; 24] = [
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
        "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "玉兰",
    ];
    let name = format!(
        "{}{}",
        SURNAMES[i % SURNAMES.len()],
        GIVEN[(i * 7 + i / SURNAMES.len()) % GIVEN.len()]
    );
    (name, format!("1390000{:04}", i % 10_000))
}

/// Writes `boundaries.geojson`, `households.geojson`, `grids.geojson` and `workers.geojson` into `dir`
/// (households in `households_crs` when given, everything else in WGS84).
pub fn write(
    spec: &Spec,
    dir: &Path,
    households_crs: Option<Crs>,
    progress: bool,
) -> Result<Written> {
    let crs = Crss {
        households: households_crs.unwrap_or(WGS84),
        others: WGS84,
    };
    write_in(spec, dir, crs, progress)
}

/// [`write()`] with every file in a CRS of the caller's choosing (`gridplan generate --out-crs`).
pub fn write_in(spec: &Spec, dir: &Path, crs: Crss, progress: bool) -> Result<Written> {
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message("generating the district");
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let d = district(spec)?;
    write_district(&d, true, dir, crs, bar)
}

/// Writes the compound city of `spec` (`fabric` [`Fabric::Compounds`], or [`Fabric::StreetLines`]
/// without the blocks file), every file in the CRSs given.
pub fn write_city(
    spec: &CitySpec,
    fabric: Fabric,
    dir: &Path,
    crs: Crss,
    progress: bool,
) -> Result<Written> {
    let bar = progress.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message("generating the city");
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let d = compounds::district(spec)?;
    write_district(&d, fabric != Fabric::StreetLines, dir, crs, bar)
}

/// Writes a district's files into `dir` (the blocks file only `with_blocks`).
fn write_district(
    d: &District,
    with_blocks: bool,
    dir: &Path,
    crs: Crss,
    bar: Option<indicatif::ProgressBar>,
) -> Result<Written> {
    std::fs::create_dir_all(dir).map_err(|source| crate::error::Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut w = FeatureWriter::create(&dir.join("boundaries.geojson"), BUILD_CRS, crs.others)?;
    let mut leaves = 0;
    for u in &d.units {
        let mut props = Map::new();
        props.insert("code".into(), u.code.clone().into());
        props.insert("name".into(), u.name.clone().into());
        props.insert("level".into(), u.level.into());
        if let Some(p) = &u.parent {
            props.insert("parent".into(), p.clone().into());
        }
        if let Some(k) = u.kind {
            props.insert("kind".into(), k.into());
        }
        leaves += (u.level == "community" || u.level == "village") as usize;
        w.feature(None, Shape::Areal(&u.geometry), &props)?;
    }
    w.finish()?;

    if let Some(b) = &bar {
        b.set_message("writing households");
    }
    let mut w = FeatureWriter::create(&dir.join("households.geojson"), BUILD_CRS, crs.households)?;
    for (p, id) in d.points.iter().zip(household_ids(&d.points)) {
        let mut props = Map::new();
        props.insert("id".into(), id.into());
        props.insert("building".into(), p.building.clone().into());
        if let Some(e) = p.entrance {
            props.insert("entrance".into(), e.into());
        }
        if let Some(c) = &p.community {
            props.insert("community".into(), c.clone().into());
        }
        props.insert("population".into(), p.population.into());
        for (name, v) in [
            ("elderly_alone", p.elderly_alone),
            ("key_persons", p.key_persons),
            ("vulnerable", p.vulnerable),
        ] {
            if v > 0 {
                props.insert(name.into(), Value::from(v));
            }
        }
        w.feature(None, Shape::Point(p.pos), &props)?;
    }
    w.finish()?;

    let mut w = FeatureWriter::create(&dir.join("grids.geojson"), BUILD_CRS, crs.others)?;
    for (id, community, g) in &d.grids {
        let props = json!({"id": id, "community": community});
        let props = props.as_object().cloned().unwrap_or_default();
        w.feature(Some(id), Shape::Areal(g), &props)?;
    }
    w.finish()?;

    if with_blocks {
        let mut w = FeatureWriter::create(&dir.join("blocks.geojson"), BUILD_CRS, crs.others)?;
        for (code, name, kind, g) in &d.blocks {
            let props = json!({"code": code, "name": name, "kind": kind});
            let props = props.as_object().cloned().unwrap_or_default();
            w.feature(None, Shape::Areal(g), &props)?;
        }
        w.finish()?;
    }

    let mut w = FeatureWriter::create(&dir.join("barriers.geojson"), BUILD_CRS, crs.others)?;
    for (name, class, rank, line) in &d.barriers {
        let props = json!({"name": name, "class": class, "rank": rank});
        let props = props.as_object().cloned().unwrap_or_default();
        w.feature(None, Shape::Line(line), &props)?;
    }
    w.finish()?;

    let mut w = FeatureWriter::create(&dir.join("workers.geojson"), BUILD_CRS, crs.others)?;
    for (i, worker) in d.workers.iter().enumerate() {
        let mut props = Map::new();
        props.insert("id".into(), worker.id.clone().into());
        let (name, phone) = synthetic_contact(i);
        props.insert("name".into(), name.into());
        props.insert("phone".into(), phone.into());
        props.insert("type".into(), worker.kind.into());
        props.insert("town".into(), worker.town.clone().into());
        props.insert(
            "status".into(),
            if worker.exited { "exited" } else { "active" }.into(),
        );
        w.feature(None, Shape::Point(worker.home), &props)?;
    }
    w.finish()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(Written {
        blocks: if with_blocks { d.blocks.len() } else { 0 },
        barriers: d.barriers.len(),
        workers: d.workers.len(),
        leaves,
        households: d.points.len(),
        points: d.points.len(),
        grids: d.grids.len(),
    })
}

/// The ground layers of a district in the build CRS, as `--blocks` and `--barriers` would read them
/// (no blocks for [`Fabric::StreetLines`]).
pub fn layers(d: &District, fabric: Fabric) -> crate::model::Layers {
    let blocks = if fabric == Fabric::StreetLines {
        Vec::new()
    } else {
        d.blocks
            .iter()
            .enumerate()
            .map(|(feature, (code, name, kind, g))| crate::model::Block {
                feature,
                code: Some(code.clone()),
                name: Some(name.clone()),
                kind: Some((*kind).to_string()),
                geometry: g.clone(),
            })
            .collect()
    };
    let barriers = d
        .barriers
        .iter()
        .enumerate()
        .map(
            |(feature, (name, class, rank, line))| crate::model::Barrier {
                feature,
                name: Some(name.clone()),
                class: Some((*class).to_string()),
                rank: *rank,
                geometry: geo::MultiLineString(vec![line.clone()]),
            },
        )
        .collect();
    crate::model::Layers { blocks, barriers }
}

/// The district as an in-memory dataset in the build CRS (no files, no reprojection): for tests and
/// benchmarks of the planning steps alone.
pub fn dataset(spec: &Spec, rules: &crate::rules::Rules) -> Result<crate::input::dataset::Dataset> {
    dataset_of(district(spec)?, rules)
}

/// [`dataset`] of a district already built (its units and points; its layers are [`layers`]).
pub fn dataset_of(
    d: District,
    rules: &crate::rules::Rules,
) -> Result<crate::input::dataset::Dataset> {
    let areas = d
        .units
        .into_iter()
        .enumerate()
        .map(|(feature, u)| crate::model::Area {
            feature,
            code: u.code,
            name: Some(u.name),
            level: Some(u.level.to_string()),
            parent: u.parent,
            kind: u.kind.map(str::to_string),
            geometry: geometry::normalized(u.geometry),
        })
        .collect();
    let (tree, problems) =
        crate::spatial::tree::AreaTree::build("generated boundaries", areas, rules);
    if problems.has_errors() {
        return Err(crate::error::Error::Invalid(problems.0));
    }
    let ids = household_ids(&d.points);
    let households = d
        .points
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(feature, (p, id))| crate::model::Household {
            feature,
            id: Some(id.into_boxed_str()),
            pos: p.pos,
            households: 1,
            population: Some(p.population),
            building: Some(p.building.into_boxed_str()),
            entrance: p.entrance.map(|e| e.to_string().into_boxed_str()),
            community: p.community.map(String::into_boxed_str),
            sensitive: crate::model::Sensitive {
                elderly_alone: p.elderly_alone,
                key_persons: p.key_persons,
                vulnerable: p.vulnerable,
            },
        })
        .collect();
    Ok(crate::input::dataset::Dataset::new(
        "generated households",
        BUILD_CRS,
        tree,
        households,
        problems,
    ))
}

/// A scripted boundary change for tests: unit `gone` merges into `keep` (villages merged). Returns
/// `None` when either code is missing.
pub fn merge_units(areas: &mut Vec<crate::model::Area>, keep: &str, gone: &str) -> Option<()> {
    use geo::BooleanOps;
    let k = areas.iter().position(|a| a.code == keep)?;
    let g = areas.iter().position(|a| a.code == gone)?;
    areas[k].geometry =
        crate::spatial::geometry::normalized(areas[k].geometry.union(&areas[g].geometry));
    areas.remove(g);
    Some(())
}

/// A scripted boundary change for tests: community `code` is split at the middle of its extent into a
/// west part `west_code` and an east part `east_code` (a community split off). Returns `None` when the
/// code is missing.
pub fn split_community(
    areas: &mut Vec<crate::model::Area>,
    code: &str,
    west_code: &str,
    east_code: &str,
) -> Option<()> {
    use geo::BooleanOps;
    let x = areas.iter().position(|a| a.code == code)?;
    let b = areas[x].geometry.bounding_rect()?;
    let west = geo::MultiPolygon(vec![
        geo::Rect::new(
            Coord {
                x: b.min().x - 1.0,
                y: b.min().y - 1.0,
            },
            Coord {
                x: b.center().x,
                y: b.max().y + 1.0,
            },
        )
        .to_polygon(),
    ]);
    let mut east = areas[x].clone();
    east.code = east_code.into();
    east.geometry = crate::spatial::geometry::normalized(areas[x].geometry.difference(&west));
    let mut w = areas[x].clone();
    w.code = west_code.into();
    w.geometry = crate::spatial::geometry::normalized(areas[x].geometry.intersection(&west));
    areas.remove(x);
    areas.push(w);
    areas.push(east);
    Some(())
}

/// A scripted boundary change for tests and benchmarks: the land of community `from` around its shared
/// corner with `to` (a compound's worth, 500 m × 180 m at most) moves to `to`. Returns the area moved (m²).
pub fn move_compound(areas: &mut [crate::model::Area], from: &str, to: &str) -> Option<f64> {
    let x = areas.iter().position(|a| a.code == from)?;
    let y = areas.iter().position(|a| a.code == to)?;
    let (bx, by) = (
        areas[x].geometry.bounding_rect()?,
        areas[y].geometry.bounding_rect()?,
    );
    let centre = Coord {
        x: (bx.center().x + by.center().x) / 2.0,
        y: bx.max().y.min(by.max().y).max(by.min().y),
    };
    let cut = rect_polygon(
        Coord {
            x: centre.x - 250.0,
            y: centre.y - 160.0,
        },
        Coord {
            x: centre.x + 250.0,
            y: centre.y + 20.0,
        },
    );
    let moved = geometry::normalized(areas[x].geometry.intersection(&cut));
    areas[x].geometry = geometry::normalized(areas[x].geometry.difference(&moved));
    areas[y].geometry = geometry::normalized(areas[y].geometry.union(&moved));
    Some(geometry::area_m2(&moved))
}
