#!/usr/bin/env python3
"""Check data/procedures-<province>.json for the rules in data/README.md.

Usage: python3 scripts/check-procedures.py [data/procedures-79.json] [data/agencies-79.json]

Exits non-zero and prints every problem found; prints a short summary otherwise.
"""
import json
import re
import sys
import unicodedata
from collections import Counter

PROCS = sys.argv[1] if len(sys.argv) > 1 else "data/procedures-79.json"
AGENCIES = sys.argv[2] if len(sys.argv) > 2 else "data/agencies-79.json"

CODE_RE = re.compile(r"^\d\.\d{6}$")
WARD_AGENCY = {"UBND-{ward}", "CA-{ward}"}
KINDS = {"in_person", "online", "postal"}
LEVELS = {"commune", "city"}
ONLINE_LEVELS = {"full", "partial"}
FORMATS = {"date", "national-id", "phone", "ward", "file", "email"}
TYPES = {"string", "integer", "number"}
PROP_KEYS = {"type", "format", "enum", "x-enum-titles", "minimum", "maximum", "maxLength",
             "x-multiline", "x-document", "title", "x-title-en"}
# Top-level keys that may be null without being listed in "unverified":
# "conditions": null means the national record lists no special conditions.
NULL_OK = {"conditions"}
TOP_KEYS = {"code", "local_code", "name", "field", "level", "agency", "applicants", "steps", "channels",
            "documents", "result", "result_kind", "legal_basis", "conditions", "online_level",
            "effective_from", "source", "unverified", "form"}

errors = []


def err(code, msg):
    errors.append(f"{code}: {msg}")


def is_text(v):
    return isinstance(v, dict) and set(v) == {"vi", "en"} and all(isinstance(v[k], str) and v[k].strip() for k in v)


def check_nfc(obj, where):
    if isinstance(obj, str):
        if unicodedata.normalize("NFC", obj) != obj:
            err(where, f"string not in NFC: {obj[:40]!r}")
    elif isinstance(obj, list):
        for x in obj:
            check_nfc(x, where)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_nfc(k, where)
            check_nfc(v, where)


