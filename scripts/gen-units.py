#!/usr/bin/env python3
"""Generate data/units-<province>.json from the `vietnamadminunits` package.

Reads the post-1-July-2025 (two-tier, no district) commune-level units of one
province from the SQLite dataset bundled in the package (table admin_units)
and writes them as JSON, sorted by the official 5-digit unit code.

    pip install vietnamadminunits
    python3 scripts/gen-units.py 79 > data/units-79.json
    python3 scripts/gen-units.py 79 data/units-79.json   (or -o PATH)
    python3 scripts/gen-units.py 01 --expect phuong=51,xa=75

For provinces listed in EXPECTED the counts per kind are checked; for others
pass --expect, or the script only checks the data is self-consistent.
Any failed check aborts with a non-zero exit status and writes nothing.
"""

import argparse
import importlib.util
import json
import math
import os
import re
import sqlite3
import sys
import unicodedata
import urllib.request
from importlib.metadata import version

PACKAGE = "vietnamadminunits"

# Vietnamese type prefix -> (kind, English type word)
KINDS = {
    "Phường": ("phuong", "Ward"),
    "Xã": ("xa", "Commune"),
    "Đặc khu": ("dac_khu", "Special Zone"),
}

# Known counts after the 2025 reform (NA Standing Committee resolutions).
EXPECTED = {
    "79": {"phuong": 113, "xa": 54, "dac_khu": 1},
}

PROVINCE_TYPES = {"Thành phố": "City", "Tỉnh": "Province"}

# Rough bounding box of Viet Nam, islands included; catches swapped/garbage points.
LAT_RANGE = (8.0, 24.0)
LON_RANGE = (102.0, 118.0)


def fail(msg):
    sys.exit(f"gen-units: error: {msg}")


def ascii_fold(text):
    """Strip Vietnamese diacritics; đ/Đ become d/D."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    folded = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    if not folded.isascii():
        fail(f"cannot fold {text!r} to ASCII")
    return folded


def split_type(full_name, types):
    """'Phường Sài Gòn' -> ('Phường', 'Sài Gòn'), longest prefix first."""
    for prefix in sorted(types, key=len, reverse=True):
        if full_name.startswith(prefix + " "):
            return prefix, full_name[len(prefix) + 1:]
    fail(f"unknown type prefix in {full_name!r}")


def coord(value, lo, hi, what, code):
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        fail(f"unit {code}: missing {what} ({value!r})")
    if not lo <= value <= hi:
        fail(f"unit {code}: {what} {value} outside {lo}..{hi}")
    return round(float(value), 6)


def parse_expect(spec):
    out = {}
    for part in spec.split(","):
        key, _, num = part.partition("=")
        key = key.strip()
        if key not in {k for k, _ in KINDS.values()} or not num.strip().isdigit():
            raise argparse.ArgumentTypeError(f"bad --expect item {part!r}")
        out[key] = int(num)
    return out


def dataset_path():
    """Locate the package's bundled SQLite file without importing the package.

    Importing it would pull in its run-time dependencies (shapely, geopy,
    unidecode); we only need the data file it ships.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        fail(f"package {PACKAGE} is not installed (pip install {PACKAGE})")
    for base in spec.submodule_search_locations:
        path = os.path.join(base, "data", "dataset.db")
        if os.path.isfile(path):
            return path
    fail(f"{PACKAGE} is installed but data/dataset.db was not found in it")


def query_units(province_code):
    uri = "file:" + urllib.request.pathname2url(dataset_path()) + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT DISTINCT province, provinceShort, provinceCode, ward, wardType, "
            "wardCode, wardLat, wardLon FROM admin_units WHERE provinceCode = ?",
            (province_code,),
        ).fetchall()
    return [dict(r) for r in rows]


def build(province_code, expect):
    rows = query_units(province_code)
    if not rows:
        fail(f"no units for province code {province_code!r}")

    provinces = {(r["province"], r["provinceShort"]) for r in rows}
    if len(provinces) != 1:
        fail(f"province code {province_code} maps to several names: {provinces}")
    (prov_name, prov_short), = provinces
    prov_type, _ = split_type(prov_name, PROVINCE_TYPES)
    prov_en = f"{ascii_fold(prov_short)} {PROVINCE_TYPES[prov_type]}"

    units = []
    seen = set()
    for r in rows:
        code = r["wardCode"]
        if not isinstance(code, str) or not re.fullmatch(r"\d{5}", code):
            fail(f"bad unit code {code!r} for {r['ward']!r}")
        if code in seen:
            fail(f"duplicate unit code {code}")
        seen.add(code)
        name = r["ward"].strip()
        prefix, short = split_type(name, KINDS)
        if r["wardType"] != prefix:
            # The name prefix is taken as authoritative; say so.
            print(f"gen-units: warning: {code} {name!r} has wardType "
                  f"{r['wardType']!r}; using the name prefix", file=sys.stderr)
        kind, type_en = KINDS[prefix]
        units.append({
            "code": code,
            "name": name,
            "name_en": f"{ascii_fold(short)} {type_en}",
            "kind": kind,
            "lat": coord(r["wardLat"], *LAT_RANGE, "latitude", code),
            "lon": coord(r["wardLon"], *LON_RANGE, "longitude", code),
        })
    units.sort(key=lambda u: u["code"])

    counts = {k: 0 for k, _ in KINDS.values()}
    for u in units:
        counts[u["kind"]] += 1
    if sum(counts.values()) != len(units):
        fail("internal count mismatch")
    if expect is not None:
        want = {k: expect.get(k, 0) for k in counts}
        if counts != want:
            fail(f"province {province_code}: found {counts}, expected {want}")
    print(f"gen-units: province {province_code} ({prov_name}): {len(units)} units "
          + ", ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)

    return {
        "source": f"{PACKAGE} {version(PACKAGE)} (PyPI, MIT)",
        "province": {"code": province_code, "name": prov_name, "name_en": prov_en},
        "units": units,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("province", help="2-digit province code, e.g. 79")
    ap.add_argument("output_path", nargs="?", help="output file (default stdout)")
    ap.add_argument("-o", "--output", help="same as output_path")
    ap.add_argument("--expect", type=parse_expect,
                    help="expected counts, e.g. phuong=113,xa=54,dac_khu=1")
    args = ap.parse_args()
    if args.output and args.output_path:
        ap.error("give the output path once")
    args.output = args.output or args.output_path

    code = args.province.strip()
    if not re.fullmatch(r"\d{1,2}", code):
        fail(f"province code must be 1-2 digits, got {code!r}")
    code = code.zfill(2)
    expect = args.expect if args.expect is not None else EXPECTED.get(code)

    text = json.dumps(build(code, expect), ensure_ascii=False, indent=2) + "\n"
    if args.output:
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, args.output)
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
