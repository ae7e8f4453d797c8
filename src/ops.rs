//! The operations the command line and the service share: plan, re-plan, check, staff, diff, visits.
//!
//! Each one wires the capabilities below it (read, plan, check, measure, staff) and returns its results
//! together with every warning, so that the binary and the HTTP handlers only parse arguments, present
//! what comes back and map errors (to exit codes in `main`, to HTTP statuses in `service::error`).
//! Two entry points per operation where both are needed: from files (the command line) and from data
//! already in memory (the service, which keeps a parsed dataset).

use crate::check::{self, CheckReport, GroundQuality, Quality};
use crate::error::{Error, Result};
use crate::input::GridLayer;
use crate::input::{self, dataset::Dataset};
use crate::model::{Date, Dedicated, GridShape, Household, IdStyle, Layers, TownCode, Worker};
use crate::plan::dedicated;
use crate::plan::partition::{self, BuildingSplit, LeafPlan, cells::Ground};
use crate::plan::replan::{self, LeafChange};
use crate::problem::{Problem, Problems};
use crate::rules::Rules;
use crate::spatial::crs::Crs;
use crate::spatial::tree::AreaTree;
use crate::staff::assign::{self, Assignment, GridLoad, SolveStatus};
use crate::staff::visits::{self, LogEntry};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub mod handover;

pub use crate::check::ground::{bounds_descriptions, describe, ground_quality};
pub use crate::diff::Diff;
pub use crate::staff::visits::{Month, VisitPlan};
pub use handover::{Handover, ReportFiles, report_files};

/// Progress of a long operation, one step per leaf drawn. The command line draws a bar; the service
/// and the tests pass `&()`.
pub trait Progress: Sync {
    /// The work is `steps` long.
    fn begin(&self, _steps: u64) {}
    /// One more step done (called from several threads).
    fn step(&self) {}
    /// The work is over.
    fn end(&self) {}
}

impl Progress for () {}

// ---------------------------------------------------------------------------------------------------
// Plan and re-plan

/// How the grids of a plan came about.
#[derive(Debug)]
pub enum Drawn {
    /// Drawn afresh: what was decided per leaf.
    Fresh { leaves: Vec<LeafPlan> },
    /// Re-drawn from previous grids: what happened to each leaf, and the leaves that are gone.
    Redrawn {
        changes: Vec<LeafChange>,
        removed_leaves: Vec<String>,
    },
}

/// A plan: its grids, how they were drawn, the check of the grids and their quality.
#[derive(Debug)]
pub struct Planned {
    pub grids: Vec<GridShape>,
    /// The grids out of force (a re-draw's record of retired grids; none when drawn afresh).
    pub retired: Vec<GridShape>,
    pub drawn: Drawn,
    /// Oversize buildings divided between grids.
    pub splits: Vec<BuildingSplit>,
    /// The check of the new grids (with the warnings of every input read for them).
    pub check: CheckReport,
    pub quality: Quality,
}

/// Draws the grids of every leaf (on the ground layers when given), in force from today, checks them
/// and measures them.
pub fn plan(
    data: &Dataset,
    rules: &Rules,
    layers: Option<&Layers>,
    progress: &dyn Progress,
) -> Planned {
    let places = Places::default();
    let carved = Vec::new();
    let ground = index_ground(layers);
    draw(
        data,
        rules,
        ground.as_ref(),
        (&places, &carved),
        Date::today(),
        progress,
        false,
    )
    .0
}

/// Dedicated places (`--dedicated`) and the file they came from.
#[derive(Debug, Clone, Default)]
pub struct Places {
    pub file: String,
    pub places: Vec<Dedicated>,
}

/// [`plan`] with dedicated places, each carved out of its community as a grid of its own before the
/// basic grids are drawn, and the grids' date (`valid_from`). Refused (bad input) when a place lies in
/// no community or two places overlap; a place straddling communities is split, with a warning in the
/// plan's report.
pub fn plan_with(
    data: &Dataset,
    rules: &Rules,
    layers: Option<&Layers>,
    places: &Places,
    date: Date,
    progress: &dyn Progress,
) -> Result<Planned> {
    let ground = index_ground(layers);
    Ok(plan_on(data, rules, ground.as_ref(), places, date, progress, false)?.0)
}

/// The ground layers indexed once, for drawing and for describing what was drawn.
fn index_ground(layers: Option<&Layers>) -> Option<Ground<'_>> {
    crate::timing::phase("index the ground", || {
        layers.filter(|l| !l.is_empty()).map(Ground::new)
    })
}

/// Each grid's 四至 and, on ground layers, how the grids follow them.
type Description = (Vec<String>, Option<check::ground::GroundQuality>);

/// [`plan_with`] on the ground already indexed, with the grids' [`Description`] when `describe`
/// (taken side by side with the plan's own check).
fn plan_on(
    data: &Dataset,
    rules: &Rules,
    ground: Option<&Ground>,
    places: &Places,
    date: Date,
    progress: &dyn Progress,
    describe: bool,
) -> Result<(Planned, Option<Description>)> {
    let (carved, warnings) =
        dedicated::carve(&places.file, &data.tree, &places.places, &rules.check)
            .map_err(Error::Invalid)?;
    let (mut planned, description) = draw(
        data,
        rules,
        ground,
        (places, &carved),
        date,
        progress,
        describe,
    );
    planned.check.warnings.extend(warnings.0);
    Ok((planned, description))
}

