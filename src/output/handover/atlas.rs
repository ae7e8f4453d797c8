//! The atlas (网格图册) as a PDF: a page per community (A4 landscape; A3 for a community of many
//! grids), its grids drawn in the working CRS (metres, north up) and coloured by status, each labelled
//! with its name and code, with a scale bar, a north arrow, a legend and a table of its grids (code,
//! 四至, households, worker). A table longer than the page goes on over further pages. The text is set
//! in the CJK font as real text (searchable, copyable), the font subset and embedded.

use super::font::CjkFont;
use crate::ops::handover::{CommunityPart, GridEntry, GridStatus, Handover, TownPart};
use geo::{BoundingRect, InteriorPoint, MultiPolygon};
use krilla::Document;
use krilla::color::rgb;
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;

/// A4 and A3, landscape, in points.
const A4: (f32, f32) = (841.89, 595.28);
const A3: (f32, f32) = (1190.55, 841.89);
/// A community of more grids than this gets an A3 page: room for its map and its table.
const A3_FROM_GRIDS: usize = 14;
const MARGIN: f32 = 28.0;
/// Height of the title block at the top of a page.
const TITLE_H: f32 = 46.0;
/// Height of the footer line.
const FOOTER_H: f32 = 16.0;
/// The map's share of the page width on a community's first page; the table takes the rest.
const MAP_SHARE: f32 = 0.56;
const TABLE_SIZE: f32 = 7.5;
const HEADER_SIZE: f32 = 8.0;
const CELL_PAD: f32 = 3.0;

type Rgb = (u8, u8, u8);
const INK: Rgb = (30, 30, 30);
const GREY: Rgb = (110, 110, 110);
const RULE: Rgb = (170, 170, 170);
const HEADER_BG: Rgb = (221, 235, 247);
const LAND: Rgb = (245, 245, 240);

fn status_colour(s: GridStatus) -> Rgb {
    match s {
        GridStatus::InBand => (204, 235, 197),
        GridStatus::Under => (255, 237, 160),
        GridStatus::Over => (251, 180, 174),
        GridStatus::Exempt => (179, 205, 227),
        GridStatus::Unknown => (222, 222, 222),
    }
}

fn fill(c: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::EvenOdd,
    }
}

fn stroke(c: Rgb, width: f32) -> Stroke {
    Stroke {
        paint: rgb::Color::new(c.0, c.1, c.2).into(),
        width,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }
}

/// The atlas's bytes.
pub fn atlas_pdf(h: &Handover, font: &CjkFont) -> Result<Vec<u8>, KrillaError> {
    let mut doc = Document::new();
    let title = match &h.district {
        Some(d) => format!("{d} 网格图册"),
        None => "网格图册".to_string(),
    };
    doc.set_metadata(
        Metadata::new()
            .title(title.clone())
            .creator("gridplan".to_string())
            .language("zh-CN".to_string()),
    );
    let mut page_no = 0usize;
    for (town, community) in h.communities() {
        let size = if community.grids.len() > A3_FROM_GRIDS {
            A3
        } else {
            A4
        };
        let pen = Pen { font };
        let rows: Vec<Row> = community.grids.iter().map(Row::of).collect();
        // The first page: title, map, and as much of the table as fits beside it.
        page_no += 1;
        let mut next = {
            let Some(settings) = PageSettings::from_wh(size.0, size.1) else {
                continue;
            };
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            let top = pen.title(&mut s, size, town, community, false);
            let map_w = (size.0 - 2.0 * MARGIN) * MAP_SHARE;
            let frame = Frame {
                x: MARGIN,
                y: top,
                w: map_w,
                h: size.1 - top - MARGIN - FOOTER_H,
            };
            pen.map(&mut s, frame, community);
            let table_x = MARGIN + map_w + 14.0;
            let drawn = pen.table(
                &mut s,
                table_x,
                top,
                size.0 - MARGIN - table_x,
                size.1 - MARGIN - FOOTER_H,
                &rows,
                0,
            );
            pen.footer(&mut s, size, &title, page_no, h.contacts);
            s.finish();
            page.finish();
            drawn
        };
        // Further pages for the rest of a long table, the full width of the page.
        while next < rows.len() {
            page_no += 1;
            let Some(settings) = PageSettings::from_wh(size.0, size.1) else {
                break;
            };
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            let top = pen.title(&mut s, size, town, community, true);
            let drawn = pen.table(
                &mut s,
                MARGIN,
                top,
                size.0 - 2.0 * MARGIN,
                size.1 - MARGIN - FOOTER_H,
                &rows,
                next,
            );
            pen.footer(&mut s, size, &title, page_no, h.contacts);
            s.finish();
            page.finish();
            // A row taller than a whole page is drawn cut rather than looping forever.
            next = drawn.max(next + 1);
        }
    }
    if page_no == 0 {
        // No grids at all: one page that says so, rather than a file no reader opens.
        if let Some(settings) = PageSettings::from_wh(A4.0, A4.1) {
            let mut page = doc.start_page_with(settings);
            let mut s = page.surface();
            let pen = Pen { font };
            pen.text(&mut s, MARGIN, MARGIN + 20.0, 16.0, INK, &title);
            pen.text(&mut s, MARGIN, MARGIN + 44.0, 10.0, GREY, "没有网格。");
            s.finish();
            page.finish();
        }
    }
    doc.finish()
}

