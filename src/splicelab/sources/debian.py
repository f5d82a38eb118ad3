"""Debian releases as a source of artifacts: a complete runtime per release, one artifact per package.

For a Debian *source* package (``curl``, ``libxml2``, ``zlib``, ``lz4``, ``libpng1.6`` …) and a list of
releases, :func:`fetch_debian` finds in each release's own ``Packages`` index

- the source's shared-library binary packages, whatever they are called there (``libcurl4`` /
  ``libcurl4t64``; ``libxml2`` / ``libxml2-16``),
- the packages of programs that use them (given, built in for the corpus families, or found among the
  reverse dependencies),
- and the runtime closure of both (``Depends``/``Pre-Depends``, virtual packages and alternatives
  resolved to real packages) plus that release's ``libc6``,

downloads them with a private apt state (:mod:`splicelab.tools.apt`) and unpacks them with ``dpkg -x``
into ``<cache>/<release>/root``, laid out as a merged-/usr system (``lib``, ``lib64``, ``bin``, ``sbin``
are symlinks into ``usr``, as usrmerge makes them; absolute symlinks are made relative so the tree is
usable both from outside and as a chroot). Each release's root is a runtime of its own: its loader is
``<root>/lib64/ld-linux-x86-64.so.2``.

Artifacts: one per installed binary package, ``name`` = the binary package, ``version`` = its Debian
version, ``build_id`` = ``<version>+<release>``, ``root`` = the release's root, ``files`` = the package's
ELF files (paths relative to the root, after the /usr merge). ``metadata`` carries the source package,
the role (``library`` / ``program`` / ``runtime``), the family it was fetched for and the symlink aliases.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact, Dependency
from splicelab.corpus import Corpus
from splicelab.tools.apt import AptError, AptSource, PrivateApt, deb_contents, deb_extract, system_mirrors

# Oldest first. Unknown release names sort after the known ones (as if newer), except "sid" (always last).
RELEASE_ORDER = ("buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid")
DEFAULT_RELEASES = ("bullseye", "bookworm", "trixie", "sid")
LOADER = "lib64/ld-linux-x86-64.so.2"
MULTIARCH = "x86_64-linux-gnu"

# The programs the corpus README measured, per source package: (binary package, program path).
DEFAULT_PROGRAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "curl": (("curl", "usr/bin/curl"),),
    "libxml2": (("libxml2-utils", "usr/bin/xmllint"),),
    "zlib": (("pigz", "usr/bin/pigz"),),
    "lz4": (("lz4", "usr/bin/lz4"),),
    "libpng1.6": (("libpng-tools", "usr/bin/pngfix"),),
}

# Packages a runtime closure never needs: maintainer-script helpers and the like. They carry no library
# a program loads, and following their Depends would pull perl, debconf and init systems into every root.
_SKIP = frozenset(
    {
        "debconf", "debconf-2.0", "cdebconf", "perl-base", "perl", "dpkg", "install-info", "ucf",
        "lsb-base", "sysvinit-utils", "sensible-utils", "adduser", "init-system-helpers", "systemd",
        "systemd-sysv", "libpam-runtime", "passwd", "login", "mount", "tzdata", "ca-certificates",
        "openssl", "debianutils", "base-files", "base-passwd", "bash", "coreutils", "dash", "diffutils",
        "findutils", "grep", "gzip", "hostname", "ncurses-base", "ncurses-bin", "sed", "tar",
        "util-linux", "procps", "libc-bin", "usrmerge", "usr-is-merged", "dpkg-dev", "media-types",
        "mime-support", "krb5-config", "readline-common", "netbase", "shared-mime-info",
    }
)  # fmt: skip
_NOT_LIBRARY = re.compile(
    r"-(dev|doc|dbg|dbgsym|bin|utils|tools?|examples|data|common|tests?|udeb|source)$|^lib(32|x32|64)[a-z]"
)
_PLAN_VERSION = 2  # bump when the resolution rules change: cached plans are then recomputed
_USR_MERGED = ("bin", "sbin", "lib", "lib64", "lib32", "libx32")


class DebianError(RuntimeError):
    """A release or package could not be fetched; the message names the release, package and field."""


# --- Debian versions ---------------------------------------------------------------------------------


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's comparison of an upstream version or revision: alternating non-digit and digit runs."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_versions(a: str, b: str) -> int:
    """Negative, zero or positive as Debian version ``a`` sorts before, equal to or after ``b``."""

    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.partition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return ea - eb
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def release_key(release: str) -> tuple[int, str]:
    """Sort key: oldest release first, ``sid`` last."""
    if release in RELEASE_ORDER:
        return (RELEASE_ORDER.index(release), release)
    return (RELEASE_ORDER.index("sid") - 1, release)


# --- the Packages index ------------------------------------------------------------------------------

_PACKAGE_FIELDS = ("name", "version", "source", "section", "depends", "pre_depends", "provides", "filename",
                   "essential", "installed_size", "architecture")  # fmt: skip
_FIELDS = ("Package", "Version", "Source", "Section", "Depends", "Pre-Depends", "Provides", "Filename",
           "Essential", "Installed-Size", "Architecture")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Package:
    """One binary package of the index (the newest version of that name across the release's suites)."""

    name: str
    version: str
    source: str
    section: str = ""
    depends: str = ""
    pre_depends: str = ""
    provides: str = ""
    filename: str = ""
    essential: bool = False
    installed_size: int = 0
    architecture: str = "all"

    def relations(self) -> list[list[str]]:
        """Pre-Depends then Depends as AND-clauses of alternative package names."""
        return parse_relations(self.pre_depends) + parse_relations(self.depends)


_QUALIFIERS = re.compile(r"\([^)]*\)|\[[^]]*\]|<[^>]*>")


def parse_relations(text: str) -> list[list[str]]:
    """``"a (>= 1) | b:any, c [amd64]"`` → ``[["a", "b"], ["c"]]`` (versions and qualifiers dropped)."""
    if not text:
        return []
    clauses: list[list[str]] = []
    for clause in _QUALIFIERS.sub("", text).split(","):
        alts = [a.strip().split(":", 1)[0] for a in clause.split("|")]
        alts = [a for a in alts if a]
        if alts:
            clauses.append(alts)
    return clauses


def _parse_packages(path: Path, arch: str) -> Iterator[dict[str, str]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for stanza in text.split("\n\n"):
        if not stanza.strip():
            continue
        fields: dict[str, str] = {}
        key = None
        for line in stanza.split("\n"):
            if line[:1] in (" ", "\t"):
                if key is not None and key in fields:
                    fields[key] += " " + line.strip()
                continue
            k, sep, v = line.partition(":")
            if not sep:
                continue
            key = k
            if k in _FIELDS:
                fields[k] = v.strip()
        if "Package" not in fields or "Version" not in fields:
            continue
        if fields.get("Architecture", arch) not in (arch, "all"):
            continue
        yield fields


class PackageIndex:
    """Every binary package of a release (its suites merged, newest version wins), with providers."""

    def __init__(self, packages: Iterable[Package]) -> None:
        self.packages: dict[str, Package] = {}
        for p in packages:
            old = self.packages.get(p.name)
            if old is None or compare_versions(p.version, old.version) > 0:
                self.packages[p.name] = p
        self.providers: dict[str, list[str]] = {}
        self.by_source: dict[str, list[str]] = {}
        for p in self.packages.values():
            if p.provides:
                for clause in parse_relations(p.provides):
                    self.providers.setdefault(clause[0], []).append(p.name)
            self.by_source.setdefault(p.source, []).append(p.name)
        self._reverse: dict[str, list[str]] | None = None

    @property
    def reverse(self) -> dict[str, list[str]]:
        """Package name → the packages that depend on it (built on first use)."""
        if self._reverse is None:
            self._reverse = {}
            for p in self.packages.values():
                for clause in p.relations():
                    for alt in clause:
                        self._reverse.setdefault(alt, []).append(p.name)
        return self._reverse

    @staticmethod
    def key(index_files: Sequence[Path]) -> str:
        """Identifies the index files' current content (by path, size and mtime)."""
        return hashlib.sha256(
            json.dumps([[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in index_files]).encode()
        ).hexdigest()[:16]

    @classmethod
    def load(cls, index_files: Sequence[Path], cache: Path, arch: str = "amd64") -> PackageIndex:
        """Parse the index files (a compact JSON copy next to them is reused while they are unchanged)."""
        key = cls.key(index_files)
        if cache.is_file():
            try:
                data = json.loads(cache.read_text())
                if data.get("key") == key:
                    return cls(Package(**d) for d in data["packages"])
            except (OSError, ValueError, TypeError):
                pass
        packages: list[Package] = []
        for path in index_files:
            for f in _parse_packages(path, arch):
                source = f.get("Source", f["Package"]).split(" ", 1)[0]
                packages.append(
                    Package(
                        name=f["Package"],
                        version=f["Version"],
                        source=source,
                        section=f.get("Section", ""),
                        depends=f.get("Depends", ""),
                        pre_depends=f.get("Pre-Depends", ""),
                        provides=f.get("Provides", ""),
                        filename=f.get("Filename", ""),
                        essential=f.get("Essential", "no") == "yes",
                        installed_size=int(f.get("Installed-Size", "0") or 0),
                        architecture=f.get("Architecture", arch),
                    )
                )
        index = cls(packages)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "key": key,
                    "packages": [
                        {k: getattr(p, k) for k in _PACKAGE_FIELDS} for p in index.packages.values()
                    ],
                }
            )
        )
        tmp.replace(cache)
        return index

    def get(self, name: str) -> Package | None:
        return self.packages.get(name)

    def real(self, name: str, prefer: Iterable[str] = ()) -> Package | None:
        """The package ``name`` itself, or a provider of the virtual ``name`` (preferring ``prefer``)."""
        if name in self.packages:
            return self.packages[name]
        providers = sorted(self.providers.get(name, ()))
        preferred = set(prefer)
        for p in providers:
            if p in preferred:
                return self.packages[p]
        return self.packages[providers[0]] if providers else None

    def closure(self, roots: Iterable[str]) -> dict[str, Package]:
        """The runtime closure of ``roots``: Pre-Depends/Depends followed recursively.

        Alternatives: the first one already selected, else the first real package, else a provider.
        Maintainer-script helpers and Essential packages (other than the roots) are not followed.
        """
        selected: dict[str, Package] = {}
        provided: set[str] = set()
        roots = list(roots)
        queue = list(roots)
        while queue:
            name = queue.pop(0)
            if name in selected or name in provided:
                continue
            pkg = self.real(name, prefer=selected)
            if pkg is None or pkg.name in selected:
                continue
            if name not in roots and (name in _SKIP or pkg.name in _SKIP or pkg.essential):
                continue
            selected[pkg.name] = pkg
            provided.update(c[0] for c in parse_relations(pkg.provides))
            for clause in pkg.relations():
                if any(a in selected or a in provided for a in clause):
                    continue
                if any(a in _SKIP for a in clause):
                    continue
                choice = next((a for a in clause if a in self.packages), None)
                if choice is None:
                    choice = next((a for a in clause if self.providers.get(a)), None)
                if choice is not None:
                    queue.append(choice)
        return selected

    def library_packages(self, source: str) -> list[str]:
        """The source's shared-library binary packages (by section and name)."""
        out = []
        for name in sorted(self.by_source.get(source, ())):
            p = self.packages[name]
            if _NOT_LIBRARY.search(name) or "debian-installer" in p.section:
                continue
            if p.section.endswith("libs") or (
                name.startswith("lib") and not p.section.endswith(("devel", "doc"))
            ):
                out.append(name)
        return out

    def programs_using(self, libraries: Sequence[str], source: str) -> list[str]:
        """Reverse dependencies of ``libraries`` that are programs: the source's own first, then others."""
        users: set[str] = set()
        for lib in libraries:
            users.update(self.reverse.get(lib, ()))
        candidates = [
            n
            for n in users
            if n not in libraries
            and not _NOT_LIBRARY.search(n.replace("-utils", "").replace("-tools", ""))
            and not self.packages[n].section.endswith(("libs", "libdevel", "doc"))
            and "-dev" not in n
        ]
        own = sorted(n for n in candidates if self.packages[n].source == source)
        if own:
            return own[:1]
        return sorted(candidates, key=lambda n: (self.packages[n].installed_size, n))[:1]


