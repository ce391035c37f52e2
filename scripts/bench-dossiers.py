#!/usr/bin/env python3
"""Dossier load client for `scripts/bench dossiers` (standard library only, threads).

  bench-dossiers.py sample URL                 file one dossier as citizen1, print its code
  bench-dossiers.py seed-sql ENGINE CODE N     print SQL that copies dossier CODE into N
                                               seeded rows (ENGINE: sqlite | postgres)
  bench-dossiers.py load URL [--threads 8,32] [--duration 20]
                                               for each concurrency: submissions for DURATION s,
                                               then full lifecycles (submit, accept, approve,
                                               return, read back) for DURATION s

Prints one `name: value` line per figure. Traffic goes to the given (loopback) URL only.
"""
import base64
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from benchload import Client, parse_load_args, pct, run  # noqa: E402

PASSWORD = "cityhall-demo"
CITIZEN = "citizen1"
OFFICER = "officer.phuongsaigon"
PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + b" " * 2000).decode()
BODY = json.dumps({
    "procedure": "1.001193",
    "form": {"child_name": "Nguyễn Văn A", "birth_date": "2026-11-01", "sex": "nam", "ward": "26740"},
    "delivery": "online",
    "attachments": [{"field": "birth_proof", "filename": "a.pdf", "content_base64": PDF}],
}).encode()


def token(url, user):
    st, data = Client(url).req("POST", "/api/v1/auth/token",
                               json.dumps({"username": user, "password": PASSWORD, "name": "bench"}).encode())
    if st != 201:
        sys.exit(f"token for {user}: HTTP {st} {data[:300]!r}")
    return json.loads(data)["token"]


def submit(c, tok):
    st, data = c.req("POST", "/api/v1/dossiers", BODY,
                     {"Authorization": f"Bearer {tok}", "Idempotency-Key": uuid.uuid4().hex})
    if st != 201:
        raise RuntimeError(f"submit: HTTP {st} {data[:300]!r}")
    return json.loads(data)["code"]


def lifecycle(c, cit, off, steps):
    """submit -> accept -> approve -> return -> read back (owner) + public status."""
    t = time.perf_counter()
    code = submit(c, cit)
    steps["submit"].append(time.perf_counter() - t)
    for action in ("accept", "approve", "return"):
        t0 = time.perf_counter()
        st, data = c.req("POST", f"/api/v1/dossiers/{code}/actions", json.dumps({"action": action}).encode(),
                         {"Authorization": f"Bearer {off}"})
        if st != 200:
            raise RuntimeError(f"{action} {code}: HTTP {st} {data[:300]!r}")
        steps[action].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    st, data = c.req("GET", f"/api/v1/dossiers/{code}", headers={"Authorization": f"Bearer {cit}"})
    if st != 200 or json.loads(data)["state"] != "returned":
        raise RuntimeError(f"read {code}: HTTP {st} {data[:300]!r}")
    steps["read"].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    st, data = c.req("GET", f"/api/v1/dossiers/{code}/status")
    if st != 200:
        raise RuntimeError(f"status {code}: HTTP {st} {data[:300]!r}")
    steps["status"].append(time.perf_counter() - t0)


def load(url, threads_list, duration):
    cit, off = token(url, CITIZEN), token(url, OFFICER)
    steps = {k: [] for k in ("submit", "accept", "approve", "return", "read", "status")}
    lifecycle(Client(url), cit, off, steps)  # fail early, with the server's answer
    for threads in threads_list:
        n, dt, lat, err = run(url, threads, duration, lambda c: submit(c, cit))
        print(f"submissions, {threads} threads, {duration:.0f} s: {n / dt:.1f}/s "
              f"(n {n}, p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, errors {len(err)})", flush=True)
        for e in err[:3]:
            print(f"  error: {e}", flush=True)
        steps = {k: [] for k in steps}
        n, dt, lat, err = run(url, threads, duration, lambda c: lifecycle(c, cit, off, steps))
        print(f"lifecycles, {threads} threads, {duration:.0f} s: {n / dt:.1f}/s "
              f"(n {n}, p50 {pct(lat, .5):.1f} ms, p99 {pct(lat, .99):.1f} ms, errors {len(err)})", flush=True)
        print("  steps p50/p99 ms: " + ", ".join(
            f"{k} {pct(v, .5):.1f}/{pct(v, .99):.1f}" for k, v in steps.items()), flush=True)
        for e in err[:3]:
            print(f"  error: {e}", flush=True)


