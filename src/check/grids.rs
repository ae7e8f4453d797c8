//! The rules of one grid: its band, its population, whether it is empty, whether it stays inside its
//! leaf, whether it is in separate parts.

use super::Ctx;
use super::report::{GridRow, Rule, Violation};
use crate::lang::messages::{Msg, msg};
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
    let people = counted.population_known.then_some(counted.population);
    // A dedicated grid (a school, a hospital, …) is exempt from the band.
    let judged = band
        .filter(|_| !dedicated)
        .map(|b| judge_band(b, hh, people));
    let status = judged.and_then(|j| j.status);
    let alert = band.is_some_and(|b| counted.population > b.population_alert as u64);
    let v = |rule, message: Msg, value: f64| {
        Violation::new(
            rule,
            Some(grid.id.clone()),
            leaf_code.clone(),
            &message,
            Some(value),
        )
    };
    if let (Some(j), Some(b)) = (judged, band) {
        if let Some(s) = j.households_breach
            && let Some((rule, message)) = band_breach(s, hh, b)
        {
            violations.push(v(rule, message, hh as f64));
        }
        if let (Some(s), Some(p)) = (j.population_breach, people)
            && let Some(message) = population_breach(s, hh, p, b)
        {
            violations.push(v(Rule::PopulationBand, message, p as f64));
        }
    }
    if hh == 0 && !dedicated {
        violations.push(v(Rule::EmptyGrid, msg!(EmptyGrid), 0.0));
    }
    if let Some(message) = code_problem(&grid.id, leaf_code.as_deref()) {
        violations.push(v(Rule::MalformedGridCode, message, grid.id.len() as f64));
    }
    if let (true, Some(b)) = (alert, band) {
        violations.push(v(
            Rule::PopulationAlert,
            msg!(
                PopulationAlert,
                population = counted.population,
                alert = b.population_alert
            ),
            counted.population as f64,
        ));
    }
    match home {
        None => violations.push(v(Rule::OutsideLeaves, msg!(OutsideLeaves), area)),
        Some(p) if outside > tol => {
            let into = where_outside(cx, g, p, outside, tol);
            violations.push(v(
                Rule::CrossesLeaf,
                msg!(
                    CrossesLeaf,
                    area = format!("{outside:.1}"),
                    leaf = leaf_code.as_deref().unwrap_or("?")
                )
                .arg_list("into", &into),
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
            msg!(MultiPart, parts = part_count),
            part_count as f64,
        ));
    }
    GridRow {
        id: grid.id.clone(),
        community: leaf_code,
        kind,
        grid_kind: grid.record.kind,
        households: hh,
        population: counted.population_known.then_some(counted.population),
        buildings: counted.buildings,
        min: band.map(|b| b.min_households),
        max: band.map(|b| b.max_households),
        status,
        measure: band.map(|b| b.measure),
        population_status: band.zip(people).map(|(b, p)| b.population_status(p)),
        min_population: band.map(|b| b.min_population),
        max_population: band.map(|b| b.max_population),
        population_alert: alert,
        area_m2: area,
        outside_leaf_m2: outside,
        parts: part_count,
        compactness: geometry::polsby_popper(&grid.geometry),
    }
}

/// What is wrong with grid id `id` read as a standard code (community code + 3 digits), when it is
/// written as one (12 digits or more, digits only): its length, a sequence of 000, or a community code other than that of
/// the leaf it lies in. Ids of another form (`<leaf>-G<nn>`, names given by hand) are not judged here.
fn code_problem(id: &str, leaf: Option<&str>) -> Option<Msg> {
    if id.len() < 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let Some((community, _)) = crate::model::parse_standard_grid_id(id) else {
        return Some(msg!(CodeNotStandard, id = id));
    };
    match leaf {
        Some(l) if l != community && l.bytes().all(|b| b.is_ascii_digit()) => Some(msg!(
            CodeOtherCommunity,
            id = id,
            community = community,
            leaf = l
        )),
        _ => None,
    }
}

/// A grid judged by its kind's measure: its status, and the bands it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Judged {
    /// In band or not by the measure; `None` when the measure is `population` and some point in the
    /// grid has no population.
    status: Option<BandStatus>,
    /// The household band's status, when the grid breaks it.
    households_breach: Option<BandStatus>,
    /// The population band's status, when the grid breaks it.
    population_breach: Option<BandStatus>,
}

/// Judges a grid of `households` and `population` (when known) by the measure of `b`: `households`
/// judges the household band, `population` the population band, `either` passes a grid when one of
/// them is in band (when the population is unknown, by households alone) and reports both bands when
/// neither is.
fn judge_band(b: &KindRules, households: u64, population: Option<u64>) -> Judged {
    let hh = b.status(households);
    let pop = population.map(|p| b.population_status(p));
    let out = |s: BandStatus| (s != BandStatus::Ok).then_some(s);
    match b.measure {
        Measure::Households => Judged {
            status: Some(hh),
            households_breach: out(hh),
            population_breach: None,
        },
        Measure::Population => Judged {
            status: pop,
            households_breach: None,
            population_breach: pop.and_then(out),
        },
        Measure::Either => {
            if hh == BandStatus::Ok || pop == Some(BandStatus::Ok) {
                Judged {
                    status: Some(BandStatus::Ok),
                    households_breach: None,
                    population_breach: None,
                }
            } else {
                Judged {
                    status: Some(hh),
                    households_breach: out(hh),
                    population_breach: pop.and_then(out),
                }
            }
        }
    }
}