def main():
    with open(PROCS, encoding="utf-8") as f:
        data = json.load(f)
    with open(AGENCIES, encoding="utf-8") as f:
        agencies = {a["code"] for a in json.load(f)["agencies"]}

    fields = {f["code"] for f in data.get("fields", [])}
    for f in data.get("fields", []):
        if not is_text(f.get("name")):
            err("fields", f"field {f.get('code')} needs a vi/en name")
    procs = data.get("procedures", [])
    if len(procs) < 32:
        err("procedures", f"only {len(procs)} procedures, need at least 32")

    seen = set()
    result_kinds = {p.get("result_kind") for p in procs}
    for p in procs:
        code = p.get("code", "?")
        check_nfc(p, code)
        extra = set(p) - TOP_KEYS
        if extra:
            err(code, f"unknown keys {sorted(extra)}")
        if not isinstance(code, str) or not CODE_RE.match(code):
            err(code, "code must look like 1.001193")
        if code in seen:
            err(code, "duplicate code")
        seen.add(code)
        if not is_text(p.get("name")):
            err(code, "name needs vi and en")
        if p.get("field") not in fields:
            err(code, f"unknown field {p.get('field')}")
        if p.get("level") not in LEVELS:
            err(code, f"bad level {p.get('level')}")
        agency = p.get("agency")
        if p.get("level") == "commune":
            if agency not in WARD_AGENCY:
                err(code, f"commune-level agency must be UBND-{{ward}} or CA-{{ward}}, got {agency}")
        elif agency not in agencies:
            err(code, f"agency {agency} not in {AGENCIES}")
        if p.get("online_level") not in ONLINE_LEVELS:
            err(code, "online_level must be full or partial")
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", p.get("effective_from") or ""):
            err(code, "effective_from must be an ISO date")
        if not isinstance(p.get("source"), str) or not p["source"].strip():
            err(code, "source is required")
        unv = p.get("unverified")
        if not isinstance(unv, list):
            err(code, "unverified must be a list")
            unv = []
        for key in unv:
            base = key.split(".")[0]
            if base not in TOP_KEYS:
                err(code, f"unverified names unknown key {key}")

        # every null/empty fact must be declared unverified
        for key in ("local_code", "applicants", "result", "result_kind"):
            if p.get(key) is None and key not in unv:
                err(code, f"{key} is null but not listed in unverified")
        if not p.get("channels"):
            err(code, "at least one channel is required (the importer rejects an empty list)")
        for key in ("steps", "documents", "legal_basis"):
            if not p.get(key) and key not in unv:
                err(code, f"{key} is empty but not listed in unverified")
        if p.get("applicants") is not None and not is_text(p["applicants"]):
            err(code, "applicants must be vi/en text or null")
        if p.get("result") is not None and not is_text(p["result"]):
            err(code, "result must be vi/en text or null")
        if p.get("conditions") is not None and not is_text(p["conditions"]):
            err(code, "conditions must be vi/en text or null")
        for st in p.get("steps") or []:
            if not is_text(st):
                err(code, "each step needs vi and en")

        kinds = []
        for c in p.get("channels") or []:
            kinds.append(c.get("kind"))
            if c.get("kind") not in KINDS:
                err(code, f"bad channel kind {c.get('kind')}")
            tl = c.get("time_limit")
            if tl is None:
                if "channels.time_limit" not in unv:
                    err(code, f"{c.get('kind')} time_limit null but channels.time_limit not unverified")
            elif not (tl == "same_day" or (isinstance(tl, dict) and len(tl) == 1 and
                      next(iter(tl)) in ("working_days", "working_hours") and
                      isinstance(next(iter(tl.values())), int) and next(iter(tl.values())) > 0)):
                err(code, f"bad time_limit {tl}")
            fee = c.get("fee")
            if fee is None:
                if "channels.fee" not in unv:
                    err(code, f"{c.get('kind')} fee null but channels.fee not unverified")
            elif not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
                err(code, f"fee must be a non-negative integer, got {fee}")
            for nk in ("time_note", "fee_note"):
                if c.get(nk) is not None and not is_text(c[nk]):
                    err(code, f"{nk} must be vi/en text or null")
        if len(kinds) != len(set(kinds)):
            err(code, "duplicate channel kind")
        has_online = "online" in kinds
        if p.get("online_level") == "full" and not has_online and "channels" not in unv:
            err(code, "online_level full without an online channel")

        doc_ids = set()
        for d in p.get("documents") or []:
            did = d.get("id")
            if did in doc_ids:
                err(code, f"duplicate document id {did}")
            doc_ids.add(did)
            if not is_text(d.get("name")):
                err(code, f"document {did} needs vi/en name")
            for k in ("originals", "copies"):
                if not isinstance(d.get(k), int) or d[k] < 0:
                    err(code, f"document {did} {k} must be a non-negative integer")
            if not isinstance(d.get("required"), bool):
                err(code, f"document {did} required must be boolean")
            reuse = d.get("reuse")
            if reuse is not None:
                if reuse == "registry:population":
                    pass
                elif reuse.startswith("wallet:"):
                    if reuse[len("wallet:"):] not in result_kinds:
                        err(code, f"document {did} reuses unknown result kind {reuse}")
                else:
                    err(code, f"document {did} bad reuse {reuse}")

        form = p.get("form")
        if not isinstance(form, dict) or form.get("type") != "object":
            err(code, "form must be an object schema")
            continue
        props = form.get("properties", {})
        if not 3 <= len(props) <= 10:
            err(code, f"form has {len(props)} fields (keep 4-10)")
        for r in form.get("required", []):
            if r not in props:
                err(code, f"required form field {r} missing")
        file_docs = set()
        ward_fields = []
        for name, spec in props.items():
            extra = set(spec) - PROP_KEYS
            if extra:
                err(code, f"form field {name} has unsupported keys {sorted(extra)}")
            if spec.get("type") not in TYPES:
                err(code, f"form field {name} bad type")
            if not spec.get("title") or not spec.get("x-title-en"):
                err(code, f"form field {name} needs title and x-title-en")
            fmt = spec.get("format")
            if fmt is not None and fmt not in FORMATS:
                err(code, f"form field {name} bad format {fmt}")
            if fmt == "ward":
                ward_fields.append(name)
            if fmt == "file":
                xd = spec.get("x-document")
                if xd not in doc_ids:
                    err(code, f"form field {name} x-document {xd} is not a document id")
                file_docs.add(xd)
            elif "x-document" in spec:
                err(code, f"form field {name} has x-document but is not a file")
            if "enum" in spec:
                t = spec.get("x-enum-titles") or {}
                if len(t.get("vi", [])) != len(spec["enum"]) or len(t.get("en", [])) != len(spec["enum"]):
                    err(code, f"form field {name} enum titles do not match")
        if p.get("level") == "commune":
            # the importer looks for a required field named exactly "ward" with format ward
            if "ward" not in ward_fields:
                err(code, "commune-level form needs a field named \"ward\" with format ward")
            elif "ward" not in form.get("required", []):
                err(code, "the ward field must be required")
        if has_online:
            for d in p.get("documents") or []:
                if d.get("required") and d.get("reuse") != "registry:population" and d["id"] not in file_docs \
                        and d["id"] not in ("to-khai", "to-khai-dien-tu"):
                    print(f"note {code}: required document {d['id']} has no upload field "
                          f"(fine if it is filled in as the e-form or shown in person)")

    if errors:
        print("\n".join(errors))
        print(f"{len(errors)} problem(s)")
        sys.exit(1)
    by_field = Counter(p["field"] for p in procs)
    flagged = [p["code"] for p in procs if p["unverified"]]
    print(f"ok: {len(procs)} procedures; by field: {dict(by_field)}; with unverified facts: {len(flagged)}")


if __name__ == "__main__":
    main()