# Columns of `dossiers` (crates/cityhall-db/migrations/*/0002_catalog_dossier.sql). Those in
# OVERRIDE get a per-row expression; the rest are copied from the sample dossier.
COLUMNS = """id code procedure_id procedure_code owner_id applicant_name applicant_id_hash
applicant_id_hint applicant_contact represented state status channel delivery ward_code
agency_code desk_agency_code form assigned_to registered_by row_version idem_key time_limit
created_at updated_at submitted_at accepted_at due_at rescheduled_due_at finished_at
returned_at outcome last_reason paused_micros pause_started_at supplement_count fee fee_due
fee_paid_online paid_at inputs_digitised e_result paper_result_required reused_count rating
rating_comment rated_at""".split()
AGENCIES = ["UBND-26740", "UBND-26743", "UBND-26734", "UBND-26737", "UBND-26746", "UBND-26749",
            "UBND-26752", "UBND-26755"]
STATES = [("new", 1), ("accepted", 2), ("processing", 4), ("done", 9), ("returned", 10)]


def seed_sql(engine, sample, n):
    pad = (lambda e: f"printf('%07d', {e})") if engine == "sqlite" else (lambda e: f"lpad(({e})::text, 7, '0')")
    # Submitted one row every 30 s going back from the sample's time: about a year for 1M rows.
    sub = "(d.submitted_at - i * 30000000)"
    hour = 3600 * 1000000

    def case(vals):
        return "CASE i % {} {} END".format(len(vals), " ".join(f"WHEN {k} THEN {v}" for k, v in enumerate(vals)))

    agency = case([f"'{a}'" for a in AGENCIES])
    state_i = "((i / 8) % 5)"  # independent of the agency
    over = {
        "id": f"'seed-' || {pad('i')}",
        "code": f"{agency} || '-250101-' || {pad('i')}",
        "agency_code": agency,
        "owner_id": "CASE WHEN i % 10 = 0 THEN d.owner_id END",
        "state": "CASE {} {} END".format(state_i, " ".join(f"WHEN {k} THEN '{s}'" for k, (s, _) in enumerate(STATES))),
        "status": "CASE {} {} END".format(state_i, " ".join(f"WHEN {k} THEN {v}" for k, (_, v) in enumerate(STATES))),
        "idem_key": "NULL",
        "created_at": sub,
        "submitted_at": sub,
        "updated_at": f"{sub} + {state_i} * {hour}",
        "accepted_at": f"CASE WHEN {state_i} >= 1 THEN {sub} + {hour} END",
        "due_at": f"{sub} + {5 * 24 * hour}",
        "finished_at": f"CASE WHEN {state_i} >= 3 THEN {sub} + {2 * hour} END",
        "returned_at": f"CASE WHEN {state_i} = 4 THEN {sub} + {3 * hour} END",
        "outcome": f"CASE WHEN {state_i} >= 3 THEN 'approved' END",
        "row_version": f"1 + {state_i}",
    }
    cols = ", ".join(COLUMNS)
    exprs = ", ".join(over.get(c, f"d.{c}") for c in COLUMNS)
    if engine == "sqlite":
        return (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})\n"
                f"INSERT INTO dossiers ({cols})\nSELECT {exprs}\nFROM n, dossiers d WHERE d.code = '{sample}';\n")
    return (f"INSERT INTO dossiers ({cols})\nSELECT {exprs}\n"
            f"FROM generate_series(1::bigint, {n}) AS n(i), dossiers d WHERE d.code = '{sample}';\n")


def main(argv):
    if len(argv) >= 2 and argv[0] == "sample":
        print(submit(Client(argv[1]), token(argv[1], CITIZEN)))
    elif len(argv) == 4 and argv[0] == "seed-sql":
        sys.stdout.write(seed_sql(argv[1], argv[2], int(argv[3])))
    elif len(argv) >= 2 and argv[0] == "load":
        threads, duration = parse_load_args(argv[2:])
        load(argv[1], threads, duration)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
