//! The assignment at county scale: 1,200 grids, 1,400 workers, 30 towns (seeded), solved to a relative
//! gap of 0.1 % (the default rules). Prints each solve's worst status and gap once before timing.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

use criterion::{Criterion, criterion_group, criterion_main};
use geo::Coord;
use gridplan::Rules;
use gridplan::model::{Sensitive, TownCode};
use gridplan::model::{Worker, WorkerType};
use gridplan::rng::Rng;
use gridplan::rules::StaffingPolicy;
use gridplan::staff::assign::{GridLoad, Residents, assign};
use std::time::Duration;

/// 30 towns of 40 grids in 10 km squares, 1,400 workers: mostly full-time, some part-time and cadres.
pub fn county(seed: u64) -> (Vec<GridLoad>, Vec<Worker>) {
    let mut rng = Rng::new(seed);
    let mut grids = Vec::new();
    let mut workers = Vec::new();
    for t in 0..30 {
        let code = format!("320116{:03}000", t + 1);
        let town = TownCode::new(&code);
        let (ox, oy) = ((t % 6) as f64 * 12_000.0, (t / 6) as f64 * 12_000.0);
        for g in 0..40 {
            grids.push(GridLoad {
                id: format!("{}{:03}-G{g:02}", &code[..9], 1 + g / 8),
                town: town.clone(),
                centre: Coord {
                    x: ox + rng.range(0.0, 10_000.0),
                    y: oy + rng.range(0.0, 10_000.0),
                },
                households: 350,
                sensitive: Sensitive::default(),
                residents: Residents::default(),
                workload_hours: rng.range(18.0, 39.0),
                policy: StaffingPolicy::ByHours,
            });
        }
        let n = if t < 20 { 47 } else { 46 };
        for w in 0..n {
            let (kind, hours) = match rng.next_u64() % 25 {
                0..=19 => (WorkerType::FullTime, 40.0),
                20..=22 => (WorkerType::PartTime, 20.0),
                _ => (WorkerType::Cadre, 10.0),
            };
            workers.push(Worker {
                feature: workers.len(),
                id: format!("W{t:02}-{w:02}"),
                kind,
                hours,
                town: town.clone(),
                active: rng.unit() > 0.03,
                previous_grids: vec![],
                home: Coord {
                    x: ox + rng.range(0.0, 10_000.0),
                    y: oy + rng.range(0.0, 10_000.0),
                },
                contact: Default::default(),
            });
        }
    }
    (grids, workers)
}

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    let (grids, workers) = county(2026);
    assert_eq!((grids.len(), workers.len()), (1200, 1400));
    let a = assign(&grids, &workers, &rules).expect("solves");
    let worst_gap = a
        .staffing
        .towns
        .iter()
        .map(|t| t.mip_gap)
        .fold(0.0, f64::max);
    let statuses: std::collections::BTreeSet<String> = a
        .staffing
        .towns
        .iter()
        .map(|t| format!("{:?}", t.solver_status))
        .collect();
    eprintln!(
        "county: {} grids, {} workers, {} towns; statuses {statuses:?}; worst gap bound {:.4} %; shortfall {}",
        grids.len(),
        workers.len(),
        a.staffing.towns.len(),
        100.0 * worst_gap,
        a.staffing.total_shortfall_workers
    );
    let mut group = c.benchmark_group("county_1200_grids");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("assign_30_towns", |b| {
        b.iter(|| assign(&grids, &workers, &rules).expect("solves"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
