"""Predictions x outcomes → per predictor a confusion matrix, accuracy and every miss with its evidence.

A prediction is matched to the outcome of the same splice: same binary (artifact id and file), same
original and same replacement artifact ids. When no outcome has the same original (a prediction made
without one, or for another system), the binary and replacement alone decide, preferring the mode C
outcome (the program's own system). Outcomes where the program turned out not to load the family's
library at all (``linked`` false) say nothing about the splice and are left out.

Scores (see docs/formats.md, ``evaluation.json``): ``correct`` = works∧ok + breaks∧fail,
``false_works`` = works∧fail, ``false_breaks`` = breaks∧ok, ``unknown`` = unknown verdicts,
``accuracy`` = correct / total (an unknown counts as not correct), ``decided_accuracy`` = correct /
(total - unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

VERDICTS = ("works", "breaks", "unknown")


class EvaluationInputError(ValueError):
    """A predictions or outcomes entry lacks a field; the message names the entry and the field."""


def _id(d: Any) -> str | None:
    if isinstance(d, Mapping):
        v = d.get("id")
        return str(v) if v is not None else None
    return None


def _file(d: Any) -> str | None:
    return str(d.get("file")) if isinstance(d, Mapping) and d.get("file") is not None else None


def outcome_key(o: Mapping[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    return (_id(o.get("binary")), _file(o.get("binary")), _id(o.get("original")), _id(o.get("replacement")))


def _label(binary: Any) -> str:
    return f"{_id(binary)}:{_file(binary)}" if _file(binary) else str(_id(binary))


class _Outcomes:
    def __init__(self, outcomes: Iterable[Mapping[str, Any]]) -> None:
        self.full: dict[tuple[Any, ...], Mapping[str, Any]] = {}
        self.short: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
        for i, o in enumerate(outcomes):
            if not isinstance(o, Mapping) or "class" not in o:
                raise EvaluationInputError(f"outcomes[{i}]: missing field 'class'")
            if _id(o.get("binary")) is None or _id(o.get("replacement")) is None:
                raise EvaluationInputError(f"outcomes[{i}]: missing 'binary.id' or 'replacement.id'")
            k = outcome_key(o)
            self.full.setdefault(k, o)
            self.short.setdefault((k[0], k[1], k[3]), []).append(o)

    def find(self, p: Mapping[str, Any]) -> Mapping[str, Any] | None:
        k = (_id(p.get("binary")), _file(p.get("binary")), _id(p.get("original")), _id(p.get("replacement")))
        if k in self.full:
            return self.full[k]
        cands = self.short.get((k[0], k[1], k[3])) or []
        if not cands and k[1] is None:  # no file given: any file of the binary
            cands = [o for (b, _f, r), os_ in self.short.items() if b == k[0] and r == k[3] for o in os_]
        if not cands:
            return None
        return sorted(cands, key=lambda o: (o.get("mode") != "C", str(o.get("mode"))))[0]


def _empty() -> dict[str, Any]:
    return {
        "correct": 0,
        "false_works": 0,
        "false_breaks": 0,
        "unknown": 0,
        "total": 0,
        "accuracy": None,
        "decided_accuracy": None,
        "unmatched": 0,
        "confusion": {v: {"ok": 0, "fail": 0} for v in VERDICTS},
        "misses": [],
    }


def evaluate(
    predictions: Sequence[Mapping[str, Any]], outcomes: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The evaluation object of docs/formats.md, keyed by predictor name."""
    found = _Outcomes(outcomes)
    result: dict[str, dict[str, Any]] = {}
    for i, p in enumerate(predictions):
        if not isinstance(p, Mapping) or not isinstance(p.get("predictors"), Mapping):
            raise EvaluationInputError(f"predictions[{i}]: missing object 'predictors'")
        o = found.find(p)
        for name, pred in p["predictors"].items():
            e = result.setdefault(name, _empty())
            if o is None or o.get("linked") is False:
                e["unmatched"] += 1
                continue
            verdict = pred.get("verdict") if isinstance(pred, Mapping) else None
            if verdict not in VERDICTS:
                raise EvaluationInputError(f"predictions[{i}].predictors.{name}: bad 'verdict' {verdict!r}")
            actual = "ok" if o["class"] == "ok" else "fail"
            e["total"] += 1
            e["confusion"][verdict][actual] += 1
            if verdict == "unknown":
                e["unknown"] += 1
                continue
            if (verdict == "works") == (actual == "ok"):
                e["correct"] += 1
                continue
            e["false_works" if verdict == "works" else "false_breaks"] += 1
            e["misses"].append(
                {
                    "binary": _label(p.get("binary")),
                    "replacement": _id(p.get("replacement")),
                    "verdict": verdict,
                    "class": o["class"],
                    "reasons": list(pred.get("reasons", [])),
                    "message": o.get("message", ""),
                    "mode": o.get("mode"),
                }
            )
    for e in result.values():
        if e["total"]:
            e["accuracy"] = round(e["correct"] / e["total"], 4)
        decided = e["total"] - e["unknown"]
        if decided:
            e["decided_accuracy"] = round(e["correct"] / decided, 4)
    return result