# --- fetching ----------------------------------------------------------------------------------------


@dataclass
class Family:
    """What was fetched for one source package in one release."""

    source: str
    release: str
    libraries: list[str] = field(default_factory=list)  # binary packages
    programs: list[tuple[str, str]] = field(default_factory=list)  # (binary package, program path)


@dataclass
class DebianRelease:
    """One release's runtime: a root with every fetched package unpacked, and what each package holds."""

    name: str
    root: Path
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {version, source, files…}

    @property
    def loader(self) -> Path:
        return self.root / LOADER

    def library_dirs(self) -> list[str]:
        """The loader's default directories for this root (relative to it), multiarch first."""
        return [f"usr/lib/{MULTIARCH}", "usr/lib"]


@dataclass
class DebianSet:
    """What :func:`fetch_debian` produced: per release a root, per source package its families."""

    cache: Path
    releases: dict[str, DebianRelease] = field(default_factory=dict)
    families: dict[str, dict[str, Family]] = field(default_factory=dict)  # source -> release -> family
    artifacts: list[Artifact] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def artifact(self, package: str, release: str) -> Artifact | None:
        for a in self.artifacts:
            if a.name == package and a.release == release:
                return a
        return None

    def newest_release(self) -> str:
        return max(self.releases, key=release_key)


