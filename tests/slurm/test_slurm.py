#!/usr/bin/python3
"""zgseg under a real one-node Slurm cluster (started here, see cluster.py),
through scripts/slurm_array.sh and sbatch, with the tiny test models.

  a  an array (--array=0-3) over 12 images of mixed formats and one corrupt
     file: the union of the tasks' outputs equals one `zgseg batch` of the same
     inputs (label maps and embeddings byte for byte, JSON apart from timings
     and paths); each image done by exactly one task (done_inputs); the corrupt
     file in exactly one shard's failures.
  b  `scontrol requeuehold` of a running task in the middle of an image: it
     stops within seconds ("interrupted": true, not_done, no partial files);
     released, it runs again and completes, and no image finished before the
     preemption is computed again (its JSON untouched, counted as
     skipped_complete).
  c  array shapes 0-3, 1-4, 0-7%2, 1-9:4 and a one-task array each cover every
     input exactly once (--list through the script); 1,5,9 is refused by every
     task (exit 2, one line) before any work.

Usage: scripts/test_slurm.sh [a] [b] [c]   (all by default)
Environment: ZGSEG (the binary; default build/zgseg), KEEP=1 (keep the temp folder).
"""
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, pid_alive, run  # noqa: E402

import cv2  # Debian's python3-opencv

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "tests", "data")
SCRIPT = os.path.join(REPO, "scripts", "slurm_array.sh")
PHOTOS = sorted(glob.glob(os.path.join(DATA, "voc-sample", "JPEGImages", "*.jpg")))
FORMATS = ["jpg", "png", "webp", "bmp", "tif"]
OUTPUT_SUFFIXES = (".json", ".png", ".embeddings.safetensors", ".overlay.jpg")
# DINO's input (--dino-size, 224 by default) sets the cost of an image more
# than the image's size. Test (a) halves it: about 2 s an image on one
# thread. Test (b) keeps the defaults, 5-8 s an image, so that a signal can
# land in the middle of one.
SCALE_A, FLAGS_A = 0.5, ["--dino-size", "112"]
SCALE_B, FLAGS_B = 0.5, []
T0 = time.monotonic()


class Failed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failed(message)


def say(message):
    print(f"[{time.monotonic() - T0:6.1f} s] {message}", flush=True)


@contextlib.contextmanager
def step(name):
    start = time.monotonic()
    say(f"{name} ...")
    yield
    say(f"{name}: {time.monotonic() - start:.1f} s")


# -- inputs ------------------------------------------------------------------