/// The plan's own check of `grids` and, when `describe`, their [`Description`], side by side.
fn check_and_describe(
    data: &Dataset,
    grids: &[GridShape],
    rules: &Rules,
    ground: Option<&Ground>,
    describe: bool,
) -> (CheckReport, Option<Description>) {
    rayon::join(
        || crate::timing::phase("check", || check::check(data, grids, rules)),
        || {
            describe.then(|| {
                crate::timing::phase("四至 and ground measures", || {
                    check::ground::describe_on(data, grids, ground.map(|g| g.layers), ground)
                })
            })
        },
    )
}

fn draw(
    data: &Dataset,
    rules: &Rules,
    ground: Option<&Ground>,
    (places, carved): (&Places, &[dedicated::Carved]),
    date: Date,
    progress: &dyn Progress,
    describe: bool,
) -> (Planned, Option<Description>) {
    progress.begin(data.tree.leaves().len() as u64);
    let drawing = partition::Drawing {
        ground,
        places: &places.places,
        carved,
        date,
    };
    let drawn = crate::timing::phase("draw", || {
        partition::partition_with(data, rules, &drawing, &|| progress.step())
    });
    progress.end();
    let (check, description) = check_and_describe(data, &drawn.grids, rules, ground, describe);
    let quality = if ground.is_some() {
        let unreachable = drawn
            .leaves
            .iter()
            .filter(|l| l.whole_cells_cannot_meet)
            .map(|l| l.leaf.as_str())
            .collect();
        Quality::measure_on_cells(&check, &unreachable)
    } else {
        Quality::measure(&check)
    };
    let planned = Planned {
        retired: Vec::new(),
        grids: drawn.grids,
        drawn: Drawn::Fresh {
            leaves: drawn.leaves,
        },
        splits: drawn.splits,
        check,
        quality,
    };
    (planned, description)
}

/// Re-draws from the grids in force before (`previous`, read with `read_warnings`), dated today:
/// unchanged leaves keep their grids, changed ones are re-drawn where the rules need it (on the
/// ground layers when given: whole cells). Checked and measured.
pub fn replan(
    data: &Dataset,
    rules: &Rules,
    previous: &[GridShape],
    read_warnings: Vec<Problem>,
    layers: Option<&Layers>,
) -> Planned {
    let layer = GridLayer {
        grids: previous.to_vec(),
        retired: Vec::new(),
    };
    replan_with(data, rules, &layer, Date::today(), read_warnings, layers)
}

/// [`replan()`] from a whole grids file (its grids and its record of retired grids) on `date`: kept
/// grids keep their number and record, new ones take the next free number, grids gone are retired
/// with `valid_to` = `date`. With ground layers the land re-drawn is drawn as unions of whole cells,
/// and kept grids cutting a block between them are re-drawn too.
pub fn replan_with(
    data: &Dataset,
    rules: &Rules,
    previous: &GridLayer,
    date: Date,
    read_warnings: Vec<Problem>,
    layers: Option<&Layers>,
) -> Planned {
    let ground = index_ground(layers);
    replan_on(
        data,
        rules,
        previous,
        date,
        read_warnings,
        ground.as_ref(),
        false,
    )
    .0
}

/// [`replan_with`] on the ground already indexed, with the grids' [`Description`] when `describe`.
fn replan_on(
    data: &Dataset,
    rules: &Rules,
    previous: &GridLayer,
    date: Date,
    read_warnings: Vec<Problem>,
    ground: Option<&Ground>,
    describe: bool,
) -> (Planned, Option<Description>) {
    let redraw = replan::Redraw {
        retired: &previous.retired,
        date,
        ground,
    };
    let drawn = crate::timing::phase("re-draw", || {
        replan::replan_with(data, rules, &previous.grids, &redraw)
    });
    let (mut check, description) = check_and_describe(data, &drawn.grids, rules, ground, describe);
    // What reading the previous grids warned about is part of this plan's story.
    check.warnings.extend(read_warnings);
    let quality = Quality::measure(&check);
    let planned = Planned {
        grids: drawn.grids,
        retired: drawn.retired,
        drawn: Drawn::Redrawn {
            changes: drawn.leaves,
            removed_leaves: drawn.removed_leaves,
        },
        splits: drawn.splits,
        check,
        quality,
    };
    (planned, description)
}

/// `report.json` of `gridplan partition`: the check of its own output, plus what the partition decided.
#[derive(Debug, Serialize)]
pub struct PartitionReport<'a> {
    #[serde(flatten)]
    pub check: &'a CheckReport,
    pub quality: &'a Quality,
    pub leaf_plans: &'a [LeafPlan],
    pub building_splits: &'a [BuildingSplit],
}

/// `report.json` of `gridplan partition --previous`: the check of the new grids, quality, and what
/// happened to each leaf.
#[derive(Debug, Serialize)]
pub struct ReplanReport<'a> {
    #[serde(flatten)]
    pub check: &'a CheckReport,
    pub quality: &'a Quality,
    pub changes: &'a [LeafChange],
    pub removed_leaves: &'a [String],
    pub building_splits: &'a [BuildingSplit],
}

