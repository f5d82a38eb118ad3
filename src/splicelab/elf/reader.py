"""Read the dynamic view of one ELF file into a :class:`splicelab.corpus.Corpus`.

Only what the dynamic loader sees is read: the ELF header, the program headers (PT_INTERP, PT_DYNAMIC,
PT_LOAD), the dynamic section, ``.dynsym`` with its string table and the three GNU versioning tables.
Each piece is located through the section headers when the file has them (as readelf and pyelftools do)
and otherwise through the dynamic segment alone (DT_SYMTAB, DT_STRTAB, DT_VERSYM, ... mapped through
PT_LOAD; the symbol count from DT_HASH or by walking DT_GNU_HASH).

Every offset and count is checked against the file size before it is used, so a corrupt file costs at
most one pass over its own bytes and ends in :class:`ELFError`, the reader's one error type.
"""

from __future__ import annotations

import gc
import os
import stat
import struct
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from sys import byteorder as _HOST_BYTE_ORDER
from typing import Any

from splicelab.corpus import (
    ABSOLUTE,
    COMMON,
    DEFINED,
    UNDEFINED,
    Corpus,
    Symbol,
    VersionDefinition,
    VersionRequirement,
)
from splicelab.elf import structs as S

__all__ = ["ELFError", "is_elf", "read_corpus"]


class ELFError(Exception):
    """A file is not a readable ELF file; ``str(err)`` is one line naming the file and the defect."""


class _Defect(Exception):
    """Internal: a defect found while decoding; ``read_corpus`` prefixes the file name."""


_SECTION_KIND = {S.SHN_UNDEF: UNDEFINED, S.SHN_ABS: ABSOLUTE, S.SHN_COMMON: COMMON}
_TYPES = tuple(S.symbol_type_name(i) for i in range(16))
_BINDINGS = tuple(S.symbol_binding_name(i) for i in range(16))
_VISIBILITIES = S.STV_NAMES

# A string table entry is decoded leniently: names are bytes to the loader, and a stray byte must not
# cost the whole file.
_decode: Callable[[bytes], str] = lambda b: b.decode("utf-8", "surrogateescape")  # noqa: E731


# O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def is_elf(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a regular file that starts with the ELF magic (a cheap check)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.pread(fd, 4, 0) == S.ELF_MAGIC
    except OSError:
        return False
    finally:
        os.close(fd)


