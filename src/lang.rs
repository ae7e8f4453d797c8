//! The language of what the command line prints: Chinese where the locale says so (`zh_CN.UTF-8`,
//! `zh_TW`, `zh`…), English otherwise. Only the words for people change; rule names and codes in
//! JSON, and every file written, stay the same whatever the language.

pub mod messages;

/// A language the terminal output is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The language of the locale, read as POSIX does for messages: the first of `LC_ALL`,
    /// `LC_MESSAGES` and `LANG` that is set and not empty decides; a value starting with `zh` is
    /// Chinese, anything else (or none) English.
    pub fn from_locale(var: impl Fn(&str) -> Option<String>) -> Lang {
        let value = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|k| var(k))
            .find(|v| !v.trim().is_empty());
        match value {
            Some(v) if v.trim().to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }

    /// [`Lang::from_locale`] of this process's environment.
    pub fn from_env() -> Lang {
        Lang::from_locale(|k| std::env::var(k).ok())
    }

    /// The English or the Chinese of a phrase.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

/// How many terminal columns `s` takes: CJK ideographs, full-width forms and CJK punctuation take
/// two, everything else one.
pub fn columns(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = (0x1100..=0x115F).contains(&c)
                || (0x2E80..=0x303E).contains(&c)
                || (0x3041..=0x33FF).contains(&c)
                || (0x3400..=0x4DBF).contains(&c)
                || (0x4E00..=0x9FFF).contains(&c)
                || (0xAC00..=0xD7A3).contains(&c)
                || (0xF900..=0xFAFF).contains(&c)
                || (0xFE30..=0xFE4F).contains(&c)
                || (0xFF00..=0xFF60).contains(&c)
                || (0xFFE0..=0xFFE6).contains(&c);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// `s` padded with spaces to `width` terminal columns (unchanged when already as wide).
pub fn pad(s: &str, width: usize) -> String {
    let mut out = s.to_string();
    for _ in columns(s)..width {
        out.push(' ');
    }
    out
}

/// The words of a few figures the terminal prints in both languages.
impl Lang {
    /// "3 data warning(s)" as a heading.
    pub fn warnings_heading(self, n: usize) -> String {
        match self {
            Lang::En => format!("{n} data warning(s):"),
            Lang::Zh => format!("数据警告 {n} 条："),
        }
    }

    /// What the assignment solver proved for one town, in words: `status` as `staffing.json` names it
    /// (`optimal`, `gap_limit`, `time_limit`, `trivial`, `no_solution`) and the relative gap it proved
    /// (a share; not finite when it proved none). The figure is rounded up, never down: "at most".
    pub fn solver_outcome(self, status: &str, proven_gap: f64) -> String {
        let pct = (proven_gap.is_finite() && proven_gap >= 0.0).then(|| {
            let up = (proven_gap * 10_000.0 - 1e-9).ceil().max(0.0) / 100.0;
            if up < 0.01 {
                "0.01 %".to_string()
            } else {
                format!("{up:.2} %")
            }
        });
        match (self, status, pct) {
            (Lang::En, "optimal", _) => "optimal".into(),
            (Lang::Zh, "optimal", _) => "最优".into(),
            (Lang::En, "gap_limit", Some(p)) => format!("within {p} of the best possible"),
            (Lang::Zh, "gap_limit", Some(p)) => format!("与最优相差不超过 {p}"),
            (Lang::En, "time_limit", Some(p)) => {
                format!("stopped at the time limit, at most {p} from the best possible")
            }
            (Lang::Zh, "time_limit", Some(p)) => format!("达到时限停止，与最优相差不超过 {p}"),
            (Lang::En, "gap_limit" | "time_limit", None) => {
                "stopped at the time limit with an assignment, no bound proved".into()
            }
            (Lang::Zh, "gap_limit" | "time_limit", None) => {
                "达到时限停止，已有分配，未证得与最优的差距".into()
            }
            (Lang::En, "trivial", _) => "nothing to choose".into(),
            (Lang::Zh, "trivial", _) => "无需求解".into(),
            (Lang::En, "no_solution", _) => "no assignment within the time limit".into(),
            (Lang::Zh, "no_solution", _) => "时限内未求得分配".into(),
            (_, other, _) => other.to_string(),
        }
    }

    /// The line after the warnings shown when more were left out.
    pub fn more_warnings(self, n: usize) -> String {
        match self {
            Lang::En => format!("… and {n} more (all of them are in the report)"),
            Lang::Zh => format!("……另有 {n} 条（全部见报告）"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_locale_decides_in_posix_order() {
        assert_eq!(Lang::from_locale(env(&[])), Lang::En);
        assert_eq!(Lang::from_locale(env(&[("LANG", "zh_CN.UTF-8")])), Lang::Zh);
        assert_eq!(Lang::from_locale(env(&[("LANG", "zh_TW.UTF-8")])), Lang::Zh);
        assert_eq!(Lang::from_locale(env(&[("LANG", "C.UTF-8")])), Lang::En);
        assert_eq!(Lang::from_locale(env(&[("LANG", "en_US.UTF-8")])), Lang::En);
        // LC_ALL over LC_MESSAGES over LANG; an empty value does not count.
        let e = env(&[("LC_ALL", "en_GB.UTF-8"), ("LANG", "zh_CN.UTF-8")]);
        assert_eq!(Lang::from_locale(e), Lang::En);
        let e = env(&[("LC_ALL", ""), ("LC_MESSAGES", "zh_CN"), ("LANG", "C")]);
        assert_eq!(Lang::from_locale(e), Lang::Zh);
    }

    /// The solver's outcome says what was proved, rounded up: never a tighter figure than the proof.
    #[test]
    fn the_solver_outcome_is_said_in_words_with_the_proven_figure() {
        assert_eq!(Lang::En.solver_outcome("optimal", 0.0), "optimal");
        assert_eq!(
            Lang::En.solver_outcome("gap_limit", 0.000_84),
            "within 0.09 % of the best possible"
        );
        assert_eq!(
            Lang::En.solver_outcome("gap_limit", 0.000_001),
            "within 0.01 % of the best possible"
        );
        assert_eq!(
            Lang::Zh.solver_outcome("time_limit", 0.0312),
            "达到时限停止，与最优相差不超过 3.12 %"
        );
        assert!(
            Lang::En
                .solver_outcome("time_limit", f64::NAN)
                .contains("no bound proved")
        );
        assert_eq!(
            Lang::Zh.solver_outcome("no_solution", f64::NAN),
            "时限内未求得分配"
        );
    }

    #[test]
    fn chinese_takes_two_columns() {
        assert_eq!(columns("grids"), 5);
        assert_eq!(columns("网格数"), 6);
        assert_eq!(columns("网格（合格）"), 12);
        assert_eq!(pad("网格", 6), "网格  ");
        assert_eq!(pad("abcdef", 3), "abcdef");
    }
}
