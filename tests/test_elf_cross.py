"""ELF32 and big-endian files, built for real with Debian's cross compilers (i686, s390x, powerpc)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _elf_build import Built, build_features, strip_sections, zero_section_headers
from _elf_oracle import compare
from conftest import Compiler
from splicelab.elf import read_corpus

# cross compiler -> (class, byte order, machine, interpreter)
TARGETS = {
    "i686-linux-gnu-gcc": (32, "little", "EM_386", "/lib/ld-linux.so.2"),
    "s390x-linux-gnu-gcc": (64, "big", "EM_S390", "/lib/ld64.so.1"),
    "powerpc-linux-gnu-gcc": (32, "big", "EM_PPC", "/lib/ld.so.1"),
}
AVAILABLE = [c for c in TARGETS if shutil.which(c)]

pytestmark = pytest.mark.skipif(
    not AVAILABLE, reason="no cross compiler (gcc-i686-linux-gnu, gcc-s390x-linux-gnu, gcc-powerpc-linux-gnu)"
)


@pytest.fixture(scope="module", params=AVAILABLE or ["none"])
def cross(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_features(Compiler(request.param, tmp_path_factory.mktemp(request.param)))


def test_header(cross: Built) -> None:
    elf_class, order, machine, interp = TARGETS[cross.compiler]
    lib, exe = read_corpus(cross.lib), read_corpus(cross.exe)
    for c in (lib, exe):
        assert (c.elf_class, c.byte_order, c.machine) == (elf_class, order, machine)
    assert lib.interpreter is None and exe.interpreter == interp
    assert lib.soname == "libfeat.so.1" and lib.rpath == ("/opt/a", "/opt/b", "/opt/c")
    assert exe.runpath == ("$ORIGIN/lib", "/usr/local/lib")
    assert lib.bind_now


def test_symbols_and_versions(cross: Built) -> None:
    c = read_corpus(cross.lib)
    syms = {(s.name, s.version): s for s in c.symbols}
    assert syms[("foo", "V1")].default is False and syms[("foo", "V2")].default is True
    assert syms[("big_obj", "V1")].size == 100 * (8 if cross.compiler.startswith("s390x") else 4)
    assert syms[("small_obj", "V1")].size == 3
    assert syms[("tls_var", "V1")].type == "TLS"
    assert syms[("ifunc_f", "V1")].type == "GNU_IFUNC"
    assert syms[("abs_sym", "V1")].section == "ABS"
    assert syms[("weak_undef", None)].binding == "WEAK"
    from_libc = [s for s in c.symbols if s.library == "libc.so.6"]
    assert from_libc and all(s.section == "UND" and s.version.startswith("GLIBC_") for s in from_libc)
    parents = {v.name: v.parents for v in c.version_definitions}
    assert parents["V2"] == ("V1",) and parents["V3"] == ("V2",)


def test_pyelftools_agrees(cross: Built) -> None:
    assert compare(str(cross.lib)) is None
    assert compare(str(cross.exe)) is None


def test_without_section_headers(cross: Built, tmp_path: Path) -> None:
    for original in (cross.lib, cross.exe):
        full = read_corpus(original, "x")
        assert read_corpus(zero_section_headers(original, tmp_path / "z"), "x").symbols == full.symbols
        stripped = read_corpus(strip_sections(original, tmp_path / "s"), "x")
        assert (stripped.symbols, stripped.version_definitions, stripped.version_requirements) == (
            full.symbols,
            full.version_definitions,
            full.version_requirements,
        )


@pytest.mark.parametrize("style", ["sysv", "gnu"])
def test_hash_tables(cross: Built, tmp_path: Path, style: str) -> None:
    """DT_HASH (64-bit entries on s390x) and DT_GNU_HASH (32-bit bloom words on ELF32) counts."""
    b = build_features(Compiler(cross.compiler, tmp_path), hash_style=style)
    full = read_corpus(b.lib, "x")
    assert read_corpus(zero_section_headers(b.lib, tmp_path / "z.so"), "x") == full