def default_cache() -> Path:
    """``$SPLICELAB_CACHE`` or ``~/.cache/splicelab`` (Debian's part lives in ``debian/`` below it)."""
    env = os.environ.get("SPLICELAB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "splicelab"


def apt_sources(release: str, mirror: str | None = None, security: bool = False) -> list[AptSource]:
    """The release's suite on the mirror (default: the one this machine's apt uses).

    ``security``: also ``<release>-updates`` and ``<release>-security`` (newer versions than the point
    release; the corpus manifest was taken without them).
    """
    system_main, system_security = system_mirrors()
    main = (mirror or os.environ.get("SPLICELAB_DEBIAN_MIRROR") or system_main).rstrip("/")
    if not security or release in ("sid", "unstable", "experimental"):
        return [AptSource(main, (release,))]
    sec = system_security or main.rsplit("/", 1)[0] + "/debian-security"
    return [AptSource(main, (release, f"{release}-updates")), AptSource(sec, (f"{release}-security",))]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _merged(path: str) -> str:
    head = path.split("/", 1)[0]
    return f"usr/{path}" if head in _USR_MERGED else path


def _merge_usr(root: Path) -> None:
    """Move ``/lib``, ``/bin``… into ``/usr`` and leave symlinks (usrmerge's layout); idempotent."""
    for top in _USR_MERGED:
        src = root / top
        dst = root / "usr" / top
        if src.is_symlink():
            continue
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            _move_tree(src, dst)
            shutil.rmtree(src)
        if top in ("bin", "sbin", "lib", "lib64") or dst.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
            src.symlink_to(f"usr/{top}")


def _move_tree(src: Path, dst: Path) -> None:
    for entry in os.scandir(src):
        target = dst / entry.name
        if entry.is_dir(follow_symlinks=False):
            if target.is_dir() and not target.is_symlink():
                _move_tree(Path(entry.path), target)
                continue
            if not os.path.lexists(target):
                os.replace(entry.path, target)
            continue
        if os.path.lexists(target):
            if target.is_dir() and not target.is_symlink():
                continue
            os.unlink(target)
        os.replace(entry.path, target)


def _relative_symlinks(root: Path) -> None:
    """Rewrite absolute symlinks inside ``root`` as relative ones (valid inside and outside a chroot)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                continue
            target = os.readlink(full)
            if target.startswith("/"):
                rel = os.path.relpath(os.path.join(root, target.lstrip("/")), dirpath)
                os.unlink(full)
                os.symlink(rel, full)


def _prepare_root(root: Path) -> None:
    """Mount points the sandbox binds onto, and the compat symlinks (created once)."""
    for d in ("usr/lib64", f"usr/lib/{MULTIARCH}", "usr/bin", "usr/sbin", "tmp", "dev", "proc", "etc"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for dev in ("null", "zero", "urandom", "random"):
        node = root / "dev" / dev
        if not node.exists():
            node.touch()
    _merge_usr(root)
    loader = root / LOADER
    if not os.path.lexists(loader):
        cand = root / "usr" / "lib" / MULTIARCH / "ld-linux-x86-64.so.2"
        if os.path.lexists(cand):
            loader.symlink_to(os.path.relpath(cand, loader.parent))


def _pick_programs(
    index: PackageIndex, source: str, libraries: list[str], programs: Sequence[tuple[str, str]] | None
) -> list[tuple[str, str]]:
    if programs:
        return [(p, path) for p, path in programs if index.get(p) is not None]
    defaults = DEFAULT_PROGRAMS.get(source)
    if defaults:
        return [(p, path) for p, path in defaults if index.get(p) is not None]
    return [(p, "") for p in index.programs_using(libraries, source)]


def _family(
    index: PackageIndex,
    source: str,
    release: str,
    programs: Sequence[tuple[str, str]] | None,
    known: Sequence[str] = (),
) -> Family:
    """The source's library packages in this release, and the programs that use them.

    Every shared-library package of the source counts (a splice replaces all of them: sid ships both
    libxml2-16 (``libxml2.so.16``) and, built from another source, libxml2 (``libxml2.so.2``); a
    program takes the soname it needs). ``known``: library package names the family has in other
    releases; those present here join it whatever source builds them now.
    """
    own = index.library_packages(source)
    libs = sorted(set(own) | {n for n in known if index.get(n) is not None and not _NOT_LIBRARY.search(n)})
    if not libs:
        raise DebianError(f"{release}: source package {source!r} has no shared-library binary package")
    return Family(source, release, libs, _pick_programs(index, source, own or libs, programs))


def fetch_release(
    release: str,
    families: Mapping[str, Sequence[tuple[str, str]] | None],
    cache: Path,
    *,
    mirror: str | None = None,
    security: bool = False,
    refresh: bool = False,
    progress: Any = None,
    known: Mapping[str, Sequence[str]] | None = None,
) -> tuple[DebianRelease, dict[str, Family], list[str]]:
    """Fetch and unpack one release for the given source packages (→ their programs, or None).

    The resolution (families and package closure) is kept in ``<cache>/<release>/plans/`` per request
    and index state, so a warm re-run neither parses the index nor downloads anything.
    """
    base = cache / release
    with _locked(base / ".lock"):
        apt = PrivateApt(base / "apt", apt_sources(release, mirror, security))
        apt.update(force=refresh)
        index_files = apt.index_files()
        if not index_files:
            raise DebianError(f"{release}: apt-get update produced no Packages index")
        known = {k: sorted(v) for k, v in (known or {}).items()}
        request = json.dumps([{k: families[k] for k in sorted(families)}, known], sort_keys=True)
        plan_key = hashlib.sha256(
            f"{_PLAN_VERSION}:{PackageIndex.key(index_files)}:{request}".encode()
        ).hexdigest()[:16]
        plan_path = base / "plans" / f"{plan_key}.json"
        installed = _read_manifest(base)
        try:
            plan = json.loads(plan_path.read_text())
            fams = {s: Family(s, release, f["libraries"], [tuple(p) for p in f["programs"]])  # type: ignore[misc]
                    for s, f in plan["families"].items()}  # fmt: skip
            wanted = {d["name"]: Package(**d) for d in plan["packages"]}
            errors = list(plan["errors"])
            if not set(installed) <= set(wanted):
                raise ValueError("root holds packages the plan does not know")
        except (OSError, ValueError, KeyError, TypeError):
            index = PackageIndex.load(index_files, base / "apt" / "index.json")
            fams, wanted, errors = _plan(index, release, families, installed, known)
            plan_path.parent.mkdir(parents=True, exist_ok=True)
            plan_path.write_text(
                json.dumps(
                    {
                        "families": {
                            s: {"libraries": f.libraries, "programs": f.programs} for s, f in fams.items()
                        },
                        "packages": [{k: getattr(p, k) for k in _PACKAGE_FIELDS} for p in wanted.values()],
                        "errors": errors,
                    }
                )
            )
        rel = _install(base, apt, wanted, installed, progress=progress)
        for name, info in rel.packages.items():
            p = wanted.get(name)
            info["depends"] = [c[0] for c in p.relations()] if p is not None else []
    return rel, fams, errors


def _plan(
    index: PackageIndex,
    release: str,
    families: Mapping[str, Sequence[tuple[str, str]] | None],
    installed: Mapping[str, Any],
    known: Mapping[str, Sequence[str]],
) -> tuple[dict[str, Family], dict[str, Package], list[str]]:
    errors: list[str] = []
    fams: dict[str, Family] = {}
    roots = ["libc6"]
    for source, programs in families.items():
        try:
            fam = _family(index, source, release, programs, known.get(source, ()))
        except DebianError as exc:
            errors.append(str(exc))
            continue
        for p, _ in programs or ():
            if index.get(p) is None:
                errors.append(f"{release}: program package {p!r} is not in the Packages index")
        fams[source] = fam
        roots += fam.libraries + [p for p, _ in fam.programs]
    wanted = dict(index.closure(roots))
    for name in roots:
        if name not in wanted and index.real(name) is None:
            errors.append(f"{release}: package {name!r} is not in the Packages index")
    for name in installed:  # what earlier fetches put into the root stays, at the index's version
        p = index.get(name)
        if p is not None:
            wanted.setdefault(name, p)
    return fams, wanted, errors


def _read_manifest(base: Path) -> dict[str, dict[str, Any]]:
    if not (base / "root").is_dir():
        return {}
    try:
        return dict(json.loads((base / "root.json").read_text())["packages"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _install(
    base: Path,
    apt: PrivateApt,
    wanted: Mapping[str, Package],
    installed: dict[str, dict[str, Any]],
    *,
    progress: Any = None,
) -> DebianRelease:
    root = base / "root"
    changed = [n for n, info in installed.items() if n in wanted and wanted[n].version != info["version"]]
    if changed:  # a package moved on: rebuild the root so no stale file of the old version stays
        shutil.rmtree(root, ignore_errors=True)
        installed = {}
    todo = [p for n, p in sorted(wanted.items()) if n not in installed]
    if todo:
        debs = apt.download(((p.name, p.version, p.architecture) for p in todo), base / "debs")
        root.mkdir(parents=True, exist_ok=True)
        for pkg, deb in zip(todo, debs, strict=True):
            deb_extract(deb, root)
            installed[pkg.name] = {"version": pkg.version, "source": pkg.source, "deb": deb.name,
                                   **_listing(deb)}  # fmt: skip
            if progress is not None:
                progress(pkg.name)
        _prepare_root(root)
        _relative_symlinks(root)
        manifest_path = base / "root.json"
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"packages": installed}, indent=1, sort_keys=True))
        tmp.replace(manifest_path)
    else:
        _prepare_root(root)
    return DebianRelease(base.name, root, installed)


def _listing(deb: Path) -> dict[str, Any]:
    """The package's regular files and symlinks, as paths of the merged root."""
    files: list[str] = []
    links: dict[str, str] = {}
    for e in deb_contents(deb):
        path = _merged(e.path)
        if e.kind in ("file", "hardlink"):
            files.append(path)
        elif e.kind == "symlink" and e.target is not None:
            target = e.target
            if target.startswith("/"):
                target = _merged(target.lstrip("/"))
            else:
                target = os.path.normpath(os.path.join(os.path.dirname(e.path), target))
                target = _merged(target)
            links[path] = target
    return {"files": sorted(files), "links": dict(sorted(links.items()))}


# --- artifacts ---------------------------------------------------------------------------------------


def _corpora(root: Path, files: Iterable[str], cache_file: Path) -> dict[str, Corpus]:
    try:
        data = json.loads(cache_file.read_text())
        return {p: Corpus.from_dict(c) for p, c in data.items()}
    except (OSError, ValueError):
        pass
    from splicelab.elf import ELFError, is_elf, read_corpus

    out: dict[str, Corpus] = {}
    for rel in files:
        full = root / rel
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or not is_elf(full):
            continue
        try:
            out[rel] = read_corpus(full, rel)
        except ELFError:
            continue
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({p: c.to_dict() for p, c in out.items()}))
    tmp.replace(cache_file)
    return out


