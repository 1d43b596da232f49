//! `memwatch plot` of one report split by program: stacked areas, the peak marked, the
//! split at the peak listed under the picture; `--total-only` draws today's picture; a
//! report of an earlier version (no split) too. Rendered in headless Chromium like the
//! total's picture (`plot.rs`, whose helpers these tests share).
//!
//! `MEMWATCH_UPDATE_EXAMPLE=1` also saves the rendering of the committed report of a real
//! `cargo build` (`tests/plot/cargo-build.json`) to `tests/plot/cargo-build.png`, the
//! picture in docs/commands.md.

use std::fs;
use std::path::Path;

use crate::plot::{BLUE, RED, decode, render, skip_without_chromium, svg_height, svg_texts};
use crate::util::*;

/// A real job of two programs (copies of memwatch named `alpha` and `beta`, so their
/// groups are told apart), peaking with both: alpha 60 MiB, beta two workers of 40 MiB.
fn two_programs(d: &TempDir) -> std::path::PathBuf {
    for name in ["alpha", "beta"] {
        std::os::unix::fs::symlink(BIN, d.join(name)).unwrap();
    }
    let script = "\"$0/alpha\" __workload --mib 60 --hold-ms 1500 & sleep 0.3; \
                  \"$0/beta\" __workload --mib 40 --fork 2 --parent-mib 1 --hold-ms 700; wait";
    let report = d.join("job.json");
    let f = finish(
        memwatch(["run", "-q", "-i", "20", "-o"])
            .arg(&report)
            .args(["--", "sh", "-c", script])
            .arg(d.path()),
    );
    f.assert_code(0);
    report
}

#[test]
fn plot_stacks_one_report_by_program_and_lists_the_split_at_the_peak() {
    let _g = heavy();
    let d = tempdir("stack");
    let report = two_programs(&d);
    let r = read_report(&report);
    let g = r.timeline_groups.as_ref().expect("a split by program");
    let by = |p: &str| g.groups.iter().find(|x| x.program == p);
    let (alpha, beta) = (by("alpha").unwrap(), by("beta").unwrap());
    assert!(alpha.max_rss_kib.unwrap() >= 60 * MIB, "{alpha:?}");
    assert!(beta.max_rss_kib.unwrap() >= 80 * MIB, "{beta:?}");
    assert_eq!(beta.processes, 3);
    let at_peak: u64 = g.groups.iter().map(|x| x.rss_at_peak_kib).sum();
    assert_eq!(
        Some(at_peak),
        r.max_total_rss_kib,
        "the split adds up to the peak"
    );
    assert!(alpha.rss_at_peak_kib >= 60 * MIB && beta.rss_at_peak_kib >= 80 * MIB);
    assert_eq!(g.groups[0].program, "beta", "largest peak first");

    let svg_path = d.join("stack.svg");
    let o = output(memwatch(["plot"]).arg(&report).arg("-o").arg(&svg_path));
    assert!(o.status.success(), "{o:?}");
    let svg = fs::read_to_string(&svg_path).unwrap();
    let texts = svg_texts(&svg);
    let heading = texts
        .iter()
        .find(|t| t.starts_with("At the peak, ") && t.ends_with(", by program"))
        .unwrap_or_else(|| panic!("{texts:?}"));
    assert!(
        heading.contains(&memwatch_iec(r.max_total_rss_kib.unwrap())),
        "{heading}"
    );
    for name in ["alpha", "beta", "sh"] {
        assert!(texts.iter().any(|t| t == name), "{name}: {texts:?}");
    }
    assert!(
        texts.iter().any(|t| t.starts_with("peak ")),
        "the peak is marked"
    );
    assert!(!texts.iter().any(|t| t == "Top processes by peak RSS"));

    // --total-only: the picture of the total, with its top processes.
    let o = output(memwatch(["plot", "--total-only"]).arg(&report));
    assert!(o.status.success(), "{o:?}");
    let texts = svg_texts(&text(&o.stdout));
    assert!(
        texts.iter().any(|t| t == "Top processes by peak RSS"),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.ends_with(", by program")));

    // A version-1 report (no split): the total's picture, as before.
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    v["schema_version"] = 1.into();
    v.as_object_mut().unwrap().remove("timeline_groups");
    let old = write_json(&d, "v1.json", &v);
    let o = output(memwatch(["plot"]).arg(&old));
    assert!(o.status.success(), "{o:?}");
    assert!(
        svg_texts(&text(&o.stdout))
            .iter()
            .any(|t| t == "Top processes by peak RSS")
    );

    let Some(chromium) = skip_without_chromium() else {
        return;
    };
    let png = d.join("stack.png");
    render(&chromium, &d, &svg_path, &png, 960, svg_height(&svg));
    let img = decode(&png);
    img.assert_looks_drawn(&[BLUE, RED]);
    // Areas, not lines: each of the two programs fills a good part of the chart.
    for (c, name) in [(BLUE, "beta"), (RED, "alpha")] {
        assert!(
            img.count_near(c) > 20_000,
            "{name}: {} pixels",
            img.count_near(c)
        );
    }
}

/// The size as memwatch writes it (one decimal, IEC).
fn memwatch_iec(kib: u64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let (mut v, mut i) = (kib as f64, 0);
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

#[test]
fn headless_chromium_renders_the_real_cargo_build() {
    let Some(chromium) = skip_without_chromium() else {
        return;
    };
    let _g = heavy();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plot");
    let report = dir.join("cargo-build.json");
    let r = read_report(&report);
    let g = r.timeline_groups.as_ref().unwrap();
    let names: Vec<&str> = g.groups.iter().map(|x| x.program.as_str()).collect();
    for p in ["cargo", "rustc"] {
        assert!(names.contains(&p), "{names:?}");
    }
    let d = tempdir("cargo-build");
    let svg_path = d.join("cargo-build.svg");
    let o = output(memwatch(["plot"]).arg(&report).arg("-o").arg(&svg_path));
    assert!(o.status.success(), "{o:?}");
    let height = svg_height(&fs::read_to_string(&svg_path).unwrap());
    let png = d.join("cargo-build.png");
    render(&chromium, &d, &svg_path, &png, 960, height);
    decode(&png).assert_looks_drawn(&[BLUE, RED]);
    if std::env::var_os("MEMWATCH_UPDATE_EXAMPLE").is_some_and(|v| v == "1") {
        fs::copy(&png, dir.join("cargo-build.png")).unwrap();
        eprintln!("wrote {}", dir.join("cargo-build.png").display());
    }
}
