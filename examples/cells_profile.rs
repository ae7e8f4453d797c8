//! Times the cells engine's steps leaf by leaf on one thread (scratch tool).
#![allow(clippy::unwrap_used)] // a scratch tool: it stops on what it cannot use
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints
use gridplan::plan::partition::cells;
use gridplan::{Dataset, Rules};
use std::path::Path;
/// Process CPU time (s), from /proc (the machine is shared: wall time is noisy).
struct Instant(f64);
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}
impl Instant {
    fn now() -> Instant {
        Instant(cpu())
    }
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(cpu() - self.0)
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or("/tmp/big2".into());
    let d = Path::new(&dir);
    let rules = Rules::default();
    let t = Instant::now();
    let data = Dataset::load(
        &d.join("boundaries.geojson"),
        &d.join("households.geojson"),
        &rules,
        None,
    )
    .unwrap();
    eprintln!("dataset {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (layers, _) = gridplan::input::layers::load(
        Some(&d.join("blocks.geojson")),
        Some(&d.join("barriers.geojson")),
        None,
        data.working,
    )
    .unwrap();
    eprintln!("layers {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let ground = cells::Ground::new(&layers);
    eprintln!("ground {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let plan = pool.install(|| {
        gridplan::plan::partition::partition_with(
            &data,
            &rules,
            &gridplan::plan::partition::Drawing {
                ground: Some(&ground),
                ..gridplan::plan::partition::Drawing::on(gridplan::model::Date::today())
            },
            &|| {},
        )
    });
    eprintln!(
        "partition (1 thread) {:.3}, {} grids",
        t.elapsed().as_secs_f64(),
        plan.grids.len()
    );
    let t = Instant::now();
    let checked = pool.install(|| gridplan::check(&data, &plan.grids, &rules));
    eprintln!("check (1 thread) {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let gq = pool.install(|| gridplan::check::ground::ground_quality(&data, &plan.grids, &layers));
    eprintln!("{gq:?}");
    eprintln!("ground_quality (1 thread) {:.3}", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _d = pool.install(|| {
        gridplan::check::ground::bounds_descriptions(&data, &plan.grids, Some(&layers))
    });
    eprintln!("bounds (1 thread) {:.3}", t.elapsed().as_secs_f64());
    let q = gridplan::check::quality::Quality::measure(&checked);
    eprintln!("{q:?}");
}
