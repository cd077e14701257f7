#!/usr/bin/env bash
# Builds the container image (Containerfile) with Podman and checks it. Not part
# of scripts/test.sh: it needs root, Podman and 10+ GB of disk.
#
#   scripts/test_container.sh [--variant cuda|cpu] [--no-build]
#
#   base  a Debian 12 image made without any registry: debootstrap --variant=minbase
#         bookworm from the Debian mirror this machine's apt uses, imported as
#         zgseg-base:bookworm (ZGSEG_BASE_IMAGE picks another base instead)
#   build podman build, with the host's portable cache and a ccache folder mounted
#   a     `zgseg selftest` in the container (--network none, --read-only)
#   b     a batch over a mounted folder with the tiny test models writes the same
#         label maps and JSON (apart from timings and paths) as the host build
#         ($ZGSEG_HOST_BINARY, default build/zgseg from scripts/setup.sh), and a
#         second run with --resume skips every image
#   c     `podman stop` mid-batch: zgseg (PID 1) stops within 2 s of SIGTERM with
#         exit 75, whole outputs only, and an interrupted summary.json; --resume
#         then finishes the batch
#   d     with no writable place but the output mount (--read-only-tmpfs=false),
#         the batch still works and `podman diff` shows nothing changed
#   k8s   scripts/k8s_indexed_job.yaml's args, run as each pod would (JOB_COMPLETION_INDEX
#         = 0..completions-1, its env, mounts, user and security settings): rc 0,
#         and the shards cover every image exactly once
#
# Measured on 2 shared cores: the first build 35 min with OpenCV already in the
# host's cache (+11 min without), a rebuild after a source change 10-25 min
# (zgseg with ccache; waits while another build_portable.sh uses the cache),
# 2.7 min when ccache holds every object; the whole script then 8.7 min;
# --variant cpu after cuda 23 s; the checks alone (--no-build) 2.8 min (cuda,
# quiet machine) to 5 min (cpu, other builds running). 18 checks.
# Exit 0 when every check passes; the last line counts them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

