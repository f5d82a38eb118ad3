"""Adapter for apt-get and dpkg: a *private* apt state per Debian release, downloads, unpacking.

Nothing here touches the system's apt configuration: every apt-get call points the sources list, the
lists, the archive cache and the dpkg status at files under the caller's state directory, so fetching
bullseye or sid packages never changes what this machine installs. Packages are unpacked with
``dpkg -x`` (no maintainer scripts, no dpkg database).

The archive's mirror defaults to the one this machine's own apt sources use (see :func:`system_mirrors`).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
_FALLBACK_MIRROR = "http://deb.debian.org/debian"
_LIST_AGE = 24 * 3600  # apt lists are refreshed at most daily


class AptError(RuntimeError):
    """An apt-get or dpkg call failed; the message carries the command and its stderr."""


@dataclass(frozen=True, slots=True)
class AptSource:
    """One deb822 stanza: an archive URI, its suites and components."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...] = ("main",)
    signed_by: Path = DEFAULT_KEYRING

    def deb822(self) -> str:
        return (
            "Types: deb\n"
            f"URIs: {self.uri}\n"
            f"Suites: {' '.join(self.suites)}\n"
            f"Components: {' '.join(self.components)}\n"
            f"Signed-By: {self.signed_by}\n"
        )


def system_mirrors(etc: Path = Path("/etc/apt")) -> tuple[str, str | None]:
    """The Debian archive URI (and the security archive's, if any) this machine's apt sources use."""
    uris: list[str] = []
    files = sorted((etc / "sources.list.d").glob("*.sources")) if (etc / "sources.list.d").is_dir() else []
    for path in [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list")), *files]:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":
            uris += [u for m in re.finditer(r"(?mi)^URIs:\s*(.+)$", text) for u in m.group(1).split()]
        else:
            for line in text.splitlines():
                parts = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(parts) >= 2 and parts[0] == "deb":
                    uris.append(parts[1])
    main = next((u.rstrip("/") for u in uris if re.search(r"/debian/?$", u)), None)
    security = next((u.rstrip("/") for u in uris if re.search(r"/debian-security/?$", u)), None)
    return main or _FALLBACK_MIRROR, security


@dataclass
class PrivateApt:
    """apt-get with its own sources, lists, archives and (empty) dpkg status under ``state``."""

    state: Path
    sources: Sequence[AptSource]
    arch: str = "amd64"
    max_age: float = _LIST_AGE
    log: list[str] = field(default_factory=list)

    @property
    def lists(self) -> Path:
        return self.state / "lists"

    def _prepare(self) -> None:
        for sub in ("lists/partial", "archives/partial", "etc"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        status = self.state / "status"
        if not status.exists():
            status.write_text("")
        sources = self.state / "etc" / "splicelab.sources"
        text = "\n".join(s.deb822() for s in self.sources)
        if not sources.exists() or sources.read_text() != text:
            sources.write_text(text)
            (self.state / "updated").unlink(missing_ok=True)  # new sources: lists are stale

    def options(self) -> list[str]:
        s = self.state
        return [
            "-o", f"Dir::Etc::sourcelist={s / 'etc' / 'splicelab.sources'}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={s / 'lists'}",
            "-o", f"Dir::Cache::archives={s / 'archives'}",
            "-o", f"Dir::State::status={s / 'status'}",
            "-o", "Dir::Cache::pkgcache=",
            "-o", "Dir::Cache::srcpkgcache=",
            "-o", f"APT::Architecture={self.arch}",
            "-o", f"APT::Architectures={self.arch}",
            "-o", "Acquire::GzipIndexes=false",
            "-o", "Acquire::Languages=none",
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip

    def _run(self, args: Sequence[str], cwd: Path | None = None) -> str:
        cmd = ["apt-get", "-q", *self.options(), *args]
        env = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
        self.log.append(" ".join(["apt-get", *args]))
        if proc.returncode != 0:
            raise AptError(f"apt-get {' '.join(args[:3])}… failed ({proc.returncode}): {proc.stderr.strip()}")
        if re.search(r"^(W|E): .*(NO_PUBKEY|not signed|Failed to fetch)", proc.stderr, re.M):
            raise AptError(f"apt-get {args[0]}: {proc.stderr.strip()}")
        return proc.stdout

    def update(self, force: bool = False) -> bool:
        """Refresh the lists when older than ``max_age`` (or missing); True when apt-get ran."""
        self._prepare()
        stamp = self.state / "updated"
        fresh = stamp.exists() and time.time() - stamp.stat().st_mtime < self.max_age and self.index_files()
        if fresh and not force:
            return False
        self._run(["update"])
        stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return True

    def index_files(self) -> list[Path]:
        """The downloaded ``Packages`` indices (uncompressed), in sources order."""
        if not self.lists.is_dir():
            return []
        return sorted(p for p in self.lists.iterdir() if p.name.endswith("_Packages"))

    def download(self, packages: Iterable[tuple[str, str, str]], dest: Path) -> list[Path]:
        """Download ``(name, version, architecture)`` packages into ``dest``; files already there are kept.

        Returns the paths of every requested package file (named as apt-get names them).
        """
        dest.mkdir(parents=True, exist_ok=True)
        wanted = list(packages)
        missing = [(n, v, a) for n, v, a in wanted if not (dest / deb_name(n, v, a)).is_file()]
        for i in range(0, len(missing), 100):
            chunk = missing[i : i + 100]
            self._run(["download", *[f"{n}={v}" for n, v, _ in chunk]], cwd=dest)
        out = []
        for n, v, a in wanted:
            path = dest / deb_name(n, v, a)
            if not path.is_file():
                raise AptError(f"apt-get download did not produce {path}")
            out.append(path)
        return out


def deb_name(name: str, version: str, arch: str) -> str:
    """The file name apt-get gives a downloaded package (the epoch's colon URI-escaped)."""
    return f"{name}_{version.replace(':', '%3a')}_{arch}.deb"


def deb_extract(deb: Path, root: Path) -> None:
    """``dpkg -x DEB ROOT``: unpack the package's files (no scripts, no database)."""
    proc = subprocess.run(["dpkg", "-x", str(deb), str(root)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AptError(f"dpkg -x {deb}: {proc.stderr.strip()}")


@dataclass(frozen=True, slots=True)
class DebEntry:
    """One member of a package's data archive: relative path, kind and (for symlinks) target."""

    path: str
    kind: str  # "file" | "dir" | "symlink" | "hardlink" | "other"
    target: str | None = None


def deb_contents(deb: Path) -> list[DebEntry]:
    """The members of the package's data archive (``dpkg-deb --fsys-tarfile``), paths without ``./``."""
    proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True)
    if proc.returncode != 0:
        raise AptError(f"dpkg-deb --fsys-tarfile {deb}: {proc.stderr.decode(errors='replace').strip()}")
    out: list[DebEntry] = []
    with tarfile.open(fileobj=io.BytesIO(proc.stdout), mode="r:") as tar:
        for m in tar:
            path = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
            if not path or path == ".":
                continue
            if m.issym():
                out.append(DebEntry(path.rstrip("/"), "symlink", m.linkname))
            elif m.islnk():
                link = m.linkname[2:] if m.linkname.startswith("./") else m.linkname
                out.append(DebEntry(path, "hardlink", link))
            elif m.isdir():
                out.append(DebEntry(path.rstrip("/"), "dir"))
            elif m.isfile():
                out.append(DebEntry(path, "file"))
            else:
                out.append(DebEntry(path, "other"))
    return out
