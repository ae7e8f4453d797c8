//! The command line's arguments: every command and flag, with the help text `--help` prints.

use clap::{Args, Parser, Subcommand};
use gridplan::Crs;
use gridplan::ops::{CheckFiles, DiffFiles, PlanFiles, ReportFiles, StaffFiles, VisitFiles};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "gridplan",
    version,
    about = "Draw, check and staff community grids (网格)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Largest input file read, in MiB (households, boundaries, grids, workers, rules, each). A file
    /// past it is refused with exit status 2 before it fills the memory.
    #[arg(long, global = true, default_value_t = gridplan::input::file::DEFAULT_MAX_INPUT_MB)]
    pub max_input_mb: u64,
    /// Which column of a household ledger (.csv, .xlsx) holds which field, for ledgers whose columns
    /// are not named as gridplan recognises them: field=column pairs, e.g.
    /// `lon=东经,lat=北纬,households=户数合计`. Fields: lon, lat, id, households, population, building,
    /// entrance, community, elderly_alone, key_persons, vulnerable.
    #[arg(long, global = true, value_parser = parse_ledger_columns)]
    pub ledger_columns: Option<gridplan::input::ledger::LedgerFormat>,
    /// The sheet of a household ledger workbook (.xlsx) to read; the first by default.
    #[arg(long, global = true)]
    pub ledger_sheet: Option<String>,
    /// Text encoding of the Shapefiles written (a layer named .shp): UTF-8 (the default) or GBK, for
    /// older ArcGIS versions; the .cpg beside the .shp says which. Shapefiles read follow their own .cpg.
    #[arg(long, global = true, value_parser = gridplan::formats::TextEncoding::parse_written, default_value = "UTF-8")]
    pub encoding: gridplan::formats::TextEncoding,
}

fn parse_ledger_columns(s: &str) -> Result<gridplan::input::ledger::LedgerFormat, String> {
    gridplan::input::ledger::LedgerFormat::default().with_columns(s)
}

#[derive(Subcommand)]
pub enum Command {
    /// Check existing grids: recount households per grid and report every violation of the rules.
    ///
    /// Exit status: 0 compliant, 1 violations found, 2 bad input.
    Check(CheckArgs),
    /// Draw the grids of every leaf (community/village) from the households and the rules.
    ///
    /// Writes one feature per grid and, with --report, the check of its own output plus what
    /// was decided per leaf (grid counts, infeasible leaves and why, oversize buildings split).
    Partition(PartitionArgs),
    /// What changed between two grid layers, household by household: moves per pair of grids, grids
    /// created, removed, kept and reshaped, and the workers affected (when a layer is an assignment):
    /// those who hold other grids, or whose grid gained or lost households or land.
    Diff(DiffArgs),
    /// Give every grid its responsible grid worker (a mixed-integer model on HiGHS, per town) and tell
    /// each town how many workers it lacks.
    Assign(AssignArgs),
    /// Each worker's visits for a month: whom (resident ids: a planner-only file), on which day, in
    /// which walking order, within their hours; with --log, the residents past their cadence (most
    /// overdue first; an error beyond twice the cadence) and the visit lists handed over to a new worker.
    Visits(VisitsArgs),
    /// Write what a planner hands over: the grid ledger (网格台账, .xlsx: a summary sheet per community,
    /// a sheet per town with a row per grid) or the atlas (网格图册, .pdf: a page per community with its
    /// grids drawn and labelled, scale bar, north arrow, legend and a table of its grids), by --out's
    /// extension. With --workers, the workers' names and phones: a planner file, not for publishing.
    Report(ReportArgs),
    /// Run the HTTP service: OGC API – Features at the root (QGIS and GDAL open it directly), the
    /// planning API under /api, the map page for browsers. State lives in the database file.
    Serve(ServeArgs),
    /// Serve the bundled demo district (data/) on 127.0.0.1:8080 and print the URL.
    Demo(DemoArgs),
    /// Print the rules in force (the defaults, or a rules file over them) as a commented TOML file.
    Rules(RulesArgs),
    /// Write a seeded synthetic district: boundaries, households and a grids file with known violations.
    #[cfg(feature = "synth")]
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The grids to check (GeoJSON Polygon/MultiPolygon features with an `id`, optionally `community`).
    #[arg(long)]
    pub grids: PathBuf,
    /// Household points (GeoJSON Point features).
    #[arg(long)]
    pub households: PathBuf,
    /// Community/village boundaries with `code`, `parent` and `kind` (GeoJSON polygons).
    #[arg(long)]
    pub boundaries: PathBuf,
    /// Rules file (TOML) overriding the national defaults; `gridplan rules` prints them.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Write the full report (summary, every violation, per-grid and per-leaf rows) as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Blocks (GeoJSON polygons with optional `code`, `name`, `kind`): every block holding
    /// households that the grids cut is a violation (rule `split_block`, naming the block's code);
    /// blocks without households that they cut are noted (`empty_blocks_cut`), not violations.
    #[arg(long)]
    pub blocks: Option<PathBuf>,
    /// Barriers (GeoJSON lines with optional `name`, `class`, `rank`): read and validated like the
    /// other inputs.
    #[arg(long)]
    pub barriers: Option<PathBuf>,
    /// CRS of input files that do not name one in a `crs` member (default WGS84), e.g. EPSG:4549.
    #[arg(long, value_parser = parse_crs)]
    pub crs: Option<Crs>,
    /// Work through a province county by county: households read piece by piece into a spill file
    /// per county, each grid checked with the county of its community; memory bounded by the largest
    /// county. The same report as without it. Not with --blocks or --barriers.
    #[arg(long)]
    pub by_county: bool,
}