/// The report of a plan, as drawn.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PlanReport<'a> {
    Fresh(PartitionReport<'a>),
    Redrawn(ReplanReport<'a>),
}

impl Planned {
    /// The plan's report.
    pub fn report(&self) -> PlanReport<'_> {
        match &self.drawn {
            Drawn::Fresh { leaves } => PlanReport::Fresh(PartitionReport {
                check: &self.check,
                quality: &self.quality,
                leaf_plans: leaves,
                building_splits: &self.splits,
            }),
            Drawn::Redrawn {
                changes,
                removed_leaves,
            } => PlanReport::Redrawn(ReplanReport {
                check: &self.check,
                quality: &self.quality,
                changes,
                removed_leaves,
                building_splits: &self.splits,
            }),
        }
    }

    /// What happened to each leaf, when re-drawn.
    pub fn changes(&self) -> Option<&[LeafChange]> {
        match &self.drawn {
            Drawn::Fresh { .. } => None,
            Drawn::Redrawn { changes, .. } => Some(changes),
        }
    }
}

/// The files of `gridplan partition`.
#[derive(Debug, Clone, Default)]
pub struct PlanFiles {
    pub households: PathBuf,
    pub boundaries: PathBuf,
    pub rules: Option<PathBuf>,
    pub blocks: Option<PathBuf>,
    pub barriers: Option<PathBuf>,
    /// The grids in force before: re-draw from them.
    pub previous: Option<PathBuf>,
    /// Dedicated places (schools, hospitals, …): grids of their own, carved out first.
    pub dedicated: Option<PathBuf>,
    pub crs: Option<Crs>,
    /// How new grid ids are written (over the rules' `[partition] grid_ids`).
    pub grid_ids: Option<IdStyle>,
    /// The day the plan takes effect: new grids' `valid_from`, retired grids' `valid_to` (default today).
    pub date: Option<Date>,
}

/// A plan drawn from files, with what the command line writes beside it.
pub struct PlanOutcome {
    pub working: Crs,
    pub planned: Planned,
    /// Each grid's 四至.
    pub descriptions: Option<Vec<String>>,
    /// How the grids follow the blocks and barriers (on ground layers only).
    pub ground: Option<GroundQuality>,
}

/// `report.json` of `gridplan partition` drawn afresh, with the ground figures and each grid's 四至.
#[derive(Serialize)]
pub struct PartitionReportWithGround<'a> {
    #[serde(flatten)]
    pub report: PartitionReport<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground: Option<&'a GroundQuality>,
    /// Grid id → 四至.
    pub bounds_descriptions: std::collections::BTreeMap<&'a str, &'a str>,
}

/// `report.json` of `gridplan partition --previous`, with the ground figures and each grid's 四至.
#[derive(Serialize)]
pub struct ReplanReportWithGround<'a> {
    #[serde(flatten)]
    pub report: ReplanReport<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground: Option<&'a GroundQuality>,
    /// Grid id → 四至.
    pub bounds_descriptions: std::collections::BTreeMap<&'a str, &'a str>,
}

/// The report file of `gridplan partition`, as drawn.
#[derive(Serialize)]
#[serde(untagged)]
pub enum PlanFileReport<'a> {
    Fresh(PartitionReportWithGround<'a>),
    Redrawn(ReplanReportWithGround<'a>),
}

impl PlanOutcome {
    /// The report file's contents.
    pub fn report(&self) -> PlanFileReport<'_> {
        let bounds_descriptions = self
            .planned
            .grids
            .iter()
            .zip(self.descriptions.iter().flatten())
            .map(|(g, d)| (g.id.as_str(), d.as_str()))
            .collect();
        let ground = self.ground.as_ref();
        match self.planned.report() {
            PlanReport::Fresh(report) => PlanFileReport::Fresh(PartitionReportWithGround {
                report,
                ground,
                bounds_descriptions,
            }),
            PlanReport::Redrawn(report) => PlanFileReport::Redrawn(ReplanReportWithGround {
                report,
                ground,
                bounds_descriptions,
            }),
        }
    }
}

