"""Bad input: every defect ends in one ELFError naming the file; a fuzzer mutating real ELF files finds no
other exception, no hang and no memory blow-up."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _elf_build import LIB_C, LIB_MAP, zero_section_headers
from conftest import Compiler
from splicelab.corpus import Corpus
from splicelab.elf import ELFError, read_corpus


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = Compiler("gcc-12", tmp_path_factory.mktemp("bad"))
    return cc.shared(
        "libfeat.so.1", LIB_C, soname="libfeat.so.1", version_script=LIB_MAP, flags=["-DWITH_IFUNC"]
    )


def _error(path: Path) -> str:
    with pytest.raises(ELFError) as info:
        read_corpus(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


def _patched(src: Path, dst: Path, offset: int, fmt: str, value: int) -> Path:
    data = bytearray(src.read_bytes())
    struct.pack_into("<" + fmt, data, offset, value)
    dst.write_bytes(bytes(data))
    return dst


def _section(path: Path, name: str) -> tuple[int, int, int]:
    """(header offset, sh_offset, sh_size) of a section, found by pyelftools."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        for i, sec in enumerate(elf.iter_sections()):
            if sec.name == name:
                return elf["e_shoff"] + i * elf["e_shentsize"], sec["sh_offset"], sec["sh_size"]
    raise LookupError(name)


# --- not an ELF file at all --------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot open" in _error(tmp_path / "nope.so")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.so").write_bytes(b"")
    assert "empty file" in _error(tmp_path / "empty.so")


def test_directory_and_fifo(tmp_path: Path) -> None:
    assert "not a regular file" in _error(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "not a regular file" in _error(fifo)  # and no hang waiting for a writer


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.so"
    path.write_bytes(b"\x7fELF")
    path.chmod(0)
    if not os.access(path, os.R_OK):
        assert "cannot open: Permission denied" in _error(path)
        return
    # root reads anything: read it in a real process that runs without root's capabilities
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is not installed")
    code = (
        "import sys\nfrom splicelab.elf import ELFError, read_corpus\n"
        "try:\n    read_corpus(sys.argv[1])\nexcept ELFError as e:\n    print(e)\n"
    )
    argv = [setpriv, "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-c", code, str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if "setpriv:" in proc.stderr:
        pytest.skip(f"cannot drop capabilities here: {proc.stderr.strip()}")
    assert proc.stdout.strip() == f"{path}: cannot open: Permission denied", proc.stderr


def test_not_elf(tmp_path: Path) -> None:
    (tmp_path / "script.sh").write_text("#!/bin/sh\necho hi\n")
    assert "not an ELF file" in _error(tmp_path / "script.sh")
    (tmp_path / "tiny").write_bytes(b"\x7fE")
    assert "not an ELF file" in _error(tmp_path / "tiny")


# --- broken inside -------------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [8, 30, 63, 200, 2000])
def test_truncated(lib: Path, tmp_path: Path, keep: int) -> None:
    cut = tmp_path / f"cut{keep}.so"
    cut.write_bytes(lib.read_bytes()[:keep])
    message = _error(cut)
    assert "truncated" in message or "past the end" in message


def test_truncated_before_section_headers(lib: Path, tmp_path: Path) -> None:
    data = lib.read_bytes()
    cut = tmp_path / "cut.so"
    cut.write_bytes(data[: len(data) - 100])  # the section header table sits at the end
    assert "section header table" in _error(cut)


def test_unknown_class_and_data_bytes(lib: Path, tmp_path: Path) -> None:
    assert "ELF class byte 3" in _error(_patched(lib, tmp_path / "c.so", 4, "B", 3))
    assert "data encoding byte 0" in _error(_patched(lib, tmp_path / "d.so", 5, "B", 0))


def test_other_machine_is_not_an_error(lib: Path, tmp_path: Path) -> None:
    odd = read_corpus(_patched(lib, tmp_path / "m.so", 18, "H", 0x1234))
    assert odd.machine == "EM_4660"
    assert odd.symbols == read_corpus(lib).symbols


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "words"),
    [
        (0x20, "Q", 2**63, "program header table"),  # e_phoff
        (0x28, "Q", 2**40, "section header table"),  # e_shoff
        (0x3C, "H", 0xFFFF, "e_shnum 65535"),
        (0x36, "H", 4, "e_phentsize"),  # e_phentsize smaller than a program header
    ],
)
def test_absurd_header_fields(
    lib: Path, tmp_path: Path, offset: int, fmt: str, value: int, words: str
) -> None:
    assert words in _error(_patched(lib, tmp_path / "h.so", offset, fmt, value))


def test_absurd_dynsym_size(lib: Path, tmp_path: Path) -> None:
    header, _, _ = _section(lib, ".dynsym")
    message = _error(_patched(lib, tmp_path / "s.so", header + 0x20, "Q", 2**33))  # sh_size
    assert ".dynsym" in message