#[derive(Args)]
pub struct PartitionArgs {
    /// Household points (GeoJSON Point features).
    #[arg(long)]
    pub households: PathBuf,
    /// Community/village boundaries with `code`, `parent` and `kind` (GeoJSON polygons).
    #[arg(long)]
    pub boundaries: PathBuf,
    /// Rules file (TOML) overriding the national defaults; `gridplan rules` prints them.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Where to write the grids: GeoJSON, or FlatGeobuf, GeoPackage or Shapefile when named .fgb, .gpkg
    /// or .shp (WGS84 unless --out-crs).
    #[arg(long)]
    pub out: PathBuf,
    /// CRS of the written layer: WGS84 (the default, RFC 7946), CGCS2000 (EPSG:4490, or the name
    /// CGCS2000), a CGCS2000 Gauss–Krüger zone (EPSG:4491–4554: 3-degree and 6-degree, with or
    /// without the zone number in the easting) or any CRS PROJ knows; a file not in WGS84 names its CRS
    /// in a legacy `crs` member (FlatGeobuf: in its header) and `check` reads it back as it is.
    #[arg(long, value_parser = parse_out_crs, default_value = "EPSG:4326")]
    pub out_crs: Crs,
    /// Write the report (summary, violations, quality, per-leaf decisions) as JSON here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Blocks (GeoJSON polygons: street blocks, compounds, parcels; optional `code`, `name`,
    /// `kind`): grids become unions of whole blocks and never cut one.
    #[arg(long)]
    pub blocks: Option<PathBuf>,
    /// Barriers (GeoJSON lines: roads, rivers, rail, walls; optional `name`, `class`, `rank` 0–9):
    /// grid edges prefer to run along high-rank barriers.
    #[arg(long)]
    pub barriers: Option<PathBuf>,
    /// Work through a province county by county: the households file is read piece by piece into a
    /// spill file per county (the parent of each leaf's town) and each county drawn, checked and
    /// written in turn, so memory is bounded by the largest county rather than the whole file. The
    /// grids and the report are the same as without it. Not with --previous, --blocks or --barriers.
    #[arg(long)]
    pub by_county: bool,
    /// The grids in force before: leaves that did not change keep their grids exactly; changed
    /// leaves keep households in their old grids wherever the band allows. Kept grids keep their
    /// number and record, new grids take the next free number, grids gone are retired (kept in the
    /// output's `retired_grids` with valid_to = --date); numbers are never reused.
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// Dedicated places (GeoJSON polygons of schools, hospitals, enterprises, parks, markets; `name`,
    /// `unit` or `kind`, optional `code`, `responsible`): each becomes a dedicated grid (专属网格) of
    /// its own, carved out of its community first and exempt from the household band; the basic grids
    /// cover the rest. A place across two communities is split, one grid in each (with a warning).
    #[arg(long)]
    pub dedicated: Option<PathBuf>,
    /// How grid ids are written: `standard` = the community's code and a 3-digit number
    /// (320116001003 + 007), numbered west to east in rows north to south; `legacy` =
    /// <community>-G<nn>. Default: the rules' `[partition] grid_ids`, else standard (on a re-draw:
    /// the previous grids' form; naming a style rewrites kept grids in it, same number).
    #[arg(long, value_parser = gridplan::model::IdStyle::parse)]
    pub grid_ids: Option<gridplan::model::IdStyle>,
    /// The day the plan takes effect, YYYY-MM-DD: new grids' `valid_from`, retired grids'
    /// `valid_to` (default: today, UTC).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<gridplan::model::Date>,
    /// CRS of input files that do not name one in a `crs` member (default WGS84), e.g. EPSG:4549.
    #[arg(long, value_parser = parse_crs)]
    pub crs: Option<Crs>,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The old grids (or assignment) file.
    #[arg(long)]
    pub old: PathBuf,
    /// The new grids (or assignment) file.
    #[arg(long)]
    pub new: PathBuf,
    /// Household points.
    #[arg(long)]
    pub households: PathBuf,
    /// Write diff.json here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List every household that changed grid (feature index and id): planners only.
    #[arg(long)]
    pub include_ids: bool,
    /// CRS of input files that do not name one in a `crs` member (default WGS84).
    #[arg(long, value_parser = parse_crs)]
    pub crs: Option<Crs>,
}