/// `gridplan partition`: reads the files, draws (or re-draws from `previous`), checks and measures.
pub fn plan_files(files: &PlanFiles, progress: &dyn Progress) -> Result<PlanOutcome> {
    if files.previous.is_some() && files.dedicated.is_some() {
        return Err(Error::Invalid(vec![Problem::error(
            "--dedicated",
            "re-drawing takes the dedicated grids of the previous plan as they are; new dedicated places are carved when partitioning afresh",
        )]));
    }
    let mut rules = input::load_rules(files.rules.as_deref())?;
    if files.grid_ids.is_some() {
        rules.partition.grid_ids = files.grid_ids;
    }
    let date = files.date.unwrap_or_else(Date::today);
    // The layers are read while the households are; their errors stop the plan, and their warnings
    // (a repeated block dropped, a web-map CRS read) join the plan's report.
    let (data, (layers, layer_warnings)) = crate::timing::phase("read the inputs", || {
        Dataset::load_beside(
            &files.boundaries,
            &files.households,
            &rules,
            files.crs,
            |working| {
                input::layers::load(
                    files.blocks.as_deref(),
                    files.barriers.as_deref(),
                    files.crs,
                    working,
                )
            },
        )
    })?;
    let layers = (!layers.is_empty()).then_some(layers);
    let ground = index_ground(layers.as_ref());
    if let Some(previous) = &files.previous {
        let (before, _, read_warnings) =
            input::read_grid_layer(previous, files.crs, Some(data.working))?;
        let (planned, description) = replan_on(
            &data,
            &rules,
            &before,
            date,
            read_warnings.0,
            ground.as_ref(),
            true,
        );
        return Ok(outcome(&data, planned, description));
    }
    let mut places_warnings = layer_warnings.0;
    let places = match &files.dedicated {
        None => Places::default(),
        Some(path) => {
            let (places, warnings) = input::layers::read_dedicated(path, files.crs, data.working)?;
            places_warnings.extend(warnings.0);
            Places {
                file: path.display().to_string(),
                places,
            }
        }
    };
    let (mut planned, description) = plan_on(
        &data,
        &rules,
        ground.as_ref(),
        &places,
        date,
        progress,
        true,
    )?;
    planned.check.warnings.extend(places_warnings);
    Ok(outcome(&data, planned, description))
}

/// A plan with each grid's 四至 and, on ground layers, how its grids follow them.
fn outcome(data: &Dataset, planned: Planned, description: Option<Description>) -> PlanOutcome {
    let (descriptions, ground) = description.unwrap_or_default();
    PlanOutcome {
        working: data.working,
        planned,
        descriptions: Some(descriptions),
        ground,
    }
}

/// Where `partition --by-county` puts each county's grids as they are drawn: the grids, their check
/// rows and 四至, in the working CRS given.
pub type CountySink<'a> =
    dyn FnMut(&[GridShape], &[check::GridRow], &[String], Crs) -> Result<()> + 'a;

/// A plan drawn county by county (`partition --by-county`): the grids went to the caller's sink as
/// each county was drawn; what is kept is the merged check and what was decided.
pub struct CountyByCounty {
    pub working: Crs,
    pub check: CheckReport,
    pub quality: Quality,
    pub leaf_plans: Vec<LeafPlan>,
    pub splits: Vec<BuildingSplit>,
    /// Grid id → 四至.
    pub descriptions: std::collections::BTreeMap<String, String>,
    pub counties: Vec<CountyRow>,
    /// Household features read.
    pub features: usize,
}

/// One county of a plan drawn county by county.
#[derive(Debug, Clone, Serialize)]
pub struct CountyRow {
    pub code: String,
    pub name: Option<String>,
    pub leaves: usize,
    pub households: u64,
    pub grids: usize,
}

/// `report.json` of `gridplan partition --by-county`: the same members as a plan drawn at once, and
/// the counties.
#[derive(Serialize)]
pub struct CountyReport<'a> {
    #[serde(flatten)]
    pub check: &'a CheckReport,
    pub quality: &'a Quality,
    pub leaf_plans: &'a [LeafPlan],
    pub building_splits: &'a [BuildingSplit],
    pub bounds_descriptions: &'a std::collections::BTreeMap<String, String>,
    pub counties: &'a [CountyRow],
}

impl CountyByCounty {
    /// The report file's contents.
    pub fn report(&self) -> CountyReport<'_> {
        CountyReport {
            check: &self.check,
            quality: &self.quality,
            leaf_plans: &self.leaf_plans,
            building_splits: &self.splits,
            bounds_descriptions: &self.descriptions,
            counties: &self.counties,
        }
    }
}

/// The county of each leaf: the parent of its town (see [`AreaTree::town_of`]), else its top ancestor.
/// Returns the counties (area indexes, by code) and each area's county number.
pub fn counties(tree: &AreaTree) -> (Vec<usize>, Vec<Option<usize>>) {
    let top = |mut i: usize| {
        while let Some(p) = tree.parent(i) {
            i = p;
        }
        i
    };
    let county_of = |leaf: usize| {
        tree.town_of(leaf)
            .and_then(|t| tree.parent(t))
            .unwrap_or_else(|| top(leaf))
    };
    let mut list: Vec<usize> = tree.leaves().iter().map(|&l| county_of(l)).collect();
    list.sort_by(|a, b| tree.areas[*a].code.cmp(&tree.areas[*b].code));
    list.dedup();
    let mut of = vec![None; tree.areas.len()];
    for &l in tree.leaves() {
        let c = county_of(l);
        of[l] = list.iter().position(|&x| x == c);
    }
    (list, of)
}

/// The areas of one county: its ancestors, itself and everything below it.
fn county_areas(tree: &AreaTree, county: usize) -> Vec<crate::model::Area> {
    let mut out = Vec::new();
    let mut up = tree.parent(county);
    while let Some(a) = up {
        out.push(tree.areas[a].clone());
        up = tree.parent(a);
    }
    let mut stack = vec![county];
    while let Some(a) = stack.pop() {
        out.push(tree.areas[a].clone());
        stack.extend_from_slice(tree.children(a));
    }
    out
}

/// A province read for county-by-county work: the boundary tree, its counties, and the households
/// spilled to disk per county.
struct Province {
    working: Crs,
    tree: AreaTree,
    /// The counties (area indexes, by code).
    list: Vec<usize>,
    spilled: input::stream::Spilled,
    /// The warnings of reading the boundaries and the households and placing them.
    warnings: Problems,
    boundaries: String,
    households: String,
}

