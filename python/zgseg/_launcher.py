"""The ``zgseg`` console command of the wheel: finds torch's LibTorch, checks its version, runs zgseg/bin/zgseg.

torch is located with importlib.util.find_spec, never imported (that would
cost seconds and load CUDA). The binary is linked against one torch release;
a torch whose major.minor differs is refused with one line saying which to
install. zgseg/bin/zgseg has RUNPATH $ORIGIN/../../torch/lib, which finds a
torch installed in the same site-packages; the torch found is also put first
in LD_LIBRARY_PATH, so one installed elsewhere on sys.path works too.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import List, Optional

_HERE = Path(__file__).resolve().parent
_VERSION_LINE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


def _major_minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


def linked_torch() -> str:
    """The torch build zgseg/bin/zgseg was linked against (e.g. "2.15.0+cu132")."""
    return (_HERE / "share" / "zgseg" / "TORCH_VERSION").read_text().strip()


def installed_torch() -> Optional[Path]:
    """The installed torch package folder, without importing torch; None when there is none."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin or not spec.origin.endswith("__init__.py"):
        return None
    return Path(spec.origin).parent


def torch_version(torch_dir: Path) -> Optional[str]:
    """The version of the torch in ``torch_dir`` (its version.py, else its distribution metadata)."""
    try:
        found = _VERSION_LINE.search((torch_dir / "version.py").read_text())
        if found:
            return found.group(1)
    except OSError:
        pass
    try:
        from importlib.metadata import version

        return version("torch")
    except Exception:
        return None


def _fail(message: str) -> int:
    print(f"zgseg: {message}", file=sys.stderr)
    return 1


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    binary = _HERE / "bin" / "zgseg"
    linked = linked_torch()
    want = _major_minor(linked)
    install = f"pip install 'torch=={want}.*' (CPU only: add --index-url https://download.pytorch.org/whl/cpu)"
    torch_dir = installed_torch()
    if torch_dir is None:
        return _fail(f"torch is not installed for {sys.executable}; this zgseg needs torch {want}: {install}")
    found = torch_version(torch_dir)
    if found is None:
        return _fail(f"cannot tell the version of the torch in {torch_dir}; this zgseg needs torch {want}: {install}")
    if _major_minor(found) != want:
        return _fail(f"this zgseg is built for torch {want} (linked against {linked}) but {sys.executable} has "
                     f"torch {found}; install the matching one: {install}, or a zgseg built for torch "
                     f"{_major_minor(found)}")
    lib = torch_dir / "lib"
    if not (lib / "libtorch_cpu.so").is_file():
        return _fail(f"{lib} has no libtorch_cpu.so; reinstall torch: {install}")
    # The RUNPATH alone would do for a torch beside zgseg, but an LD_LIBRARY_PATH set
    # by the user (another torch's lib, a CUDA toolkit) comes before it: put this one first.
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (str(lib), env.get("LD_LIBRARY_PATH", "")) if p)
    if not os.access(binary, os.X_OK):
        return _fail(f"{binary} is missing or not executable; reinstall zgseg")
    os.execve(binary, ["zgseg", *args], env)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