#[derive(Args)]
pub struct AssignArgs {
    /// The grids (GeoJSON polygons with `id` and 12-digit `community` codes, or pass --boundaries).
    #[arg(long)]
    pub grids: PathBuf,
    /// Household points: the workload of each grid is recounted from them.
    #[arg(long)]
    pub households: PathBuf,
    /// Workers: GeoJSON points, or CSV with `lon,lat` columns; fields id, type, hours, town, status,
    /// previous_grids.
    #[arg(long)]
    pub workers: PathBuf,
    /// Boundaries, to find each grid's town and kind (hence its staffing policy) through the
    /// boundary tree; without them the town comes from the 12-digit community code and every grid
    /// takes the default `[staffing] policy`.
    #[arg(long)]
    pub boundaries: Option<PathBuf>,
    /// Rules file (TOML): staffing policy per kind, visits and their cadence, worker hours, solver
    /// settings.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Where to write the grids with `workers`, `primary_worker`, `staffing_policy` and
    /// `cadre_responsible` (GeoJSON, or FlatGeobuf, GeoPackage or Shapefile when named .fgb, .gpkg or
    /// .shp; WGS84 unless --out-crs).
    #[arg(long)]
    pub out: PathBuf,
    /// CRS of the written layer: WGS84 (the default, RFC 7946), CGCS2000 (EPSG:4490, or the name
    /// CGCS2000), a CGCS2000 Gauss–Krüger zone (EPSG:4491–4554: 3-degree and 6-degree, with or
    /// without the zone number in the easting) or any CRS PROJ knows; a file not in WGS84 names its CRS
    /// in a legacy `crs` member (FlatGeobuf: in its header) and `check` reads it back as it is.
    #[arg(long, value_parser = parse_out_crs, default_value = "EPSG:4326")]
    pub out_crs: Crs,
    /// Also write each grid's `workload_hours` into --out. Workload is computed from the counts
    /// of people needing visits, so it is sensitive: a file with it is for planners only.
    #[arg(long)]
    pub include_sensitive: bool,
    /// The assignment in force before: workers keep the grids that kept their id.
    #[arg(long)]
    pub previous_assignment: Option<PathBuf>,
    /// Write the staffing report (per town: workload, workers, shortfall, solver status) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// CRS of input files that do not name one in a `crs` member (default WGS84).
    #[arg(long, value_parser = parse_crs)]
    pub crs: Option<Crs>,
}