impl Province {
    fn load(
        boundaries: &Path,
        households: &Path,
        rules: &Rules,
        crs: Option<Crs>,
    ) -> Result<Province> {
        let name = boundaries.display().to_string();
        let bytes = input::file::read_input(boundaries, input::file::Expect::JsonObject)?;
        let (areas, working, mut warnings) = input::parse_boundaries(&name, bytes, crs, None)?;
        let (tree, problems) = AreaTree::build(&name, areas, rules);
        if problems.has_errors() {
            return Err(Error::Invalid(problems.0));
        }
        warnings.extend(problems);
        let (list, group_of) = counties(&tree);
        let spilled =
            input::stream::spill_by_group(households, crs, working, &tree, &group_of, list.len())?;
        warnings.extend(Problems(spilled.warnings.0.clone()));
        Ok(Province {
            working,
            tree,
            list,
            spilled,
            warnings,
            boundaries: name,
            households: households.display().to_string(),
        })
    }

    /// County `g`'s dataset: its areas and its households.
    fn county(&self, g: usize, rules: &Rules) -> Result<Dataset> {
        let (sub, _) = AreaTree::build(
            &self.boundaries,
            county_areas(&self.tree, self.list[g]),
            rules,
        );
        let households = self.spilled.read(g)?;
        let mut data = Dataset::new(
            &self.households,
            self.working,
            sub,
            households,
            Problems::default(),
        );
        // Where households lie was said once for the whole file.
        data.warnings = Problems::default();
        Ok(data)
    }
}

/// `gridplan check --by-county`: the households streamed into a file per county as for
/// [`plan_files_by_county`], the grids read whole (they are few) and each checked with the county
/// holding its community (its `community`, else the leaf under a point inside it); one report, with the
/// grids in file order. Blocks and barriers are not taken here (refused).
pub fn check_files_by_county(files: &CheckFiles) -> Result<CheckReport> {
    if files.blocks.is_some() || files.barriers.is_some() {
        return Err(Error::Invalid(vec![Problem::error(
            "--by-county",
            "checking county by county does not take --blocks or --barriers yet; leave out --by-county",
        )]));
    }
    let rules = input::load_rules(files.rules.as_deref())?;
    let province = Province::load(&files.boundaries, &files.households, &rules, files.crs)?;
    let (grids, grid_warnings) = input::read_grids(&files.grids, files.crs, province.working)?;
    let (_, county_of) = counties(&province.tree);
    let leaves = province.tree.leaves();
    let index = crate::spatial::index::PolygonIndex::new(
        leaves
            .iter()
            .map(|&l| &province.tree.areas[l].geometry)
            .collect(),
    );
    let home = |g: &GridShape| -> usize {
        let by_code = g
            .community
            .as_deref()
            .and_then(|c| province.tree.get(c))
            .filter(|&i| province.tree.is_leaf(i));
        let by_place = || {
            use geo::InteriorPoint;
            let p = g.geometry.interior_point()?;
            index.containing(p.0).first().map(|&k| leaves[k])
        };
        by_code
            .or_else(by_place)
            .and_then(|l| county_of[l])
            .unwrap_or(0)
    };
    let mut per_county: Vec<Vec<usize>> = vec![Vec::new(); province.list.len()];
    for (i, g) in grids.iter().enumerate() {
        per_county[home(g)].push(i);
    }
    let mut parts = Vec::with_capacity(province.list.len());
    let mut order = Vec::with_capacity(grids.len());
    for (g, members) in per_county.iter().enumerate() {
        let data = province.county(g, &rules)?;
        let mine: Vec<GridShape> = members.iter().map(|&i| grids[i].clone()).collect();
        parts.push(check::check(&data, &mine, &rules));
        order.extend_from_slice(members);
    }
    let mut warnings = province.warnings.0;
    warnings.extend(grid_warnings.0);
    let mut report = check::merge_reports(
        parts,
        &province.working.to_string(),
        province.spilled.outside,
        warnings,
    );
    // The grid rows in the file's order.
    let mut rows: Vec<(usize, check::GridRow)> = order.into_iter().zip(report.grids).collect();
    rows.sort_by_key(|(i, _)| *i);
    report.grids = rows.into_iter().map(|(_, r)| r).collect();
    Ok(report)
}

