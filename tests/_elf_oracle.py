"""The oracle for splicelab.elf: the same dynamic view, read by pyelftools (a separate implementation).

``oracle_dict(path)`` returns what ``read_corpus(path).to_dict()`` must equal. The mapping rules of
corpus.py (version None for index 0/1, ``default`` only for a definition without the hidden bit, the
library of a required version) are applied to what pyelftools decodes; the decoding itself is all
pyelftools'.
"""

from __future__ import annotations

import os
from typing import Any

from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

# pyelftools names a few values by their range (STT_LOOS) or their older name (ELFOSABI_LINUX)
_TYPE = {"STT_LOOS": "GNU_IFUNC"}
_BIND = {"STB_LOOS": "GNU_UNIQUE"}
_OSABI = {"ELFOSABI_LINUX": "ELFOSABI_GNU", "ELFOSABI_CLOUD": "ELFOSABI_CLOUDABI"}
_SHNDX = {"SHN_UNDEF": "UND", "SHN_ABS": "ABS", "SHN_COMMON": "COMMON"}
_FLAG_TAGS = {"DT_SYMBOLIC": 0x2, "DT_TEXTREL": 0x4, "DT_BIND_NOW": 0x8}
_VERSYM = {"VER_NDX_LOCAL": 0, "VER_NDX_GLOBAL": 1}


def _strip(value: Any, prefix: str) -> str:
    s = str(value)
    return s[len(prefix) :] if s.startswith(prefix) else s


