//! The `gridplan` command line: a thin layer over the library's operations ([`gridplan::ops`]), one
//! short function per command. Errors become exit codes here and only here.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

mod cli;

use clap::Parser;
use cli::{AssignArgs, Cli, Command, ProgressBar};
use gridplan::lang::Lang;
use gridplan::ops::{self, CheckFiles, DiffFiles, PlanFiles, StaffFiles, VisitFiles};
use gridplan::output::{self, text};
use gridplan::problem::Problem;
use gridplan::{Error, service};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Exit status for bad input (a file that cannot be used as given).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the check finds violations (or visits find residents far past their cadence).
const EXIT_VIOLATIONS: u8 = 1;
/// Exit status for failures that are not the input's fault (a file that cannot be written, …).
const EXIT_FAILURE: u8 = 3;

/// Prints to stdout, tolerating a closed stdout (`gridplan … | head`): output is best effort.
fn say(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// The language of what is printed: the locale's (`LANG=zh_CN.UTF-8` and the like: Chinese).
fn lang() -> Lang {
    Lang::from_env()
}

// Geometry on many small cells allocates and frees constantly, on every core; mimalloc's per-thread
// heaps took a tenth of a county's CPU time off the system allocator's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // RUST_LOG (e.g. `gridplan=debug`, which logs each phase's time) turns logging to stderr on for
    // every command; the service logs at info without it.
    if let Ok(filter) = EnvFilter::try_from_default_env() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
    gridplan::input::file::set_max_input_mb(cli.max_input_mb);
    gridplan::formats::set_shapefile_encoding(cli.encoding);
    gridplan::input::ledger::set_format(
        cli.ledger_columns
            .unwrap_or_default()
            .with_sheet(cli.ledger_sheet),
    );
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // The library's errors name their cause themselves; anything else prints its chain.
            let ours = e.downcast_ref::<Error>();
            match ours {
                Some(err) => eprintln!("gridplan: {}", err.render(lang())),
                None => eprintln!("gridplan: {e:#}"),
            }
            ExitCode::from(if ours.is_some_and(Error::is_bad_input) {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILURE
            })
        }
    }
}

/// Refuses, before any work, output names whose extension gridplan does not write.
fn check_output_names(command: &Command) -> gridplan::Result<()> {
    let reports: Vec<&std::path::Path> = match command {
        Command::Check(a) => a.report.iter().map(PathBuf::as_path).collect(),
        Command::Partition(a) => {
            output::check_layer(&a.out, a.out_crs)?;
            a.report.iter().map(PathBuf::as_path).collect()
        }
        Command::Diff(a) => a.out.iter().map(PathBuf::as_path).collect(),
        Command::Assign(a) => {
            output::check_layer(&a.out, a.out_crs)?;
            a.report.iter().map(PathBuf::as_path).collect()
        }
        Command::Visits(a) => vec![a.out.as_path()],
        Command::Report(a) => {
            output::handover::report_format(&a.out)?;
            Vec::new()
        }
        _ => Vec::new(),
    };
    reports.into_iter().try_for_each(output::check_report_name)
}

fn run(command: Command) -> anyhow::Result<u8> {
    check_output_names(&command)?;
    match command {
        Command::Check(a) => check(&a.files(), a.report, a.by_county),
        Command::Partition(a) => partition(&a.files(), a.out, a.out_crs, a.report, a.by_county),
        Command::Diff(a) => diff(&a.files(), a.out),
        Command::Assign(a) => assign(&a, a.files()),
        Command::Visits(a) => visits(&a.files(), a.month, a.out),
        Command::Report(a) => report(&a.files(), a.out),
        Command::Serve(a) => {
            let config = service::Config {
                data: a.data,
                db: a.db,
                tokens: tokens_from(a.tokens.as_deref(), "tokens")?,
                tiles: a.tiles,
                max_body_bytes: a.max_body_mb.saturating_mul(1024 * 1024),
                request_timeout: service::DEFAULT_REQUEST_TIMEOUT,
                limits: service::Limits {
                    job_lease: std::time::Duration::from_secs_f64(a.job_lease_secs),
                    max_connections_per_client: a.max_connections_per_client.max(1),
                    ..Default::default()
                },
            };
            serve(config, &a.addr)
        }
        Command::Demo(a) => demo(a.data, &a.addr),
        Command::Rules(a) => {
            say(&gridplan::input::load_rules(a.rules.as_deref())?.to_commented_toml());
            Ok(0)
        }
        #[cfg(feature = "synth")]
        Command::Generate(a) => generate(a),
    }
}

