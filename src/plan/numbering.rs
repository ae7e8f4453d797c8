//! Which number each grid of a community gets, and the record a new grid starts with.
//!
//! **Reading order.** Grids are numbered the way a page is read: in rows taken north to south, west to
//! east within a row (the Beijing unit-grid standard's order). A row is defined on the grids' centroids
//! and their typical height `h` (the median of the grids' bounding-box heights): rows are bands `h`
//! tall taken down from the northernmost centroid ([`crate::model::reading_order`]), so grids side by
//! side share a row even when their centroids differ a little in latitude; ties fall back to the
//! order given, so the numbering is deterministic.
//!
//! **Numbers across re-draws.** A grid that is kept keeps its number; a new grid takes the next number
//! after the highest ever issued in its community, so a number once retired is never issued again.
//! The highest number issued is kept on every grid of the community in the grids file (`last_seq`) and
//! in the record of retired grids, so it survives any number of re-draws (see [`crate::plan::replan`]).

use crate::model::{Date, GridKind, GridRecord};
use geo::{BoundingRect, Centroid, MultiPolygon};

/// The order in which `shapes` are numbered: indices into `shapes`, rows north to south, west to east
/// within a row.
pub fn reading_order(shapes: &[&MultiPolygon]) -> Vec<usize> {
    let at: Vec<(f64, f64)> = shapes
        .iter()
        .map(|s| s.centroid().map_or((0.0, 0.0), |p| (p.x(), p.y())))
        .collect();
    let mut heights: Vec<f64> = shapes
        .iter()
        .filter_map(|s| s.bounding_rect())
        .map(|r| r.height())
        .collect();
    heights.sort_by(f64::total_cmp);
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
    crate::model::reading_order(&at, typical)
}

/// The next numbers of one community: after the highest ever issued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Numbers {
    /// The highest number issued so far.
    pub last: u32,
}

impl Numbers {
    /// Numbering that continues after `last`.
    pub fn after(last: u32) -> Numbers {
        Numbers { last }
    }

    /// The next free number.
    pub fn issue(&mut self) -> u32 {
        self.last += 1;
        self.last
    }
}

/// What a community is called, for the records of its grids.
#[derive(Debug, Clone, Copy)]
pub struct Community<'a> {
    pub code: &'a str,
    pub name: Option<&'a str>,
}

impl Community<'_> {
    /// The community's name, else its code.
    pub fn label(&self) -> &str {
        self.name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(self.code)
    }
}

/// The record of a new basic grid, number `number` of `community`, in force from `date`: named
/// `<community>第<n>网格` (as grid platforms name them), the community answerable for it.
pub fn basic_record(community: Community, number: u32, date: Date) -> GridRecord {
    GridRecord {
        kind: GridKind::Basic,
        name: Some(format!("{}第{number}网格", community.label())),
        responsible: Some(community.label().to_string()),
        valid_from: Some(date),
        ..GridRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon {
        MultiPolygon(vec![Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        )])
    }

    #[test]
    fn rows_north_to_south_and_west_to_east_within_a_row() {
        // Two rows of three 100 m squares, the middle one of each row nudged: its centroid is north of
        // (top row) or south of (bottom row) its neighbours' but within half a grid's height.
        let shapes = [
            rect(200.0, 0.0, 300.0, 100.0),   // 0: bottom east
            rect(0.0, 100.0, 100.0, 200.0),   // 1: top west
            rect(100.0, 130.0, 200.0, 230.0), // 2: top middle, 30 m north
            rect(0.0, 0.0, 100.0, 100.0),     // 3: bottom west
            rect(200.0, 100.0, 300.0, 200.0), // 4: top east
            rect(100.0, -40.0, 200.0, 60.0),  // 5: bottom middle, 40 m south
        ];
        let refs: Vec<&MultiPolygon> = shapes.iter().collect();
        assert_eq!(reading_order(&refs), vec![1, 2, 4, 3, 5, 0]);
    }

    #[test]
    fn plain_north_to_south_order_would_number_otherwise() {
        // A staircase: by centroid latitude alone the order would be 2, 1, 0; the three share a row.
        let shapes = [
            rect(0.0, 0.0, 100.0, 100.0),
            rect(100.0, 20.0, 200.0, 120.0),
            rect(200.0, 40.0, 300.0, 140.0),
        ];
        let refs: Vec<&MultiPolygon> = shapes.iter().collect();
        assert_eq!(reading_order(&refs), vec![0, 1, 2]);
    }

    #[test]
    fn numbers_continue_after_the_highest_issued() {
        let mut n = Numbers::after(7);
        assert_eq!((n.issue(), n.issue(), n.last), (8, 9, 9));
    }
}
