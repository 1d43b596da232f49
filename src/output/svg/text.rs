//! Text in the picture: XML escaping, coordinates, `<text>` elements, and placing labels
//! where no other label is.

use std::fmt::Write as _;

use super::{BOTTOM, CHAR_W, LEFT, PLOT_W, TOP, WIDTH};

/// Escape text for XML character data and attribute values. Characters XML 1.0 does not
/// allow (most control characters) become U+FFFD; tabs and newlines become spaces.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' '
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                out.push('\u{fffd}');
            }
            c => out.push(c),
        }
    }
    out
}

/// A text label's box, to keep labels from overlapping.
#[derive(Clone, Copy, Debug)]
pub(super) struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Box2 {
    /// The box from (x0, y0) to (x1, y1).
    pub(super) fn new(x0: f64, y0: f64, x1: f64, y1: f64) -> Box2 {
        Box2 { x0, y0, x1, y1 }
    }

    pub(super) fn overlaps(&self, o: &Box2) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

/// Where to put a label next to the point (x, y): (x, baseline y, anchor), the first
/// candidate inside the plot that overlaps no label placed before.
pub(super) fn place_label(
    x: f64,
    y: f64,
    text: &str,
    placed: &mut Vec<Box2>,
) -> (f64, f64, &'static str) {
    let w = text.chars().count() as f64 * CHAR_W;
    let right_first = x < LEFT + PLOT_W * 0.6;
    let sides: [(f64, &'static str); 2] = if right_first {
        [(8.0, "start"), (-8.0, "end")]
    } else {
        [(-8.0, "end"), (8.0, "start")]
    };
    let mut candidates = Vec::new();
    for dy in [-9.0, 20.0, -27.0, 38.0, -45.0, 56.0] {
        for (dx, anchor) in sides {
            candidates.push((x + dx, y + dy, anchor));
        }
    }
    let bx = |(lx, ly, anchor): (f64, f64, &str)| {
        let x0 = if anchor == "start" { lx } else { lx - w };
        Box2 {
            x0,
            y0: ly - 12.0,
            x1: x0 + w,
            y1: ly + 3.0,
        }
    };
    let inside =
        |b: &Box2| b.x0 >= LEFT + 2.0 && b.x1 <= WIDTH - 4.0 && b.y0 >= TOP && b.y1 <= BOTTOM - 2.0;
    let chosen = candidates
        .iter()
        .copied()
        .find(|&c| {
            let b = bx(c);
            inside(&b) && !placed.iter().any(|p| p.overlaps(&b))
        })
        .or_else(|| candidates.iter().copied().find(|&c| inside(&bx(c))))
        .unwrap_or(candidates[0]);
    placed.push(bx(chosen));
    chosen
}

/// A number for an SVG coordinate.
pub(super) fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

pub(super) fn text(svg: &mut String, x: f64, y: f64, attrs: &str, content: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" {attrs}>{}</text>"#,
        n(x),
        n(y),
        escape(content)
    );
}
