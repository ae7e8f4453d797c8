//! Read + index + check at county scale: about 400,000 households and 1,300 grids, generated with the
//! seeded generator (the same data as `gridplan generate --households 400000`).

use criterion::{Criterion, criterion_group, criterion_main};
use gridplan::{Dataset, Rules, input, synth};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = synth::Spec::new(2026, Some(400_000));
    synth::write(&spec, dir.path(), None, false).expect("generate");
    let b = dir.path().join("boundaries.geojson");
    let h = dir.path().join("households.geojson");
    let g = dir.path().join("grids.geojson");
    let rules = Rules::default();

    let mut group = c.benchmark_group("county_400k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("read_households", |bench| {
        bench.iter(|| input::read_households(&h, None, gridplan::Crs(4549)).expect("read"))
    });
    group.bench_function("load_dataset", |bench| {
        bench.iter(|| Dataset::load(&b, &h, &rules, None).expect("load"))
    });
    let data = Dataset::load(&b, &h, &rules, None).expect("load");
    let (grids, _) = input::read_grids(&g, None, data.working).expect("grids");
    group.bench_function("check_only", |bench| {
        bench.iter(|| gridplan::check(&data, &grids, &rules))
    });
    group.bench_function("read_index_check", |bench| {
        bench.iter(|| {
            let data = Dataset::load(&b, &h, &rules, None).expect("load");
            let (grids, _) = input::read_grids(&g, None, data.working).expect("grids");
            gridplan::check(&data, &grids, &rules)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
