//! The one table layout of every text output (compare's tables, merge's lists): columns
//! two spaces apart, each as wide as its widest cell, left- or right-aligned, lines
//! without trailing spaces.

use std::fmt::Write as _;

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    /// Text (labels, commands, files).
    Left,
    /// Numbers.
    Right,
}

/// Lay out `rows` (the first usually the header), each line indented by `indent` spaces.
/// `align` gives each column's alignment; columns past its end are left-aligned.
pub(crate) fn render(rows: &[Vec<String>], align: &[Align], indent: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = " ".repeat(indent);
        for (c, cell) in row.iter().enumerate() {
            let w = widths[c];
            if c > 0 {
                line.push_str("  ");
            }
            match align.get(c).copied().unwrap_or(Align::Left) {
                Align::Left => {
                    let _ = write!(line, "{cell:<w$}");
                }
                Align::Right => {
                    let _ = write!(line, "{cell:>w$}");
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["".to_string(), "peak".to_string(), "file".to_string()],
            vec!["a".to_string(), "1.0 MiB".to_string(), "x.json".to_string()],
            vec!["bb".to_string(), "12.5 GiB".to_string(), "y".to_string()],
        ];
        let t = render(&rows, &[Align::Left, Align::Right, Align::Left], 2);
        assert_eq!(
            t,
            "          peak  file\n  a    1.0 MiB  x.json\n  bb  12.5 GiB  y\n"
        );
    }
}
