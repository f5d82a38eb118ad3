"""Corpus: what one ELF file offers and needs, read from its dynamic view.

A corpus is the unit every later stage works on (link closures, predictors, the store). It is a plain,
immutable value: no file handles, no parsing. ``splicelab.elf`` builds it; this module only models it and
converts it to and from JSON: our own versioned schema and the older *symbolator* tool's JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

SCHEMA = "splicelab.corpus/1"

# Section kinds of a dynamic symbol (st_shndx).
DEFINED = "DEFINED"
UNDEFINED = "UND"
ABSOLUTE = "ABS"
COMMON = "COMMON"


class CorpusFormatError(ValueError):
    """A corpus document (ours or symbolator's) is malformed; the message names the field."""


class Symbol(NamedTuple):
    """One dynamic symbol.

    ``version`` is the symbol-version name (``GLIBC_2.2.5``) or None when unversioned (or bound to the
    file's base version). For a defined symbol ``default`` tells ``@@`` (default) from ``@`` (hidden,
    only reachable by an import that names that version). For an undefined symbol ``library`` is the
    file (``vn_file``, a soname) the required version is expected from, when the import is versioned.

    A named tuple rather than a dataclass: a large library has tens of thousands of symbols, and a tuple
    is built (by the reader, straight from the decoded columns), pickled (to Dask workers) and compared
    several times faster. Immutable and hashable either way.
    """

    name: str
    version: str | None = None
    default: bool = True
    type: str = "NOTYPE"  # NOTYPE OBJECT FUNC SECTION FILE COMMON TLS GNU_IFUNC
    binding: str = "GLOBAL"  # LOCAL GLOBAL WEAK GNU_UNIQUE
    visibility: str = "DEFAULT"  # DEFAULT INTERNAL HIDDEN PROTECTED
    size: int = 0
    section: str = DEFINED  # DEFINED UND ABS COMMON
    library: str | None = None

    @property
    def defined(self) -> bool:
        return self.section != UNDEFINED

    @property
    def weak(self) -> bool:
        return self.binding == "WEAK"

    @property
    def version_info(self) -> str:
        """symbolator's notation: ``@@VER`` (default), ``@VER`` (hidden or required), ``""``."""
        if self.version is None:
            return ""
        if self.defined and self.default:
            return f"@@{self.version}"
        return f"@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "binding": self.binding,
            "visibility": self.visibility,
            "size": self.size,
            "section": self.section,
        }
        if self.version is not None:
            d["version"] = self.version
            d["default"] = self.default
        if self.library is not None:
            d["library"] = self.library
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Symbol:
        try:
            return cls(
                name=str(d["name"]),
                version=d.get("version"),
                default=bool(d.get("default", True)),
                type=str(d.get("type", "NOTYPE")),
                binding=str(d.get("binding", "GLOBAL")),
                visibility=str(d.get("visibility", "DEFAULT")),
                size=int(d.get("size", 0)),
                section=str(d.get("section", DEFINED)),
                library=d.get("library"),
            )
        except KeyError as exc:
            raise CorpusFormatError(f"symbol: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise CorpusFormatError(f"symbol {d.get('name')!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class VersionDefinition:
    """An entry of ``.gnu.version_d``: a version node this file defines."""

    name: str
    base: bool = False  # VER_FLG_BASE: the file's own name, not a real node
    weak: bool = False  # VER_FLG_WEAK
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VersionRequirement:
    """An entry of ``.gnu.version_r``: versions this file needs from the library ``file``."""

    file: str
    versions: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()  # the subset flagged VER_FLG_WEAK


@dataclass(frozen=True, slots=True)
class Corpus:
    """The dynamic view of one ELF file."""

    path: str
    elf_class: int = 64  # 32 or 64
    byte_order: str = "little"  # "little" or "big"
    machine: str = "EM_X86_64"
    osabi: str = "ELFOSABI_SYSV"
    elf_type: str = "ET_DYN"  # ET_EXEC ET_DYN ET_REL ET_CORE
    interpreter: str | None = None
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    flags: int = 0  # DT_FLAGS
    flags_1: int = 0  # DT_FLAGS_1
    version_definitions: tuple[VersionDefinition, ...] = ()
    version_requirements: tuple[VersionRequirement, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    size: int = 0  # file size in bytes
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    # --- derived views -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def bind_now(self) -> bool:
        return bool(self.flags & 0x8) or bool(self.flags_1 & 0x1)  # DF_BIND_NOW, DF_1_NOW

    @property
    def is_executable(self) -> bool:
        return self.elf_type == "ET_EXEC" or (self.elf_type == "ET_DYN" and self.interpreter is not None)

    @property
    def is_library(self) -> bool:
        return self.elf_type == "ET_DYN" and (self.soname is not None or self.interpreter is None)

    @property
    def exports(self) -> Iterator[Symbol]:
        """Defined, visible, non-local symbols another object can bind to."""
        for s in self.symbols:
            if s.section != UNDEFINED and s.binding != "LOCAL" and s.visibility in ("DEFAULT", "PROTECTED"):
                yield s

    @property
    def imports(self) -> Iterator[Symbol]:
        for s in self.symbols:
            if s.section == UNDEFINED and s.name:
                yield s

    @property
    def defined_versions(self) -> frozenset[str]:
        return frozenset(v.name for v in self.version_definitions if not v.base)

    # --- our JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "path": self.path,
            "elf_class": self.elf_class,
            "byte_order": self.byte_order,
            "machine": self.machine,
            "osabi": self.osabi,
            "elf_type": self.elf_type,
            "interpreter": self.interpreter,
            "soname": self.soname,
            "needed": list(self.needed),
            "rpath": list(self.rpath),
            "runpath": list(self.runpath),
            "flags": self.flags,
            "flags_1": self.flags_1,
            "size": self.size,
            "version_definitions": [
                {"name": v.name, "base": v.base, "weak": v.weak, "parents": list(v.parents)}
                for v in self.version_definitions
            ],
            "version_requirements": [
                {"file": r.file, "versions": list(r.versions), "weak": list(r.weak)}
                for r in self.version_requirements
            ],
            "symbols": [s.to_dict() for s in self.symbols],
        }
        if self.extra:
            d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Corpus:
        if not isinstance(d, Mapping):
            raise CorpusFormatError("corpus: expected a JSON object")
        schema = d.get("schema")
        if schema != SCHEMA:
            raise CorpusFormatError(f"corpus: field 'schema' is {schema!r}, expected {SCHEMA!r}")
        if "path" not in d:
            raise CorpusFormatError("corpus: missing field 'path'")
        try:
            return cls(
                path=str(d["path"]),
                elf_class=int(d.get("elf_class", 64)),
                byte_order=str(d.get("byte_order", "little")),
                machine=str(d.get("machine", "EM_X86_64")),
                osabi=str(d.get("osabi", "ELFOSABI_SYSV")),
                elf_type=str(d.get("elf_type", "ET_DYN")),
                interpreter=d.get("interpreter"),
                soname=d.get("soname"),
                needed=tuple(d.get("needed", ())),
                rpath=tuple(d.get("rpath", ())),
                runpath=tuple(d.get("runpath", ())),
                flags=int(d.get("flags", 0)),
                flags_1=int(d.get("flags_1", 0)),
                size=int(d.get("size", 0)),
                version_definitions=tuple(
                    VersionDefinition(
                        name=v["name"],
                        base=bool(v.get("base", False)),
                        weak=bool(v.get("weak", False)),
                        parents=tuple(v.get("parents", ())),
                    )
                    for v in d.get("version_definitions", ())
                ),
                version_requirements=tuple(
                    VersionRequirement(
                        file=r["file"], versions=tuple(r.get("versions", ())), weak=tuple(r.get("weak", ()))
                    )
                    for r in d.get("version_requirements", ())
                ),
                symbols=tuple(Symbol.from_dict(s) for s in d.get("symbols", ())),
                extra=dict(d.get("extra", {})),
            )
        except CorpusFormatError as exc:
            raise CorpusFormatError(f"corpus {d.get('path')!r}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise CorpusFormatError(f"corpus {d.get('path')!r}: bad field: {exc}") from None


# --- symbolator's JSON ------------------------------------------------------------------------------
#
# symbolator (the seed's analyzer) wrote a list of {"corpus": {...}} documents with symbol *names* as
# keys. It keeps one entry per name, so two versions of one name collapse: symbolator's own limit.

_ELF_CLASS_NAMES = {32: "ELFCLASS32", 64: "ELFCLASS64"}
_ELF_CLASS_NUMBERS = {v: k for k, v in _ELF_CLASS_NAMES.items()}


def to_symbolator(corpus: Corpus, corpus_name: str | None = None) -> dict[str, Any]:
    """One corpus in symbolator's shape: ``{"corpus": {metadata, needed, dynamic_tags, header, symbols}}``."""
    symbols: dict[str, dict[str, Any]] = {}
    for s in corpus.symbols:
        if not s.name:
            continue
        symbols[s.name] = {
            "version_info": s.version_info,
            "type": f"STT_{s.type}",
            "binding": f"STB_{s.binding}",
            "visibility": f"STV_{s.visibility}",
            "defined": s.defined,
        }
    dynamic_tags: dict[str, Any] = {}
    if corpus.soname:
        dynamic_tags["DT_SONAME"] = corpus.soname
    if corpus.needed:
        dynamic_tags["DT_NEEDED"] = list(corpus.needed)
    if corpus.rpath:
        dynamic_tags["DT_RPATH"] = ":".join(corpus.rpath)
    if corpus.runpath:
        dynamic_tags["DT_RUNPATH"] = ":".join(corpus.runpath)
    if corpus.flags:
        dynamic_tags["DT_FLAGS"] = corpus.flags
    if corpus.flags_1:
        dynamic_tags["DT_FLAGS_1"] = corpus.flags_1
    return {
        "corpus": {
            "metadata": {
                "path": corpus.path,
                "corpus_name": corpus_name or corpus.path,
                "corpus_soname": corpus.soname,
                "corpus_elf_class": _ELF_CLASS_NAMES.get(corpus.elf_class, str(corpus.elf_class)),
                "corpus_elf_machine": corpus.machine,
                "corpus_elf_osabi": corpus.osabi,
                "corpus_elf_type": corpus.elf_type,
                "corpus_elf_byte_order": corpus.byte_order,
            },
            "needed": list(corpus.needed),
            "dynamic_tags": dynamic_tags,
            "header": {
                "e_type": corpus.elf_type,
                "e_machine": corpus.machine,
                "ei_class": _ELF_CLASS_NAMES.get(corpus.elf_class, str(corpus.elf_class)),
                "ei_osabi": corpus.osabi,
                "ei_data": "ELFDATA2LSB" if corpus.byte_order == "little" else "ELFDATA2MSB",
            },
            "symbols": symbols,
        }
    }


def _strip_prefix(value: Any, prefix: str, field_name: str, where: str) -> str:
    if not isinstance(value, str):
        raise CorpusFormatError(f"{where}: field {field_name!r} must be a string, got {value!r}")
    return value[len(prefix) :] if value.startswith(prefix) else value


def _split_path_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(p for p in str(value).split(":") if p)


def from_symbolator(doc: Mapping[str, Any]) -> Corpus:
    """Read one symbolator corpus document (``{"corpus": {...}}`` or the inner object)."""
    if not isinstance(doc, Mapping):
        raise CorpusFormatError("symbolator corpus: expected a JSON object")
    inner = doc.get("corpus", doc)
    if not isinstance(inner, Mapping):
        raise CorpusFormatError("symbolator corpus: field 'corpus' must be an object")
    meta = inner.get("metadata")
    if not isinstance(meta, Mapping):
        raise CorpusFormatError("symbolator corpus: missing object 'metadata'")
    path = meta.get("path") or meta.get("corpus_name")
    if not path:
        raise CorpusFormatError("symbolator corpus: metadata has neither 'path' nor 'corpus_name'")
    where = f"symbolator corpus {path!r}"
    raw_symbols = inner.get("symbols", {})
    if not isinstance(raw_symbols, Mapping):
        raise CorpusFormatError(f"{where}: field 'symbols' must be an object keyed by symbol name")
    symbols: list[Symbol] = []
    for name, info in raw_symbols.items():
        if not isinstance(info, Mapping):
            raise CorpusFormatError(f"{where}: symbols[{name!r}] must be an object")
        vi = info.get("version_info") or ""
        if not isinstance(vi, str):
            raise CorpusFormatError(f"{where}: symbols[{name!r}].version_info must be a string")
        defined = bool(info.get("defined", False))
        version: str | None
        if vi.startswith("@@"):
            version, default = vi[2:] or None, True
        elif vi.startswith("@"):
            version, default = vi[1:] or None, False
        else:
            version, default = (vi or None), True
        symbols.append(
            Symbol(
                name=str(name),
                version=version,
                default=default if defined else version is None,
                type=_strip_prefix(info.get("type", "STT_NOTYPE"), "STT_", "type", where),
                binding=_strip_prefix(info.get("binding", "STB_GLOBAL"), "STB_", "binding", where),
                visibility=_strip_prefix(info.get("visibility", "STV_DEFAULT"), "STV_", "visibility", where),
                section=DEFINED if defined else UNDEFINED,
            )
        )
    tags = inner.get("dynamic_tags", {}) or {}
    if not isinstance(tags, Mapping):
        raise CorpusFormatError(f"{where}: field 'dynamic_tags' must be an object")
    elf_class_raw = meta.get("corpus_elf_class", "ELFCLASS64")
    elf_class = (
        _ELF_CLASS_NUMBERS.get(elf_class_raw, 64) if isinstance(elf_class_raw, str) else int(elf_class_raw)
    )
    header = inner.get("header", {}) or {}
    needed = inner.get("needed", tags.get("DT_NEEDED", [])) or []
    if not isinstance(needed, list):
        raise CorpusFormatError(f"{where}: field 'needed' must be a list")
    return Corpus(
        path=str(path),
        elf_class=elf_class,
        byte_order="big" if header.get("ei_data") == "ELFDATA2MSB" else "little",
        machine=str(meta.get("corpus_elf_machine", header.get("e_machine", "EM_X86_64"))),
        osabi=str(meta.get("corpus_elf_osabi", header.get("ei_osabi", "ELFOSABI_SYSV"))),
        elf_type=str(meta.get("corpus_elf_type", header.get("e_type", "ET_DYN"))),
        soname=meta.get("corpus_soname") or tags.get("DT_SONAME"),
        needed=tuple(str(n) for n in needed),
        rpath=_split_path_list(tags.get("DT_RPATH")),
        runpath=_split_path_list(tags.get("DT_RUNPATH")),
        flags=int(tags.get("DT_FLAGS", 0) or 0),
        flags_1=int(tags.get("DT_FLAGS_1", 0) or 0),
        symbols=tuple(symbols),
    )


def read_symbolator(data: Any) -> list[Corpus]:
    """A symbolator JSON file's content: a list of corpus documents (or a single one)."""
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise CorpusFormatError("symbolator JSON: expected a list of corpus documents")
    return [from_symbolator(doc) for doc in data]


def write_symbolator(corpora: Iterable[Corpus]) -> list[dict[str, Any]]:
    return [to_symbolator(c) for c in corpora]