/// A table row: what its cells say.
struct Row {
    code: String,
    name: String,
    bounds: String,
    households: String,
    worker: String,
}

impl Row {
    fn of(g: &GridEntry) -> Row {
        Row {
            code: g.id.clone(),
            name: g.name.clone().unwrap_or_default(),
            bounds: if g.bounds.is_empty() {
                "（未描述）".to_string()
            } else {
                g.bounds.clone()
            },
            households: thousands(g.households),
            worker: g.worker.as_ref().map(|w| w.label()).unwrap_or_default(),
        }
    }
}

/// Where the map goes on the page.
#[derive(Clone, Copy)]
struct Frame {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// Draws with the font.
struct Pen<'a> {
    font: &'a CjkFont,
}

impl Pen<'_> {
    fn text(&self, s: &mut Surface, x: f32, baseline: f32, size: f32, colour: Rgb, text: &str) {
        if text.is_empty() {
            return;
        }
        s.set_stroke(None);
        s.set_fill(Some(fill(colour)));
        s.draw_text(
            Point::from_xy(x, baseline),
            self.font.font.clone(),
            size,
            text,
            false,
            TextDirection::Auto,
        );
    }

    fn centred(&self, s: &mut Surface, x: f32, baseline: f32, size: f32, colour: Rgb, text: &str) {
        let w = self.font.width(text, size);
        self.text(s, x - w / 2.0, baseline, size, colour, text);
    }

    fn rect(
        &self,
        s: &mut Surface,
        (x, y, w, h): (f32, f32, f32, f32),
        paint: Option<Rgb>,
        line: Option<(Rgb, f32)>,
    ) {
        let mut pb = PathBuilder::new();
        pb.move_to(x, y);
        pb.line_to(x + w, y);
        pb.line_to(x + w, y + h);
        pb.line_to(x, y + h);
        pb.close();
        if let Some(path) = pb.finish() {
            s.set_fill(paint.map(fill));
            s.set_stroke(line.map(|(c, w)| stroke(c, w)));
            s.draw_path(&path);
        }
    }

    /// The title block; returns where the content below it starts.
    fn title(
        &self,
        s: &mut Surface,
        size: (f32, f32),
        town: &TownPart,
        c: &CommunityPart,
        continued: bool,
    ) -> f32 {
        let households: u64 = c.grids.iter().map(|g| g.households).sum();
        let population: Option<u64> = c.grids.iter().map(|g| g.population).sum();
        let area: f64 = c.grids.iter().map(|g| g.area_m2).sum();
        let mut head = format!("{} {} 网格图", town.name, c.name);
        if continued {
            head.push_str("（网格表续）");
        }
        self.text(s, MARGIN, MARGIN + 16.0, 16.0, INK, &head);
        let mut sub = format!(
            "社区（村）编码 {}　网格 {} 个　户数 {}",
            c.code,
            c.grids.len(),
            thousands(households)
        );
        if let Some(p) = population {
            sub.push_str(&format!("　人口 {}", thousands(p)));
        }
        sub.push_str(&format!("　面积 {:.3} 平方公里", area / 1e6));
        if let Some(k) = &c.kind {
            let kind = match k.as_str() {
                "urban" => "城市社区",
                "rural" => "农村",
                other => other,
            };
            sub.push_str(&format!("　类型 {kind}"));
        }
        self.text(s, MARGIN, MARGIN + 32.0, 8.5, GREY, &sub);
        let y = MARGIN + TITLE_H - 6.0;
        let mut pb = PathBuilder::new();
        pb.move_to(MARGIN, y);
        pb.line_to(size.0 - MARGIN, y);
        if let Some(p) = pb.finish() {
            s.set_fill(None);
            s.set_stroke(Some(stroke(RULE, 0.6)));
            s.draw_path(&p);
        }
        MARGIN + TITLE_H
    }

    fn footer(&self, s: &mut Surface, size: (f32, f32), title: &str, page: usize, contacts: bool) {
        let y = size.1 - MARGIN + 4.0;
        let mut left = format!("{title}　由 gridplan 生成");
        if contacts {
            left.push_str("　含网格员姓名、电话：个人信息，仅供规划人员使用，勿公开");
        }
        self.text(s, MARGIN, y, 7.0, GREY, &left);
        let right = format!("第 {page} 页");
        let w = self.font.width(&right, 7.0);
        self.text(s, size.0 - MARGIN - w, y, 7.0, GREY, &right);
    }

    /// The community's map in `frame`: its outline, its grids by status, labels, north arrow, scale
    /// bar and legend.
    fn map(&self, s: &mut Surface, frame: Frame, c: &CommunityPart) {
        self.rect(
            s,
            (frame.x, frame.y, frame.w, frame.h),
            Some((255, 255, 255)),
            Some((RULE, 0.6)),
        );
        let mut shapes: Vec<&MultiPolygon> = c.grids.iter().map(|g| &g.geometry).collect();
        if let Some(o) = &c.outline {
            shapes.push(o);
        }
        let Some(bounds) = shapes
            .iter()
            .filter_map(|m| m.bounding_rect())
            .reduce(|a, b| {
                geo::Rect::new(
                    geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                    geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
                )
            })
        else {
            return;
        };
        // Room for the legend below the drawing.
        let legend_h = 30.0;
        let inner = Frame {
            x: frame.x + 12.0,
            y: frame.y + 12.0,
            w: frame.w - 24.0,
            h: frame.h - 24.0 - legend_h,
        };
        let (bw, bh) = (bounds.width().max(1.0), bounds.height().max(1.0));
        let scale = (inner.w as f64 / bw).min(inner.h as f64 / bh);
        let ox = inner.x as f64 + (inner.w as f64 - bw * scale) / 2.0;
        let oy = inner.y as f64 + (inner.h as f64 - bh * scale) / 2.0;
        let (minx, maxy) = (bounds.min().x, bounds.max().y);
        let at = |x: f64, y: f64| -> (f32, f32) {
            (
                (ox + (x - minx) * scale) as f32,
                (oy + (maxy - y) * scale) as f32,
            )
        };
        let path_of = |m: &MultiPolygon| {
            let mut pb = PathBuilder::new();
            for p in &m.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    for (i, c) in ring.0.iter().enumerate() {
                        let (x, y) = at(c.x, c.y);
                        if i == 0 {
                            pb.move_to(x, y);
                        } else {
                            pb.line_to(x, y);
                        }
                    }
                    pb.close();
                }
            }
            pb.finish()
        };
        if let Some(p) = c.outline.as_ref().and_then(path_of) {
            s.set_fill(Some(fill(LAND)));
            s.set_stroke(None);
            s.draw_path(&p);
        }
        for g in &c.grids {
            if let Some(p) = path_of(&g.geometry) {
                s.set_fill(Some(fill(status_colour(g.status))));
                s.set_stroke(Some(stroke(GREY, 0.5)));
                s.draw_path(&p);
            }
        }
        if let Some(p) = c.outline.as_ref().and_then(path_of) {
            s.set_fill(None);
            s.set_stroke(Some(stroke(INK, 1.4)));
            s.draw_path(&p);
        }
        // Labels: the name over the code, at a point inside each grid, sized to the grid.
        for g in &c.grids {
            let Some(pt) = g.geometry.interior_point() else {
                continue;
            };
            let (x, y) = at(pt.x(), pt.y());
            let across = g
                .geometry
                .bounding_rect()
                .map_or(40.0, |r| (r.width() * scale) as f32);
            let name = g.name.as_deref().unwrap_or("");
            let wide = self.font.width(name, 1.0).max(self.font.width(&g.id, 0.85));
            let size = if wide > 0.0 {
                (across * 0.9 / wide).clamp(4.0, 8.0)
            } else {
                6.0
            };
            if name.is_empty() {
                self.centred(s, x, y + size * 0.35, size * 0.85, INK, &g.id);
            } else {
                self.centred(s, x, y - size * 0.1, size, INK, name);
                self.centred(s, x, y + size * 0.95, size * 0.85, GREY, &g.id);
            }
        }
        self.north_arrow(s, frame.x + frame.w - 22.0, frame.y + 14.0);
        self.scale_bar(s, frame, scale);
        self.legend(s, frame, c);
    }

    fn north_arrow(&self, s: &mut Surface, x: f32, top: f32) {
        self.centred(s, x, top + 8.0, 9.0, INK, "北");
        let (y0, y1) = (top + 12.0, top + 36.0);
        let mut left = PathBuilder::new();
        left.move_to(x, y0);
        left.line_to(x - 6.0, y1);
        left.line_to(x, y1 - 6.0);
        left.close();
        let mut right = PathBuilder::new();
        right.move_to(x, y0);
        right.line_to(x + 6.0, y1);
        right.line_to(x, y1 - 6.0);
        right.close();
        if let (Some(l), Some(r)) = (left.finish(), right.finish()) {
            s.set_stroke(Some(stroke(INK, 0.6)));
            s.set_fill(Some(fill(INK)));
            s.draw_path(&l);
            s.set_fill(Some(fill((255, 255, 255))));
            s.draw_path(&r);
        }
    }

    /// A bar of a round length (1, 2 or 5 × 10ⁿ metres) about a fifth of the frame wide.
    fn scale_bar(&self, s: &mut Surface, frame: Frame, pt_per_m: f64) {
        if !(pt_per_m.is_finite() && pt_per_m > 0.0) {
            return;
        }
        let metres = nice_length(frame.w as f64 / 5.0 / pt_per_m);
        let len = (metres * pt_per_m) as f32;
        let x = frame.x + frame.w - 14.0 - len;
        let y = frame.y + frame.h - 18.0;
        let half = len / 2.0;
        self.rect(s, (x, y, half, 4.0), Some(INK), Some((INK, 0.5)));
        self.rect(
            s,
            (x + half, y, half, 4.0),
            Some((255, 255, 255)),
            Some((INK, 0.5)),
        );
        self.centred(s, x, y - 3.0, 6.5, INK, "0");
        let label = if metres >= 1000.0 {
            format!("{} 公里", trim_number(metres / 1000.0))
        } else {
            format!("{} 米", trim_number(metres))
        };
        self.centred(s, x + len, y - 3.0, 6.5, INK, &label);
    }

    fn legend(&self, s: &mut Surface, frame: Frame, c: &CommunityPart) {
        let mut entries: Vec<GridStatus> =
            vec![GridStatus::InBand, GridStatus::Under, GridStatus::Over];
        for extra in [GridStatus::Exempt, GridStatus::Unknown] {
            if c.grids.iter().any(|g| g.status == extra) {
                entries.push(extra);
            }
        }
        let label = |st: GridStatus| match st {
            GridStatus::InBand => "符合标准",
            GridStatus::Under => "户数偏少",
            GridStatus::Over => "户数偏多",
            GridStatus::Exempt => "专属网格",
            GridStatus::Unknown => "无法判定",
        };
        let y = frame.y + frame.h - 22.0;
        let mut x = frame.x + 12.0;
        for st in entries {
            self.rect(
                s,
                (x, y, 12.0, 8.0),
                Some(status_colour(st)),
                Some((GREY, 0.5)),
            );
            self.text(s, x + 15.0, y + 7.0, 7.0, INK, label(st));
            x += 15.0 + self.font.width(label(st), 7.0) + 10.0;
        }
        // The community's boundary line.
        let mut pb = PathBuilder::new();
        pb.move_to(x, y + 4.0);
        pb.line_to(x + 14.0, y + 4.0);
        if let Some(p) = pb.finish() {
            s.set_fill(None);
            s.set_stroke(Some(stroke(INK, 1.4)));
            s.draw_path(&p);
        }
        self.text(s, x + 17.0, y + 7.0, 7.0, INK, "社区（村）界");
    }

    /// Draws rows `from..` of the table in the box from (`x`, `top`), `width` wide, down to `bottom`;
    /// returns the index of the first row not drawn.
    #[allow(clippy::too_many_arguments)]
    fn table(
        &self,
        s: &mut Surface,
        x: f32,
        top: f32,
        width: f32,
        bottom: f32,
        rows: &[Row],
        from: usize,
    ) -> usize {
        let f = self.font;
        let headers = ["网格编码 / 名称", "四至", "户数", "网格员"];
        let col = |texts: &mut dyn Iterator<Item = &str>, header: &str| {
            texts
                .map(|t| f.width(t, TABLE_SIZE))
                .fold(f.width(header, HEADER_SIZE), f32::max)
                + 2.0 * CELL_PAD
        };
        let code_w = col(&mut rows.iter().map(|r| r.code.as_str()), headers[0]).min(width * 0.3);
        let hh_w = col(&mut rows.iter().map(|r| r.households.as_str()), headers[2]);
        let worker_w =
            col(&mut rows.iter().map(|r| r.worker.as_str()), headers[3]).min(width * 0.28);
        let bounds_w = (width - code_w - hh_w - worker_w).max(40.0);
        let widths = [code_w, bounds_w, hh_w, worker_w];
        let lead = TABLE_SIZE * 1.3;
        // Header.
        let header_h = HEADER_SIZE * 1.3 + 2.0 * CELL_PAD;
        self.rect(
            s,
            (x, top, width, header_h),
            Some(HEADER_BG),
            Some((RULE, 0.5)),
        );
        let mut cx = x;
        for (h, w) in headers.iter().zip(widths) {
            self.text(
                s,
                cx + CELL_PAD,
                top + CELL_PAD + HEADER_SIZE,
                HEADER_SIZE,
                INK,
                h,
            );
            cx += w;
        }
        let mut y = top + header_h;
        let inner = |w: f32| (w - 2.0 * CELL_PAD).max(10.0);
        for (i, r) in rows.iter().enumerate().skip(from) {
            let mut code_lines = vec![r.code.clone()];
            code_lines.extend(
                f.wrap(&r.name, TABLE_SIZE, inner(code_w))
                    .into_iter()
                    .filter(|l| !l.is_empty()),
            );
            let cells = [
                code_lines,
                f.wrap(&r.bounds, TABLE_SIZE, inner(bounds_w)),
                vec![r.households.clone()],
                f.wrap(&r.worker, TABLE_SIZE, inner(worker_w)),
            ];
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = lines as f32 * lead + 2.0 * CELL_PAD;
            if y + h > bottom && i > from {
                return i;
            }
            if i % 2 == 1 {
                self.rect(s, (x, y, width, h), Some((248, 248, 248)), None);
            }
            let mut cx = x;
            for (c, (cell, w)) in cells.iter().zip(widths).enumerate() {
                for (l, line) in cell.iter().enumerate() {
                    let baseline = y + CELL_PAD + TABLE_SIZE + l as f32 * lead;
                    let colour = if c == 0 && l > 0 { GREY } else { INK };
                    if c == 2 {
                        // Counts align right.
                        let lw = f.width(line, TABLE_SIZE);
                        self.text(
                            s,
                            cx + w - CELL_PAD - lw,
                            baseline,
                            TABLE_SIZE,
                            colour,
                            line,
                        );
                    } else {
                        self.text(s, cx + CELL_PAD, baseline, TABLE_SIZE, colour, line);
                    }
                }
                cx += w;
            }
            let mut pb = PathBuilder::new();
            pb.move_to(x, y + h);
            pb.line_to(x + width, y + h);
            if let Some(p) = pb.finish() {
                s.set_fill(None);
                s.set_stroke(Some(stroke(RULE, 0.4)));
                s.draw_path(&p);
            }
            y += h;
        }
        rows.len()
    }
}

/// The round length (1, 2 or 5 × 10ⁿ) at most `at_most`.
fn nice_length(at_most: f64) -> f64 {
    if !(at_most.is_finite() && at_most > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(at_most.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&l| l <= at_most)
        .unwrap_or(p)
}

/// A number without trailing zeros (0.5, 2, 20).
fn trim_number(v: f64) -> String {
    let t = format!("{v:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// 12,345.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_bar_lengths_are_round() {
        assert_eq!(nice_length(730.0), 500.0);
        assert_eq!(nice_length(1_999.0), 1_000.0);
        assert_eq!(nice_length(2_000.0), 2_000.0);
        assert_eq!(nice_length(0.3), 0.2);
        assert_eq!(trim_number(0.5), "0.5");
        assert_eq!(trim_number(2.0), "2");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
