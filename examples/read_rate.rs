//! Times reading a households file (read, parse and validate, reproject), as the CLI reads it.
//! `cargo run --release --example read_rate -- FILE [RUNS] [EPSG]` prints each run and the median
//! (working CRS EPSG:32650 unless given).
use gridplan::spatial::crs::{Crs, Transform, WGS84};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::PathBuf::from(args.get(1).ok_or("usage: read_rate FILE [RUNS]")?);
    let runs: usize = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let working = Crs(args.get(3).map(|c| c.parse()).transpose()?.unwrap_or(32650));
    let t = Instant::now();
    let _ = Transform::new(WGS84, working)?;
    eprintln!("Transform::new {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let bytes = gridplan::input::read_households_bytes(&path)?;
        let n = bytes.len();
        let (h, _) =
            gridplan::input::parse_households(&path.display().to_string(), bytes, None, working)?;
        let s = t.elapsed().as_secs_f64();
        times.push(s);
        eprintln!(
            "{} households, {:.1} MB in {:.0} ms = {:.0} MB/s",
            h.len(),
            n as f64 / 1e6,
            s * 1e3,
            n as f64 / 1e6 / s
        );
    }
    times.sort_by(f64::total_cmp);
    println!("median {:.0} ms", times[times.len() / 2] * 1e3);
    Ok(())
}
