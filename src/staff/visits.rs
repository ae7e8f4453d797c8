//! Visits to the residents who need them: each worker's schedule for a month (whom, on which day, in
//! which walking order), the residents past their cadence (from a visit log), and the visit lists handed
//! over when a household's grid changed hands.
//!
//! Everything here is resident-level and for planners only: resident ids and categories never go into
//! an open output.
//!
//! ## The schedule
//! A resident is a household point with a count above 0 in a category (`elderly_alone`, `key_persons`,
//! `vulnerable`); every other household point is a resident of the category `others` (one visit per
//! household it holds). The cadence per category comes from the rules (`[visits]`):
//! - **weekly**: one visit in each of days 1–7, 8–14, 15–21 and 22–end of the month;
//! - **monthly**: one visit in the month;
//! - **quarterly**: one visit when the month ends more than two months after the last logged visit (or
//!   there is none).
//!
//! A worker's minutes for visits in a week are their hours less the patrol of the grids they hold.
//! Weekly visits go into their window first, then monthly, then quarterly ones (the longest unvisited
//! first) into the window with the most time left; a visit that fits nowhere is listed `unassigned`
//! ("beyond the worker's hours"), never silently dropped. Within a window the visits are ordered as a
//! walking route from the worker's base (nearest neighbour, then 2-opt) and spread over its working
//! days (Monday to Friday) in that order.
//!
//! ## Overdue
//! With a log (`resident,worker,time` rows), a resident whose last visit (or none) is older than their
//! cadence at the month's start is overdue; `level` is `error` beyond twice the cadence (more than one
//! whole cadence overdue) or when never visited, else `warning`. Most overdue first.

use crate::error::{Error, Result};
use crate::model::Worker;
pub use crate::model::date::Date;
use crate::model::date::days_in_month;
use crate::model::{GridShape, Household};
use crate::problem::{Problem, Problems};
use crate::rules::{Cadence, Rules};
use geo::Coord;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A month to schedule, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(text: &str) -> std::result::Result<Month, String> {
        let bad = || format!("\"{text}\" is not a month: write YYYY-MM, e.g. 2026-12");
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    pub fn first(self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: 1,
        }
    }

    pub fn last(self) -> Date {
        Date {
            day: days_in_month(self.year, self.month),
            ..self.first()
        }
    }

    /// The four visiting windows: days 1–7, 8–14, 15–21 and 22–end.
    fn windows(self) -> [(u32, u32); 4] {
        [(1, 7), (8, 14), (15, 21), (22, self.last().day)]
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One visit recorded in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub resident: String,
    pub worker: String,
    /// As written (ISO 8601), for the report.
    pub time: String,
    pub date: Date,
}

/// Reads a visit log: CSV with columns `resident,worker,time` (any order, more columns ignored), or a
/// JSON array of `{"resident", "worker", "time"}` objects. Bad rows are named by row and column.
pub fn read_log(path: &Path) -> Result<Vec<LogEntry>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_log(&path.display().to_string(), &bytes)
}

/// [`read_log`] from bytes in memory.
pub fn parse_log(file: &str, bytes: &[u8]) -> Result<Vec<LogEntry>> {
    let bytes = crate::input::raw::strip_bom(bytes);
    let mut problems = Problems::default();
    let mut out = Vec::new();
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let rows: Vec<serde_json::Value> = serde_json::from_slice(bytes).map_err(|e| {
            Error::Invalid(vec![Problem::error(
                file,
                format!("not a JSON array of visits: {e}"),
            )])
        })?;
        for (i, row) in rows.iter().enumerate() {
            let get = |name: &str| -> Option<String> {
                match row.get(name)? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }
            };
            take_row(file, i, "entry", &get, &mut problems, &mut out);
        }
    } else {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| {
                Error::Invalid(vec![Problem::error(file, format!("not a CSV file: {e}"))])
            })?
            .clone();
        for (i, record) in reader.records().enumerate() {
            let row = i + 1;
            match record {
                Ok(r) => {
                    let get = |name: &str| -> Option<String> {
                        headers
                            .iter()
                            .position(|h| h.trim().eq_ignore_ascii_case(name))
                            .and_then(|c| r.get(c))
                            .map(str::to_string)
                    };
                    take_row(file, row, "row", &get, &mut problems, &mut out);
                }
                Err(e) => problems.push(Problem::error(file, format!("row {row}: {e}"))),
            }
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    Ok(out)
}

