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
//! - **monthly**: one visit in the month (every calendar month);
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
//! With a log (`resident,worker,time` rows), a resident is overdue at the month's start when the
//! deadline their last visit set has passed ([`deadline`]), or they were never visited. Cadences are
//! read as visit plans read them: **weekly** within 7 days of the last visit; **monthly** in every
//! calendar month (last visited on 31 October: overdue on 1 December, as is one last visited on
//! 1 October); **quarterly** in every run of three calendar months (last visited in September: due by
//! 31 December). `days_overdue` counts the days since that deadline; `level` is `error` when the next
//! deadline has passed too (more than one whole cadence missed) or when never visited, else
//! `warning`. Most overdue first.
//!
//! ## The log
//! Read strictly: a `time` that is not a real ISO 8601 date or date-time (second 60, an offset beyond
//! ±14:00, a fraction of more than nine digits…), a visit dated after the planning day (by default
//! today, as the calendar reads anywhere on Earth), a JSON value that is not an array of visits, a CSV
//! without one of the three columns or with a column twice: each is an error naming the file, the row
//! and the field. Rows naming no household are counted and reported, and past
//! `visits.max_unknown_log_rows` the log is refused.

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
    /// The day of the visit, as the time's own calendar reads it.
    pub date: Date,
    /// Where the log holds it: `row` (CSV data row, from 1) or `entry` (JSON array, from 0), and its number.
    pub at: (&'static str, usize),
}

/// The default planning day: today as the calendar reads it anywhere on Earth (UTC+14), so that no
/// visit already made is dated after it, whatever its time zone.
pub fn planning_day_default() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days(((secs + 14 * 3_600) / 86_400) as i64)
}

/// The longest `time` value read: a real date-time with a nanosecond fraction and an offset is 35.
const MAX_TIME_CHARS: usize = 40;

/// Reads a log's `time`: `YYYY-MM-DD`, or that with `Thh:mm[:ss[.fraction]]` (or a space before the
/// time) and an optional `Z` or `±hh:mm` offset. Every part must be real: hours 00–23, minutes and
/// seconds 00–59, at most nine fraction digits, offsets within ±14:00. Returns the day as written.
pub fn parse_time(text: &str) -> std::result::Result<Date, String> {
    let t = text.trim();
    if t.chars().count() > MAX_TIME_CHARS {
        return Err(format!(
            "is {} characters long: not a date-time (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+08:00)",
            t.chars().count()
        ));
    }
    let bad = |why: &str| Err(format!("\"{t}\" {why}"));
    let shape = "is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+08:00)";
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = t.get(r)?;
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return bad(shape);
    }
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return bad(shape);
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year as i32, month) {
        return bad("is not a day of the calendar");
    }
    let date = Date {
        year: year as i32,
        month,
        day,
    };
    if b.len() == 10 {
        return Ok(date);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return bad(shape);
    }
    let (Some(hour), Some(minute)) = (digits(11..13), digits(14..16)) else {
        return bad(shape);
    };
    if hour > 23 {
        return bad("has an hour beyond 23");
    }
    if minute > 59 {
        return bad("has a minute beyond 59");
    }
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let Some(second) = digits(i + 1..i + 3) else {
            return bad(shape);
        };
        if second > 59 {
            return bad("has a second beyond 59");
        }
        i += 3;
        if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
            let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return bad(shape);
            }
            if n > 9 {
                return bad("has a fraction of more than nine digits");
            }
            i += 1 + n;
        }
    }
    match b.get(i) {
        None => Ok(date),
        Some(b'Z' | b'z') if i + 1 == b.len() => Ok(date),
        Some(b'+' | b'-') => {
            let rest = &t[i + 1..];
            let (h, m) = match rest.len() {
                2 => (digits(i + 1..i + 3), Some(0)),
                4 => (digits(i + 1..i + 3), digits(i + 3..i + 5)),
                5 if rest.as_bytes()[2] == b':' => (digits(i + 1..i + 3), digits(i + 4..i + 6)),
                _ => (None, None),
            };
            match (h, m) {
                (Some(h), Some(m)) if m <= 59 && (h < 14 || (h == 14 && m == 0)) => Ok(date),
                (Some(_), Some(_)) => bad("has an offset beyond ±14:00"),
                _ => bad(shape),
            }
        }
        _ => bad(shape),
    }
}

