"""A throw-away one-node Slurm cluster on this machine, for the tests.

Everything lives in one temporary folder: the munge key, socket and log, the
slurm.conf, the controller's state, the node's spool and both daemons' logs.
munged runs as user munge; slurmctld and slurmd run as root (SlurmUser=root)
on two free TCP ports, with no systemd and no cgroups (proctrack/linuxproc,
task/none). stop() cancels every job, stops each daemon by its pid and removes
the folder (kept when keep=True).

    with Cluster() as c:
        c.sbatch(["--array=0-3", "job.sh"])

Client commands (sbatch, squeue, scontrol, ...) find the cluster through
SLURM_CONF, which start() puts in os.environ; jobs inherit it.
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_ports(n):
    """n distinct TCP ports that were free a moment ago (bind to port 0)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid, name, grace=10.0):
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Returns how it ended."""
    if not pid_alive(pid):
        return "not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return "stopped"
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    return f"killed ({name} ignored SIGTERM for {grace:.0f} s)"


def run(cmd, check=True, **kw):
    """Runs a command, returns its CompletedProcess (text); raises with its stderr when check fails."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return r


class Cluster:
    def __init__(self, keep=False, kill_wait=30, cred_expire=10, log=print):
        self.keep = keep
        self.kill_wait = kill_wait
        # cred_expire also delays a requeued job: it may start again only this
        # many seconds after the requeue (Slurm's default: 120).
        self.cred_expire = cred_expire
        self.log = log
        self.dir = None
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.pids = {}  # daemon name → pid, in start order

    # -- start ---------------------------------------------------------------

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="zgseg-slurm-")
        self.conf = os.path.join(self.dir, "slurm.conf")
        os.chmod(self.dir, 0o755)  # munged (user munge) must reach its folder
        try:
            self._start_munge()
            self._write_conf()
            os.environ["SLURM_CONF"] = self.conf
            for daemon in ("slurmctld", "slurmd"):
                run([daemon, "-f", self.conf])  # each forks into the background
                self.pids[daemon] = self._read_pid(os.path.join(self.dir, f"{daemon}.pid"), daemon)
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self):
        munge = pwd.getpwnam("munge")
        mdir = os.path.join(self.dir, "munge")
        os.mkdir(mdir, 0o755)  # munged refuses a folder others may write to
        os.chown(mdir, munge.pw_uid, munge.pw_gid)
        key = os.path.join(mdir, "munge.key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        os.write(fd, os.urandom(1024))
        os.close(fd)
        os.chown(key, munge.pw_uid, munge.pw_gid)
        self.munge_socket = os.path.join(mdir, "munge.socket")
        pid_file = os.path.join(mdir, "munged.pid")
        run(["runuser", "-u", "munge", "--", "munged",
             f"--socket={self.munge_socket}", f"--key-file={key}", f"--pid-file={pid_file}",
             f"--log-file={os.path.join(mdir, 'munged.log')}", f"--seed-file={os.path.join(mdir, 'munged.seed')}"])
        self.pids["munged"] = self._read_pid(pid_file, "munged")
        # A credential must round-trip before Slurm can use munge.
        cred = run(["munge", "-n", f"--socket={self.munge_socket}"]).stdout
        run(["unmunge", f"--socket={self.munge_socket}"], input=cred)

    def _write_conf(self):
        d = self.dir
        for sub in ("state", "spool", "log"):
            os.mkdir(os.path.join(d, sub))
        ctld_port, slurmd_port = free_ports(2)
        with open("/proc/meminfo") as f:
            mem_mb = next(int(line.split()[1]) // 1024 for line in f if line.startswith("MemTotal:"))
        self.real_memory = int(mem_mb * 0.9)  # slurmd drains a node that has less than configured
        lines = [
            "ClusterName=zgsegtest",
            f"SlurmctldHost={self.node}(127.0.0.1)",  # whatever the host name resolves to
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket},cred_expire={self.cred_expire}",
            f"StateSaveLocation={d}/state",
            f"SlurmdSpoolDir={d}/spool",
            f"SlurmctldPidFile={d}/slurmctld.pid",
            f"SlurmdPidFile={d}/slurmd.pid",
            f"SlurmctldLogFile={d}/log/slurmctld.log",
            f"SlurmdLogFile={d}/log/slurmd.log",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/backfill",
            # Start a job within a second or two of it becoming eligible (a
            # released requeued task, say), not at the next 30-60 s pass.
            "SchedulerParameters=sched_interval=2,bf_interval=1",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "JobRequeue=1",
            f"KillWait={self.kill_wait}",
            "ReturnToService=2",
            "MinJobAge=600",  # finished jobs stay visible to scontrol (no accounting here)
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.real_memory} State=UNKNOWN",
            f"PartitionName=test Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
            # Quick jobs (zgseg --list) may share the CPUs, 8 to a CPU.
            f"PartitionName=burst Nodes={self.node} MaxTime=INFINITE State=UP OverSubscribe=FORCE:8",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _read_pid(self, path, name, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
                if pid > 0:
                    return pid
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} wrote no pid file {path}; see {self.dir}/log")

    def _wait_idle(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            r = run(["sinfo", "-h", "-n", self.node, "-o", "%t"], check=False)
            state = r.stdout.strip()
            if state == "idle":
                return
            time.sleep(0.3)
        raise RuntimeError(f"node {self.node} not idle after {timeout:.0f} s (sinfo: '{state}'); "
                           f"see {self.dir}/log/slurmd.log")

    # -- jobs ----------------------------------------------------------------

    def sbatch(self, args, cwd=None, env=None):
        """Submits; returns the job id (for an array: the array's job id)."""
        r = run(["sbatch", "--parsable"] + args, cwd=cwd, env=env)
        return r.stdout.strip().split(";")[0]

    def tasks(self, job_id):
        """The records of an array's tasks (or of one job): a list of dicts of scontrol's fields."""
        r = run(["scontrol", "-o", "show", "job", job_id], check=False)
        records = []
        for line in r.stdout.splitlines():
            fields = {}
            for token in line.split():
                if "=" in token:
                    k, v = token.split("=", 1)
                    fields.setdefault(k, v)
            if fields:
                records.append(fields)
        return records

    def wait_done(self, job_id, timeout=600.0):
        """Waits until no task of the job is pending, running or completing; returns the task records."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recs = self.tasks(job_id)
            if recs and all(r.get("JobState") not in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING",
                                                       "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED")
                            for r in recs):
                return recs
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} still not finished after {timeout:.0f} s: "
                           + ", ".join(f"{r.get('ArrayTaskId', '?')}:{r.get('JobState')}" for r in self.tasks(job_id)))

    # -- stop ----------------------------------------------------------------

    def _our_processes(self, jobs_only=False):
        """Processes this cluster started (slurmstepd, the jobs' processes):
        they carry SLURM_CONF=<our slurm.conf> in their environment; a job's
        processes also carry SLURM_JOB_ID."""
        needle = f"SLURM_CONF={self.conf}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid() or int(entry) in self.pids.values():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if needle in env and (not jobs_only or any(v.startswith(b"SLURM_JOB_ID=") for v in env)):
                found.append(int(entry))
        return found

    def _queue_empty(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not run(["squeue", "-h"], check=False).stdout.strip():
                return True
            time.sleep(0.3)
        return False

    def stop(self):
        if self.dir is None:
            return
        if "slurmctld" in self.pids and pid_alive(self.pids["slurmctld"]):
            run(["scancel", "--user=root"], check=False)  # only this cluster's jobs: SIGTERM
            if not self._queue_empty(5):
                # No KillWait at teardown: what ignores SIGTERM gets SIGKILL now.
                for pid in self._our_processes(jobs_only=True):
                    stop_pid(pid, f"job process {pid}", grace=0)
                self._queue_empty(10)
        for name in reversed(list(self.pids)):
            how = stop_pid(self.pids[name], name)
            if how.startswith("killed"):
                self.log(f"cluster: {how}")
        for pid in self._our_processes():
            stop_pid(pid, f"leftover process {pid}", grace=2)
        os.environ.pop("SLURM_CONF", None)
        if self.keep:
            self.log(f"cluster: kept {self.dir} (KEEP=1)")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
