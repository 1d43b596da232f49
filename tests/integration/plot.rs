//! `memwatch plot` end to end: the real binary writes SVG for synthetic and real reports,
//! the SVG is parsed as XML, and headless Chromium renders it to a PNG whose pixels are
//! checked (skipped, with the reason, when Chromium is not installed; a failure under
//! `MEMWATCH_REQUIRE_ALL=1`).
//!
//! `MEMWATCH_UPDATE_EXAMPLE=1 cargo test --test integration plot::` also saves the
//! rendering of a real job to tests/plot/example.png (the picture in docs/commands.md).

use std::ffi::OsStr;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::util::*;

/// The line colours of the first reports (memwatch's plot palette), as RGB.
pub(crate) const BLUE: [u8; 3] = [0x1f, 0x77, 0xb4];
pub(crate) const RED: [u8; 3] = [0xd6, 0x27, 0x28];
pub(crate) const GREEN: [u8; 3] = [0x2c, 0xa0, 0x2c];

/// Run memwatch (with the deadline), with `path_dir` first on its PATH if given.
fn mw(args: &[&dyn AsRef<OsStr>], path_dir: Option<&Path>) -> Output {
    let mut c = memwatch(args.iter().map(|a| a.as_ref()));
    if let Some(dir) = path_dir {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        c.env("PATH", std::env::join_paths(dirs).unwrap());
    }
    output(&mut c)
}

/// A real report edited to this command and timeline (t_ms, KiB).
fn report(command: &[&str], timeline: &[(u64, u64)]) -> Value {
    let mut v = real_report().clone();
    let peak = timeline.iter().max_by_key(|p| p.1).copied();
    v["command"] = json!(command);
    v["timeline"] = timeline
        .iter()
        .map(|&(t, k)| json!({"t_ms": t, "total_rss_kib": k, "processes": 2}))
        .collect();
    v["max_total_rss_kib"] = json!(peak.map(|p| p.1));
    v["max_total_rss_ms"] = json!(peak.map(|p| p.0));
    v["samples"] = json!(timeline.len());
    v["duration_seconds"] = json!(timeline.last().map_or(0.0, |p| p.0 as f64 / 1000.0));
    v["processes"][0]["command"] = json!(command.join(" "));
    v["processes"][0]["max_rss_kib"] = json!(peak.map(|p| p.1));
    // The real job's split by program is not this timeline's: the total's picture.
    v["timeline_groups"] = Value::Null;
    v
}

/// A ramp, a plateau, a spike and a fall over `secs` seconds, peaking at `peak_mib`.
fn shape(secs: u64, peak_mib: u64) -> Vec<(u64, u64)> {
    let n = 200;
    (0..=n)
        .map(|i| {
            let t = secs * 1000 * i / n;
            let f = i as f64 / n as f64;
            let level = if f < 0.3 {
                f / 0.3 * 0.6
            } else if (0.55..0.6).contains(&f) {
                1.0
            } else if f < 0.9 {
                0.6
            } else {
                0.05
            };
            (t, (level * (peak_mib * MIB) as f64) as u64)
        })
        .collect()
}

pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(roxmltree::Node::is_text)
                .filter_map(|t| t.text())
                .collect::<String>()
        })
        .collect()
}

pub(crate) fn svg_height(svg: &str) -> u32 {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.root_element()
        .attribute("height")
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn plot_writes_well_formed_svg_to_a_file_or_stdout() {
    let d = tempdir("svg");
    let cmd = [
        "sh",
        "-c",
        r#"./app < in.txt && echo "done" 'ok' > /dev/null"#,
    ];
    let r = write_json(&d, "r.json", &report(&cmd, &shape(30, 700)));
    let out = d.join("mem.svg");
    let o = mw(&[&"plot", &r, &"-o", &out], None);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o:?}");
    let svg = std::fs::read_to_string(&out).unwrap();
    let texts = svg_texts(&svg);
    assert!(texts.contains(&cmd.join(" ")), "{texts:?}");
    assert!(
        texts.contains(&"peak 700.0 MiB at 17.9 s".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Top processes by peak RSS".to_string()),
        "{texts:?}"
    );
    assert!(texts.contains(&"time since start (seconds)".to_string()));
    assert!(texts.iter().any(|t| t == "800 MiB"), "{texts:?}");
    assert!(!svg.contains("<script") && !svg.contains("href") && !svg.contains("@import"));
    // Without -o the same SVG goes to standard output.
    let o = mw(&[&"plot", &r], None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), svg);
}