def build_id(version: str, release: str) -> str:
    return f"{version}+{release}"


def release_artifacts(
    rel: DebianRelease, roles: Mapping[str, tuple[str, str]], with_files: bool = True
) -> list[Artifact]:
    """One artifact per installed package; ``roles`` maps package → (role, family source)."""
    out: list[Artifact] = []
    for name, info in sorted(rel.packages.items()):
        version = info["version"]
        files: dict[str, Corpus] = {}
        if with_files:
            safe = re.sub(r"[^A-Za-z0-9.+~-]", "_", f"{name}_{version}")
            files = _corpora(rel.root, info.get("files", ()), rel.root.parent / "corpora" / f"{safe}.json")
        aliases = {}
        for link, target in info.get("links", {}).items():
            seen = {link}
            while target in info.get("links", {}) and target not in seen:
                seen.add(target)
                target = info["links"][target]
            if target in files:
                aliases[link] = target
        role, family = roles.get(name, ("runtime", None))
        out.append(
            Artifact(
                name=name,
                version=version,
                build_id=build_id(version, rel.name),
                root=rel.root,
                source="debian",
                platform="linux-x86_64",
                release=rel.name,
                files=files,
                metadata={
                    "debian_source": info.get("source", name),
                    "role": role,
                    "family": family,
                    "aliases": aliases,
                    "loader": LOADER,
                },
            )
        )
    return out


