#!/usr/bin/env python3
"""The golden checks' tolerances and the largest differences seen, over one or
more ctest JUnit reports (scripts/test.sh leaves one per run in build/, e.g.
build/ctest-AVX2-1thr.xml after --matrix):

    scripts/tolerance_report.py build/ctest-*.xml

Reads the lines the golden tests print for each comparison and prints, as a
markdown table, each check's atol and rtol, and its largest absolute
difference and largest share of the tolerance over all the reports.
"""
import re
import sys
import xml.etree.ElementTree as ET

PATTERNS = [
    # tests/tolerance.hpp's print_closeness
    re.compile(r"^(?P<what>.+?): max abs diff (?P<d>\S+), worst diff/tolerance (?P<r>\S+) "
               r"\(atol (?P<atol>\S+), rtol (?P<rtol>[^:]+): .*\)$"),
    # tests/golden/zerocap_fixture.hpp's Diff::check
    re.compile(r"^\[max diff\] (?P<what>.+?): (?P<d>\S+) \(atol (?P<atol>\S+), rtol (?P<rtol>\S+); (?P<r>\S+) of the bound\)$"),
    # tests/golden/test_embedding.cpp's expect_close (bound = atol + rtol·max|b|)
    re.compile(r"^\[max diff\] (?P<what>.+?): (?P<d>\S+) \(bound (?P<bound>\S+) = (?P<atol>\S+) \+ (?P<rtol>\S+) x max\|b\|\)$"),
]


def main(paths):
    seen = {}  # (test, check) -> [max d, max ratio, atol, rtol, runs]
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            out = case.findtext("system-out") or ""
            for line in out.splitlines():
                for pattern in PATTERNS:
                    m = pattern.match(line.strip())
                    if not m:
                        continue
                    d = float(m["d"])
                    ratio = float(m["r"]) if "r" in m.groupdict() and m["r"] else d / float(m["bound"])
                    key = (case.get("name"), m["what"])
                    row = seen.setdefault(key, [0.0, 0.0, m["atol"], m["rtol"], set()])
                    row[0], row[1] = max(row[0], d), max(row[1], ratio)
                    row[4].add(path)
                    break
    print(f"{len(paths)} run(s)\n")
    print("| test | check | atol | rtol | max abs diff | max diff / tolerance |\n|---|---|---|---|---|---|")
    for (test, what), (d, ratio, atol, rtol, runs) in sorted(seen.items()):
        print(f"| {test} | {what} | {atol} | {rtol} | {d:.3g} | {ratio:.3g} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
