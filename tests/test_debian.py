"""Debian as a source: a private apt state per release, merged-/usr roots, artifacts.

Real packages from Debian's archive, cached under $SPLICELAB_CACHE (default ~/.cache/splicelab) so
re-runs download nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from splicelab.sources.debian import (
    DEFAULT_RELEASES,
    DebianSet,
    PackageIndex,
    compare_versions,
    fetch_debian,
    parse_relations,
    release_key,
)
from splicelab.tools.apt import system_mirrors

FAMILIES = ["curl", "libxml2", "zlib", "lz4", "libpng1.6"]


def debian_cache() -> Path:
    base = os.environ.get("SPLICELAB_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "splicelab") / "debian"


@pytest.fixture(scope="session")
def dset() -> DebianSet:
    out = fetch_debian(FAMILIES, DEFAULT_RELEASES, debian_cache())
    assert out.errors == []
    return out


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0~rc1", "1.0"),
        ("1.0", "1.0-1"),
        ("2.0", "1:0.9"),
        ("1.2.3-1", "1.2.3-1+deb12u1"),
        ("7.74.0-1.3+deb11u13", "7.88.1-10+deb12u15"),
        ("1:1.2.13.dfsg-1", "1:1.3.dfsg+really1.3.1-1"),
        ("2.9.14+dfsg-1.3~deb12u6", "2.12.7+dfsg+really2.9.14-2.1"),
        ("1.0a", "1.0b"),
        ("1.0", "1.0a"),
        ("1.09", "1.10"),
    ],
)
def test_debian_version_order(a: str, b: str) -> None:
    assert compare_versions(a, b) < 0
    assert compare_versions(b, a) > 0
    assert compare_versions(a, a) == 0


def test_relations_drop_versions_arches_and_multiarch() -> None:
    rels = parse_relations(
        "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, libfoo:any [amd64], bar <!nocheck>"
    )
    assert rels == [["libc6"], ["debconf", "debconf-2.0"], ["libfoo"], ["bar"]]


def test_release_order() -> None:
    assert sorted(["sid", "bookworm", "trixie", "bullseye"], key=release_key) == list(DEFAULT_RELEASES)


def test_mirror_comes_from_the_system_sources() -> None:
    main, _security = system_mirrors()
    assert main.startswith(("http://", "https://", "file:/"))
    assert main.rstrip("/").endswith("/debian")


@pytest.mark.network
def test_each_release_is_a_runtime_of_its_own(dset: DebianSet) -> None:
    assert set(dset.releases) == set(DEFAULT_RELEASES)
    for name, rel in dset.releases.items():
        root = rel.root
        assert root == debian_cache().resolve() / name / "root"
        for top in ("lib", "lib64", "bin", "sbin"):
            assert (root / top).is_symlink() and os.readlink(root / top) == f"usr/{top}", (name, top)
        loader = root / "lib64" / "ld-linux-x86-64.so.2"
        real = loader.resolve()
        assert real.is_file() and str(real).startswith(str(root.resolve())), (name, real)
        assert "libc6" in rel.packages
        # The program runs through its release's own loader, with its own libraries only.
        proc = subprocess.run(
            ["chroot", str(root), "/lib64/ld-linux-x86-64.so.2", "--inhibit-cache", "/usr/bin/pigz", "-V"],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0 and proc.stdout.startswith("pigz "), (name, proc.stderr)
        # No absolute symlink is left: the tree is valid seen from outside as well.
        for dirpath, dirnames, filenames in os.walk(root):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if os.path.islink(p):
                    assert not os.readlink(p).startswith("/"), p


@pytest.mark.network
def test_library_packages_are_found_whatever_their_names(dset: DebianSet) -> None:
    libs = {s: {r: f.libraries for r, f in per.items()} for s, per in dset.families.items()}
    assert "libcurl4" in libs["curl"]["bookworm"]
    assert "libcurl4t64" in libs["curl"]["trixie"]
    assert "libcurl4" not in libs["curl"]["trixie"]
    assert {"libxml2", "libxml2-16"} <= set(libs["libxml2"]["sid"])  # soname change; old soname kept
    assert libs["libxml2"]["bookworm"] == ["libxml2"]
    assert "libpng16-16t64" in libs["libpng1.6"]["sid"]
    assert "zlib1g" in libs["zlib"]["bullseye"]
    for per in dset.families.values():
        for fam in per.values():
            assert fam.programs, fam
            _prog, path = fam.programs[0]
            assert (dset.releases[fam.release].root / path).is_file()


@pytest.mark.network
def test_artifacts_carry_ids_files_and_dependencies(dset: DebianSet) -> None:
    a = dset.artifact("libcurl4", "bookworm")
    assert a is not None
    assert a.source == "debian" and a.release == "bookworm"
    assert a.build_id == f"{a.version}+bookworm"
    assert a.id == f"libcurl4@{a.version}/{a.version}+bookworm"
    sonames = {c.soname for _, c in a.libraries()}
    assert sonames == {"libcurl.so.4"}
    assert a.metadata["role"] == "library" and a.metadata["family"] == "curl"
    assert "usr/lib/x86_64-linux-gnu/libcurl.so.4" in a.metadata["aliases"]
    dep_names = {d.name for d in a.dependencies}
    assert {"libc6", "libssl3", "zlib1g"} <= dep_names
    assert all(d.build_id and d.build_id.endswith("+bookworm") for d in a.dependencies)
    prog = dset.artifact("curl", "bookworm")
    assert prog is not None and "usr/bin/curl" in dict(prog.executables())
    assert "libcurl.so.4" in prog.files["usr/bin/curl"].needed


@pytest.mark.network
def test_warm_refetch_reuses_the_cache(dset: DebianSet) -> None:
    cache = debian_cache().resolve()
    before = {p: p.stat().st_mtime_ns for p in cache.glob("*/debs/*.deb")}
    again = fetch_debian(FAMILIES, DEFAULT_RELEASES, cache)
    after = {p: p.stat().st_mtime_ns for p in cache.glob("*/debs/*.deb")}
    assert before == after
    assert [a.id for a in again.artifacts] == [a.id for a in dset.artifacts]


@pytest.mark.network
def test_closure_follows_depends_and_skips_script_helpers(dset: DebianSet) -> None:
    apt = debian_cache().resolve() / "bookworm" / "apt"
    files = sorted(p for p in (apt / "lists").iterdir() if p.name.endswith("_Packages"))
    index = PackageIndex.load(files, apt / "index.json")
    closure = index.closure(["curl"])
    assert {"curl", "libcurl4", "libc6", "libssl3", "zlib1g", "libgcc-s1"} <= set(closure)
    assert not {"debconf", "perl-base", "dpkg"} & set(closure)


def test_system_apt_configuration_is_untouched() -> None:
    text = ""
    for p in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if p.is_file():
            text += p.read_text() + "\n"
    suites = re.findall(r"(?m)^Suites:\s*(.+)$", text)
    suites += [ln.split()[2] for ln in text.splitlines() if ln.startswith("deb ") and len(ln.split()) > 2]
    names = {s.split("-")[0] for line in suites for s in line.split()}
    assert not names & {"bullseye", "trixie", "sid", "unstable"}