#[test]
fn long_jobs_are_in_minutes_and_hours() {
    let d = tempdir("long");
    let r = write_json(&d, "r.json", &report(&["make"], &shape(1800, 2048)));
    let o = mw(&[&"plot", &r], None);
    let texts = svg_texts(&String::from_utf8(o.stdout).unwrap());
    assert!(
        texts.contains(&"time since start (minutes)".to_string()),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.ends_with(" GiB")), "{texts:?}");
    let r = write_json(&d, "h.json", &report(&["make"], &shape(5 * 3600, 10)));
    let o = mw(&[&"plot", &r], None);
    let texts = svg_texts(&String::from_utf8(o.stdout).unwrap());
    assert!(
        texts.contains(&"time since start (hours)".to_string()),
        "{texts:?}"
    );
}

#[test]
fn several_reports_overlay_with_a_legend() {
    let d = tempdir("overlay");
    let paths: Vec<PathBuf> = [1u64, 2, 4]
        .iter()
        .map(|&n| {
            let cmd = ["./app", "-n", &n.to_string()].map(str::to_string);
            let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
            write_json(
                &d,
                &format!("n{n}.json"),
                &report(&cmd, &shape(10 + n, 100 * n)),
            )
        })
        .collect();
    let o = mw(&[&"plot", &paths[0], &paths[1], &paths[2]], None);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let svg = String::from_utf8(o.stdout).unwrap();
    let texts = svg_texts(&svg);
    for (label, peak) in [
        ("-n 1", "100.0 MiB"),
        ("-n 2", "200.0 MiB"),
        ("-n 4", "400.0 MiB"),
    ] {
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with(label) && t.contains(&format!("peak {peak}"))),
            "{label}: {texts:?}"
        );
    }
    assert!(
        texts.contains(&"./app -n … (3 runs)".to_string()),
        "{texts:?}"
    );
    for c in ["#1f77b4", "#d62728", "#2ca02c"] {
        assert!(svg.contains(&format!(r#"stroke="{c}""#)), "{c}");
    }
    // --label and --title.
    let o = mw(
        &[
            &"plot",
            &paths[0],
            &paths[1],
            &"--label",
            &"one",
            &"--label",
            &"two",
            &"--title",
            &"a <b> & c",
        ],
        None,
    );
    let texts = svg_texts(&String::from_utf8(o.stdout).unwrap());
    assert!(texts.contains(&"a <b> & c".to_string()), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("one")), "{texts:?}");
}

#[test]
fn edge_cases_give_well_formed_svg() {
    let d = tempdir("edges");
    let mut null_peak = report(&["n"], &[(0, 10), (10, 20)]);
    null_peak["max_total_rss_kib"] = Value::Null;
    null_peak["max_total_rss_ms"] = Value::Null;
    for (name, v) in [
        ("empty", report(&["true"], &[])),
        ("one", report(&["x"], &[(5, 4096)])),
        ("zeros", report(&["z"], &[(0, 0), (100, 0)])),
        ("null", null_peak),
    ] {
        let p = write_json(&d, &format!("{name}.json"), &v);
        let o = mw(&[&"plot", &p], None);
        assert_eq!(o.status.code(), Some(0), "{name}: {o:?}");
        let svg = String::from_utf8(o.stdout).unwrap();
        svg_texts(&svg);
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{name}: {svg}"
        );
    }
}

#[test]
fn bad_input_and_output() {
    let d = tempdir("bad");
    let good = write_json(&d, "good.json", &report(&["x"], &shape(1, 1)));
    let corrupt = d.join("corrupt.json");
    std::fs::write(&corrupt, "{").unwrap();
    let missing = d.join("missing.json");
    for (args, code, needle) in [
        (
            vec![&good as &dyn AsRef<std::ffi::OsStr>, &missing],
            2,
            "missing.json: cannot read report",
        ),
        (
            vec![&corrupt],
            2,
            "corrupt.json: not a memwatch JSON report",
        ),
        (
            vec![&good, &"--label", &"a", &"--label", &"b"],
            125,
            "one per report",
        ),
        (vec![], 125, "REPORT"),
        (
            vec![&good, &"-o", &d.join("no/such/dir/x.svg")],
            125,
            "x.svg: No such file or directory",
        ),
    ] {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"plot"];
        a.extend(args);
        let o = mw(&a, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("memwatch: ") && err.contains(needle),
            "{needle}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
}

/// Chromium, if installed: `$CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(c) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(c));
    }
    which("chromium").or_else(|| which("chromium-browser"))
}