fn check(files: &CheckFiles, report: Option<PathBuf>, by_county: bool) -> anyhow::Result<u8> {
    let result = match by_county {
        true => ops::check_files_by_county(files)?,
        false => ops::check_files(files)?,
    };
    if let Some(path) = &report {
        output::write_json(path, &result)?;
    }
    let lang = lang();
    say(&result.render_text_in(lang, "gridplan check"));
    if let Some(path) = &report {
        let written = lang.pick("report written to", "报告已写入");
        say(&format!("\n  {written} {}\n", path.display()));
    }
    Ok(if result.summary.compliant {
        0
    } else {
        EXIT_VIOLATIONS
    })
}

fn partition(
    files: &PlanFiles,
    out: PathBuf,
    out_crs: gridplan::Crs,
    report: Option<PathBuf>,
    by: bool,
) -> anyhow::Result<u8> {
    if by {
        let done = output::plan_by_county(
            files,
            &out,
            out_crs,
            report.as_deref(),
            &ProgressBar::default(),
        )?;
        say(&text::partition_by_county(
            lang(),
            &done,
            &out,
            report.as_deref(),
        ));
        return Ok(0);
    }
    let outcome = ops::plan_files(files, &ProgressBar::default())?;
    gridplan::timing::phase("write grids", || {
        output::write_plan(&out, &outcome, out_crs)
    })?;
    if let Some(path) = &report {
        gridplan::timing::phase("write report", || {
            output::write_json(path, &outcome.report())
        })?;
    }
    say(&text::partition(lang(), &outcome, &out, report.as_deref()));
    Ok(0)
}

fn diff(files: &DiffFiles, out: Option<PathBuf>) -> anyhow::Result<u8> {
    let d = ops::diff_files(files)?;
    if let Some(path) = &out {
        output::write_json(path, &d)?;
    }
    say(&text::diff(
        lang(),
        &d,
        &files.old,
        &files.new,
        out.as_deref(),
    ));
    Ok(0)
}

fn assign(a: &AssignArgs, files: StaffFiles) -> anyhow::Result<u8> {
    let (inputs, staffed) = ops::staff_files(&files, a.previous_assignment.as_deref())?;
    let (loads, result) = (&staffed.loads, &staffed.assignment);
    let sensitive = a.include_sensitive;
    output::write_assignment(
        &a.out,
        inputs.working,
        a.out_crs,
        &inputs.shapes,
        loads,
        result,
        sensitive,
    )?;
    if let Some(path) = &a.report {
        output::write_json(path, &result.staffing)?;
    }
    // Towns by name where the boundaries give them.
    let names: std::collections::BTreeMap<String, String> = inputs
        .tree
        .iter()
        .flat_map(|t| t.areas.iter())
        .filter_map(|a| Some((a.code.clone(), a.name.clone()?)))
        .collect();
    say(&text::assign(
        lang(),
        &staffed,
        &names,
        &a.out,
        a.report.as_deref(),
    ));
    Ok(0)
}

fn visits(files: &VisitFiles, month: ops::Month, out: PathBuf) -> anyhow::Result<u8> {
    let plan = ops::visits_files(files, month)?;
    output::write_json(&out, &plan)?;
    say(&text::visits(lang(), &plan, month, &out));
    Ok(if plan.has_overdue_errors() {
        EXIT_VIOLATIONS
    } else {
        0
    })
}

fn report(files: &ops::ReportFiles, out: PathBuf) -> anyhow::Result<u8> {
    let handover = ops::report_files(files)?;
    output::handover::write_report(&out, &handover)?;
    say(&text::report(lang(), &handover, &out));
    Ok(0)
}

/// The tokens of `--tokens` (or none) with `GRIDPLAN_PLANNER_TOKEN`; `what` names the source in errors.
fn tokens_from(
    file: Option<&std::path::Path>,
    what: &str,
) -> anyhow::Result<service::auth::Tokens> {
    let env = std::env::var("GRIDPLAN_PLANNER_TOKEN").ok();
    service::auth::Tokens::load(env, file)
        .map_err(|e| Error::Invalid(vec![Problem::error(what, e)]).into())
}

