//! What a planner hands over (`gridplan report`, the service's planner download): each grid's row of
//! the ledger (网格台账) and each community's page of the atlas (网格图册), assembled from the grids,
//! the households (recounted, never trusted from the file), the boundaries, each grid's 四至 and who
//! answers for it. Plain data in the working CRS (metres); `output::handover` writes it as .xlsx and
//! .pdf.
//!
//! The workers' names and phones ([`Contact`]) are personal data: a [`Handover`] is written only to
//! planner files, and nothing here is `Serialize`, so no JSON can carry it by accident.

use crate::check;
use crate::error::{Error, Result};
use crate::input::{self, dataset::Dataset};
use crate::model::{Contact, GridKind, GridShape, Layers, TownCode, Worker};
use crate::problem::{Problem, Problems};
use crate::rules::{BandStatus, Rules};
use crate::spatial::crs::Crs;
use geo::MultiPolygon;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// The grids of a district, by town and community, with everything the ledger and the atlas print.
#[derive(Debug, Clone)]
pub struct Handover {
    /// The metric CRS the geometries are in.
    pub working: Crs,
    /// The district's name (the root of the boundaries), for titles.
    pub district: Option<String>,
    /// Towns (街道、乡镇) by code, each with its communities by code.
    pub towns: Vec<TownPart>,
    /// Whether the workers file gives names or phones: the ledger's contact columns.
    pub contacts: bool,
    /// What did not stop the work: grids whose worker the workers file lacks, and the like.
    pub warnings: Problems,
}

/// A town (街道/乡镇) and its communities.
#[derive(Debug, Clone)]
pub struct TownPart {
    /// Its code; empty for grids whose community has no town in the boundaries.
    pub code: String,
    pub name: String,
    pub communities: Vec<CommunityPart>,
}

/// A community (社区/村) and its grids.
#[derive(Debug, Clone)]
pub struct CommunityPart {
    /// Its code; the grid's own `community` when the boundaries do not have it.
    pub code: String,
    pub name: String,
    /// `urban`, `rural`, … (which band applies).
    pub kind: Option<String>,
    /// Its outline (working CRS), when the boundaries have it.
    pub outline: Option<MultiPolygon>,
    pub grids: Vec<GridEntry>,
}

/// One grid's row.
#[derive(Debug, Clone)]
pub struct GridEntry {
    pub id: String,
    pub name: Option<String>,
    /// 四至: what bounds it on the east, south, west and north.
    pub bounds: String,
    /// Households recounted from the household points.
    pub households: u64,
    /// Residents; `None` when some household point has no `population`.
    pub population: Option<u64>,
    pub area_m2: f64,
    pub status: GridStatus,
    /// Who answers for it, when an assignment says.
    pub worker: Option<Responsible>,
    /// Its shape, in the working CRS.
    pub geometry: MultiPolygon,
}

/// Where a grid stands against its band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridStatus {
    InBand,
    Under,
    Over,
    /// A dedicated grid (专属网格): exempt from the band.
    Exempt,
    /// No band applies (a community of no known kind, or population unknown where it decides).
    Unknown,
}

impl GridStatus {
    fn of(kind: GridKind, status: Option<BandStatus>) -> GridStatus {
        match (kind, status) {
            (GridKind::Dedicated, _) => GridStatus::Exempt,
            (_, Some(BandStatus::Ok)) => GridStatus::InBand,
            (_, Some(BandStatus::Under)) => GridStatus::Under,
            (_, Some(BandStatus::Over)) => GridStatus::Over,
            (_, None) => GridStatus::Unknown,
        }
    }

    /// As the ledger and the atlas print it.
    pub fn zh(self) -> &'static str {
        match self {
            GridStatus::InBand => "符合标准",
            GridStatus::Under => "不符合（户数偏少）",
            GridStatus::Over => "不符合（户数偏多）",
            GridStatus::Exempt => "专属网格（不适用）",
            GridStatus::Unknown => "无法判定",
        }
    }

    /// In band (or exempt from it).
    pub fn fine(self) -> bool {
        matches!(self, GridStatus::InBand | GridStatus::Exempt)
    }
}

/// The worker who answers for a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responsible {
    pub id: String,
    /// Name and phone, when the workers file gives them.
    pub contact: Contact,
}

impl Responsible {
    /// How the atlas's table names them: the name (else the id), and the phone when known.
    pub fn label(&self) -> String {
        let who = self.contact.name.as_deref().unwrap_or(&self.id);
        match &self.contact.phone {
            Some(p) => format!("{who} {p}"),
            None => who.to_string(),
        }
    }
}

impl Handover {
    /// Every community, town by town.
    pub fn communities(&self) -> impl Iterator<Item = (&TownPart, &CommunityPart)> {
        self.towns
            .iter()
            .flat_map(|t| t.communities.iter().map(move |c| (t, c)))
    }

