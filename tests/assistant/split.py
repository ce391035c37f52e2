#!/usr/bin/env python3
"""Assign every question of questions.json to the "dev" or the "heldout" split.

Deterministic: random.Random(20261123), stratified per expected answer (one group
per procedure code, one per feedback category code, one for all declines). In each
group, questions are taken in id order, shuffled, and round(n/3) of them (at most
n-1, so at least one stays in dev) go to "heldout". The result does not depend on
any split already present in the file, so running the script twice changes nothing.

Rewrites questions.json in place: UTF-8, ensure_ascii=False, one question per line,
keys in the order id, q, expect, style, split (then any other keys).

Usage: python3 tests/assistant/split.py [path/to/questions.json]
"""
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

SEED = 20261123
KEY_ORDER = ["id", "q", "expect", "style", "split"]


def group_of(q):
    e = q["expect"]
    if "procedure" in e:
        return "procedure:" + e["procedure"]
    if "category" in e:
        return "category:" + e["category"]
    return "decline"


def ordered(q):
    out = {k: q[k] for k in KEY_ORDER if k in q}
    for k, v in q.items():
        if k not in out:
            out[k] = v
    return out


def dump(doc):
    lines = ["{"]
    for k, v in doc.items():
        if k == "questions":
            continue
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(v, ensure_ascii=False)))
    lines.append(' "questions": [')
    qs = doc["questions"]
    for i, q in enumerate(qs):
        lines.append("  " + json.dumps(q, ensure_ascii=False) + ("," if i < len(qs) - 1 else ""))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("questions.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    questions = doc["questions"]

    groups = defaultdict(list)
    for q in questions:
        groups[group_of(q)].append(q)

    rng = random.Random(SEED)
    split = {}
    for g in sorted(groups):
        members = sorted(groups[g], key=lambda q: q["id"])
        ids = [q["id"] for q in members]
        rng.shuffle(ids)
        n = len(ids)
        k = min(max(round(n / 3), 0), n - 1)
        for i, qid in enumerate(ids):
            split[qid] = "heldout" if i < k else "dev"

    new_qs = []
    for q in questions:
        q = dict(q)
        q["split"] = split[q["id"]]
        new_qs.append(ordered(q))

    out = {k: v for k, v in doc.items() if k != "questions"}
    out["questions"] = new_qs
    path.write_text(dump(out), encoding="utf-8")

    held = sum(1 for q in new_qs if q["split"] == "heldout")
    print("%s: %d questions, %d dev, %d heldout, %d groups"
          % (path, len(new_qs), len(new_qs) - held, held, len(groups)))


if __name__ == "__main__":
    main()