/// One log row through `get` (a column or member by name): a [`LogEntry`], or problems naming the row
/// and the column.
fn take_row(
    file: &str,
    row: usize,
    what: &str,
    get: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
    out: &mut Vec<LogEntry>,
) {
    let mut field = |name: &str| -> Option<String> {
        match get(name).map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                problems.push(
                    Problem::error(file, format!("{what} {row}: `{name}` is missing or empty"))
                        .field(name),
                );
                None
            }
        }
    };
    let (resident, worker, time) = (field("resident"), field("worker"), field("time"));
    let (Some(resident), Some(worker), Some(time)) = (resident, worker, time) else {
        return;
    };
    match Date::parse(&time) {
        Some(date) => out.push(LogEntry {
            resident,
            worker,
            time,
            date,
        }),
        None => problems.push(
            Problem::error(
                file,
                format!(
                    "{what} {row}: `time` \"{time}\" is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+08:00)"
                ),
            )
            .field("time"),
        ),
    }
}

/// A resident's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ElderlyAlone,
    KeyPersons,
    Vulnerable,
    Others,
}

impl Category {
    fn cadence(self, rules: &Rules) -> Cadence {
        let v = &rules.visits;
        match self {
            Category::ElderlyAlone => v.elderly_alone,
            Category::KeyPersons => v.key_persons,
            Category::Vulnerable => v.vulnerable,
            Category::Others => v.others,
        }
    }
}

/// One resident to visit.
#[derive(Debug, Clone)]
struct Resident {
    id: String,
    grid: usize,
    category: Category,
    cadence: Cadence,
    /// Households the visit covers (more than one only for `others` at a building point).
    households: u32,
    pos: Coord,
    last: Option<Date>,
    last_worker: Option<String>,
    last_time: Option<String>,
}

/// One scheduled visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    pub resident: String,
    pub grid: String,
    pub date: Date,
    pub category: Category,
    #[serde(skip_serializing_if = "is_one")]
    pub households: u32,
    /// Place in the day's walking route (1 = first).
    pub order: usize,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// One day's walking route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayRoute {
    pub date: Date,
    pub visits: usize,
    pub minutes: f64,
    /// From the worker's base through the visits in order, straight lines, metres.
    pub distance_m: f64,
}

/// One worker's month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerSchedule {
    pub id: String,
    pub grids: Vec<String>,
    /// Visits and patrol in the month, in minutes.
    pub minutes: f64,
    /// What the worker's hours allow in the month, in minutes.
    pub minutes_available: f64,
    pub visits: Vec<Visit>,
    pub routes: Vec<DayRoute>,
}

/// A visit the schedule could not place, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unassigned {
    pub resident: String,
    pub grid: String,
    pub category: Category,
    pub reason: String,
}

/// A resident past their cadence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdue {
    pub resident: String,
    pub grid: String,
    pub worker: Option<String>,
    pub category: Category,
    pub last_visit: Option<String>,
    /// Days beyond the cadence at the month's start; `None` when never visited.
    pub days_overdue: Option<i64>,
    pub level: Level,
}

/// How loud an overdue alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Warning,
    Error,
}

/// A resident whose last logged visitor is no longer the worker responsible for their grid (the
/// household moved to another grid, or the grid changed hands): their visit list goes to the new worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handover {
    pub resident: String,
    pub grid: String,
    pub from_worker: String,
    pub to_worker: Option<String>,
}

/// The whole answer (`visits.json`): planner-only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitPlan {
    pub month: Month,
    pub workers: Vec<WorkerSchedule>,
    pub unassigned: Vec<Unassigned>,
    /// Only with a log; `None` when no log was given.
    pub overdue: Option<Vec<Overdue>>,
    pub handovers: Vec<Handover>,
    /// Residents per category (for the planner's overview).
    pub residents: BTreeMap<String, usize>,
    /// Whether routes follow the street network (`--barriers`) or straight lines.
    pub routes_on_streets: bool,
    pub warnings: Vec<Problem>,
}

impl VisitPlan {
    /// True when some resident is past twice their cadence, or was never visited ([`Level::Error`]).
    pub fn has_overdue_errors(&self) -> bool {
        self.overdue
            .as_ref()
            .is_some_and(|o| o.iter().any(|o| o.level == Level::Error))
    }
}

