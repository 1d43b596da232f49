//! The one place where numbers become text for people: sizes (IEC, one decimal),
//! durations, a figure's value in its unit, changes, percentages, ratios, and command lines
//! cut to fit. Every renderer (the summary, compare, merge, plot, the status line, the
//! warnings) writes through these.

use std::time::Duration;

use crate::model::figures::Unit;

/// KiB as IEC text with one decimal: `512.0 KiB`, `1.5 MiB`, `6.4 GiB`.
pub(crate) fn iec(kib: u64) -> String {
    Iec(kib).to_string()
}

/// [`iec`] as a `Display` value, for writing into a reused buffer without allocating.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Iec(pub u64);

impl std::fmt::Display for Iec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (per_unit, unit) = iec_unit(self.0 as f64);
        write!(f, "{:.1} {unit}", self.0 as f64 / per_unit)
    }
}

/// The unit [`iec`] writes `kib` in, as (KiB per unit, name): `(1024.0, "MiB")` for 1.5
/// MiB. Lets a chart's axis label every tick in the unit of its largest value.
pub(crate) fn iec_unit(kib: f64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut per_unit = 1.0;
    let mut unit = 0;
    // Switch units before rounding could print "1024.0".
    while kib / per_unit >= 1023.95 && unit < UNITS.len() - 1 {
        per_unit *= 1024.0;
        unit += 1;
    }
    (per_unit, UNITS[unit])
}

/// KiB that may be negative (a fitted line's intercept or slope): `-2.0 MiB`, `1.5 MiB`.
pub(crate) fn iec_signed(kib: f64) -> String {
    let text = iec(kib.abs().round() as u64);
    if kib < 0.0 && text != iec(0) {
        format!("-{text}")
    } else {
        text
    }
}

/// Optional KiB: `unknown` when memwatch could not read it.
pub(crate) fn iec_or_unknown(kib: Option<u64>) -> String {
    kib.map_or_else(|| "unknown".to_string(), iec)
}

/// A duration for people: `87 ms` below a second, `12.3 s` below a minute, else `00:03:21`.
pub(crate) fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    }
}

/// Seconds (from a report) as a [`duration`]; negative as 0, too large as the maximum.
pub(crate) fn seconds(s: f64) -> String {
    duration(Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX))
}

/// Milliseconds as a [`duration`].
pub(crate) fn millis(ms: u64) -> String {
    duration(Duration::from_millis(ms))
}

/// An interval in milliseconds, as finely as it matters: `1.7 ms` below 10 ms, `40 ms`
/// below a second, `2.5 s` above. A `Display` value, for writing into a reused buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Interval(pub f64);

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.max(0.0);
        if ms < 9.95 {
            // Half up: 1.65 ms (1.6499… in binary) is 1.7 ms.
            write!(f, "{:.1} ms", (ms * 10.0 + 1e-9).round() / 10.0)
        } else if ms < 999.5 {
            write!(f, "{ms:.0} ms")
        } else {
            write!(f, "{:.1} s", ms / 1000.0)
        }
    }
}

/// A figure's value as text, in its unit: `1.5 GiB`, `12.3 s`, `17`.
pub(crate) fn value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Kib => iec(v.max(0.0).round() as u64),
        Unit::Seconds => seconds(v),
        Unit::Count => format!("{}", v.round() as i128),
        Unit::Millis => Interval(v).to_string(),
        Unit::Percent => format!("{v:.1}%"),
    }
}

/// [`value`], or `unknown`.
pub(crate) fn value_or_unknown(unit: Unit, v: Option<f64>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| value(unit, v))
}

/// A signed change as text: `+1.0 GiB`, `-200 ms`, `+3`; zero without a sign.
pub(crate) fn change(unit: Unit, d: f64) -> String {
    // A change of a percentage is in percentage points, not a percentage of it.
    let text = |v: f64| match unit {
        Unit::Percent => format!("{v:.1} pp"),
        _ => value(unit, v),
    };
    let (text, zero) = (text(d.abs()), text(0.0));
    if text == zero {
        text
    } else if d < 0.0 {
        format!("-{text}")
    } else {
        format!("+{text}")
    }
}

/// A signed percentage with one decimal (`+12.5%`, `0.0%`), or `n/a`.
pub(crate) fn percent(p: Option<f64>) -> String {
    match p {
        Some(0.0) => "0.0%".to_string(),
        Some(p) => format!("{p:+.1}%"),
        None => "n/a".to_string(),
    }
}

/// A ratio with two decimals (`1.98x`), or `n/a`.
pub(crate) fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}x"))
}

