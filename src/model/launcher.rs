//! Where a run happened: the launcher's identity (Slurm, Open MPI, PMI), as a report
//! records it, and what it says (the rank, the job id).

use std::collections::BTreeMap;

/// Environment variables recorded in a report's `launcher` object when set.
pub(crate) const IDENTITY_VARS: [&str; 7] = [
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "SLURM_NODEID",
    "SLURM_PROCID",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "PMI_RANK",
];

/// The launcher variables present in `env` (name → value).
pub(crate) fn identity(env: impl Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
    IDENTITY_VARS
        .iter()
        // An empty variable is as good as unset: it names no rank or job.
        .filter_map(|&k| env(k).filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)))
        .collect()
}

/// The launcher variables of this process's environment.
pub(crate) fn identity_from_env() -> BTreeMap<String, String> {
    identity(|k| std::env::var(k).ok())
}

/// The rank for `%r`: Slurm's task id, else Open MPI's world rank, else PMI's.
pub(crate) fn rank(id: &BTreeMap<String, String>) -> Option<&str> {
    ["SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"]
        .iter()
        .find_map(|k| id.get(*k))
        .map(String::as_str)
}

/// The job id for `%j`: Slurm's (with the step when there is one).
pub(crate) fn job_id(id: &BTreeMap<String, String>) -> Option<String> {
    let job = id.get("SLURM_JOB_ID")?;
    Some(match id.get("SLURM_STEP_ID") {
        Some(step) => format!("{job}.{step}"),
        None => job.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        identity(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn identity_keeps_only_known_variables() {
        let id = env(&[("SLURM_JOB_ID", "42"), ("HOME", "/root"), ("PMI_RANK", "3")]);
        assert_eq!(id.len(), 2);
        assert_eq!(id["SLURM_JOB_ID"], "42");
        assert_eq!(rank(&id), Some("3"));
    }

    #[test]
    fn rank_prefers_slurm_then_ompi_then_pmi() {
        let id = env(&[
            ("PMI_RANK", "1"),
            ("OMPI_COMM_WORLD_RANK", "2"),
            ("SLURM_PROCID", "3"),
        ]);
        assert_eq!(rank(&id), Some("3"));
        let id = env(&[("PMI_RANK", "1"), ("OMPI_COMM_WORLD_RANK", "2")]);
        assert_eq!(rank(&id), Some("2"));
    }
}