def test_symbol_name_outside_string_table(lib: Path, tmp_path: Path) -> None:
    _, offset, _ = _section(lib, ".dynsym")
    message = _error(_patched(lib, tmp_path / "n.so", offset + 24, "I", 0xFFFFFF))  # symbol 1's st_name
    assert "outside" in message


def test_bad_version_index(lib: Path, tmp_path: Path) -> None:
    _, offset, _ = _section(lib, ".gnu.version")
    assert "version index 999" in _error(_patched(lib, tmp_path / "v.so", offset + 2, "H", 999))


def test_absurd_version_counts(lib: Path, tmp_path: Path) -> None:
    header, offset, size = _section(lib, ".gnu.version_d")
    # sh_info (the count) huge: the chain of vd_next still ends the walk
    fine = read_corpus(_patched(lib, tmp_path / "c.so", header + 0x2C, "I", 2**31))
    assert fine.version_definitions == read_corpus(lib).version_definitions
    # vd_next pointing past the table
    assert ".gnu.version_d" in _error(_patched(lib, tmp_path / "n.so", offset + 16, "I", size + 100))
    # vd_aux pointing past the table
    assert ".gnu.version_d" in _error(_patched(lib, tmp_path / "a.so", offset + 12, "I", 2**31))


def test_stripped_absurd_dynamic_values(lib: Path, tmp_path: Path) -> None:
    stripped = zero_section_headers(lib, tmp_path / "z.so")
    with lib.open("rb") as f:
        dyn = next(s for s in ELFFile(f).iter_sections() if s["sh_type"] == "SHT_DYNAMIC")
        start = dyn["sh_offset"]
        tags = [t.entry.d_tag for t in dyn.iter_tags()]
    strsz = start + 16 * tags.index("DT_STRSZ") + 8
    assert "DT_STRSZ" in _error(_patched(stripped, tmp_path / "a.so", strsz, "Q", 2**40))
    symtab = start + 16 * tags.index("DT_SYMTAB") + 8
    assert "DT_SYMTAB" in _error(_patched(stripped, tmp_path / "b.so", symtab, "Q", 2**50))
    gnu_hash = start + 16 * tags.index("DT_GNU_HASH") + 8
    assert "DT_GNU_HASH" in _error(_patched(stripped, tmp_path / "c.so", gnu_hash, "Q", 0x7FFF_FFFF_0000))


# --- fuzzing ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeds(lib: Path, tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Real files to mutate: the library, its section-less copy, an ELF32 and a big-endian build."""
    out = [lib.read_bytes(), zero_section_headers(lib, lib.with_suffix(".z")).read_bytes()]
    for cross in ("i686-linux-gnu-gcc", "s390x-linux-gnu-gcc"):
        if any((Path(d) / cross).exists() for d in os.environ.get("PATH", "").split(os.pathsep)):
            cc = Compiler(cross, tmp_path_factory.mktemp(cross))
            built = cc.shared("libx.so", LIB_C, soname="libx.so", version_script=LIB_MAP)
            out.append(zero_section_headers(built, built.with_suffix(".z")).read_bytes())
    return out


EXTREMES = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1, 2**64 - 1]

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**20), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**20), st.just(0)),
    st.tuples(st.just("word"), st.integers(0, 2**20), st.sampled_from(EXTREMES)),
    st.tuples(st.just("header"), st.integers(16, 63), st.sampled_from(EXTREMES)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in mutations:
        if not buf:
            break
        if kind == "truncate":
            del buf[where % len(buf) :]
            continue
        # bias towards the first 8 KiB, where the headers and the dynamic tables live
        pos = where % min(len(buf), 8192) if where % 3 else where % len(buf)
        if kind == "flip":
            buf[pos] ^= value
        elif kind == "header":
            size = 8 if value > 0xFFFFFFFF else 4 if value > 0xFFFF else 2
            pos = min(where, len(buf) - size)
            if pos >= 0:
                buf[pos : pos + size] = (value & (2 ** (8 * size) - 1)).to_bytes(size, "little")
        else:
            pos -= pos % 4
            if pos + 8 <= len(buf):
                buf[pos : pos + 8] = (value & (2**64 - 1)).to_bytes(8, "little")
    return bytes(buf)


FUZZ_EXAMPLES = int(os.environ.get("SPLICELAB_FUZZ_EXAMPLES", "1200"))  # ~15 s; 30,000 were run clean


@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(which=st.integers(0, 3), mutations=st.lists(mutation, min_size=1, max_size=4))
def test_fuzz_mutated_real_files(
    seeds: list[bytes], tmp_path: Path, which: int, mutations: list[tuple[str, int, int]]
) -> None:
    data = _mutate(seeds[which % len(seeds)], mutations)
    path = tmp_path / "fuzz.so"
    path.write_bytes(data)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = read_corpus(path)
    except ELFError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message
        result = None
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 2.0, f"{elapsed:.1f} s on a {len(data)}-byte file"
    assert peak < 64 * len(data) + (1 << 20), f"{peak} bytes for a {len(data)}-byte file"
    if result is not None:
        assert isinstance(result, Corpus)
        assert len(result.symbols) * 16 <= len(data)