def _link_dependencies(artifacts: list[Artifact], indexes: Mapping[str, Mapping[str, list[str]]]) -> None:
    by_key = {(a.release, a.name): a for a in artifacts}
    for a in artifacts:
        deps = []
        for dep in indexes.get(a.release or "", {}).get(a.name, ()):
            d = by_key.get((a.release, dep))
            if d is not None:
                deps.append(
                    Dependency(name=d.name, build_id=d.build_id, version=d.version, types=("link", "run"))
                )
        a.dependencies = tuple(deps)


def fetch_debian(
    source_packages: Sequence[str],
    releases: Sequence[str] = DEFAULT_RELEASES,
    cache: Path | None = None,
    programs: Sequence[tuple[str, str]] | None = None,
    *,
    mirror: str | None = None,
    security: bool = False,
    refresh: bool = False,
    with_files: bool = True,
    progress: Any = None,
) -> DebianSet:
    """Fetch ``source_packages`` (and their programs) for every release; see the module docstring.

    ``programs``: ``(binary package, path)`` pairs used for every source package instead of the
    built-in defaults or the reverse-dependency guess. ``cache``: the Debian cache directory
    (default ``<default_cache()>/debian``). Problems with one release or package are collected in
    ``errors``; the rest is still fetched.
    """
    cache = (cache or default_cache() / "debian").resolve()
    out = DebianSet(cache)
    wanted = {s: (list(programs) if programs else None) for s in source_packages}
    dep_index: dict[str, dict[str, list[str]]] = {}
    for release in sorted(releases, key=release_key):
        try:
            known = {
                s: sorted({n for f in out.families.get(s, {}).values() for n in f.libraries}) for s in wanted
            }
            rel, fams, errors = fetch_release(
                release,
                wanted,
                cache,
                mirror=mirror,
                security=security,
                refresh=refresh,
                progress=progress,
                known=known,
            )
        except (AptError, DebianError, OSError) as exc:
            out.errors.append(f"{release}: {exc}")
            continue
        out.errors += errors
        out.releases[release] = rel
        roles: dict[str, tuple[str, str]] = {}
        for source, fam in fams.items():
            out.families.setdefault(source, {})[release] = fam
            for lib in fam.libraries:
                roles[lib] = ("library", source)
            for prog, _ in fam.programs:
                roles.setdefault(prog, ("program", source))
        arts = release_artifacts(rel, roles, with_files=with_files)
        for fam in fams.values():  # programs without a given path: every ELF executable in their bin dirs
            for i, (prog, path) in enumerate(fam.programs):
                if path:
                    continue
                art = next((a for a in arts if a.name == prog), None)
                exes = [p for p, c in (art.executables() if art else []) if "/bin/" in f"/{p}"]
                if exes:
                    fam.programs[i] = (prog, exes[0])
        dep_index[release] = {n: info.get("depends", []) for n, info in rel.packages.items()}
        out.artifacts += arts
    _link_dependencies(out.artifacts, dep_index)
    return out


def write_artifacts(artifacts: Iterable[Artifact], path: Path, with_files: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps([a.to_dict(with_files=with_files) for a in artifacts]))
    tmp.replace(path)