def make_images(folder, scale, count, corrupt=True):
    """`count` images: the VOC photos, each flipped / cropped differently, in
    every format in turn (unique names, so unique output names), plus one
    corrupt file with an image extension. Returns the paths."""
    os.makedirs(folder)
    paths = []
    for k in range(count):
        img = cv2.imread(PHOTOS[k % len(PHOTOS)])
        variant = k // len(PHOTOS)
        if variant % 2 == 1:
            img = cv2.flip(img, 1)
        if variant >= 2:  # a different crop each time
            h, w = img.shape[:2]
            c = 0.05 * variant
            img = img[int(h * c):int(h * (1 - c / 2)), int(w * c / 2):int(w * (1 - c))]
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ext = FORMATS[k % len(FORMATS)]
        path = os.path.join(folder, f"img{k:02d}.{ext}")
        check(cv2.imwrite(path, img), f"cannot write {path}")
        paths.append(path)
    if corrupt:
        path = os.path.join(folder, "zz_corrupt.jpg")
        with open(path, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 not really a JPEG " * 20)
        paths.append(path)
    return paths


def make_tiny_models(root):
    """The layout tests/e2e/cli_harness.hpp's make_tiny_models builds: symlinks
    into the tiny networks and the CLIP tokenizer."""
    nets, tok = os.path.join(DATA, "nets"), os.path.join(DATA, "models-tiny", "clip-tokenizer")
    dino, clip = os.path.join(root, "dino-vits8"), os.path.join(root, "clip-vit-large-patch14-336")
    os.makedirs(dino)
    os.makedirs(clip)
    for f in ("config.json", "model.safetensors"):
        os.symlink(os.path.join(nets, "dino-vits8-tiny", f), os.path.join(dino, f))
        os.symlink(os.path.join(nets, "clip-vit-l14-336-tiny", f), os.path.join(clip, f))
    for f in ("vocab.json", "merges.txt"):
        os.symlink(os.path.join(tok, f), os.path.join(clip, f))
    return root


# -- outputs -----------------------------------------------------------------

def image_name(output_file):
    """img03.overlay.jpg → img03 (None for summaries and other files)."""
    base = os.path.basename(output_file)
    if base.startswith("summary"):
        return None
    for suffix in sorted(OUTPUT_SUFFIXES, key=len, reverse=True):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return None


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def normalised(path):
    """A file's bytes; a JSON output without its timings and with its paths reduced."""
    with open(path, "rb") as f:
        data = f.read()
    if not path.endswith(".json"):
        return data
    j = json.loads(data)
    j.pop("timings_seconds", None)
    j.pop("seconds", None)
    if isinstance(j.get("input"), dict) and "path" in j["input"]:
        j["input"]["path"] = os.path.basename(j["input"]["path"])
    if isinstance(j.get("models"), dict) and "folder" in j["models"]:
        j["models"]["folder"] = "MODELS"
    return json.dumps(j, sort_keys=True).encode()


def outputs(folder):
    """{file name: normalised content} of every image output (not the summaries)."""
    return {os.path.basename(p): normalised(p) for p in glob.glob(os.path.join(folder, "*"))
            if image_name(p) is not None}


def leftovers(folder):
    """Temporary files, and image outputs without their JSON."""
    bad = [p for p in glob.glob(os.path.join(folder, "*")) if ".tmp" in os.path.basename(p)]
    for p in glob.glob(os.path.join(folder, "*")):
        name = image_name(p)
        if name is not None and not os.path.exists(os.path.join(folder, name + ".json")):
            bad.append(p)
    return bad


def complete(folder, name):
    return all(os.path.isfile(os.path.join(folder, name + s)) for s in OUTPUT_SUFFIXES)


def summaries(folder):
    found = {}
    for p in sorted(glob.glob(os.path.join(folder, "summary*.json"))):
        with open(p) as f:
            found[os.path.basename(p)] = json.load(f)
    return found


def names(entries):
    """Image names of a summary list: of paths, or of {"input": path, ...}."""
    return [stem(e["input"] if isinstance(e, dict) else e) for e in entries]


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"({e})"


# -- the tests ---------------------------------------------------------------

class Suite:
    def __init__(self, cluster, binary):
        self.c = cluster
        self.binary = binary
        self.tmp = os.path.join(cluster.dir, "work")
        self.logs = os.path.join(self.tmp, "logs")
        os.makedirs(self.logs)
        models = make_tiny_models(os.path.join(self.tmp, "models"))
        self.flags = ["--models", models, "--vocab", os.path.join(DATA, "models-tiny", "vocab.txt"),
                      "--cache-dir", os.path.join(self.tmp, "cache"), "--device", "cpu"]
        self.inputs_a = None

    def submit(self, array, name, args, extra=(), env=None):
        """sbatch --array=... scripts/slurm_array.sh ARGS, from the repository
        (so the script finds build/zgseg when ZGSEG is unset)."""
        log = os.path.join(self.logs, f"{name}-%A_%a")
        return self.c.sbatch([f"--array={array}", "-J", name, "--cpus-per-task=1", "--mem=1G", "--time=30",
                              "-o", log + ".out", "-e", log + ".err", *extra, SCRIPT, *args], cwd=REPO, env=env)

    def job_logs(self, job):
        return sorted(glob.glob(os.path.join(self.logs, f"*-{job}_*.*")))

    def explain(self, job):
        for p in self.job_logs(job):
            say(f"--- {os.path.basename(p)}\n{tail(p)}")

    def zgseg(self, *args):
        return subprocess.run([self.binary, *args], capture_output=True, text=True)

    def ensure_inputs_a(self):
        if self.inputs_a is None:
            self.in_a = os.path.join(self.tmp, "in-a")
            self.inputs_a = make_images(self.in_a, SCALE_A, 12)
        return self.inputs_a

    # (a) ---------------------------------------------------------------------
    def test_a(self):
        inputs = self.ensure_inputs_a()
        good = {stem(p) for p in inputs if "corrupt" not in p}
        ref, out = os.path.join(self.tmp, "ref-a"), os.path.join(self.tmp, "out-a")
        with step(f"(a) reference: one zgseg batch over {len(inputs)} inputs"):
            r = self.zgseg("batch", self.in_a, "-o", ref, *self.flags, *FLAGS_A, "--threads", "1")
            check(r.returncode == 1, f"reference batch: exit {r.returncode}, expected 1 (the corrupt file):\n{r.stderr[-3000:]}")
        ref_seconds = summaries(ref)["summary.json"].get("seconds", 0)
        say(f"(a) reference: {ref_seconds:.1f} s, {ref_seconds / len(good):.2f} s an image")

        with step("(a) sbatch --array=0-3 scripts/slurm_array.sh"):
            job = self.submit("0-3", "a", [self.in_a, out, *self.flags, *FLAGS_A])  # --threads 1: --cpus-per-task
            tasks = self.c.wait_done(job)
        codes = sorted(t.get("ExitCode") for t in tasks)
        if codes != ["0:0", "0:0", "0:0", "1:0"]:
            self.explain(job)
        check(len(tasks) == 4, f"4 tasks expected, scontrol shows {len(tasks)}")
        check(codes == ["0:0", "0:0", "0:0", "1:0"],
              f"task exit codes {codes}: expected three 0 and one 1 (the task with the corrupt file)")

        mine, theirs = outputs(out), outputs(ref)
        check(set(mine) == set(theirs), f"output files differ: only in the array's {sorted(set(mine) - set(theirs))}, "
                                        f"only in the reference {sorted(set(theirs) - set(mine))}")
        check(len(mine) == 4 * len(good), f"{len(mine)} output files for {len(good)} good images (4 each expected)")
        differ = [f for f in sorted(mine) if mine[f] != theirs[f]]
        check(not differ, f"differ from the one-process batch: {differ}")
        check(not leftovers(out), f"left behind: {leftovers(out)}")

        sums = summaries(out)
        check(sorted(sums) == [f"summary-shard-{i}.json" for i in range(4)], f"summaries: {sorted(sums)}")
        done = [n for s in sums.values() for n in names(s.get("done_inputs", []))]
        check(len(done) == len(set(done)), f"an image done by two tasks: {sorted(done)}")
        check(set(done) == good, f"done_inputs cover {sorted(done)}, expected {sorted(good)}")
        with_corrupt = [f for f, s in sums.items() if "zz_corrupt" in names(s.get("failures", []))]
        check(len(with_corrupt) == 1, f"the corrupt file is in the failures of {with_corrupt} (exactly one expected)")
        for f, s in sums.items():
            check(not s.get("interrupted"), f"{f}: interrupted")
        check({s.get("shard") for s in sums.values()} == {f"{i}/4" for i in range(4)},
              f"shard fields {[s.get('shard') for s in sums.values()]}")
        say(f"(a) {len(good)} images + 1 corrupt over 4 tasks: "
            f"{ {f: len(s['done_inputs']) for f, s in sums.items()} } done, corrupt in {with_corrupt[0]}; "
            f"{len(mine)} files identical to the one-process batch")

    # (b) ---------------------------------------------------------------------
    def zgseg_pid(self, job, task):
        """The pid of the zgseg process of array task JOB_TASK (found by its environment)."""
        want = {f"SLURM_ARRAY_JOB_ID={job}".encode(), f"SLURM_ARRAY_TASK_ID={task}".encode()}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")[:2]  # the binary, or an interpreter and a script
                if os.path.realpath(self.binary).encode() not in [os.path.realpath(a) for a in argv]:
                    continue
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if want <= set(f.read().split(b"\0")):
                        return int(entry)
            except OSError:
                continue
        return None

    def test_b(self):
        in_b, out = os.path.join(self.tmp, "in-b"), os.path.join(self.tmp, "out-b")
        inputs = make_images(in_b, SCALE_B, 4, corrupt=False)
        flags = [*self.flags, *FLAGS_B]
        r = self.zgseg("batch", in_b, "-o", out, "--shard", "1/2", "--list")
        check(r.returncode == 0, f"--list: {r.stderr}")
        shard1 = [stem(line) for line in r.stdout.splitlines() if line]
        check(len(shard1) >= 2, f"shard 1/2 of {len(inputs)} inputs: {shard1}")

        job = self.submit("0-1", "b", [in_b, out, *flags])
        task = f"{job}_1"
        with step(f"(b) wait until task 1 has finished 1 of its {len(shard1)} images, and 1.5 s more"):
            deadline = time.monotonic() + 300
            pid = None
            while time.monotonic() < deadline:
                pid = pid or self.zgseg_pid(job, 1)
                if any(os.path.exists(os.path.join(out, n + ".json")) for n in shard1):
                    break
                time.sleep(0.1)
            time.sleep(1.5)  # well into the next image
            finished = [n for n in shard1 if os.path.exists(os.path.join(out, n + ".json"))]
            check(pid is not None, "task 1's zgseg process never seen")
            check(len(finished) < len(shard1),
                  "task 1 finished all its images before it could be preempted (make them slower: FLAGS_B)")

        with step(f"(b) scontrol requeuehold {task} (SIGTERM to the batch shell = zgseg)"):
            t_signal = time.monotonic()
            run(["scontrol", "requeuehold", task])
            while pid_alive(pid) and time.monotonic() - t_signal < 60:
                time.sleep(0.05)
            stopped_after = time.monotonic() - t_signal
            say(f"(b) zgseg (pid {pid}) ended {stopped_after:.2f} s after the requeue")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = next((t.get("JobState") for t in self.c.tasks(job) if t.get("ArrayTaskId") == "1"), None)
                if state in ("PENDING", "REQUEUE_HOLD"):
                    break
                time.sleep(0.2)
            say(f"(b) task 1 state: {state}")
        check(stopped_after < 5, f"zgseg took {stopped_after:.1f} s to stop after SIGTERM (promised: 2 s)")

        s1 = summaries(out).get("summary-shard-1.json")
        check(s1 is not None, "no summary-shard-1.json after the interruption")
        check(s1.get("interrupted") is True, f"summary: interrupted = {s1.get('interrupted')}")
        check(s1.get("signal") == "SIGTERM", f"summary: signal = {s1.get('signal')}")
        done1, not_done, abandoned = names(s1["done_inputs"]), names(s1["not_done"]), names(s1["abandoned"])
        check(not_done, "summary: not_done is empty")
        check(abandoned, "summary: abandoned is empty: the signal did not land in the middle of an image")
        check(set(abandoned) <= set(not_done), f"abandoned {abandoned} not within not_done {not_done}")
        check(sorted(done1 + not_done) == sorted(shard1), f"done {done1} + not_done {not_done} != shard 1 {shard1}")
        check(not leftovers(out), f"left behind after the interruption: {leftovers(out)}")
        for n in not_done:
            check(not glob.glob(os.path.join(out, n + ".*")), f"files of unfinished {n}: {glob.glob(os.path.join(out, n + '.*'))}")
        before = {n: os.stat(os.path.join(out, n + ".json")) for n in done1}
        check(before, "no image finished before the interruption")
        say(f"(b) interrupted summary: done {done1}, not_done {not_done}, abandoned {abandoned}")
        log1 = os.path.join(self.logs, f"b-{job}_1.err")
        with open(log1, errors="replace") as f:
            said = [line.strip() for line in f if "SIGTERM" in line and "slurmstepd" not in line]
        check(len(said) == 1, f"zgseg's log lines about the SIGTERM: {said} (one expected)")
        say(f"(b) zgseg's log: {said[0]}")

        with step(f"(b) scontrol release {task}: it runs again (after cred_expire) and resumes"):
            run(["scontrol", "release", task])
            tasks = self.c.wait_done(job)
        if any(t.get("ExitCode") != "0:0" for t in tasks):
            self.explain(job)
        check(all(t.get("ExitCode") == "0:0" for t in tasks), f"exit codes {[t.get('ExitCode') for t in tasks]}")
        t1 = next(t for t in tasks if t.get("ArrayTaskId") == "1")
        check(t1.get("Restarts") == "1", f"task 1 Restarts={t1.get('Restarts')}")

        for p in inputs:
            check(complete(out, stem(p)), f"{stem(p)} incomplete at the end")
        check(not leftovers(out), f"left behind: {leftovers(out)}")
        for n, st in before.items():
            now = os.stat(os.path.join(out, n + ".json"))
            check((now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), f"{n}.json was written again")
        s1 = summaries(out)["summary-shard-1.json"]
        check(not s1.get("interrupted"), "the second run is marked interrupted")
        check(s1.get("skipped_complete") == len(before), f"skipped_complete {s1.get('skipped_complete')}, expected {len(before)}")
        check(set(names(s1["done_inputs"])) == set(not_done),
              f"second run done {names(s1['done_inputs'])}, expected exactly the not_done {not_done}")
        s0 = summaries(out)["summary-shard-0.json"]
        check(set(names(s0["done_inputs"])) | set(done1) | set(not_done) == {stem(p) for p in inputs},
              "the two tasks together did not cover every image")
        with open(log1, errors="replace") as f:
            kept = "DUE TO JOB REQUEUE" in f.read()
        check(kept, f"task 1's log lost the first run's lines (#SBATCH --open-mode=append):\n{tail(log1)}")
        say(f"(b) after the requeue: skipped_complete {s1['skipped_complete']}, done {names(s1['done_inputs'])}; "
            f"task 1 Restarts=1; its log kept the first run (append mode)")

    # (c) ---------------------------------------------------------------------
    def test_c(self):
        inputs = self.ensure_inputs_a()
        every = sorted(os.path.basename(p) for p in inputs)
        shapes = {"0-3": 4, "1-4": 4, "0-7%2": 8, "5": 1, "1-9:4": 3}
        env = {k: v for k, v in os.environ.items() if k != "ZGSEG"}  # the script finds build/zgseg itself
        with step(f"(c) --list through the script for --array={', '.join(shapes)}; 1,5,9 for real"):
            burst = ["--partition=burst"]  # CPUs shared: these tasks take a fraction of a second
            jobs = {shape: self.submit(shape, "c", [self.in_a, os.path.join(self.tmp, "out-c"), "--list"], burst, env)
                    for shape in shapes}
            refused_out = os.path.join(self.tmp, "out-c-refused")
            refused = self.submit("1,5,9", "c", [self.in_a, refused_out, *self.flags], burst, env)
            results = {shape: self.c.wait_done(job) for shape, job in jobs.items()}
            refused_tasks = self.c.wait_done(refused)
        for shape, job in jobs.items():
            tasks = results[shape]
            check(len(tasks) == shapes[shape], f"--array={shape}: {len(tasks)} tasks, expected {shapes[shape]}")
            if any(t.get("ExitCode") != "0:0" for t in tasks):
                self.explain(job)
            check(all(t.get("ExitCode") == "0:0" for t in tasks),
                  f"--array={shape}: exit codes {[t.get('ExitCode') for t in tasks]}")
            listed = []
            for p in glob.glob(os.path.join(self.logs, f"c-{job}_*.out")):
                with open(p) as f:
                    listed += [os.path.basename(line.strip()) for line in f if line.strip()]
            check(sorted(listed) == every, f"--array={shape}: the tasks listed {sorted(listed)} (each input once expected)")
            say(f"(c) --array={shape}: {len(tasks)} tasks, {len(listed)} inputs, each once")
        check(len(refused_tasks) == 3, f"--array=1,5,9: {len(refused_tasks)} tasks")
        for t in refused_tasks:
            err = os.path.join(self.logs, f"c-{refused}_{t.get('ArrayTaskId')}.err")
            with open(err, errors="replace") as f:
                lines = [line for line in f.read().splitlines() if line.strip()]
            check(t.get("ExitCode") == "2:0", f"--array=1,5,9 task {t.get('ArrayTaskId')}: exit {t.get('ExitCode')}, "
                                               f"expected 2; its log:\n{tail(err)}")
            check(len(lines) == 1 and "--array=" in lines[0],
                  f"--array=1,5,9 task {t.get('ArrayTaskId')}: expected one line naming the --array to use, got {lines}")
        check(not os.path.exists(refused_out) or not os.listdir(refused_out), "--array=1,5,9 wrote outputs")
        say(f"(c) --array=1,5,9: every task exit 2: {lines[0]}")


def main(argv):
    wanted = [a for a in argv if a in ("a", "b", "c")] or ["a", "b", "c"]
    unknown = [a for a in argv if a not in ("a", "b", "c")]
    if unknown:
        print(__doc__)
        return 2
    built = os.environ.get("ZGSEG") or os.path.join(REPO, "build", "zgseg")
    if not os.access(built, os.X_OK):
        say(f"FAIL: no zgseg binary at {built} (build it, or set ZGSEG)")
        return 1
    keep = os.environ.get("KEEP") == "1"

    def stopped(signo, _frame):
        say(f"FAIL: stopped by {signal.Signals(signo).name}")
        sys.exit(128 + signo)  # still stops the cluster (finally below)

    signal.signal(signal.SIGTERM, stopped)
    results = {}
    cluster = Cluster(keep=keep, log=say)
    try:
        with step("start munged, slurmctld, slurmd; node idle"):
            cluster.start()
        version = run(["sinfo", "--version"]).stdout.strip()
        say(f"cluster: {version}, node {cluster.node}, {cluster.cpus} CPUs, SLURM_CONF={cluster.conf}")
        # A private copy: the build may relink build/zgseg while jobs run.
        binary = os.path.join(cluster.dir, "zgseg")
        shutil.copy2(built, binary)
        if subprocess.run([binary, "--version"], capture_output=True).returncode != 0:
            binary = built
        os.environ["ZGSEG"] = binary  # the jobs inherit it
        suite = Suite(cluster, binary)
        for name in wanted:
            start = time.monotonic()
            try:
                getattr(suite, f"test_{name}")()
                results[name] = "PASS"
            except (Failed, RuntimeError, TimeoutError, OSError) as e:
                results[name] = "FAIL"
                say(f"({name}) FAIL: {e}")
            say(f"({name}) {results[name]} in {time.monotonic() - start:.1f} s")
    except (RuntimeError, OSError) as e:
        say(f"FAIL: {e}")
        results["cluster"] = "FAIL"
    finally:
        with step("stop the cluster"):
            cluster.stop()
    ok = results and all(v == "PASS" for v in results.values())
    line = ", ".join(f"{k} {v}" for k, v in results.items())
    say(f"{'PASS' if ok else 'FAIL'}: slurm tests ({line}) in {time.monotonic() - T0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
