//! Labels for reports shown side by side (compare's columns, plot's legend): the part of
//! their command lines that differs, else their file names.

use std::path::Path;

use super::units;

/// Default labels for reports: the part of their command lines that differs (common
/// leading and trailing arguments removed, then common words inside a single differing
/// argument such as `sh -c '…'`), with the option just before it (`-n 4`). Falls back to
/// the file names (then the paths) when that leaves a label empty or two alike.
pub(crate) fn distinguishing(commands: &[&[String]], paths: &[&Path]) -> Vec<String> {
    let from_commands = from_commands(commands);
    let labels = match from_commands {
        Some(l) if usable(&l) => l,
        _ => {
            let names: Vec<String> = paths
                .iter()
                .map(|p| {
                    p.file_name()
                        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
                })
                .collect();
            if usable(&names) {
                names
            } else {
                paths.iter().map(|p| p.display().to_string()).collect()
            }
        }
    };
    labels
        .into_iter()
        .map(|l| units::short_command(&l, 40))
        .collect()
}

/// Non-empty and distinct.
fn usable(labels: &[String]) -> bool {
    labels.iter().all(|l| !l.is_empty())
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| !labels[..i].contains(l))
}

fn from_commands(commands: &[&[String]]) -> Option<Vec<String>> {
    if commands.len() < 2 {
        return None;
    }
    let (pre, parts) = strip_common(commands);
    if parts.iter().all(|p| p.len() == 1) && parts.iter().any(|p| p[0].contains(' ')) {
        // One differing argument each: look inside it (`sh -c "app -n 4"`).
        let words: Vec<Vec<String>> = parts
            .iter()
            .map(|p| p[0].split_whitespace().map(str::to_string).collect())
            .collect();
        let refs: Vec<&[String]> = words.iter().map(Vec::as_slice).collect();
        let (inner_pre, inner) = strip_common(&refs);
        if !inner.iter().all(|p| p.is_empty()) {
            return Some(with_option(inner_pre, &inner));
        }
    }
    Some(with_option(pre, &parts))
}

/// The common leading arguments and what remains of each command once the common leading
/// and trailing ones are removed.
fn strip_common<'a>(commands: &[&'a [String]]) -> (&'a [String], Vec<&'a [String]>) {
    let min = commands.iter().map(|c| c.len()).min().unwrap_or(0);
    let first = commands[0];
    let pre = (0..min)
        .take_while(|&i| commands.iter().all(|c| c[i] == first[i]))
        .count();
    let suf = (0..min - pre)
        .take_while(|&i| {
            let a = &first[first.len() - 1 - i];
            commands.iter().all(|c| &c[c.len() - 1 - i] == a)
        })
        .count();
    let parts = commands.iter().map(|c| &c[pre..c.len() - suf]).collect();
    (&first[..pre], parts)
}

/// Join each part, preceded by the option it is the value of (`-n 4` rather than `4`).
fn with_option(prefix: &[String], parts: &[&[String]]) -> Vec<String> {
    let option = prefix.last().filter(|a| {
        a.len() > 1 && a.starts_with('-') && !a[1..].starts_with(|c: char| c.is_ascii_digit())
    });
    parts
        .iter()
        .map(|p| {
            let joined = p.join(" ");
            match option {
                Some(o) if !p.is_empty() && !p[0].starts_with('-') => format!("{o} {joined}"),
                _ => joined,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(v: &[&str]) -> Vec<Vec<String>> {
        v.iter()
            .map(|c| c.split(' ').map(str::to_string).collect())
            .collect()
    }

    fn labels_of(commands: &[&str], files: &[&str]) -> Vec<String> {
        let c = cmds(commands);
        let refs: Vec<&[String]> = c.iter().map(Vec::as_slice).collect();
        let paths: Vec<&Path> = files.iter().map(Path::new).collect();
        distinguishing(&refs, &paths)
    }

    #[test]
    fn labels_are_the_differing_part() {
        let f = ["a.json", "b.json", "c.json"];
        assert_eq!(
            labels_of(&["app -n 1 --x", "app -n 2 --x", "app -n 4 --x"], &f),
            ["-n 1", "-n 2", "-n 4"]
        );
        assert_eq!(
            labels_of(&["app --jobs=1", "app --jobs=2", "app --jobs=4"], &f),
            ["--jobs=1", "--jobs=2", "--jobs=4"]
        );
        assert_eq!(
            labels_of(&["app small", "app medium data", "app large"], &f),
            ["small", "medium data", "large"]
        );
        assert_eq!(
            labels_of(&["./a.out", "./b.out", "./c.out"], &f),
            ["./a.out", "./b.out", "./c.out"]
        );
        // Negative numbers are values, not options.
        assert_eq!(
            labels_of(&["app -1 5", "app -1 6", "app -1 7"], &f),
            ["5", "6", "7"]
        );
    }

    #[test]
    fn labels_look_inside_a_shell_command() {
        let c = [
            vec!["sh".into(), "-c".into(), "app -n 4 --fast".into()],
            vec!["sh".into(), "-c".into(), "app -n 8 --fast".into()],
        ];
        let refs: Vec<&[String]> = c.iter().map(Vec::as_slice).collect();
        let p = [Path::new("x.json"), Path::new("y.json")];
        assert_eq!(distinguishing(&refs, &p), ["-n 4", "-n 8"]);
    }

    #[test]
    fn labels_fall_back_to_file_names_then_paths() {
        let same = ["make", "make", "make"];
        assert_eq!(
            labels_of(&same, &["runs/n1.json", "runs/n2.json", "n3.json"]),
            ["n1.json", "n2.json", "n3.json"]
        );
        assert_eq!(
            labels_of(&same, &["a/m.json", "b/m.json", "c/m.json"]),
            ["a/m.json", "b/m.json", "c/m.json"]
        );
        // One command is the common prefix of the others: its label would be empty.
        assert_eq!(
            labels_of(
                &["app", "app -v", "app -vv"],
                &["1.json", "2.json", "3.json"]
            ),
            ["1.json", "2.json", "3.json"]
        );
        let long = "x".repeat(100);
        let l = labels_of(
            &[&format!("app {long}1"), &format!("app {long}2")],
            &["a", "b"],
        );
        assert_eq!(l[0].chars().count(), 40);
        assert!(l[0].ends_with('…'));
    }
}