/// `gridplan partition --by-county`: reads the boundaries, streams the households file once into a
/// spill file per county, then draws, checks and measures one county at a time, handing each county's
/// grids (with their check rows and 四至) to `sink`. Memory is bounded by the largest county. Ground
/// layers and re-drawing are not taken here (refused).
pub fn plan_files_by_county(
    files: &PlanFiles,
    progress: &dyn Progress,
    sink: &mut CountySink,
) -> Result<CountyByCounty> {
    if files.previous.is_some()
        || files.blocks.is_some()
        || files.barriers.is_some()
        || files.dedicated.is_some()
    {
        return Err(Error::Invalid(vec![Problem::error(
            "--by-county",
            "drawing county by county does not take --previous, --blocks, --barriers or --dedicated yet; leave out --by-county",
        )]));
    }
    let mut rules = input::load_rules(files.rules.as_deref())?;
    if files.grid_ids.is_some() {
        rules.partition.grid_ids = files.grid_ids;
    }
    let date = files.date.unwrap_or_else(Date::today);
    let province = Province::load(&files.boundaries, &files.households, &rules, files.crs)?;
    let Province {
        working,
        ref tree,
        ref list,
        ref spilled,
        ..
    } = province;
    let warnings = Problems(province.warnings.0.clone());
    /// Steps forwarded; the whole run is begun and ended once.
    struct Steps<'a>(&'a dyn Progress);
    impl Progress for Steps<'_> {
        fn step(&self) {
            self.0.step()
        }
    }
    progress.begin(tree.leaves().len() as u64);
    let mut parts = Vec::with_capacity(list.len());
    let mut counties_done = Vec::with_capacity(list.len());
    let mut descriptions_all = std::collections::BTreeMap::new();
    let (mut leaf_plans, mut splits) = (Vec::new(), Vec::new());
    for (g, &county) in list.iter().enumerate() {
        let data = province.county(g, &rules)?;
        let planned = plan_with(
            &data,
            &rules,
            None,
            &Places::default(),
            date,
            &Steps(progress),
        )?;
        let descriptions = check::ground::bounds_descriptions(&data, &planned.grids, None);
        sink(&planned.grids, &planned.check.grids, &descriptions, working)?;
        counties_done.push(CountyRow {
            code: tree.areas[county].code.clone(),
            name: tree.areas[county].name.clone(),
            leaves: data.tree.leaves().len(),
            households: data.total_households(),
            grids: planned.grids.len(),
        });
        for (grid, d) in planned.grids.iter().zip(descriptions) {
            descriptions_all.insert(grid.id.clone(), d);
        }
        if let Drawn::Fresh { leaves } = planned.drawn {
            leaf_plans.extend(leaves);
        }
        splits.extend(planned.splits);
        parts.push(planned.check);
    }
    progress.end();
    let check = check::merge_reports(parts, &working.to_string(), spilled.outside, warnings.0);
    Ok(CountyByCounty {
        working,
        quality: Quality::measure(&check),
        check,
        leaf_plans,
        splits,
        descriptions: descriptions_all,
        counties: counties_done,
        features: spilled.features,
    })
}

// ---------------------------------------------------------------------------------------------------
// Check

/// Checks `grids` (read with `grid_warnings`) against the dataset and the rules; with blocks, every
/// block the grids cut is a violation too.
pub fn check(
    data: &Dataset,
    grids: &[GridShape],
    grid_warnings: Problems,
    rules: &Rules,
    layers: Option<(&Layers, Problems)>,
) -> CheckReport {
    let mut report = check::check(data, grids, rules);
    report.warnings.extend(grid_warnings.0);
    if let Some((layers, warnings)) = layers {
        report.warnings.extend(warnings.0);
        if !layers.blocks.is_empty() {
            check::check_blocks(&mut report, data, grids, layers);
        }
    }
    report
}

/// The files of `gridplan check`.
#[derive(Debug, Clone, Default)]
pub struct CheckFiles {
    pub grids: PathBuf,
    pub households: PathBuf,
    pub boundaries: PathBuf,
    pub rules: Option<PathBuf>,
    pub blocks: Option<PathBuf>,
    pub barriers: Option<PathBuf>,
    pub crs: Option<Crs>,
}

/// `gridplan check`: reads the files and checks the grids.
pub fn check_files(files: &CheckFiles) -> Result<CheckReport> {
    let rules = input::load_rules(files.rules.as_deref())?;
    // The grids and the layers are read while the households are.
    let (data, ((grids, grid_warnings), (layers, layer_warnings))) = Dataset::load_beside(
        &files.boundaries,
        &files.households,
        &rules,
        files.crs,
        |working| {
            let (grids, layers) = rayon::join(
                || input::read_grids(&files.grids, files.crs, working),
                || {
                    input::layers::load(
                        files.blocks.as_deref(),
                        files.barriers.as_deref(),
                        files.crs,
                        working,
                    )
                },
            );
            let layers = layers?;
            Ok((grids?, layers))
        },
    )?;
    Ok(check(
        &data,
        &grids,
        grid_warnings,
        &rules,
        Some((&layers, layer_warnings)),
    ))
}

// ---------------------------------------------------------------------------------------------------
// Staff

/// Grids staffed: each grid's load (town, households, workload, policy) and the assignment, whose
/// staffing report carries every warning of the inputs.
pub struct Staffed {
    pub loads: Vec<GridLoad>,
    pub assignment: Assignment,
    /// The solver's time limit per town in force (`assign.time_limit_s`), for the note on towns it
    /// found nothing for.
    pub time_limit_s: f64,
}

impl Staffed {
    /// The towns where the solver found no assignment within its time limit.
    pub fn unsolved_towns(&self) -> Vec<&str> {
        self.assignment
            .staffing
            .towns
            .iter()
            .filter(|t| t.solver_status == SolveStatus::NoSolution)
            .map(|t| t.town.as_str())
            .collect()
    }
}

