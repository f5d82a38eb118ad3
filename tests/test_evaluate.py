"""evaluate: predictions matched to outcomes, confusion matrices, misses with their evidence."""

from __future__ import annotations

import pytest

from splicelab.evaluate import EvaluationInputError, evaluate


def _art(name: str, version: str, build: str, file: str | None = None) -> dict:
    d = {"package": name, "version": version, "hash": build, "id": f"{name}@{version}/{build}"}
    if file:
        d["file"] = file
    return d


PROG = _art("pigz", "2.8", "aaa", "bin/pigz")
ORIG = _art("zlib", "1.3.1", "ooo")
R1, R2, R3 = _art("zlib", "1.2.8", "r1"), _art("zlib", "1.2.11", "r2"), _art("zlib", "1.2.13", "r3")


def _pred(repl: dict, **verdicts: str) -> dict:
    return {
        "binary": PROG,
        "dependency": "zlib",
        "original": ORIG,
        "replacement": repl,
        "predictors": {
            k: {
                "verdict": v,
                "reasons": [{"kind": "missing-version", "version": "ZLIB_1.2.9"}] if v == "breaks" else [],
            }
            for k, v in verdicts.items()
        },
    }


def _out(repl: dict, klass: str, **extra: object) -> dict:
    return {
        "binary": PROG,
        "original": ORIG,
        "replacement": repl,
        "class": klass,
        "message": f"m-{klass}",
        **extra,
    }


def test_confusion_and_misses() -> None:
    preds = [
        _pred(R1, a="breaks", b="works"),
        _pred(R2, a="works", b="breaks"),
        _pred(R3, a="unknown", b="works"),
    ]
    outs = [_out(R1, "missing-version"), _out(R2, "ok"), _out(R3, "ok")]
    ev = evaluate(preds, outs)
    a, b = ev["a"], ev["b"]
    assert (a["correct"], a["false_works"], a["false_breaks"], a["unknown"], a["total"]) == (2, 0, 0, 1, 3)
    assert a["accuracy"] == round(2 / 3, 4) and a["decided_accuracy"] == 1.0
    assert a["confusion"]["unknown"] == {"ok": 1, "fail": 0}
    assert (b["correct"], b["false_works"], b["false_breaks"]) == (1, 1, 1)
    kinds = {(m["verdict"], m["class"]) for m in b["misses"]}
    assert kinds == {("works", "missing-version"), ("breaks", "ok")}
    miss = next(m for m in b["misses"] if m["verdict"] == "breaks")
    assert miss["binary"] == "pigz@2.8/aaa:bin/pigz" and miss["replacement"] == R2["id"]
    assert miss["reasons"][0]["version"] == "ZLIB_1.2.9" and miss["message"] == "m-ok"


def test_matching_prefers_the_same_original_then_mode_c() -> None:
    other = _art("zlib", "1.3.2", "sid")
    outs = [
        _out(R1, "ok", mode="B") | {"original": other},
        _out(R1, "dependency", mode="C") | {"original": _art("zlib", "1.2.13", "x")},
    ]
    ev = evaluate([_pred(R1, a="works")], outs)  # no outcome has ORIG: mode C wins
    assert ev["a"]["false_works"] == 1
    ev = evaluate([_pred(R1, a="works") | {"original": other}], outs)  # same original: mode B's
    assert ev["a"]["correct"] == 1


def test_unlinked_and_unmatched_are_left_out() -> None:
    ev = evaluate([_pred(R1, a="works"), _pred(R2, a="works")], [_out(R1, "ok", linked=False)])
    assert ev["a"]["total"] == 0 and ev["a"]["unmatched"] == 2 and ev["a"]["accuracy"] is None


def test_bad_input_names_the_entry() -> None:
    with pytest.raises(EvaluationInputError, match=r"outcomes\[0\].*class"):
        evaluate([], [{"binary": PROG}])
    with pytest.raises(EvaluationInputError, match=r"predictions\[0\]"):
        evaluate([{"binary": PROG}], [])
    with pytest.raises(EvaluationInputError, match="verdict"):
        evaluate([_pred(R1, a="maybe")], [_out(R1, "ok")])
