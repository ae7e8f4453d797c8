//! Grid ids: built and read here, and nowhere else.
//!
//! Two forms:
//! - **standard** (the default): the community's statistical code followed by a 3-digit sequence
//!   number, `320116001003` + `007` = `320116001003007`, 15 digits for a 12-digit community code (the
//!   Beijing unit-grid standard, DB11); a community already on a 15-digit public-security code
//!   (GA/T 2000.33) gets the same 3-digit suffix (18 digits). The community code's length is never
//!   assumed: the suffix is always the last three characters.
//! - **legacy**: the community's code, `-G` and a number of at least two digits (`320116001003-G07`),
//!   what gridplan wrote before.
//!
//! Numbers start at 1 in each community; `000` is never issued. Which number a grid gets (reading order,
//! the next free number on a re-draw) is [`crate::plan::numbering`]'s business.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Digits of the standard sequence number.
pub const SEQ_DIGITS: usize = 3;
/// The largest number the standard form can hold.
pub const MAX_STANDARD_NUMBER: u32 = 999;

/// How grid ids are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdStyle {
    /// `<community code><3-digit number>`.
    Standard,
    /// `<community code>-G<nn>`.
    Legacy,
}

impl IdStyle {
    /// The id of grid `number` of `community` in this style. The standard form needs a 12- or
    /// 15-digit statistical code and a number of 999 at most; a community of another code (a name
    /// given by hand, a test's `A`) or a number beyond 999 gets the legacy form, which fits any.
    pub fn id(self, community: &str, number: u32) -> String {
        match self {
            IdStyle::Standard
                if is_statistical_code(community) && number <= MAX_STANDARD_NUMBER =>
            {
                format!("{community}{number:03}")
            }
            _ => format!("{community}-G{number:02}"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IdStyle::Standard => "standard",
            IdStyle::Legacy => "legacy",
        }
    }

    /// `standard` or `legacy`.
    pub fn parse(text: &str) -> Result<IdStyle, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "standard" => Ok(IdStyle::Standard),
            "legacy" => Ok(IdStyle::Legacy),
            other => Err(format!(
                "\"{other}\" is not a grid id style: use standard (<community code><3 digits>) or legacy (<community code>-G<nn>)"
            )),
        }
    }
}

impl fmt::Display for IdStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A 12-digit statistical code, or a 15-digit one (GA/T 2000.33).
pub fn is_statistical_code(code: &str) -> bool {
    matches!(code.len(), 12 | 15) && code.bytes().all(|b| b.is_ascii_digit())
}

/// A grid id read as a code: its community, its number and its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridCode<'a> {
    pub community: &'a str,
    pub number: u32,
    pub style: IdStyle,
}

/// Reads `id` as the code of a grid of `community`: `Ok` when it is one of the two forms for that
/// community, else why not (for `check`'s `grid_code` rule).
pub fn read_for<'a>(id: &'a str, community: &str) -> Result<GridCode<'a>, String> {
    let Some(rest) = id.strip_prefix(community).filter(|_| !community.is_empty()) else {
        return Err(format!(
            "does not start with its community's code {community}"
        ));
    };
    let code = &id[..community.len()];
    if let Some(n) = rest.strip_prefix("-G") {
        return match n.parse::<u32>() {
            Ok(number) if n.len() >= 2 && n.bytes().all(|b| b.is_ascii_digit()) && number > 0 => {
                Ok(GridCode {
                    community: code,
                    number,
                    style: IdStyle::Legacy,
                })
            }
            _ => Err(format!(
                "legacy form needs a number of at least two digits from 01 after `-G`, found \"{n}\""
            )),
        };
    }
    if rest.len() == SEQ_DIGITS && rest.bytes().all(|b| b.is_ascii_digit()) {
        return match rest.parse::<u32>() {
            Ok(number) if number > 0 => Ok(GridCode {
                community: code,
                number,
                style: IdStyle::Standard,
            }),
            _ => Err("sequence number 000 is never issued: numbers start at 001".to_string()),
        };
    }
    Err(format!(
        "after the community code comes \"{rest}\": expected a {SEQ_DIGITS}-digit number (standard) or -G<nn> (legacy)"
    ))
}

/// Reads `id` as a code without knowing its community: the legacy form (anything before `-G<digits>`),
/// or the standard form when the id is all digits and 15 or 18 long (a 12- or 15-digit statistical code
/// and 3 digits). `None` for any other id.
pub fn read(id: &str) -> Option<GridCode<'_>> {
    if let Some((community, _)) = id.rsplit_once("-G")
        && let Ok(code) = read_for(id, community)
    {
        return Some(code);
    }
    let digits = id.bytes().all(|b| b.is_ascii_digit());
    if digits && (id.len() == 15 || id.len() == 18) {
        return read_for(id, &id[..id.len() - SEQ_DIGITS]).ok();
    }
    None
}

/// Reads `id` as a code, for `community` when it is known.
pub fn read_with<'a>(id: &'a str, community: Option<&str>) -> Option<GridCode<'a>> {
    match community {
        Some(c) => read_for(id, c).ok(),
        None => read(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_are_built_and_read_back() {
        for community in ["320116001003", "320116001003123", "U"] {
            for style in [IdStyle::Standard, IdStyle::Legacy] {
                for number in [1, 7, 42, 999] {
                    let id = style.id(community, number);
                    let code = read_for(&id, community).expect("well formed");
                    // A community without a statistical code gets the legacy form either way.
                    let style = if is_statistical_code(community) {
                        style
                    } else {
                        IdStyle::Legacy
                    };
                    assert_eq!(
                        (code.community, code.number, code.style),
                        (community, number, style)
                    );
                }
            }
        }
        assert_eq!(IdStyle::Standard.id("320116001003", 7), "320116001003007");
        assert_eq!(
            IdStyle::Standard.id("320116001003123", 7),
            "320116001003123007"
        );
        assert_eq!(IdStyle::Legacy.id("320116001003", 7), "320116001003-G07");
    }

    #[test]
    fn codes_are_read_without_their_community_when_the_form_says_it() {
        let c = read("320116001003007").expect("15 digits");
        assert_eq!((c.community, c.number), ("320116001003", 7));
        let c = read("320116001003123007").expect("18 digits");
        assert_eq!((c.community, c.number), ("320116001003123", 7));
        let c = read("village-3-G12").expect("legacy");
        assert_eq!(
            (c.community, c.number, c.style),
            ("village-3", 12, IdStyle::Legacy)
        );
        assert_eq!(read("3201160010037"), None);
        assert_eq!(read("north"), None);
        assert_eq!(
            read("U001"),
            None,
            "a short code is read only with its community"
        );
    }

    #[test]
    fn malformed_codes_say_why() {
        for (id, why) in [
            ("320116001004001", "does not start"),
            ("3201160010030001", "3-digit"),
            ("320116001003000", "000"),
            ("320116001003-G7", "two digits"),
            ("320116001003-Gx1", "two digits"),
            ("320116001003-G00", "two digits"),
            ("320116001003", "expected"),
            ("g1", "does not start"),
        ] {
            let err = read_for(id, "320116001003").expect_err(id);
            assert!(err.contains(why), "{id}: {err}");
        }
    }
}
