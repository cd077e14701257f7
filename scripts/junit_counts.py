#!/usr/bin/env python3
"""Counts of one ctest JUnit report, as one line for scripts/test.sh:
NAME RUN PASSED FAILED SKIPPED CTEST_RC.

A missing report (ctest did not get as far as writing it) counts as one failure.
"""
import sys
import xml.etree.ElementTree as ET

path, name, rc = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    cases = ET.parse(path).getroot().iter("testcase")
except (OSError, ET.ParseError):
    print(name, 0, 0, 1, 0, rc)
    sys.exit(0)
run = passed = failed = skipped = 0
for case in cases:
    status = case.get("status", "")
    if status in ("disabled", "notrun") or case.find("skipped") is not None:
        skipped += 1
        continue
    run += 1
    if status == "fail" or case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    else:
        passed += 1
print(name, run, passed, failed, skipped, rc)