/// The message of a grid of `population` residents outside the population band; an empty grid is
/// judged as empty, not as under the band.
fn population_breach(
    status: BandStatus,
    households: u64,
    population: u64,
    b: &KindRules,
) -> Option<Msg> {
    match status {
        BandStatus::Under if households > 0 => Some(msg!(
            PopulationUnder,
            population = population,
            min = b.min_population
        )),
        BandStatus::Over => Some(msg!(
            PopulationOver,
            population = population,
            max = b.max_population
        )),
        _ => None,
    }
}

/// The band rule a grid of `households` breaks, with its message; an empty grid is judged as empty,
/// not as under the band.
fn band_breach(status: BandStatus, households: u64, b: &KindRules) -> Option<(Rule, Msg)> {
    match status {
        BandStatus::Under if households > 0 => Some((
            Rule::BandUnder,
            msg!(BandUnder, households = households, min = b.min_households),
        )),
        BandStatus::Over => Some((
            Rule::BandOver,
            msg!(BandOver, households = households, max = b.max_households),
        )),
        _ => None,
    }
}

/// Where the land of grid `g` outside its home leaf `home` lies: the other leaves (with m²) and land
/// in no leaf.
fn where_outside(cx: &Ctx, g: usize, home: usize, outside: f64, tol: f64) -> Vec<Msg> {
    let others = || cx.layout.in_leaf[g].iter().filter(|x| x.leaf != home);
    let mut into: Vec<Msg> = others()
        .filter(|x| x.area_m2 > tol)
        .map(|x| {
            let code = &cx.data.tree.areas[cx.layout.leaf(x.leaf)].code;
            msg!(AreaOf, what = code, area = format!("{:.1}", x.area_m2))
        })
        .collect();
    let beyond: f64 = outside - others().map(|x| x.area_m2).sum::<f64>();
    if beyond > tol {
        into.push(msg!(NoLeafArea, area = format!("{beyond:.1}")));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;

    fn urban(measure: Measure) -> KindRules {
        KindRules {
            measure,
            ..Rules::default().kinds["urban"].clone()
        }
    }

    #[test]
    fn a_grid_failing_only_the_population_band_fails_by_population_only() {
        // 400 households (in 300–500), 1,900 residents (over 800–1,200).
        let by_households = judge_band(&urban(Measure::Households), 400, Some(1_900));
        assert_eq!(by_households.status, Some(BandStatus::Ok));
        assert_eq!(by_households.population_breach, None);
        let by_population = judge_band(&urban(Measure::Population), 400, Some(1_900));
        assert_eq!(by_population.status, Some(BandStatus::Over));
        assert_eq!(by_population.population_breach, Some(BandStatus::Over));
        assert_eq!(by_population.households_breach, None);
        let by_either = judge_band(&urban(Measure::Either), 400, Some(1_900));
        assert_eq!(by_either.status, Some(BandStatus::Ok));
        assert_eq!(by_either.population_breach, None);
        // Under `either` the grid fails only when households are out too, and then on both counts.
        let both_out = judge_band(&urban(Measure::Either), 600, Some(1_900));
        assert_eq!(both_out.status, Some(BandStatus::Over));
        assert_eq!(both_out.households_breach, Some(BandStatus::Over));
        assert_eq!(both_out.population_breach, Some(BandStatus::Over));
        // Households out, population in: `either` passes it, `population` too, `households` does not.
        let pop_in = judge_band(&urban(Measure::Either), 600, Some(1_000));
        assert_eq!(pop_in.status, Some(BandStatus::Ok));
        let pop_only = judge_band(&urban(Measure::Population), 600, Some(1_000));
        assert_eq!(pop_only.households_breach, None);
        assert_eq!(pop_only.status, Some(BandStatus::Ok));
    }

    #[test]
    fn malformed_standard_codes_are_named() {
        assert_eq!(code_problem("320116001003007", Some("320116001003")), None);
        assert_eq!(code_problem("320116001003-G07", Some("320116001003")), None);
        assert_eq!(code_problem("north grid", None), None);
        assert_eq!(code_problem("17", Some("320116001003")), None);
        assert!(code_problem("32011600100307", Some("320116001003")).is_some());
        assert!(code_problem("320116001003", Some("320116001003")).is_some());
        assert!(code_problem("320116001003000", Some("320116001003")).is_some());
        let wrong = code_problem("320116001004007", Some("320116001003"))
            .expect("wrong community")
            .text(crate::lang::Lang::En);
        assert!(wrong.contains("320116001004") && wrong.contains("lies in 320116001003"));
    }

    #[test]
    fn an_unknown_population_is_not_judged_by_population() {
        let j = judge_band(&urban(Measure::Population), 400, None);
        assert_eq!(j.status, None);
        assert_eq!(j.population_breach, None);
        let e = judge_band(&urban(Measure::Either), 600, None);
        assert_eq!(e.status, Some(BandStatus::Over));
        assert_eq!(e.households_breach, Some(BandStatus::Over));
    }
}