def sample_indices(count: int, limit: int | None) -> list[int]:
    """Symbol indices (1-based, the null symbol excluded) to check: all, or a spread of ``limit``."""
    if limit is None or count <= limit:
        return list(range(1, count))
    edge = limit // 4
    step = max(1, (count - 1) // (limit - 2 * edge))
    chosen = set(range(1, edge + 1)) | set(range(count - edge, count)) | set(range(1, count, step))
    return sorted(chosen)


def oracle_dict(path: str, relpath: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """What read_corpus must give; with ``limit``, a big file's symbols are checked at a spread of
    ``limit`` indices (first and last quarters all, the rest evenly) and ``symbol_indices`` says which."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        header = elf.header
        machine = header["e_machine"]
        osabi = header["e_ident"]["EI_OSABI"]
        interpreter = None
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                interpreter = seg.get_interp_name() or None
                break

        dynamic = None
        versym = verdef = verneed = dynsym = None
        for sec in elf.iter_sections():
            if isinstance(sec, DynamicSection) and dynamic is None and sec["sh_type"] != "SHT_NOBITS":
                dynamic = sec
            elif isinstance(sec, GNUVerSymSection) and versym is None:
                versym = sec
            elif isinstance(sec, GNUVerDefSection) and verdef is None:
                verdef = sec
            elif isinstance(sec, GNUVerNeedSection) and verneed is None:
                verneed = sec
            elif isinstance(sec, SymbolTableSection) and sec["sh_type"] == "SHT_DYNSYM" and dynsym is None:
                dynsym = sec
        if dynamic is None and elf.num_sections() == 0:
            for seg in elf.iter_segments():
                if isinstance(seg, DynamicSegment):
                    dynamic = seg
                    break

        needed: list[str] = []
        rpath: list[str] = []
        runpath: list[str] = []
        soname = None
        flags = flags_1 = 0
        if dynamic is not None:
            for tag in dynamic.iter_tags():
                t = tag.entry.d_tag
                if t == "DT_NEEDED":
                    needed.append(tag.needed)
                elif t == "DT_SONAME":
                    soname = tag.soname
                elif t == "DT_RPATH":
                    rpath += [p for p in tag.rpath.split(":") if p]
                elif t == "DT_RUNPATH":
                    runpath += [p for p in tag.runpath.split(":") if p]
                elif t == "DT_FLAGS":
                    flags |= tag.entry.d_val
                elif t == "DT_FLAGS_1":
                    flags_1 |= tag.entry.d_val
                elif t in _FLAG_TAGS:  # the older tags for DT_FLAGS bits, folded in
                    flags |= _FLAG_TAGS[t]

        versions: dict[int, tuple[str, bool, str | None]] = {}
        definitions = []
        if verdef is not None and verdef["sh_type"] != "SHT_NOBITS":
            for vd, auxes in verdef.iter_versions():
                names = [a.name for a in auxes]
                definitions.append(
                    {
                        "name": names[0],
                        "base": bool(vd["vd_flags"] & 1),
                        "weak": bool(vd["vd_flags"] & 2),
                        "parents": names[1:],
                    }
                )
                versions[vd["vd_ndx"] & 0x7FFF] = (names[0], True, None)
        requirements = []
        if verneed is not None and verneed["sh_type"] != "SHT_NOBITS":
            for vn, auxes in verneed.iter_versions():
                req: dict[str, Any] = {"file": vn.name, "versions": [], "weak": []}
                for a in auxes:
                    req["versions"].append(a.name)
                    if a["vna_flags"] & 2:
                        req["weak"].append(a.name)
                    versions[a["vna_other"] & 0x7FFF] = (a.name, False, vn.name)
                requirements.append(req)

        symbols = []
        indices: list[int] = []
        nsyms = 0
        if dynsym is not None and dynsym["sh_type"] != "SHT_NOBITS":
            nsyms = dynsym.num_symbols()
            indices = sample_indices(nsyms, limit)
            for i in indices:
                sym = dynsym.get_symbol(i)
                d: dict[str, Any] = {
                    "name": sym.name,
                    "type": _TYPE.get(sym["st_info"]["type"], _strip(sym["st_info"]["type"], "STT_")),
                    "binding": _BIND.get(sym["st_info"]["bind"], _strip(sym["st_info"]["bind"], "STB_")),
                    "visibility": _strip(sym["st_other"]["visibility"], "STV_"),
                    "size": sym["st_size"],
                    "section": _SHNDX.get(sym["st_shndx"], "DEFINED")
                    if isinstance(sym["st_shndx"], str)
                    else "DEFINED",
                }
                if versym is not None:
                    raw = versym.get_symbol(i)["ndx"]
                    ndx = _VERSYM.get(raw, raw) if isinstance(raw, str) else raw
                    if ndx & 0x7FFF > 1:
                        version, is_definition, library = versions[ndx & 0x7FFF]
                        d["version"] = version
                        d["default"] = is_definition and not ndx & 0x8000
                        if library is not None:
                            d["library"] = library
                symbols.append(d)

        return {
            "schema": "splicelab.corpus/1",
            "path": relpath if relpath is not None else path,
            "elf_class": elf.elfclass,
            "byte_order": "little" if elf.little_endian else "big",
            "machine": machine if isinstance(machine, str) else f"EM_{machine}",
            "osabi": _OSABI.get(osabi, osabi),
            "elf_type": header["e_type"],
            "interpreter": interpreter,
            "soname": soname,
            "needed": needed,
            "rpath": rpath,
            "runpath": runpath,
            "flags": flags,
            "flags_1": flags_1,
            "size": os.path.getsize(path),
            "version_definitions": definitions,
            "version_requirements": requirements,
            "symbols": symbols,
            "symbol_indices": indices,
            "symbol_count": max(0, nsyms - 1),
        }


def compare(path: str, limit: int | None = None) -> str | None:
    """None when splicelab and pyelftools agree on ``path``, else a description of the first difference."""
    from splicelab.elf import ELFError, read_corpus

    try:
        expected = oracle_dict(path, "x", limit)
    except Exception as exc:  # pyelftools failed: then we must fail too
        try:
            read_corpus(path, "x")
        except ELFError:
            return None
        return f"{path}: pyelftools fails ({type(exc).__name__}: {exc}) but splicelab reads it"
    try:
        got = read_corpus(path, "x").to_dict()
    except ELFError as exc:
        return f"{path}: splicelab fails ({exc}) but pyelftools reads it"
    indices = expected.pop("symbol_indices")
    count = expected.pop("symbol_count")
    for key in expected:
        if key == "symbols":
            continue
        if got.get(key) != expected[key]:
            return f"{path}: {key}: splicelab {got.get(key)!r} != pyelftools {expected[key]!r}"
    if len(got["symbols"]) != count:
        return f"{path}: {len(got['symbols'])} symbols != pyelftools {count}"
    for i, b in zip(indices, expected["symbols"], strict=True):
        a = got["symbols"][i - 1]
        if a != b:
            return f"{path}: symbol {i}: splicelab {a} != pyelftools {b}"
    if set(got) != set(expected):
        return f"{path}: keys {sorted(set(got) ^ set(expected))} differ"
    return None
