//! What the sweep varies, as people write it: the parameter's name, its values (`1,2,4,8`,
//! `1..8`, `1..64:x2`, `glibc,jemalloc`, lists of ranges), `--predict`'s values, `{NAME}`
//! in the command, and the names of the runs' report files. Each error is one line.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::model::sweep::Param;

/// At most this many values in one sweep (a typo such as `1..100000` is refused).
pub(crate) const MAX_VALUES: usize = 1000;

/// The parameter's name: letters, digits, `_`, `-` and `.`, so `{NAME}` is easy to find
/// and the report files' names stay plain.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if !name.is_empty() && name.chars().all(ok) {
        Ok(())
    } else {
        Err(format!(
            "the parameter's name '{name}' must be letters, digits, '_', '-' or '.' (e.g. -p n 1,2,4)"
        ))
    }
}

/// The values of `-p NAME VALUES`: comma-separated values and ranges, in order. Every one
/// is a number (a numeric sweep, which gets a fit) or every one is text.
pub(crate) fn parse(name: &str, list: &str) -> Result<Vec<Param>, String> {
    if list.trim().is_empty() {
        return Err(format!("the list of values of {name} is empty"));
    }
    let mut texts: Vec<String> = Vec::new();
    for item in list.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!(
                "an empty value in the list of values of {name}: '{list}'"
            ));
        }
        if starts_range(item) {
            range(item, &mut texts)?;
        } else {
            texts.push(item.to_string());
        }
        if texts.len() > MAX_VALUES {
            return Err(format!(
                "'{list}' gives more than {MAX_VALUES} values of {name}: a sweep takes at most {MAX_VALUES}"
            ));
        }
    }
    let numbers: Vec<Option<f64>> = texts.iter().map(|t| number(t)).collect();
    let numeric = numbers.iter().all(Option::is_some);
    let values: Vec<Param> = texts
        .into_iter()
        .zip(numbers)
        .map(|(text, number)| Param {
            text,
            number: number.filter(|_| numeric),
        })
        .collect();
    for (i, v) in values.iter().enumerate() {
        if values[..i].iter().any(|w| w.same(v)) {
            return Err(format!(
                "the value {} of {name} is given twice in '{list}'",
                v.text
            ));
        }
    }
    Ok(values)
}

/// A finite number, as written in a value.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Whether `item` is meant as a range: a whole number followed by `..`.
fn starts_range(item: &str) -> bool {
    let digits = item.strip_prefix('-').unwrap_or(item);
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    n > 0 && digits[n..].starts_with("..")
}

/// Expand `START..END`, `START..END:xFACTOR` or `START..END:+STEP` (whole numbers) into
/// `out`.
fn range(item: &str, out: &mut Vec<String>) -> Result<(), String> {
    let malformed = || {
        format!(
            "malformed range '{item}': write START..END, START..END:xFACTOR or START..END:+STEP \
             with whole numbers (1..8, 1..64:x2, 0..100:+10)"
        )
    };
    let (bounds, step) = match item.split_once(':') {
        Some((b, s)) => (b, Some(s)),
        None => (item, None),
    };
    let (start, end) = bounds.split_once("..").ok_or_else(malformed)?;
    let start: i64 = start.parse().map_err(|_| malformed())?;
    let end: i64 = end.parse().map_err(|_| malformed())?;
    if end < start {
        return Err(format!(
            "the range '{item}' is empty: its end is below its start"
        ));
    }
    // Each next value: v * factor, or v + step.
    let (factor, add) = match step {
        None => (1, 1),
        Some(s) if s.starts_with('x') => {
            let k: i64 = s[1..].parse().map_err(|_| malformed())?;
            if k < 2 || start < 1 {
                return Err(format!(
                    "the range '{item}' never grows: a factor (xK) needs K of 2 or more and a start of 1 or more"
                ));
            }
            (k, 0)
        }
        Some(s) => {
            let k: i64 = s
                .strip_prefix('+')
                .unwrap_or(s)
                .parse()
                .map_err(|_| malformed())?;
            if k < 1 {
                return Err(format!(
                    "the range '{item}' never grows: its step must be 1 or more"
                ));
            }
            (1, k)
        }
    };
    let mut v = Some(start);
    while let Some(x) = v.filter(|&x| x <= end) {
        out.push(x.to_string());
        if out.len() > MAX_VALUES {
            break;
        }
        v = x.checked_mul(factor).and_then(|x| x.checked_add(add));
    }
    Ok(())
}

/// `--predict X[,Y…]`: numbers.
pub(crate) fn predictions(list: &str) -> Result<Vec<f64>, String> {
    list.split(',')
        .map(str::trim)
        .map(|t| {
            number(t).ok_or_else(|| {
                format!("--predict takes numbers separated by commas (e.g. 16,64); got '{t}'")
            })
        })
        .collect()
}

/// `{NAME}`.
fn placeholder(name: &str) -> String {
    format!("{{{name}}}")
}

