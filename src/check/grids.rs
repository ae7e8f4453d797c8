//! The rules of one grid: its band, its population, whether it is empty, whether it stays inside its
//! leaf, whether it is in separate parts.

use super::Ctx;
use super::report::{GridRow, Rule, Violation};
use crate::rules::{BandStatus, KindRules};
use crate::spatial::geometry;
use geo::MultiPolygon;
use std::collections::BTreeSet;

/// Judges grid `g`: its figures, and every rule it breaks pushed onto `violations`.
pub(super) fn judge(cx: &Ctx, g: usize, violations: &mut Vec<Violation>) -> GridRow {
    let tree = &cx.data.tree;
    let grid = &cx.grids[g];
    let counted = &cx.tally.grids[g];
    let home = cx.layout.home[g];
    let leaf = home.map(|p| cx.layout.leaf(p));
    let leaf_code = leaf.map(|l| tree.areas[l].code.clone());
    let kind = leaf.and_then(|l| tree.kind(l)).map(str::to_string);
    let band = kind.as_deref().and_then(|k| cx.rules.kind(k));
    let area = cx.layout.grid_area_m2[g];
    let inside = home
        .and_then(|p| cx.layout.in_leaf[g].iter().find(|x| x.leaf == p))
        .map_or(0.0, |x| x.area_m2);
    let outside = (area - inside).max(0.0);
    let tol = cx
        .rules
        .check
        .tolerance_m2(geometry::perimeter_m(&grid.geometry));
    let hh = counted.households;
    let status = band.map(|b| b.status(hh));
    let alert = band.is_some_and(|b| counted.population > b.population_alert as u64);
    let v = |rule, message: String, value: f64| Violation {
        rule,
        grid: Some(grid.id.clone()),
        leaf: leaf_code.clone(),
        message,
        value: Some(value),
    };
    if let (Some(s), Some(b)) = (status, band)
        && let Some((rule, message)) = band_breach(s, hh, b)
    {
        violations.push(v(rule, message, hh as f64));
    }
    if hh == 0 {
        violations.push(v(Rule::EmptyGrid, "no households".to_string(), 0.0));
    }
    if let (true, Some(b)) = (alert, band) {
        violations.push(v(
            Rule::PopulationAlert,
            format!(
                "{} residents, above the alert of {}",
                counted.population, b.population_alert
            ),
            counted.population as f64,
        ));
    }
    match home {
        None => violations.push(v(
            Rule::OutsideLeaves,
            "the grid lies outside every leaf".to_string(),
            area,
        )),
        Some(p) if outside > tol => {
            let into = where_outside(cx, g, p, outside, tol);
            violations.push(v(
                Rule::CrossesLeaf,
                format!(
                    "reaches {:.1} m² outside its leaf {}, into {}",
                    outside,
                    leaf_code.as_deref().unwrap_or("?"),
                    into.join(", ")
                ),
                outside,
            ));
        }
        _ => {}
    }
    // Parts smaller than the sliver tolerance are rounding noise, not parts.
    let parts: Vec<MultiPolygon> = grid
        .geometry
        .0
        .iter()
        .map(|p| MultiPolygon(vec![p.clone()]))
        .filter(|p| grid.geometry.0.len() == 1 || geometry::area_m2(p) > tol)
        .collect();
    let part_count = parts.len().max(1);
    if let (true, Some(l)) = (part_count > 1, leaf)
        && !parts_in_distinct_leaf_parts(&tree.areas[l].geometry, parts)
    {
        violations.push(v(
            Rule::MultiPart,
            format!("the grid has {part_count} separate parts"),
            part_count as f64,
        ));
    }
    GridRow {
        id: grid.id.clone(),
        community: leaf_code,
        kind,
        households: hh,
        population: counted.population_known.then_some(counted.population),
        buildings: counted.buildings.len(),
        min: band.map(|b| b.min_households),
        max: band.map(|b| b.max_households),
        status,
        population_alert: alert,
        area_m2: area,
        outside_leaf_m2: outside,
        parts: part_count,
        compactness: geometry::polsby_popper(&grid.geometry),
    }
}

/// The band rule a grid of `households` breaks, with its message; an empty grid is judged as empty,
/// not as under the band.
fn band_breach(status: BandStatus, households: u64, b: &KindRules) -> Option<(Rule, String)> {
    match status {
        BandStatus::Under if households > 0 => Some((
            Rule::BandUnder,
            format!(
                "{households} households, under the minimum of {}",
                b.min_households
            ),
        )),
        BandStatus::Over => Some((
            Rule::BandOver,
            format!(
                "{households} households, over the maximum of {}",
                b.max_households
            ),
        )),
        _ => None,
    }
}

/// Where the land of grid `g` outside its home leaf `home` lies: the other leaves (with m²) and land
/// in no leaf.
fn where_outside(cx: &Ctx, g: usize, home: usize, outside: f64, tol: f64) -> Vec<String> {
    let others = || cx.layout.in_leaf[g].iter().filter(|x| x.leaf != home);
    let mut into: Vec<String> = others()
        .filter(|x| x.area_m2 > tol)
        .map(|x| {
            let code = &cx.data.tree.areas[cx.layout.leaf(x.leaf)].code;
            format!("{code} ({:.1} m²)", x.area_m2)
        })
        .collect();
    let beyond: f64 = outside - others().map(|x| x.area_m2).sum::<f64>();
    if beyond > tol {
        into.push(format!("no leaf ({beyond:.1} m²)"));
    }
    into
}

/// True when every part of a grid lies mostly in a different part of its leaf (a leaf in parts, such
/// as one with an enclave, may need a grid in parts).
fn parts_in_distinct_leaf_parts(leaf: &MultiPolygon, parts: Vec<MultiPolygon>) -> bool {
    let mut homes = BTreeSet::new();
    let mut distinct = true;
    for part in parts {
        let best = (0..leaf.0.len()).max_by(|&a, &b| {
            let ia = geometry::intersection_area(&part, &MultiPolygon(vec![leaf.0[a].clone()]));
            let ib = geometry::intersection_area(&part, &MultiPolygon(vec![leaf.0[b].clone()]));
            ia.total_cmp(&ib)
        });
        if let Some(best) = best {
            distinct &= homes.insert(best);
        }
    }
    distinct
}
