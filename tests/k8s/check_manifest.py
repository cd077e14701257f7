#!/usr/bin/env python3
"""Checks scripts/k8s_indexed_job.yaml offline:

1. valid against the Kubernetes API schemas (kubernetes-validate, strict: no
   unknown fields) of 1.31 (podFailurePolicy GA) and the newest it ships, as written and
   with its `#gpu ` lines enabled (the GPU variant README shows);
2. what the image and zgseg rely on: an Indexed Job whose ZGSEG_SHARDS equals
   `completions` and whose args run `--shard $(JOB_COMPLETION_INDEX)/$(ZGSEG_SHARDS)`
   with the image's ENTRYPOINT (no `command`: zgseg is PID 1 and gets SIGTERM),
   the restricted security context, a writable /cache and /tmp for the
   read-only root, a grace period longer than zgseg's 2 s stop, memory that
   fits a run's measured peak, and a GPU in the GPU variant.

    python3 tests/k8s/check_manifest.py [scripts/k8s_indexed_job.yaml]

Exit 0 when all pass; each failure is one line. Needs PyYAML and
kubernetes-validate (scripts/setup.sh --tests installs them into .venv).
"""
import re
import sys
from pathlib import Path

import kubernetes_validate
import yaml

GPU_LINE = re.compile(r"^(\s*)#gpu ", re.M)
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def mebibytes(quantity):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", str(quantity))
    if not m:
        raise ValueError(f"memory quantity {quantity!r} not in the binary-suffix form this check reads")
    scale = {None: 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 2**20}[m.group(2)]
    return int(m.group(1)) * scale


def validate(doc, label):
    versions = sorted(
        {p.name.split("-")[0][1:] for p in
         (Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema").glob("v*-local-strict")},
        key=lambda v: tuple(int(x) for x in v.split(".")))
    # The oldest version with podFailurePolicy GA (1.31), and the newest shipped.
    for version in ("1.31.0", versions[-1]):
        try:
            kubernetes_validate.validate(doc, version, strict=True)
            check(True, f"{label}: valid Kubernetes {version} (strict)")
        except kubernetes_validate.ValidationError as e:
            check(False, f"{label}: invalid for Kubernetes {version}: {'.'.join(map(str, e.path))}: {e.message}")


def main():
    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "scripts/k8s_indexed_job.yaml")
    text = path.read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    check(len(docs) == 1, f"one document (found {len(docs)})")
    job = docs[0]
    gpu_text = GPU_LINE.sub(r"\1", text)
    check(gpu_text != text, "has #gpu lines")
    gpu = yaml.safe_load(gpu_text)
    validate(job, "CPU")
    validate(gpu, "GPU")

    spec = job["spec"]
    pod = spec["template"]["spec"]
    (c,) = pod["containers"]
    env = {e["name"]: e for e in c.get("env", [])}
    check(job["kind"] == "Job" and spec.get("completionMode") == "Indexed", "an Indexed Job")
    shards = env.get("ZGSEG_SHARDS", {}).get("value")
    check(shards is not None and int(shards) == spec["completions"],
          f"ZGSEG_SHARDS ({shards}) = completions ({spec['completions']})")
    check(spec.get("parallelism", 1) <= spec["completions"], "parallelism <= completions")
    check("command" not in c, "no command: the image's ENTRYPOINT (zgseg) runs as PID 1")
    args = c["args"]
    check(args[:1] == ["batch"] and "--resume" in args, "zgseg batch --resume")
    check("--shard" in args and args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/$(ZGSEG_SHARDS)",
          "--shard $(JOB_COMPLETION_INDEX)/$(ZGSEG_SHARDS)")
    # $(VAR) expands only for variables declared in the container's env.
    for var in set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", " ".join(args))):
        check(var in env, f"$({var}) is declared in env")
    index = env.get("JOB_COMPLETION_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
    check(index == "metadata.annotations['batch.kubernetes.io/job-completion-index']",
          "JOB_COMPLETION_INDEX from the completion-index annotation")

    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, "runAsNonRoot with a non-zero runAsUser")
    check(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    check(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem: true")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(5 <= grace <= 60, f"terminationGracePeriodSeconds {grace}: above zgseg's 2 s stop, not minutes")

    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for where in ("/cache", "/tmp"):
        m = mounts.get(where)
        check(m is not None and "emptyDir" in volumes.get(m["name"], {}) and not m.get("readOnly"),
              f"{where} is a writable emptyDir (read-only root)")
    check(mounts.get("/models", {}).get("readOnly") is True, "/models mounted read-only")
    check("/data" in mounts and not mounts["/data"].get("readOnly"), "/data mounted writable")

    res = c["resources"]
    req, lim = mebibytes(res["requests"]["memory"]), mebibytes(res["limits"]["memory"])
    check(req >= 2.5 * 1024, f"memory request {res['requests']['memory']} >= 2.5 GB (default run peak while building the vocabulary cache)")
    check(lim >= 4.3 * 1000**3 / 2**20, f"memory limit {res['limits']['memory']} >= 4.3 GB (ZeroCap)")
    check(res["requests"].get("cpu") and res["limits"].get("cpu"), "CPU request and limit")
    threads = env.get("ZGSEG_THREADS", {}).get("valueFrom", {}).get("resourceFieldRef", {})
    check(threads.get("resource") == "limits.cpu", "--threads follows the CPU limit")

    (gc,) = gpu["spec"]["template"]["spec"]["containers"]
    check(str(gc["resources"]["limits"].get("nvidia.com/gpu")) == "1", "GPU variant: limits nvidia.com/gpu 1")
    check("nvidia.com/gpu" not in c["resources"]["limits"], "CPU variant: no GPU")

    print(f"{len(failures)} failed" if failures else "manifest OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
