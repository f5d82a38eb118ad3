"""splicelab.elf on libraries and executables compiled here with gcc-12, gcc-11 and clang: field by field."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from _elf_build import Built, build_features, strip_sections, zero_section_headers
from _elf_oracle import compare
from conftest import COMPILERS, Compiler
from splicelab.corpus import Corpus, Symbol, read_symbolator, to_symbolator
from splicelab.elf import ELFError, is_elf, read_corpus


@pytest.fixture(scope="module", params=COMPILERS)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_features(Compiler(request.param, tmp_path_factory.mktemp(request.param)))


def by_name(corpus: Corpus, name: str, version: str | None = None) -> Symbol:
    found = [s for s in corpus.symbols if s.name == name and (version is None or s.version == version)]
    assert len(found) == 1, f"{name}@{version}: {found}"
    return found[0]


# --- header and dynamic section --------------------------------------------------------------------


def test_library_header(built: Built) -> None:
    c = read_corpus(built.lib)
    assert (c.elf_class, c.byte_order, c.machine, c.elf_type) == (64, "little", "EM_X86_64", "ET_DYN")
    assert c.osabi in ("ELFOSABI_SYSV", "ELFOSABI_GNU")  # GNU when the file has IFUNC/UNIQUE symbols
    assert c.interpreter is None
    assert c.size == built.lib.stat().st_size
    assert c.path == str(built.lib)
    assert c.is_library and not c.is_executable


def test_library_dynamic_section(built: Built) -> None:
    c = read_corpus(built.lib)
    assert c.soname == "libfeat.so.1"
    assert c.needed == ("libc.so.6",)
    assert c.rpath == ("/opt/a", "/opt/b", "/opt/c")  # --disable-new-dtags: DT_RPATH
    assert c.runpath == ()
    assert c.flags & 0x8  # -z now: DF_BIND_NOW ...
    assert c.flags_1 & 0x1  # ... and DF_1_NOW
    assert c.bind_now


def test_executable_header_and_dynamic(built: Built) -> None:
    c = read_corpus(built.exe)
    assert c.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert c.elf_type in ("ET_DYN", "ET_EXEC")
    assert c.is_executable
    assert c.soname is None
    assert c.needed[0] == str(built.lib) or c.needed[0].endswith("libfeat.so.1")
    assert "libc.so.6" in c.needed
    assert c.runpath == ("$ORIGIN/lib", "/usr/local/lib")  # --enable-new-dtags: DT_RUNPATH
    assert c.rpath == ()
    assert not c.bind_now


# --- versions ----------------------------------------------------------------------------------------


def test_version_definitions(built: Built) -> None:
    c = read_corpus(built.lib)
    defs = {v.name: v for v in c.version_definitions}
    assert c.version_definitions[0].name == "libfeat.so.1"
    assert defs["libfeat.so.1"].base and not defs["libfeat.so.1"].weak
    assert defs["V1"].parents == () and not defs["V1"].base
    assert defs["V2"].parents == ("V1",)
    assert defs["V3"].parents == ("V2",)
    assert defs["VEMPTY"].parents == ("V3",)
    assert c.defined_versions == {"V1", "V2", "V3", "VEMPTY"}


def test_version_requirements(built: Built) -> None:
    lib = read_corpus(built.lib)
    reqs = {r.file: r for r in lib.version_requirements}
    assert set(reqs) == {"libc.so.6"}
    assert "GLIBC_2.2.5" in reqs["libc.so.6"].versions
    assert reqs["libc.so.6"].weak == ()
    exe = read_corpus(built.exe)
    feat = next(r for r in exe.version_requirements if r.file.endswith("libfeat.so.1"))
    assert set(feat.versions) == {"V1", "V2"}


def test_hidden_and_default_versions(built: Built) -> None:
    c = read_corpus(built.lib)
    old, new = by_name(c, "foo", "V1"), by_name(c, "foo", "V2")
    assert (old.default, old.version_info) == (False, "@V1")  # .symver foo_old,foo@V1
    assert (new.default, new.version_info) == (True, "@@V2")  # .symver foo_new,foo@@V2
    assert old.library is None and new.library is None
    assert by_name(c, "v3_func").version == "V3"
    assert by_name(c, "base_func").version_info == "@@V1"


# --- symbols -----------------------------------------------------------------------------------------


def test_defined_symbols(built: Built) -> None:
    c = read_corpus(built.lib)
    f = by_name(c, "base_func")
    assert (f.type, f.binding, f.visibility, f.section) == ("FUNC", "GLOBAL", "DEFAULT", "DEFINED")
    assert f.size > 0
    assert by_name(c, "weak_def").binding == "WEAK"
    assert by_name(c, "protected_func").visibility == "PROTECTED"
    assert all(s.name != "hidden_func" for s in c.symbols)  # hidden: not exported at all
    assert all(s.name not in ("foo_old", "foo_new", "impl") for s in c.symbols)


def test_data_objects_tls_abs(built: Built) -> None:
    c = read_corpus(built.lib)
    sizes = {n: (by_name(c, n).type, by_name(c, n).size) for n in ("small_obj", "mid_obj", "big_obj")}
    assert sizes == {"small_obj": ("OBJECT", 3), "mid_obj": ("OBJECT", 2), "big_obj": ("OBJECT", 800)}
    tls = by_name(c, "tls_var")
    assert (tls.type, tls.size, tls.section) == ("TLS", 4, "DEFINED")
    absolute = by_name(c, "abs_sym")
    assert absolute.section == "ABS" and absolute.version == "V1"
    # Version nodes appear as ABS OBJECT symbols in GNU ld's output.
    assert by_name(c, "V2").section == "ABS"


def test_ifunc(built: Built) -> None:
    c = read_corpus(built.lib)
    f = by_name(c, "ifunc_f")
    assert (f.type, f.version, f.section) == ("GNU_IFUNC", "V1", "DEFINED")
    assert c.osabi == "ELFOSABI_GNU"  # ld marks objects with IFUNC symbols


def test_imports(built: Built) -> None:
    c = read_corpus(built.lib)
    strlen = by_name(c, "strlen")
    assert (strlen.section, strlen.version, strlen.library, strlen.default) == (
        "UND",
        "GLIBC_2.2.5",
        "libc.so.6",
        False,
    )
    assert strlen.version_info == "@GLIBC_2.2.5"
    weak = by_name(c, "weak_undef")
    assert (weak.section, weak.binding, weak.version, weak.library) == ("UND", "WEAK", None, None)
    assert {s.name for s in c.imports} >= {"strlen", "weak_undef"}
    assert "strlen" not in {s.name for s in c.exports}


def test_executable_imports_and_copy_relocation(built: Built) -> None:
    c = read_corpus(built.exe)
    v2 = by_name(c, "v2_func")
    assert (v2.section, v2.binding, v2.version) == ("UND", "WEAK", "V2")
    assert v2.library is not None and v2.library.endswith("libfeat.so.1")
    foo = by_name(c, "foo")
    assert (foo.section, foo.version) == ("UND", "V2")  # a new link binds the default version
    obj = by_name(c, "small_obj")
    assert (obj.type, obj.version, obj.default) == ("OBJECT", "V1", False)
    # gcc's PIE copies the object into the executable (defined here with its size, version still
    # required); clang's reaches it through the GOT (undefined, size 0)
    if built.compiler == "clang":
        assert (obj.section, obj.size) == ("UND", 0)
    else:
        assert (obj.section, obj.size) == ("DEFINED", 3)
    assert obj.library is not None and obj.library.endswith("libfeat.so.1")


def test_null_symbol_skipped_and_count(built: Built) -> None:
    c = read_corpus(built.lib)
    with built.lib.open("rb") as f:
        dynsym = ELFFile(f).get_section_by_name(".dynsym")
        assert len(c.symbols) == dynsym.num_symbols() - 1
    assert all(s.name for s in c.symbols)


def test_pyelftools_agrees(built: Built) -> None:
    assert compare(str(built.lib)) is None
    assert compare(str(built.exe)) is None


# --- the dynamic segment alone -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["objcopy", "sstrip"])
def test_without_section_headers(built: Built, tmp_path: Path, how: str) -> None:
    for original in (built.lib, built.exe):
        copy = tmp_path / f"{original.name}.{how}"
        if how == "objcopy":
            if not (shutil.which("llvm-objcopy-15") or shutil.which("llvm-objcopy")):
                pytest.skip("llvm-objcopy is not installed")
            strip_sections(original, copy)
        else:
            zero_section_headers(original, copy)
        with copy.open("rb") as f:
            assert ELFFile(f).num_sections() == 0
        full, stripped = read_corpus(original, "x"), read_corpus(copy, "x")
        assert stripped.symbols == full.symbols
        assert stripped.version_definitions == full.version_definitions
        assert stripped.version_requirements == full.version_requirements
        assert (stripped.soname, stripped.needed, stripped.rpath, stripped.runpath) == (
            full.soname,
            full.needed,
            full.rpath,
            full.runpath,
        )
        assert (stripped.flags, stripped.flags_1, stripped.interpreter) == (
            full.flags,
            full.flags_1,
            full.interpreter,
        )


@pytest.mark.parametrize("style", ["sysv", "gnu", "both"])
def test_symbol_count_from_hash_tables(gcc: Compiler, tmp_path: Path, style: str) -> None:
    """DT_HASH nchain, or the DT_GNU_HASH chain walk, gives the dynsym count without section headers."""
    b = build_features(gcc, hash_style=style)
    copy = zero_section_headers(b.lib, tmp_path / "stripped.so")
    full = read_corpus(b.lib)
    assert len(full.symbols) > 20
    assert read_corpus(copy, full.path) == full


def test_gnu_hash_with_undefined_only(gcc: Compiler, tmp_path: Path) -> None:
    """A GNU hash table with all buckets empty (nothing exported) counts no symbol (GNU ld writes
    symoffset 1): the count comes from the relocations that use the undefined symbols."""
    lib = gcc.shared(
        "libimp.so",
        "#include <string.h>\nstatic int f(const char *s) { return (int)strlen(s); }\n"
        "int (*keep)(const char *) = f;\n",
        flags=["-Wl,--hash-style=gnu", "-Wl,--exclude-libs,ALL", "-fvisibility=hidden"],
    )
    full = read_corpus(lib)
    assert {s.name for s in full.symbols} >= {"strlen", "__cxa_finalize"}
    assert all(s.section == "UND" for s in full.symbols)
    copy = zero_section_headers(lib, tmp_path / "s.so")
    assert read_corpus(copy, full.path) == full


# --- GNU_UNIQUE (C++) ------------------------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("g++-12") and not shutil.which("g++"), reason="no g++")
def test_gnu_unique_binding(tmp_path: Path) -> None:
    gxx = shutil.which("g++-12") or "g++"
    src = tmp_path / "u.cc"
    src.write_text(
        "template <typename T> struct Box { static inline int count = 0; };\n"
        "int touch() { return ++Box<int>::count; }\n"
    )
    out = tmp_path / "libu.so"
    subprocess.run([gxx, "-std=c++17", "-shared", "-fPIC", "-O1", "-o", str(out), str(src)], check=True)
    c = read_corpus(out)
    unique = [s for s in c.symbols if s.binding == "GNU_UNIQUE"]
    assert unique and unique[0].name.startswith("_ZN3BoxIiE5countE")
    assert c.osabi == "ELFOSABI_GNU"
    assert compare(str(out)) is None


# --- weak version flags (set in a copy: GNU ld 2.40 no longer emits them) -------------------------


def _set_weak_flags(src: Path, dst: Path, verdef_name: str, vernaux_name: str) -> None:
    data = bytearray(src.read_bytes())
    with src.open("rb") as f:
        elf = ELFFile(f)
        prefix = "<" if elf.little_endian else ">"
        vd = elf.get_section_by_name(".gnu.version_d")
        vn = elf.get_section_by_name(".gnu.version_r")
        strtab = elf.get_section(vd["sh_link"])
        pos = vd["sh_offset"]
        for _ in range(vd["sh_info"]):
            _v, flags, _ndx, _cnt, _h, aux, nxt = struct.unpack_from(prefix + "HHHHIII", data, pos)
            (name,) = struct.unpack_from(prefix + "I", data, pos + aux)
            if strtab.get_string(name) == verdef_name:
                struct.pack_into(prefix + "H", data, pos + 2, flags | 0x2)
            pos += nxt
        pos = vn["sh_offset"]
        for _ in range(vn["sh_info"]):
            _v, cnt, _file, aux, nxt = struct.unpack_from(prefix + "HHIII", data, pos)
            apos = pos + aux
            for _ in range(cnt):
                _h, flags, _other, name, anext = struct.unpack_from(prefix + "IHHII", data, apos)
                if strtab.get_string(name) == vernaux_name:
                    struct.pack_into(prefix + "H", data, apos + 4, flags | 0x2)
                apos += anext
            pos += nxt
    dst.write_bytes(bytes(data))


def test_weak_version_flags(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "weak.so"
    _set_weak_flags(built.lib, copy, "V3", "GLIBC_2.2.5")
    c = read_corpus(copy)
    defs = {v.name: v for v in c.version_definitions}
    assert defs["V3"].weak and not defs["V2"].weak
    assert c.version_requirements[0].weak == ("GLIBC_2.2.5",)
    assert compare(str(copy)) is None


# --- API details -----------------------------------------------------------------------------------


def test_relpath_and_is_elf(built: Built, tmp_path: Path) -> None:
    assert read_corpus(built.lib, "lib/libfeat.so.1").path == "lib/libfeat.so.1"
    assert read_corpus(str(built.lib)).path == str(built.lib)
    assert is_elf(built.lib) and is_elf(str(built.exe))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert not is_elf(text)
    assert not is_elf(tmp_path)  # a directory
    assert not is_elf(tmp_path / "missing")
    with pytest.raises(ELFError, match=r"notes\.txt"):
        read_corpus(text)


def test_json_round_trips(built: Built) -> None:
    for path in (built.lib, built.exe):
        c = read_corpus(path, path.name)
        assert Corpus.from_dict(json.loads(json.dumps(c.to_dict()))) == c
        back = read_symbolator(json.loads(json.dumps([to_symbolator(c)])))[0]
        assert (back.path, back.soname, back.needed, back.rpath, back.runpath) == (
            c.path,
            c.soname,
            c.needed,
            c.rpath,
            c.runpath,
        )
        assert (back.machine, back.elf_class, back.elf_type, back.flags, back.flags_1) == (
            c.machine,
            c.elf_class,
            c.elf_type,
            c.flags,
            c.flags_1,
        )
        # symbolator keeps one entry per name (the last one): compare on those
        last = {s.name: s for s in c.symbols}
        assert {
            s.name: (s.version_info, s.type, s.binding, s.visibility, s.defined) for s in back.symbols
        } == {n: (s.version_info, s.type, s.binding, s.visibility, s.defined) for n, s in last.items()}


def test_debug_info_file(built: Built, tmp_path: Path) -> None:
    """objcopy --only-keep-debug keeps the headers but not the bytes of .dynamic or .dynsym (NOBITS)."""
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        pytest.skip("binutils' objcopy is not installed")
    debug = tmp_path / "main.debug"
    subprocess.run([objcopy, "--only-keep-debug", str(built.exe), str(debug)], check=True)
    c = read_corpus(debug)
    assert (c.symbols, c.needed, c.version_requirements, c.interpreter) == ((), (), (), None)
    assert c.machine == "EM_X86_64"
    assert compare(str(debug)) is None
