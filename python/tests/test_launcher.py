"""The wheel's `zgseg` command (zgseg._launcher) in a fake site-packages: a fake torch and a stand-in binary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

import zgseg  # the package under test: the source tree's or the installed wheel's

PACKAGE = Path(zgseg.__file__).resolve().parent


class Launcher(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="zgseg_launcher_")
        self.site = Path(self.tmp.name, "site-packages")
        pkg = self.site / "zgseg"
        pkg.mkdir(parents=True)
        for f in PACKAGE.glob("*.py"):
            shutil.copy(f, pkg)
        (pkg / "share" / "zgseg").mkdir(parents=True)
        (pkg / "share" / "zgseg" / "TORCH_VERSION").write_text("2.15.0+cu132\n")
        (pkg / "bin").mkdir()
        binary = pkg / "bin" / "zgseg"
        binary.write_text('#!/bin/sh\necho "ran $0 $* LD_LIBRARY_PATH=$LD_LIBRARY_PATH"\n')
        binary.chmod(0o755)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def fake_torch(self, version: str, where: Path = None) -> Path:
        torch = (where or self.site) / "torch"
        (torch / "lib").mkdir(parents=True)
        (torch / "__init__.py").write_text("raise SystemExit('torch must not be imported')\n")
        (torch / "version.py").write_text(textwrap.dedent(f"""\
            from typing import Optional
            __version__ = '{version}'
            cuda: Optional[str] = None
            """))
        (torch / "lib" / "libtorch_cpu.so").write_bytes(b"")
        return torch

    def run_zgseg(self, *args: str, path: str = None) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": path or str(self.site), "LD_LIBRARY_PATH": "/elsewhere"}
        # -S: no site-packages, so only the fake torch can be found.
        return subprocess.run([sys.executable, "-S", "-m", "zgseg", *args], capture_output=True, text=True, env=env)

    def test_matching_torch_runs_the_binary(self) -> None:
        torch = self.fake_torch("2.15.0+cpu")
        r = self.run_zgseg("segment", "a b.jpg")
        self.assertEqual(r.returncode, 0, r.stderr)
        # (a shell script's $0 is its path, whatever argv[0] the launcher passed)
        self.assertEqual(r.stdout.strip(),
                         f"ran {self.site}/zgseg/bin/zgseg segment a b.jpg LD_LIBRARY_PATH={torch / 'lib'}:/elsewhere")

    def test_patch_release_accepted(self) -> None:
        self.fake_torch("2.15.3")
        self.assertEqual(self.run_zgseg("--version").returncode, 0)

    def test_other_minor_refused_in_one_line(self) -> None:
        self.fake_torch("2.16.0+cu130")
        r = self.run_zgseg("--version")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("built for torch 2.15 (linked against 2.15.0+cu132)", r.stderr)
        self.assertIn("torch 2.16.0+cu130", r.stderr)
        self.assertIn("pip install 'torch==2.15.*'", r.stderr)

    def test_no_torch_refused(self) -> None:
        r = self.run_zgseg("--version")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("torch is not installed", r.stderr)

    def test_torch_elsewhere_on_the_path(self) -> None:
        other = Path(self.tmp.name, "other")
        torch = self.fake_torch("2.15.0", where=other)
        r = self.run_zgseg("--version", path=f"{self.site}{os.pathsep}{other}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"LD_LIBRARY_PATH={torch / 'lib'}:", r.stdout)

    def test_torch_without_libraries_refused(self) -> None:
        torch = self.fake_torch("2.15.0")
        (torch / "lib" / "libtorch_cpu.so").unlink()
        r = self.run_zgseg("--version")
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no libtorch_cpu.so", r.stderr)


if __name__ == "__main__":
    unittest.main()
