//! # gridplan
//!
//! Draws, checks and staffs the grids (网格) into which Chinese towns and districts divide every village
//! and residents' community. The library is the product; the `gridplan` binary is a thin layer over it.
//!
//! ## Pipeline
//!
//! ```text
//! households.geojson ─┐
//! boundaries.geojson ─┼─> input (read + validate) ─> spatial (PROJ → metres, tree, index) ─┬─> plan ─> grids ─┐
//! rules.toml ─────────┘                                                                    └─────────> check ─┴─> report
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`problem`] | every input problem as a value (file, feature, field) |
//! | [`lang`] | the language of terminal output (Chinese where the locale says `zh…`, else English) |
//! | [`error`] | the library's error type |
//! | [`model`] | households, areas, grids: plain data in the working CRS |
//! | [`rules`] | household bands per kind, alerts, workload weights; TOML overrides |
//! | [`rng`] | the small seeded random number generator (SplitMix64) |
//! | [`spatial`] | [`crs`](spatial::crs) (PROJ → metres), [`webmap`](spatial::webmap) (GCJ-02, BD-09), [`geometry`](spatial::geometry), [`index`](spatial::index) (R-trees), [`tree`](spatial::tree) (the boundary tree) |
//! | [`formats`] | GeoPackage and Shapefile layers read as the GeoJSON they hold, and written from it |
//! | [`input`] | streaming readers: households, boundaries, grids, workers, blocks and barriers, ledgers; the [`dataset`](input::dataset) |
//! | [`plan`] | [`partition`](plan::partition) (atoms, counts, bisection, cells) and [`replan`](plan::replan) |
//! | [`check`](mod@check) | compliance of existing grids: every violation as data |
//! | [`staff`] | [`assign`](staff::assign) (workload, policies, the HiGHS assignment), [`visits`](staff::visits), [`streets`](staff::streets) |
//! | [`ops`] | plan, re-plan, check, staff, diff, visits: the operations the binary and the service share |
//! | [`diff`] | what changed between two grid layers, household by household |
//! | [`output`] | writing GeoJSON in WGS84 |
//! | [`store`] | SQLite persistence of datasets, plans and assignments |
//! | [`timing`] | each phase's wall time, logged at `debug` |
//! | [`service`] | the HTTP service: OGC API – Features, the planning API, the map page |
//! | [`synth`] | the seeded synthetic district (feature `synth`, on by default): demo, test and benchmark data, not part of the product |

pub mod check;
pub mod diff;
pub mod error;
pub mod formats;
pub mod input;
pub mod lang;
pub mod model;
pub mod ops;
pub mod output;
pub mod plan;
pub mod problem;
pub mod rng;
pub mod rules;
pub mod service;
pub mod spatial;
pub mod staff;
pub mod store;
#[cfg(feature = "synth")]
pub mod synth;
pub mod timing;

#[cfg(test)]
mod fixtures;

pub use check::{CheckReport, check};
pub use error::{Error, Result};
pub use input::dataset::Dataset;
pub use rules::Rules;
pub use spatial::crs::Crs;
