//! The `gridplan` command line: a thin layer over the library. Errors become exit codes here and only here.

use anyhow::Context;
use clap::{Parser, Subcommand};
use gridplan::{Crs, Dataset, Error, Rules};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status for bad input (a file that cannot be used as given).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the check finds violations.
const EXIT_VIOLATIONS: u8 = 1;
/// Exit status for failures that are not the input's fault (a file that cannot be written, …).
const EXIT_FAILURE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "gridplan",
    version,
    about = "Draw, check and staff community grids (网格)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Largest input file read, in MiB (households, boundaries, grids, workers, rules, each). A file
    /// past it is refused with exit status 2 before it fills the memory.
    #[arg(long, global = true, default_value_t = gridplan::input::file::DEFAULT_MAX_INPUT_MB)]
    max_input_mb: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Check existing grids: recount households per grid and report every violation of the rules.
    ///
    /// Exit status: 0 compliant, 1 violations found, 2 bad input.
    Check {
        /// The grids to check (GeoJSON Polygon/MultiPolygon features with an `id`, optionally `community`).
        #[arg(long)]
        grids: PathBuf,
        /// Household points (GeoJSON Point features).
        #[arg(long)]
        households: PathBuf,
        /// Community/village boundaries with `code`, `parent` and `kind` (GeoJSON polygons).
        #[arg(long)]
        boundaries: PathBuf,
        /// Rules file (TOML) overriding the national defaults; `gridplan rules` prints them.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Write the full report (summary, every violation, per-grid and per-leaf rows) as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Blocks (GeoJSON polygons with optional `code`, `name`, `kind`): every block the grids cut
        /// is reported (rule `split_block`, naming the block's code).
        #[arg(long)]
        blocks: Option<PathBuf>,
        /// Barriers (GeoJSON lines with optional `name`, `class`, `rank`): read and validated like the
        /// other inputs.
        #[arg(long)]
        barriers: Option<PathBuf>,
        /// CRS of input files that do not name one in a `crs` member (default WGS84), e.g. EPSG:4549.
        #[arg(long, value_parser = parse_crs)]
        crs: Option<Crs>,
    },
    /// Draw the grids of every leaf (community/village) from the households and the rules.
    ///
    /// Writes one feature per grid and, with --report, the check of its own output plus what
    /// was decided per leaf (grid counts, infeasible leaves and why, oversize buildings split).
    Partition {
        /// Household points (GeoJSON Point features).
        #[arg(long)]
        households: PathBuf,
        /// Community/village boundaries with `code`, `parent` and `kind` (GeoJSON polygons).
        #[arg(long)]
        boundaries: PathBuf,
        /// Rules file (TOML) overriding the national defaults; `gridplan rules` prints them.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Where to write the grids (GeoJSON, WGS84).
        #[arg(long)]
        out: PathBuf,
        /// Write the report (summary, violations, quality, per-leaf decisions) as JSON here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Blocks (GeoJSON polygons: street blocks, compounds, parcels; optional `code`, `name`,
        /// `kind`): grids become unions of whole blocks and never cut one.
        #[arg(long)]
        blocks: Option<PathBuf>,
        /// Barriers (GeoJSON lines: roads, rivers, rail, walls; optional `name`, `class`, `rank` 0–9):
        /// grid edges prefer to run along high-rank barriers.
        #[arg(long)]
        barriers: Option<PathBuf>,
        /// The grids in force before: leaves that did not change keep their grids exactly; changed
        /// leaves keep households in their old grids wherever the band allows.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// CRS of input files that do not name one in a `crs` member (default WGS84), e.g. EPSG:4549.
        #[arg(long, value_parser = parse_crs)]
        crs: Option<Crs>,
    },
    /// What changed between two grid layers, household by household: moves per pair of grids, grids
    /// created, removed, kept and reshaped, workers whose grids changed (when the layers are assignments).
    Diff {
        /// The old grids (or assignment) file.
        #[arg(long)]
        old: PathBuf,
        /// The new grids (or assignment) file.
        #[arg(long)]
        new: PathBuf,
        /// Household points.
        #[arg(long)]
        households: PathBuf,
        /// Write diff.json here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// List every household that changed grid (feature index and id): planners only.
        #[arg(long)]
        include_ids: bool,
        /// CRS of input files that do not name one in a `crs` member (default WGS84).
        #[arg(long, value_parser = parse_crs)]
        crs: Option<Crs>,
    },
    /// Give every grid its responsible grid worker (a mixed-integer model on HiGHS, per town) and tell
    /// each town how many workers it lacks.
    Assign {
        /// The grids (GeoJSON polygons with `id` and 12-digit `community` codes, or pass --boundaries).
        #[arg(long)]
        grids: PathBuf,
        /// Household points: the workload of each grid is recounted from them.
        #[arg(long)]
        households: PathBuf,
        /// Workers: GeoJSON points, or CSV with `lon,lat` columns; fields id, type, hours, town, status,
        /// previous_grids.
        #[arg(long)]
        workers: PathBuf,
        /// Boundaries, to find each grid's town and kind (hence its staffing policy) through the
        /// boundary tree; without them the town comes from the 12-digit community code and every grid
        /// takes the default `[staffing] policy`.
        #[arg(long)]
        boundaries: Option<PathBuf>,
        /// Rules file (TOML): staffing policy per kind, visits and their cadence, worker hours, solver
        /// settings.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Where to write the grids with `workers`, `primary_worker`, `staffing_policy` and
        /// `cadre_responsible` (GeoJSON).
        #[arg(long)]
        out: PathBuf,
        /// Also write each grid's `workload_hours` into --out. Workload is computed from the counts
        /// of people needing visits, so it is sensitive: a file with it is for planners only.
        #[arg(long)]
        include_sensitive: bool,
        /// The assignment in force before: workers keep the grids that kept their id.
        #[arg(long)]
        previous_assignment: Option<PathBuf>,
        /// Write the staffing report (per town: workload, workers, shortfall, solver status) here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// CRS of input files that do not name one in a `crs` member (default WGS84).
        #[arg(long, value_parser = parse_crs)]
        crs: Option<Crs>,
    },
    /// Each worker's visits for a month: whom (resident ids: a planner-only file), on which day, in
    /// which walking order, within their hours; with --log, the residents past their cadence (most
    /// overdue first; an error beyond twice the cadence) and the visit lists handed over to a new worker.
    Visits {
        /// The assignment (`gridplan assign --out`): grids with their `primary_worker`.
        #[arg(long)]
        assignment: PathBuf,
        /// Household points: residents are points with `elderly_alone`, `key_persons` or `vulnerable`
        /// above 0 (the rest are visited as `others`); their `id` names them.
        #[arg(long)]
        households: PathBuf,
        /// Workers (as for `assign`): base location and weekly hours.
        #[arg(long)]
        workers: PathBuf,
        /// Boundaries, to find each grid's town (else the 12-digit community code is used).
        #[arg(long)]
        boundaries: Option<PathBuf>,
        /// Rules file (TOML): `[visits]` cadence per category and minutes per visit, patrol hours.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The month to schedule, YYYY-MM.
        #[arg(long, value_parser = gridplan::staff::visits::Month::parse)]
        month: gridplan::staff::visits::Month,
        /// Visit log: CSV with columns resident,worker,time (ISO 8601), or a JSON array of such objects.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Barrier lines (GeoJSON, as for `partition`): routes follow the walkable ones (roads, lanes,
        /// arterials; not rivers, rail or walls) instead of straight lines.
        #[arg(long)]
        barriers: Option<PathBuf>,
        /// Where to write visits.json (planner-only: it names residents).
        #[arg(long)]
        out: PathBuf,
        /// CRS of input files that do not name one in a `crs` member (default WGS84).
        #[arg(long, value_parser = parse_crs)]
        crs: Option<Crs>,
    },
    /// Run the HTTP service: OGC API – Features at the root (QGIS and GDAL open it directly), the
    /// planning API under /api, the map page for browsers. State lives in the database file.
    Serve {
        /// Directory of households.geojson, boundaries.geojson and optionally workers.geojson (or
        /// .csv) and rules.toml, loaded and planned at start when the database has no data yet.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The SQLite database file (created if missing).
        #[arg(long, default_value = "gridplan.db")]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// A tokens file: lines of `TOKEN ROLE` (planner or viewer). GRIDPLAN_PLANNER_TOKEN adds one
        /// planner token; with none, every write is refused.
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// Base-map tile URL template for the map page, e.g. https://tile.example/{z}/{x}/{y}.png
        /// (optional: the page works without one, and without internet).
        #[arg(long)]
        tiles: Option<String>,
        /// Largest request body accepted, in MiB (a district's households file is tens of MB; raise
        /// it for a county's).
        #[arg(long, default_value_t = gridplan::service::DEFAULT_MAX_BODY_MB)]
        max_body_mb: usize,
    },
    /// Serve the bundled demo district (data/) on 127.0.0.1:8080 and print the URL.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// The demo data directory.
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Print the rules in force (the defaults, or a rules file over them) as a commented TOML file.
    Rules {
        /// Rules file (TOML) to read over the defaults.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Write a seeded synthetic district: boundaries, households and a grids file with known violations.
    Generate {
        /// Directory to write `boundaries.geojson`, `households.geojson` and `grids.geojson` into.
        #[arg(long)]
        out: PathBuf,
        /// Random seed; the same seed gives byte-identical files.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Approximate number of households. The default is the bundled demo district; larger numbers
        /// repeat its towns across a wider county.
        #[arg(long)]
        households: Option<u64>,
        /// Write households in this projected CRS instead of WGS84 (e.g. EPSG:4549).
        #[arg(long, value_parser = parse_crs)]
        households_crs: Option<Crs>,
    },
}

