//! A loaded planning dataset: the boundary tree and the households, in one working CRS, with each
//! household placed in its leaf.

use crate::error::{Error, Result};
use crate::input;
use crate::lang::messages::msg;
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

    /// [`Dataset::load`], running `beside` (given the working CRS, once the boundaries have fixed it)
    /// side by side with reading the households: the ground layers are read while the households
    /// are. The dataset's errors come first.
    pub fn load_beside<T: Send>(
        boundaries: &Path,
        households: &Path,
        rules: &Rules,
        crs: Option<Crs>,
        beside: impl FnOnce(Crs) -> Result<T> + Send,
    ) -> Result<(Dataset, T)> {
        let name = boundaries.display().to_string();
        let bytes = input::file::read_input(boundaries, input::file::Expect::JsonObject)?;
        let (areas, working, mut warnings) = input::parse_boundaries(&name, bytes, crs, None)?;
        let (data, other) = rayon::join(
            || -> Result<Dataset> {
                let _timing = crate::timing::Span::new("read the households");
                let (tree, problems) = AreaTree::build(&name, areas, rules);
                if problems.has_errors() {
                    return Err(Error::Invalid(problems.0));
                }
                warnings.extend(problems);
                let file = households.display().to_string();
                let bytes = input::read_households_bytes(households)?;
                let (points, problems) = input::parse_households(&file, bytes, crs, working)?;
                warnings.extend(problems);
                Ok(Dataset::new(&file, working, tree, points, warnings))
            },
            || crate::timing::phase("read beside the households", || beside(working)),
        );
        Ok((data?, other?))
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
        let placed: Vec<Placed> = {
            let placer = Placer::new(&tree);
            households.par_iter().map(|h| placer.place(h)).collect()
        };
        let mut tally = Placement::default();
        for (h, p) in households.iter().zip(&placed) {
            tally.count(h, p);
        }
        tally.warn(file, &mut warnings);
        let outside = tally.outside;
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

/// Where a household goes: the leaf its `community` names, else the leaf under its position (the
/// lowest code where leaves overlap).
pub(crate) struct Placer<'a> {
    tree: &'a AreaTree,
    index: PolygonIndex<&'a geo::MultiPolygon>,
}

/// A household placed: its leaf, whether leaves overlapped there, whether it named a community that is
/// not a leaf.
#[derive(Default)]
pub(crate) struct Placed {
    pub(crate) leaf: Option<usize>,
    overlap: bool,
    bad_code: bool,
}

impl<'a> Placer<'a> {
    pub(crate) fn new(tree: &'a AreaTree) -> Placer<'a> {
        let index = PolygonIndex::new(
            tree.leaves()
                .iter()
                .map(|&l| &tree.areas[l].geometry)
                .collect(),
        );
        Placer { tree, index }
    }

    pub(crate) fn place(&self, h: &Household) -> Placed {
        let mut p = Placed::default();
        if let Some(code) = &h.community {
            match self.tree.get(code) {
                Some(i) if self.tree.is_leaf(i) => {
                    p.leaf = Some(i);
                    return p;
                }
                _ => p.bad_code = true,
            }
        }
        let hits = self.index.containing(h.pos);
        p.overlap = hits.len() > 1;
        p.leaf = hits.first().map(|&k| self.tree.leaves()[k]);
        p
    }
}

/// What placing households found: what lay outside every leaf, overlaps, community codes that are
/// not leaves; said as warnings once all are placed.
#[derive(Default)]
pub(crate) struct Placement {
    pub(crate) outside: Outside,
    overlaps: usize,
    bad_codes: BTreeMap<Box<str>, usize>,
}

impl Placement {
    pub(crate) fn count(&mut self, h: &Household, p: &Placed) {
        if p.leaf.is_none() {
            self.outside.points += 1;
            self.outside.households += h.households as u64;
        }
        self.overlaps += p.overlap as usize;
        if let (true, Some(c)) = (p.bad_code, &h.community) {
            *self.bad_codes.entry(c.clone()).or_default() += 1;
        }
    }

    pub(crate) fn warn(&self, file: &str, warnings: &mut Problems) {
        let outside = self.outside;
        if outside.points > 0 {
            warnings.push(
                Problem::warning(
                    file,
                    msg!(
                        OutsideEveryLeaf,
                        points = outside.points,
                        households = outside.households
                    ),
                )
                .field("geometry"),
            );
        }
        if self.overlaps > 0 {
            warnings.push(
                Problem::warning(file, msg!(InOverlappingLeaves, points = self.overlaps))
                    .field("geometry"),
            );
        }
        for (code, n) in &self.bad_codes {
            warnings.push(
                Problem::warning(file, msg!(UnknownCommunity, points = n, code = code))
                    .field("community"),
            );
        }
    }
}
