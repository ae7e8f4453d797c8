//! Dedicated grids (专属网格): a place run by its own organisation (a school, a hospital, an enterprise,
//! an industrial park, a market) becomes a grid of its own, carved out of its community before the
//! basic grids are drawn on the rest, and exempt from the household band.
//!
//! Every grid belongs to exactly one community, so a place is placed in the leaves it lies in:
//! - the part of a place inside a leaf smaller than the check's sliver tolerance is digitising noise and
//!   is left to that leaf's basic grids;
//! - a place that lies (beyond that noise) in two communities is **split by community**: one dedicated
//!   grid per community, each with the place's name and record, and a warning naming the place and the
//!   communities (grid platforms file a dedicated grid under one community: the planner sees where it
//!   straddles and may redraw the place);
//! - a place in no leaf, and two places that overlap, are refused (exit 2), naming the features.

use crate::model::{Date, Dedicated, GridKind, GridRecord};
use crate::plan::numbering::Community;
use crate::problem::{Problem, Problems};
use crate::rules::CheckRules;
use crate::spatial::geometry;
use crate::spatial::tree::AreaTree;
use geo::{BooleanOps, MultiPolygon};

/// One dedicated grid to draw: the land of place `place` within leaf `leaf` (an index into the tree's
/// areas).
#[derive(Debug, Clone)]
pub struct Carved {
    pub place: usize,
    pub leaf: usize,
    pub land: MultiPolygon,
}

/// Places the dedicated `places` (read from `file`) in the leaves of `tree`: the grids to carve, and
/// the warnings; `Err` with every problem when a place lies in no leaf or two places overlap.
pub fn carve(
    file: &str,
    tree: &AreaTree,
    places: &[Dedicated],
    check: &CheckRules,
) -> Result<(Vec<Carved>, Problems), Vec<Problem>> {
    let mut problems = Problems::default();
    let boxes: Vec<_> = places.iter().map(|p| geometry::bbox(&p.geometry)).collect();
    for a in 0..places.len() {
        for b in a + 1..places.len() {
            let (Some(ba), Some(bb)) = (boxes[a], boxes[b]) else {
                continue;
            };
            if !geometry::rects_overlap(&ba, &bb) {
                continue;
            }
            let shared = geometry::intersection_area(&places[a].geometry, &places[b].geometry);
            let tol = check.tolerance_m2(
                geometry::perimeter_m(&places[a].geometry)
                    .min(geometry::perimeter_m(&places[b].geometry)),
            );
            if shared > tol {
                problems.push(
                    Problem::error(
                        file,
                        format!(
                            "dedicated places overlap by {shared:.1} m²: {} (feature {}) and {} (feature {}); a piece of land belongs to one grid",
                            places[a].label(),
                            places[a].feature,
                            places[b].label(),
                            places[b].feature
                        ),
                    )
                    .at(places[b].feature, places[b].code.as_deref())
                    .field("geometry"),
                );
            }
        }
    }
    let mut carved = Vec::new();
    for (i, place) in places.iter().enumerate() {
        let tol = check.tolerance_m2(geometry::perimeter_m(&place.geometry));
        let mut pieces: Vec<Carved> = Vec::new();
        for &leaf in tree.leaves() {
            let outline = &tree.areas[leaf].geometry;
            let (Some(a), Some(b)) = (boxes[i], geometry::bbox(outline)) else {
                continue;
            };
            if !geometry::rects_overlap(&a, &b) {
                continue;
            }
            let land = geometry::normalized(place.geometry.intersection(outline));
            if geometry::area_m2(&land) > tol {
                pieces.push(Carved {
                    place: i,
                    leaf,
                    land,
                });
            }
        }
        match pieces.len() {
            0 => problems.push(
                Problem::error(
                    file,
                    format!(
                        "dedicated place {} lies in no community or village: a dedicated grid belongs to one",
                        place.label()
                    ),
                )
                .at(place.feature, place.code.as_deref())
                .field("geometry"),
            ),
            1 => {}
            n => {
                let codes: Vec<&str> = pieces
                    .iter()
                    .map(|p| tree.areas[p.leaf].code.as_str())
                    .collect();
                problems.push(
                    Problem::warning(
                        file,
                        format!(
                            "dedicated place {} straddles {n} communities ({}): split into one dedicated grid per community",
                            place.label(),
                            codes.join(", ")
                        ),
                    )
                    .at(place.feature, place.code.as_deref())
                    .field("geometry"),
                );
            }
        }
        carved.extend(pieces);
    }
    if problems.has_errors() {
        return Err(problems.0);
    }
    Ok((carved, problems))
}

/// The record of a dedicated grid for `place` in `community`, in force from `date`: the place's name,
/// the place answerable for it (its `responsible` when the file names one).
pub fn record(place: &Dedicated, community: Community, date: Date) -> GridRecord {
    let name = place
        .name
        .clone()
        .or_else(|| place.code.clone())
        .unwrap_or_else(|| format!("{}专属网格", community.label()));
    GridRecord {
        kind: GridKind::Dedicated,
        responsible: Some(place.responsible.clone().unwrap_or_else(|| name.clone())),
        name: Some(name),
        valid_from: Some(date),
        unit: place.unit.clone(),
        place_code: place.code.clone(),
        ..GridRecord::default()
    }
}
