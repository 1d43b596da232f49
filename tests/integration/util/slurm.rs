//! A one-node Slurm cluster for the tests: Debian's `munged`, `slurmctld` and `slurmd`, run
//! as root in the foreground (no systemd) with a generated `slurm.conf` in a temporary
//! directory, started once per test binary by the first test that asks for it and shared by
//! all the others (their jobs do not collide: each has its own job id and files).
//!
//! It is stopped when the test binary exits, whether its tests passed or failed (an
//! `atexit` handler: cancel every job, stop the daemons, remove the directory). Were the
//! test binary killed outright, the daemons die with it: they are started by a thread that
//! lives as long as the process, with `PR_SET_PDEATHSIG`.
//!
//! The configuration starts in seconds and needs no cgroups: `SlurmUser=root`,
//! `ProctrackType=proctrack/linuxproc`, `TaskPlugin=task/none`,
//! `SelectType=select/cons_tres`, `AccountingStorageType=accounting_storage/none`,
//! `JobAcctGatherType=jobacct_gather/linux` sampling every second (for `sstat`), one node
//! named after `hostname -s` with the CPUs `slurmd -C` finds, a partition that lets jobs
//! share them (`OverSubscribe=FORCE`), and `KillWait=2` (a job past its time limit gets
//! SIGTERM, then SIGKILL two seconds later). Its own ports (free ones, picked at start) and
//! its own munge socket keep it apart from any Slurm already on the machine.
//!
//! Without root, or without the packages (`.ci/run` installs `munge`, `slurmctld`,
//! `slurmd` and `slurm-client`), [`slurm`] says why through [`skip_or_fail`].

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use super::{is_root, output, poll, skip_or_fail, text, which};

/// The Debian packages the cluster comes from.
const PACKAGES: &str = "munge slurmctld slurmd slurm-client";

/// A running one-node cluster.
pub(crate) struct Cluster {
    /// Its directory: `slurm.conf`, the munge key and socket, state, spool, logs.
    dir: PathBuf,
    /// `slurm.conf`, for `SLURM_CONF`.
    conf: PathBuf,
    /// The node's name (`hostname -s`).
    pub(crate) node: String,
    /// The node's CPUs.
    pub(crate) cpus: u32,
}

/// The daemons, stopped at exit.
static DAEMONS: Mutex<Vec<Child>> = Mutex::new(Vec::new());
static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The shared cluster, started by the first caller; `None` (after [`skip_or_fail`]) where it
/// cannot run.
pub(crate) fn slurm() -> Option<&'static Cluster> {
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c),
        Err(why) => {
            skip_or_fail(why);
            None
        }
    }
}

impl Cluster {
    /// `program` (a Slurm client: srun, sbatch, sstat, ...) talking to this cluster.
    pub(crate) fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf).stdin(Stdio::null());
        c
    }

    /// `cmd` (memwatch around a Slurm client) talking to this cluster.
    pub(crate) fn configure<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("SLURM_CONF", &self.conf)
    }

    /// Run a Slurm client to the end; its standard output, or a failure naming it.
    #[track_caller]
    pub(crate) fn run(&self, program: &str, args: &[&str]) -> String {
        let out = output(self.cmd(program).args(args));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}: {}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The id of the job named `name` (`--job-name`), once `squeue` lists it.
    #[track_caller]
    pub(crate) fn job_id(&self, name: &str, within: Duration) -> String {
        poll(within, || {
            let out = self.run("squeue", &["-h", "-n", name, "-o", "%i"]);
            out.lines()
                .next()
                .map(|l| l.trim().to_string())
                .ok_or_else(|| format!("no job named {name} in squeue"))
        })
    }

    /// The state of a job (`RUNNING`, `PENDING`, ...), `None` once `squeue` forgets it.
    pub(crate) fn job_state(&self, id: &str) -> Option<String> {
        let out = output(self.cmd("squeue").args(["-h", "-j", id, "-o", "%T"]));
        let s = text(&out.stdout);
        let state = s.trim();
        (out.status.success() && !state.is_empty()).then(|| state.to_string())
    }

    /// The last lines of a daemon's log, for a failure message.
    pub(crate) fn log_tail(&self, daemon: &str) -> String {
        let log = fs::read_to_string(self.dir.join(format!("{daemon}.log"))).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Cancels a job when dropped (a test that failed half-way leaves nothing running).
pub(crate) struct CancelOnDrop<'a>(pub(crate) &'a Cluster, pub(crate) String);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        let _ = output(self.0.cmd("scancel").arg(&self.1));
    }
}

