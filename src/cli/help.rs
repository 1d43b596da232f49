//! The words `--help` and the manual page share, written once: each subcommand's examples
//! and notes, the exit-status table, the environment. `--help` renders them as text
//! ([`short`], [`long`]); `memwatch man` as roff (`docs.rs`).

/// What memwatch is, for `memwatch --help` and the manual's DESCRIPTION.
pub(crate) const DESCRIPTION: &str = "\
How much memory did this whole job really use? memwatch run starts a command, samples the \
resident memory (RSS) of it and of every process it starts, and when the job ends reports \
the peak total (the most the whole job held at once), each process's own peak, the job's \
CPU time and the kernel's counts, as a summary on standard error, JSON or CSV. It runs on \
Linux; its macOS backend is type-checked for both Apple targets but has not yet been run on \
a Mac.

memwatch compare turns reports into a CI gate (did this branch raise the peak by more \
than 20%?) or a scaling table, memwatch merge finds the peak of one job from the reports \
of its nodes, and memwatch plot draws reports as SVG.";

/// One example: what it does (a `#` comment in the help, so it can be pasted too) and the
/// command line.
pub(crate) type Example = (&'static str, &'static str);

/// What a subcommand's help says after its options.
pub(crate) struct Page {
    /// The subcommand (`""` for `memwatch` itself).
    pub(crate) name: &'static str,
    /// Paragraphs (separated by blank lines) shown by `--help` and the manual page, not by
    /// `-h`.
    pub(crate) notes: &'static str,
    /// Its examples.
    pub(crate) examples: &'static [Example],
}

/// Every status memwatch exits with, for every subcommand: (status, meaning).
pub(crate) const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "success (compare: within every limit given; sweep: every run succeeded; attach: the \
         process exited, or memwatch was stopped by a signal)",
    ),
    (
        "1",
        "compare: a limit was exceeded (--max-increase, --max-rss), or a report is of a failed run",
    ),
    (
        "2",
        "compare, merge, plot, export: a report given cannot be read or used (missing, not a \
         memwatch report, lacking a figure a limit checks)",
    ),
    (
        "3",
        "run, attach: the job's peak failed --max-rss (run: the command itself succeeded)",
    ),
    (
        "125",
        "the command line cannot be used (any subcommand; run, sweep: the command was not \
         run; attach: memwatch cannot attach to the process), or memwatch itself failed (an \
         output that cannot be written)",
    ),
    (
        "126",
        "run, sweep: the command was found but could not be executed",
    ),
    ("127", "run, sweep: the command was not found"),
    (
        "128+N",
        "run, sweep: the command was killed by signal N, or memwatch was interrupted by \
         signal N",
    ),
    (
        "other",
        "run: the command's own exit status; sweep: the first failed run's",
    ),
];

/// The environment variables memwatch reads: (name, what for).
pub(crate) const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "NO_COLOR",
        "When set, run shows no live status line on the terminal.",
    ),
    ("TERM", "When unset or dumb, run shows no live status line."),
    (
        "SLURM_JOB_ID, SLURM_STEP_ID, SLURM_NODEID, SLURM_PROCID",
        "Recorded in the report's launcher object; SLURM_PROCID is the rank of %r, \
         SLURM_JOB_ID (with SLURM_STEP_ID) the job id of %j in output paths.",
    ),
    (
        "OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_LOCAL_RANK, PMI_RANK",
        "Recorded in the report's launcher object; the rank of %r when SLURM_PROCID is unset.",
    ),
    (
        "SLURM_MEM_PER_NODE, SLURM_MEM_PER_CPU, SLURM_CPUS_ON_NODE",
        "The memory Slurm allocated on this node: one of the limits in force the report \
         compares the peak with (memory_limit).",
    ),
    (
        "PATH",
        "Where run looks for the command, as execvp(3) does.",
    ),
    (
        "MEMWATCH_RUN",
        "Set by run in the command's environment, to a value unique to the run: by it \
         memwatch knows the tasks a launcher's daemon (Slurm's slurmstepd) starts for the job.",
    ),
    (
        "TMPDIR",
        "Where run saves the report when it cannot be written where -o asked.",
    ),
    (
        "MEMWATCH_REQUIRE_ALL",
        "For memwatch's own test suite only: 1 makes a test that cannot run on this machine \
         fail instead of skipping.",
    ),
];

/// Where the reference material lives, for SEE ALSO and the help's last line.
pub(crate) const REFERENCE: &str = "in memwatch's source, docs/schema.md (the JSON reports), \
     docs/ci.md, docs/clusters.md, docs/accuracy.md, docs/performance.md and docs/faq.md.";

/// The width help texts are laid out for, so that no terminal of 80 columns rewraps them.
const WIDTH: usize = 79;

