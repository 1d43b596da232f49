//! The `%h %r %j %p %%` placeholders of output paths, so one command line
//! (`srun memwatch run -o mem-%h-%r.json -- ./app`) writes one report per node or rank.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::Error;
use crate::model::launcher::{job_id, rank};

/// Expand the placeholders of every output path of `cfg`; an unknown value is a usage
/// error naming the path.
pub(super) fn expand_all(
    cfg: &mut super::Config,
    hostname: &str,
    id: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let pid = std::process::id();
    for path in [
        &mut cfg.output,
        &mut cfg.timeline,
        &mut cfg.csv,
        &mut cfg.plot,
    ]
    .into_iter()
    .flatten()
    {
        *path = expand_path(path, hostname, id, pid)
            .map_err(|e| Error::usage(format!("{}: {e}", path.display())).not_run())?;
    }
    Ok(())
}

/// Expand `%h` (hostname), `%r` (rank), `%j` (job id), `%p` (memwatch's pid) and `%%` in an
/// output path. A placeholder whose value is unknown is an error naming it, rather than a
/// path that silently collides across nodes.
fn expand(
    template: &str,
    hostname: &str,
    id: &BTreeMap<String, String>,
    pid: u32,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') if hostname.is_empty() => {
                return Err("%h needs a hostname, and this machine's is empty".to_string());
            }
            Some('h') => out.push_str(hostname),
            Some('p') => out.push_str(&pid.to_string()),
            Some('r') => out.push_str(rank(id).ok_or(
                "%r needs a rank: none of SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMI_RANK is set (to a non-empty value)",
            )?),
            Some('j') => {
                out.push_str(&job_id(id).ok_or("%j needs a job id: SLURM_JOB_ID is unset or empty")?)
            }
            Some(other) => {
                return Err(format!(
                    "unknown placeholder %{other} (use %h, %r, %j, %p or %%)"
                ));
            }
            None => return Err("a lone % at the end (write %% for a percent sign)".to_string()),
        }
    }
    Ok(out)
}

/// [`expand`] for a path given on the command line; paths that are not UTF-8 and contain no
/// `%` pass through untouched.
fn expand_path(
    template: &std::path::Path,
    hostname: &str,
    id: &BTreeMap<String, String>,
    pid: u32,
) -> Result<PathBuf, String> {
    match template.to_str() {
        Some(s) if s.contains('%') => expand(s, hostname, id, pid).map(PathBuf::from),
        Some(_) => Ok(template.to_path_buf()),
        None if template.as_os_str().as_encoded_bytes().contains(&b'%') => {
            Err("placeholders need a UTF-8 path".to_string())
        }
        None => Ok(template.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::launcher::identity;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        identity(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn empty_values_are_unset_so_placeholders_never_collapse() {
        let id = env(&[("SLURM_PROCID", ""), ("SLURM_JOB_ID", "")]);
        assert!(id.is_empty());
        assert!(
            expand("m-%r.json", "n1", &id, 1)
                .unwrap_err()
                .contains("%r needs a rank")
        );
        assert!(
            expand("m-%j.json", "n1", &id, 1)
                .unwrap_err()
                .contains("%j needs a job id")
        );
        assert!(
            expand("m-%h.json", "", &id, 1)
                .unwrap_err()
                .contains("%h needs a hostname")
        );
        // An empty Slurm rank does not hide Open MPI's.
        let id = env(&[("SLURM_PROCID", ""), ("OMPI_COMM_WORLD_RANK", "5")]);
        assert_eq!(expand("m-%r.json", "n1", &id, 1).unwrap(), "m-5.json");
    }

    #[test]
    fn placeholders() {
        let id = env(&[
            ("SLURM_JOB_ID", "42"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "7"),
        ]);
        assert_eq!(
            expand("mem-%h-%r-%j-%p-100%%.json", "node1", &id, 99).unwrap(),
            "mem-node1-7-42.0-99-100%.json"
        );
        assert_eq!(expand("plain.json", "n", &id, 1).unwrap(), "plain.json");
    }

    #[test]
    fn missing_values_and_bad_placeholders_are_errors() {
        let none = BTreeMap::new();
        assert!(
            expand("x-%r.json", "n", &none, 1)
                .unwrap_err()
                .contains("%r")
        );
        assert!(
            expand("x-%j.json", "n", &none, 1)
                .unwrap_err()
                .contains("SLURM_JOB_ID")
        );
        assert!(
            expand("x-%q.json", "n", &none, 1)
                .unwrap_err()
                .contains("%q")
        );
        assert!(expand("x-%", "n", &none, 1).unwrap_err().contains("%%"));
    }

    #[test]
    fn non_utf8_paths_without_placeholders_pass() {
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"r\xffport.json"));
        assert_eq!(expand_path(p, "n", &BTreeMap::new(), 1).unwrap(), p);
    }
}
