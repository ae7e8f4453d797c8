//! The grid ledger (网格台账) as an .xlsx workbook: a summary sheet with a row per community, then a
//! sheet per town with a row per grid. Chinese headers, the header row frozen, columns sized to their
//! text, numbers as numbers (households, population, km²) so that the sheet sums and sorts them.

use crate::ops::handover::{CommunityPart, Handover};
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::BTreeSet;

/// The summary sheet's name.
pub const SUMMARY_SHEET: &str = "社区汇总";

/// The ledger's bytes.
pub fn ledger_xlsx(h: &Handover) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let formats = Formats::new();
    let mut names = BTreeSet::new();
    names.insert(SUMMARY_SHEET.to_string());
    summary_sheet(book.add_worksheet(), h, &formats)?;
    let with_ids = h
        .communities()
        .any(|(_, c)| c.grids.iter().any(|g| g.worker.is_some()));
    for town in &h.towns {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(&town.name, &town.code, &mut names))?;
        let mut header = vec![
            "网格编码",
            "网格名称",
            "所属社区",
            "四至",
            "户数",
            "人口",
            "面积（平方公里）",
            "状态",
        ];
        if with_ids {
            header.push("网格员编号");
        }
        if h.contacts {
            header.extend(["网格员姓名", "联系电话"]);
        }
        let mut table = Table::new(sheet, &formats, &header)?;
        for c in &town.communities {
            for g in &c.grids {
                table.text(&g.id)?;
                table.text(g.name.as_deref().unwrap_or(""))?;
                table.text(&c.name)?;
                table.text(&g.bounds)?;
                table.count(Some(g.households))?;
                table.count(g.population)?;
                table.km2(g.area_m2)?;
                table.text(g.status.zh())?;
                let w = g.worker.as_ref();
                if with_ids {
                    table.text(w.map_or("", |w| w.id.as_str()))?;
                }
                if h.contacts {
                    let contact = w.map(|w| &w.contact);
                    table.text(contact.and_then(|c| c.name.as_deref()).unwrap_or(""))?;
                    table.text(contact.and_then(|c| c.phone.as_deref()).unwrap_or(""))?;
                }
                table.end_row();
            }
        }
        table.finish()?;
    }
    book.save_to_buffer()
}

fn summary_sheet(sheet: &mut Worksheet, h: &Handover, formats: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(SUMMARY_SHEET)?;
    let header = [
        "街道（乡镇）",
        "社区（村）编码",
        "社区（村）名称",
        "网格数",
        "户数",
        "人口",
        "面积（平方公里）",
        "符合标准网格",
        "不符合标准网格",
        "网格员人数",
    ];
    let mut table = Table::new(sheet, formats, &header)?;
    let (mut grids, mut households, mut population, mut area, mut fine, mut off) =
        (0usize, 0u64, Some(0u64), 0.0f64, 0usize, 0usize);
    let mut all_workers = BTreeSet::new();
    for (town, c) in h.communities() {
        let figures = Figures::of(c);
        table.text(&town.name)?;
        table.text(&c.code)?;
        table.text(&c.name)?;
        table.count(Some(c.grids.len() as u64))?;
        table.count(Some(figures.households))?;
        table.count(figures.population)?;
        table.km2(figures.area_m2)?;
        table.count(Some(figures.fine as u64))?;
        table.count(Some(figures.off as u64))?;
        table.count(Some(figures.workers.len() as u64))?;
        table.end_row();
        grids += c.grids.len();
        households += figures.households;
        population = population.zip(figures.population).map(|(a, b)| a + b);
        area += figures.area_m2;
        fine += figures.fine;
        off += figures.off;
        all_workers.extend(figures.workers);
    }
    table.bold = true;
    table.text("合计")?;
    table.text("")?;
    table.text(h.district.as_deref().unwrap_or(""))?;
    table.count(Some(grids as u64))?;
    table.count(Some(households))?;
    table.count(population)?;
    table.km2(area)?;
    table.count(Some(fine as u64))?;
    table.count(Some(off as u64))?;
    table.count(Some(all_workers.len() as u64))?;
    table.end_row();
    table.finish()
}

/// A community's totals.
struct Figures<'a> {
    households: u64,
    population: Option<u64>,
    area_m2: f64,
    fine: usize,
    off: usize,
    workers: BTreeSet<&'a str>,
}

impl<'a> Figures<'a> {
    fn of(c: &'a CommunityPart) -> Figures<'a> {
        let fine = c.grids.iter().filter(|g| g.status.fine()).count();
        Figures {
            households: c.grids.iter().map(|g| g.households).sum(),
            population: c.grids.iter().map(|g| g.population).sum(),
            area_m2: c.grids.iter().map(|g| g.area_m2).sum(),
            fine,
            off: c.grids.len() - fine,
            workers: c
                .grids
                .iter()
                .filter_map(|g| g.worker.as_ref().map(|w| w.id.as_str()))
                .collect(),
        }
    }
}

struct Formats {
    header: Format,
    text: Format,
    bold: Format,
    count: Format,
    count_bold: Format,
    km2: Format,
    km2_bold: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(0xBFBFBF));
        Formats {
            header: cell
                .clone()
                .set_bold()
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            text: cell.clone(),
            bold: cell.clone().set_bold(),
            count: cell.clone().set_num_format("#,##0"),
            count_bold: cell.clone().set_num_format("#,##0").set_bold(),
            km2: cell.clone().set_num_format("0.000"),
            km2_bold: cell.set_num_format("0.000").set_bold(),
        }
    }
}

