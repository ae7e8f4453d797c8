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
    // ── Coordinates and polygons ───────────────────────────────────────────────────────────────
    /// A number written as a string.
    NumberIsString: "\"{value}\" is a string, not a number", "“{value}”是文字，不是数字";
    /// A null where a number was expected.
    NumberIsNull: "null is not a number", "null 不是数字";
    /// Something else where a number was expected.
    NotANumber: "{value} is not a number", "{value} 不是数字";
    /// A number too large to be finite.
    NotFinite: "{value} is not a finite number", "{value} 不是有限的数";
    /// A position that is not an array.
    PositionNotArray: "position {value} is not an array of numbers", "坐标 {value} 不是数字数组";
    /// A position with one number or none.
    PositionTooShort: "position {value} has fewer than 2 numbers", "坐标 {value} 不足 2 个数";
    /// One number of a position is wrong (`axis` is x, y or z).
    PositionAxis: "{axis}: {why}", "{axis}有误：{why}";
    /// A ring of a Polygon, named in other messages.
    RingOf: "ring {ring}", "环 {ring}";
    /// A ring of one polygon of a MultiPolygon, named in other messages.
    RingOfPolygon: "polygon {polygon}, ring {ring}", "第 {polygon} 个多边形的环 {ring}";
    /// A ring that is not an array.
    RingNotArray: "{ring} is not an array of positions", "{ring}不是坐标数组";
    /// A wrong position of a ring.
    RingPosition: "{ring}, position {index}: {why}", "{ring}的第 {index} 个坐标：{why}";
    /// A ring too short to close.
    RingTooShort: "{ring} has {count} positions; a closed ring needs at least 4",
        "{ring}只有 {count} 个坐标：闭合的环至少需要 4 个";
    /// A ring whose ends differ.
    RingNotClosed: "{ring} is not closed: it starts at ({x0}, {y0}) and ends at ({x1}, {y1})",
        "{ring}没有闭合：起点为 ({x0}, {y0})，终点为 ({x1}, {y1})";
    /// Polygon coordinates that are not an array.
    PolygonNotArray: "polygon coordinates are not an array of rings", "多边形坐标不是环的数组";
    /// A polygon without rings.
    PolygonNoRings: "polygon has no rings", "多边形没有任何环";
    /// MultiPolygon coordinates that are not an array.
    MultiPolygonNotArray: "MultiPolygon coordinates are not an array of polygons",
        "MultiPolygon 坐标不是多边形的数组";
    /// A MultiPolygon without polygons.
    MultiPolygonEmpty: "MultiPolygon has no polygons", "MultiPolygon 没有任何多边形";
    /// An areal geometry of another type.
    NotAreal: "geometry type is {found}; expected Polygon or MultiPolygon",
        "几何类型为 {found}：应为面（Polygon 或 MultiPolygon）";
    /// A Polygon or MultiPolygon without coordinates.
    ArealNoCoordinates: "{found} has no coordinates", "{found} 缺少坐标";
    /// A polygon that is not valid: what is wrong, where, in which CRS.
    InvalidPolygon: "invalid polygon: {what} at ({x}, {y}) in {crs}",
        "多边形无效：{what}，位于 ({x}, {y})（{crs}）";
    /// A problem of one polygon of a MultiPolygon.
    PolygonPart: "polygon {part}, {what}", "第 {part} 个多边形：{what}";
    /// A ring crossing or touching itself.
    RingSelfCrossing: "ring {ring} crosses or touches itself", "环 {ring} 自相交或自接触";
    /// Two rings crossing.
    RingsCross: "rings {a} and {b} cross", "环 {a} 与环 {b} 相交";
    /// A hole outside its shell.
    HoleOutside: "ring {ring} (a hole) lies outside the exterior ring 0",
        "环 {ring}（内洞）位于外环 0 之外";
    /// A hole inside another hole.
    HoleInHole: "rings {a} and {b} overlap (a hole inside a hole)", "环 {a} 与环 {b} 重叠（内洞套内洞）";
    /// Line coordinates that are not an array.
    LineNotArray: "coordinates are not an array of positions", "坐标不是由坐标点组成的数组";
    /// A wrong position of a line.
    LinePosition: "position {index}: {why}", "第 {index} 个坐标：{why}";
    /// A line of fewer than 2 positions.
    LineTooShort: "a line needs at least 2 positions, it has {count}",
        "一条线至少需要 2 个坐标，这里只有 {count} 个";
    /// A problem of one line of a MultiLineString.
    LinePart: "line {line}: {why}", "第 {line} 条线：{why}";
    /// MultiLineString coordinates that are not an array.
    MultiLineNotArray: "MultiLineString coordinates are not an array of lines",
        "MultiLineString 坐标不是线的数组";
    /// A MultiLineString without lines.
    MultiLineEmpty: "MultiLineString has no lines", "MultiLineString 没有任何线";
    /// A barrier of another geometry type.
    NotLineal: "geometry type is {found}; expected LineString or MultiLineString",
        "几何类型为 {found}：应为线（LineString 或 MultiLineString）";
    /// A barrier without geometry.
    BarrierNoGeometry: "has no geometry; expected a LineString or MultiLineString",
        "缺少几何：应为线（LineString 或 MultiLineString）";
    /// A barrier of too many lines.
    TooManyLines: "{count} lines, past the {max} a barrier may have", "共 {count} 条线，超过障碍线上限 {max} 条";
    /// Projected coordinates in a geographic CRS.
    NotLonLat: "({x}, {y}) is not a longitude/latitude in {crs}, but the file declares (or defaults to) {crs}; the coordinates look projected: name their CRS with --crs EPSG:NNNN (for example EPSG:4549) or a `crs` member",
        "({x}, {y}) 不是 {crs} 的经纬度，但文件声明（或默认）为 {crs}：坐标像是投影坐标，请用 `--crs EPSG:NNNN`（例如 EPSG:4549）或 `crs` 成员写明其坐标系";
    /// Longitude/latitude in a projected CRS.
    LooksLonLat: "({x}, {y}) looks like a longitude/latitude, but {crs} is a projected CRS in metres; check the `crs` member or --crs",
        "({x}, {y}) 像是经纬度，但 {crs} 是以米为单位的投影坐标系：请检查 `crs` 成员或 --crs";

    /// A value that is not text.
    NotAString: "{value} is not a string", "{value} 不是字符串";

    // ── The workers file ───────────────────────────────────────────────────────────────────────
    /// A worker without an id.
    WorkerNoId: "every worker needs an `id`", "每个网格员都须有 `id`";
    /// Two workers with one id (`what` is a feature or a row).
    WorkerDuplicateId: "duplicate id (also {what} {first})", "id 重复（与{what} {first} 相同）";
    /// A worker type gridplan does not know.
    UnknownWorkerType: "unknown type \"{found}\"; use full_time, part_time or cadre",
        "未知类型“{found}”：请填 full_time（专职）、part_time（兼职）或 `cadre`（干部）";
    /// Negative hours.
    NegativeHours: "{hours} hours is negative", "工时 {hours} 是负数";
    /// A worker of a town managing no grid.
    UnknownWorkerTown: "town \"{town}\" manages none of the grids (known towns: {known})",
        "街镇“{town}”不管理任何网格（已知街镇：{known}）";
    /// A worker without a town.
    WorkerNoTown: "every worker needs the `town` that manages them",
        "每个网格员都须填写管理其的街镇 `town`";
    /// A worker status gridplan does not know.
    UnknownWorkerStatus: "unknown status \"{found}\"; use active or exited",
        "未知状态“{found}”：请填 `active`（在岗）或 `exited`（已离岗）";
    /// A workers file without workers.
    NoWorkers: "the file holds no workers", "文件中没有任何网格员";
    /// A worker whose base is not a point.
    WorkerNotPoint: "geometry type is {found}; a worker's base is a Point",
        "几何类型为 {found}：网格员驻点须为点（Point）";
    /// A worker without a base.
    WorkerNoGeometry: "has no geometry; a worker's base is a Point", "缺少几何：网格员驻点须为点（Point）";
    /// A file that is not CSV.
    NotCsv: "not a CSV file: {why}", "不是 CSV 文件：{why}";
    /// A workers CSV without coordinates.
    CsvNoLonLat: "a workers CSV needs `lon` and `lat` columns", "网格员 CSV 须有 `lon` 和 `lat` 列";
    /// A CSV row that cannot be read.
    CsvRowUnreadable: "(CSV row {index}) cannot be read: {why}", "（CSV 第 {index} 行）无法读取：{why}";
    /// A problem of one CSV row.
    CsvRow: "(CSV row {index}) {why}", "（CSV 第 {index} 行）{why}";
    /// A CSV coordinate that is not a number.
    CsvCoordinate: "{name} \"{value}\" is not a finite number", "`{name}` 值“{value}”不是有限的数";

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

    /// Adds argument `name`: a message, said in each language.
    pub fn arg_msg(self, name: &'static str, m: &Msg) -> Msg {
        self.arg_in(name, m.text(Lang::En), m.text(Lang::Zh))
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
