#!/usr/bin/env python3
"""Checks the demo brand's passage-labelled question sets: eval/kb-lumio.jsonl (the test set) and
eval/kb-lumio-train.jsonl (the training set for the re-ranker and the confidence calibration). Every line
must be a JSON object with an id, the question, its language (en or zh), the expected document (`source`,
the knowledge-base file name before the first dot, or null when the knowledge does not answer), the
`answer` substrings (null for unanswerable questions), the earlier customer messages (`turns`) and a
`kind` (direct, paraphrase, colloquial, misspelled, followup, unanswerable). Each answer substring must be
copied exactly from one sentence of the source's English or Chinese document (Markdown line markers
removed); a warning is printed when a substring occurs in more than one sentence of the whole knowledge
base in its language, when an answerable question has no substring in one of the two languages, or when a
test question nearly repeats a training question; a test question equal to a training question is an
error. The script ends with counts per kind, language and source, and exits non-zero on any error.
Usage: python3 eval/check_sets.py [TEST.jsonl TRAIN.jsonl]
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
KB_DIR = HERE.parent / "crates" / "lianluo" / "src" / "demo" / "kb"
TEST = HERE / "kb-lumio.jsonl"
TRAIN = HERE / "kb-lumio-train.jsonl"

KINDS = {"direct", "paraphrase", "colloquial", "misspelled", "followup", "unanswerable"}
LANGS = {"en", "zh"}
KEYS = {"id", "question", "lang", "source", "answer", "turns", "kind"}
REQUIRED = {"id", "question", "lang", "source", "answer", "kind"}
MARKDOWN = set("#*|`_")
CLOSERS = set("」”\"')）』")

# Questions the test set must hold, with their expected source (known failures of earlier versions).
MUST_HAVE = {
    "Can I take the power bank on a plane?": "powercube",
    "Watch S3 的电池能用多久？": "watch-s3",
    "我的耳机左边没声音了怎么办": "buds-pro-2",
    "Can I pay with Bitcoin?": None,
    "充电宝能带上飞机吗？": "powercube",
}


def strip_markers(line):
    """A Markdown line without its block markers (heading hashes, list bullets, quote marks, table bars)."""
    s = line.strip()
    s = re.sub(r"^#{1,6}\s+", "", s)
    s = re.sub(r"^([-*+]|\d+\.)\s+", "", s)
    s = s.lstrip(">").strip()
    if s.startswith("|"):
        s = " ".join(c.strip() for c in s.strip("|").split("|"))
    if s and all(c in "-=*|: " for c in s):
        return ""
    return s


def sentences(text):
    """Splits after 。！？；!? and after a period followed by white space or the end of the text."""
    out, start, i = [], 0, 0
    while i < len(text):
        c = text[i]
        end = c in "。！？；!?" or (c == "." and (i + 1 == len(text) or text[i + 1].isspace()))
        if end:
            stop = i + 1
            while stop < len(text) and text[stop] in CLOSERS:
                stop += 1
            piece = text[start:stop].strip()
            if piece:
                out.append(piece)
            start = i = stop
            continue
        i += 1
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def load_kb(kb_dir=KB_DIR):
    """{(topic, lang): [sentences]} from every NAME.LANG.md file."""
    kb = {}
    for path in sorted(kb_dir.glob("*.md")):
        parts = path.name.split(".")
        if len(parts) != 3 or parts[1] not in LANGS:
            continue
        sents = []
        for line in path.read_text(encoding="utf-8").splitlines():
            text = strip_markers(line)
            if text:
                sents.extend(sentences(text))
        kb[(parts[0], parts[1])] = sents
    return kb


def normalize(q):
    return re.sub(r"[\W_]+", "", q.lower())


def bigrams(q):
    n = normalize(q)
    return {n[i : i + 2] for i in range(len(n) - 1)} or {n}


def has_cjk(s):
    return any("\u4e00" <= c <= "\u9fff" for c in s)


class Report:
    def __init__(self):
        self.errors, self.warnings = [], []

    def error(self, where, msg):
        self.errors.append(f"ERROR {where}: {msg}")

    def warn(self, where, msg):
        self.warnings.append(f"warning {where}: {msg}")


def load(path, rep):
    rows = []
    if not path.exists():
        rep.error(path.name, "file missing")
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            rep.error(f"{path.name}:{n}", f"not JSON ({e})")
            continue
        if not isinstance(row, dict):
            rep.error(f"{path.name}:{n}", "not a JSON object")
            continue
        row["_where"] = f"{path.name}:{n} {row.get('id', '?')}"
        rows.append(row)
    return rows


def check_row(row, kb, topics, rep, id_prefix):
    where = row["_where"]
    keys = set(row) - {"_where"}
    if REQUIRED - keys:
        rep.error(where, f"missing keys {sorted(REQUIRED - keys)}")
        return
    if keys - KEYS:
        rep.error(where, f"unknown keys {sorted(keys - KEYS)}")
    q, lang, source, answer, kind = (row[k] for k in ("question", "lang", "source", "answer", "kind"))
    turns = row.get("turns") or []
    if not isinstance(row["id"], str) or not re.fullmatch(id_prefix + r"\d{3,}", row["id"]):
        rep.error(where, f"id should look like {id_prefix}001")
    if not isinstance(q, str) or not q.strip():
        rep.error(where, "empty question")
        return
    if lang not in LANGS:
        rep.error(where, f"lang {lang!r}")
    elif (lang == "zh") != has_cjk(q + "".join(t for t in turns if isinstance(t, str))):
        rep.warn(where, f"question does not look like {lang}: {q}")
    if kind not in KINDS:
        rep.error(where, f"kind {kind!r}")
    if not isinstance(turns, list) or not all(isinstance(t, str) and t.strip() for t in turns):
        rep.error(where, "turns must be a list of non-empty strings")
        turns = []
    if kind == "followup" and not turns:
        rep.error(where, "a followup needs earlier turns")
    if turns and kind != "followup":
        rep.error(where, f"turns given but kind is {kind}")
    if source is not None and source not in topics:
        rep.error(where, f"unknown source {source!r}")
        return
    if kind == "unanswerable" and source is not None:
        rep.error(where, "unanswerable question with a source")
    if source is None:
        if answer not in (None, []):
            rep.error(where, "answer given for a question without a source")
        return
    if not isinstance(answer, list) or not answer or not all(isinstance(a, str) for a in answer):
        rep.error(where, "answerable question needs a non-empty list of answer substrings")
        return
    langs_found = set()
    for a in answer:
        if any(c in MARKDOWN for c in a) or a.startswith(("- ", "> ")):
            rep.error(where, f"Markdown marker in answer substring {a!r}")
        if a != a.strip():
            rep.error(where, f"answer substring has surrounding spaces {a!r}")
        if not 5 <= len(a) <= 40:
            rep.warn(where, f"answer substring of {len(a)} characters {a!r}")
        found = False
        for lg in sorted(LANGS):
            sents = kb.get((source, lg), [])
            if any(a in s for s in sents):
                found = True
                langs_found.add(lg)
                everywhere = sum(a in s for (_, l2), ss in kb.items() if l2 == lg for s in ss)
                if everywhere > 1:
                    rep.warn(where, f"{a!r} occurs in {everywhere} sentences of the {lg} knowledge")
            elif a in " ".join(sents):
                rep.error(where, f"{a!r} crosses a sentence boundary in {source}.{lg}")
                found = True
        if not found:
            rep.error(where, f"{a!r} is not in {source}.en or {source}.zh")
    for lg in sorted(LANGS - langs_found):
        if kb.get((source, lg)):
            rep.warn(where, f"no answer substring from {source}.{lg}")


def counts(name, rows):
    print(f"\n== {name}: {len(rows)} questions")
    by_kind = Counter((r.get("kind"), r.get("lang")) for r in rows)
    kinds = sorted({k for k, _ in by_kind})
    print(f"{'kind':<14}{'en':>5}{'zh':>5}{'all':>6}")
    for k in kinds:
        en, zh = by_kind[(k, "en")], by_kind[(k, "zh")]
        print(f"{k:<14}{en:>5}{zh:>5}{en + zh:>6}")
    langs = Counter(r.get("lang") for r in rows)
    print(f"{'all':<14}{langs['en']:>5}{langs['zh']:>5}{len(rows):>6}")
    by_source = Counter((r.get("source") or "(none)", r.get("lang")) for r in rows)
    print(f"{'source':<14}{'en':>5}{'zh':>5}{'all':>6}")
    for s in sorted({s for s, _ in by_source}):
        en, zh = by_source[(s, "en")], by_source[(s, "zh")]
        print(f"{s:<14}{en:>5}{zh:>5}{en + zh:>6}")
    return Counter(r.get("kind") for r in rows)


def main(argv):
    test_path = Path(argv[1]) if len(argv) > 1 else TEST
    train_path = Path(argv[2]) if len(argv) > 2 else TRAIN
    kb = load_kb()
    topics = {t for t, _ in kb}
    rep = Report()
    if len(topics) != 11 or len(kb) != 22:
        rep.warn("knowledge", f"{len(kb)} documents in {len(topics)} topics under {KB_DIR}")
    sets = {}
    for path, prefix in ((test_path, "t"), (train_path, "r")):
        rows = load(path, rep)
        seen_ids, seen_q = set(), {}
        for row in rows:
            check_row(row, kb, topics, rep, prefix)
            if row.get("id") in seen_ids:
                rep.error(row["_where"], "duplicate id")
            seen_ids.add(row.get("id"))
            key = (normalize(str(row.get("question", ""))), tuple(row.get("turns") or []))
            if key in seen_q:
                rep.error(row["_where"], f"same question as {seen_q[key]}")
            seen_q[key] = row.get("id")
        sets[path.name] = rows

    test, train = sets[test_path.name], sets[train_path.name]
    train_norm = {normalize(str(r.get("question", ""))): r.get("id") for r in train}
    train_grams = [(bigrams(str(r.get("question", ""))), r) for r in train]
    for row in test:
        q = str(row.get("question", ""))
        n = normalize(q)
        if n in train_norm:
            rep.error(row["_where"], f"same question in the training set ({train_norm[n]})")
            continue
        g = bigrams(q)
        for g2, r2 in train_grams:
            sim = len(g & g2) / len(g | g2)
            if sim >= 0.75 and len(g) > 3:
                rep.warn(row["_where"], f"close to training question {r2.get('id')} ({sim:.2f}): "
                         f"{q!r} / {r2.get('question')!r}")

    present = {r.get("question"): r for r in test}
    for q, src in MUST_HAVE.items():
        if q not in present:
            rep.error(test_path.name, f"missing required question {q!r}")
        elif present[q].get("source") != src:
            rep.error(present[q]["_where"], f"expected source {src!r}")

    kt = counts(test_path.name, test)
    kr = counts(train_path.name, train)
    fu = Counter(r.get("lang") for r in test if r.get("kind") == "followup")
    for what, have, need in (
        ("test questions", len(test), 420),
        ("test unanswerable", kt["unanswerable"], 90),
        ("test followups (en)", fu["en"], 20),
        ("test followups (zh)", fu["zh"], 20),
        ("test misspelled", kt["misspelled"], 40),
        ("test colloquial", kt["colloquial"], 60),
    ):
        if have < need:
            rep.error(test_path.name, f"{what}: {have}, need at least {need}")
    for what, have, lo, hi in (
        ("training questions", len(train), 270, 340),
        ("training unanswerable", kr["unanswerable"], 55, 90),
        ("training followups", kr["followup"], 25, 45),
    ):
        if not lo <= have <= hi:
            rep.warn(train_path.name, f"{what}: {have}, expected {lo} to {hi}")

    print()
    for line in rep.warnings + rep.errors:
        print(line)
    total = len(test) + len(train)
    print(f"\n{len(rep.errors)} errors, {len(rep.warnings)} warnings "
          f"({100 * len(rep.warnings) / max(total, 1):.1f}% of {total} questions)")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