#[derive(Args)]
pub struct ReportArgs {
    /// The grids (GeoJSON or FlatGeobuf, as `partition` writes them: `name` and the 四至 in
    /// `bounds_description` are taken from here; counts are recounted from the households).
    #[arg(long)]
    pub grids: PathBuf,
    /// Community/village boundaries with `code`, `name`, `parent` and `kind`: each grid's community
    /// and town, and the outline drawn on the atlas.
    #[arg(long)]
    pub boundaries: PathBuf,
    /// Household points: each grid's households and population are counted from them.
    #[arg(long)]
    pub households: PathBuf,
    /// The assignment (`gridplan assign --out`): each grid's `primary_worker` (else the grids file's
    /// own `primary_worker`, when it is an assignment).
    #[arg(long)]
    pub assignment: Option<PathBuf>,
    /// Workers (as for `assign`): with their optional `name` and `phone`, which the ledger and the
    /// atlas then list for each grid's worker. Personal data: the files written are for planners.
    #[arg(long)]
    pub workers: Option<PathBuf>,
    /// Rules file (TOML): the bands that decide each grid's status.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Blocks and barriers (as for `partition`), to describe the 四至 of grids whose file has no
    /// `bounds_description` by the roads and blocks around them.
    #[arg(long)]
    pub blocks: Option<PathBuf>,
    #[arg(long)]
    pub barriers: Option<PathBuf>,
    /// Where to write: NAME.xlsx (the ledger) or NAME.pdf (the atlas). The atlas needs a CJK font:
    /// fonts-wqy-microhei, or a font file named in GRIDPLAN_CJK_FONT.
    #[arg(long)]
    pub out: PathBuf,
    /// CRS of input files that do not name one in a `crs` member (default WGS84).
    #[arg(long, value_parser = parse_crs)]
    pub crs: Option<Crs>,
}