/// A sheet filled row by row, each column's width kept to its widest text.
struct Table<'a> {
    sheet: &'a mut Worksheet,
    formats: &'a Formats,
    row: u32,
    col: u16,
    widths: Vec<f64>,
    bold: bool,
}

/// Widest a column grows, in characters (四至 runs long: the rest wraps in the cell's view).
const MAX_WIDTH: f64 = 60.0;

impl<'a> Table<'a> {
    fn new(
        sheet: &'a mut Worksheet,
        formats: &'a Formats,
        header: &[&str],
    ) -> Result<Table<'a>, XlsxError> {
        for (c, h) in header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &formats.header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.set_repeat_rows(0, 0)?;
        sheet.set_landscape();
        Ok(Table {
            sheet,
            formats,
            row: 1,
            col: 0,
            widths: header.iter().map(|h| display_width(h) + 2.0).collect(),
            bold: false,
        })
    }

    fn widen(&mut self, text: &str) {
        let w = display_width(text) + 2.0;
        if let Some(c) = self.widths.get_mut(self.col as usize) {
            *c = c.max(w).min(MAX_WIDTH);
        }
    }

    fn text(&mut self, text: &str) -> Result<(), XlsxError> {
        self.widen(text);
        let f = if self.bold {
            &self.formats.bold
        } else {
            &self.formats.text
        };
        self.sheet
            .write_string_with_format(self.row, self.col, text, f)?;
        self.col += 1;
        Ok(())
    }

    /// A count, or 未知 when it is not known.
    fn count(&mut self, n: Option<u64>) -> Result<(), XlsxError> {
        match n {
            Some(n) => {
                self.widen(&format!("{n},"));
                let f = if self.bold {
                    &self.formats.count_bold
                } else {
                    &self.formats.count
                };
                self.sheet
                    .write_number_with_format(self.row, self.col, n as f64, f)?;
                self.col += 1;
                Ok(())
            }
            None => self.text("未知"),
        }
    }

    fn km2(&mut self, area_m2: f64) -> Result<(), XlsxError> {
        let km2 = area_m2 / 1e6;
        self.widen(&format!("{km2:.3}"));
        let f = if self.bold {
            &self.formats.km2_bold
        } else {
            &self.formats.km2
        };
        self.sheet
            .write_number_with_format(self.row, self.col, km2, f)?;
        self.col += 1;
        Ok(())
    }

    fn end_row(&mut self) {
        self.row += 1;
        self.col = 0;
    }

    fn finish(self) -> Result<(), XlsxError> {
        for (c, w) in self.widths.iter().enumerate() {
            self.sheet.set_column_width(c as u16, *w)?;
        }
        let last_col = self.widths.len().saturating_sub(1) as u16;
        if self.row > 1 {
            self.sheet.autofilter(0, 0, self.row - 1, last_col)?;
        }
        Ok(())
    }
}

/// Width of text in spreadsheet characters: a CJK character takes two.
fn display_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2.0 } else { 1.0 })
        .sum::<f64>()
        * 1.1
}

/// A sheet name Excel accepts (at most 31 characters, none of `[]:*?/\`), unique in the workbook: the
/// town's name, else its code, with the code added when two towns share a name.
fn sheet_name(name: &str, code: &str, taken: &mut BTreeSet<String>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
            .collect::<String>()
            .trim_matches('\'')
            .chars()
            .take(31)
            .collect()
    };
    let mut candidate = clean(name);
    if candidate.trim().is_empty() {
        candidate = clean(code);
    }
    if candidate.trim().is_empty() {
        candidate = "网格".to_string();
    }
    let mut n = 1;
    let base = candidate.clone();
    while taken.contains(&candidate.to_lowercase()) {
        n += 1;
        let suffix = if code.is_empty() || n > 2 {
            format!(" ({n})")
        } else {
            format!(" {code}")
        };
        let keep = 31usize.saturating_sub(suffix.chars().count());
        candidate = base.chars().take(keep).collect::<String>() + &suffix;
    }
    taken.insert(candidate.to_lowercase());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_legal_and_unique() {
        let mut taken = BTreeSet::new();
        taken.insert(SUMMARY_SHEET.to_lowercase());
        assert_eq!(sheet_name("雄州街道", "320116001", &mut taken), "雄州街道");
        assert_eq!(
            sheet_name("雄州街道", "320116002", &mut taken),
            "雄州街道 320116002"
        );
        assert_eq!(sheet_name("a/b[c]", "1", &mut taken), "a_b_c_");
        assert_eq!(sheet_name("", "", &mut taken), "网格");
        let long = "长".repeat(40);
        let n = sheet_name(&long, "9", &mut taken);
        assert!(n.chars().count() <= 31);
        assert_eq!(sheet_name(SUMMARY_SHEET, "", &mut taken), "社区汇总 (2)");
    }
}
