//! # gridplan
//!
//! Draws, checks and staffs the grids (网格) into which Chinese towns and districts divide every village
//! and residents' community. The library is the product; the `gridplan` binary is a thin layer over it.
//!
//! ## Pipeline
//!
//! ```text
//! households.geojson ─┐
//! boundaries.geojson ─┼─> io (read + validate) ─> crs (PROJ → metres) ─> tree + index ─┬─> partition ─> grids ─┐
//! rules.toml ─────────┘                                                               └──────────────> check ─┴─> report
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`problem`] | every input problem as a value (file, feature, field) |
//! | [`error`] | the library's error type |
//! | [`crs`] | CRS names, the metric working CRS, PROJ transformations |
//! | [`webmap`] | Chinese web-map coordinates (GCJ-02, BD-09) to WGS84 |
//! | [`io`] | streaming GeoJSON readers for households, boundaries and grids |
//! | [`model`] | households, areas, grids: plain data in the working CRS |
//! | [`tree`] | the boundary tree: parents, leaves, inherited kinds |
//! | [`index`] | R-trees over polygons; point-in-leaf with a rule for shared edges |
//! | [`geometry`] | planar geometry in metres: containment, areas, compactness, ring checks |
//! | [`rules`] | household bands per kind, alerts, workload weights; TOML overrides |
//! | [`dataset`] | boundaries and households loaded together, households placed in leaves |
//! | [`check`](mod@check) | compliance of existing grids: every violation as data |
//! | [`generate`] | the seeded synthetic district used for the demo, tests and benchmarks |
//! | [`partition`] | draws the grids of every leaf: atoms, grid counts, recursive bisection |
//! | [`workers`] | grid workers from GeoJSON or CSV |
//! | [`assign`] | workload per grid, staffing policies, the HiGHS assignment per town, staffing |
//! | [`streets`] | walking distances on the street network (the walkable barrier lines) |
//! | [`visits`] | monthly visit schedules and walking routes, overdue alerts from a visit log (planner-only) |
//! | [`store`] | SQLite persistence of datasets, plans and assignments |
//! | [`service`] | the HTTP service: OGC API – Features, the planning API, the map page |
//! | [`output`] | writing GeoJSON in WGS84 |

pub mod assign;
pub mod cells;
pub mod check;
pub mod crs;
pub mod dataset;
pub mod diff;
pub mod error;
pub mod generate;
pub mod geometry;
pub mod index;
pub mod io;
pub mod model;
pub mod output;
pub mod partition;
pub mod problem;
pub mod replan;
pub mod rules;
pub mod service;
pub mod store;
pub mod streets;
pub mod tree;
pub mod visits;
pub mod webmap;
pub mod workers;

pub use check::{CheckReport, check};
pub use crs::Crs;
pub use dataset::Dataset;
pub use error::{Error, Result};
pub use rules::Rules;