/// `-i`, `-o` and the output placeholders, explained once for `run --help` and the manual.
const RUN_NOTES: &str = "\
The command is run directly (execvp, no shell): write sh -c '...' for a pipeline. Everything \
after -- is the command's, untouched.

Choosing an interval: memwatch sees the memory a job holds at each sample, so a peak \
shorter than the interval can be missed (the report warns when a process's own peak, as \
the kernel counted it, is above what the samples saw). The default, 500ms, suits jobs of \
minutes or hours; for a job of a few seconds use -i 10ms to -i 50ms. A sample costs about \
a microsecond per job process on Linux (docs/performance.md).

Output paths (-o, --timeline, --csv, --plot) may hold placeholders, so that every node \
and rank of a cluster job writes its own file: %h the host name, %r the rank \
(SLURM_PROCID, else OMPI_COMM_WORLD_RANK, else PMI_RANK), %j the Slurm job id (with its \
step), %p memwatch's pid, %% a percent sign. A placeholder whose value is unknown is an \
error, and the command is not run.";

/// Every page, the top-level one first.
pub(crate) const PAGES: &[Page] = &[
    Page {
        name: "",
        notes: "",
        examples: &[
            (
                "Profile a job; the summary goes to standard error, like time(1)",
                "memwatch run -i 10ms -- sh -c 'ls -lR /usr | sort | gzip -9 | wc -c'",
            ),
            (
                "A CI gate: fail when the branch's peak rose by more than 20%",
                "memwatch compare main.json branch.json --max-increase 20%",
            ),
            (
                "Draw a run's memory over time",
                "memwatch plot mem.json -o mem.svg",
            ),
            (
                "The job peak of a cluster job, from one report per node",
                "memwatch merge mem-*.json",
            ),
        ],
    },
    Page {
        name: "run",
        notes: RUN_NOTES,
        examples: &[
            (
                "The summary on standard error when the job ends, like time(1)",
                "memwatch run -- cargo test",
            ),
            (
                "Sample every 10 ms: a short job needs a short interval",
                "memwatch run -i 10ms -- python3 -c 'x = bytearray(100 * 2**20)'",
            ),
            (
                "The report as JSON alone on standard output (make's output goes to standard error)",
                "memwatch run --json -- make -j8 > mem.json",
            ),
            (
                "One report per host and rank of a cluster job (%h host, %r rank)",
                "srun memwatch run -o mem-%h-%r.json -- ./app",
            ),
            (
                "Also write process_peaks.csv and timeline.csv into out/",
                "memwatch run --csv out/ -- make -j8",
            ),
            (
                "Stream every sample to a CSV file as it is taken (for long jobs)",
                "memwatch run -i 2s --timeline timeline.csv -- ./long-job",
            ),
            (
                "Fail (exit 3) when the job's peak is over 2 GiB",
                "memwatch run --max-rss 2GiB -- cargo test",
            ),
        ],
    },
    Page {
        name: "compare",
        notes: crate::cli::compare::NOTES,
        examples: &[
            (
                "Gate a branch: exit 1 if its peak is more than 20% above main's",
                "memwatch compare main.json branch.json --max-increase 20%",
            ),
            (
                "Gate on the largest process instead, by an amount",
                "memwatch compare main.json branch.json --metric process --max-increase 256MiB",
            ),
            (
                "Three runs on each side: the medians are compared",
                "memwatch compare --base main1.json main2.json main3.json --new pr1.json pr2.json pr3.json --max-increase 10%",
            ),
            (
                "A scaling table: ratios to the first report",
                "memwatch compare n1.json n2.json n4.json n8.json --label 1 --label 2 --label 4 --label 8",
            ),
            (
                "Reports of run --metric pss, gated on the PSS",
                "memwatch compare main.json branch.json --metric pss --max-increase 10%",
            ),
            (
                "One report against an absolute limit",
                "memwatch compare --max-rss 2GiB mem.json",
            ),
        ],
    },
    Page {
        name: "merge",
        notes: crate::cli::merge::NOTES,
        examples: &[
            (
                "One report per node and rank, then the job's peak",
                "srun memwatch run -o mem-%h-%r.json -- ./app",
            ),
            ("", "memwatch merge mem-*.json"),
            (
                "The merge as JSON, to a file",
                "memwatch merge mem-*.json --json -o job.json",
            ),
        ],
    },
    Page {
        name: "plot",
        notes: "",
        examples: &[
            (
                "One run's total RSS over time",
                "memwatch plot mem.json -o mem.svg",
            ),
            (
                "Several runs over each other, named in the legend",
                "memwatch plot n1.json n2.json n4.json --label 1 --label 2 --label 4 -o scaling.svg",
            ),
        ],
    },
    Page {
        name: "sweep",
        notes: crate::cli::sweep::NOTES,
        examples: &[
            (
                "Peak memory against the number of MPI ranks, with a forecast at 64",
                "memwatch sweep -p ranks 1,2,4,8 --predict 64 -- mpirun -n {ranks} ./app",
            ),
            (
                "make -j1 to -j8, five runs each, sampled every 20 ms",
                "memwatch sweep -p jobs 1..8 -r 5 -i 20ms -- make -j{jobs}",
            ),
            (
                "Doubling batch sizes, the reports and sweep.json kept in batch-sweep/",
                "memwatch sweep -p batch 1..64:x2 -o batch-sweep -- python3 train.py --batch {batch}",
            ),
            (
                "Values that are not numbers: a sweep without a fit",
                "memwatch sweep -p alloc glibc,jemalloc -- env LD_PRELOAD=./lib{alloc}.so ./app",
            ),
            (
                "Draw a sweep, and gate a branch's sweep on main's",
                "memwatch plot batch-sweep/sweep.json -o batch.svg",
            ),
            (
                "",
                "memwatch compare main/sweep.json branch/sweep.json --max-increase 10%",
            ),
        ],
    },
    Page {
        name: "attach",
        notes: crate::cli::attach::NOTES,
        examples: &[
            (
                "Measure a running server until it exits, or until Ctrl+C",
                "memwatch attach 4242 -o server.json",
            ),
            (
                "The oldest nginx process, sampled every 100 ms, drawn",
                "memwatch attach $(pgrep -o nginx) -i 100ms --plot nginx.svg",
            ),
            (
                "One minute of it, as JSON",
                "timeout -s INT 60 memwatch attach 4242 --json > mem.json",
            ),
            (
                "Exit 3 if its peak goes over 2 GiB",
                "memwatch attach 4242 --max-rss 2GiB -o server.json",
            ),
        ],
    },
    Page {
        name: "export",
        notes: crate::cli::export::NOTES,
        examples: &[
            (
                "A summary table on a GitHub Actions run's page",
                "memwatch export mem.json --to markdown >> \"$GITHUB_STEP_SUMMARY\"",
            ),
            (
                "For github-action-benchmark",
                "memwatch export mem.json --to github-benchmark --name build -o bench.json",
            ),
            (
                "For Bencher",
                "memwatch export mem.json --to bencher --name build",
            ),
            (
                "Snakemake's benchmark file",
                "memwatch export mem.json --to snakemake -o benchmarks/align.tsv",
            ),
            (
                "For node_exporter's textfile collector",
                "memwatch export mem.json --to openmetrics -o /var/lib/node_exporter/memwatch.prom",
            ),
            (
                "A merge of several nodes",
                "memwatch export merged.json --to markdown",
            ),
            (
                "A sweep's medians, one benchmark per value",
                "memwatch export sweep-n-20261130T080700Z/sweep.json --to github-benchmark --name app",
            ),
        ],
    },
    Page {
        name: "completions",
        notes: "",
        examples: &[
            (
                "Bash",
                "memwatch completions bash > ~/.local/share/bash-completion/completions/memwatch",
            ),
            (
                "Zsh",
                "memwatch completions zsh > \"${fpath[1]}/_memwatch\"",
            ),
            (
                "Fish",
                "memwatch completions fish > ~/.config/fish/completions/memwatch.fish",
            ),
        ],
    },
    Page {
        name: "man",
        notes: "",
        examples: &[
            ("Read it", "memwatch man | man -l -"),
            (
                "Install it",
                "memwatch man > /usr/local/share/man/man1/memwatch.1",
            ),
        ],
    },
];

/// The page of subcommand `name` (`""`: memwatch itself).
pub(crate) fn page(name: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.name == name)
}