#[derive(Args)]
pub struct VisitsArgs {
    /// The assignment (`gridplan assign --out`): grids with their `primary_worker`.
    #[arg(long)]
    pub assignment: PathBuf,
    /// Household points: residents are points with `elderly_alone`, `key_persons` or `vulnerable`
    /// above 0 (the rest are visited as `others`); their `id` names them.
    #[arg(long)]
    pub households: PathBuf,
    /// Workers (as for `assign`): base location and weekly hours.
    #[arg(long)]
    pub workers: PathBuf,
    /// Boundaries, to find each grid's town (else the 12-digit community code is used).
    #[arg(long)]
    pub boundaries: Option<PathBuf>,
    /// Rules file (TOML): `[visits]` cadence per category and minutes per visit, patrol hours.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// The month to schedule, YYYY-MM.
    #[arg(long, value_parser = gridplan::ops::Month::parse)]
    pub month: gridplan::ops::Month,
    /// Visit log: CSV with columns resident,worker,time (ISO 8601), or a JSON array of such objects.
    /// Read strictly: a visit after the planning day (`--date`), a time that is not real, a missing
    /// or repeated column is refused, naming the row and the field; rows naming no household are
    /// counted and reported.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// The planning day, YYYY-MM-DD: a logged visit dated after it is refused (default: today, as
    /// the calendar reads it anywhere on Earth).
    #[arg(long, value_parser = parse_date)]
    pub date: Option<gridplan::model::Date>,
    /// Barrier lines (GeoJSON, as for `partition`): routes follow the walkable ones (roads, lanes,
    /// arterials; not rivers, rail or walls) instead of straight lines.
    #[arg(long)]
    pub barriers: Option<PathBuf>,
    /// Where to write visits.json (planner-only: it names residents).
    #[arg(long)]
    pub out: PathBuf,
    /// CRS of input files that do not name one in a `crs` member (default WGS84).
    #[arg(long, value_parser = parse_crs)]
    pub crs: Option<Crs>,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Directory of households.geojson, boundaries.geojson and optionally workers.geojson (or
    /// .csv) and rules.toml, loaded and planned at start when the database has no data yet.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The SQLite database file (created if missing), or a PostgreSQL database with PostGIS:
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME (its tables are created at start).
    #[arg(long, default_value = "gridplan.db", value_parser = parse_db)]
    pub db: gridplan::store::Location,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// A tokens file: lines of `TOKEN ROLE` (planner or viewer). GRIDPLAN_PLANNER_TOKEN adds one
    /// planner token; with none, every write is refused.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Base-map tile URL template for the map page (`--basemap` is the same flag), e.g. the office's
    /// tile server https://tiles.example/{z}/{x}/{y}.png, or 天地图 with its key:
    /// `http://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY`
    /// (`{s}` runs over t0–t7). None by default: the page works without one, and without internet.
    #[arg(long, visible_alias = "basemap")]
    pub tiles: Option<String>,
    /// Largest request body accepted, in MiB (a district's households file is tens of MB; raise
    /// it for a county's).
    #[arg(long, default_value_t = gridplan::service::DEFAULT_MAX_BODY_MB)]
    pub max_body_mb: usize,
    /// Seconds a planning job stays this server's without renewal (renewed every third of it); once
    /// it lapses (the server died), another server on the same database takes the job over.
    #[arg(long, default_value_t = gridplan::service::limits::DEFAULT_JOB_LEASE.as_secs_f64(), value_parser = parse_lease)]
    pub job_lease_secs: f64,
    /// Open connections one client address may hold at once; past it, that client's connections
    /// that never sent a request are closed first to make room. Raise it behind a proxy that
    /// carries many users on one address.
    #[arg(long, default_value_t = gridplan::service::limits::DEFAULT_CONNECTIONS_PER_CLIENT)]
    pub max_connections_per_client: usize,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// The demo data directory.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
}

#[derive(Args)]
pub struct RulesArgs {
    /// Rules file (TOML) to read over the defaults.
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

#[cfg(feature = "synth")]
#[derive(Args)]
pub struct GenerateArgs {
    /// Directory to write `boundaries.geojson`, `households.geojson` and `grids.geojson` into.
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Approximate number of households. The default is the bundled demo district; larger numbers
    /// repeat its towns across a wider county.
    #[arg(long)]
    pub households: Option<u64>,
    /// Write households in this CRS instead of --out-crs (e.g. EPSG:4549).
    #[arg(long, value_parser = parse_crs)]
    pub households_crs: Option<Crs>,
    /// CRS of every file written (boundaries, households, grids, blocks, barriers, workers): WGS84 by
    /// default, CGCS2000 (EPSG:4490), a Gauss–Krüger zone (EPSG:4491–4554) or any CRS PROJ knows,
    /// named in each file's legacy `crs` member.
    #[arg(long, value_parser = parse_out_crs, default_value = "EPSG:4326")]
    pub out_crs: Crs,
    /// Spread the towns over this many counties under one province (default: one county per about
    /// 490,000 households; the demo is one district).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=80))]
    pub counties: Option<u64>,
    /// What the district is made of: `towns` (the demo's street and rural town, repeated),
    /// `compounds` (a city of superblocks between arterials, cut by branch roads into gated compounds
    /// of walk-ups and towers, with an urban village, schools, parks and a hospital; 30,000 households
    /// unless --households), or `street-lines` (the same city without the blocks file).
    #[arg(long, value_enum, default_value_t = FabricArg::Towns)]
    pub fabric: FabricArg,
}

#[cfg(feature = "synth")]
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FabricArg {
    Towns,
    Compounds,
    StreetLines,
}

fn parse_db(s: &str) -> Result<gridplan::store::Location, String> {
    gridplan::store::Location::parse(s)
}

fn parse_lease(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.3..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "\"{s}\" is not a number of seconds from 0.3 to 86400"
        )),
    }
}

