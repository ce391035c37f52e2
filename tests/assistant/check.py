#!/usr/bin/env python3
"""Validate tests/assistant/questions.json against data/procedures-79.json and
data/feedback-categories.json, print a summary, exit 1 on any problem.

Checks: JSON shape; ids unique and well formed; every question non-empty; exactly one
expected answer per question (procedure code, category code or decline) and every
code known; styles known; no procedure code written inside a question; no_diacritics
questions really carry no diacritics; no (near-)duplicate questions; coverage
minimums (each procedure >= 5, the common ones >= 8, each category >= 2, declines,
administrative-sounding declines); style mix; every question has a split and every
group keeps at least one dev question.

Usage: python3 tests/assistant/check.py [path/to/questions.json]
"""
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "data"

STYLES = ["plain", "no_diacritics", "typo", "slang", "abbrev", "long", "english"]
SPLITS = {"dev", "heldout"}
KINDS = ["procedure", "category", "decline"]

# Procedures residents ask about most: each needs at least COMMON_MIN questions.
COMMON = [
    "1.001193",  # Đăng ký khai sinh
    "1.000894",  # Đăng ký kết hôn
    "1.000656",  # Đăng ký khai tử
    "2.000635",  # Bản sao trích lục hộ tịch, bản sao giấy khai sinh
    "1.004873",  # Giấy xác nhận tình trạng hôn nhân
    "2.000815",  # Chứng thực bản sao từ bản chính
    "2.000884",  # Chứng thực chữ ký
    "3.000333",  # Phiếu lý lịch tư pháp
    "1.004222",  # Đăng ký thường trú
    "1.004194",  # Đăng ký tạm trú
    "1.001456",  # Hộ chiếu phổ thông
    "1.001612",  # Hộ kinh doanh
    "2.001610",  # Doanh nghiệp tư nhân
    "1.013225",  # Giấy phép xây dựng mới
    "1.013978",  # Giấy chứng nhận lần đầu (sổ đỏ, sổ hồng)
    "1.013831",  # Đăng ký biến động (sang tên, thừa kế, tặng cho)
    "1.011607",  # Hộ nghèo, hộ cận nghèo
]
PROC_MIN, COMMON_MIN, CAT_MIN = 5, 8, 2
MIN_TOTAL, MIN_PROC, MIN_CAT, MIN_DECLINE, MIN_ADMIN_DECLINE = 360, 200, 76, 40, 15
MAX_ENGLISH = 15
# share of the whole set: (min, max)
STYLE_SHARE = {"no_diacritics": (0.28, 0.40), "typo": (0.20, 0.32), "long": (0.08, 0.30)}
NEAR_DUP_JACCARD = 0.8

# Words that make an out-of-scope question sound administrative (heuristic, on text
# without diacritics). Used only to count that enough declines are of that hard kind.
ADMIN_WORDS = [
    "thu tuc", "giay", "dang ky", "ho so", "cap lai", "gia han", "cong chung", "visa",
    "permit", "licen", "bang lai", "bien so", "bao hiem", "thue", "tncn", "cccd",
    "can cuoc", "tuyen sinh", "ly hon", "nghia vu", "tro cap", "luong huu", "con nuoi",
    "ghi chu", "phat nguoi", "thanh lap", "cong ty", "mst", "sang ten", "register",
]
CODE_RE = re.compile(r"\b\d\.\d{6}\b")
ID_RE = re.compile(r"^q\d{3,}$")


def fold(s):
    s = s.replace("đ", "d").replace("Đ", "D")
    s = unicodedata.normalize("NFD", s)
    return "".join(c for c in s if unicodedata.category(c) != "Mn").lower()


def has_diacritics(s):
    return fold(s) != s.lower()


