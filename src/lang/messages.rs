//! The message catalogue: every sentence gridplan says to people about the data (violations, notes,
//! warnings, refusals), in English and in Chinese side by side. A message is a [`Key`] (its kind) with
//! named arguments; [`Msg::text`] fills the template of either language. The files written keep the
//! English in `message` (scripts rely on it) and add the Chinese beside it (`message_zh`); the terminal
//! and the map page say the language of the reader.
//!
//! Adding a message means adding one line to [`catalogue!`]'s list with both texts: the unit tests
//! refuse a Chinese text that is empty, equal to the English, without Chinese characters, or naming
//! other arguments than the English.

use super::Lang;
use std::fmt::Display;

/// Declares [`Key`] and its two templates per language; `{name}` in a template is an argument.
macro_rules! catalogue {
    ($( $(#[doc = $doc:literal])* $key:ident : $en:literal , $zh:literal ; )*) => {
        /// The kind of a message: what is said, whatever the language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Key {
            $( $(#[doc = $doc])* $key, )*
        }

        impl Key {
            /// Every message kind.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];

            /// The template of the message in `lang`; `{name}` marks an argument.
            pub fn template(self, lang: Lang) -> &'static str {
                match self {
                    $( Key::$key => match lang { Lang::En => $en, Lang::Zh => $zh }, )*
                }
            }
        }
    };
}

catalogue! {
    // ── The check: one per broken rule ─────────────────────────────────────────────────────────
    /// A grid with fewer households than the band.
    BandUnder: "{households} households, under the minimum of {min}",
        "{households} 户，低于下限 {min} 户";
    /// A grid with more households than the band.
    BandOver: "{households} households, over the maximum of {max}",
        "{households} 户，超过上限 {max} 户";
    /// A grid with fewer residents than the population band.
    PopulationUnder: "{population} residents, under the population minimum of {min}",
        "{population} 人，低于人口下限 {min} 人";
    /// A grid with more residents than the population band.
    PopulationOver: "{population} residents, over the population maximum of {max}",
        "{population} 人，超过人口上限 {max} 人";
    /// A grid past the population alert.
    PopulationAlert: "{population} residents, above the alert of {alert}",
        "{population} 人，超过提示线 {alert} 人";
    /// A grid without households.
    EmptyGrid: "no households", "网格内没有住户";
    /// A grid id written in digits that is not a standard code.
    CodeNotStandard: "grid code {id} is not a standard code: 12- or 15-digit community code followed by a 3-digit number from 001",
        "网格编码 {id} 不是标准编码：应为 12 位或 15 位社区代码加 3 位顺序号（从 001 起）";
    /// A standard grid code naming another community than the grid's own.
    CodeOtherCommunity: "grid code {id} names community {community}, but the grid lies in {leaf}",
        "网格编码 {id} 指向社区 {community}，但网格位于 {leaf}";
    /// A grid lying outside every leaf.
    OutsideLeaves: "the grid lies outside every leaf", "网格不在任何社区（村）范围内";
    /// A grid reaching outside its leaf: how much and where into (a list of [`Key::AreaOf`] and
    /// [`Key::NoLeafArea`]).
    CrossesLeaf: "reaches {area} m² outside its leaf {leaf}, into {into}",
        "有 {area} m² 超出所属社区 {leaf}，伸入 {into}";
    /// One place with an area, in a list.
    AreaOf: "{what} ({area} m²)", "{what}（面积 {area} m²）";
    /// Land in no leaf, in a list.
    NoLeafArea: "no leaf ({area} m²)", "辖区外（{area} m²）";
    /// A grid in separate parts.
    MultiPart: "the grid has {parts} separate parts", "网格分成 {parts} 块互不相连";
    /// A leaf no grid covers.
    LeafWithoutGrid: "no grid covers this leaf", "没有网格覆盖这个社区（村）";
    /// Land of a leaf in no grid.
    Gap: "{area} m² of the leaf ({share} %) lie in no grid",
        "社区（村）内有 {area} m²（占 {share} %）不在任何网格内";
    /// Land of a leaf in two or more grids.
    Overlap: "{area} m² of the leaf lie in two or more grids",
        "社区（村）内有 {area} m² 同时划入两个或更多网格";
    /// Households of a leaf in no grid.
    HouseholdsOutsideGrids: "{households} household(s) of this leaf lie in no grid",
        "社区（村）内有 {households} 户不在任何网格内";
    /// A named building split between grids.
    SplitBuilding: "building \"{building}\" ({households} households) is split across grids {grids}",
        "楼栋“{building}”（{households} 户）被分到了网格 {grids}";
    /// An unnamed building (points at one position) split between grids.
    SplitBuildingAt: "a building (points at one position) ({households} households) is split across grids {grids}",
        "一栋楼（同一位置的住户点，{households} 户）被分到了网格 {grids}";
    /// A split building on an open route (which building is not said).
    SplitBuildingPublic: "a building is split across grids {grids}", "有楼栋被分到了网格 {grids}";
    /// A number used twice in one community.
    DuplicateCode: "number {number} of community {community} is used by {count} grids: {grids}",
        "社区 {community} 的编号 {number} 被 {count} 个网格重复使用：{grids}";
    /// A block holding households cut between grids.
    SplitBlock: "block {block} ({households} households) is cut between {grids}",
        "街区 {block}（{households} 户）被分割到 {grids}";
    /// Why figures are withheld on an open route.
    Withheld: "the counts of fewer than the smallest published number of households are withheld",
        "户数少于公布下限，不予公布";

    // ── Why a leaf fits no whole number of grids ───────────────────────────────────────────────
    /// A leaf without households.
    LeafNoHouseholds: "no households: the leaf still needs one grid to be covered",
        "没有住户：该社区（村）仍需一个网格覆盖";
    /// A leaf smaller than one grid.
    FewerThanOneGrid: "{households} households are fewer than one grid's minimum of {min}",
        "共 {households} 户，不足一个网格的下限 {min} 户";
    /// A leaf between two whole numbers of grids.
    NoWholeNumber: "{households} households fit no whole number of grids in {min}–{max}: {fewer} grid(s) would hold {each_fewer} each (over {max}), {more} would hold {each_more} each (under {min})",
        "共 {households} 户，无法分成整数个 {min}–{max} 户的网格：分 {fewer} 个网格每格 {each_fewer} 户（超过 {max}），分 {more} 个每格 {each_more} 户（不足 {min}）";

    // ── Data warnings ──────────────────────────────────────────────────────────────────────────
    /// Household points outside every leaf.
    OutsideEveryLeaf: "{points} household point(s) holding {households} household(s) lie outside every leaf; they are counted, not planned",
        "{points} 个住户点（共 {households} 户）不在任何社区（村）范围内：已计数，未划入网格";
    /// Household points in overlapping leaves.
    InOverlappingLeaves: "{points} household point(s) lie inside two or more overlapping leaves; each went to the leaf with the lowest code",
        "{points} 个住户点位于两个或更多相互重叠的社区（村）内：均归入代码最小的社区";
    /// Household points naming a community that is not a leaf.
    UnknownCommunity: "{points} household point(s) name community \"{code}\", which is not a leaf of the boundaries; they were placed by location",
        "{points} 个住户点所填社区“{code}”不是边界文件中的社区（村）：已按位置归属";
    /// Household points without a population.
    PopulationUnknown: "{points} household point(s) have no `population`: population rules cannot be fully checked, and grids holding them report population as unknown",
        "{points} 个住户点没有 `population`（人口）：人口规则无法完全检查，含这些点的网格人口记为未知";

    // ── Refusals: files that cannot be used ────────────────────────────────────────────────────
    /// The heading of a refusal listing the input's problems.
    InvalidInput: "invalid input: {count} problem(s)", "输入有误：共 {count} 处问题";
    /// More problems than are listed.
    MoreProblems: "… and {count} more", "……另有 {count} 处";
    /// A file that cannot be read.
    CannotRead: "cannot read {path}: {why}", "无法读取 {path}：{why}";
    /// A file that cannot be written.
    CannotWrite: "cannot write {path}: {why}", "无法写入 {path}：{why}";
    /// No such file.
    NoSuchFile: "no such file or directory", "文件或目录不存在";
    /// No permission.
    NoPermission: "permission denied", "没有访问权限";
    /// A directory where a file was expected.
    IsADirectory: "is a directory", "这是一个目录，不是文件";
    /// A rules file that cannot be used.
    RulesFile: "rules file {path}: {why}", "规则文件 {path} 有误：{why}";
    /// A coordinate reference system that cannot be used.
    CrsProblem: "coordinate reference system: {why}", "坐标参照系有误：{why}";
    /// The solver failed.
    SolverFailed: "the solver failed: {why}", "求解器出错：{why}";
    /// A text file holding a NUL byte.
    NotText: "not a text file: byte {at} is a NUL (0x00)", "不是文本文件：第 {at} 字节是 NUL（0x00）";
    /// A ledger that is not a workbook.
    NotSpreadsheet: "not a spreadsheet: an XLSX or ODS workbook is a ZIP archive (it starts with PK), an XLS one an OLE file; save the sheet as XLSX, or as CSV named .csv",
        "不是电子表格：XLSX 或 ODS 工作簿是 ZIP 压缩包（以 PK 开头），XLS 是 OLE 文件；请另存为 XLSX，或另存为扩展名 .csv 的 CSV";
    /// A file that is not JSON where GeoJSON was expected.
    NotJson: "not a GeoJSON file (not valid JSON): byte {offset} is {shown}, where a FeatureCollection starts with `{`",
        "不是 GeoJSON 文件（不是有效的 JSON）：第 {offset} 字节是 {shown}，而 FeatureCollection 应以 `{` 开头";
    /// A file past the input cap.
    TooLarge: "{size}, past the input cap of {cap} MiB (--max-input-mb {cap}); pass a larger --max-input-mb to read it",
        "{size}，超过输入上限 {cap} MiB（--max-input-mb {cap}）；要读取它请调大 --max-input-mb";
    /// GeoJSON that is not a FeatureCollection.
    NotFeatureCollection: "not a GeoJSON FeatureCollection (type: {found})",
        "不是 GeoJSON FeatureCollection（type 为 {found}）";
    /// A FeatureCollection without `features`.
    NoFeaturesArray: "FeatureCollection has no `features` array",
        "FeatureCollection 缺少 `features` 数组";
    /// A collection with no features.
    NoFeatures: "the collection holds no features", "文件中没有任何要素";
    /// A feature whose `type` is not Feature.
    NotAFeature: "type is \"{found}\"; expected \"Feature\"", "type 为“{found}”，应为 \"Feature\"";
    /// A feature without `type`.
    NoFeatureType: "has no `type`; expected \"Feature\"", "缺少 `type`，应为 \"Feature\"";
    /// Two features with one id.
    DuplicateId: "duplicate id (also feature {first})", "id 重复（与第 {first} 个要素相同）";
    /// A household point without a geometry.
    HouseholdNoGeometry: "has no geometry; a household needs a Point", "缺少几何：住户须为点（Point）";
    /// A household that is not a point.
    HouseholdNotPoint: "geometry type is {found}; a household is a Point",
        "几何类型为 {found}：住户须为点（Point）";
    /// A point without coordinates.
    PointNoCoordinates: "Point has no coordinates", "点（Point）缺少坐标";
    /// A count that is negative.
    Negative: "{value} is negative", "{value} 是负数";
    /// A count that is not a whole number.
    NotWholeNumber: "{value} is not a whole number", "{value} 不是整数";
    /// A count written as a string.
    StringNotWholeNumber: "\"{value}\" is a string, not a whole number",
        "“{value}”是文字，不是整数";
    /// A count too large.
    TooLargeCount: "{value} is too large", "{value} 太大";
    /// A point carrying no household.
    ZeroHouseholds: "0 households; a point must carry at least 1", "0 户：每个点至少 1 户";
    /// A boundary without geometry.
    BoundaryNoGeometry: "has no geometry; expected a Polygon or MultiPolygon",
        "缺少几何：应为面（Polygon 或 MultiPolygon）";
    /// A boundary without a code.
    BoundaryNoCode: "every boundary needs a `code`", "每个边界都须有 `code`（代码）";
    /// A grid without an id.
    GridNoId: "grid has no usable `id`: every grid needs one, a string or a number, as the feature's `id` member or an `id` property (an object, array, boolean or null is not one)",
        "网格缺少可用的 `id`：每个网格都须有一个字符串或数字编号，写在要素的 `id` 成员或 `id` 属性中（对象、数组、布尔值或 null 都不行）";
    /// A grid whose town cannot be told.
    UnknownTown: "cannot tell which town manages this grid from its community \"{community}\"; give 12-digit community codes or pass --boundaries",
        "无法从社区“{community}”判断此网格归哪个街镇管理：请使用 12 位社区代码，或加上 --boundaries";
    /// An output file refused by name.
    OutputName: "{path}: {why}", "输出文件 {path}：{why}";
    /// A layer named with an extension gridplan does not write.
    LayerExtension: "gridplan does not write .{ext} files; name the layer {names}",
        "gridplan 不写 .{ext} 文件：图层请命名为 {names}";
    /// A report named other than .json.
    ReportExtension: "reports are written as JSON; name the file .json (not .{ext})",
        "报告以 JSON 写出：文件请命名为 .json（而非 .{ext}）";
    /// A Shapefile asked for in a CRS whose .prj gridplan cannot write.
    ShapefileCrs: "gridplan writes a Shapefile's .prj for WGS84 (EPSG:4326), CGCS2000 (EPSG:4490) and its Gauss–Krüger zones (EPSG:4491–4554), not EPSG:{crs}; write this CRS as .gpkg, .fgb or .geojson",
        "gridplan 只为 WGS84（EPSG:4326）、CGCS2000（EPSG:4490）及其高斯–克吕格分带（EPSG:4491–4554）写 Shapefile 的 .prj，不支持 EPSG:{crs}：此坐标系请写为 .gpkg、.fgb 或 .geojson";
    /// A hand-over report named with an extension gridplan report does not write.
    HandoverExtension: "gridplan report writes the grid ledger as .xlsx or the atlas as .pdf; name the file so (not {ext})",
        "gridplan report 以 .xlsx 写网格台账、以 .pdf 写网格图册：请如此命名文件（而非{ext}）";
}

/// One argument's value in each language.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arg {
    en: String,
    zh: String,
}

/// A message: its kind and its arguments, said in either language by [`Msg::text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    key: Key,
    args: Vec<(&'static str, Arg)>,
}

impl Msg {
    /// A message of kind `key` with no arguments yet.
    pub fn new(key: Key) -> Msg {
        Msg {
            key,
            args: Vec::new(),
        }
    }

    /// The kind of the message.
    pub fn key(&self) -> Key {
        self.key
    }

    /// Adds argument `name`, the same in both languages (a number, a code, a file name).
    pub fn arg(self, name: &'static str, value: impl Display) -> Msg {
        let v = value.to_string();
        self.arg_in(name, v.clone(), v)
    }

    /// Adds argument `name` worded per language.
    pub fn arg_in(
        mut self,
        name: &'static str,
        en: impl Into<String>,
        zh: impl Into<String>,
    ) -> Msg {
        self.args.push((
            name,
            Arg {
                en: en.into(),
                zh: zh.into(),
            },
        ));
        self
    }

    /// Adds argument `name`: a list of messages, joined as each language joins a list.
    pub fn arg_list(self, name: &'static str, items: &[Msg]) -> Msg {
        let en: Vec<String> = items.iter().map(|m| m.text(Lang::En)).collect();
        let zh: Vec<String> = items.iter().map(|m| m.text(Lang::Zh)).collect();
        self.arg_in(name, en.join(", "), zh.join("、"))
    }

    /// The message in `lang`: its template with every `{name}` replaced by the argument's value (a
    /// `{` that names no argument stays as written).
    pub fn text(&self, lang: Lang) -> String {
        let template = self.key.template(lang);
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let named = after.find('}').and_then(|close| {
                let name = &after[..close];
                let arg = self.args.iter().find(|(n, _)| *n == name)?;
                Some((close, arg))
            });
            match named {
                Some((close, (_, arg))) => {
                    out.push_str(match lang {
                        Lang::En => &arg.en,
                        Lang::Zh => &arg.zh,
                    });
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A message of kind `Key::$key` with named arguments, each the same in both languages:
/// `msg!(BandUnder, households = 120, min = 300)`.
macro_rules! msg {
    ($key:ident $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::lang::messages::Msg::new($crate::lang::messages::Key::$key)
            $(.arg(stringify!($name), $value))*
    };
}
pub(crate) use msg;

/// The names of the arguments of a template (`{name}` with a name of letters, digits and `_`).
pub fn placeholders(template: &str) -> std::collections::BTreeSet<&str> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if close > 0
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.insert(&after[..close]);
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

/// True for a CJK ideograph (the Chinese text of a message holds at least one).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message has Chinese: not empty, not the English, with Chinese characters, and naming
    /// exactly the arguments the English names (the next message added cannot forget either).
    #[test]
    fn every_message_is_said_in_chinese_with_the_same_arguments() {
        let mut wrong = Vec::new();
        for &key in Key::ALL {
            let (en, zh) = (key.template(Lang::En), key.template(Lang::Zh));
            if en.trim().is_empty() {
                wrong.push(format!("{key:?}: no English"));
            }
            if zh.trim().is_empty() || zh == en || !zh.chars().any(is_cjk) {
                wrong.push(format!("{key:?}: no Chinese ({zh:?})"));
            }
            if placeholders(en) != placeholders(zh) {
                wrong.push(format!(
                    "{key:?}: English names {:?}, Chinese {:?}",
                    placeholders(en),
                    placeholders(zh)
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// Two kinds never share a Chinese text: each says something of its own.
    #[test]
    fn no_two_messages_say_the_same() {
        let mut seen = std::collections::BTreeMap::new();
        for &key in Key::ALL {
            if let Some(other) = seen.insert(key.template(Lang::Zh), key) {
                panic!("{key:?} and {other:?} say the same");
            }
        }
    }

    #[test]
    fn arguments_fill_the_template_of_each_language() {
        let m = msg!(FewerThanOneGrid, households = 120, min = 300);
        assert_eq!(
            m.text(Lang::En),
            "120 households are fewer than one grid's minimum of 300"
        );
        assert_eq!(m.text(Lang::Zh), "共 120 户，不足一个网格的下限 300 户");
        // A literal brace that names no argument stays.
        let m = msg!(NotJson, offset = 0, shown = "`x`");
        assert!(m.text(Lang::En).ends_with("starts with `{`"));
        // Arguments worded per language, and lists of messages.
        let into = [
            msg!(AreaOf, what = "320116001002", area = "12.5"),
            msg!(NoLeafArea, area = "3.0"),
        ];
        let m = msg!(CrossesLeaf, area = "15.5", leaf = "320116001001").arg_list("into", &into);
        assert_eq!(
            m.text(Lang::En),
            "reaches 15.5 m² outside its leaf 320116001001, into 320116001002 (12.5 m²), no leaf (3.0 m²)"
        );
        assert_eq!(
            m.text(Lang::Zh),
            "有 15.5 m² 超出所属社区 320116001001，伸入 320116001002（面积 12.5 m²）、辖区外（3.0 m²）"
        );
    }
}