/// Screenshot `svg` with headless Chromium at `width` x `height` into `png`.
pub(crate) fn render(
    chromium: &Path,
    dir: &TempDir,
    svg: &Path,
    png: &Path,
    width: u32,
    height: u32,
) {
    let o = output(
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--no-first-run",
                "--force-device-scale-factor=1",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("file://{}", svg.display())),
    );
    assert!(
        o.status.success() && png.is_file(),
        "chromium failed ({}): {}",
        o.status,
        text(&o.stderr)
    );
}

/// The decoded screenshot.
pub(crate) struct Image {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// RGB, row by row.
    rgb: Vec<[u8; 3]>,
}

pub(crate) fn decode(png_path: &Path) -> Image {
    let mut decoder = png::Decoder::new(BufReader::new(File::open(png_path).unwrap()));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|px| match channels {
            1 | 2 => [px[0]; 3],
            _ => [px[0], px[1], px[2]],
        })
        .collect();
    Image {
        width: info.width,
        height: info.height,
        rgb,
    }
}

impl Image {
    /// Pixels within a small distance of `c` (anti-aliased edges left out).
    pub(crate) fn count_near(&self, c: [u8; 3]) -> usize {
        self.rgb
            .iter()
            .filter(|p| p.iter().zip(c).all(|(&a, b)| a.abs_diff(b) <= 24))
            .count()
    }

    /// Assert the picture is not blank: many colours, a fair share of non-white pixels,
    /// dark text, and each of `colors` drawn.
    pub(crate) fn assert_looks_drawn(&self, colors: &[[u8; 3]]) {
        let total = self.rgb.len();
        assert_eq!(total, (self.width * self.height) as usize);
        let mut distinct: Vec<[u8; 3]> = self.rgb.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let non_white = self
            .rgb
            .iter()
            .filter(|p| p.iter().any(|&v| v < 240))
            .count();
        let dark = self
            .rgb
            .iter()
            .filter(|p| p.iter().all(|&v| v < 80))
            .count();
        let share = non_white as f64 / total as f64;
        assert!(
            distinct.len() >= 50,
            "only {} colours: blank?",
            distinct.len()
        );
        assert!(
            (0.02..0.8).contains(&share),
            "{:.1}% of pixels non-white",
            share * 100.0
        );
        assert!(dark > 1000, "{dark} dark pixels: no text?");
        for &c in colors {
            let n = self.count_near(c);
            assert!(n > 300, "colour {c:?}: {n} pixels");
        }
    }
}

/// Chromium, or `None` after [`skip_or_fail`].
pub(crate) fn skip_without_chromium() -> Option<PathBuf> {
    let c = chromium();
    if c.is_none() {
        skip_or_fail(
            "chromium is not installed (apt-get install chromium; .ci/run installs it), \
             so the SVG was not rendered in a browser",
        );
    }
    c
}

/// A real job: a steady worker, then a short spike, then a parent with four children.
const REAL_JOB: &str = "memwatch __workload --mib 50 --hold-ms 3000 & sleep 0.3; \
     memwatch __workload --mib 200 --spike-ms 300 --hold-ms 100; \
     memwatch __workload --mib 25 --fork 4 --hold-ms 800; wait";