/// `line` cut at spaces into lines of at most `width` columns, the first indented by
/// `first`, the others by `rest`.
pub(crate) fn wrap(line: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    wrap_words(&words, width, first, rest)
}

/// [`wrap`] of words already split.
fn wrap_words(words: &[impl AsRef<str>], width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = first.to_string();
    let mut empty = true;
    for word in words.iter().map(AsRef::as_ref) {
        if !empty && cur.len() + 1 + word.len() > width {
            out.push(std::mem::replace(&mut cur, rest.to_string()));
            empty = true;
        }
        if !empty {
            cur.push(' ');
        }
        cur.push_str(word);
        empty = false;
    }
    out.push(cur);
    out
}

/// An example's command line as it is shown: one line, or lines continued with ` \` that a
/// shell reads as one, each within [`WIDTH`] after `indent` (a quoted word is never cut).
pub(crate) fn command_lines(line: &str, indent: usize) -> Vec<String> {
    // Words of the shell: spaces inside quotes do not separate them.
    let mut words: Vec<String> = vec![String::new()];
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (c, quote) {
            (' ', None) => words.push(String::new()),
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            _ => {}
        }
        if c != ' ' || quote.is_some() {
            words.last_mut().expect("never empty").push(c);
        }
    }
    let mut lines = wrap_words(&words, WIDTH - indent - 2, "", "    ");
    let n = lines.len();
    for l in &mut lines[..n - 1] {
        l.push_str(" \\");
    }
    lines
}

