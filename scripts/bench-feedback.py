#!/usr/bin/env python3
"""Feedback load client for `scripts/bench feedback` (standard library only, threads).

  bench-feedback.py sample URL                 file one report through Open311, print its code
  bench-feedback.py seed-sql ENGINE CODE N     print SQL that copies report CODE into N seeded
                                               rows (ENGINE: sqlite | postgres)
  bench-feedback.py load URL [--threads 8,32] [--duration 20]
                                               for each concurrency: Open311 POSTs for DURATION s,
                                               then full lifecycles (create through Open311,
                                               assign and resolve through the report API,
                                               search through Open311) for DURATION s

Prints one `name: value` line per figure. Traffic goes to the given (loopback) URL only.
"""
import json
import os
import random
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from benchload import Client, parse_load_args, pct, run  # noqa: E402

PASSWORD = "cityhall-demo"
OFFICER = "officer.phuongsaigon"
API_KEY = "demo-open311-key"
# Around the centre of Phường Sài Gòn (ward 26740): road damage there goes to its committee.
LAT, LON = 10.7769, 106.7009


def token(url, user):
    st, data = Client(url).req("POST", "/api/v1/auth/token",
                               json.dumps({"username": user, "password": PASSWORD, "name": "bench"}).encode(),
                               {"Content-Type": "application/json"})
    if st != 201:
        sys.exit(f"token for {user}: HTTP {st} {data[:300]!r}")
    return json.loads(data)["token"]


def create(c):
    """One Open311 POST (form-encoded, JSON answer); returns the service_request_id."""
    form = urllib.parse.urlencode({
        "api_key": API_KEY,
        "service_code": "road-damage",
        "lat": f"{LAT + random.uniform(-0.0003, 0.0003):.6f}",
        "long": f"{LON + random.uniform(-0.0003, 0.0003):.6f}",
        "address_string": "Đường Lê Lợi",
        "description": "Ổ gà trên đường, xe máy dễ té (bench)",
        "attribute[size]": "medium",
    }).encode()
    st, data = c.req("POST", "/open311/v2/requests.json", form,
                     {"Content-Type": "application/x-www-form-urlencoded"})
    if st not in (200, 201):
        raise RuntimeError(f"create: HTTP {st} {data[:300]!r}")
    item = json.loads(data)[0]
    if "service_request_id" not in item:
        raise RuntimeError(f"create: no id in {item!r}")
    return item["service_request_id"]


def lifecycle(c, off, steps):
    """create (Open311) -> assign -> resolve (report API) -> search (Open311 by id)."""
    t = time.perf_counter()
    code = create(c)
    steps["create"].append(time.perf_counter() - t)
    for body in ({"action": "assign"}, {"action": "resolve", "note": "Đã vá (bench)"}):
        t0 = time.perf_counter()
        st, data = c.req("POST", f"/api/v1/reports/{code}/actions", json.dumps(body).encode(),
                         {"Authorization": f"Bearer {off}", "Content-Type": "application/json"})
        if st != 200:
            raise RuntimeError(f"{body['action']} {code}: HTTP {st} {data[:300]!r}")
        steps[body["action"]].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    st, data = c.req("GET", f"/open311/v2/requests.json?service_request_id={code}")
    if st != 200:
        raise RuntimeError(f"search {code}: HTTP {st} {data[:300]!r}")
    found = json.loads(data)
    if len(found) != 1 or found[0].get("status") != "closed":
        raise RuntimeError(f"search {code}: {found!r}"[:300])
    steps["search"].append(time.perf_counter() - t0)


def load(url, threads_list, duration):
    off = token(url, OFFICER)
    steps = {k: [] for k in ("create", "assign", "resolve", "search")}
    lifecycle(Client(url), off, steps)  # fail early, with the server's answer
    for threads in threads_list:
        n, dt, lat, err = run(url, threads, duration, create)
        print(f"Open311 POSTs, {threads} threads, {duration:.0f} s: {n / dt:.1f}/s "
              f"(n {n}, p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, errors {len(err)})", flush=True)
        for e in err[:3]:
            print(f"  error: {e}", flush=True)
        steps = {k: [] for k in steps}
        n, dt, lat, err = run(url, threads, duration, lambda c: lifecycle(c, off, steps))
        print(f"lifecycles, {threads} threads, {duration:.0f} s: {n / dt:.1f}/s "
              f"(n {n}, p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, errors {len(err)})", flush=True)
        print("  steps p50/p99 ms: " + ", ".join(
            f"{k} {pct(v, .5):.1f}/{pct(v, .99):.1f}" for k, v in steps.items()), flush=True)
        for e in err[:3]:
            print(f"  error: {e}", flush=True)


