//! Renderers: the model as text for people and files for tools. The human summary
//! ([`human`]), CSV ([`csv`]), the live status line ([`status`]), warnings worded from
//! structured findings, the verdict of a `--max-rss` check ([`gate`]), the formats `memwatch export` writes
//! ([`export`]), and the shared pieces every text output uses: sizes and durations
//! ([`units`]), one table layout ([`table`]) and labels for reports side by side
//! ([`labels`]). Nothing here touches the operating system: renderers write into any
//! `io::Write`.

pub(crate) mod csv;
pub(crate) mod export;
pub(crate) mod gate;
pub(crate) mod human;
pub(crate) mod labels;
pub(crate) mod status;
pub(crate) mod svg;
pub(crate) mod table;
pub(crate) mod units;
pub(crate) mod warnings;

use std::path::Path;

/// What a report (or a merge, a comparison) is written as, chosen once from the flags and
/// the output file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Text for people.
    Human,
    /// JSON.
    Json,
}

impl Format {
    /// JSON when asked for (`--json`) or when the output file's name ends in `.json` (any
    /// case); else text.
    pub(crate) fn choose(json: bool, output: Option<&Path>) -> Format {
        let by_name = output.is_some_and(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        });
        if json || by_name {
            Format::Json
        } else {
            Format::Human
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_flag_and_name() {
        assert_eq!(Format::choose(false, None), Format::Human);
        assert_eq!(Format::choose(true, None), Format::Json);
        assert_eq!(
            Format::choose(false, Some(Path::new("a.JSON"))),
            Format::Json
        );
        assert_eq!(
            Format::choose(false, Some(Path::new("a.txt"))),
            Format::Human
        );
    }
}