def read_corpus(path: str | os.PathLike[str], relpath: str | None = None) -> Corpus:
    """The dynamic view of the ELF file ``path``; ``corpus.path`` is ``relpath`` or ``str(path)``.

    Raises :class:`ELFError` (one line: the file and the defect) for anything that is not a readable
    ELF file: missing, unreadable, not a regular file, empty, bad magic, unknown class or byte order,
    truncated, offsets or counts that point outside the file.
    """
    name = os.fspath(path)
    if isinstance(name, bytes):  # pragma: no cover - bytes paths are not part of the API
        name = os.fsdecode(name)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except OSError as exc:
        raise ELFError(f"{name}: cannot open: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ELFError(f"{name}: not a regular file")
        size = st.st_size
        if size == 0:
            raise ELFError(f"{name}: empty file (0 bytes), not an ELF file")
        # Tens of thousands of new tuples and Symbols would trigger cyclic-GC passes over them (a tenth
        # of the time, more on big libraries); they form no cycles, so collection waits until the
        # corpus is built (and, when the caller drops it at once, never has to look at them).
        pause_gc = gc.isenabled()
        if pause_gc:
            gc.disable()
        try:
            return _Reader(fd, size).corpus(relpath if relpath is not None else name)
        finally:
            if pause_gc:
                gc.enable()
    except _Defect as exc:
        raise ELFError(f"{name}: {exc}") from None
    except OSError as exc:
        raise ELFError(f"{name}: read error: {exc.strerror or exc}") from None
    except (struct.error, ValueError, IndexError, OverflowError, MemoryError) as exc:  # pragma: no cover
        # Every known defect is caught above; this is the reader's safety net for an unforeseen one.
        raise ELFError(f"{name}: malformed ELF file ({type(exc).__name__}: {exc})") from None
    finally:
        os.close(fd)


@dataclass(slots=True)
class _Region:
    """A byte range of the file: where a table lies and how far it may extend."""

    offset: int
    size: int


class _Window:
    """The bytes of a table at ``offset`` that may extend up to ``limit`` bytes: read as far as needed."""

    __slots__ = ("data", "limit", "offset", "reader", "what")

    def __init__(self, reader: _Reader, offset: int, limit: int, what: str, initial: int) -> None:
        self.reader, self.offset, self.limit, self.what = reader, offset, limit, what
        self.data = reader.read(offset, min(limit, initial), what)

    def cover(self, end: int, where: str) -> bytes:
        """The bytes, read at least up to ``end``; a defect naming ``where`` when the table is shorter."""
        if end > len(self.data):
            if end > self.limit:
                raise _Defect(f"{self.what} {where} runs past the end of the table")
            size = min(self.limit, max(end, 2 * len(self.data)))
            self.data = self.reader.read(self.offset, size, self.what)
        return self.data


class _StringTable:
    """A string table read once; each entry decoded at most once."""

    __slots__ = ("cache", "data", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.what = what
        self.cache: dict[int, str] = {}

    def names(self, offsets: Sequence[int]) -> list[str]:
        """The strings at ``offsets`` (the symbol names: one bulk pass, no per-name cache)."""
        data = self.data
        if not offsets:
            return []
        if max(offsets) >= len(data) or not data.endswith(b"\0"):
            return [self.get(o) for o in offsets]  # names the offending offset
        if data.isascii():
            text = data.decode("ascii")
            find = text.find
            return [text[o : find("\0", o)] for o in offsets]
        bfind = data.find
        return [_decode(data[o : bfind(b"\0", o)]) for o in offsets]

    def get(self, offset: int) -> str:
        s = self.cache.get(offset)
        if s is not None:
            return s
        data = self.data
        if offset >= len(data):
            raise _Defect(f"string offset {offset} lies outside {self.what} (size {len(data)})")
        end = data.find(b"\0", offset)
        if end < 0:
            raise _Defect(f"string at offset {offset} in {self.what} is not NUL-terminated")
        s = self.cache[offset] = _decode(data[offset:end])
        return s


class _Reader:
    """Decodes one file. Holds the descriptor, the layout and what the headers located."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.size = size
        self.machine = 0
        self.strtabs: dict[tuple[int, int], _StringTable] = {}
        self.first_of_type: dict[int, tuple[int, ...]] = {}

    # --- raw access ------------------------------------------------------------------------------------

    def read(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Defect(
                f"{what} (offset {offset:#x}, {length} bytes) extends past the end of the file "
                f"({self.size} bytes)"
            )
        if length == 0:
            return b""
        data = os.pread(self.fd, length, offset)
        if len(data) != length:  # the file shrank under us
            raise _Defect(f"{what}: short read at offset {offset:#x}")
        return data

    # --- the whole file ----------------------------------------------------------------------------------

    def corpus(self, path: str) -> Corpus:
        head = os.pread(self.fd, 64, 0)
        if len(head) < 4 or head[:4] != S.ELF_MAGIC:
            raise _Defect(f"not an ELF file (magic {head[:4]!r})")
        if len(head) < S.EI_NIDENT:
            raise _Defect(f"truncated: {self.size} bytes, shorter than e_ident ({S.EI_NIDENT} bytes)")
        ei_class, ei_data, osabi = head[4], head[5], head[7]
        layout = S.LAYOUTS.get((ei_class, ei_data))
        if layout is None:
            if ei_class not in (S.ELFCLASS32, S.ELFCLASS64):
                raise _Defect(f"unknown ELF class byte {ei_class} in e_ident[EI_CLASS]")
            raise _Defect(f"unknown ELF data encoding byte {ei_data} in e_ident[EI_DATA]")
        self.L = L = layout
        need = S.EI_NIDENT + L.ehdr.size
        if len(head) < need:
            raise _Defect(f"truncated: {self.size} bytes, shorter than the ELF header ({need} bytes)")
        (
            e_type,
            e_machine,
            _e_version,
            _e_entry,
            e_phoff,
            e_shoff,
            _e_flags,
            _e_ehsize,
            e_phentsize,
            e_phnum,
            e_shentsize,
            e_shnum,
            _e_shstrndx,
        ) = L.ehdr.unpack_from(head, S.EI_NIDENT)
        self.machine = e_machine

        self._program_headers(e_phoff, e_phentsize, e_phnum)
        self._section_headers(e_shoff, e_shentsize, e_shnum)

        interpreter = None
        if self.interp is not None:
            raw = self.read(self.interp.offset, self.interp.size, "PT_INTERP")
            interpreter = _decode(raw.split(b"\0", 1)[0]) or None  # empty: a debug file's PT_INTERP

        dyn = self._dynamic()
        symbols, verdefs, verneeds = self._symbols(dyn)
        return Corpus(
            path=path,
            elf_class=L.elf_class,
            byte_order=L.byte_order,
            machine=S.machine_name(e_machine),
            osabi=S.osabi_name(osabi),
            elf_type=S.elf_type_name(e_type),
            interpreter=interpreter,
            soname=dyn.soname,
            needed=tuple(dyn.needed),
            rpath=tuple(dyn.rpath),
            runpath=tuple(dyn.runpath),
            flags=dyn.flags,
            flags_1=dyn.flags_1,
            version_definitions=verdefs,
            version_requirements=verneeds,
            symbols=symbols,
            size=self.size,
        )

    # --- headers -------------------------------------------------------------------------------------

    def _program_headers(self, phoff: int, phentsize: int, phnum: int) -> None:
        L = self.L
        self.loads: list[tuple[int, int, int]] = []  # (p_vaddr, p_offset, p_filesz)
        self.interp: _Region | None = None
        self.dynamic_segment: _Region | None = None
        if phnum == 0 or phoff == 0:
            return
        if phentsize < L.phdr.size:
            raise _Defect(f"e_phentsize {phentsize} is smaller than a program header ({L.phdr.size})")
        table = self.read(phoff, phentsize * phnum, f"program header table ({phnum} entries)")
        t_i, off_i, va_i, fs_i = L.phdr_order
        unpack = L.phdr.unpack_from
        for i in range(phnum):
            ph = unpack(table, i * phentsize)
            p_type = ph[t_i]
            if p_type == S.PT_LOAD:
                self.loads.append((ph[va_i], ph[off_i], ph[fs_i]))
            elif p_type == S.PT_INTERP and self.interp is None:
                self.interp = _Region(ph[off_i], ph[fs_i])
            elif p_type == S.PT_DYNAMIC and self.dynamic_segment is None:
                self.dynamic_segment = _Region(ph[off_i], ph[fs_i])

    def _section_headers(self, shoff: int, shentsize: int, shnum: int) -> None:
        """Locate .dynamic, .dynsym and the version sections (first of each type) when present."""
        L = self.L
        self.sections: list[tuple[int, ...]] = []
        if shoff == 0:
            return
        if shentsize < L.shdr.size:
            if shnum == 0 and shentsize == 0:
                return
            raise _Defect(f"e_shentsize {shentsize} is smaller than a section header ({L.shdr.size})")
        if shnum == 0:  # extended numbering: the count lives in section 0's sh_size
            first = L.shdr.unpack(self.read(shoff, L.shdr.size, "section header 0"))
            shnum = first[5]
            if shnum == 0:
                return
        if shnum * shentsize > self.size:
            raise _Defect(f"e_shnum {shnum} is absurd for a file of {self.size} bytes")
        table = self.read(shoff, shnum * shentsize, f"section header table ({shnum} entries)")
        unpack = L.shdr.unpack_from
        self.sections = [unpack(table, i * shentsize) for i in range(shnum)]
        for sh in reversed(self.sections):
            self.first_of_type[sh[1]] = sh

    def _section(self, sh_type: int) -> tuple[int, ...] | None:
        """The first section header of type ``sh_type``."""
        return self.first_of_type.get(sh_type)

    def _linked_strtab(self, sh: tuple[int, ...], what: str) -> _StringTable:
        link = sh[6]
        if link == 0 or link >= len(self.sections):
            raise _Defect(f"{what} sh_link {link} names no string table")
        st = self.sections[link]
        if st[1] == S.SHT_NOBITS:
            return _StringTable(b"", f"string table of {what}")
        return self._strtab(st[4], st[5], f"string table of {what}")

    def _strtab(self, offset: int, size: int, what: str) -> _StringTable:
        """A string table, read once per file however many tables link to it."""
        key = (offset, size)
        table = self.strtabs.get(key)
        if table is None:
            table = self.strtabs[key] = _StringTable(self.read(offset, size, what), what)
        return table

    def vaddr_region(self, addr: int, what: str) -> _Region:
        """The file bytes from virtual address ``addr`` to the end of its PT_LOAD segment."""
        for vaddr, offset, filesz in self.loads:
            if vaddr <= addr < vaddr + filesz:
                start = offset + (addr - vaddr)
                end = min(offset + filesz, self.size)
                if start >= end:
                    break
                return _Region(start, end - start)
        raise _Defect(f"{what} address {addr:#x} lies in no PT_LOAD segment's file bytes")

    # --- dynamic section -----------------------------------------------------------------------------

    def _dynamic(self) -> _Dynamic:
        L = self.L
        dyn = _Dynamic()
        strtab_section: tuple[int, ...] | None = None
        sh = self._section(S.SHT_DYNAMIC)
        if sh is not None:
            if sh[1] == S.SHT_NOBITS or sh[5] == 0:
                return dyn  # a debug-info file: the dynamic section's bytes are not here
            region = _Region(sh[4], sh[5])
            strtab_section = sh
        elif self.dynamic_segment is not None:
            region = self.dynamic_segment
        else:
            return dyn
        raw = self.read(region.offset, region.size - region.size % L.dyn.size, "dynamic section")
        needed: list[int] = []
        rpath: list[int] = []
        runpath: list[int] = []
        soname: int | None = None
        tags = dyn.tags
        for tag, val in L.dyn.iter_unpack(raw):
            if tag == S.DT_NULL:
                break
            if tag == S.DT_NEEDED:
                needed.append(val)
            elif tag == S.DT_SONAME:
                soname = val
            elif tag == S.DT_RPATH:
                rpath.append(val)
            elif tag == S.DT_RUNPATH:
                runpath.append(val)
            elif tag == S.DT_FLAGS:
                dyn.flags |= val
            elif tag == S.DT_FLAGS_1:
                dyn.flags_1 |= val
            elif tag in S.FLAG_TAGS:
                dyn.flags |= S.FLAG_TAGS[tag]
            elif tag not in tags:
                tags[tag] = val
        if not (needed or rpath or runpath or soname is not None):
            return dyn
        if strtab_section is not None:
            strtab = self._linked_strtab(strtab_section, "the dynamic section")
        else:
            strtab = self.dynstr(dyn.tags)
        dyn.needed = [strtab.get(v) for v in needed]
        dyn.soname = strtab.get(soname) if soname is not None else None
        dyn.rpath = [p for v in rpath for p in strtab.get(v).split(":") if p]
        dyn.runpath = [p for v in runpath for p in strtab.get(v).split(":") if p]
        return dyn

    def dynstr(self, tags: dict[int, int]) -> _StringTable:
        """The dynamic string table through DT_STRTAB and DT_STRSZ."""
        addr = tags.get(S.DT_STRTAB)
        if addr is None:
            raise _Defect("the dynamic section has no DT_STRTAB")
        size = tags.get(S.DT_STRSZ)
        region = self.vaddr_region(addr, "DT_STRTAB")
        if size is None or size > region.size:
            raise _Defect(f"DT_STRSZ {size} does not fit the file bytes at DT_STRTAB ({region.size})")
        return self._strtab(region.offset, size, "the dynamic string table")

    # --- symbols and versions ------------------------------------------------------------------------

    def _symbols(
        self, dyn: _Dynamic
    ) -> tuple[tuple[Symbol, ...], tuple[VersionDefinition, ...], tuple[VersionRequirement, ...]]:
        L = self.L
        tags = dyn.tags
        sym_size = L.sym.size

        # .dynsym: where, how many, which string table
        sh = self._section(S.SHT_DYNSYM)
        if sh is not None:
            if sh[1] == S.SHT_NOBITS or sh[5] == 0:
                return (), (), ()
            entsize = sh[9]
            if entsize != sym_size:
                raise _Defect(f".dynsym sh_entsize {entsize}, expected {sym_size}")
            sym_region = _Region(sh[4], sh[5] - sh[5] % sym_size)
            nsyms = sym_region.size // sym_size
            strtab = self._linked_strtab(sh, ".dynsym")
        elif S.DT_SYMTAB in tags:
            syment = tags.get(S.DT_SYMENT, sym_size)
            if syment != sym_size:
                raise _Defect(f"DT_SYMENT {syment}, expected {sym_size}")
            sym_region = self.vaddr_region(tags[S.DT_SYMTAB], "DT_SYMTAB")
            nsyms = self._symbol_count(tags)
            if nsyms * sym_size > sym_region.size:
                raise _Defect(
                    f"{nsyms} dynamic symbols do not fit the {sym_region.size} file bytes at DT_SYMTAB"
                )
            sym_region = _Region(sym_region.offset, nsyms * sym_size)
            strtab = self.dynstr(tags)
        else:
            return (), (), ()
        if nsyms * sym_size > self.size:
            raise _Defect(f".dynsym: {nsyms} symbols is absurd for a file of {self.size} bytes")

        versions, verdefs, verneeds = self._versions(tags)
        versym = self._versym(tags, nsyms) if versions else None

        raw = self.read(sym_region.offset, sym_region.size, ".dynsym")
        return _build_symbols(raw, L, strtab, versym, versions), verdefs, verneeds

    def _symbol_count(self, tags: dict[int, int]) -> int:
        """The number of dynamic symbols from DT_HASH (nchain) or by walking DT_GNU_HASH."""
        L = self.L
        if S.DT_HASH in tags:
            region = self.vaddr_region(tags[S.DT_HASH], "DT_HASH")
            # s390x and alpha use 64-bit hash table entries
            wide = L.elf_class == 64 and self.machine in S.WIDE_HASH_MACHINES
            word = struct.Struct(L.prefix + ("Q" if wide else "I"))
            head = self.read(region.offset, 2 * word.size, "DT_HASH header")
            _nbucket, nchain = word.unpack_from(head, 0)[0], word.unpack_from(head, word.size)[0]
            return int(nchain)
        if S.DT_GNU_HASH in tags:
            region = self.vaddr_region(tags[S.DT_GNU_HASH], "DT_GNU_HASH")
            word = L.word.size
            head = self.read(region.offset, 4 * word, "DT_GNU_HASH header")
            nbuckets, symoffset, bloom_size, _shift = struct.unpack(L.prefix + "IIII", head)
            buckets_at = 16 + bloom_size * L.addr.size
            if buckets_at + nbuckets * word > region.size:
                raise _Defect(
                    f"DT_GNU_HASH ({nbuckets} buckets, {bloom_size} bloom words) exceeds its segment"
                )
            buckets = array(
                "I", self.read(region.offset + buckets_at, nbuckets * word, "DT_GNU_HASH buckets")
            )
            if L.byte_order != _HOST_BYTE_ORDER:
                buckets.byteswap()
            last = max(buckets, default=0)
            if last < symoffset:
                # Nothing is hashed (nothing exported): the table does not say how many symbols
                # precede symoffset, and GNU ld writes symoffset 1 here. The loader reaches such
                # symbols only through relocations, so those give the count.
                return max(int(symoffset), self._relocated_symbol_count(tags))
            chains_at = region.offset + buckets_at + nbuckets * word
            chain_end = region.offset + region.size
            # The last bucket's chain ends at the entry with the low bit set: read it in chunks.
            index = last
            pos = chains_at + (index - symoffset) * word
            while True:
                n = min(1024, (chain_end - pos) // word)
                if n <= 0:
                    raise _Defect("DT_GNU_HASH chain runs past the end of its segment")
                chunk = array("I", self.read(pos, n * word, "DT_GNU_HASH chain"))
                if L.byte_order != _HOST_BYTE_ORDER:
                    chunk.byteswap()
                for j, value in enumerate(chunk):
                    if value & 1:
                        return index + j + 1
                index += n
                pos += n * word
        raise _Defect("no section headers and neither DT_HASH nor DT_GNU_HASH: cannot count dynamic symbols")

    def _relocated_symbol_count(self, tags: dict[int, int]) -> int:
        """One past the highest symbol index any dynamic relocation (DT_RELA, DT_REL, DT_JMPREL) uses."""
        L = self.L
        tables = [(S.DT_RELA, S.DT_RELASZ, True), (S.DT_REL, S.DT_RELSZ, False)]
        if S.DT_JMPREL in tags:
            tables.append((S.DT_JMPREL, S.DT_PLTRELSZ, tags.get(S.DT_PLTREL) == S.DT_RELA))
        word = L.addr.format[-1]
        shift = 32 if L.elf_class == 64 else 8
        top = -1
        for addr_tag, size_tag, rela in tables:
            size = tags.get(size_tag, 0)
            if addr_tag not in tags or not size:
                continue
            entry = struct.Struct(L.prefix + word * (3 if rela else 2))
            region = self.vaddr_region(tags[addr_tag], "relocation table")
            if size > region.size:
                raise _Defect(f"relocation table of {size} bytes exceeds its segment ({region.size} bytes)")
            raw = self.read(region.offset, size - size % entry.size, "relocation table")
            top = max(top, max((r[1] >> shift for r in entry.iter_unpack(raw)), default=-1))
        return top + 1

    def _versym(self, tags: dict[int, int], nsyms: int) -> array[int]:
        sh = self._section(S.SHT_GNU_VERSYM)
        if sh is not None and sh[1] != S.SHT_NOBITS:
            offset, avail = sh[4], sh[5]
        elif S.DT_VERSYM in tags:
            region = self.vaddr_region(tags[S.DT_VERSYM], "DT_VERSYM")
            offset, avail = region.offset, region.size
        else:
            raise _Defect("version tables present but no .gnu.version (DT_VERSYM)")
        if avail < 2 * nsyms:
            raise _Defect(f".gnu.version holds {avail // 2} entries for {nsyms} dynamic symbols")
        versym = array("H", self.read(offset, 2 * nsyms, ".gnu.version"))
        if self.L.byte_order != _HOST_BYTE_ORDER:
            versym.byteswap()
        return versym

    def _version_table(
        self, sh_type: int, dt_addr: int, dt_num: int, tags: dict[int, int], what: str
    ) -> tuple[_Window, int, _StringTable] | None:
        """(table bytes, entry count, string table) of .gnu.version_d/_r, from sections or DT_*."""
        sh = self._section(sh_type)
        if sh is not None:
            if sh[1] == S.SHT_NOBITS or sh[5] == 0:
                return None
            return _Window(self, sh[4], sh[5], what, sh[5]), sh[7], self._linked_strtab(sh, what)
        if dt_addr not in tags:
            return None
        # Without section headers the table's size is unknown: it may extend to the end of its segment,
        # which is read only as far as the entries lead.
        region = self.vaddr_region(tags[dt_addr], what)
        count = tags.get(dt_num, 0)
        return _Window(self, region.offset, region.size, what, 4096), count, self.dynstr(tags)

    def _versions(
        self, tags: dict[int, int]
    ) -> tuple[
        dict[int, tuple[str, bool, str | None]],
        tuple[VersionDefinition, ...],
        tuple[VersionRequirement, ...],
    ]:
        """Map versym value -> (version, default, library); plus the definitions and requirements."""
        L = self.L
        versions: dict[int, tuple[str, bool, str | None]] = {}
        verdefs: list[VersionDefinition] = []
        verneeds: list[VersionRequirement] = []

        vd = self._version_table(S.SHT_GNU_VERDEF, S.DT_VERDEF, S.DT_VERDEFNUM, tags, ".gnu.version_d")
        if vd is not None:
            table, count, strtab = vd
            pos = 0
            for _ in range(count):
                data = table.cover(pos + L.verdef.size, f"entry at +{pos}")
                _ver, flags, ndx, cnt, _hash, aux, nxt = L.verdef.unpack_from(data, pos)
                names: list[str] = []
                apos = pos + aux
                for _ in range(cnt):
                    data = table.cover(apos + L.verdaux.size, f"auxiliary entry at +{apos}")
                    vda_name, vda_next = L.verdaux.unpack_from(data, apos)
                    names.append(strtab.get(vda_name))
                    if vda_next == 0:
                        break
                    apos += vda_next
                if not names:
                    raise _Defect(f".gnu.version_d entry {ndx} has no name")
                verdefs.append(
                    VersionDefinition(
                        names[0], bool(flags & S.VER_FLG_BASE), bool(flags & S.VER_FLG_WEAK), tuple(names[1:])
                    )
                )
                index = ndx & S.VERSYM_INDEX
                versions[index] = (names[0], True, None)
                versions[index | S.VERSYM_HIDDEN] = (names[0], False, None)
                if nxt == 0:
                    break
                pos += nxt

        vn = self._version_table(S.SHT_GNU_VERNEED, S.DT_VERNEED, S.DT_VERNEEDNUM, tags, ".gnu.version_r")
        if vn is not None:
            table, count, strtab = vn
            pos = 0
            for _ in range(count):
                data = table.cover(pos + L.verneed.size, f"entry at +{pos}")
                _ver, cnt, vn_file, aux, nxt = L.verneed.unpack_from(data, pos)
                file = strtab.get(vn_file)
                required: list[str] = []
                weak: list[str] = []
                apos = pos + aux
                for _ in range(cnt):
                    data = table.cover(apos + L.vernaux.size, f"auxiliary entry at +{apos}")
                    _hash, vna_flags, other, vna_name, vna_next = L.vernaux.unpack_from(data, apos)
                    vname = strtab.get(vna_name)
                    required.append(vname)
                    if vna_flags & S.VER_FLG_WEAK:
                        weak.append(vname)
                    index = other & S.VERSYM_INDEX
                    versions[index] = versions[index | S.VERSYM_HIDDEN] = (vname, False, file)
                    if vna_next == 0:
                        break
                    apos += vna_next
                verneeds.append(VersionRequirement(file, tuple(required), tuple(weak)))
                if nxt == 0:
                    break
                pos += nxt
        return versions, tuple(verdefs), tuple(verneeds)


# Symbol is a named tuple: each symbol is built straight from one row of the decoded columns by
# tuple.__new__ (in C, no per-symbol Python call), which is most of the reader's time on a big library.
# per st_info / st_other byte: the names
_TYPE_OF = tuple(_TYPES[i & 0xF] for i in range(256))
_BINDING_OF = tuple(_BINDINGS[i >> 4] for i in range(256))
_VISIBILITY_OF = tuple(_VISIBILITIES[i & 3] for i in range(256))
_UNVERSIONED = (None, True, None)


def _build_symbols(
    raw: bytes,
    layout: S.Layout,
    strtab: _StringTable,
    versym: array[int] | None,
    versions: dict[int, tuple[str, bool, str | None]],
) -> tuple[Symbol, ...]:
    """Decode the ``.dynsym`` bytes ``raw`` (null symbol included) into Symbols."""
    return _decode_symbols(raw, layout, strtab, versym, versions)


def _symbol_columns(raw: bytes, layout: S.Layout) -> list[Sequence[int]]:
    """Each needed ``Elf_Sym`` field of every symbol but the null one, as one column (strided copies)."""
    record = layout.sym.size
    swap = layout.byte_order != _HOST_BYTE_ORDER
    columns: list[Sequence[int]] = []
    words: dict[str, array[int]] = {}
    for offset, code in layout.sym_columns:
        if code == "B":
            columns.append(raw[record + offset :: record])  # bytes: iterating gives ints
            continue
        table = words.get(code)
        if table is None:
            table = words[code] = array(code, raw)
            if swap:
                table.byteswap()
        size = table.itemsize
        columns.append(table[(record + offset) // size :: record // size].tolist())
    return columns


def _decode_symbols(
    raw: bytes,
    layout: S.Layout,
    strtab: _StringTable,
    versym: array[int] | None,
    versions: dict[int, tuple[str, bool, str | None]],
) -> tuple[Symbol, ...]:
    """Decode the ``.dynsym`` bytes ``raw`` (null symbol included) into Symbols."""
    if len(raw) <= layout.sym.size:
        return ()
    name_offsets, infos, others, shndxs, sizes = _symbol_columns(raw, layout)
    names = strtab.names(name_offsets)
    vmap = dict(versions)
    for v in (0, 1, S.VERSYM_HIDDEN, S.VERSYM_HIDDEN | 1):
        vmap[v] = _UNVERSIONED
    n = len(names)
    if versym is None:
        vcols: Sequence[Sequence[Any]] = ((None,) * n, (True,) * n, (None,) * n)
    else:
        vers = versym[1 : n + 1]
        try:
            vcols = list(zip(*map(vmap.__getitem__, vers), strict=False)) or [(), (), ()]
        except KeyError:
            i = next(i for i, v in enumerate(vers) if v not in vmap)
            raise _Defect(
                f"dynamic symbol {i + 1} ({names[i]!r}) has version index {vers[i] & S.VERSYM_INDEX}, "
                "which no version definition or requirement names"
            ) from None
    # Each column is computed by map() in C; no Python-level loop per symbol.
    fields = (
        names,
        vcols[0],
        vcols[1],
        map(_TYPE_OF.__getitem__, infos),
        map(_BINDING_OF.__getitem__, infos),
        map(_VISIBILITY_OF.__getitem__, others),
        sizes,
        map(_SECTION_KIND.get, shndxs, repeat(DEFINED)),
        vcols[2],
    )
    return tuple(map(tuple.__new__, repeat(Symbol), zip(*fields, strict=False)))


class _Dynamic:
    """What the dynamic section says: decoded strings, flags and the raw address tags."""

    __slots__ = ("flags", "flags_1", "needed", "rpath", "runpath", "soname", "tags")

    def __init__(self) -> None:
        self.tags: dict[int, int] = {}
        self.needed: list[str] = []
        self.rpath: list[str] = []
        self.runpath: list[str] = []
        self.soname: str | None = None
        self.flags = 0
        self.flags_1 = 0