/// How far beyond a worker's stops the street network is taken in (m): a walk may go round a block.
const STREET_MARGIN_M: f64 = 500.0;

/// Minutes of visits per month one resident of `category` covering `households` needs.
fn visit_minutes(rules: &Rules, households: u32) -> f64 {
    rules.visits.minutes_per_visit * f64::from(households)
}

/// The residents of the grids, with their last logged visit.
fn residents(
    grids: &[GridShape],
    households: &[Household],
    log: &[LogEntry],
    rules: &Rules,
    warnings: &mut Vec<Problem>,
) -> Vec<Resident> {
    let index =
        crate::spatial::index::PolygonIndex::new(grids.iter().map(|g| &g.geometry).collect());
    let mut last: HashMap<&str, &LogEntry> = HashMap::new();
    for e in log {
        match last.get(e.resident.as_str()) {
            Some(prev) if prev.date >= e.date => {}
            _ => {
                last.insert(e.resident.as_str(), e);
            }
        }
    }
    let mut out = Vec::new();
    let mut unnamed = 0usize;
    for h in households {
        let Some(&grid) = index.containing(h.pos).first() else {
            continue;
        };
        let id = match &h.id {
            Some(id) => id.to_string(),
            None => {
                unnamed += 1;
                format!("#{}", h.feature)
            }
        };
        let s = &h.sensitive;
        let mut cats = Vec::new();
        if s.elderly_alone > 0 {
            cats.push((Category::ElderlyAlone, 1));
        }
        if s.key_persons > 0 {
            cats.push((Category::KeyPersons, 1));
        }
        if s.vulnerable > 0 {
            cats.push((Category::Vulnerable, 1));
        }
        let others = h.households.saturating_sub(u32::from(!cats.is_empty()));
        if others > 0 {
            cats.push((Category::Others, others));
        }
        let seen = last.get(id.as_str());
        for (category, n) in cats {
            let cadence = category.cadence(rules);
            if cadence == Cadence::None {
                continue;
            }
            out.push(Resident {
                id: id.clone(),
                grid,
                category,
                cadence,
                households: n,
                pos: h.pos,
                last: seen.map(|e| e.date),
                last_worker: seen.map(|e| e.worker.clone()),
                last_time: seen.map(|e| e.time.clone()),
            });
        }
    }
    if unnamed > 0 {
        warnings.push(Problem::warning(
            "households",
            format!(
                "{unnamed} household point(s) have no `id`: they are named by their feature index in the households file (#N)"
            ),
        ));
    }
    out
}

/// Orders `points` as a walking route from `start`, by straight-line distances: nearest neighbour,
/// then 2-opt until no move shortens it (bounded passes). Returns the order (indexes into `points`).
pub fn route(start: Coord, points: &[Coord]) -> Vec<usize> {
    let at = |i: usize| if i == 0 { start } else { points[i - 1] };
    route_by(points.len(), |a, b| {
        let (p, q) = (at(a), at(b));
        (p.x - q.x).hypot(p.y - q.y)
    })
}