    /// How many grids.
    pub fn grid_count(&self) -> usize {
        self.communities().map(|(_, c)| c.grids.len()).sum()
    }
}

/// Assembles the handover: `bounds` is each grid's 四至 (in the order of `grids`), `responsible` maps
/// grid id → worker id, and `workers` give the names and phones.
pub fn handover(
    data: &Dataset,
    grids: &[GridShape],
    rules: &Rules,
    bounds: &[String],
    responsible: &BTreeMap<String, String>,
    workers: Option<&[Worker]>,
) -> Handover {
    let report = check::check(data, grids, rules);
    let rows: HashMap<&str, &check::GridRow> =
        report.grids.iter().map(|r| (r.id.as_str(), r)).collect();
    let by_id: HashMap<&str, &Worker> = workers
        .unwrap_or_default()
        .iter()
        .map(|w| (w.id.as_str(), w))
        .collect();
    let mut warnings = Problems::default();
    let tree = &data.tree;
    let root_name = tree
        .areas
        .iter()
        .enumerate()
        .find(|(i, _)| tree.parent(*i).is_none() && !tree.is_leaf(*i))
        .and_then(|(_, a)| a.name.clone());
    // town code → (name, community code → part)
    let mut towns: BTreeMap<String, (String, BTreeMap<String, CommunityPart>)> = BTreeMap::new();
    for (g, grid) in grids.iter().enumerate() {
        let row = rows.get(grid.id.as_str());
        let community = grid
            .community
            .clone()
            .or_else(|| row.and_then(|r| r.community.clone()))
            .unwrap_or_default();
        let leaf = tree.get(&community);
        let town = leaf.and_then(|i| tree.town_of(i));
        let (town_code, town_name) = match town {
            Some(t) => {
                let a = &tree.areas[t];
                (
                    a.code.clone(),
                    a.name.clone().unwrap_or_else(|| a.code.clone()),
                )
            }
            None => (String::new(), "未归属街镇".to_string()),
        };
        let part = towns
            .entry(town_code)
            .or_insert_with(|| (town_name, BTreeMap::new()))
            .1
            .entry(community.clone())
            .or_insert_with(|| match leaf {
                Some(i) => {
                    let a = &tree.areas[i];
                    CommunityPart {
                        code: a.code.clone(),
                        name: a.name.clone().unwrap_or_else(|| a.code.clone()),
                        kind: tree.kind(i).map(str::to_string),
                        outline: Some(a.geometry.clone()),
                        grids: Vec::new(),
                    }
                }
                None => CommunityPart {
                    code: community.clone(),
                    name: if community.is_empty() {
                        "未归属社区".to_string()
                    } else {
                        format!("{community}（边界中无此社区）")
                    },
                    kind: None,
                    outline: None,
                    grids: Vec::new(),
                },
            });
        let worker = responsible.get(&grid.id).map(|id| {
            let contact = match by_id.get(id.as_str()) {
                Some(w) => w.contact.clone(),
                None => {
                    if workers.is_some() {
                        warnings.push(
                            Problem::warning(
                                "workers",
                                format!(
                                    "grid {}'s worker {id} is not in the workers file: listed by id only",
                                    grid.id
                                ),
                            )
                            .field("id"),
                        );
                    }
                    Contact::default()
                }
            };
            Responsible {
                id: id.clone(),
                contact,
            }
        });
        part.grids.push(GridEntry {
            id: grid.id.clone(),
            name: grid.record.name.clone(),
            bounds: bounds.get(g).cloned().unwrap_or_default(),
            households: row.map_or(0, |r| r.households),
            population: row.and_then(|r| r.population),
            area_m2: row.map_or_else(|| geo::Area::unsigned_area(&grid.geometry), |r| r.area_m2),
            status: GridStatus::of(grid.record.kind, row.and_then(|r| r.status)),
            worker,
            geometry: grid.geometry.clone(),
        });
    }
    let towns = towns
        .into_iter()
        .map(|(code, (name, communities))| TownPart {
            code,
            name,
            communities: communities
                .into_values()
                .map(|mut c| {
                    c.grids.sort_by(|a, b| a.id.cmp(&b.id));
                    c
                })
                .collect(),
        })
        .collect();
    Handover {
        working: data.working,
        district: root_name,
        towns,
        contacts: workers
            .unwrap_or_default()
            .iter()
            .any(|w| w.contact.name.is_some() || w.contact.phone.is_some()),
        warnings,
    }
}

/// The files of `gridplan report`.
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    pub grids: PathBuf,
    pub boundaries: PathBuf,
    pub households: PathBuf,
    /// An assignment (`gridplan assign`'s output): each grid's `primary_worker`.
    pub assignment: Option<PathBuf>,
    /// Workers, for their names and phones.
    pub workers: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    /// Ground layers, for the 四至 of grids whose file does not give it.
    pub blocks: Option<PathBuf>,
    pub barriers: Option<PathBuf>,
    pub crs: Option<Crs>,
}

