//! The worker assignment: HiGHS's answer against brute-force enumeration on many tiny seeded instances,
//! and the staffing rules (shortfall, exited workers, towns, stability).

use geo::Coord;
use gridplan::Rules;
use gridplan::model::Sensitive;
use gridplan::model::{Worker, WorkerType};
use gridplan::rng::Rng;
use gridplan::rules::StaffingPolicy;
use gridplan::staff::assign::{
    Costs, GridLoad, Residents, TownProblem, allowed_types, assign, feasible, objective, solve_town,
};

fn grid(id: &str, town: &str, x: f64, y: f64, load: f64) -> GridLoad {
    GridLoad {
        id: id.into(),
        town: town.into(),
        centre: Coord { x, y },
        households: 300,
        sensitive: Sensitive::default(),
        residents: Residents::default(),
        workload_hours: load,
        policy: StaffingPolicy::ByHours,
    }
}

fn worker(id: &str, town: &str, x: f64, y: f64, kind: WorkerType, hours: f64) -> Worker {
    Worker {
        feature: 0,
        id: id.into(),
        kind,
        hours,
        town: town.into(),
        active: true,
        previous_grids: vec![],
        home: Coord { x, y },
        contact: Default::default(),
    }
}

fn exact_rules() -> Rules {
    let mut r = Rules::default();
    r.assign.mip_rel_gap = 0.0;
    r
}

/// Every assignment of grids to eligible workers (or none), the cheapest feasible one.
fn brute_force(p: &TownProblem, rules: &Rules) -> f64 {
    let allowed = allowed_types(rules);
    let options = p.workers.len() + 1;
    let mut best = f64::INFINITY;
    let mut choice = vec![None; p.grids.len()];
    let total = options.pow(p.grids.len() as u32);
    for code in 0..total {
        let mut c = code;
        for slot in choice.iter_mut() {
            let o = c % options;
            c /= options;
            *slot = (o > 0).then(|| o - 1);
        }
        if feasible(p, &choice, &allowed) {
            best = best.min(objective(p, &choice, Costs::from_rules(rules)));
        }
    }
    best
}

#[test]
fn highs_finds_the_brute_force_optimum_on_tiny_instances() {
    brute_force_cases(20261122, |_| StaffingPolicy::ByHours);
}

/// The same with grids under `one_full_time_per_grid` (alone and mixed with `by_hours` grids): full-time
/// workers only, and a worker holding such a grid holds no other.
#[test]
fn highs_finds_the_brute_force_optimum_under_each_staffing_policy() {
    brute_force_cases(20261123, |_| StaffingPolicy::OneFullTimePerGrid);
    brute_force_cases(20261124, |rng| {
        if rng.unit() < 0.5 {
            StaffingPolicy::OneFullTimePerGrid
        } else {
            StaffingPolicy::ByHours
        }
    });
}

fn brute_force_cases(seed: u64, mut policy: impl FnMut(&mut Rng) -> StaffingPolicy) {
    let rules = exact_rules();
    let mut rng = Rng::new(seed);
    for case in 0..150 {
        let n_grids = 1 + (rng.next_u64() % 6) as usize;
        let n_workers = 1 + (rng.next_u64() % 4) as usize;
        let grids: Vec<GridLoad> = (0..n_grids)
            .map(|g| {
                let mut gl = grid(
                    &format!("G{g}"),
                    "T",
                    rng.range(0.0, 5000.0),
                    rng.range(0.0, 5000.0),
                    rng.range(5.0, 40.0),
                );
                gl.policy = policy(&mut rng);
                gl
            })
            .collect();
        let kinds = [
            WorkerType::FullTime,
            WorkerType::PartTime,
            WorkerType::Cadre,
        ];
        let workers: Vec<Worker> = (0..n_workers)
            .map(|w| {
                let kind = kinds[(rng.next_u64() % 3) as usize];
                let hours = kind.default_hours(&rules.worker_hours) * rng.range(0.8, 1.6);
                let mut wk = worker(
                    &format!("W{w}"),
                    "T",
                    rng.range(0.0, 5000.0),
                    rng.range(0.0, 5000.0),
                    kind,
                    hours,
                );
                wk.active = rng.unit() > 0.15;
                if rng.unit() < 0.4 {
                    wk.previous_grids = vec![format!("G{}", rng.next_u64() % n_grids as u64)];
                }
                wk
            })
            .collect();
        let p = TownProblem {
            town: "T".into(),
            grids: grids.iter().collect(),
            workers: workers.iter().collect(),
        };
        let s = solve_town(&p, &rules).expect("HiGHS solves");
        let allowed = allowed_types(&rules);
        assert!(
            feasible(&p, &s.choice, &allowed),
            "case {case}: infeasible answer {:?}",
            s.choice
        );
        for (gi, c) in s.choice.iter().enumerate() {
            if let Some(wi) = c {
                assert!(
                    p.workers[*wi].active,
                    "case {case}: exited worker used for grid {gi}"
                );
            }
        }
        let best = brute_force(&p, &rules);
        assert!(
            (s.objective - best).abs() <= 1e-6 * best.abs().max(1.0),
            "case {case}: HiGHS {} vs brute force {best}",
            s.objective
        );
    }
}

