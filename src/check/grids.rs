//! The rules of one grid: its band, its population, whether it is empty, whether it stays inside its
//! leaf, whether it is in separate parts.

use super::Ctx;
use super::report::{GridRow, Rule, Violation};
use crate::model::GridKind;
use crate::rules::{BandStatus, KindRules, Measure};
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
    let dedicated = grid.record.kind == GridKind::Dedicated;
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
    let population = counted.population_known.then_some(counted.population);
    let judged = band
        .filter(|_| !dedicated)
        .map(|b| judge_band(b, hh, population));
    let status = judged.as_ref().map(|j| j.status);
    let population_status = band.and_then(|b| population.and_then(|p| b.population_status(p)));
    let alert = band.is_some_and(|b| counted.population > b.population_alert as u64);
    let v = |rule, message: String, value: f64| Violation {
        rule,
        grid: Some(grid.id.clone()),
        leaf: leaf_code.clone(),
        message,
        value: Some(value),
    };
    if let Some((rule, message, value)) = judged.and_then(|j| j.breach) {
        violations.push(v(rule, message, value));
    }
    if hh == 0 && !dedicated {
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
        kind: grid.record.kind,
        community_kind: kind,
        households: hh,
        population: counted.population_known.then_some(counted.population),
        buildings: counted.buildings.len(),
        min: band.map(|b| b.min_households),
        max: band.map(|b| b.max_households),
        status,
        population_status,
        population_alert: alert,
        area_m2: area,
        outside_leaf_m2: outside,
        parts: part_count,
        compactness: geometry::polsby_popper(&grid.geometry),
    }
}

/// A grid judged against its band under the kind's measure.
struct Judged {
    status: BandStatus,
    /// The rule it breaks, the message and the measured value.
    breach: Option<(Rule, String, f64)>,
}

/// Judges a basic grid of `households` and `population` (when known) against `b` under its measure:
/// the household band (`households`), the population band (`population`; the household band when the
/// population is unknown or no population band is set), or in band when either is (`either`). An
/// empty grid is judged as empty, not as under the band.
fn judge_band(b: &KindRules, households: u64, population: Option<u64>) -> Judged {
    let by_households = || {
        let status = b.status(households);
        Judged {
            status,
            breach: household_breach(status, households, b).map(|(r, m)| (r, m, households as f64)),
        }
    };
    let by_population = population.and_then(|p| b.population_status(p).map(|s| (p, s)));
    match (b.measure, by_population) {
        (Measure::Households, _) | (_, None) => by_households(),
        (Measure::Population, Some((p, status))) => {
            let (min, max) = b.population_band().unwrap_or_default();
            let breach = match status {
                BandStatus::Under if households > 0 => Some((
                    Rule::PopulationUnder,
                    format!("{p} residents, under the population minimum of {min} (population decides)"),
                    p as f64,
                )),
                BandStatus::Over => Some((
                    Rule::PopulationOver,
                    format!("{p} residents, over the population maximum of {max} (population decides)"),
                    p as f64,
                )),
                _ => None,
            };
            Judged { status, breach }
        }
        (Measure::Either, Some((p, pstatus))) => {
            let mut j = by_households();
            if pstatus == BandStatus::Ok {
                return Judged {
                    status: BandStatus::Ok,
                    breach: None,
                };
            }
            if let Some((_, message, _)) = &mut j.breach {
                let (min, max) = b.population_band().unwrap_or_default();
                message.push_str(&format!(
                    ", and {p} residents outside the population band {min}–{max} (either may decide)"
                ));
            }
            j
        }
    }
}

/// The household-band rule a grid of `households` breaks, with its message; an empty grid is judged
/// as empty, not as under the band.
fn household_breach(status: BandStatus, households: u64, b: &KindRules) -> Option<(Rule, String)> {
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
