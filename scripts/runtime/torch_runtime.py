#!/usr/bin/env python3
"""Lays out the LibTorch runtime a portable zgseg bundle needs to run on its own
(the container image uses it; scripts/build_portable.sh's bundle itself takes
LibTorch from the target machine's torch instead):

    scripts/runtime/torch_runtime.py --torch-version 2.15.0 --variant cuda DEST

DEST/lib/     the torch wheel's torch/lib libraries that zgseg loads; they go
              into the bundle's lib/ (bin/zgseg has RUNPATH $ORIGIN/../lib)
DEST/nvidia/  (variant cuda) the nvidia-* wheels' nvidia/<pkg>/lib folders, laid
              out as in site-packages: the torch libraries' RPATH is
              $ORIGIN/../../nvidia/<pkg>/lib, so DEST/nvidia goes beside the
              bundle's folder (bundle /opt/zgseg → /opt/nvidia)

Variants:
  cuda  everything libtorch_cuda.so needs (cuDNN, cuBLAS, NCCL, ...), the
        versions pinned by the torch wheel's own metadata; runs on CPU too
        (zgseg loads libtorch_cuda.so only where an NVIDIA driver is installed).
  cpu   libtorch_cpu.so, libc10.so and libgomp, plus the two small CUDA
        libraries libtorch_cpu.so itself needs (libcudart, libcupti: loading
        them needs no GPU or driver).

The wheels are downloaded once with pip into the same cache as
scripts/build_portable.sh (${XDG_CACHE_HOME:-~/.cache}/zgseg/portable/download).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

# torch/lib files zgseg loads (directly, through its dlopen of libtorch_cuda.so
# and that library's DT_NEEDED, or torch's own dlopen of the CUDA linear-algebra
# library). Left out: libtorch.so (an empty wrapper zgseg does not link),
# libtorch_python.so and libshm.so (Python bindings), libgfortran (nothing loads it).
TORCH_LIBS_CUDA = ["libc10.so", "libc10_cuda.so", "libcaffe2_nvrtc.so", "libgomp.so.1",
                   "libtorch_cpu.so", "libtorch_cuda.so", "libtorch_cuda_linalg.so", "libtorch_global_deps.so",
                   "libtorch_nvshmem.so"]
TORCH_LIBS_CPU = ["libc10.so", "libgomp.so.1", "libtorch_cpu.so"]
# From the nvidia-* wheels: libraries no torch library loads (multi-GPU
# cuSOLVER, the FFTW and BLAS drop-in shims).
NVIDIA_SKIP = re.compile(r"^(libcusolverMg|libcufftw|libnvblas)\.so")
# The CPU variant: what libtorch_cpu.so needs (DT_NEEDED) from the CUDA runtime wheels.
NVIDIA_CPU_ONLY = {"libcudart.so.13", "libcupti.so.13"}
# pip does not widen a --platform to older manylinux tags: list them (glibc 2.17-2.28;
# Debian 12 has 2.36). Any CPython wheel carries the same libraries: ask for cp312.
PIP_TARGET = ["--only-binary", ":all:", "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312",
              "--platform", "manylinux2014_x86_64",
              *[a for v in range(17, 29) for a in ("--platform", f"manylinux_2_{v}_x86_64")]]


def log(msg):
    print(f"torch_runtime: {msg}", flush=True)


def die(msg):
    print(f"torch_runtime: {msg}", file=sys.stderr)
    sys.exit(1)


def pip_download(dest, requirements, deps):
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", *PIP_TARGET, "-d", str(dest)]
    if not deps:
        cmd.append("--no-deps")
    if subprocess.run(cmd + requirements).returncode != 0:
        die(f"pip download {' '.join(requirements)} failed; check that PyPI is reachable")


def torch_wheel(cache, version):
    dl = cache / "download"
    dl.mkdir(parents=True, exist_ok=True)
    found = sorted(dl.glob(f"torch-{version}-cp3*-manylinux*_x86_64.whl"))
    if not found:
        log(f"downloading the torch=={version} wheel")
        pip_download(dl, [f"torch=={version}"], deps=False)
        found = sorted(dl.glob(f"torch-{version}-cp3*-manylinux*_x86_64.whl"))
    if not found:
        die(f"no torch-{version} wheel in {dl} after pip download")
    return found[0]


def cuda_requirements(whl):
    """The torch wheel's Linux requirements on NVIDIA's libraries (not triton, not cuda-bindings)."""
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        lines = z.read(meta).decode().splitlines()
    reqs = []
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        req, _, marker = line[len("Requires-Dist:"):].partition(";")
        req, marker = req.strip(), marker.strip()
        name = re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0].lower()
        if "extra ==" in marker:
            continue
        if name.startswith("nvidia-") or name == "cuda-toolkit":
            reqs.append(req)
    if not reqs:
        die(f"{whl.name} names no nvidia-* requirement; is it a CUDA build?")
    return reqs


def nvidia_wheels(cache, whl, version, variant):
    folder = cache / "download" / f"nvidia-{variant}-for-torch-{version}"
    done = folder / ".complete"
    if not done.exists():
        reqs = cuda_requirements(whl)
        if variant == "cpu":  # only the CUDA runtime and CUPTI, at the versions torch pins
            reqs = [re.sub(r"^cuda-toolkit\[[^\]]*\]", "cuda-toolkit[cudart,cupti]", r) for r in reqs
                    if r.startswith("cuda-toolkit")]
        log(f"downloading the NVIDIA libraries torch {version} pins: {' '.join(reqs)}"
            + (" (once; about 3 GB)" if variant == "cuda" else ""))
        folder.mkdir(parents=True, exist_ok=True)
        pip_download(folder, reqs, deps=True)
        done.touch()
    return sorted(folder.glob("nvidia_*.whl"))


def extract_torch_libs(whl, names, dest):
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(whl) as z:
        have = set(z.namelist())
        for n in names:
            member = f"torch/lib/{n}"
            if member not in have:
                die(f"{whl.name} has no {member}")
            with z.open(member) as src, open(dest / n, "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(dest / n, 0o755)


def extract_nvidia_libs(wheels, dest, keep):
    """nvidia/<pkg>/lib/*.so* from each wheel into dest/<pkg>/lib/."""
    count = 0
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            for info in z.infolist():
                parts = info.filename.split("/")
                if len(parts) != 4 or parts[0] != "nvidia" or parts[2] != "lib" or ".so" not in parts[3]:
                    continue
                if not keep(parts[3]):
                    continue
                out = dest / parts[1] / "lib" / parts[3]
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(out, "wb") as f:
                    shutil.copyfileobj(src, f)
                os.chmod(out, 0o755)
                count += 1
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch-version", required=True)
    ap.add_argument("--variant", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("dest")
    a = ap.parse_args()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zgseg" / "portable"
    dest = Path(a.dest)
    if dest.exists():
        shutil.rmtree(dest)
    whl = torch_wheel(cache, a.torch_version)
    wheels = nvidia_wheels(cache, whl, a.torch_version, a.variant)
    if a.variant == "cuda":
        extract_torch_libs(whl, TORCH_LIBS_CUDA, dest / "lib")
        n = extract_nvidia_libs(wheels, dest / "nvidia", lambda f: not NVIDIA_SKIP.match(f))
    else:
        extract_torch_libs(whl, TORCH_LIBS_CPU, dest / "lib")
        n = extract_nvidia_libs(wheels, dest / "nvidia", lambda f: f in NVIDIA_CPU_ONLY)
        if n != len(NVIDIA_CPU_ONLY):
            die(f"found {n} of {sorted(NVIDIA_CPU_ONLY)} in the NVIDIA wheels")
    log(f"{a.variant}: {len(list((dest / 'lib').iterdir()))} torch libraries, {n} NVIDIA libraries in {dest}")


if __name__ == "__main__":
    main()