#[test]
fn too_few_workers_is_a_shortfall_not_an_error() {
    let rules = Rules::default();
    let grids: Vec<GridLoad> = (0..5)
        .map(|g| grid(&format!("G{g}"), "T", 1000.0 * g as f64, 0.0, 35.0))
        .collect();
    let workers = vec![
        worker("A", "T", 0.0, 0.0, WorkerType::FullTime, 40.0),
        worker("B", "T", 4000.0, 0.0, WorkerType::FullTime, 40.0),
    ];
    let a = assign(&grids, &workers, &rules).expect("no error");
    let t = &a.staffing.towns[0];
    assert_eq!(t.workers_used, 2);
    assert_eq!(t.grids_uncovered.len(), 3);
    assert_eq!(t.shortfall_workers, 3);
    assert_eq!(a.staffing.total_shortfall_workers, 3);
    assert_eq!(a.primary.iter().filter(|p| p.is_some()).count(), 2);
}

#[test]
fn exited_workers_are_never_used_and_workers_never_cross_towns() {
    let rules = Rules::default();
    let grids = vec![
        grid("A1", "TA", 0.0, 0.0, 30.0),
        grid("B1", "TB", 100.0, 0.0, 30.0),
        grid("B2", "TB", 200.0, 0.0, 30.0),
    ];
    let mut gone = worker("gone", "TB", 100.0, 0.0, WorkerType::FullTime, 40.0);
    gone.active = false;
    let workers = vec![
        // A's worker lives right next to B's grids and has hours to spare: still only A's.
        worker("a", "TA", 150.0, 0.0, WorkerType::FullTime, 100.0),
        gone,
        worker("b", "TB", 5000.0, 0.0, WorkerType::FullTime, 40.0),
    ];
    let a = assign(&grids, &workers, &rules).unwrap();
    assert_eq!(a.primary[0].as_deref(), Some("a"));
    assert_eq!(
        a.primary
            .iter()
            .filter(|p| p.as_deref() == Some("gone"))
            .count(),
        0
    );
    assert!(!a.primary[1..].iter().any(|p| p.as_deref() == Some("a")));
    let tb = a
        .staffing
        .towns
        .iter()
        .find(|t| t.town.as_str() == "TB")
        .unwrap();
    assert_eq!(tb.workers_exited, 1);
    assert_eq!(tb.shortfall_workers, 1);
}

#[test]
fn with_previous_grids_and_nothing_changed_nobody_moves() {
    let rules = Rules::default();
    let mut rng = Rng::new(7);
    let grids: Vec<GridLoad> = (0..30)
        .map(|g| {
            grid(
                &format!("G{g:02}"),
                "T",
                rng.range(0.0, 8000.0),
                rng.range(0.0, 8000.0),
                rng.range(20.0, 38.0),
            )
        })
        .collect();
    let mut workers: Vec<Worker> = (0..26)
        .map(|w| {
            worker(
                &format!("W{w:02}"),
                "T",
                rng.range(0.0, 8000.0),
                rng.range(0.0, 8000.0),
                WorkerType::FullTime,
                40.0,
            )
        })
        .collect();
    let first = assign(&grids, &workers, &rules).unwrap();
    for w in &mut workers {
        w.previous_grids = grids
            .iter()
            .zip(&first.primary)
            .filter(|(_, p)| p.as_deref() == Some(w.id.as_str()))
            .map(|(g, _)| g.id.clone())
            .collect();
        // Homes move a little: stability must still win over small travel savings.
        w.home.x += rng.range(-300.0, 300.0);
    }
    let second = assign(&grids, &workers, &rules).unwrap();
    assert_eq!(first.primary, second.primary);
}

/// Under `one_full_time_per_grid` the shortfall is the number of grids without a full-time worker, a
/// full-time worker holds one grid, and a cadre never holds such a grid; under `by_hours` a cadre who
/// holds a grid is flagged `cadre_responsible`.
#[test]
fn staffing_policies_give_their_own_shortfall_and_flag_cadres() {
    let rules = Rules::default();
    let mut grids: Vec<GridLoad> = (0..4)
        .map(|g| grid(&format!("U{g}"), "T", 1000.0 * g as f64, 0.0, 12.0))
        .collect();
    for g in &mut grids {
        g.policy = StaffingPolicy::OneFullTimePerGrid;
    }
    let workers = vec![
        worker("F1", "T", 0.0, 0.0, WorkerType::FullTime, 40.0),
        worker("C1", "T", 1000.0, 0.0, WorkerType::Cadre, 40.0),
        worker("P1", "T", 2000.0, 0.0, WorkerType::PartTime, 40.0),
    ];
    let a = assign(&grids, &workers, &rules).unwrap();
    let t = &a.staffing.towns[0];
    // One full-time worker for four dedicated grids of 12 h: one grid held, three to recruit.
    assert_eq!(a.primary.iter().flatten().count(), 1);
    assert_eq!(a.primary[0].as_deref(), Some("F1"));
    assert_eq!(t.shortfall_workers, 3);
    assert!(t.cadre_responsible.is_empty());
    // The same grids by hours: F1 holds three (36 h), the cadre and the part-timer may hold grids,
    // and the grid a cadre holds is flagged.
    for g in &mut grids {
        g.policy = StaffingPolicy::ByHours;
    }
    let b = assign(&grids, &workers, &rules).unwrap();
    let t = &b.staffing.towns[0];
    assert_eq!(t.shortfall_workers, 0);
    assert_eq!(b.primary.iter().flatten().count(), 4);
    let by_cadre: Vec<&String> = grids
        .iter()
        .zip(&b.primary)
        .filter(|(_, p)| p.as_deref() == Some("C1"))
        .map(|(g, _)| &g.id)
        .collect();
    assert!(!by_cadre.is_empty());
    assert_eq!(t.cadre_responsible.iter().collect::<Vec<_>>(), by_cadre);
    assert_eq!(b.staffing.total_cadre_responsible, by_cadre.len());
}
