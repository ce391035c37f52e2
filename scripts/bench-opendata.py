#!/usr/bin/env python3
"""Open-data load client for `scripts/bench opendata` (standard library only, threads).

  bench-opendata.py resource URL ROWS          print the id of the resource `bang-lon` of the
                                               dataset bench-bang-ROWS-dong (package_show)
  bench-opendata.py load URL RESOURCE_ID [--threads 8,32] [--duration 20] [--q-threads 1,4]
                                               for each concurrency: a random mix of
                                               package_search calls for DURATION s, then
                                               datastore_search on the big table with a random
                                               ma_phuong filter (limit 100), then sorted by
                                               so_luong desc at a random offset up to 10,000;
                                               then, at the (smaller) --q-threads concurrencies,
                                               the full-text `q` on the table, which scans it

Prints one `name: value` line per figure. Traffic goes to the given (loopback) URL only.
"""
import json
import os
import random
import sys
import time
import unicodedata
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from benchload import Client, parse_load_args, pct, run  # noqa: E402

API = "/api/3/action/"
# The words `cityhall opendata generate` builds titles and tags from
# (crates/cityhall-web/src/opendata/demo.rs).
WORDS = ["dân số", "giao thông", "ngập nước", "trường học", "bệnh viện", "chợ", "công viên",
         "xe buýt", "thuế", "doanh nghiệp", "đất đai", "xây dựng", "môi trường", "du lịch", "điện",
         "nước sạch", "rác thải", "an toàn thực phẩm", "văn hóa", "thể thao"]
FACETS = json.dumps(["organization", "tags", "res_format"])


def plain(s):
    """Vietnamese without its diacritics, as people type it on a keyboard without IME."""
    s = s.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def call(c, action, params):
    """One GET of a CKAN action; returns `result` or raises with the server's answer."""
    path = API + action + "?" + urllib.parse.urlencode(params)
    st, data = c.req("GET", path)
    if st != 200:
        raise RuntimeError(f"GET {path}: HTTP {st} {data[:300]!r}")
    body = json.loads(data)
    if not body.get("success"):
        raise RuntimeError(f"GET {path}: {data[:300]!r}")
    return body["result"]


def resource_id(url, rows):
    ds = call(Client(url), "package_show", {"id": f"bench-bang-{rows}-dong"})
    for r in ds["resources"]:
        if r.get("name") == "bang-lon" or r.get("datastore_active"):
            return r["id"]
    sys.exit(f"bench-bang-{rows}-dong has no datastore resource: {ds['resources']!r}"[:500])


# ---- package_search -------------------------------------------------------------------------

def search_params(orgs):
    """A random package_search a portal visitor or a harvester would send; returns (kind, params)."""
    kind = random.choice(["text", "text-plain", "two-words-plain", "org", "tag", "text+org"])
    a, b = random.choice(WORDS), random.choice(WORDS)
    p = {}
    if kind == "text":
        p["q"] = a
    elif kind == "text-plain":
        p["q"] = plain(a)
    elif kind == "two-words-plain":
        p["q"] = plain(f"{a} {b}")
    elif kind == "org":
        p["fq"] = f"organization:{random.choice(orgs)}"
    elif kind == "tag":
        p["fq"] = f'tags:"{a}"'
    else:
        p["q"] = a
        p["fq"] = f"organization:{random.choice(orgs)}"
    p.update({"facet.field": FACETS, "rows": 10, "start": 10 * random.randrange(5)})
    return kind, p


def package_search(c, orgs, kinds):
    kind, p = search_params(orgs)
    t = time.perf_counter()
    call(c, "package_search", p)
    kinds.setdefault(kind, []).append(time.perf_counter() - t)


# ---- datastore_search -----------------------------------------------------------------------

def ds_filter(c, rid, wards):
    r = call(c, "datastore_search", {"resource_id": rid, "limit": 100,
                                     "filters": json.dumps({"ma_phuong": random.choice(wards)})})
    if not r["records"]:
        raise RuntimeError("filter: no records")


def ds_sort(c, rid):
    r = call(c, "datastore_search", {"resource_id": rid, "limit": 100, "sort": "so_luong desc",
                                     "offset": random.randrange(10001)})
    if not r["records"]:
        raise RuntimeError("sort: no records")


def ds_text(c, rid):
    # A word of the `loai` column, or a ward name of `ghi_chu`, with or without diacritics.
    w = random.choice(WORDS)
    call(c, "datastore_search", {"resource_id": rid, "limit": 100,
                                 "q": random.choice([w, plain(w)])})


def report(name, threads, duration, result):
    n, dt, lat, err = result
    print(f"{name}, {threads} threads, {duration:.0f} s: {n / dt:.1f}/s "
          f"(n {n}, p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, errors {len(err)})", flush=True)
    for e in sorted(set(err))[:3]:
        print(f"  error: {e}", flush=True)


def load(url, rid, threads_list, duration, q_threads):
    c = Client(url)
    # The publishing departments: those holding datasets, as the organization facet lists them.
    every = call(c, "package_search", {"q": plain("giao thông"), "rows": 0, "facet.limit": -1,
                                       "facet.field": FACETS})
    orgs = sorted(every["facets"]["organization"])
    if not every["count"] or set(every["search_facets"]) != {"organization", "tags", "res_format"}:
        sys.exit(f"package_search: unexpected answer {json.dumps(every)[:500]}")
    # Rows cycle through the wards, so the first thousand hold every ward code there is.
    head = call(c, "datastore_search", {"resource_id": rid, "limit": 1000, "fields": "ma_phuong"})
    wards = sorted({r["ma_phuong"] for r in head["records"]})
    total = head.get("total")
    print(f"table: {total} rows, {len(wards)} ward codes; publishing organizations: {len(orgs)}; "
          f"datasets matching 'giao thong': {every['count']}", flush=True)
    # Fail early, with the server's answer.
    kinds = {}
    for _ in range(30):
        package_search(c, orgs, kinds)
    ds_filter(c, rid, wards)
    ds_sort(c, rid)
    t = time.perf_counter()
    ds_text(c, rid)
    print(f"one full-text q on the table, alone: {(time.perf_counter() - t) * 1000:.0f} ms", flush=True)

    for threads in threads_list:
        kinds = {}
        report("package_search (mixed)", threads, duration,
               run(url, threads, duration, lambda c: package_search(c, orgs, kinds)))
        print("  kinds p50/p99 ms: " + ", ".join(
            f"{k} {pct(v, .5):.1f}/{pct(v, .99):.1f}" for k, v in sorted(kinds.items())), flush=True)
        report("datastore_search filters ma_phuong, limit 100", threads, duration,
               run(url, threads, duration, lambda c: ds_filter(c, rid, wards)))
        report("datastore_search sort so_luong desc, offset <= 10000", threads, duration,
               run(url, threads, duration, lambda c: ds_sort(c, rid)))
    for threads in q_threads:
        report("datastore_search full-text q (scans the table)", threads, duration,
               run(url, threads, duration, lambda c: ds_text(c, rid)))


def main(argv):
    if len(argv) == 3 and argv[0] == "resource":
        print(resource_id(argv[1], int(argv[2])))
    elif len(argv) >= 3 and argv[0] == "load":
        rest, q_threads = list(argv[3:]), [1, 4]
        if "--q-threads" in rest:
            k = rest.index("--q-threads")
            q_threads = [int(x) for x in rest[k + 1].split(",")]
            del rest[k:k + 2]
        threads, duration = parse_load_args(rest)
        load(argv[1], argv[2], threads, duration, q_threads)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