/// The workload of each grid, recounted from the households, with the staffing policy of its kind.
pub fn grid_loads(
    shapes: &[GridShape],
    towns: &[TownCode],
    tree: Option<&AreaTree>,
    households: &[Household],
    rules: &Rules,
) -> Vec<GridLoad> {
    let mut loads = assign::grid_loads(shapes, towns, households, rules);
    let policies = assign::grid_policies(shapes, tree, rules);
    for (load, policy) in loads.iter_mut().zip(policies) {
        load.policy = policy;
    }
    loads
}

/// Gives every grid its responsible worker (HiGHS, per town) and each town its shortfall. A solver
/// that fails outright is [`Error::Solver`]; towns it found nothing for in time are reported in the
/// staffing (see [`Staffed::unsolved_towns`]).
pub fn staff(inputs: &StaffingInputs, rules: &Rules) -> Result<Staffed> {
    let loads = grid_loads(
        &inputs.shapes,
        &inputs.towns,
        inputs.tree.as_ref(),
        &inputs.households,
        rules,
    );
    let mut assignment = assign::assign(&loads, &inputs.workers, rules).map_err(Error::Solver)?;
    assignment.staffing.warnings = inputs.warnings.0.clone();
    Ok(Staffed {
        loads,
        assignment,
        time_limit_s: rules.assign.time_limit_s,
    })
}

/// What `assign` and `visits` work on: the grids (an assignment for `visits`), the boundary tree when
/// there is one, each grid's town, the households and the workers of those towns, and every warning.
pub struct StaffingInputs {
    pub shapes: Vec<GridShape>,
    pub tree: Option<AreaTree>,
    pub towns: Vec<TownCode>,
    pub households: Vec<Household>,
    pub workers: Vec<Worker>,
    pub working: Crs,
    pub warnings: Problems,
}

/// The files of `gridplan assign` and `gridplan visits`.
#[derive(Debug, Clone, Default)]
pub struct StaffFiles {
    /// The grids (`assign`) or the assignment (`visits`).
    pub grids: PathBuf,
    pub households: PathBuf,
    pub workers: PathBuf,
    pub boundaries: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub crs: Option<Crs>,
}

/// Reads what `assign` and `visits` work on, with the boundary tree when boundaries are given.
pub fn read_staffing_inputs(files: &StaffFiles, rules: &Rules) -> Result<StaffingInputs> {
    let crs = files.crs;
    let mut warnings = Problems::default();
    let (tree, working) = match &files.boundaries {
        Some(b) => {
            let (areas, working, more) = input::read_boundaries(b, crs, None)?;
            warnings.extend(more);
            let (tree, problems) = AreaTree::build(&b.display().to_string(), areas, rules);
            if problems.has_errors() {
                return Err(Error::Invalid(problems.0));
            }
            warnings.extend(problems);
            (Some(tree), Some(working))
        }
        None => (None, None),
    };
    let (shapes, working, more) = input::read_grids_in(&files.grids, crs, working)?;
    warnings.extend(more);
    let towns = assign::grid_towns(&files.grids.display().to_string(), &shapes, tree.as_ref())?;
    let (households, more) = input::read_households(&files.households, crs, working)?;
    warnings.extend(more);
    let known: BTreeSet<TownCode> = towns.iter().cloned().collect();
    let (workers, more) =
        input::workers::read_workers(&files.workers, crs, working, &rules.worker_hours, &known)?;
    warnings.extend(more);
    Ok(StaffingInputs {
        shapes,
        tree,
        towns,
        households,
        workers,
        working,
        warnings,
    })
}

/// `gridplan assign`: reads the files (workers keep the grids of `previous_assignment` that kept
/// their id) and staffs the grids.
pub fn staff_files(
    files: &StaffFiles,
    previous_assignment: Option<&Path>,
) -> Result<(StaffingInputs, Staffed)> {
    let rules = input::load_rules(files.rules.as_deref())?;
    let mut inputs = read_staffing_inputs(files, &rules)?;
    if let Some(prev) = previous_assignment {
        let (held, more) = input::read_grids(prev, files.crs, inputs.working)?;
        inputs.warnings.extend(more);
        keep_previous_grids(&mut inputs.workers, &held);
    }
    let staffed = staff(&inputs, &rules)?;
    Ok((inputs, staffed))
}

/// Workers keep the grids of a previous assignment that kept their id.
fn keep_previous_grids(workers: &mut [Worker], held: &[GridShape]) {
    for w in workers {
        for g in held
            .iter()
            .filter(|g| g.primary_worker.as_deref() == Some(w.id.as_str()))
        {
            if !w.previous_grids.contains(&g.id) {
                w.previous_grids.push(g.id.clone());
            }
        }
    }
}

/// Staffs grids of a dataset in memory (the service): towns from the dataset's tree, workers from
/// bytes (`workers`: file name and content), the readers' `warnings` carried into the staffing.
pub fn staff_dataset(
    data: &Dataset,
    rules: &Rules,
    shapes: &[GridShape],
    workers: (&str, &[u8]),
    mut warnings: Vec<Problem>,
) -> Result<Staffed> {
    let towns = assign::grid_towns("plan grids", shapes, Some(&data.tree))?;
    let known = towns.iter().cloned().collect();
    let (people, more) = input::workers::parse_workers(
        workers.0,
        workers.1,
        None,
        data.working,
        &rules.worker_hours,
        &known,
    )?;
    warnings.extend(more.0);
    let loads = grid_loads(shapes, &towns, Some(&data.tree), &data.households, rules);
    let mut assignment = assign::assign(&loads, &people, rules).map_err(Error::Solver)?;
    assignment.staffing.warnings = warnings;
    Ok(Staffed {
        loads,
        assignment,
        time_limit_s: rules.assign.time_limit_s,
    })
}