VARIANT=cuda
BUILD=1
while (($#)); do
  case "$1" in
    --variant) VARIANT="${2:-}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "test_container: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$VARIANT" == cuda || "$VARIANT" == cpu ]] || { echo "test_container: --variant cuda|cpu" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "test_container: run as root (rootful Podman)" >&2; exit 2; }

IMAGE="${ZGSEG_IMAGE:-localhost/zgseg:$VARIANT}"
BASE_IMAGE="${ZGSEG_BASE_IMAGE:-localhost/zgseg-base:bookworm}"
TORCH_VERSION=$(sed -n 's/^TORCH_VERSION="\(.*\)"$/\1/p' scripts/setup.sh)
HOST_ZGSEG="${ZGSEG_HOST_BINARY:-$ROOT/build/zgseg}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/zgseg"
# Debian 12's Podman 4.3 as root: crun refuses a hybrid cgroup layout (runc
# works), and Podman's default ulimits can exceed the machine's hard limits.
PODMAN=(podman --runtime "${ZGSEG_PODMAN_RUNTIME:-runc}")
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# Every run: no network, read-only root (Podman adds tmpfs /tmp, /var/tmp, /run).
RUN=("${PODMAN[@]}" run --rm --network none --read-only "${LIMITS[@]}")

START=$(date +%s)
PASSED=0
FAILED=0
log() { echo "test_container: $*"; }
pass() { echo "  ok    $*"; PASSED=$((PASSED + 1)); }
fail() { echo "  FAIL  $*"; FAILED=$((FAILED + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

# ---- tools ------------------------------------------------------------------------
missing=()
for p in podman runc debootstrap python3-yaml; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- base image --------------------------------------------------------------------
if [[ "$BASE_IMAGE" == localhost/zgseg-base:bookworm ]] && ! podman image exists "$BASE_IMAGE"; then
  # The Debian archive apt uses here (deb822 .sources or one-line sources.list).
  mirror=$(python3 - <<'EOF'
import glob, re
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list"]:
    try:
        text = open(path).read()
    except OSError:
        continue
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if "bookworm" in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
            print(fields["URIs"].split()[0]); raise SystemExit
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "deb" and parts[2] == "bookworm":
            print(parts[1]); raise SystemExit
print("http://deb.debian.org/debian")
EOF
)
  rootfs=$(mktemp -d /var/tmp/zgseg-rootfs.XXXXXX)
  t=$(date +%s)
  log "making $BASE_IMAGE: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; echo "test_container: debootstrap failed (log above)" >&2; exit 1; }
  # Slim like debian:bookworm-slim; the same apt sources as this machine (its
  # Debian entries); this machine's local CA certificates, so that the build
  # steps reach PyPI where the network inspects TLS (update-ca-certificates in
  # the build stage picks them up; the runtime never installs ca-certificates).
  rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null && grep -lq bookworm /etc/apt/sources.list.d/*.sources; then
    rm -f "$rootfs/etc/apt/sources.list"
    for f in /etc/apt/sources.list.d/*.sources; do grep -q bookworm "$f" && cp "$f" "$rootfs/etc/apt/sources.list.d/"; done
  fi
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  tar -C "$rootfs" -c . | podman import -q - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  log "$BASE_IMAGE made in $(elapsed "$t")"
fi

# ---- build -------------------------------------------------------------------------
if ((BUILD)); then
  mkdir -p "$CACHE/portable" "$CACHE/ccache-container"
  t=$(date +%s)
  log "podman build $IMAGE (VARIANT=$VARIANT, torch $TORCH_VERSION, base $BASE_IMAGE)"
  nice -n 15 "${PODMAN[@]}" build --network host "${LIMITS[@]}" \
    --build-arg BASE="$BASE_IMAGE" --build-arg VARIANT="$VARIANT" --build-arg TORCH_VERSION="$TORCH_VERSION" \
    -v "$CACHE/portable:/root/.cache/zgseg/portable" -v "$CACHE/ccache-container:/root/.cache/ccache" \
    -f Containerfile -t "$IMAGE" . 2>&1 | sed -u 's/^/  build: /' \
    | grep --line-buffered -vE '^  build: (Copying|Writing|Storing|Getting)'
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "test_container: podman build failed" >&2; exit 1; }
  log "built in $(elapsed "$t")"
fi
podman image exists "$IMAGE" || { echo "test_container: no image $IMAGE (run without --no-build)" >&2; exit 1; }
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
log "$IMAGE: $((size / 1000000)) MB; its layers (top last: the bundle, the torch libraries, the NVIDIA libraries, the base):"
podman history --format '{{.Size}}	{{.CreatedBy}}' "$IMAGE" | grep -v '^0 B' | cut -c1-110 | sed 's/^/    /'

# ---- test data -----------------------------------------------------------------------
T=$(mktemp -d /var/tmp/zgseg-ctest.XXXXXX)
cleanup() {
  podman rm -f "zgseg-ctest-stop-$$" "zgseg-ctest-ro-$$" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
D="$ROOT/tests/data"
# The tiny models laid out as a real models folder (tests/e2e/cli_harness.hpp's
# make_tiny_models, with copies: a symlink would point outside the mount).
mkdir -p "$T/models/dino-vits8" "$T/models/clip-vit-large-patch14-336"
cp "$D"/nets/dino-vits8-tiny/{config.json,model.safetensors} "$T/models/dino-vits8/"
cp "$D"/nets/clip-vit-l14-336-tiny/{config.json,model.safetensors} "$T/models/clip-vit-large-patch14-336/"
cp "$D"/models-tiny/clip-tokenizer/{vocab.json,merges.txt} "$T/models/clip-vit-large-patch14-336/"
cp "$D/models-tiny/vocab.txt" "$T/models/vocab.txt"
# Photos: the three sample JPEGs, twice (b, d), four times (c, k8s).
mkdir -p "$T/in" "$T/in-many"
for n in 2011_000003 2011_000006 2011_000025; do
  for copy in 0 1; do cp "$D/voc-sample/JPEGImages/$n.jpg" "$T/in/${copy}_$n.jpg"; done
  for copy in 0 1 2 3; do cp "$D/voc-sample/JPEGImages/$n.jpg" "$T/in-many/${copy}_$n.jpg"; done
done
chmod -R a+rX "$T"
# Output folders belong to the image's user (10001), as a volume for a pod would.
outdir() { mkdir -p "$1" && chown 10001:10001 "$1"; }
TINY=(--models /models --vocab /models/vocab.txt --cache-dir /cache --device cpu --threads 2)
MOUNTS=(-v "$T/models:/models:ro" --tmpfs /cache)

# compare.py HOST_OUT CONTAINER_OUT: same files; label maps and embeddings byte
# for byte; each image's JSON equal once timings are dropped and its paths
# reduced to the part below the input/output/models folder.
cat > "$T/compare.py" <<'EOF'
import json, os, re, sys
a, b = sys.argv[1], sys.argv[2]
def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if k not in ("timings_seconds", "seconds")}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str) and v.startswith("/"):
        return re.sub(r"^.*/(in|out-host|out-b|models)(/|$)", r"<\1>\2", v).replace("<out-host>", "<out>").replace("<out-b>", "<out>")
    return v
fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
problems = [] if fa == fb else [f"files differ: {sorted(set(fa) ^ set(fb))}"]
counts = {}
for f in sorted(set(fa) & set(fb)):
    if f.startswith("summary"):
        continue
    x, y = open(os.path.join(a, f), "rb").read(), open(os.path.join(b, f), "rb").read()
    kind = f.split(".", 1)[1]
    if kind == "json":
        same = norm(json.loads(x)) == norm(json.loads(y))
    else:
        same = x == y
    counts.setdefault(kind, [0, 0])[0 if same else 1] += 1
    if not same and kind != "overlay.jpg":
        problems.append(f"{f} differs")
print("  " + ", ".join(f"{k}: {s} same, {d} different" for k, (s, d) in sorted(counts.items())))
for p in problems:
    print("  " + p)
sys.exit(1 if problems or "png" not in counts else 0)
EOF
summary() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))" "$@"; }

# ---- a: selftest -----------------------------------------------------------------------
log "a: zgseg selftest in the container"
t=$(date +%s)
if "${RUN[@]}" "$IMAGE" selftest >"$T/selftest.log" 2>&1; then
  pass "a: $(grep 'selftest passed' "$T/selftest.log") ($(elapsed "$t"))"
else
  sed 's/^/    /' "$T/selftest.log" | tail -n 20
  fail "a: selftest failed"
fi

# ---- b: same outputs as the host build; --resume skips ---------------------------------
log "b: batch over a mounted folder vs the host build ($HOST_ZGSEG)"
if [[ -x "$HOST_ZGSEG" ]]; then
  t=$(date +%s)
  "$HOST_ZGSEG" batch "$T/in" -o "$T/out-host" --models "$T/models" --vocab "$T/models/vocab.txt" \
    --cache-dir "$T/cache-host" --device cpu --threads 2 >"$T/host.log" 2>&1 \
    || { tail -n 5 "$T/host.log"; fail "b: host batch failed"; }
  log "b: host batch $(elapsed "$t")"
else
  fail "b: no host build at $HOST_ZGSEG (scripts/setup.sh builds build/zgseg; or set ZGSEG_HOST_BINARY)"
fi
outdir "$T/out-b"
t=$(date +%s)
rc=0
"${RUN[@]}" "${MOUNTS[@]}" -v "$T/in:/in:ro" -v "$T/out-b:/out" "$IMAGE" batch /in -o /out "${TINY[@]}" \
  >"$T/b.log" 2>&1 || rc=$?
check "b: container batch exit 0 ($(elapsed "$t"))" test "$rc" -eq 0
[[ $rc -eq 0 ]] || tail -n 10 "$T/b.log"
if [[ -d "$T/out-host" ]]; then
  check "b: label maps, embeddings and JSON equal to the host build's" python3 "$T/compare.py" "$T/out-host" "$T/out-b"
fi
rc=0
"${RUN[@]}" "${MOUNTS[@]}" -v "$T/in:/in:ro" -v "$T/out-b:/out" "$IMAGE" batch /in -o /out "${TINY[@]}" --resume \
  >"$T/b-resume.log" 2>&1 || rc=$?
check "b: --resume exit 0" test "$rc" -eq 0
check "b: --resume skipped all 6 images, did none" \
  test "$(summary "$T/out-b/summary.json" skipped_complete)/$(summary "$T/out-b/summary.json" done)" = "6/0"

# ---- c: podman stop mid-batch ----------------------------------------------------------
log "c: podman stop (SIGTERM) mid-batch"
outdir "$T/out-c"
name="zgseg-ctest-stop-$$"
"${PODMAN[@]}" run -d --name "$name" --network none --read-only "${LIMITS[@]}" "${MOUNTS[@]}" \
  -v "$T/in-many:/in:ro" -v "$T/out-c:/out" "$IMAGE" batch /in -o /out "${TINY[@]}" >/dev/null
first=""
for _ in $(seq 1 1200); do  # up to 10 min for the first finished image
  first=$(find "$T/out-c" -maxdepth 1 -name '*.json' ! -name 'summary*' -print -quit)
  [[ -n "$first" || "$(podman inspect --format '{{.State.Running}}' "$name")" != true ]] && break
  sleep 0.5
done
pid1=$(podman top "$name" args 2>/dev/null | sed -n 2p || true)
t0=$(date +%s.%N)
"${PODMAN[@]}" stop -t 10 "$name" >/dev/null
t1=$(date +%s.%N)
stop_s=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
podman logs "$name" >"$T/c.log" 2>&1 || true
podman rm "$name" >/dev/null
check "c: zgseg is PID 1 (podman top: '${pid1:0:40}')" grep -q '^zgseg' <<<"$pid1"
check "c: the batch was mid-way when stopped" test -n "$first"
check "c: stopped in ${stop_s} s (< 2.5 s: no SIGKILL needed)" python3 -c "import sys; sys.exit(not $stop_s < 2.5)"
check "c: exit code $code (75 wanted)" test "$code" = 75
cat > "$T/check_stop.py" <<'EOF'
import json, os, sys
out, inp = sys.argv[1], sys.argv[2]
images = sorted(os.listdir(inp))
files = os.listdir(out)
bad = [f for f in files if ".tmp" in f or f.startswith(".")]
outputs = {s: [f for f in files if f.startswith(s[:-4] + ".")] for s in images}
whole = {s for s, f in outputs.items() if len(f) == 4}
partial = {s: f for s, f in outputs.items() if 0 < len(f) < 4}
try:
    summary = json.load(open(os.path.join(out, "summary.json")))
except (OSError, ValueError) as e:
    print(f"  no readable summary.json: {e}"); sys.exit(1)
base = lambda p: os.path.basename(p)
not_done = {base(p) for p in summary.get("not_done", [])}
abandoned = {base(p) for p in summary.get("abandoned", [])}
problems = []
if bad: problems.append(f"temporary files left: {bad}")
if partial: problems.append(f"partial outputs: {partial}")
if summary.get("interrupted") is not True: problems.append(f"interrupted: {summary.get('interrupted')!r}")
if summary.get("signal") != "SIGTERM": problems.append(f"signal: {summary.get('signal')!r}")
if not not_done: problems.append("not_done is empty")
if whole & not_done: problems.append(f"finished images listed as not done: {sorted(whole & not_done)}")
if whole | not_done | abandoned != set(images):
    problems.append(f"images neither finished nor listed: {sorted(set(images) - whole - not_done - abandoned)}")
print(f"  {len(whole)} finished, {len(not_done)} not done, {len(abandoned)} abandoned of {len(images)}")
for p in problems: print("  " + p)
sys.exit(1 if problems else 0)
EOF
check "c: whole outputs only, summary.json interrupted/SIGTERM/not_done/abandoned" \
  python3 "$T/check_stop.py" "$T/out-c" "$T/in-many"
rc=0
"${RUN[@]}" "${MOUNTS[@]}" -v "$T/in-many:/in:ro" -v "$T/out-c:/out" "$IMAGE" batch /in -o /out "${TINY[@]}" --resume \
  >"$T/c-resume.log" 2>&1 || rc=$?
check "c: --resume after the stop finishes the batch (exit $rc; done + skipped = 12)" \
  test "$rc/$(( $(summary "$T/out-c/summary.json" done) + $(summary "$T/out-c/summary.json" skipped_complete) ))" = "0/12"

# ---- d: nothing written outside the output mount ----------------------------------------
log "d: only the output mount is writable (no tmpfs at all); podman diff"
outdir "$T/out-d"
name="zgseg-ctest-ro-$$"
rc=0
"${PODMAN[@]}" run --name "$name" --network none --read-only --read-only-tmpfs=false "${LIMITS[@]}" \
  -v "$T/models:/models:ro" -v "$T/in:/in:ro" -v "$T/out-d:/out" "$IMAGE" \
  batch /in -o /out --models /models --vocab /models/vocab.txt --cache-dir /out/.cache --device cpu --threads 2 \
  >"$T/d.log" 2>&1 || rc=$?
# podman itself adds the mount points it needs (A /in, A /out) and changes /etc
# (hosts, hostname, resolv.conf); anything else would be a write.
diff_out=$(podman diff "$name" 2>&1 | grep -vxE 'C /etc|A /(in|out|models)' || true)
podman rm "$name" >/dev/null
check "d: batch exit 0 with a read-only /tmp, /run, /var/tmp and /cache" test "$rc" -eq 0
check "d: no warning about a file it could not write" bash -c "! grep -iE 'could not|read-only|cannot (write|create)' '$T/d.log'"
check "d: podman diff shows no change but podman's own ('${diff_out//$'\n'/ }')" test -z "$diff_out"
check "d: the output folder holds 4 files per image, summary.json and the cache" \
  test "$(find "$T/out-d" -maxdepth 1 -type f | wc -l)/$(find "$T/out-d/.cache" -type f | wc -l)" = "25/1"
# With the image's own settings (HOME=/tmp, XDG_CACHE_HOME=/cache), what lands in /tmp?
rc=0
tmp_list=$("${RUN[@]}" "${MOUNTS[@]}" -v "$T/in:/in:ro" --tmpfs /out --entrypoint sh "$IMAGE" -c \
  'zgseg batch /in -o /out --models /models --vocab /models/vocab.txt --device cpu --threads 2 >/dev/null 2>&1 || exit 9;
   find /tmp /var/tmp -mindepth 1 2>/dev/null; echo "cache:"; find /cache -type f') || rc=$?
check "d: with the image's defaults nothing is written to /tmp or /var/tmp; the cache goes to /cache" \
  test "$rc/$(awk '/^cache:$/ {exit} {n++} END {print n + 0}' <<<"$tmp_list")/$(awk 'f && /^\/cache\/zgseg\// {n++} /^cache:$/ {f = 1} END {print n + 0}' <<<"$tmp_list")" = "0/0/1"

# ---- k8s: the manifest's own command, one run per index ---------------------------------
log "k8s: scripts/k8s_indexed_job.yaml, one run per JOB_COMPLETION_INDEX"
mkdir -p "$T/k8s/data/images"
cp "$T"/in-many/*.jpg "$T/k8s/data/images/"
chown -R 10001:10001 "$T/k8s/data"
# The pod's run as podman arguments, one line per index: its env, mounts (claims →
# folders here, emptyDirs → tmpfs), user, security settings, and the container's
# args with $(VAR) expanded as the kubelet does.
python3 - "$ROOT/scripts/k8s_indexed_job.yaml" "$T" >"$T/k8s-runs.txt" <<'EOF'
import json, re, sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
T = sys.argv[2]
claims = {"zgseg-data": f"{T}/k8s/data", "zgseg-models": f"{T}/models"}
pod = job["spec"]["template"]["spec"]
(c,) = pod["containers"]
volumes = {v["name"]: v for v in pod["volumes"]}
sc = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
for k in range(job["spec"]["completions"]):
    env = {"JOB_COMPLETION_INDEX": str(k)}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "resourceFieldRef" in e.get("valueFrom", {}):
            env[e["name"]] = str(c["resources"]["limits"][e["valueFrom"]["resourceFieldRef"]["resource"].split(".")[1]])
    expand = lambda s: re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), s)
    argv = ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', sc['runAsUser'])}"]
    if sc.get("readOnlyRootFilesystem"):
        argv += ["--read-only", "--read-only-tmpfs=false"]
    if sc.get("allowPrivilegeEscalation") is False:
        argv += ["--security-opt", "no-new-privileges"]
    argv += [f"--cap-drop={x.lower()}" for x in sc.get("capabilities", {}).get("drop", [])]
    for name, value in env.items():
        argv += ["-e", f"{name}={value}"]
    for m in c["volumeMounts"]:
        v = volumes[m["name"]]
        if "persistentVolumeClaim" in v:
            argv += ["-v", f"{claims[v['persistentVolumeClaim']['claimName']]}:{m['mountPath']}" + (":ro" if m.get("readOnly") else "")]
        elif "emptyDir" in v:
            argv += ["--tmpfs", m["mountPath"]]
    if "command" in c:
        argv += ["--entrypoint", json.dumps(c["command"])]
    print(json.dumps({"index": k, "podman": argv, "args": [expand(a) for a in c.get("args", [])]}))
EOF
k8s_ok=1
t=$(date +%s)
while read -r line; do
  mapfile -t pargs < <(python3 -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])["podman"]]' "$line")
  mapfile -t cargs < <(python3 -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])["args"]]' "$line")
  k=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["index"])' "$line")
  rc=0
  podman --runtime "${ZGSEG_PODMAN_RUNTIME:-runc}" run --rm --network none "${LIMITS[@]}" "${pargs[@]}" "$IMAGE" \
    "${cargs[@]}" >"$T/k8s-$k.log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    k8s_ok=0; echo "    index $k: exit $rc: zgseg ${cargs[*]}"; tail -n 5 "$T/k8s-$k.log" | sed 's/^/      /'
  fi
done <"$T/k8s-runs.txt"
n=$(wc -l <"$T/k8s-runs.txt")
check "k8s: $n pods (zgseg $(python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])["args"]))' "$(head -n1 "$T/k8s-runs.txt")"), ...) exit 0 ($(elapsed "$t"))" \
  test "$k8s_ok" = 1
check "k8s: the shards cover every image once" python3 - "$T/k8s/data" "$n" <<'EOF'
import json, os, sys
data, n = sys.argv[1], int(sys.argv[2])
images = sorted(os.listdir(f"{data}/images"))
out = sorted(os.listdir(f"{data}/out"))
done = []
for k in range(n):
    s = json.load(open(f"{data}/out/summary-shard-{k}.json"))
    done.append(s["done"])
jsons = [f for f in out if f.endswith(".json") and not f.startswith("summary")]
print(f"  {len(images)} images, {n} shards did {done} (sum {sum(done)}), {len(jsons)} image JSONs")
sys.exit(0 if sum(done) == len(images) == len(jsons) and all(d > 0 for d in done if len(images) >= n) else 1)
EOF

log "$PASSED passed, $FAILED failed; $(elapsed "$START") in all"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
