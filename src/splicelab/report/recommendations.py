"""Render :class:`splicelab.recommend.Recommendations` as text, JSON or YAML, or write them to a directory.

- text: for people — per package the ``can_splice`` lines to paste into ``package.py`` with their evidence
  as comments, the refused pairs with their reasons, the site config, the spliced installs.
- json: a list of ``{"package", "target", "when", "line", "evidence"}``, one per ``can_splice`` line.
- yaml: the site ``concretizer.yaml`` block (``concretizer: splice: explicit: [...]``), evidence as
  comments, so it can be dropped into ``etc/spack/`` as is.

Debian families (:mod:`splicelab.recommend_debian`) get the same records in Debian terms: the text says
so above their lines and names the release (and real packages) behind each version.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from splicelab.recommend import (
    ExplicitSplice,
    PairDecision,
    Recommendation,
    Recommendations,
    short_hash,
    spec_version,
)

FORMATS = ("text", "json", "yaml")


def to_json_list(report: Recommendations) -> list[dict[str, Any]]:
    return [r.to_dict() for r in report.recommendations]


def render_json(report: Recommendations) -> str:
    return json.dumps(to_json_list(report), indent=2) + "\n"


def _short(build_id: str) -> str:
    """``pigz/2feyrsi``; a Debian build (``<version>+<release>``) by its release: ``pigz@2.6-1/bookworm``."""
    name, _, h = build_id.partition("/")
    version = name.partition("@")[2]
    if version and h.startswith(version + "+"):
        return f"{name}/{h[len(version) + 1 :]}"
    return f"{name}/{short_hash(h)}"


def _evidence_summary(r: Recommendation) -> list[str]:
    e = r.evidence
    n = e["checks"]
    dependents = ", ".join(_short(d) for d in e["dependents"])
    lines = [
        f"{len(e['pairs'])} build pair(s), {n} check(s) on {len(e['binaries'])} binaries of "
        f"{len(e['dependents'])} dependent(s): {dependents}",
    ]
    preds = ", ".join(f"{k} {v['works']}/{n} works" for k, v in e["predictors"].items())
    lines.append(f"predictors: {preds or 'none'}; validated: {e['validated_checks']}/{n}")
    comp = e["compilers"]
    if comp["seen"] == ["?"] and comp["covered"] == ["?"]:
        pass  # not compiled by a known compiler (a distribution's package): nothing to say
    elif comp["partial"]:
        lines.append(
            f"compilers: evidence covers {r.package} built with {', '.join(comp['covered'])} only "
            f"(also built with: {', '.join(c for c in comp['seen'] if c not in comp['covered'])})"
        )
    else:
        lines.append(f"compilers: {r.package} built with {', '.join(comp['covered'])}")
    debian = e.get("debian")
    if debian:
        lines += [
            f"@{spec_version(info['version'])} is {rel}'s: {', '.join(info['packages'])}"
            for rel, info in debian["releases"].items()
        ]
    shown = e["disagreements"][:3]
    lines.extend(f"disagreement: {d}" for d in shown)
    if len(e["disagreements"]) > len(shown):
        lines.append(f"... {len(e['disagreements']) - len(shown)} more disagreement(s) in the JSON evidence")
    return lines


def _refusal_lines(d: PairDecision, limit: int = 5) -> list[str]:
    out = [f"{d.original.short_id} -> {d.replacement.short_id}:"]
    out += [f"    {why}" for why in d.refusals[:limit]]
    if len(d.refusals) > limit:
        out.append(f"    ... and {len(d.refusals) - limit} more")
    return out


def _explicit_comment(s: ExplicitSplice) -> str:
    how = "validated" if s.validated else "predicted"
    deps = ", ".join(_short(d) for d in s.dependents)
    return f"{s.target.short_id}: {how} for {len(s.dependents)} dependent(s): {deps}"


def render_yaml(report: Recommendations) -> str:
    """The site config block, with evidence as YAML comments (parses with any YAML loader)."""
    out = [
        "# splicelab recommend: explicit splices for concrete installs (concretizer.yaml, Spack >= 0.23)",
        "# each target build is replaced by a build that every dependent binary seen works with"
        + (
            " (real outcomes, all ok)"
            if report.validated_only
            else " (loader predictor; no type-level break)"
        ),
    ]
    for s in report.spliced:
        if s.status != "ok":
            out.append(
                f"# WARNING: spliced install {s.node.short_id} is {s.status}: {'; '.join(s.reasons[:3])}"
            )
    if not report.explicit:
        out += ["concretizer:", "  splice:", "    explicit: []"]
        return "\n".join(out) + "\n"
    out += ["concretizer:", "  splice:", "    explicit:"]
    for s in report.explicit:
        c = s.to_config()
        out.append(f"    # {_explicit_comment(s)}")
        out.append(f"    - target: {json.dumps(c['target'])}")
        out.append(f"      replacement: {json.dumps(c['replacement'])}")
        out.append(f"      transitive: {'true' if c['transitive'] else 'false'}")
    return "\n".join(out) + "\n"


def render_text(report: Recommendations) -> str:
    out: list[str] = []
    mode = (
        "validated: every splice run, all ok"
        if report.validated_only
        else "loader works, no type-level break"
    )
    by_package: dict[str, list[Recommendation]] = defaultdict(list)
    for r in report.recommendations:
        by_package[r.package].append(r)
    refused_by: dict[str, list[PairDecision]] = defaultdict(list)
    for d in report.refused:
        refused_by[d.replacement.package].append(d)

    for package in sorted(set(by_package) | set(refused_by)):
        family = report.families.get(package)
        if family is None:
            out.append(f"== {package}: can_splice directives for {package}'s package.py ({mode})")
        else:
            out += _family_header(family, mode)
        for r in by_package.get(package, []):
            out.append(r.line)
            out += [f"    # {line}" for line in _evidence_summary(r)]
        if not by_package.get(package):
            out.append("# no splice into this package is supported by the evidence")
        refused = refused_by.get(package, [])
        if refused:
            out.append(f"-- refused pairs ({len(refused)}):")
            for d in refused:
                out += [f"  {line}" for line in _refusal_lines(d)]
        out.append("")

    if report.not_dependents:
        out.append(
            f"== left out: {len(report.not_dependents)} binaries that do not load what they would splice"
        )
        out += [f"  {line}" for line in report.not_dependents]
        out.append("")
    if not report.families or report.explicit:  # a Debian family has no place in a Spack config
        out.append("== site config: etc/spack/concretizer.yaml")
        out.append(render_yaml(report).rstrip("\n"))
        out.append("")
    if report.spliced:
        out.append("== spliced installs, checked as installed")
        for s in report.spliced:
            out.append(f"{s.node.short_id} (built as {short_hash(s.build_spec or '?')}): {s.status.upper()}")
            out += [f"    {why}" for why in s.reasons]
            out += [f"    not judged: {why}" for why in s.unknown]
        out.append("")
    if report.errors:
        out.append(f"== {len(report.errors)} input record(s) skipped")
        out += [f"  {e}" for e in report.errors]
    return "\n".join(out).rstrip("\n") + "\n"


def _family_header(family: dict[str, Any], mode: str) -> list[str]:
    releases = family["releases"]
    packages = sorted({p.split(" ")[0] for info in releases.values() for p in info["packages"]})
    return [
        f"== {family['source']}: Debian family ({', '.join(packages)}); evidence: mode {family['mode']} "
        f"({mode})",
        f"# can_splice records in {family['naming']}:",
        "#   " + ", ".join(f"{rel} = @{spec_version(info['version'])}" for rel, info in releases.items()),
    ]


def render(report: Recommendations, fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "yaml":
        return render_yaml(report)
    if fmt == "text":
        return render_text(report)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write_all(
    report: Recommendations, out_dir: Path, predictions: list[dict[str, Any]] | None = None
) -> list[Path]:
    """recommendations.json, concretizer.yaml, pairs.json (every build pair, accepted or refused),
    spliced.json and recommendations.txt under ``out_dir``; and ``predictions`` (those the
    recommendations were made from, when they were made here) as predictions.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "recommendations.json": render_json(report),
        "concretizer.yaml": render_yaml(report),
        "pairs.json": json.dumps([d.to_dict() for d in report.decisions], indent=2) + "\n",
        "spliced.json": json.dumps([s.to_dict() for s in report.spliced], indent=2) + "\n",
        "recommendations.txt": render_text(report),
    }
    if predictions is not None:
        files["predictions.json"] = json.dumps(predictions, indent=1) + "\n"
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written


class RecordsError(ValueError):
    """A predictions or outcomes file cannot be read; the message names the file (and line)."""


def load_records(path: Path) -> list[Any]:
    """The records of a JSON list file (predictions.json, outcomes.json) or a JSON-lines file
    (outcomes.jsonl). A directory means its ``predictions.json``."""
    if path.is_dir():
        path = path / "predictions.json"
    try:
        text = path.read_text()
    except OSError as exc:
        raise RecordsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordsError(f"{path}: not JSON: {exc}") from None
        return list(doc)
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RecordsError(f"{path}:{n}: not a JSON line: {exc}") from None
    return records