def tokens(s):
    return set(re.findall(r"[a-z0-9]+", fold(s)))


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "questions.json"
    problems = []

    def bad(msg):
        problems.append(msg)

    procs = json.loads((DATA / "procedures-79.json").read_text(encoding="utf-8"))["procedures"]
    proc_names = {p["code"]: p["name"]["vi"] for p in procs}
    cats = json.loads((DATA / "feedback-categories.json").read_text(encoding="utf-8"))["groups"]
    cat_names = {c["code"]: c["name"]["vi"] for g in cats for c in g["categories"]}

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001
        print("cannot read %s: %s" % (path, e))
        return 1
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), list):
        print("%s: expected an object with a 'questions' list" % path)
        return 1
    if not isinstance(doc.get("note"), str) or not doc["note"].strip():
        bad("top level: 'note' missing or empty")

    for c in COMMON:
        if c not in proc_names:
            bad("check.py COMMON lists unknown procedure %s" % c)

    qs = doc["questions"]
    seen_ids = set()
    kind_of = {}
    group_of = {}
    by_group = defaultdict(list)
    for i, q in enumerate(qs):
        where = "question #%d" % (i + 1)
        if not isinstance(q, dict):
            bad("%s: not an object" % where)
            continue
        qid = q.get("id")
        if not isinstance(qid, str) or not ID_RE.match(qid):
            bad("%s: bad id %r" % (where, qid))
            continue
        where = qid
        if qid in seen_ids:
            bad("%s: duplicate id" % qid)
        seen_ids.add(qid)
        for k in q:
            if k not in ("id", "q", "expect", "style", "split"):
                bad("%s: unknown key %r" % (where, k))
        text = q.get("q")
        if not isinstance(text, str) or not text.strip():
            bad("%s: empty question" % where)
            text = ""
        elif text != text.strip():
            bad("%s: leading/trailing whitespace" % where)
        if CODE_RE.search(text):
            bad("%s: question mentions a procedure code" % where)
        e = q.get("expect")
        if not isinstance(e, dict) or len(e) != 1 or next(iter(e)) not in KINDS:
            bad("%s: expect must have exactly one of %s, got %r" % (where, KINDS, e))
            continue
        kind, val = next(iter(e.items()))
        if kind == "procedure" and val not in proc_names:
            bad("%s: unknown procedure code %r" % (where, val))
        if kind == "category" and val not in cat_names:
            bad("%s: unknown category code %r" % (where, val))
        if kind == "decline" and val is not True:
            bad("%s: decline must be true" % where)
        kind_of[qid] = kind
        g = "decline" if kind == "decline" else "%s:%s" % (kind, val)
        group_of[qid] = g
        by_group[g].append(q)
        style = q.get("style")
        if style not in STYLES:
            bad("%s: unknown style %r" % (where, style))
        if style == "no_diacritics" and has_diacritics(text):
            bad("%s: style no_diacritics but the text has diacritics" % where)
        if style == "english" and has_diacritics(text):
            bad("%s: style english but the text has Vietnamese diacritics" % where)
        sp = q.get("split")
        if sp not in SPLITS:
            bad("%s: split must be dev or heldout, got %r (run split.py)" % (where, sp))

    valid = [q for q in qs if isinstance(q, dict) and q.get("id") in kind_of]

    # (near-)duplicates
    toks = [(q["id"], tokens(q.get("q") or "")) for q in valid]
    for a in range(len(toks)):
        ia, ta = toks[a]
        for b in range(a + 1, len(toks)):
            ib, tb = toks[b]
            if not ta or not tb:
                continue
            j = len(ta & tb) / len(ta | tb)
            if j >= NEAR_DUP_JACCARD:
                bad("%s and %s are near-duplicates (Jaccard %.2f)" % (ia, ib, j))

    # counts
    n = len(valid)
    kinds = Counter(kind_of[q["id"]] for q in valid)
    styles = Counter(q.get("style") for q in valid)
    if n < MIN_TOTAL:
        bad("only %d questions (need >= %d)" % (n, MIN_TOTAL))
    for k, m in (("procedure", MIN_PROC), ("category", MIN_CAT), ("decline", MIN_DECLINE)):
        if kinds[k] < m:
            bad("only %d %s questions (need >= %d)" % (kinds[k], k, m))
    for code in proc_names:
        need = COMMON_MIN if code in COMMON else PROC_MIN
        have = len(by_group.get("procedure:" + code, []))
        if have < need:
            bad("procedure %s (%s): %d questions, need >= %d" % (code, proc_names[code], have, need))
    for code in cat_names:
        have = len(by_group.get("category:" + code, []))
        if have < CAT_MIN:
            bad("category %s (%s): %d questions, need >= %d" % (code, cat_names[code], have, CAT_MIN))
    admin_declines = [q for q in by_group.get("decline", [])
                      if any(w in fold(q["q"]) for w in ADMIN_WORDS)]
    if len(admin_declines) < MIN_ADMIN_DECLINE:
        bad("only %d administrative-sounding declines (need >= %d)" % (len(admin_declines), MIN_ADMIN_DECLINE))
    if styles["english"] > MAX_ENGLISH:
        bad("%d english questions (at most %d)" % (styles["english"], MAX_ENGLISH))
    for s, (lo, hi) in STYLE_SHARE.items():
        share = styles[s] / n if n else 0
        if not lo <= share <= hi:
            bad("style %s is %.1f%% of the set (want %.0f-%.0f%%)" % (s, 100 * share, 100 * lo, 100 * hi))
    for s in STYLES:
        if styles[s] == 0:
            bad("no question in style %s" % s)

    # splits
    for g, members in sorted(by_group.items()):
        dev = sum(1 for q in members if q.get("split") == "dev")
        held = sum(1 for q in members if q.get("split") == "heldout")
        if dev < 1:
            bad("%s: no dev question" % g)
        if len(members) >= 3 and held < 1:
            bad("%s: no heldout question" % g)
    held_all = sum(1 for q in valid if q.get("split") == "heldout")

    # summary
    print("questions.json: %d questions (%d dev, %d heldout)" % (n, n - held_all, held_all))
    print()
    header = "%-10s" % "kind" + "".join("%15s" % s for s in STYLES) + "%8s" % "total"
    print(header)
    print("-" * len(header))
    for k in KINDS:
        row = Counter(q.get("style") for q in valid if kind_of[q["id"]] == k)
        print("%-10s" % k + "".join("%15d" % row[s] for s in STYLES) + "%8d" % kinds[k])
    print("-" * len(header))
    print("%-10s" % "total" + "".join("%15d" % styles[s] for s in STYLES) + "%8d" % n)
    print("%-10s" % "share" + "".join("%14.1f%%" % (100 * styles[s] / n if n else 0) for s in STYLES))
    print()
    print("%-34s %-52s %4s %4s %4s" % ("expected", "name", "n", "dev", "held"))
    rows = [("procedure:" + c, proc_names[c]) for c in proc_names] + \
           [("category:" + c, cat_names[c]) for c in cat_names] + [("decline", "(out of scope)")]
    for g, name in rows:
        members = by_group.get(g, [])
        dev = sum(1 for q in members if q.get("split") == "dev")
        mark = " *" if g.split(":")[-1] in COMMON else ""
        print("%-34s %-52s %4d %4d %4d" % (g + mark, name[:52], len(members), dev, len(members) - dev))
    print()
    print("* common procedure (>= %d questions); administrative-sounding declines: %d"
          % (COMMON_MIN, len(admin_declines)))
    print()
    if problems:
        print("%d problem(s):" % len(problems))
        for p in problems:
            print("  - " + p)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
