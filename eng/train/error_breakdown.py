"""Sorts a bundled model's wrong held-out descriptions (and Aria's page answers) by what is wrong in them.

    /usr/bin/python3 eng/train/error_breakdown.py [family ...]     # default: every family with goldens

Reads tests/data/eval/<family>/goldens.json (the greedy outputs train.py wrote) and puts each wrong answer of the
description kind ("Describe the image.", "What is on page N?") into the first class that fits:

- count: it names a different number of shapes;
- position: the same colours and shapes in the same order, some position words wrong;
- order: the same colours and shapes in another order (a description goes by position, so their positions are
  usually wrong too);
- shape or colour: some shape or colour named is not in the scene, or one in the scene is missing;
- unreadable: not a description at all.

For Aria's page answers it also says which page each answer reads: the page whose description shares the most
(colour, shape, position) items with the answer (by Jaccard overlap; none when no item matches any page), per page
asked. An answer that best matches another page has found the wrong page rather than misread the right one.
"""

import json
import os
import re
import sys
from collections import Counter

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ITEM = re.compile(r"an? (\w+) (\w+) at the ([\w ]+)")


def parse(text):
    """'There are two shapes: a red circle at the top, a blue star at the left.' -> [(red, circle, top), ...]."""
    head, sep, rest = text.partition(": ")
    if not sep:
        return None
    items = [ITEM.fullmatch(part.strip().rstrip(".")) for part in rest.split(", ")]
    if not all(items):
        return None
    return [m.groups() for m in items]


def classify(answer, output):
    want, got = parse(answer), parse(output)
    if got is None:
        return "unreadable"
    if len(got) != len(want):
        return "count"
    if [g[:2] for g in got] == [w[:2] for w in want]:
        return "position"
    if Counter(g[:2] for g in got) == Counter(w[:2] for w in want):
        return "order"
    return "shape or colour"


def describes(item):
    return item["question"] == "Describe the image." or item["question"].startswith("What is on page")


def main():
    evals = os.path.join(ROOT, "tests", "data", "eval")
    names = sys.argv[1:] or sorted(n for n in os.listdir(evals) if os.path.exists(os.path.join(evals, n, "goldens.json")))
    for name in names:
        path = os.path.join(ROOT, "tests", "data", "eval", name, "goldens.json")
        if not os.path.exists(path):
            raise SystemExit(f"no goldens for '{name}': {path} (train the family with eng/train/train.py first)")
        with open(path) as fh:
            items = json.load(fh)["items"]
        groups = {}
        for it in items:
            if describes(it):
                key = "pages" if it["kind"] == "pdf" else "descriptions"
                groups.setdefault(key, []).append(it)
        for key, group in groups.items():
            wrong = [it for it in group if not it["correct"]]
            tally = Counter(classify(it["answer"], it["output"]) for it in wrong)
            detail = ", ".join(f"{k} {v}" for k, v in tally.most_common())
            print(f"{name} {key}: {len(group) - len(wrong)}/{len(group)} right; wrong: {detail or 'none'}")
        if "pages" in groups:
            print(f"{name} pages read: {page_matches(groups['pages'])}")


def page_matches(pages):
    """For each page asked, how many answers best match each page of the document ('none': no item matches)."""
    docs = {}
    for it in pages:
        docs.setdefault(it["index"], {})[int(it["question"].rstrip("?").split()[-1])] = it
    tally = Counter()
    for doc in docs.values():
        truth = {n: Counter(parse(it["answer"]) or []) for n, it in doc.items()}
        for asked, it in doc.items():
            got = Counter(parse(it["output"]) or [])
            overlap = {n: sum((got & t).values()) / max(1, sum((got | t).values())) for n, t in truth.items()}
            best = max(sorted(overlap), key=lambda n: overlap[n])
            tally[asked, best if overlap[best] > 0 else None] += 1
    asked = sorted({a for a, _ in tally})
    return "; ".join(f"page {a} asked: " + ", ".join(f"{'none' if b is None else 'page %d' % b} {tally[a, b]}"
                                                     for b in [*asked, None] if tally[a, b]) for a in asked)


if __name__ == "__main__":
    main()
