//! The cells engine (`partition --blocks --barriers`): the demo district and a generated county of about
//! 100,000 households with its street blocks and barriers, partition only (the data read once) and the
//! ground measures the report carries.

use criterion::{Criterion, criterion_group, criterion_main};
use gridplan::plan::partition::{self, cells::Ground};
use gridplan::{Dataset, Rules, synth};
use std::path::Path;
use std::time::Duration;

/// Writes the generated district of `spec` and reads it back with its layers.
fn district(spec: &synth::Spec, dir: &Path, rules: &Rules) -> (Dataset, gridplan::model::Layers) {
    synth::write(spec, dir, None, false).expect("write");
    let data = Dataset::load(
        &dir.join("boundaries.geojson"),
        &dir.join("households.geojson"),
        rules,
        None,
    )
    .expect("load");
    let (layers, _) = gridplan::input::layers::load(
        Some(&dir.join("blocks.geojson")),
        Some(&dir.join("barriers.geojson")),
        None,
        data.working,
    )
    .expect("layers");
    (data, layers)
}

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    for (name, spec, samples) in [
        ("demo", synth::Spec::new(2026, None), 20),
        ("county_100k", synth::Spec::new(2026, Some(100_000)), 10),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, layers) = district(&spec, dir.path(), &rules);
        let mut group = c.benchmark_group(format!("cells_{name}"));
        group
            .sample_size(samples)
            .measurement_time(Duration::from_secs(20));
        group.bench_function("partition", |b| {
            b.iter(|| {
                let ground = Ground::new(&layers);
                partition::partition_with(
                    &data,
                    &rules,
                    &partition::Drawing {
                        ground: Some(&ground),
                        ..partition::Drawing::on(gridplan::model::Date::today())
                    },
                    &|| {},
                )
            })
        });
        let ground = Ground::new(&layers);
        let plan = partition::partition_with(
            &data,
            &rules,
            &partition::Drawing {
                ground: Some(&ground),
                ..partition::Drawing::on(gridplan::model::Date::today())
            },
            &|| {},
        );
        group.bench_function("ground_measures", |b| {
            b.iter(|| gridplan::check::ground::ground_quality(&data, &plan.grids, &layers))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