/// Reads a visit log: CSV with columns `resident,worker,time` (any order, more columns ignored, none
/// twice), or a JSON array of `{"resident", "worker", "time"}` objects. Bad rows are named by row and
/// column; a visit dated after `planning_day` is refused (a log from the future would hide every
/// overdue resident).
pub fn read_log(path: &Path, planning_day: Date) -> Result<Vec<LogEntry>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_log(&path.display().to_string(), &bytes, planning_day)
}

/// [`read_log`] from bytes in memory.
pub fn parse_log(file: &str, bytes: &[u8], planning_day: Date) -> Result<Vec<LogEntry>> {
    let bytes = crate::input::raw::strip_bom(bytes);
    let mut problems = Problems::default();
    let mut out = Vec::new();
    let refuse = |message: String| Error::Invalid(vec![Problem::error(file, message)]);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Err(refuse(
            "a JSON object, not a visit log: write a JSON array of {\"resident\", \"worker\", \"time\"} objects, or CSV with columns resident,worker,time".into(),
        ));
    }
    if first == Some(&b'[') {
        let rows: Vec<serde_json::Value> = serde_json::from_slice(bytes)
            .map_err(|e| refuse(format!("not a JSON array of visits: {e}")))?;
        for (i, row) in rows.iter().enumerate() {
            if !row.is_object() {
                problems.push(Problem::error(
                    file,
                    format!("entry {i}: not an object with `resident`, `worker` and `time`"),
                ));
                continue;
            }
            let get = |name: &str| -> Option<String> {
                match row.get(name)? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }
            };
            take_row(
                file,
                ("entry", i),
                &get,
                planning_day,
                &mut problems,
                &mut out,
            );
        }
    } else {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| refuse(format!("not a CSV file: {e}")))?
            .clone();
        let names: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut column = BTreeMap::new();
        for (c, name) in names.iter().enumerate() {
            if let Some(first) = column.insert(name.as_str(), c)
                && !name.is_empty()
            {
                problems.push(
                    Problem::error(
                        file,
                        format!(
                            "the column `{name}` appears twice (columns {} and {}): which one to read is not clear",
                            first + 1,
                            c + 1
                        ),
                    )
                    .field(name),
                );
            }
        }
        for name in ["resident", "worker", "time"] {
            if !column.contains_key(name) {
                problems.push(
                    Problem::error(
                        file,
                        format!(
                            "no `{name}` column (the columns are: {}): a visit log has columns resident,worker,time",
                            headers.iter().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .field(name),
                );
            }
        }
        if problems.has_errors() {
            return Err(Error::Invalid(problems.0));
        }
        for (i, record) in reader.records().enumerate() {
            let row = i + 1;
            match record {
                Ok(r) => {
                    let get = |name: &str| -> Option<String> {
                        column.get(name).and_then(|&c| r.get(c)).map(str::to_string)
                    };
                    take_row(
                        file,
                        ("row", row),
                        &get,
                        planning_day,
                        &mut problems,
                        &mut out,
                    );
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
    at: (&'static str, usize),
    get: &dyn Fn(&str) -> Option<String>,
    planning_day: Date,
    problems: &mut Problems,
    out: &mut Vec<LogEntry>,
) {
    let (what, row) = at;
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
    match parse_time(&time) {
        Ok(date) if date > planning_day => problems.push(
            Problem::error(
                file,
                format!(
                    "{what} {row}: `time` {date} is after the planning day {planning_day}: a visit not yet made (a log from the future would hide every overdue resident)"
                ),
            )
            .field("time"),
        ),
        Ok(date) => out.push(LogEntry {
            resident,
            worker,
            time,
            date,
            at,
        }),
        Err(why) => problems.push(
            Problem::error(file, format!("{what} {row}: `time` {why}")).field("time"),
        ),
    }
}

/// Log rows naming no household (by `id`, or `#N` for a household point without one): counted and
/// reported as one warning naming the first few; more than `visits.max_unknown_log_rows` and the log
/// is refused (a log of another district, or of another column, would otherwise pass as empty).
pub fn vet_log(
    file: &str,
    log: &[LogEntry],
    households: &[Household],
    rules: &Rules,
) -> Result<Vec<Problem>> {
    let known: std::collections::HashSet<String> = households
        .iter()
        .map(|h| match &h.id {
            Some(id) => id.to_string(),
            None => format!("#{}", h.feature),
        })
        .collect();
    let unknown: Vec<&LogEntry> = log
        .iter()
        .filter(|e| !known.contains(e.resident.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let first: Vec<String> = unknown
        .iter()
        .take(5)
        .map(|e| format!("{} {}: {}", e.at.0, e.at.1, e.resident))
        .collect();
    let cap = rules.visits.max_unknown_log_rows;
    let message = format!(
        "{} of {} row(s) name a resident no household has as `id` ({}{})",
        unknown.len(),
        log.len(),
        first.join("; "),
        if unknown.len() > first.len() {
            "; …"
        } else {
            ""
        }
    );
    if unknown.len() as u64 > cap {
        return Err(Error::Invalid(vec![
            Problem::error(
                file,
                format!(
                    "{message}: more than visits.max_unknown_log_rows ({cap}); is this the log of these households?"
                ),
            )
            .field("resident"),
        ]));
    }
    Ok(vec![
        Problem::warning(file, format!("{message}: not counted as visits to anyone"))
            .field("resident"),
    ])
}

/// The last day a resident of `cadence` last visited on `last` may be visited again on time: weekly,
/// 7 days after; monthly, the end of the next calendar month; quarterly, the end of the third
/// calendar month after. `None` when not scheduled.
pub fn deadline(cadence: Cadence, last: Date) -> Option<Date> {
    let month_end = |months: u32| {
        let first = Date { day: 1, ..last }.plus_months(months);
        Date {
            day: days_in_month(first.year, first.month),
            ..first
        }
    };
    match cadence {
        Cadence::Weekly => Some(Date::from_days(last.days() + 7)),
        Cadence::Monthly => Some(month_end(1)),
        Cadence::Quarterly => Some(month_end(3)),
        Cadence::None => None,
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
    /// Days from the deadline the last visit set ([`deadline`]) to the month's start; `None` when
    /// never visited.
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
                r.cadence.days()?;
                // The deadline the last visit set, and the one after it.
                let due = r.last.and_then(|d| deadline(r.cadence, d));
                if due.is_some_and(|d| start <= d) {
                    return None;
                }
                let next = due.and_then(|d| deadline(r.cadence, d));
                Some(Overdue {
                    resident: r.id.clone(),
                    grid: grids[r.grid].id.clone(),
                    worker: grid_worker(r.grid),
                    category: r.category,
                    last_visit: r.last_time.clone(),
                    days_overdue: due.map(|d| start.days() - d.days()),
                    level: match next {
                        Some(n) if start <= n => Level::Warning,
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

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    /// Monthly means every calendar month: last visited on 31 October (30 days before 1 December)
    /// or on 1 October, a monthly resident is overdue on 1 December by one day (the November visit
    /// was due by 30 November); last visited in September, by a whole month more: an error.
    #[test]
    fn monthly_is_read_by_the_calendar_month() {
        let due = |last: &str| deadline(Cadence::Monthly, day(last)).map(|d| d.to_string());
        assert_eq!(due("2026-10-31").as_deref(), Some("2026-11-30"));
        assert_eq!(due("2026-10-01").as_deref(), Some("2026-11-30"));
        assert_eq!(due("2026-11-01").as_deref(), Some("2026-12-31"));
        assert_eq!(due("2026-12-15").as_deref(), Some("2027-01-31"));
        assert_eq!(due("2027-01-31").as_deref(), Some("2027-02-28"));
        let q = |last: &str| deadline(Cadence::Quarterly, day(last)).map(|d| d.to_string());
        assert_eq!(q("2026-09-01").as_deref(), Some("2026-12-31"));
        assert_eq!(q("2026-11-30").as_deref(), Some("2027-02-28"));
        // Weekly stays 7 days (the contract's example: 61 days since the visit is 54 days late).
        assert_eq!(
            deadline(Cadence::Weekly, day("2026-10-01")),
            Some(day("2026-10-08"))
        );
        assert_eq!(deadline(Cadence::None, day("2026-10-01")), None);
    }

    /// Log times are read strictly: real dates and times only, offsets within ±14:00, nine fraction
    /// digits at most, nothing after.
    #[test]
    fn log_times_are_read_strictly() {
        for ok in [
            "2026-11-20",
            "2026-11-20T09:00",
            "2026-11-20T09:00:00",
            "2026-11-20 09:00:00",
            "2026-11-20T09:00:00Z",
            "2026-11-20T09:00:00.123456789+08:00",
            "2026-11-20T23:59:59-12:00",
            "2026-11-20T09:00:00+14:00",
            "2026-11-20T09:00:00+0800",
            "2026-11-20T00:00:00+08",
        ] {
            assert_eq!(parse_time(ok), Ok(day("2026-11-20")), "{ok}");
        }
        assert_eq!(parse_time("2024-02-29T08:00"), Ok(day("2024-02-29")));
        for (bad, why) in [
            ("2026-11-20T09:00:60+08:00", "second"),
            ("2026-11-20T24:00:00", "hour"),
            ("2026-11-20T09:60", "minute"),
            ("2026-11-20T09:00:00+99:00", "offset"),
            ("2026-11-20T09:00:00+14:30", "offset"),
            ("2026-02-29", "calendar"),
            ("2026-11-31", "calendar"),
            ("2026-11-20T09:00:00.1234567890", "nine"),
            ("2026-11-20x", "ISO 8601"),
            ("2026-11-20T09:00:00+08:00 extra", "ISO 8601"),
            ("26-11-20", "ISO 8601"),
            ("yesterday", "ISO 8601"),
        ] {
            let e = parse_time(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("2026-11-20T09:00:00.{}", "1".repeat(1_000));
        assert!(parse_time(&long).expect_err("long").contains("characters"));
    }

    /// A log is refused, naming the file, the row and the field, when a visit is dated after the
    /// planning day, when it is a JSON object, or when a column is missing or repeated.
    #[test]
    fn bad_logs_are_refused_by_row_and_field() {
        let today = day("2026-12-07");
        let messages = |bytes: &str| match parse_log("log.csv", bytes.as_bytes(), today) {
            Ok(rows) => panic!("accepted {} row(s): {bytes}", rows.len()),
            Err(Error::Invalid(p)) => p.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            Err(e) => panic!("{e}"),
        };
        let m =
            messages("resident,worker,time\nE1,W1,2026-11-30\nE2,W1,2099-01-01T09:00:00+08:00\n");
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("row 2") && m[0].contains("after the planning day"),
            "{m:?}"
        );
        assert!(m[0].contains("log.csv") && m[0].contains("time"), "{m:?}");
        let m = messages("resident,worker,time\nE1,W1,9999-12-31\n");
        assert!(m[0].contains("row 1"), "{m:?}");
        let m = messages("{\"resident\": \"E1\", \"worker\": \"W1\", \"time\": \"2026-11-30\"}");
        assert!(m[0].contains("JSON object"), "{m:?}");
        let m = messages("resident,worker,time,Time\nE1,W1,2026-11-30,2026-11-29\n");
        assert!(m[0].contains("`time` appears twice"), "{m:?}");
        let m = messages("resident,worker,when\nE1,W1,2026-11-30\n");
        assert!(m[0].contains("no `time` column"), "{m:?}");
        let m = messages(
            "[1, {\"resident\": \"E1\", \"worker\": \"W1\", \"time\": \"2026-11-30T09:00:60Z\"}]",
        );
        assert!(m.iter().any(|m| m.contains("entry 0")), "{m:?}");
        assert!(
            m.iter()
                .any(|m| m.contains("entry 1") && m.contains("second")),
            "{m:?}"
        );
        // The planning day itself is fine, and so is a visit earlier that day in any time zone.
        let ok = parse_log(
            "log.csv",
            b"resident,worker,time\nE1,W1,2026-12-07T23:00:00-11:00\n",
            today,
        );
        assert_eq!(ok.map(|r| r.len()).ok(), Some(1));
    }

    /// Rows naming no household are counted and reported; past the cap the log is refused.
    #[test]
    fn unknown_residents_are_counted_and_capped() {
        let households = vec![Household {
            id: Some("H1".into()),
            ..crate::fixtures::household(0.0, 0.0, 1, None)
        }];
        let entry = |resident: &str, row| LogEntry {
            resident: resident.to_string(),
            worker: "W1".into(),
            time: "2026-11-30".into(),
            date: day("2026-11-30"),
            at: ("row", row),
        };
        let mut rules = Rules::default();
        rules.visits.max_unknown_log_rows = 2;
        let log = vec![entry("H1", 1), entry("X1", 2), entry("X2", 3)];
        let w = vet_log("log.csv", &log, &households, &rules).expect("within the cap");
        assert_eq!(w.len(), 1);
        assert!(
            w[0].message.starts_with("2 of 3 row(s)"),
            "{}",
            w[0].message
        );
        assert!(w[0].message.contains("row 2: X1"), "{}", w[0].message);
        let log = vec![entry("X1", 1), entry("X2", 2), entry("X3", 3)];
        assert!(vet_log("log.csv", &log, &households, &rules).is_err());
        assert!(
            vet_log("log.csv", &log[..0], &households, &rules)
                .expect("empty")
                .is_empty()
        );
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
