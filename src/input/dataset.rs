//! A loaded planning dataset: the boundary tree and the households, in one working CRS, with each
//! household placed in its leaf.

use crate::error::{Error, Result};
use crate::input;
use crate::model::Household;
use crate::problem::{Problem, Problems};
use crate::rules::Rules;
use crate::spatial::crs::Crs;
use crate::spatial::index::PolygonIndex;
use crate::spatial::tree::AreaTree;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Boundaries and households, ready to plan or check.
pub struct Dataset {
    /// The metric CRS all coordinates are in.
    pub working: Crs,
    pub tree: AreaTree,
    pub households: Vec<Household>,
    /// The leaf (index into `tree.areas`) each household belongs to; `None` outside every leaf.
    pub leaf_of: Vec<Option<usize>>,
    /// Data problems that did not stop the work, counted and reported.
    pub warnings: Problems,
    /// Household points and households lying outside every leaf.
    pub outside: Outside,
}

/// What lies outside every leaf.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outside {
    pub points: usize,
    pub households: u64,
}

impl Dataset {
    /// Reads and validates boundaries and households. `crs` is the `--crs` flag: the CRS of input files
    /// that do not name their own.
    pub fn load(
        boundaries: &Path,
        households: &Path,
        rules: &Rules,
        crs: Option<Crs>,
    ) -> Result<Dataset> {
        let read = |path: &Path| input::file::read_input(path, input::file::Expect::JsonObject);
        Dataset::parse(
            (&boundaries.display().to_string(), read(boundaries)?),
            (
                &households.display().to_string(),
                input::read_households_bytes(households)?,
            ),
            rules,
            crs,
        )
    }

    /// [`Dataset::load`] from file contents already in memory, each with the name used in messages.
    pub fn parse(
        boundaries: (&str, Vec<u8>),
        households: (&str, Vec<u8>),
        rules: &Rules,
        crs: Option<Crs>,
    ) -> Result<Dataset> {
        let (areas, working, mut warnings) =
            input::parse_boundaries(boundaries.0, boundaries.1, crs, None)?;
        let (tree, problems) = AreaTree::build(boundaries.0, areas, rules);
        if problems.has_errors() {
            return Err(Error::Invalid(problems.0));
        }
        warnings.extend(problems);
        let (points, problems) = input::parse_households(households.0, households.1, crs, working)?;
        warnings.extend(problems);
        Ok(Dataset::new(households.0, working, tree, points, warnings))
    }

    /// Places households in leaves: by their `community` property when it names a leaf, else by
    /// point-in-polygon (the lowest leaf code wins where leaves overlap, and that is reported).
    pub fn new(
        file: &str,
        working: Crs,
        tree: AreaTree,
        households: Vec<Household>,
        mut warnings: Problems,
    ) -> Dataset {
        let leaves = tree.leaves();
        let index = PolygonIndex::new(leaves.iter().map(|&l| &tree.areas[l].geometry).collect());
        #[derive(Default)]
        struct Placed {
            leaf: Option<usize>,
            overlap: bool,
            bad_code: bool,
        }
        let placed: Vec<Placed> = households
            .par_iter()
            .map(|h| {
                let mut p = Placed::default();
                if let Some(code) = &h.community {
                    match tree.get(code) {
                        Some(i) if tree.is_leaf(i) => {
                            p.leaf = Some(i);
                            return p;
                        }
                        _ => p.bad_code = true,
                    }
                }
                let hits = index.containing(h.pos);
                p.overlap = hits.len() > 1;
                p.leaf = hits.first().map(|&k| leaves[k]);
                p
            })
            .collect();
        let mut outside = Outside::default();
        let mut overlaps = 0usize;
        let mut bad_codes: BTreeMap<&str, usize> = BTreeMap::new();
        for (h, p) in households.iter().zip(&placed) {
            if p.leaf.is_none() {
                outside.points += 1;
                outside.households += h.households as u64;
            }
            overlaps += p.overlap as usize;
            if let (true, Some(c)) = (p.bad_code, &h.community) {
                *bad_codes.entry(c).or_default() += 1;
            }
        }
        if outside.points > 0 {
            warnings.push(
                Problem::warning(
                    file,
                    format!(
                        "{} household point(s) holding {} household(s) lie outside every leaf; they are counted, not planned",
                        outside.points, outside.households
                    ),
                )
                .field("geometry"),
            );
        }
        if overlaps > 0 {
            warnings.push(
                Problem::warning(
                    file,
                    format!(
                        "{overlaps} household point(s) lie inside two or more overlapping leaves; each went to the leaf with the lowest code"
                    ),
                )
                .field("geometry"),
            );
        }
        for (code, n) in bad_codes {
            warnings.push(
                Problem::warning(
                    file,
                    format!(
                        "{n} household point(s) name community \"{code}\", which is not a leaf of the boundaries; they were placed by location"
                    ),
                )
                .field("community"),
            );
        }
        let leaf_of = placed.into_iter().map(|p| p.leaf).collect();
        Dataset {
            working,
            tree,
            households,
            leaf_of,
            warnings,
            outside,
        }
    }

    /// Total households (the `households` counts summed).
    pub fn total_households(&self) -> u64 {
        self.households.iter().map(|h| h.households as u64).sum()
    }
}
