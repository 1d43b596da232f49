//! The documents generated from the command line's definition: shell completions and the
//! manual page. The manual says what `--help` says (the options' help from the clap
//! definitions, the rest from [`super::help`]), laid out as roff: one page, memwatch(1),
//! with a `.SS` section per subcommand.

use std::fmt::Write as _;

use clap::{Arg, Command, CommandFactory};

use super::Cli;
use super::help::{self, ENVIRONMENT, EXIT_STATUS, PAGES, REFERENCE};

/// Write the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "memwatch", out);
}

/// Write the manual page, memwatch(1).
pub(crate) fn man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(man_text().as_bytes())
}

/// Text for roff: hyphens as minus signs (so that pasted options stay ASCII), quotes and
/// backslashes as themselves, anything else outside ASCII by its code point, and a line
/// that would start with a control character protected.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\e"),
            '-' => o.push_str("\\-"),
            '\'' => o.push_str("\\(aq"),
            '`' => o.push_str("\\(ga"),
            c if c.is_ascii() => o.push(c),
            c => {
                let _ = write!(o, "\\[u{:04X}]", c as u32);
            }
        }
    }
    if o.starts_with('.') {
        o.insert_str(0, "\\&");
    }
    o
}

/// Paragraphs (separated by blank lines, hard-wrapped or not) as roff paragraphs.
fn paragraphs(text: &str, out: &mut String) {
    for p in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let words: Vec<&str> = p.split_whitespace().collect();
        let _ = writeln!(out, ".PP\n{}", esc(&words.join(" ")));
    }
}

/// Lines kept as they are (`.nf`), indented.
fn verbatim<'a>(lines: impl IntoIterator<Item = &'a str>, out: &mut String) {
    out.push_str(".PP\n.RS 4\n.nf\n");
    for l in lines {
        out.push_str(&esc(l));
        out.push('\n');
    }
    out.push_str(".fi\n.RE\n");
}

/// An option's or argument's heading: `-i, --interval DURATION` or `COMMAND ARGS...`.
fn arg_heading(arg: &Arg) -> String {
    let values: Vec<String> = arg
        .get_value_names()
        .unwrap_or_default()
        .iter()
        .map(|v| format!("\\fI{}\\fR", esc(v)))
        .collect();
    let mut names: Vec<String> = Vec::new();
    if let Some(s) = arg.get_short() {
        names.push(format!("\\fB\\-{}\\fR", esc(&s.to_string())));
    }
    if let Some(l) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", esc(l)));
    }
    let takes_value = arg.get_action().takes_values();
    let mut h = names.join(", ");
    if takes_value {
        if !h.is_empty() {
            h.push(' ');
        }
        h.push_str(&values.join(" "));
        if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            h.push_str("...");
        }
    }
    h
}

/// The arguments and options of `cmd`, as `.TP` items: heading, help, possible values,
/// default. `--help` and `--version` are said once, in DESCRIPTION.
fn options(cmd: &Command, out: &mut String) {
    let shown = |a: &&Arg| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version");
    let positionals = cmd.get_positionals().filter(shown);
    let options = cmd
        .get_arguments()
        .filter(|a| !a.is_positional())
        .filter(shown);
    for arg in positionals.chain(options) {
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let mut text = help.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() && !text.ends_with('.') {
            text.push('.');
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| match v.get_help() {
                Some(h) => format!("{} ({h})", v.get_name()),
                None => v.get_name().to_string(),
            })
            .collect();
        if !possible.is_empty() && arg.get_action().takes_values() {
            let _ = write!(text, " Values: {}.", possible.join("; "));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() && arg.get_action().takes_values() {
            let _ = write!(text, " Default: {}.", defaults.join(", "));
        }
        let _ = writeln!(out, ".TP\n{}\n{}", arg_heading(arg), esc(&text));
    }
}

/// The usage line of a built subcommand.
fn usage_of(cmd: &mut Command) -> String {
    cmd.render_usage()
        .to_string()
        .trim_start_matches("Usage: ")
        .to_string()
}

/// One subcommand's section: what it does, its usage, options, notes and examples.
fn subcommand(cmd: &mut Command, out: &mut String) {
    let name = cmd.get_name().to_string();
    let _ = writeln!(out, ".SS memwatch {}", esc(&name));
    let about = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|a| a.to_string())
        .unwrap_or_default();
    paragraphs(&format!("{about}."), out);
    let usage = usage_of(cmd);
    verbatim(usage.lines().map(str::trim), out);
    options(cmd, out);
    if let Some(page) = help::page(&name) {
        paragraphs(page.notes, out);
        out.push_str(".PP\nExamples:\n");
        examples(page, out);
    }
}

