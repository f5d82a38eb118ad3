"""Predictions x outcomes → per predictor a confusion matrix, accuracy and every miss with its evidence.

A prediction is matched to the outcome of the same splice: same binary (artifact id and file), same
original and same replacement artifact ids, and the same mode when the prediction names one (a Debian
family splice is predicted and performed in modes B and C). When no outcome has the same original (a
prediction made without one, or for another system), the binary and replacement alone decide,
preferring the mode C outcome (the program's own system). Outcomes where the program turned out not to
load the family's library at all (``linked`` false) say nothing about the splice and are left out.

Outcomes are judged on loading: ``ok`` works, a loader failure (``undefined-symbol``,
``missing-version``, ``soname-not-found``, ``glibc-*``, ``dependency``) fails. A program that loaded
and then refused, crashed, printed other output or hung (``runtime-refused``, ``crash``,
``wrong-output``, ``timeout``) failed for reasons no loader-level prediction can see: such outcomes are
counted apart (``runtime``, with each in ``runtime_failures``) and are neither correct nor wrong.

Scores (see docs/formats.md, ``evaluation.json``): ``correct`` = works∧ok + breaks∧fail,
``false_works`` = works∧fail, ``false_breaks`` = breaks∧ok, ``unknown`` = unknown verdicts,
``accuracy`` = correct / total (an unknown counts as not correct), ``decided_accuracy`` = correct /
(total - unknown); ``total`` counts the matched load outcomes, ``runtime`` the run-time failures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from splicelab.validate.classify import FAILURES, LOAD_FAILURES

VERDICTS = ("works", "breaks", "unknown")
RUNTIME_FAILURES = FAILURES - LOAD_FAILURES  # the program loaded, then failed


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
        self.full: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
        self.short: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
        for i, o in enumerate(outcomes):
            if not isinstance(o, Mapping) or "class" not in o:
                raise EvaluationInputError(f"outcomes[{i}]: missing field 'class'")
            if _id(o.get("binary")) is None or _id(o.get("replacement")) is None:
                raise EvaluationInputError(f"outcomes[{i}]: missing 'binary.id' or 'replacement.id'")
            k = outcome_key(o)
            self.full.setdefault(k, []).append(o)
            self.short.setdefault((k[0], k[1], k[3]), []).append(o)

    def find(self, p: Mapping[str, Any]) -> Mapping[str, Any] | None:
        k = (_id(p.get("binary")), _file(p.get("binary")), _id(p.get("original")), _id(p.get("replacement")))
        mode = p.get("mode")

        def fits(os_: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
            return [o for o in os_ if mode is None or o.get("mode") in (None, mode)]

        exact = fits(self.full.get(k, ()))
        if exact:
            return exact[0] if mode is not None else _prefer_c(exact)
        cands = fits(self.short.get((k[0], k[1], k[3])) or [])
        if not cands and k[1] is None:  # no file given: any file of the binary
            cands = fits(o for (b, _f, r), os_ in self.short.items() if b == k[0] and r == k[3] for o in os_)
        return _prefer_c(cands) if cands else None


def _prefer_c(outcomes: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return sorted(outcomes, key=lambda o: (o.get("mode") != "C", str(o.get("mode"))))[0]


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
        "runtime": 0,
        "confusion": {v: {"ok": 0, "fail": 0} for v in VERDICTS},
        "misses": [],
        "runtime_failures": [],
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
            cls = o["class"]
            actual = "ok" if cls == "ok" else ("runtime" if cls in RUNTIME_FAILURES else "fail")
            miss = {
                "binary": _label(p.get("binary")),
                "replacement": _id(p.get("replacement")),
                "verdict": verdict,
                "class": cls,
                "reasons": list(pred.get("reasons", [])),
                "message": o.get("message", ""),
                "mode": o.get("mode"),
            }
            if actual == "runtime":
                e["runtime"] += 1
                e["runtime_failures"].append(miss)
                continue
            e["total"] += 1
            e["confusion"][verdict][actual] += 1
            if verdict == "unknown":
                e["unknown"] += 1
                continue
            if (verdict == "works") == (actual == "ok"):
                e["correct"] += 1
                continue
            e["false_works" if verdict == "works" else "false_breaks"] += 1
            e["misses"].append(miss)
    for e in result.values():
        if e["total"]:
            e["accuracy"] = round(e["correct"] / e["total"], 4)
        decided = e["total"] - e["unknown"]
        if decided:
            e["decided_accuracy"] = round(e["correct"] / decided, 4)
    return result