/// [`route`] over any distance: `dist(a, b)` between stops, where stop 0 is the start and stop `i`
/// (1..=n) is point `i - 1`. Returns the order of the points (0-based).
pub fn route_by(n: usize, dist: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    let mut order = Vec::with_capacity(n);
    let mut used = vec![false; n];
    let mut at = 0;
    for _ in 0..n {
        let next = (0..n)
            .filter(|&i| !used[i])
            .min_by(|&a, &b| dist(at, a + 1).total_cmp(&dist(at, b + 1)));
        let Some(next) = next else { break };
        used[next] = true;
        order.push(next);
        at = next + 1;
    }
    // 2-opt on the open path start → order[0] → … → order[n-1] (stops: 0, then order[k] + 1).
    let stop = |order: &[usize], i: usize| if i == 0 { 0 } else { order[i - 1] + 1 };
    for _ in 0..20 {
        let mut improved = false;
        for i in 1..n {
            for j in i + 1..=n {
                // Reverse order[i-1..j]: edges (i-1,i) and (j,j+1) become (i-1,j) and (i,j+1).
                let (a, b) = (stop(&order, i - 1), stop(&order, i));
                let (c, d) = (stop(&order, j), (j < n).then(|| stop(&order, j + 1)));
                let before = dist(a, b) + d.map_or(0.0, |d| dist(c, d));
                let after = dist(a, c) + d.map_or(0.0, |d| dist(b, d));
                if after + 1e-9 < before {
                    order[i - 1..j].reverse();
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    order
}

/// Length of the open path from `start` through `points` in `order`, metres (straight lines).
pub fn route_length(start: Coord, points: &[Coord], order: &[usize]) -> f64 {
    let mut at = start;
    let mut total = 0.0;
    for &i in order {
        total += (at.x - points[i].x).hypot(at.y - points[i].y);
        at = points[i];
    }
    total
}

/// Whether a resident is due a visit this month, and how many (weekly: one per window).
fn due(r: &Resident, month: Month) -> usize {
    match r.cadence {
        Cadence::Weekly => 4,
        Cadence::Monthly => 1,
        Cadence::Quarterly => match r.last {
            None => 1,
            Some(last) => usize::from(last.plus_months(2) < month.last()),
        },
        Cadence::None => 0,
    }
}

/// Schedules a month of visits for every worker holding grids in `grids` (their `primary_worker`).
/// With `barriers`, routes and their distances follow the walkable streets among them
/// ([`crate::staff::streets`]); without, straight lines.
pub fn plan(
    grids: &[GridShape],
    households: &[Household],
    workers: &[Worker],
    log: Option<&[LogEntry]>,
    rules: &Rules,
    month: Month,
    barriers: &[crate::model::Barrier],
) -> VisitPlan {
    let mut warnings = Vec::new();
    let residents = residents(grids, households, log.unwrap_or(&[]), rules, &mut warnings);
    let by_id: HashMap<&str, &Worker> = workers.iter().map(|w| (w.id.as_str(), w)).collect();
    let mut per_grid: Vec<Vec<usize>> = vec![Vec::new(); grids.len()];
    for (i, r) in residents.iter().enumerate() {
        per_grid[r.grid].push(i);
    }
    let mut held: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut unassigned = Vec::new();
    for (g, grid) in grids.iter().enumerate() {
        match grid
            .primary_worker
            .as_deref()
            .filter(|w| by_id.contains_key(w))
        {
            Some(w) => held.entry(w).or_default().push(g),
            None => {
                let reason = match &grid.primary_worker {
                    Some(w) => format!("the grid's worker {w} is not in the workers file"),
                    None => "grid has no worker".to_string(),
                };
                for &i in &per_grid[g] {
                    let r = &residents[i];
                    if due(r, month) > 0 {
                        unassigned.push(Unassigned {
                            resident: r.id.clone(),
                            grid: grid.id.clone(),
                            category: r.category,
                            reason: reason.clone(),
                        });
                    }
                }
            }
        }
    }
    let windows = month.windows();
    let weeks_in_month = f64::from(month.last().day) / 7.0;
    let mut schedules = Vec::new();
    let mut on_streets = false;
    let mut unconnected = 0usize;
    for (wid, gs) in &held {
        let Some(worker) = by_id.get(wid) else {
            continue;
        };
        let patrol_week = rules.workload.patrol_hours_per_grid * 60.0 * gs.len() as f64;
        let visit_week = (worker.hours * 60.0 - patrol_week).max(0.0);
        let mut room: Vec<f64> = windows
            .iter()
            .map(|(a, b)| visit_week * f64::from(b - a + 1) / 7.0)
            .collect();
        // Due visits: weekly ones fixed to their window; the others placed by most room.
        let mut mine: Vec<usize> = gs
            .iter()
            .flat_map(|&g| per_grid[g].iter().copied())
            .collect();
        mine.sort_by_key(|&i| {
            let r = &residents[i];
            (r.cadence, r.last, r.id.clone(), r.category)
        });
        let mut placed: Vec<Vec<usize>> = vec![Vec::new(); windows.len()];
        for &i in &mine {
            let r = &residents[i];
            let minutes = visit_minutes(rules, r.households);
            let n = due(r, month);
            if n == 0 {
                continue;
            }
            let slots: Vec<usize> = if r.cadence == Cadence::Weekly {
                (0..windows.len()).collect()
            } else {
                let best = (0..windows.len())
                    .max_by(|&a, &b| room[a].total_cmp(&room[b]).then(b.cmp(&a)))
                    .unwrap_or(0);
                vec![best]
            };
            for w in slots {
                if room[w] + 1e-9 >= minutes {
                    room[w] -= minutes;
                    placed[w].push(i);
                } else {
                    unassigned.push(Unassigned {
                        resident: r.id.clone(),
                        grid: grids[r.grid].id.clone(),
                        category: r.category,
                        reason: format!(
                            "beyond {wid}'s hours in days {}–{} ({:.0} h a week, patrol of {} grid(s) first)",
                            windows[w].0,
                            windows[w].1,
                            worker.hours,
                            gs.len()
                        ),
                    });
                }
            }
        }
        let mut visits = Vec::new();
        let mut routes = Vec::new();
        let mut minutes = patrol_week * weeks_in_month;
        for (w, members) in placed.iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            let points: Vec<Coord> = members.iter().map(|&i| residents[i].pos).collect();
            // Stop 0 is the worker's base, stop k + 1 is points[k].
            let stops: Vec<Coord> = std::iter::once(worker.home)
                .chain(points.iter().copied())
                .collect();
            let walk: Vec<Vec<f64>> = if barriers.is_empty() {
                stops
                    .iter()
                    .map(|a| stops.iter().map(|b| (a.x - b.x).hypot(a.y - b.y)).collect())
                    .collect()
            } else {
                let (lo, hi) = stops.iter().fold((stops[0], stops[0]), |(lo, hi), c| {
                    (
                        Coord {
                            x: lo.x.min(c.x),
                            y: lo.y.min(c.y),
                        },
                        Coord {
                            x: hi.x.max(c.x),
                            y: hi.y.max(c.y),
                        },
                    )
                });
                let margin = Coord {
                    x: STREET_MARGIN_M,
                    y: STREET_MARGIN_M,
                };
                let streets =
                    crate::staff::streets::Streets::new(barriers, Some((lo - margin, hi + margin)));
                let (walk, straight) = streets.matrix(&stops);
                unconnected += straight;
                on_streets = on_streets || !streets.is_empty();
                walk
            };
            let order = route_by(points.len(), |a, b| walk[a][b]);
            let days: Vec<Date> = (windows[w].0..=windows[w].1)
                .map(|day| Date {
                    day,
                    ..month.first()
                })
                .filter(|d| d.weekday() < 5)
                .collect();
            let days = if days.is_empty() {
                vec![Date {
                    day: windows[w].0,
                    ..month.first()
                }]
            } else {
                days
            };
            let total: f64 = members
                .iter()
                .map(|&i| visit_minutes(rules, residents[i].households))
                .sum();
            minutes += total;
            let per_day = total / days.len() as f64;
            let mut day = 0;
            let mut spent = 0.0;
            let mut today: Vec<usize> = Vec::new();
            let flush = |day: usize,
                         today: &mut Vec<usize>,
                         visits: &mut Vec<Visit>,
                         routes: &mut Vec<DayRoute>| {
                if today.is_empty() {
                    return;
                }
                let mut distance = 0.0;
                let mut at = 0;
                for &k in today.iter() {
                    distance += walk[at][k + 1];
                    at = k + 1;
                }
                let mut day_minutes = 0.0;
                for (n, &k) in today.iter().enumerate() {
                    let r = &residents[members[k]];
                    day_minutes += visit_minutes(rules, r.households);
                    visits.push(Visit {
                        resident: r.id.clone(),
                        grid: grids[r.grid].id.clone(),
                        date: days[day],
                        category: r.category,
                        households: r.households,
                        order: n + 1,
                    });
                }
                routes.push(DayRoute {
                    date: days[day],
                    visits: today.len(),
                    minutes: day_minutes,
                    distance_m: distance.round(),
                });
                today.clear();
            };
            for &k in &order {
                let m = visit_minutes(rules, residents[members[k]].households);
                if spent + m > per_day * (day + 1) as f64 + 1e-9
                    && !today.is_empty()
                    && day + 1 < days.len()
                {
                    flush(day, &mut today, &mut visits, &mut routes);
                    day += 1;
                }
                spent += m;
                today.push(k);
            }
            flush(day, &mut today, &mut visits, &mut routes);
        }
        schedules.push(WorkerSchedule {
            id: wid.to_string(),
            grids: gs.iter().map(|&g| grids[g].id.clone()).collect(),
            minutes: minutes.round(),
            minutes_available: (worker.hours * 60.0 * weeks_in_month).round(),
            visits,
            routes,
        });
    }
    let grid_worker = |g: usize| {
        grids[g]
            .primary_worker
            .clone()
            .filter(|w| by_id.contains_key(w.as_str()))
    };
    let overdue = log.map(|_| {
        let start = month.first();
        let mut list: Vec<Overdue> = residents
            .iter()
            .filter_map(|r| {
                let limit = r.cadence.days()?;
                let age = r.last.map(|d| start.days() - d.days());
                if age.is_some_and(|a| a <= limit) {
                    return None;
                }
                Some(Overdue {
                    resident: r.id.clone(),
                    grid: grids[r.grid].id.clone(),
                    worker: grid_worker(r.grid),
                    category: r.category,
                    last_visit: r.last_time.clone(),
                    days_overdue: age.map(|a| a - limit),
                    level: match age {
                        Some(a) if a <= 2 * limit => Level::Warning,
                        _ => Level::Error,
                    },
                })
            })
            .collect();
        list.sort_by(|a, b| {
            let key = |o: &Overdue| (o.days_overdue.is_some(), std::cmp::Reverse(o.days_overdue));
            key(a)
                .cmp(&key(b))
                .then(a.category.cmp(&b.category))
                .then(a.resident.cmp(&b.resident))
        });
        list
    });
    let mut handovers: Vec<Handover> = residents
        .iter()
        .filter_map(|r| {
            let from = r.last_worker.as_ref()?;
            let to = grid_worker(r.grid);
            (to.as_deref() != Some(from.as_str())).then(|| Handover {
                resident: r.id.clone(),
                grid: grids[r.grid].id.clone(),
                from_worker: from.clone(),
                to_worker: to,
            })
        })
        .collect();
    handovers.dedup_by(|a, b| a.resident == b.resident && a.grid == b.grid);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &residents {
        let name = serde_json::to_value(r.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *counts.entry(name).or_default() += 1;
    }
    if unconnected > 0 {
        warnings.push(Problem::warning(
            "barriers",
            format!(
                "{unconnected} walk(s) between visits had no street connecting them: measured straight"
            ),
        ));
    }
    VisitPlan {
        routes_on_streets: on_streets,
        month,
        workers: schedules,
        unassigned,
        overdue,
        handovers,
        residents: counts,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_and_weekdays() {
        let d = Date::parse("2026-11-22T09:00:00+08:00").unwrap();
        assert_eq!(d.weekday(), 6, "22 November 2026 is a Sunday");
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(
            Date::parse("2026-12-01").unwrap().days() - Date::parse("2026-10-01").unwrap().days(),
            61
        );
        assert_eq!(
            Date::parse("2026-01-31").unwrap().plus_months(1),
            Date::parse("2026-02-28").unwrap()
        );
        assert!(Date::parse("2026-02-29").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("2026-12-01x").is_none());
        assert_eq!(Month::parse("2026-12").unwrap().last().day, 31);
        assert!(Month::parse("2026-13").is_err());
    }

    /// 2-opt never makes the nearest-neighbour route longer, and matches brute force on small sets.
    #[test]
    fn routes_are_short() {
        let mut rng = crate::rng::Rng::new(5);
        for _ in 0..40 {
            let n = 1 + (rng.next_u64() % 7) as usize;
            let pts: Vec<Coord> = (0..n)
                .map(|_| Coord {
                    x: rng.range(0.0, 1000.0),
                    y: rng.range(0.0, 1000.0),
                })
                .collect();
            let start = Coord { x: 0.0, y: 0.0 };
            let order = route(start, &pts);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            let got = route_length(start, &pts, &order);
            // Brute force over every permutation.
            let mut best = f64::INFINITY;
            let mut perm: Vec<usize> = (0..n).collect();
            permute(&mut perm, 0, &mut |p| {
                best = best.min(route_length(start, &pts, p));
            });
            assert!(got <= best * 1.25 + 1e-6, "{got} vs optimum {best}");
        }
    }

    fn permute(p: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
        if k == p.len() {
            f(p);
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            permute(p, k + 1, f);
            p.swap(k, i);
        }
    }
}
