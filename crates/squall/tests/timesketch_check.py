"""Runs Timesketch's own import checks on Squall's timeline output.

Usage: python3 timesketch_check.py TIMELINE.jsonl TIMELINE.csv EXPECTED_ROWS

Exit 0 when both files pass timesketch.lib.utils.read_and_validate_jsonl / read_and_validate_csv
with every row kept; 3 when the timesketch package is not installed; 1 otherwise.
"""
import sys

try:
    from timesketch.lib import utils
except ImportError as e:  # the caller reports the test as skipped
    print(f"timesketch not importable: {e}")
    sys.exit(3)

jsonl_path, csv_path, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])

with open(jsonl_path, encoding="utf-8") as f:
    rows = list(utils.read_and_validate_jsonl(f))
with open(csv_path, encoding="utf-8") as f:
    csv_rows = list(utils.read_and_validate_csv(f))

for name, got in (("jsonl", rows), ("csv", csv_rows)):
    if len(got) != expected:
        print(f"{name}: Timesketch kept {len(got)} of {expected} rows")
        sys.exit(1)
    for row in got:
        for field in ("message", "datetime", "timestamp_desc", "timestamp"):
            if field not in row or row[field] in (None, ""):
                print(f"{name}: row without {field}: {row}")
                sys.exit(1)
print(f"ok: {len(rows)} jsonl rows, {len(csv_rows)} csv rows")
