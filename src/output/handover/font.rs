//! The CJK font the atlas is set in, found at run time: `GRIDPLAN_CJK_FONT` when set, else the first of
//! the usual system places that holds one (WenQuanYi Micro Hei, Debian's `fonts-wqy-microhei`, first).
//! Only the glyphs used are embedded (krilla subsets the font).

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable naming a font file (TrueType/OpenType, or a collection: its first face).
pub const FONT_ENV: &str = "GRIDPLAN_CJK_FONT";

/// Freely licensed CJK fonts, where Debian and Ubuntu install them.
const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// A CJK font: for krilla to draw with, and for measuring text to lay out tables.
#[derive(Clone)]
pub struct CjkFont {
    pub font: krilla::text::Font,
    data: Arc<Vec<u8>>,
    pub path: PathBuf,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CjkFont({})", self.path.display())
    }
}

/// Why no font could be had.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error(
        "no CJK font for the atlas: install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei) or name a font file in {FONT_ENV}"
    )]
    Missing,
    #[error("cannot read the font {0} ({FONT_ENV} or a system font): {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0} is not a font gridplan can use (TrueType, OpenType or a collection of them)")]
    NotAFont(PathBuf),
    #[error("{0} has no Chinese characters: name a CJK font in {FONT_ENV}")]
    NotCjk(PathBuf),
}

impl CjkFont {
    /// The font named by `GRIDPLAN_CJK_FONT`, else the first system CJK font found.
    pub fn find() -> Result<CjkFont, FontError> {
        if let Some(path) = std::env::var_os(FONT_ENV).filter(|p| !p.is_empty()) {
            return CjkFont::open(Path::new(&path));
        }
        let path = CANDIDATES
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .ok_or(FontError::Missing)?;
        CjkFont::open(path)
    }

    /// The font in `path` (its first face).
    pub fn open(path: &Path) -> Result<CjkFont, FontError> {
        let data = std::fs::read(path).map_err(|e| FontError::Read(path.to_path_buf(), e))?;
        let data = Arc::new(data);
        let font = krilla::text::Font::new(data.clone().into(), 0)
            .ok_or_else(|| FontError::NotAFont(path.to_path_buf()))?;
        let out = CjkFont {
            font,
            data,
            path: path.to_path_buf(),
        };
        if !out.has('网') {
            return Err(FontError::NotCjk(path.to_path_buf()));
        }
        Ok(out)
    }

    fn face(&self) -> Option<skrifa::FontRef<'_>> {
        skrifa::FontRef::from_index(self.data.as_slice(), 0).ok()
    }

    fn has(&self, c: char) -> bool {
        use skrifa::MetadataProvider;
        self.face().and_then(|f| f.charmap().map(c)).is_some()
    }

    /// The width of `text` set at `size` points (a character the font lacks counts as an em).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        use skrifa::MetadataProvider;
        use skrifa::instance::{LocationRef, Size};
        let Some(face) = self.face() else {
            return text.chars().count() as f32 * size;
        };
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size)
            })
            .sum()
    }

    /// `text` broken into lines no wider than `width` at `size` (between any two characters: Chinese
    /// breaks anywhere; after a Chinese comma or a space by preference).
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for c in paragraph.chars() {
                let mut next = line.clone();
                next.push(c);
                if !line.is_empty() && self.width(&next, size) > width {
                    // Break after the last comma or space on the line when there is one.
                    let cut = line
                        .char_indices()
                        .filter(|(_, c)| matches!(c, '，' | '、' | ' ' | ','))
                        .map(|(i, c)| i + c.len_utf8())
                        .next_back()
                        .filter(|&i| i < line.len());
                    match cut {
                        Some(i) => {
                            let rest = line.split_off(i);
                            lines.push(std::mem::take(&mut line));
                            line = rest;
                        }
                        None => lines.push(std::mem::take(&mut line)),
                    }
                }
                line.push(c);
            }
            lines.push(line);
        }
        lines
    }
}