/// `gridplan report`: reads the files and assembles the handover. Each grid's 四至 is the one its
/// file gives (`bounds_description`, as `partition` writes it), else described afresh from the
/// boundaries, the other grids and the ground layers when given. The worker of each grid is the
/// assignment's `primary_worker` (or the grids file's own, when it is an assignment).
pub fn report_files(files: &ReportFiles) -> Result<Handover> {
    let rules = input::load_rules(files.rules.as_deref())?;
    let (data, (grids, assigned, layers, mut warnings)) = Dataset::load_beside(
        &files.boundaries,
        &files.households,
        &rules,
        files.crs,
        |working| {
            let (grids, mut warnings) = input::read_grids(&files.grids, files.crs, working)?;
            let assigned = match &files.assignment {
                Some(a) => {
                    let (assigned, more) = input::read_grids(a, files.crs, working)?;
                    warnings.extend(more);
                    Some(assigned)
                }
                None => None,
            };
            let layers = if grids.iter().any(|g| g.record.bounds_description.is_none()) {
                let (layers, more) = input::layers::load(
                    files.blocks.as_deref(),
                    files.barriers.as_deref(),
                    files.crs,
                    working,
                )?;
                warnings.extend(more);
                Some(layers)
            } else {
                None
            };
            Ok((grids, assigned, layers, warnings))
        },
    )?;
    let responsible = responsible_workers(&files.grids, &grids, assigned.as_deref(), files)?;
    let workers = match &files.workers {
        Some(path) => {
            let towns: BTreeSet<TownCode> = data
                .tree
                .leaves()
                .iter()
                .filter_map(|&l| data.tree.town_of(l))
                .map(|t| TownCode::new(&data.tree.areas[t].code))
                .collect();
            let (workers, more) = input::workers::read_workers(
                path,
                files.crs,
                data.working,
                &rules.worker_hours,
                &towns,
            )?;
            warnings.extend(more);
            Some(workers)
        }
        None => None,
    };
    let bounds = grid_bounds(&data, &grids, layers.as_ref());
    let mut h = handover(
        &data,
        &grids,
        &rules,
        &bounds,
        &responsible,
        workers.as_deref(),
    );
    // What did not stop the work, from every file read: households outside every leaf and the like.
    let mut all = data.warnings.clone();
    all.extend(warnings);
    all.extend(std::mem::take(&mut h.warnings));
    h.warnings = all;
    if let Some(path) = &files.workers
        && responsible.is_empty()
    {
        h.warnings.push(Problem::warning(
            &path.display().to_string(),
            format!(
                "no grid of {} names its worker, so no worker is listed: pass --assignment (the output of `gridplan assign`)",
                files.grids.display()
            ),
        ));
    }
    Ok(h)
}

/// Each grid's 四至: the one the grids file gives, else described afresh (on the layers when given).
pub fn grid_bounds(data: &Dataset, grids: &[GridShape], layers: Option<&Layers>) -> Vec<String> {
    let missing = grids.iter().any(|g| g.record.bounds_description.is_none());
    let fresh = if missing {
        check::ground::bounds_descriptions(data, grids, layers)
    } else {
        Vec::new()
    };
    grids
        .iter()
        .enumerate()
        .map(|(i, g)| {
            g.record
                .bounds_description
                .clone()
                .or_else(|| fresh.get(i).cloned())
                .unwrap_or_default()
        })
        .collect()
}

/// Grid id → worker id: from the assignment when given (every one of its grids must be one of the
/// grids), else from the grids file's own `primary_worker`.
fn responsible_workers(
    grids_file: &std::path::Path,
    grids: &[GridShape],
    assigned: Option<&[GridShape]>,
    files: &ReportFiles,
) -> Result<BTreeMap<String, String>> {
    let Some(assigned) = assigned else {
        return Ok(grids
            .iter()
            .filter_map(|g| Some((g.id.clone(), g.primary_worker.clone()?)))
            .collect());
    };
    let file = files
        .assignment
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let known: BTreeSet<&str> = grids.iter().map(|g| g.id.as_str()).collect();
    let stray: Vec<Problem> = assigned
        .iter()
        .filter(|a| !known.contains(a.id.as_str()))
        .map(|a| {
            Problem::error(
                &file,
                format!(
                    "grid {} is not among the grids of {}: the assignment is of other grids",
                    a.id,
                    grids_file.display()
                ),
            )
            .at(a.feature, Some(&a.id))
            .field("id")
        })
        .collect();
    if !stray.is_empty() {
        return Err(Error::Invalid(stray));
    }
    Ok(assigned
        .iter()
        .filter_map(|a| Some((a.id.clone(), a.primary_worker.clone()?)))
        .collect())
}