# Columns of `reports` (crates/cityhall-db/migrations/*/0004_feedback.sql). Those in OVERRIDE
# get a per-row expression; the rest are copied from the sample report.
COLUMNS = """id code category_code status channel description answers address ward_code lat lon
agency_code assigned_to reporter_id reporter_name reporter_email reporter_phone hide_name
filed_by confirm_hash confirm_attempts open311_token idem_key created_at confirmed_at
updated_at due_at resolved_at closed_at public_note duplicate_of reopen_count
escalation_level escalated_at rating rating_comment rated_at row_version""".split()
WARDS = ["26740", "26743", "26728", "26732", "26737", "26758", "26767", "26773"]  # real ward codes (units-79.json)
CATEGORIES = ["road-damage", "sidewalk-encroachment", "noise", "waste-collection", "illegal-dumping",
              "sidewalk-damage", "illegal-construction", "other"]


def seed_sql(engine, sample, n):
    pad = ((lambda e, w: f"printf('%0{w}d', {e})") if engine == "sqlite"
           else (lambda e, w: f"lpad(({e})::text, {w}, '0')"))

    def case(expr, vals):
        return "CASE {} % {} {} END".format(expr, len(vals), " ".join(f"WHEN {k} THEN {v}" for k, v in enumerate(vals)))

    # One report every 30 s going back from the sample's time: about a year for 1M rows. The
    # 2,000 most recent are still being handled (due in the future); the rest are closed.
    sub = "(r.created_at - i * 30000000)"
    day = 24 * 3600 * 1000000
    ward = case("i", [f"'{w}'" for w in WARDS])
    pending = "i <= 2000"
    over = {
        "id": f"'seed-' || {pad('i', 7)}",
        # Codes of a past century's calendar, so they never meet the live daily sequence.
        "code": f"'PA-' || {pad('900000 + i / 10000', 6)} || '-' || {pad('i % 10000', 4)}",
        "category_code": case("(i / 8)", [f"'{c}'" for c in CATEGORIES]),
        "ward_code": ward,
        "agency_code": f"'UBND-' || {ward}",
        "status": f"CASE WHEN {pending} THEN (CASE WHEN i % 2 = 0 THEN 'open' ELSE 'in_progress' END) ELSE 'closed' END",
        "lat": f"r.lat + ((i % 97) - 48) * 0.0004",
        "lon": f"r.lon + ((i % 89) - 44) * 0.0004",
        "reporter_phone": f"'09' || {pad('i', 8)}",
        "open311_token": "NULL",
        "idem_key": "NULL",
        "created_at": sub,
        "confirmed_at": sub,
        "updated_at": f"{sub} + {day}",
        "due_at": f"CASE WHEN {pending} THEN r.created_at + {3 * day} ELSE {sub} + {3 * day} END",
        "resolved_at": f"CASE WHEN {pending} THEN NULL ELSE {sub} + {day} END",
        "closed_at": f"CASE WHEN {pending} THEN NULL ELSE {sub} + {8 * day} END",
        "public_note": f"CASE WHEN {pending} THEN NULL ELSE 'Đã xử lý' END",
        "rating": f"CASE WHEN {pending} THEN NULL ELSE 1 + i % 5 END",
        "row_version": f"CASE WHEN {pending} THEN 1 ELSE 4 END",
    }
    cols = ", ".join(COLUMNS)
    exprs = ", ".join(over.get(c, f"r.{c}") for c in COLUMNS)
    if engine == "sqlite":
        return (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})\n"
                f"INSERT INTO reports ({cols})\nSELECT {exprs}\nFROM n, reports r WHERE r.code = '{sample}';\n")
    return (f"INSERT INTO reports ({cols})\nSELECT {exprs}\n"
            f"FROM generate_series(1::bigint, {n}) AS n(i), reports r WHERE r.code = '{sample}';\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "sample":
        print(create(Client(argv[1])))
    elif len(argv) == 4 and argv[0] == "seed-sql":
        sys.stdout.write(seed_sql(argv[1], argv[2], int(argv[3])))
    elif len(argv) >= 2 and argv[0] == "load":
        threads, duration = parse_load_args(argv[2:])
        load(argv[1], threads, duration)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
