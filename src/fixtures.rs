#![cfg(test)]
//! Small hand-made data for the unit tests beside the algorithms: rectangles in metres (EPSG:4549),
//! a district with towns and communities, households placed by hand.

use crate::input::dataset::Dataset;
use crate::model::{Area, GridShape, Household};
use crate::problem::Problems;
use crate::rules::Rules;
use crate::spatial::crs::Crs;
use crate::spatial::tree::AreaTree;
use geo::{Coord, LineString, MultiPolygon, Polygon};

/// The metric CRS of the fixtures.
pub const WORKING: Crs = Crs(4549);

/// An axis-aligned rectangle, counter-clockwise.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

/// A unit of the boundary tree.
pub fn area(code: &str, parent: Option<&str>, kind: Option<&str>, geometry: MultiPolygon) -> Area {
    Area {
        feature: 0,
        code: code.to_string(),
        name: Some(format!("{code} name")),
        level: None,
        parent: parent.map(str::to_string),
        kind: kind.map(str::to_string),
        geometry,
    }
}

/// A household point of `n` households in `building` (none: identified by its position).
pub fn household(x: f64, y: f64, n: u32, building: Option<&str>) -> Household {
    Household {
        feature: 0,
        id: None,
        pos: Coord { x, y },
        households: n,
        population: Some(n * 3),
        building: building.map(Into::into),
        entrance: None,
        community: None,
        sensitive: Default::default(),
    }
}

/// A grid of a community.
pub fn grid(id: &str, community: &str, geometry: MultiPolygon) -> GridShape {
    GridShape {
        feature: 0,
        id: id.to_string(),
        community: Some(community.to_string()),
        geometry,
        declared_households: None,
        primary_worker: None,
        record: Default::default(),
    }
}

/// A district (`320116`) with one town (`320116001`) holding the given communities, built into a
/// dataset with the households under the default rules.
pub fn dataset(communities: Vec<Area>, households: Vec<Household>) -> Dataset {
    let rules = Rules::default();
    let mut whole = MultiPolygon(vec![]);
    for c in &communities {
        whole.0.extend(c.geometry.0.iter().cloned());
    }
    let mut areas = vec![
        area("320116", None, None, whole.clone()),
        area("320116001000", Some("320116"), None, whole),
    ];
    areas.extend(communities.into_iter().map(|mut c| {
        c.parent.get_or_insert_with(|| "320116001000".to_string());
        c
    }));
    for (i, a) in areas.iter_mut().enumerate() {
        a.feature = i;
    }
    let mut households = households;
    for (i, h) in households.iter_mut().enumerate() {
        h.feature = i;
    }
    let (tree, problems) = AreaTree::build("fixture", areas, &rules);
    assert!(!problems.has_errors(), "{problems:?}");
    Dataset::new("fixture", WORKING, tree, households, Problems::default())
}

/// `n` one-household points on a lattice filling the rectangle, in buildings of `per_building`.
pub fn spread(x0: f64, y0: f64, x1: f64, y1: f64, n: usize, per_building: usize) -> Vec<Household> {
    let side = (n as f64).sqrt().ceil() as usize;
    (0..n)
        .map(|i| {
            let (cx, cy) = (i % side, i / side);
            let x = x0 + (x1 - x0) * (cx as f64 + 0.5) / side as f64;
            let y = y0 + (y1 - y0) * (cy as f64 + 0.5) / side as f64;
            let b = format!("B{}", i / per_building.max(1));
            household(x, y, 1, Some(&b))
        })
        .collect()
}