/// Why the cluster cannot be had here, if it cannot.
fn unavailable() -> Option<String> {
    if !is_root() {
        return Some("the Slurm tests start munged, slurmctld and slurmd as root".into());
    }
    let missing: Vec<&str> = [
        "munged",
        "slurmctld",
        "slurmd",
        "srun",
        "sbatch",
        "sstat",
        "scancel",
    ]
    .into_iter()
    .filter(|p| which(p).is_none() && !Path::new("/usr/sbin").join(p).is_file())
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not found; install Debian's {PACKAGES} (.ci/run does)",
            missing.join(", ")
        )
    })
}

/// A daemon's program: on the PATH, or in /usr/sbin (not on a plain user's PATH).
fn program(name: &str) -> PathBuf {
    which(name).unwrap_or_else(|| Path::new("/usr/sbin").join(name))
}

/// A TCP port nobody listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The short host name, as `hostname -s` prints it.
fn short_hostname() -> String {
    let h = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into());
    h.split('.').next().unwrap_or(&h).to_string()
}

/// The node's CPUs as `slurmd -C` sees them (what slurmd will check the configuration
/// against), else what this process may run on.
fn cpus() -> u32 {
    let from_slurmd = Command::new(program("slurmd"))
        .arg("-C")
        .output()
        .ok()
        .and_then(|o| {
            text(&o.stdout)
                .split_whitespace()
                .find_map(|w| w.strip_prefix("CPUs=")?.parse().ok())
        });
    from_slurmd
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32))
}

fn slurm_conf(dir: &Path, node: &str, cpus: u32) -> Result<String, String> {
    let d = dir.display();
    let (ctld_port, slurmd_port) = (free_port()?, free_port()?);
    Ok(format!(
        "ClusterName=memwatch\n\
         SlurmctldHost={node}(127.0.0.1)\n\
         SlurmctldPort={ctld_port}\n\
         SlurmdPort={slurmd_port}\n\
         SlurmUser=root\n\
         SlurmdUser=root\n\
         AuthType=auth/munge\n\
         CredType=cred/munge\n\
         AuthInfo=socket={d}/munge.socket\n\
         StateSaveLocation={d}/state\n\
         SlurmdSpoolDir={d}/spool\n\
         SlurmctldPidFile={d}/slurmctld.pid\n\
         SlurmdPidFile={d}/slurmd.pid\n\
         SlurmctldLogFile={d}/slurmctld.log\n\
         SlurmdLogFile={d}/slurmd.log\n\
         ProctrackType=proctrack/linuxproc\n\
         TaskPlugin=task/none\n\
         SelectType=select/cons_tres\n\
         SelectTypeParameters=CR_Core\n\
         AccountingStorageType=accounting_storage/none\n\
         JobAcctGatherType=jobacct_gather/linux\n\
         JobAcctGatherFrequency=task=1\n\
         JobCompType=jobcomp/none\n\
         MpiDefault=none\n\
         ReturnToService=2\n\
         SlurmdTimeout=300\n\
         MessageTimeout=30\n\
         InactiveLimit=0\n\
         KillWait=2\n\
         MinJobAge=2\n\
         NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
         PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:16\n"
    ))
}

/// Start a daemon in the foreground, logging to `<dir>/<name>.out`, from the fixture's
/// thread (see [`start`]): it is sent SIGTERM when the test binary dies.
fn daemon(dir: &Path, name: &str, cmd: &mut Command) -> Result<(), String> {
    let log = fs::File::create(dir.join(format!("{name}.out"))).map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(log).stderr(err);
    // SAFETY: prctl is async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    DAEMONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(child);
    Ok(())
}

