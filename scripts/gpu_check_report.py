#!/usr/bin/env python3
"""The report of scripts/gpu_check.sh, from the files it left in OUT (markdown on stdout).

Exits 1 when a step failed, a selftest check failed, or the overlapped batch's
outputs differ from the one-at-a-time batch's.
"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
ok = True
print("# zgseg GPU check\n")
print("```\n" + (out / "machine.txt").read_text().strip() + "\n```\n")

print("## Steps\n\n| step | exit | seconds |\n|---|---|---|")
for line in (out / "steps.txt").read_text().splitlines():
    name, rc, seconds = line.split()
    ok &= rc == "0"
    print(f"| {name} | {rc} | {seconds} |")

print("\n## selftest\n\n| precision | check | result | max diff | diff/tolerance | rtol |\n|---|---|---|---|---|---|")
for f in sorted(out.glob("selftest-*.json")):
    r = json.loads(f.read_text())
    for c in r["checks"]:
        ok &= c["passed"]
        result = "ok" if c["passed"] else "FAIL " + c["error"]
        print(f"| {r['precision']} | {c['name']} | {result} | {c['max_abs_diff']:.3g} | {c['worst_ratio']:.3g} | {c['rtol']:.3g} |")

bench = out / "bench.json"
if bench.exists():
    b = json.loads(bench.read_text())
    print("\n## bench (random weights; fixed nodes and caption length)\n")
    print("| stage | reps | min s | median s | GFLOP/s | CUDA peak MiB | note |\n|---|---|---|---|---|---|---|")
    for row in b["rows"]:
        fmt = lambda v, spec: "–" if v is None else format(v, spec)
        print(f"| {row['name']}{' *' if row['kind'] == 'extrapolated' else ''} | {row.get('reps', '–')} | "
              f"{fmt(row.get('min_s'), '.4g')} | {fmt(row.get('median_s'), '.4g')} | {fmt(row.get('gflops_per_s'), '.1f')} | "
              f"{fmt(row.get('cuda_peak_mib'), '.0f')} | {row.get('note', '')} |")

batches = sorted(out.glob("bench-embed-batch-*.json"), key=lambda f: int(f.stem.rsplit("-", 1)[1]))
if batches:
    print("\n## stage 2: nodes a batch (`--embed-batch`)\n")
    print("| nodes a batch | min s | median s | peak RSS MiB | CUDA peak MiB |\n|---|---|---|---|---|")
    for f in batches:
        for row in json.loads(f.read_text())["rows"]:
            if row["name"] != "embedding":
                continue
            fmt = lambda v, spec: "–" if v is None else format(v, spec)
            print(f"| {f.stem.rsplit('-', 1)[1]} | {fmt(row.get('min_s'), '.4g')} | {fmt(row.get('median_s'), '.4g')} | "
                  f"{fmt(row.get('peak_rss_mib'), '.0f')} | {fmt(row.get('cuda_peak_mib'), '.0f')} |")


def segments(folder):
    """image name → (per-image seconds, {segment id: (label, mask counts)})"""
    result = {}
    for f in sorted(folder.glob("*.json")):
        if f.name.startswith("summary"):
            continue
        j = json.loads(f.read_text())
        total = sum(v for k, v in j["timings_seconds"].items() if k.count(".") == 0)
        result[f.stem] = (total, {s["id"]: (s["label"], s["mask"]["counts"]) for s in j["segments"]})
    return result


runs = {p: segments(out / f"segment-{p}") for p in ("fp32", "bf16") if (out / f"segment-{p}").is_dir()}
if runs:
    print("\n## segment with ZeroCap, end to end per photo (seconds of stages 1–4, models loaded)\n")
    print("| photo | " + " | ".join(runs) + " |\n|---|" + "---|" * len(runs))
    for name in runs.get("fp32", {}):
        print(f"| {name} | " + " | ".join(f"{runs[p][name][0]:.2f}" if name in runs[p] else "–" for p in runs) + " |")
if "fp32" in runs and "bf16" in runs:
    same_mask = same_label = total = 0
    for name, (_, segs) in runs["fp32"].items():
        other = runs["bf16"].get(name, (0, {}))[1]
        for sid, (label, mask) in segs.items():
            total += 1
            if sid in other and other[sid][1] == mask:
                same_mask += 1
                same_label += other[sid][0] == label
    print(f"\nbf16 vs fp32: {total} fp32 segments; {same_mask} with the same mask in bf16, "
          f"{same_label} of those with the same label.")

batches = {ov: out / f"batch-{ov}" for ov in ("off", "on")}
if all(p.is_dir() for p in batches.values()):
    def strip(path):
        j = json.loads(path.read_text())
        j.pop("timings_seconds", None)
        j.pop("seconds", None)
        return j
    print("\n## batch, one image at a time vs overlapped\n\n| --overlap | images | seconds | images/min |\n|---|---|---|---|")
    for ov, p in batches.items():
        s = json.loads((p / "summary.json").read_text())
        print(f"| {ov} | {s['done']} | {s['seconds']:.1f} | {60 * s['done'] / max(s['seconds'], 1e-9):.1f} |")
    differ = []
    for f in sorted(batches["off"].iterdir()):
        g = batches["on"] / f.name
        if not g.exists():
            differ.append(f.name)
        elif f.suffix == ".json":
            differ += [f.name] if strip(f) != strip(g) else []
        elif f.read_bytes() != g.read_bytes():
            differ.append(f.name)
    ok &= not differ
    print("\noverlapped outputs: " + ("identical to one at a time" if not differ else "DIFFER: " + ", ".join(differ)))

print(f"\n**{'all checks passed' if ok else 'SOME CHECKS FAILED'}**")
sys.exit(0 if ok else 1)