// ---------------------------------------------------------------------------------------------------
// Visits

/// A month of visits for the grids of an assignment, with an optional visit log; routes follow the
/// walkable barriers when given.
pub fn visits(
    inputs: &StaffingInputs,
    log: Option<&[LogEntry]>,
    rules: &Rules,
    month: Month,
    barriers: &[crate::model::Barrier],
) -> VisitPlan {
    let mut plan = visits::plan(
        &inputs.shapes,
        &inputs.households,
        &inputs.workers,
        log,
        rules,
        month,
        barriers,
    );
    plan.warnings.extend(inputs.warnings.0.iter().cloned());
    plan
}

/// The files of `gridplan visits`.
#[derive(Debug, Clone, Default)]
pub struct VisitFiles {
    /// The assignment, the households, the workers, the boundaries, the rules.
    pub staff: StaffFiles,
    pub log: Option<PathBuf>,
    pub barriers: Option<PathBuf>,
    /// The day the plan is made: a logged visit after it is refused (default: today, anywhere).
    pub planning_day: Option<Date>,
}

/// `gridplan visits`: reads the files and plans the month.
pub fn visits_files(files: &VisitFiles, month: Month) -> Result<VisitPlan> {
    let rules = input::load_rules(files.staff.rules.as_deref())?;
    let mut inputs = read_staffing_inputs(&files.staff, &rules)?;
    let (layers, more) = input::layers::load(
        None,
        files.barriers.as_deref(),
        files.staff.crs,
        inputs.working,
    )?;
    inputs.warnings.extend(more);
    let day = files
        .planning_day
        .unwrap_or_else(visits::planning_day_default);
    let log = match files.log.as_deref() {
        Some(path) => {
            let log = visits::read_log(path, day)?;
            let name = path.display().to_string();
            let more = visits::vet_log(&name, &log, &inputs.households, &rules)?;
            inputs.warnings.extend(Problems(more));
            Some(log)
        }
        None => None,
    };
    Ok(visits(
        &inputs,
        log.as_deref(),
        &rules,
        month,
        &layers.barriers,
    ))
}

/// A month of visits for an assignment held in memory (the service): the assignment's GeoJSON, the
/// workers' and the log's bytes (a log of only whitespace is no log). With `barriers` (the street
/// layer in force, in the dataset's working CRS) routes follow the streets, as `gridplan visits
/// --barriers` does; without, straight lines.
pub fn visits_dataset(
    data: &Dataset,
    rules: &Rules,
    assignment: &str,
    workers: &[u8],
    log: &[u8],
    month: Month,
    barriers: &[crate::model::Barrier],
) -> Result<VisitPlan> {
    let (shapes, _, mut warnings) = input::parse_grids(
        "assignment",
        assignment.as_bytes().to_vec(),
        None,
        Some(data.working),
    )?;
    let towns: BTreeSet<TownCode> = assign::grid_towns("assignment", &shapes, Some(&data.tree))?
        .into_iter()
        .collect();
    let (people, more) = input::workers::parse_workers(
        "workers",
        workers,
        None,
        data.working,
        &rules.worker_hours,
        &towns,
    )?;
    warnings.extend(more);
    let entries = if log.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let entries = visits::parse_log("visit log", log, visits::planning_day_default())?;
        warnings.extend(Problems(visits::vet_log(
            "visit log",
            &entries,
            &data.households,
            rules,
        )?));
        Some(entries)
    };
    let mut plan = visits::plan(
        &shapes,
        &data.households,
        &people,
        entries.as_deref(),
        rules,
        month,
        barriers,
    );
    plan.warnings.extend(warnings.0);
    Ok(plan)
}

// ---------------------------------------------------------------------------------------------------
// Diff

/// What changed between two grid layers, household by household (with each household's id when
/// `include_ids`: planners only).
pub fn diff(
    households: &[Household],
    old: &[GridShape],
    new: &[GridShape],
    include_ids: bool,
) -> Diff {
    crate::diff::diff(households, old, new, include_ids)
}

/// The files of `gridplan diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffFiles {
    pub old: PathBuf,
    pub new: PathBuf,
    pub households: PathBuf,
    pub include_ids: bool,
    pub crs: Option<Crs>,
}

/// `gridplan diff`: reads both layers and the households (in the old layer's working CRS) and
/// compares them; the readers' warnings go into the diff.
pub fn diff_files(files: &DiffFiles) -> Result<Diff> {
    let (before, working, mut warnings) = input::read_grids_in(&files.old, files.crs, None)?;
    let (after, more) = input::read_grids(&files.new, files.crs, working)?;
    warnings.extend(more);
    let (points, more) = input::read_households(&files.households, files.crs, working)?;
    warnings.extend(more);
    let mut d = diff(&points, &before, &after, files.include_ids);
    d.warnings = warnings.0;
    Ok(d)
}