#[test]
fn headless_chromium_renders_a_real_job() {
    let Some(chromium) = skip_without_chromium() else {
        return;
    };
    let _g = heavy();
    let d = tempdir("render");
    // `memwatch` on the PATH so the picture shows a readable command.
    let bin_dir = Path::new(BIN).parent().unwrap();
    let report = d.join("job.json");
    let o = mw(
        &[
            &"run", &"-q", &"-i", &"20", &"--json", &"-o", &report, &"--", &"sh", &"-c", &REAL_JOB,
        ],
        Some(bin_dir),
    );
    assert!(o.status.success(), "{o:?}");
    let svg_path = d.join("mem.svg");
    let o = mw(&[&"plot", &report, &"-o", &svg_path], None);
    assert!(o.status.success(), "{o:?}");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let height = svg_height(&svg);
    let png_path = d.join("mem.png");
    render(&chromium, &d, &svg_path, &png_path, 960, height);
    let img = decode(&png_path);
    assert_eq!((img.width, img.height), (960, height));
    img.assert_looks_drawn(&[BLUE]);
    if std::env::var_os("MEMWATCH_UPDATE_EXAMPLE").is_some_and(|v| v == "1") {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plot/example.png");
        std::fs::create_dir_all(example.parent().unwrap()).unwrap();
        std::fs::copy(&png_path, &example).unwrap();
        eprintln!("wrote {}", example.display());
    }
}

#[test]
fn headless_chromium_renders_an_overlay() {
    let Some(chromium) = skip_without_chromium() else {
        return;
    };
    let _g = heavy();
    let d = tempdir("render-overlay");
    let paths: Vec<PathBuf> = [1u64, 2, 4]
        .iter()
        .map(|&n| {
            let cmd = ["./app", "-n", &n.to_string()].map(str::to_string);
            let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
            write_json(
                &d,
                &format!("n{n}.json"),
                &report(&cmd, &shape(10, 100 * n)),
            )
        })
        .collect();
    let svg_path = d.join("overlay.svg");
    let o = mw(
        &[&"plot", &paths[0], &paths[1], &paths[2], &"-o", &svg_path],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let height = svg_height(&std::fs::read_to_string(&svg_path).unwrap());
    let png_path = d.join("overlay.png");
    render(&chromium, &d, &svg_path, &png_path, 960, height);
    decode(&png_path).assert_looks_drawn(&[BLUE, RED, GREEN]);
}

/// The `y1` of the dashed limit line of an SVG.
fn limit_line_y(svg: &str) -> Option<f64> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name("line") && n.attribute("class") == Some("limit"))
        .map(|n| n.attribute("y1").unwrap().parse().unwrap())
}

#[test]
fn headless_chromium_draws_the_limit_as_a_line_at_its_height() {
    let Some(chromium) = skip_without_chromium() else {
        return;
    };
    let _g = heavy();
    let d = tempdir("render-limit");
    // A job peaking at 100 MiB under a 150 MiB cgroup limit.
    let mut v = report(&["./app"], &shape(10, 100));
    v["memory_limit"] = json!({
        "kib": 150 * MIB,
        "source": "cgroup",
        "detail": "/sys/fs/cgroup/job/memory.max"
    });
    let path = write_json(&d, "limit.json", &v);
    let svg_path = d.join("limit.svg");
    let o = mw(&[&"plot", &path, &"-o", &svg_path], None);
    assert!(o.status.success(), "{o:?}");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(
        svg_texts(&svg).contains(&"limit 150.0 MiB (cgroup memory.max)".to_string()),
        "{svg}"
    );
    let y = limit_line_y(&svg).expect("a limit line");
    let height = svg_height(&svg);
    let png_path = d.join("limit.png");
    render(&chromium, &d, &svg_path, &png_path, 960, height);
    let img = decode(&png_path);
    img.assert_looks_drawn(&[BLUE, RED]);
    // The red is a dashed horizontal line at the limit's height: the row with the most red
    // pixels is there, and holds most of the width of the chart in dashes.
    let red_in_row = |row: u32| {
        (0..img.width)
            .filter(|&x| {
                let p = img.rgb[(row * img.width + x) as usize];
                p.iter().zip(RED).all(|(&a, b)| a.abs_diff(b) <= 24)
            })
            .count()
    };
    let (row, n) = (0..img.height)
        .map(|row| (row, red_in_row(row)))
        .max_by_key(|&(_, n)| n)
        .unwrap();
    assert!(
        (f64::from(row) - y).abs() <= 1.5,
        "most red at row {row}, the line is at {y}"
    );
    assert!(
        n > 400,
        "{n} red pixels in the line's row: not a dashed line across the chart"
    );
}