/// Start the cluster, or say why it cannot be. The daemons are started by a thread that
/// never ends (`PR_SET_PDEATHSIG` fires when the thread that forked a process ends, so not
/// from a test's thread).
fn start() -> Result<Cluster, String> {
    if let Some(why) = unavailable() {
        return Err(why);
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("slurm-fixture".into())
        .spawn(move || {
            let _ = tx.send(start_daemons());
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| format!("cannot start the fixture's thread: {e}"))?;
    let cluster = rx
        .recv()
        .map_err(|_| "the fixture's thread died".to_string())??;
    // SAFETY: registering a plain function to run at exit.
    unsafe { libc::atexit(stop_at_exit) };
    let t0 = Instant::now();
    ready(&cluster)?;
    eprintln!(
        "slurm: one-node cluster ({}, {} CPUs) ready in {:.1} s",
        cluster.node,
        cluster.cpus,
        t0.elapsed().as_secs_f64()
    );
    Ok(cluster)
}

fn start_daemons() -> Result<Cluster, String> {
    let dir = std::env::temp_dir().join(format!("memwatch-slurm-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    for sub in ["", "state", "spool"] {
        fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let key = dir.join("munge.key");
    let bytes: Vec<u8> = (0..1024).map(|_| rand_byte()).collect();
    fs::write(&key, bytes).map_err(|e| e.to_string())?;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    let node = short_hostname();
    let cpus = cpus();
    let conf = dir.join("slurm.conf");
    fs::write(&conf, slurm_conf(&dir, &node, cpus)?).map_err(|e| e.to_string())?;
    let cluster = Cluster {
        conf: conf.clone(),
        node,
        cpus,
        dir: dir.clone(),
    };
    *STOP_DIR.lock().unwrap_or_else(|e| e.into_inner()) = Some((dir.clone(), conf.clone()));
    let socket = format!("--socket={}", dir.join("munge.socket").display());
    daemon(
        &dir,
        "munged",
        Command::new(program("munged"))
            .args(["-F", "--force", &socket])
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
            .arg(format!("--seed-file={}", dir.join("munged.seed").display()))
            .arg(format!("--log-file={}", dir.join("munged.log").display())),
    )?;
    let until = Instant::now() + Duration::from_secs(10);
    while !dir.join("munge.socket").exists() {
        if Instant::now() > until {
            let log = fs::read_to_string(dir.join("munged.out")).unwrap_or_default();
            return Err(format!("munged made no socket within 10 s: {}", log.trim()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let f = conf.to_str().unwrap();
    daemon(
        &dir,
        "slurmctld",
        Command::new(program("slurmctld")).args(["-D", "-c", "-f", f]),
    )?;
    daemon(
        &dir,
        "slurmd",
        Command::new(program("slurmd")).args(["-D", "-f", f]),
    )?;
    Ok(cluster)
}

/// A random byte for the munge key (its quality does not matter: the cluster lives for one
/// test run on one machine).
fn rand_byte() -> u8 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) as u8
}

/// Wait until the node is idle and a one-task job runs.
fn ready(c: &Cluster) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let out = output(c.cmd("sinfo").args(["-h", "-N", "-o", "%T"]));
        let state = text(&out.stdout);
        if out.status.success() && state.trim().starts_with("idle") {
            break;
        }
        if Instant::now() > until {
            return Err(format!(
                "the node is not idle after 60 s (sinfo: {:?} {}); slurmctld: {}; slurmd: {}",
                state.trim(),
                text(&out.stderr).trim(),
                c.log_tail("slurmctld"),
                c.log_tail("slurmd"),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = output(c.cmd("srun").args(["-n", "1", "true"]));
    if !out.status.success() {
        return Err(format!(
            "srun -n 1 true fails on the fresh cluster ({}): {}; slurmd: {}",
            out.status,
            text(&out.stderr).trim(),
            c.log_tail("slurmd")
        ));
    }
    Ok(())
}

/// The cluster's directory and configuration, for the exit handler.
static STOP_DIR: Mutex<Option<(PathBuf, PathBuf)>> = Mutex::new(None);

/// At exit: cancel every job, stop the daemons (SIGTERM, then SIGKILL after 5 s), remove
/// the directory.
extern "C" fn stop_at_exit() {
    let _ = std::panic::catch_unwind(stop);
}

fn stop() {
    let Some((dir, conf)) = STOP_DIR.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    // Every job of this cluster: nothing may outlive it (slurmstepd and its tasks).
    if let Ok(out) = Command::new("squeue")
        .env("SLURM_CONF", &conf)
        .args(["-h", "-o", "%i"])
        .output()
    {
        let ids: Vec<String> = text(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        if !ids.is_empty() {
            let _ = Command::new("scancel")
                .env("SLURM_CONF", &conf)
                .args(&ids)
                .output();
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until && slurmstepd_running(&dir) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let mut daemons = std::mem::take(&mut *DAEMONS.lock().unwrap_or_else(|e| e.into_inner()));
    // slurmd, slurmctld, then munged, which they need to say goodbye.
    for child in daemons.iter_mut().rev() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Whether a `slurmstepd` of this cluster still runs (its spool directory holds a socket per
/// step).
fn slurmstepd_running(dir: &Path) -> bool {
    fs::read_dir(dir.join("spool")).is_ok_and(|d| {
        d.flatten().any(|e| {
            e.file_type()
                .is_ok_and(|t| std::os::unix::fs::FileTypeExt::is_socket(&t))
        })
    })
}