/// A page's examples: each one's comment, then its line, kept as they are.
fn examples(page: &help::Page, out: &mut String) {
    let mut lines: Vec<String> = Vec::new();
    for (what, line) in page.examples {
        if !what.is_empty() {
            lines.extend(help::wrap(what, 70, "# ", "# "));
        }
        lines.extend(help::command_lines(line, 11));
    }
    verbatim(lines.iter().map(String::as_str), out);
}

/// The whole manual page, as roff.
fn man_text() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let mut o = String::new();
    let _ = writeln!(
        o,
        ".TH MEMWATCH 1 \"\" \"memwatch {}\" \"User Commands\"\n.nh\n.ad l",
        esc(&version)
    );
    let _ = writeln!(o, ".SH NAME\nmemwatch \\- {}", esc(&lower_first(&about)));
    o.push_str(".SH SYNOPSIS\n");
    let subs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    let mut usages: Vec<String> = Vec::new();
    for name in &subs {
        let sub = cmd.find_subcommand_mut(name).expect("listed above");
        usages.extend(usage_of(sub).lines().map(|l| l.trim().to_string()));
    }
    verbatim(usages.iter().map(String::as_str), &mut o);
    o.push_str(".SH DESCRIPTION\n");
    let long = cmd.get_long_about().map(|a| a.to_string()).unwrap_or(about);
    paragraphs(&long, &mut o);
    paragraphs(
        "Every subcommand takes -h (a summary) and --help (all of it, as this page says it); \
         memwatch --version prints the version.",
        &mut o,
    );
    o.push_str(".SH COMMANDS\n");
    for name in &subs {
        subcommand(cmd.find_subcommand_mut(name).expect("listed above"), &mut o);
    }
    o.push_str(".SH EXAMPLES\n");
    examples(&PAGES[0], &mut o);
    o.push_str(".SH EXIT STATUS\nThe same for every subcommand:\n");
    for (code, meaning) in EXIT_STATUS {
        let _ = writeln!(o, ".TP\n.B {}\n{}.", esc(code), esc(meaning));
    }
    o.push_str(".SH ENVIRONMENT\n");
    for (name, what) in ENVIRONMENT {
        let _ = writeln!(o, ".TP\n.B {}\n{}", esc(name), esc(what));
    }
    o.push_str(".SH SEE ALSO\n");
    let _ = writeln!(
        o,
        ".BR time (1),\n.BR timeout (1),\n.BR proc (5);\nthe reference, {}",
        esc(REFERENCE)
    );
    o
}

/// `s` with its first letter in lower case ("Peak memory" → "peak memory").
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes() {
        assert_eq!(esc("--json -i"), "\\-\\-json \\-i");
        assert_eq!(esc("sh -c 'a\\b'"), "sh \\-c \\(aqa\\eb\\(aq");
        assert_eq!(esc(".hidden"), "\\&.hidden");
        assert_eq!(esc("1 µs · `x`"), "1 \\[u00B5]s \\[u00B7] \\(gax\\(ga");
    }

    #[test]
    fn the_page_has_every_section_and_no_page_that_does_not_exist() {
        let page = man_text();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH COMMANDS",
            ".SS memwatch run",
            ".SS memwatch compare",
            ".SS memwatch merge",
            ".SS memwatch plot",
            ".SS memwatch sweep",
            ".SS memwatch attach",
            ".SS memwatch export",
            ".SS memwatch completions",
            ".SS memwatch man",
            ".SH EXIT STATUS",
            ".SH ENVIRONMENT",
            ".SH SEE ALSO",
        ] {
            assert!(page.contains(&format!("{section}\n")), "no {section}");
        }
        assert!(
            !page.contains("memwatch\\-run"),
            "a page that does not exist"
        );
        assert!(!page.contains("README"));
        // Every example is inside a no-fill block.
        let nf = page.matches(".nf\n").count();
        assert_eq!(nf, page.matches(".fi\n").count());
        assert!(nf > PAGES.len());
    }
}