/// A number without trailing zeros: `20`, `2.5`.
pub(crate) fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Cut a command line to `max` characters, ending in `…` when cut. Control characters
/// (a newline in an argument) are shown as spaces so a row stays one line.
///
/// When it must be cut and the program is given by a long path
/// (`/root/.rustup/toolchains/…/bin/rustc --crate-name …`), the path is dropped first so
/// the program's name and arguments stay visible.
pub(crate) fn short_command(cmd: &str, max: usize) -> String {
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    if cmd.chars().count() <= max {
        return cmd.chars().map(clean).collect();
    }
    let program = cmd.split(' ').next().unwrap_or(cmd);
    let cmd = match program.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => &cmd[program.len() - name.len()..],
        _ => cmd,
    };
    if cmd.chars().count() <= max {
        return cmd.chars().map(clean).collect();
    }
    let mut s: String = cmd.chars().take(max.saturating_sub(1)).map(clean).collect();
    s.push('…');
    s
}

/// `1, 2, 3` (at most 10, then `…`).
pub(crate) fn pid_list(pids: &[i32]) -> String {
    let mut s = pids
        .iter()
        .take(10)
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if pids.len() > 10 {
        s.push_str(", …");
    }
    s
}

/// `1 process`, `3 processes`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iec_units() {
        assert_eq!(iec(0), "0.0 KiB");
        assert_eq!(iec(512), "512.0 KiB");
        assert_eq!(iec(1023), "1023.0 KiB");
        assert_eq!(iec(1024), "1.0 MiB");
        assert_eq!(iec(1536), "1.5 MiB");
        assert_eq!(iec(65536), "64.0 MiB");
        assert_eq!(iec(6_624_768), "6.3 GiB");
        assert_eq!(iec(1024 * 1024 - 1), "1.0 GiB");
        assert_eq!(iec(u64::MAX), "16777216.0 PiB");
        assert_eq!(iec_or_unknown(None), "unknown");
        assert_eq!(iec_signed(-2048.0), "-2.0 MiB");
        assert_eq!(iec_signed(-0.2), "0.0 KiB");
        assert_eq!(iec_signed(1536.0), "1.5 MiB");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(87)), "87 ms");
        assert_eq!(duration(Duration::from_millis(12_345)), "12.3 s");
        assert_eq!(duration(Duration::from_secs(201)), "00:03:21");
        assert_eq!(duration(Duration::from_secs(90_000)), "25:00:00");
        assert_eq!(seconds(-1.0), "0 ms");
    }

    #[test]
    fn values_changes_and_ratios() {
        assert_eq!(value(Unit::Kib, 1536.0), "1.5 MiB");
        assert_eq!(value(Unit::Seconds, 0.25), "250 ms");
        assert_eq!(value(Unit::Count, 17.0), "17");
        assert_eq!(value(Unit::Millis, 1.65), "1.7 ms");
        assert_eq!(value(Unit::Millis, 40.2), "40 ms");
        assert_eq!(value(Unit::Millis, 2500.0), "2.5 s");
        assert_eq!(change(Unit::Kib, -1024.0), "-1.0 MiB");
        assert_eq!(change(Unit::Count, 0.0), "0");
        assert_eq!(change(Unit::Count, 3.0), "+3");
        assert_eq!(value(Unit::Percent, 81.25), "81.2%");
        assert_eq!(change(Unit::Percent, -3.04), "-3.0 pp");
        assert_eq!(change(Unit::Percent, 0.0), "0.0 pp");
        assert_eq!(percent(Some(12.46)), "+12.5%");
        assert_eq!(percent(Some(0.0)), "0.0%");
        assert_eq!(percent(None), "n/a");
        assert_eq!(ratio(Some(1.984)), "1.98x");
        assert_eq!(trim_float(20.0), "20");
        assert_eq!(trim_float(2.5), "2.5");
    }

    #[test]
    fn commands_are_cut_and_kept_on_one_line() {
        assert_eq!(short_command("abc", 5), "abc");
        assert_eq!(short_command("abcdefgh", 5), "abcd…");
        assert_eq!(short_command("a\nb", 5), "a b");
        assert_eq!(short_command("ééééééé", 3), "éé…");
        // A long program path goes first, then the arguments are cut.
        assert_eq!(
            short_command("/very/long/toolchain/path/bin/rustc --crate-name hello", 30),
            "rustc --crate-name hello"
        );
        assert_eq!(
            short_command("/opt/bin/rustc --crate-name hello --edition 2021", 20),
            "rustc --crate-name …"
        );
        // Short enough: the path stays.
        assert_eq!(short_command("/bin/sleep 1", 20), "/bin/sleep 1");
    }

    #[test]
    fn pid_lists() {
        assert_eq!(pid_list(&[1, 2]), "1, 2");
        assert_eq!(
            pid_list(&(1..=12).collect::<Vec<_>>()),
            "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …"
        );
    }
}