fn parse_crs(s: &str) -> Result<Crs, String> {
    Crs::known(s)
}

fn parse_out_crs(s: &str) -> Result<Crs, String> {
    Crs::writable(s)
}

fn parse_date(s: &str) -> Result<gridplan::model::Date, String> {
    gridplan::model::Date::parse(s)
        .filter(|_| s.trim().len() == 10)
        .ok_or_else(|| format!("\"{s}\" is not a date: write YYYY-MM-DD"))
}

impl CheckArgs {
    /// The files the check reads.
    pub fn files(&self) -> CheckFiles {
        CheckFiles {
            grids: self.grids.clone(),
            households: self.households.clone(),
            boundaries: self.boundaries.clone(),
            rules: self.rules.clone(),
            blocks: self.blocks.clone(),
            barriers: self.barriers.clone(),
            crs: self.crs,
        }
    }
}

impl PartitionArgs {
    /// The files the partition reads.
    pub fn files(&self) -> PlanFiles {
        PlanFiles {
            households: self.households.clone(),
            boundaries: self.boundaries.clone(),
            rules: self.rules.clone(),
            blocks: self.blocks.clone(),
            barriers: self.barriers.clone(),
            previous: self.previous.clone(),
            dedicated: self.dedicated.clone(),
            crs: self.crs,
            grid_ids: self.grid_ids,
            date: self.date,
        }
    }
}

impl DiffArgs {
    /// The files the diff reads.
    pub fn files(&self) -> DiffFiles {
        DiffFiles {
            old: self.old.clone(),
            new: self.new.clone(),
            households: self.households.clone(),
            include_ids: self.include_ids,
            crs: self.crs,
        }
    }
}

impl ReportArgs {
    /// The files the report reads.
    pub fn files(&self) -> ReportFiles {
        ReportFiles {
            grids: self.grids.clone(),
            boundaries: self.boundaries.clone(),
            households: self.households.clone(),
            assignment: self.assignment.clone(),
            workers: self.workers.clone(),
            rules: self.rules.clone(),
            blocks: self.blocks.clone(),
            barriers: self.barriers.clone(),
            crs: self.crs,
        }
    }
}

impl AssignArgs {
    /// The files the assignment reads.
    pub fn files(&self) -> StaffFiles {
        StaffFiles {
            grids: self.grids.clone(),
            households: self.households.clone(),
            workers: self.workers.clone(),
            boundaries: self.boundaries.clone(),
            rules: self.rules.clone(),
            crs: self.crs,
        }
    }
}

impl VisitsArgs {
    /// The files the visits read.
    pub fn files(&self) -> VisitFiles {
        VisitFiles {
            staff: StaffFiles {
                grids: self.assignment.clone(),
                households: self.households.clone(),
                workers: self.workers.clone(),
                boundaries: self.boundaries.clone(),
                rules: self.rules.clone(),
                crs: self.crs,
            },
            log: self.log.clone(),
            barriers: self.barriers.clone(),
            planning_day: self.date,
        }
    }
}

/// A progress bar over the leaves on a terminal's stderr; nothing otherwise.
#[derive(Default)]
pub struct ProgressBar(std::sync::OnceLock<indicatif::ProgressBar>);

impl gridplan::ops::Progress for ProgressBar {
    fn begin(&self, steps: u64) {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return;
        }
        let style =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} leaves {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        let _ = self
            .0
            .set(indicatif::ProgressBar::new(steps).with_style(style));
    }
    fn step(&self) {
        if let Some(b) = self.0.get() {
            b.inc(1);
        }
    }
    fn end(&self) {
        if let Some(b) = self.0.get() {
            b.finish_and_clear();
        }
    }
}