/// Whether `{NAME}` appears in the command (its program or an argument).
pub(crate) fn mentions(command: &[OsString], name: &str) -> bool {
    let p = placeholder(name);
    command
        .iter()
        .any(|a| find(a.as_bytes(), p.as_bytes()).is_some())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The command with every `{NAME}` replaced by `value`, whole argument or inside one; the
/// rest untouched, non-UTF-8 bytes included.
pub(crate) fn substitute(command: &[OsString], name: &str, value: &str) -> Vec<OsString> {
    let p = placeholder(name);
    let p = p.as_bytes();
    command
        .iter()
        .map(|arg| {
            let mut rest = arg.as_bytes();
            let mut out = Vec::with_capacity(rest.len());
            while let Some(i) = find(rest, p) {
                out.extend_from_slice(&rest[..i]);
                out.extend_from_slice(value.as_bytes());
                rest = &rest[i + p.len()..];
            }
            out.extend_from_slice(rest);
            OsString::from_vec(out)
        })
        .collect()
}

/// The command as text, `{NAME}` kept (lossy UTF-8).
pub(crate) fn template(command: &[OsString]) -> Vec<String> {
    command
        .iter()
        .map(|a| OsStr::to_string_lossy(a).into_owned())
        .collect()
}

/// Each value's report file stem, `NAME=VALUE` (`n=4`): characters other than letters,
/// digits, `.`, `_`, `+` and `-` become `_`, and a stem that would repeat another gets the
/// value's position (`~3`).
pub(crate) fn file_stems(name: &str, values: &[Param]) -> Vec<String> {
    let mut stems: Vec<String> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let clean: String = v
            .text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut stem = format!("{name}={clean}");
        if stems.contains(&stem) {
            stem = format!("{stem}~{}", i + 1);
        }
        stems.push(stem);
    }
    stems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(list: &str) -> Vec<String> {
        parse("n", list)
            .unwrap()
            .into_iter()
            .map(|p| p.text)
            .collect()
    }

    #[test]
    fn lists_ranges_and_doublings() {
        assert_eq!(texts("1,2,4,8"), ["1", "2", "4", "8"]);
        assert_eq!(texts("1..5"), ["1", "2", "3", "4", "5"]);
        assert_eq!(texts("1..64:x2"), ["1", "2", "4", "8", "16", "32", "64"]);
        assert_eq!(texts("1..100:x2").last().unwrap(), "64");
        assert_eq!(texts("0..30:+10"), ["0", "10", "20", "30"]);
        assert_eq!(texts("0..5:2"), ["0", "2", "4"]);
        assert_eq!(texts("1..3,8, 16"), ["1", "2", "3", "8", "16"]);
        assert_eq!(texts("-2..1"), ["-2", "-1", "0", "1"]);
        assert_eq!(texts("4..4"), ["4"]);
        let v = parse("n", "0.5,1,2").unwrap();
        assert_eq!(v[0].number, Some(0.5));
    }

    #[test]
    fn text_values_make_a_sweep_without_numbers() {
        let v = parse("alloc", "glibc,jemalloc,2").unwrap();
        assert!(v.iter().all(|p| p.number.is_none()));
        assert_eq!(v[2].text, "2");
        let v = parse("x", "inf,1").unwrap();
        assert!(
            v.iter().all(|p| p.number.is_none()),
            "inf is not a number here"
        );
    }

    #[test]
    fn bad_lists_are_one_line_each() {
        let err = |l: &str| parse("n", l).unwrap_err();
        assert_eq!(err(""), "the list of values of n is empty");
        assert_eq!(err(" "), "the list of values of n is empty");
        assert_eq!(
            err("1,,2"),
            "an empty value in the list of values of n: '1,,2'"
        );
        assert_eq!(err("1,"), "an empty value in the list of values of n: '1,'");
        for bad in [
            "1..",
            "1..x",
            "1..8:y2",
            "1..8:x",
            "1...8",
            "1..8:x2:3",
            "1..2.5",
        ] {
            assert!(
                err(bad).starts_with(&format!("malformed range '{bad}'")),
                "{bad}: {}",
                err(bad)
            );
        }
        assert_eq!(
            err("8..1"),
            "the range '8..1' is empty: its end is below its start"
        );
        assert!(err("1..8:x1").contains("never grows"));
        assert!(err("0..8:x2").contains("never grows"));
        assert!(err("0..8:+0").contains("never grows"));
        assert_eq!(err("1,2,1"), "the value 1 of n is given twice in '1,2,1'");
        assert!(err("4,4.0").contains("given twice"));
        assert!(err("1..2000").contains("at most 1000"));
        assert!(err("0..9223372036854775807").contains("at most 1000"));
        for ok in ["n", "ranks", "a_b-c.d", "N2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "{n}", "a/b", "a=b", "é"] {
            assert!(
                check_name(bad).unwrap_err().contains("must be letters"),
                "{bad}"
            );
        }
    }

    #[test]
    fn predictions_are_numbers() {
        assert_eq!(predictions("16, 64").unwrap(), [16.0, 64.0]);
        assert_eq!(
            predictions("16,x").unwrap_err(),
            "--predict takes numbers separated by commas (e.g. 16,64); got 'x'"
        );
        assert!(predictions("").is_err());
    }

    #[test]
    fn the_placeholder_is_replaced_whole_or_inside_an_argument() {
        let cmd: Vec<OsString> = ["make", "-j{n}", "{n}", "{m}", "{n}{n}", "n"]
            .iter()
            .map(OsString::from)
            .collect();
        assert!(mentions(&cmd, "n"));
        assert!(!mentions(&cmd, "k"));
        let out = substitute(&cmd, "n", "4");
        assert_eq!(out, ["make", "-j4", "4", "{m}", "44", "n"]);
        // Bytes that are not UTF-8 stay as they are.
        let raw = vec![OsString::from_vec(b"\xff{n}\xfe".to_vec())];
        assert_eq!(substitute(&raw, "n", "8")[0].as_bytes(), b"\xff8\xfe");
    }

    #[test]
    fn report_file_stems_are_plain_and_distinct() {
        let vals = parse("v", "a/b,a_b,x y,1.5").unwrap();
        assert_eq!(
            file_stems("v", &vals),
            ["v=a_b", "v=a_b~2", "v=x_y", "v=1.5"]
        );
    }
}
