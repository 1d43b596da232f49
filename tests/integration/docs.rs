//! The documents stay honest: every flag `--help` shows is documented in the README or
//! docs/, every link between them leads somewhere, and none points outside the repository.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::util::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// README.md and every docs/*.md, with their text.
fn documents() -> Vec<(PathBuf, String)> {
    let mut paths = vec![Path::new(ROOT).join("README.md")];
    if let Ok(dir) = fs::read_dir(Path::new(ROOT).join("docs")) {
        let mut docs: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        paths.extend(docs);
    }
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// The subcommands `memwatch --help` lists.
fn subcommands() -> Vec<String> {
    let help = text(&memwatch_output(["--help"]).stdout);
    help.split("Subcommands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        // A name at column 2; its description's continued lines start further in.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The `--long` options a help text shows.
fn long_flags(help: &str) -> BTreeSet<String> {
    let options = help.split("Options:\n").nth(1).unwrap_or_default();
    options
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix('-').filter(|_| l.starts_with('-'))?;
            let at = l.find("--")?;
            let name: String = l[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            Some(name)
        })
        .filter(|f| f != "--help" && f != "--version")
        .collect()
}

#[test]
fn every_flag_of_every_subcommand_is_documented() {
    let docs: String = documents().into_iter().map(|(_, t)| t).collect();
    let subs = subcommands();
    assert!(subs.len() >= 6, "{subs:?}");
    let mut missing = Vec::new();
    for sub in &subs {
        let help = text(&memwatch_output([sub.as_str(), "--help"]).stdout);
        for flag in long_flags(&help) {
            // Written as `--flag` (alone or with its value) somewhere in the documents.
            let documented = docs.match_indices(&flag).any(|(i, _)| {
                let next = docs[i + flag.len()..].chars().next();
                !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            });
            if !documented {
                missing.push(format!("memwatch {sub} {flag}"));
            }
        }
        assert!(
            docs.contains(&format!("memwatch {sub}")),
            "memwatch {sub} is in no document"
        );
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for l in text.lines() {
        if l.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && l.starts_with('#') {
            let mut s = slug(l.trim_start_matches('#'));
            let base = s.clone();
            let mut n = 1;
            while out.contains(&s) {
                s = format!("{base}-{n}");
                n += 1;
            }
            out.insert(s);
        }
    }
    out
}

/// The targets of a Markdown text's inline links `[text](target)` (outside code blocks and
/// code spans).
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for l in text.lines() {
        if l.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Code spans hold examples, not links.
        let plain: String = l
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect();
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            out.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    out
}

#[test]
fn every_link_resolves_and_stays_in_the_repository() {
    let docs = documents();
    let root = Path::new(ROOT).canonicalize().unwrap();
    let mut broken = Vec::new();
    for (path, text) in &docs {
        let name = path.strip_prefix(ROOT).unwrap().display().to_string();
        for target in links(text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            let Ok(real) = file.canonicalize() else {
                broken.push(format!("{name}: {target} (no such file)"));
                continue;
            };
            if !real.starts_with(&root) || real.starts_with(root.join("target")) {
                broken.push(format!("{name}: {target} (outside the repository)"));
                continue;
            }
            if let Some(anchor) = anchor {
                let text = fs::read_to_string(&real).unwrap_or_default();
                if !anchors(&text).contains(anchor) {
                    broken.push(format!("{name}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

#[test]
fn no_document_refers_to_files_outside_the_repository_or_to_internal_history() {
    for (path, text) in documents() {
        for leftover in [
            "/work/",
            "../shared",
            "shared/tools",
            "the sampler issue",
            "(an earlier run)",
            "an earlier run",
            "see the README",
        ] {
            assert!(
                !text.contains(leftover),
                "{} says {leftover:?}",
                path.display()
            );
        }
    }
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug(" `memwatch run` flags"), "memwatch-run-flags");
    assert_eq!(
        slug(" Clusters: Slurm, MPI and `memwatch merge`"),
        "clusters-slurm-mpi-and-memwatch-merge"
    );
    assert_eq!(
        slug(" JSON report (schema version 1)"),
        "json-report-schema-version-1"
    );
    let a = anchors("# A\n```\n# not a heading\n```\n## A\n");
    assert_eq!(a, ["a", "a-1"].map(String::from).into_iter().collect());
    assert_eq!(
        links("see [x](docs/faq.md#a) and `[y](z)`"),
        ["docs/faq.md#a"]
    );
}

#[test]
fn the_readme_gives_each_subcommand_the_usage_its_help_gives() {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    for sub in subcommands() {
        let help = text(&memwatch_output([sub.as_str(), "--help"]).stdout);
        let usage = help
            .lines()
            .find_map(|l| l.strip_prefix("Usage: "))
            .unwrap_or_else(|| panic!("no usage in memwatch {sub} --help"));
        assert!(
            readme.contains(&format!("`{usage}`")),
            "the README does not show `{usage}`"
        );
    }
}
