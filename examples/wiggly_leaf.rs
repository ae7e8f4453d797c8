//! Writes the wiggly-outline fixture leaf (see `tests/common/wiggly.rs`) to files, for timing the CLI on
//! outlines of many vertices:
//!
//! ```sh
//! cargo run --release --example wiggly_leaf -- 30000 /tmp/wiggly-30k
//! target/release/gridplan partition --boundaries /tmp/wiggly-30k/boundaries.geojson \
//!   --households /tmp/wiggly-30k/households.geojson --out /tmp/wiggly-30k/grids.geojson
//! ```
//!
//! With `--time` it also partitions the leaf in memory, three times, and prints the time of the
//! partition alone (no reading, reprojection, check or writing).
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

#[path = "../tests/common/wiggly.rs"]
mod wiggly;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: wiggly_leaf VERTICES OUT_DIR";
    let vertices: usize = args.next().ok_or(usage)?.parse()?;
    let dir = std::path::PathBuf::from(args.next().ok_or(usage)?);
    std::fs::create_dir_all(&dir)?;
    let (boundaries, households) = wiggly::leaf(vertices.max(16));
    std::fs::write(dir.join("boundaries.geojson"), boundaries.to_string())?;
    std::fs::write(dir.join("households.geojson"), households.to_string())?;
    println!(
        "wrote a leaf of {} vertices and {} buildings to {}",
        vertices.max(16),
        households["features"].as_array().map_or(0, Vec::len),
        dir.display()
    );
    if args.next().as_deref() == Some("--time") {
        let rules = gridplan::Rules::default();
        let data = gridplan::Dataset::parse(
            ("boundaries", boundaries.to_string().into_bytes()),
            ("households", households.to_string().into_bytes()),
            &rules,
            None,
        )?;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let plan = gridplan::plan::partition::partition(&data, &rules, &|| {});
            println!(
                "partition alone: {} grids in {:.1} ms",
                plan.grids.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}