/// `println!` that does not panic when stdout is closed (`gridplan … | head`): output is best effort.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` with the same tolerance.
fn say_raw(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn parse_crs(s: &str) -> Result<Crs, String> {
    Crs::known(s)
}

/// What `assign` and `visits` read: the grids (an assignment for `visits`), with the boundary tree when
/// given, each grid's town, the households and the workers of those towns, and every warning.
struct StaffingInputs {
    shapes: Vec<gridplan::model::GridShape>,
    tree: Option<gridplan::spatial::tree::AreaTree>,
    towns: Vec<gridplan::model::TownCode>,
    points: Vec<gridplan::model::Household>,
    people: Vec<gridplan::input::workers::Worker>,
    working: Crs,
    warnings: gridplan::problem::Problems,
}

fn staffing_inputs(
    grids: &std::path::Path,
    households: &std::path::Path,
    workers: &std::path::Path,
    boundaries: Option<&std::path::Path>,
    rules: &Rules,
    crs: Option<Crs>,
) -> anyhow::Result<StaffingInputs> {
    let mut warnings = gridplan::problem::Problems::default();
    let (tree, working) = match boundaries {
        Some(b) => {
            let (areas, working, more) = gridplan::input::read_boundaries(b, crs, None)?;
            warnings.extend(more);
            let (tree, problems) =
                gridplan::spatial::tree::AreaTree::build(&b.display().to_string(), areas, rules);
            if problems.has_errors() {
                return Err(Error::Invalid(problems.0).into());
            }
            warnings.extend(problems);
            (Some(tree), Some(working))
        }
        None => (None, None),
    };
    let (shapes, working, more) = gridplan::input::read_grids_in(grids, crs, working)?;
    warnings.extend(more);
    let towns =
        gridplan::staff::assign::grid_towns(&grids.display().to_string(), &shapes, tree.as_ref())?;
    let (points, more) = gridplan::input::read_households(households, crs, working)?;
    warnings.extend(more);
    let known: std::collections::BTreeSet<gridplan::model::TownCode> =
        towns.iter().cloned().collect();
    let (people, more) =
        gridplan::input::workers::read_workers(workers, crs, working, &rules.worker_hours, &known)?;
    warnings.extend(more);
    Ok(StaffingInputs {
        shapes,
        tree,
        towns,
        points,
        people,
        working,
        warnings,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let bad_input = e.downcast_ref::<Error>().is_some_and(Error::is_bad_input);
            eprintln!("gridplan: {e:#}");
            ExitCode::from(if bad_input {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILURE
            })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    gridplan::input::file::set_max_input_mb(cli.max_input_mb);
    match cli.command {
        Command::Check {
            grids,
            households,
            boundaries,
            rules,
            report,
            crs,
            blocks,
            barriers,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let data = Dataset::load(&boundaries, &households, &rules, crs)?;
            let (layers, layer_problems) = gridplan::input::layers::Layers::load(
                blocks.as_deref(),
                barriers.as_deref(),
                crs,
                data.working,
            )?;
            let (shapes, problems) = gridplan::input::read_grids(&grids, crs, data.working)?;
            let mut result = gridplan::check(&data, &shapes, &rules);
            result.warnings.extend(problems.0);
            result.warnings.extend(layer_problems.0);
            if !layers.blocks.is_empty() {
                gridplan::check::check_blocks(&mut result, &data, &shapes, &layers);
            }
            if let Some(path) = &report {
                write_json(path, &result)?;
            }
            say_raw(&result.render_text());
            if let Some(path) = &report {
                say!("\n  report written to {}", path.display());
            }
            Ok(if result.summary.compliant {
                0
            } else {
                EXIT_VIOLATIONS
            })
        }
        Command::Partition {
            households,
            boundaries,
            rules,
            out,
            report,
            previous: Some(previous),
            crs,
            blocks,
            barriers,
        } => {
            if blocks.is_some() || barriers.is_some() {
                return Err(Error::Invalid(vec![gridplan::problem::Problem::error(
                    "--previous",
                    "re-drawing with --blocks/--barriers is not supported yet; partition afresh with the layers, or re-draw without them",
                )])
                .into());
            }
            let rules = Rules::load(rules.as_deref())?;
            let data = Dataset::load(&boundaries, &households, &rules, crs)?;
            let (before, read_warnings) =
                gridplan::input::read_grids(&previous, crs, data.working)?;
            let plan = gridplan::plan::replan::replan(&data, &rules, &before);
            let mut checked = gridplan::check(&data, &plan.grids, &rules);
            checked.warnings.extend(read_warnings.0);
            gridplan::output::write_grids(&out, data.working, &plan.grids, &checked.grids)?;
            let quality = gridplan::plan::partition::Quality::measure(&checked);
            if let Some(path) = &report {
                write_json(
                    path,
                    &gridplan::plan::replan::ReplanReport {
                        check: &checked,
                        quality: quality.clone(),
                        changes: &plan.leaves,
                        removed_leaves: &plan.removed_leaves,
                        building_splits: &plan.splits,
                    },
                )?;
            }
            let count = |c: gridplan::plan::replan::Change| {
                plan.leaves.iter().filter(|l| l.change == c).count()
            };
            say!(
                "gridplan partition --previous: {} grids in {} leaves written to {}\n",
                plan.grids.len(),
                plan.leaves.len(),
                out.display()
            );
            say!(
                "  leaves unchanged {}, reshaped {}, new {}, removed {}",
                count(gridplan::plan::replan::Change::Unchanged),
                count(gridplan::plan::replan::Change::Reshaped),
                count(gridplan::plan::replan::Change::New),
                plan.removed_leaves.len()
            );
            for l in plan
                .leaves
                .iter()
                .filter(|l| l.change != gridplan::plan::replan::Change::Unchanged)
            {
                say!(
                    "    {:<14} {:?}: kept {}, redrawn {}, removed {}",
                    l.leaf,
                    l.change,
                    l.grids_kept.len(),
                    l.grids_redrawn.len(),
                    l.grids_removed.len()
                );
            }
            for code in &plan.removed_leaves {
                say!("    {code:<14} removed");
            }
            say!(
                "  in band where reachable {:.1} %, multi-part grids {}, mean compactness {:.3}\n",
                100.0 * quality.share_in_band_where_reachable,
                quality.multi_part_grids,
                quality.mean_compactness
            );
            say_raw(
                &checked
                    .render_text()
                    .replacen("gridplan check", "check of the new grids", 1),
            );
            Ok(0)
        }
        Command::Visits {
            assignment,
            households,
            workers,
            boundaries,
            rules,
            month,
            log,
            barriers,
            out,
            crs,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let StaffingInputs {
                shapes,
                points,
                people,
                working,
                mut warnings,
                ..
            } = staffing_inputs(
                &assignment,
                &households,
                &workers,
                boundaries.as_deref(),
                &rules,
                crs,
            )?;
            let (layers, more) =
                gridplan::input::layers::Layers::load(None, barriers.as_deref(), crs, working)?;
            warnings.extend(more);
            let entries = log
                .as_deref()
                .map(gridplan::staff::visits::read_log)
                .transpose()?;
            let mut plan = gridplan::staff::visits::plan(
                &shapes,
                &points,
                &people,
                entries.as_deref(),
                &rules,
                month,
                &layers.barriers,
            );
            plan.warnings.extend(warnings.0);
            write_json(&out, &plan)?;
            let visits: usize = plan.workers.iter().map(|w| w.visits.len()).sum();
            say!(
                "gridplan visits {month}: {visits} visits for {} workers, {} not placed",
                plan.workers.len(),
                plan.unassigned.len()
            );
            for (category, n) in &plan.residents {
                say!("  residents {category:<14} {n}");
            }
            if let Some(overdue) = &plan.overdue {
                let errors = overdue
                    .iter()
                    .filter(|o| o.level == gridplan::staff::visits::Level::Error)
                    .count();
                say!(
                    "  overdue: {} ({errors} errors: more than one cadence late or never visited)",
                    overdue.len()
                );
                for o in overdue.iter().take(10) {
                    say!(
                        "    {:?} {} in {} ({}): {}",
                        o.level,
                        o.resident,
                        o.grid,
                        o.worker.as_deref().unwrap_or("no worker"),
                        match o.days_overdue {
                            Some(d) => format!("{d} days past the cadence"),
                            None => "never visited".to_string(),
                        }
                    );
                }
                say!(
                    "  visit lists handed over to a new worker: {}",
                    plan.handovers.len()
                );
            }
            say_raw(&gridplan::problem::render_warnings(&plan.warnings, 10));
            say!(
                "  written to {} (planner-only: it names residents)",
                out.display()
            );
            Ok(
                if plan.overdue.as_ref().is_some_and(|o| {
                    o.iter()
                        .any(|o| o.level == gridplan::staff::visits::Level::Error)
                }) {
                    EXIT_VIOLATIONS
                } else {
                    0
                },
            )
        }
        Command::Diff {
            old,
            new,
            households,
            out,
            include_ids,
            crs,
        } => {
            let (before, working, mut warnings) = gridplan::input::read_grids_in(&old, crs, None)?;
            let (after, more) = gridplan::input::read_grids(&new, crs, working)?;
            warnings.extend(more);
            let (points, more) = gridplan::input::read_households(&households, crs, working)?;
            warnings.extend(more);
            let mut d = gridplan::diff::diff(&points, &before, &after, include_ids);
            d.warnings = warnings.0;
            if let Some(path) = &out {
                write_json(path, &d)?;
            }
            let s = &d.summary;
            say!("gridplan diff: {} → {}\n", old.display(), new.display());
            say!(
                "  households kept in their grid      {} of {} ({:.1} %)",
                s.households_kept,
                s.households,
                100.0 * s.share_kept
            );
            say!(
                "  household-weighted agreement       {:.1} %",
                100.0 * s.agreement
            );
            say!(
                "  grids old / new                    {} / {}",
                s.grids_old,
                s.grids_new
            );
            say!(
                "  kept / reshaped / created / removed {} / {} / {} / {}",
                s.kept,
                s.reshaped,
                s.created,
                s.removed
            );
            say!("  workers whose grids changed        {}", s.workers_changed);
            say_raw(&gridplan::problem::render_warnings(&d.warnings, 10));
            for m in d.moves.iter().take(15) {
                say!(
                    "    {:>6} households  {} → {}",
                    m.households,
                    m.from.as_deref().unwrap_or("(none)"),
                    m.to.as_deref().unwrap_or("(none)")
                );
            }
            if let Some(path) = &out {
                say!("\n  diff written to {}", path.display());
            }
            Ok(0)
        }
        Command::Partition {
            households,
            boundaries,
            rules,
            out,
            report,
            previous: None,
            crs,
            blocks,
            barriers,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let data = Dataset::load(&boundaries, &households, &rules, crs)?;
            let (layers, _) = gridplan::input::layers::Layers::load(
                blocks.as_deref(),
                barriers.as_deref(),
                crs,
                data.working,
            )?;
            let ground = (!layers.is_empty())
                .then(|| gridplan::plan::partition::cells::Ground::new(&layers));
            let bar = std::io::stderr().is_terminal().then(|| {
                let b = indicatif::ProgressBar::new(data.tree.leaves().len() as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} leaves {elapsed}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let tick = || {
                if let Some(b) = &bar {
                    b.inc(1);
                }
            };
            let plan =
                gridplan::plan::partition::partition_with(&data, &rules, ground.as_ref(), &tick);
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let checked = gridplan::check(&data, &plan.grids, &rules);
            let descriptions = gridplan::plan::partition::cells::measure::bounds_descriptions(
                &data,
                &plan.grids,
                (!layers.is_empty()).then_some(&layers),
            );
            let text = gridplan::plan::partition::cells::measure::add_descriptions(
                &gridplan::output::grids_geojson(data.working, &plan.grids, &checked.grids)?,
                &descriptions,
            )?;
            gridplan::output::fgb::write_collection_text(&out, &text)?;
            let quality = gridplan::plan::partition::Quality::measure(&checked);
            let ground_quality = (!layers.is_empty()).then(|| {
                gridplan::plan::partition::cells::measure::ground_quality(
                    &data,
                    &plan.grids,
                    &layers,
                )
            });
            if let Some(path) = &report {
                write_json(
                    path,
                    &gridplan::plan::partition::cells::measure::PartitionReportWithGround {
                        report: gridplan::plan::partition::PartitionReport {
                            check: &checked,
                            quality: quality.clone(),
                            leaf_plans: &plan.leaves,
                            building_splits: &plan.splits,
                        },
                        ground: ground_quality.clone(),
                        bounds_descriptions: plan
                            .grids
                            .iter()
                            .zip(&descriptions)
                            .map(|(g, d)| (g.id.clone(), d.clone()))
                            .collect(),
                    },
                )?;
            }
            say!(
                "gridplan partition: {} grids in {} leaves written to {}\n",
                plan.grids.len(),
                plan.leaves.len(),
                out.display()
            );
            say!(
                "  in band where reachable            {:.1} % of {} grids",
                100.0 * quality.share_in_band_where_reachable,
                quality.grids_where_band_reachable
            );
            say!(
                "  multi-part grids                   {}",
                quality.multi_part_grids
            );
            say!(
                "  compactness (Polsby–Popper)        mean {:.3}, 10th percentile {:.3}",
                quality.mean_compactness,
                quality.p10_compactness
            );
            if let Some(gq) = &ground_quality {
                say!(
                    "  populated blocks cut between grids {} of {} ({:.1} %)",
                    gq.populated_blocks_split,
                    gq.populated_blocks,
                    100.0 * gq.share_populated_blocks_split
                );
                say!(
                    "  inner grid edges on blocks/barriers {:.1} % of {:.0} m",
                    100.0 * gq.share_inner_edges_on_ground,
                    gq.inner_edge_m
                );
            }
            for s in &plan.splits {
                if s.separated {
                    say!(
                        "  note: building {} of {} ({} households) split by {} into {:?}",
                        s.building,
                        s.leaf,
                        s.households,
                        s.by,
                        s.pieces
                    );
                } else {
                    say!(
                        "  note: building {} of {} ({} households) is larger than a grid, but its {}s share one location and could not be divided",
                        s.building,
                        s.leaf,
                        s.households,
                        s.by
                    );
                }
            }
            say!();
            say_raw(
                &checked
                    .render_text()
                    .replacen("gridplan check", "check of the new grids", 1),
            );
            if let Some(path) = &report {
                say!("\n  report written to {}", path.display());
            }
            Ok(0)
        }
        Command::Assign {
            grids,
            households,
            workers,
            boundaries,
            rules,
            out,
            include_sensitive,
            previous_assignment,
            report,
            crs,
        } => {
            let rules = Rules::load(rules.as_deref())?;
            let StaffingInputs {
                shapes,
                tree,
                towns,
                points,
                mut people,
                working,
                mut warnings,
            } = staffing_inputs(
                &grids,
                &households,
                &workers,
                boundaries.as_deref(),
                &rules,
                crs,
            )?;
            if let Some(prev) = &previous_assignment {
                // Workers keep the grids that kept their id.
                let (held, more) = gridplan::input::read_grids(prev, crs, working)?;
                warnings.extend(more);
                for w in &mut people {
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
            let mut loads = gridplan::staff::assign::grid_loads(&shapes, &towns, &points, &rules);
            let policies = gridplan::staff::assign::grid_policies(&shapes, tree.as_ref(), &rules);
            for (load, policy) in loads.iter_mut().zip(policies) {
                load.policy = policy;
            }
            let mut result = gridplan::staff::assign::assign(&loads, &people, &rules)
                .map_err(|e| anyhow::anyhow!("the solver failed: {e}"))?;
            result.staffing.warnings = warnings.0;
            gridplan::output::write_assignment(
                &out,
                working,
                &shapes,
                &loads,
                &result,
                include_sensitive,
            )?;
            if let Some(path) = &report {
                write_json(path, &result.staffing)?;
            }
            let s = &result.staffing;
            say!(
                "gridplan assign: {} grids, {:.0} workload hours a week, {} towns (solver: {})\n",
                s.total_grids,
                s.total_workload_hours,
                s.towns.len(),
                s.solver
            );
            say!(
                "  {:<14} {:>5} {:>8} {:>9} {:>5} {:>9} {:>10} {:>11} {:>8}",
                "town",
                "grids",
                "hours",
                "available",
                "used",
                "uncovered",
                "shortfall",
                "status",
                "gap"
            );
            for t in &s.towns {
                say!(
                    "  {:<14} {:>5} {:>8.0} {:>9} {:>5} {:>9} {:>10} {:>11} {:>8}",
                    t.town,
                    t.grids,
                    t.workload_hours,
                    t.workers_available,
                    t.workers_used,
                    t.grids_uncovered.len(),
                    t.shortfall_workers,
                    serde_json::to_value(t.solver_status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    if t.mip_gap.is_finite() {
                        format!("{:.3}%", 100.0 * t.mip_gap)
                    } else {
                        "unknown".to_string()
                    }
                );
            }
            say!(
                "\n  workers to recruit in all: {}",
                s.total_shortfall_workers
            );
            if s.total_cadre_responsible > 0 {
                say!(
                    "  grids whose responsible worker is a village cadre (flagged): {}",
                    s.total_cadre_responsible
                );
            }
            let unsolved = s
                .towns
                .iter()
                .filter(|t| t.solver_status == gridplan::staff::assign::SolveStatus::NoSolution)
                .count();
            if unsolved > 0 {
                say!(
                    "  note: in {unsolved} town(s) the solver found no assignment within assign.time_limit_s \
                     ({} s): their grids are reported uncovered; raise the limit in the rules",
                    rules.assign.time_limit_s
                );
            }
            say_raw(&gridplan::problem::render_warnings(&s.warnings, 10));
            say!("  assignment written to {}", out.display());
            if let Some(path) = &report {
                say!("  staffing report written to {}", path.display());
            }
            Ok(0)
        }
        Command::Serve {
            data,
            db,
            addr,
            tokens,
            tiles,
            max_body_mb,
        } => {
            let tokens = gridplan::service::auth::Tokens::load(
                std::env::var("GRIDPLAN_PLANNER_TOKEN").ok(),
                tokens.as_deref(),
            )
            .map_err(|e| Error::Invalid(vec![gridplan::problem::Problem::error("tokens", e)]))?;
            let config = gridplan::service::Config {
                data,
                db,
                tokens,
                tiles,
                max_body_bytes: max_body_mb.saturating_mul(1024 * 1024),
                request_timeout: gridplan::service::DEFAULT_REQUEST_TIMEOUT,
                limits: Default::default(),
            };
            run_service(config, &addr)
        }
        Command::Demo { addr, data } => {
            let tokens = gridplan::service::auth::Tokens::load(
                std::env::var("GRIDPLAN_PLANNER_TOKEN").ok(),
                None,
            )
            .map_err(|e| {
                Error::Invalid(vec![gridplan::problem::Problem::error(
                    "GRIDPLAN_PLANNER_TOKEN",
                    e,
                )])
            })?;
            // A fresh database each run, so the demo always shows the bundled data.
            let db = std::env::temp_dir().join(format!("gridplan-demo-{}.db", std::process::id()));
            let config = gridplan::service::Config {
                data: Some(data),
                db: db.clone(),
                tokens,
                tiles: None,
                max_body_bytes: gridplan::service::DEFAULT_MAX_BODY_BYTES,
                request_timeout: gridplan::service::DEFAULT_REQUEST_TIMEOUT,
                limits: Default::default(),
            };
            let result = run_service(config, &addr);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            result
        }
        Command::Rules { rules } => {
            let rules = Rules::load(rules.as_deref())?;
            say_raw(&rules.to_commented_toml());
            Ok(0)
        }
        Command::Generate {
            out,
            seed,
            households,
            households_crs,
        } => {
            let spec = gridplan::synth::Spec::new(seed, households);
            let progress = std::io::stderr().is_terminal();
            let written = gridplan::synth::write(&spec, &out, households_crs, progress)?;
            say!(
                "wrote {} leaves, {} households in {} points, {} grids, {} workers, {} blocks, {} barriers to {}",
                written.leaves,
                written.households,
                written.points,
                written.grids,
                written.workers,
                written.blocks,
                written.barriers,
                out.display()
            );
            Ok(0)
        }
    }
}

fn run_service(config: gridplan::service::Config, addr: &str) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(gridplan::service::serve(config, addr))?;
    Ok(0)
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
