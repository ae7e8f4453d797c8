//! Chinese web-map coordinates: GCJ-02 (the offset datum of Chinese web and phone maps: Amap/Gaode,
//! Tencent, Google in China) and BD-09 (Baidu's further offset of GCJ-02), converted to WGS84.
//!
//! GCJ-02 is WGS84 shifted by a published nonlinear function of position (the formulas every open
//! implementation uses, on the Krasovsky ellipsoid's constants as originally published). Its inverse has
//! no closed form: [`gcj02_to_wgs84`] iterates the forward function (fixed point) until the position
//! moves less than 1e-9° (about 0.1 mm), so the round trip is exact well below the 0.5 m a planner needs.
//! BD-09 → GCJ-02 is Baidu's closed-form inverse. Outside China the offset is not applied (as the maps
//! themselves do).

use geo::Coord;

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;

/// Whether the offset applies: the rough box of China the maps use.
fn in_china(c: Coord) -> bool {
    (72.004..=137.8347).contains(&c.x) && (0.8293..=55.8271).contains(&c.y)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset at a WGS84 position, in degrees (lon, lat).
fn offset(c: Coord) -> Coord {
    use std::f64::consts::PI;
    let (x, y) = (c.x - 105.0, c.y - 35.0);
    let rad = c.y / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    Coord {
        x: shift_lon(x, y) * 180.0 / (A / sqrt_magic * rad.cos() * PI),
        y: shift_lat(x, y) * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI),
    }
}

/// WGS84 → GCJ-02 (lon, lat in degrees).
pub fn wgs84_to_gcj02(c: Coord) -> Coord {
    if !in_china(c) {
        return c;
    }
    let d = offset(c);
    Coord {
        x: c.x + d.x,
        y: c.y + d.y,
    }
}

/// GCJ-02 → WGS84, by fixed-point iteration of the forward offset.
pub fn gcj02_to_wgs84(g: Coord) -> Coord {
    if !in_china(g) {
        return g;
    }
    let mut w = g;
    for _ in 0..30 {
        let f = wgs84_to_gcj02(w);
        let next = Coord {
            x: w.x - (f.x - g.x),
            y: w.y - (f.y - g.y),
        };
        let moved = (next.x - w.x).abs().max((next.y - w.y).abs());
        w = next;
        if moved < 1e-9 {
            break;
        }
    }
    w
}

/// GCJ-02 → BD-09 (Baidu's forward formula).
pub fn gcj02_to_bd09(g: Coord) -> Coord {
    let z = (g.x * g.x + g.y * g.y).sqrt() + 0.000_02 * (g.y * X_PI).sin();
    let theta = g.y.atan2(g.x) + 0.000_003 * (g.x * X_PI).cos();
    Coord {
        x: z * theta.cos() + 0.0065,
        y: z * theta.sin() + 0.006,
    }
}

/// BD-09 → GCJ-02: Baidu's closed-form inverse (good to about a decimetre), refined by fixed-point
/// iteration of the forward formula to under a millimetre.
pub fn bd09_to_gcj02(b: Coord) -> Coord {
    let (x, y) = (b.x - 0.0065, b.y - 0.006);
    let z = (x * x + y * y).sqrt() - 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
    let mut g = Coord {
        x: z * theta.cos(),
        y: z * theta.sin(),
    };
    for _ in 0..10 {
        let f = gcj02_to_bd09(g);
        let (dx, dy) = (f.x - b.x, f.y - b.y);
        g = Coord {
            x: g.x - dx,
            y: g.y - dy,
        };
        if dx.abs().max(dy.abs()) < 1e-10 {
            break;
        }
    }
    g
}

/// BD-09 → WGS84.
pub fn bd09_to_wgs84(b: Coord) -> Coord {
    gcj02_to_wgs84(bd09_to_gcj02(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres between two lon/lat points (equirectangular: fine at these distances).
    fn metres(a: Coord, b: Coord) -> f64 {
        let k = 6_371_000.0 * std::f64::consts::PI / 180.0;
        let dx = (a.x - b.x) * k * (a.y.to_radians()).cos();
        let dy = (a.y - b.y) * k;
        dx.hypot(dy)
    }

    /// Published reference pairs (WGS84, GCJ-02) of the widely used open implementations: Shanghai,
    /// Shenzhen, Beijing.
    const WGS_GCJ: [(f64, f64, f64, f64); 3] = [
        (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
        (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
        (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    ];

    #[test]
    fn gcj02_matches_published_reference_points_within_half_a_metre() {
        for (wx, wy, gx, gy) in WGS_GCJ {
            let w = Coord { x: wx, y: wy };
            let g = Coord { x: gx, y: gy };
            assert!(metres(wgs84_to_gcj02(w), g) < 0.5, "forward {w:?}");
            assert!(metres(gcj02_to_wgs84(g), w) < 0.5, "inverse {g:?}");
            // The inverse is exact against our own forward function.
            assert!(metres(wgs84_to_gcj02(gcj02_to_wgs84(g)), g) < 0.001);
        }
    }

    #[test]
    fn bd09_matches_a_published_reference_point_within_half_a_metre() {
        // One position in WGS84, GCJ-02 and BD-09 as an open conversion tool publishes it (Jiaxing).
        let w = Coord {
            x: 121.0917077,
            y: 30.6107779,
        };
        let g = Coord {
            x: 121.09626935575027,
            y: 30.608604331756705,
        };
        let b = Coord {
            x: 121.10271732371203,
            y: 30.61484572185035,
        };
        assert!(metres(wgs84_to_gcj02(w), g) < 0.5);
        assert!(metres(bd09_to_gcj02(b), g) < 0.5, "{:?}", bd09_to_gcj02(b));
        assert!(metres(bd09_to_wgs84(b), w) < 0.5, "{:?}", bd09_to_wgs84(b));
    }

    #[test]
    fn outside_china_nothing_moves() {
        let p = Coord { x: 2.35, y: 48.85 };
        assert_eq!(gcj02_to_wgs84(p), p);
        assert_eq!(wgs84_to_gcj02(p), p);
    }
}
