"""Paths shared by the reader's tests.

The tests import `zgseg` from sys.path: the installed wheel, or the source
(PYTHONPATH=python). ZGSEG_TEST_DATA overrides the fixture folder (default:
the repository's tests/data).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(os.environ.get("ZGSEG_TEST_DATA") or Path(__file__).resolve().parents[2] / "tests" / "data")