/// The examples as `--help` shows them: each one's comment, then its line.
fn examples(page: &Page) -> String {
    let mut s = String::from("Examples:\n");
    for (what, line) in page.examples {
        if !what.is_empty() {
            for l in wrap(what, WIDTH, "  # ", "  # ") {
                s.push_str(&l);
                s.push('\n');
            }
        }
        for l in command_lines(line, 2) {
            s.push_str(&format!("  {l}\n"));
        }
    }
    s
}

/// The exit-status table as `--help` shows it.
pub(crate) fn exit_status() -> String {
    let mut s = String::from("Exit status (the same for every subcommand):\n");
    for (code, meaning) in EXIT_STATUS {
        let first = format!("  {code:<6} ");
        for l in wrap(meaning, WIDTH, &first, &" ".repeat(first.len())) {
            s.push_str(&l);
            s.push('\n');
        }
    }
    s
}

/// What `-h` shows after the options: the examples and the exit statuses.
pub(crate) fn short(name: &str) -> String {
    let page = page(name).expect("every subcommand has a help page");
    format!("{}\n{}", examples(page), exit_status().trim_end())
}

/// What `--help` shows after the options: the notes, the examples, the exit statuses and
/// where to read more.
pub(crate) fn long(name: &str) -> String {
    let page = page(name).expect("every subcommand has a help page");
    let notes = if page.notes.is_empty() {
        String::new()
    } else {
        format!("{}\n\n", page.notes)
    };
    let see_also = format!("See also the manual page (memwatch man | man -l -) and, {REFERENCE}");
    let see_also = wrap(&see_also, WIDTH, "", "").join("\n");
    format!("{notes}{}\n{}\n{see_also}", examples(page), exit_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_has_a_page_and_examples_that_use_it() {
        use clap::CommandFactory;
        let cmd = super::super::Cli::command();
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name();
            if name == "help" {
                continue;
            }
            let p = page(name).unwrap_or_else(|| panic!("no help page for {name}"));
            assert!(!p.examples.is_empty(), "{name} has no examples");
            assert!(
                p.examples
                    .iter()
                    .any(|(_, l)| l.contains(&format!("memwatch {name}"))),
                "no example of {name} uses it"
            );
        }
    }

    #[test]
    fn examples_are_one_line_each_and_never_prose() {
        for p in PAGES {
            for (what, line) in p.examples {
                assert!(!line.contains('\n') && !what.contains('\n'), "{line}");
                assert!(line.contains("memwatch "), "{line}");
                assert!(!line.contains("  "), "a remark inside an example: {line}");
            }
        }
    }

    #[test]
    fn long_lines_are_cut_where_a_shell_or_a_reader_expects() {
        assert_eq!(wrap("a bb ccc", 4, "", ""), ["a bb", "ccc"]);
        assert_eq!(wrap("a bb ccc", 6, "> ", "  "), ["> a bb", "  ccc"]);
        let lines = command_lines(&format!("memwatch compare {}", "x.json ".repeat(20)), 2);
        assert!(lines.len() > 1);
        let quoted = format!("memwatch run -- sh -c '{}'", "ls -l | ".repeat(12));
        assert_eq!(
            command_lines(&quoted, 2),
            [
                "memwatch run -- sh -c \\".to_string(),
                format!("    {}", &quoted[22..])
            ]
        );
        for l in &lines[..lines.len() - 1] {
            assert!(l.ends_with(" \\") && l.len() + 2 <= WIDTH, "{l}");
        }
        for name in PAGES.iter().map(|p| p.name) {
            for l in long(name).lines().chain(short(name).lines()) {
                // Only the notes' paragraphs are left to clap to fill.
                if l.starts_with(' ') {
                    assert!(l.chars().count() <= WIDTH, "{name}: {l}");
                }
            }
        }
    }

    #[test]
    fn the_exit_table_has_every_status_once() {
        use crate::error::Status;
        for s in [
            Status::Ok,
            Status::GateFailed,
            Status::BadInput,
            Status::MaxRssExceeded,
            Status::Failure,
            Status::CannotExecute,
            Status::NotFound,
        ] {
            let code = s.code().to_string();
            assert_eq!(
                EXIT_STATUS.iter().filter(|(c, _)| *c == code).count(),
                1,
                "{code}"
            );
        }
    }
}
