//! The partition at county scale: about 400,000 households (the data of
//! `gridplan generate --households 400000`), alone and end to end (read, partition, check, write).

use criterion::{Criterion, criterion_group, criterion_main};
use gridplan::plan::partition;
use gridplan::{Dataset, Rules, output, synth};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    let spec = synth::Spec::new(2026, Some(400_000));
    let data = synth::dataset(&spec, &rules).expect("generate");
    let dir = tempfile::tempdir().expect("tempdir");
    synth::write(&spec, dir.path(), None, false).expect("write");
    let b = dir.path().join("boundaries.geojson");
    let h = dir.path().join("households.geojson");
    let out = dir.path().join("out.geojson");

    let mut group = c.benchmark_group("county_400k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(25));
    group.bench_function("partition_only", |bench| {
        bench.iter(|| partition::partition(&data, &rules, &|| {}))
    });
    group.bench_function("read_partition_check_write", |bench| {
        bench.iter(|| {
            let data = Dataset::load(&b, &h, &rules, None).expect("load");
            let plan = partition::partition(&data, &rules, &|| {});
            let checked = gridplan::check(&data, &plan.grids, &rules);
            output::write_grids(
                &out,
                data.working,
                gridplan::spatial::crs::WGS84,
                &plan.grids,
                &checked.grids,
            )
            .expect("write");
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
