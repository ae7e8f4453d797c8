//! The language of what the command line prints: Chinese where the locale says so (`zh_CN.UTF-8`,
//! `zh_TW`, `zh`…), English otherwise. Only the words for people change; rule names and codes in
//! JSON, and every file written, stay the same whatever the language.

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

    #[test]
    fn chinese_takes_two_columns() {
        assert_eq!(columns("grids"), 5);
        assert_eq!(columns("网格数"), 6);
        assert_eq!(columns("网格（合格）"), 12);
        assert_eq!(pad("网格", 6), "网格  ");
        assert_eq!(pad("abcdef", 3), "abcdef");
    }
}