/// The demo's data directory: `data` as given when it holds the demo's households; for the default
/// (`data`, relative) run outside the repository, the `data` directory of the repository the binary was
/// built from, when it is still there. Anything else is refused with what to run instead.
fn demo_data(data: PathBuf) -> anyhow::Result<PathBuf> {
    let holds = |d: &std::path::Path| d.join("households.geojson").is_file();
    if holds(&data) {
        return Ok(data);
    }
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    if data == std::path::Path::new("data") && holds(&built) {
        return Ok(built);
    }
    let message = lang().pick(
        "no demo district here (households.geojson, boundaries.geojson): run `gridplan demo` from the \
         gridplan repository's root (or `bash scripts/demo.sh` there), or pass --data <the repository>/data",
        "此处没有演示区县数据（households.geojson、boundaries.geojson）：请在 gridplan 仓库根目录下运行 \
         `gridplan demo`（或在该处运行 `bash scripts/demo.sh`），或用 --data <仓库>/data 指明",
    );
    Err(Error::Read {
        path: data,
        source: std::io::Error::new(std::io::ErrorKind::NotFound, message.to_string()),
    }
    .into())
}

fn demo(data: PathBuf, addr: &str) -> anyhow::Result<u8> {
    let data = demo_data(data)?;
    // A fresh database each run, so the demo always shows the bundled data.
    let db = std::env::temp_dir().join(format!("gridplan-demo-{}.db", std::process::id()));
    let config = service::Config {
        data: Some(data),
        db: db.clone().into(),
        tokens: tokens_from(None, "GRIDPLAN_PLANNER_TOKEN")?,
        tiles: None,
        max_body_bytes: service::DEFAULT_MAX_BODY_BYTES,
        request_timeout: service::DEFAULT_REQUEST_TIMEOUT,
        limits: Default::default(),
    };
    let result = serve(config, addr);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

fn serve(config: service::Config, addr: &str) -> anyhow::Result<u8> {
    // The service logs to stderr, filtered by RUST_LOG (e.g. `warn`, `gridplan=debug`; default info).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let read_only = !config.tokens.has_planner();
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(service::serve(config, addr, |local| {
        let lang = lang();
        let note = lang.pick(
            "  (read-only: set GRIDPLAN_PLANNER_TOKEN to allow planners to write)\n",
            "  （只读：设置 GRIDPLAN_PLANNER_TOKEN 后规划人员才能写入）\n",
        );
        // The address line stays one form in every language: scripts wait for it.
        say(&format!(
            "gridplan serving on http://{local}/\n{}",
            if read_only { note } else { "" }
        ));
    }))?;
    Ok(0)
}

#[cfg(feature = "synth")]
fn generate(a: cli::GenerateArgs) -> anyhow::Result<u8> {
    let mut spec = gridplan::synth::Spec::new(a.seed, a.households);
    if let Some(c) = a.counties {
        spec.counties = c as usize;
    }
    let progress = std::io::stderr().is_terminal();
    let crs = gridplan::synth::Crss {
        households: a.households_crs.unwrap_or(a.out_crs),
        others: a.out_crs,
    };
    let w = match a.fabric {
        cli::FabricArg::Towns => gridplan::synth::write_in(&spec, &a.out, crs, progress)?,
        cli::FabricArg::Compounds | cli::FabricArg::StreetLines => {
            let city = gridplan::synth::CitySpec {
                seed: a.seed,
                households: a.households.unwrap_or(30_000),
            };
            let fabric = if a.fabric == cli::FabricArg::Compounds {
                gridplan::synth::Fabric::Compounds
            } else {
                gridplan::synth::Fabric::StreetLines
            };
            gridplan::synth::write_city(&city, fabric, &a.out, crs, progress)?
        }
    };
    say(&format!(
        "wrote {} leaves, {} households in {} points, {} grids, {} workers, {} blocks, {} barriers to {}\n",
        w.leaves,
        w.households,
        w.points,
        w.grids,
        w.workers,
        w.blocks,
        w.barriers,
        a.out.display()
    ));
    Ok(0)
}
