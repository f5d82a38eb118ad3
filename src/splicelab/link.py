"""Link closures: an emulation of the dynamic loader (x86-64 glibc ``ld.so``), over corpora only.

A :class:`World` is every build known (artifacts and their corpora), laid out in directories the way
they lie on disk. It never looks at the host's file system: a directory no artifact has files in holds
nothing, so a search path that maps nowhere cannot fall through to the host's libraries.

:meth:`World.closure` loads a binary the way ``ld.so`` does (``elf/dl-load.c``, ``dl-deps.c``):

- breadth-first over DT_NEEDED, an already-loaded object being matched by the names it was loaded
  by and by its soname before any search;
- per search: DT_RPATH of the loading object, then of its loader and on up to the executable (only
  when the loading object has no DT_RUNPATH; an object's RPATH is ignored when it has a RUNPATH),
  LD_LIBRARY_PATH, DT_RUNPATH of the loading object only, then the default directories (unless
  DF_1_NODEFLIB); ``$ORIGIN``, ``$LIB`` and ``$PLATFORM`` are expanded;
- the interpreter (``ld-linux-x86-64.so.2``) is always loaded: it is the artifact set's own file when
  present, else a built-in stand-in that exports the symbols only ``ld.so`` defines.

:meth:`Closure.bind` binds every import in load order (``elf/dl-lookup.c``): a versioned import binds
to the first object defining the name at that version (or unversioned); an unversioned import to an
unversioned, oldest-version or default (``@@``) definition, never to a hidden ``@`` one; weak
undefined imports may stay unbound. :meth:`Closure.problems` lists what makes ``ld.so`` (with
``LD_BIND_NOW``) refuse the program: a NEEDED not found, a version node the named file does not
define (``dl-version.c``), an unbound import, and a copy-relocated data object whose size differs.

A *splice* replaces every artifact of one package by another build: files of the original are hidden
and the replacement's files appear in their place (an overlay: a directory of the original shows the
replacement's files of the same relative directory). :meth:`World.splice` reports what the splice
changes relative to the unspliced closure, re-resolving only what the replacement touches when it can.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from splicelab.artifact import Artifact
from splicelab.corpus import ABSOLUTE, UNDEFINED, Corpus, Symbol

# Problem kinds: the loader's own view (predictors map them onto their reason kinds).
MISSING_SONAME = "missing-soname"
MISSING_VERSION = "missing-version"
MISSING_SYMBOL = "missing-symbol"
DATA_SIZE = "data-shrunk"

# Symbols only the dynamic loader defines (glibc's ld.so), for when the artifact set has no ld.so.
RTLD_SYMBOLS: frozenset[str] = frozenset(
    {
        "_rtld_global",
        "_rtld_global_ro",
        "__tls_get_addr",
        "___tls_get_addr",
        "_dl_argv",
        "__libc_enable_secure",
        "__libc_stack_end",
        "_dl_find_object",
        "_dl_mcount",
        "_r_debug",
        "__rseq_flags",
        "__rseq_offset",
        "__rseq_size",
        "__rtld_version_placeholder",
        "__tunable_get_val",
        "__nptl_change_stack_perm",
        "__nptl_initial_report_events",
        "_dl_allocate_tls",
        "_dl_allocate_tls_init",
        "_dl_deallocate_tls",
        "_dl_get_tls_static_info",
        "_dl_make_stack_executable",
        "_dl_rtld_di_serinfo",
        "_dl_debug_state",
        "_dl_catch_error",
        "_dl_catch_exception",
        "_dl_signal_error",
        "_dl_signal_exception",
        "_dl_exception_create",
        "_dl_exception_create_format",
        "_dl_exception_free",
        "_dl_fatal_printf",
        "_dl_find_dso_for_object",
        "_dl_audit_preinit",
        "_dl_audit_symbind_alt",
        "_dl_x86_get_cpu_features",
    }
)

# Sonames of dynamic loaders: matched to the running interpreter, never searched for.
INTERPRETER_SONAMES: frozenset[str] = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "ld-linux-x32.so.2",
        "ld-linux.so.2",
        "ld-linux-aarch64.so.1",
        "ld-linux-armhf.so.3",
        "ld-linux.so.3",
        "ld64.so.1",
        "ld64.so.2",
        "ld.so.1",
        "ld-linux-riscv64-lp64d.so.1",
    }
)
DEFAULT_INTERPRETER = "/lib64/ld-linux-x86-64.so.2"

DF_1_NODEFLIB = 0x800
# Symbol types the lookup considers (dl-lookup.c ALLOWED_STT).
_BINDABLE_TYPES = frozenset({"NOTYPE", "OBJECT", "FUNC", "COMMON", "TLS", "GNU_IFUNC"})
_EXPORTED_VISIBILITY = frozenset({"DEFAULT", "PROTECTED"})

_ANALYSIS_CACHE_MAX = 4096


# --- per-corpus symbol index ---------------------------------------------------------------------------


class SymbolIndex:
    """What one corpus defines and imports, arranged for the loader's lookups (built once per corpus).

    ``vdefs``: (name, version) → definition for versioned definitions (``@`` and ``@@``);
    ``udefs``: name → unversioned definition (or bound to the base version); ``plain``: name → the
    definition an *unversioned* import accepts (unversioned, the oldest version node, or the default);
    ``imports``: every import as (name, version, library, weak); ``strong_v``/``strong_u``: the keys of
    the strong imports, versioned ((name, version) → library) and unversioned (names).
    """

    __slots__ = (
        "by_version",
        "corpus",
        "has_versions",
        "import_names",
        "imports",
        "names",
        "plain",
        "plain_keys",
        "strong_by_library",
        "strong_u",
        "strong_v",
        "udef_keys",
        "udefs",
        "vdef_keys",
        "vdefs",
        "version_names",
    )

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        verdefs = corpus.version_definitions
        self.has_versions = bool(verdefs)
        self.version_names = frozenset(v.name for v in verdefs)
        first = next((v.name for v in verdefs if not v.base), None)
        vdefs: dict[tuple[str, str], Symbol] = {}
        udefs: dict[str, Symbol] = {}
        oldest: dict[str, Symbol] = {}
        default: dict[str, Symbol] = {}
        imports: list[tuple[str, str | None, str | None, bool]] = []
        strong_v: dict[tuple[str, str], str | None] = {}
        strong_u: set[str] = set()
        for s in corpus.symbols:
            name = s.name
            if not name:
                continue
            if s.section == UNDEFINED:
                weak = s.binding == "WEAK"
                imports.append((name, s.version, s.library, weak))
                if not weak:
                    if s.version is None:
                        strong_u.add(name)
                    else:
                        strong_v[(name, s.version)] = s.library
                continue
            if (
                s.binding == "LOCAL"
                or s.visibility not in _EXPORTED_VISIBILITY
                or s.type not in _BINDABLE_TYPES
                or (s.section == ABSOLUTE and name in self.version_names)
            ):
                continue
            version = s.version
            if version is None:
                udefs.setdefault(name, s)
                continue
            vdefs.setdefault((name, version), s)
            if version == first and s.library is None:
                oldest.setdefault(name, s)
            elif s.default or s.library is not None:  # @@, or a copy of a library's symbol
                default.setdefault(name, s)
        plain = dict(default)
        plain.update(oldest)
        plain.update(udefs)
        self.vdefs = vdefs
        self.udefs = udefs
        self.plain = plain
        self.vdef_keys = frozenset(vdefs)
        self.names = frozenset(udefs).union(k[0] for k in vdefs)
        self.udef_keys = frozenset(udefs)
        self.plain_keys = frozenset(plain)
        self.imports = tuple(imports)
        self.import_names = frozenset(i[0] for i in imports)
        self.strong_v = strong_v
        by_lib: dict[str | None, set[tuple[str, str]]] = {}
        for key, lib in strong_v.items():
            by_lib.setdefault(lib, set()).add(key)
        self.strong_by_library = {lib: frozenset(keys) for lib, keys in by_lib.items()}
        self.strong_u = frozenset(strong_u)
        self.by_version: dict[tuple[str | None, str], list[str]] | None = None

    def lookup(self, name: str, version: str | None) -> Symbol | None:
        """The definition an import of ``name`` (at ``version``, or unversioned) binds to here."""
        if version is None:
            return self.plain.get(name)
        s = self.vdefs.get((name, version))
        if s is None:
            s = self.udefs.get(name)
        return s

    def users(self, library: str | None, version: str) -> list[str]:
        """Names of the imports that require ``version`` from ``library`` (sorted)."""
        if self.by_version is None:
            by: dict[tuple[str | None, str], list[str]] = {}
            for name, v, lib, _weak in self.imports:
                if v is not None:
                    by.setdefault((lib, v), []).append(name)
            for names in by.values():
                names.sort()
            self.by_version = by
        return self.by_version.get((library, version), [])


# --- files, loaded objects, problems -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class LibraryFile:
    """A file of the world: which artifact installed it, where it lies now."""

    artifact: Artifact | None  # None for the built-in loader stand-in
    relpath: str
    corpus: Corpus
    path: str  # absolute, where the file lies now
    # the name other objects know it by: its soname, else its file name
    role: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", self.corpus.soname or os.path.basename(self.relpath))

    @property
    def dir(self) -> str:
        return os.path.dirname(self.path)

    def __repr__(self) -> str:
        owner = self.artifact.short_id if self.artifact is not None else "ld.so"
        return f"<{owner}:{self.relpath}>"


@dataclass(frozen=True, slots=True, eq=False)
class LoadedObject:
    """One object of a closure: the file, who loaded it first, the name it was found by."""

    file: LibraryFile
    loader: int | None  # position of the object whose NEEDED loaded it; None for the root
    name: str  # the NEEDED entry it was found by (the root: its relative path)
    replaced: bool = False  # comes from a replacement artifact of a splice

    @property
    def artifact(self) -> Artifact | None:
        return self.file.artifact

    @property
    def relpath(self) -> str:
        return self.file.relpath

    @property
    def corpus(self) -> Corpus:
        return self.file.corpus

    @property
    def path(self) -> str:
        return self.file.path

    @property
    def role(self) -> str:
        return self.file.role

    @property
    def shown(self) -> str:
        """The path as ld.so names it in messages: the directory it was found in and the NEEDED name
        (``lib/libpng16.so.16``), relative to its artifact's root."""
        rel = self.file.relpath
        if self.loader is not None and "/" not in self.name and self.file.artifact is not None:
            rel = os.path.join(os.path.dirname(rel), self.name)
        return rel


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    """A NEEDED entry no directory of the search path holds."""

    name: str
    needed_by: int  # position of the requesting object


@dataclass(frozen=True, slots=True)
class Binding:
    """One import of one object and the object it binds to (None: unbound)."""

    requester: int
    name: str
    version: str | None
    library: str | None
    weak: bool
    provider: int | None

    @property
    def bound(self) -> bool:
        return self.provider is not None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that makes the loader refuse (or, for a data size, corrupt) the program.

    ``requester`` is the role (soname or file name) of the object that needs the thing, so a problem
    of a replaced library and of its replacement compare equal; ``requester_file`` its relative path.
    """

    kind: str
    symbol: str | None
    version: str | None
    library: str | None
    requester: str
    requester_file: str
    from_replacement: bool = False
    detail: str = ""

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None, str]:
        return (self.kind, self.symbol, self.version, self.library, self.requester)


def _problem(
    kind: str,
    obj: LoadedObject,
    *,
    symbol: str | None = None,
    version: str | None = None,
    library: str | None = None,
    detail: str = "",
) -> Problem:
    return Problem(
        kind,
        symbol,
        version,
        library,
        obj.role,
        obj.relpath,
        obj.replaced,
        detail or f"required by {obj.shown}",
    )


@dataclass(frozen=True, slots=True)
class CopyEntry:
    """A data object the root executable holds a copy of (an R_X86_64_COPY candidate)."""

    name: str
    version: str | None
    library: str | None  # the file the version is required from, when the copy is version-tagged
    size: int


# --- closures -------------------------------------------------------------------------------------------


class Closure:
    """The objects one binary loads, in load (breadth-first) order, and how their imports bind."""

    def __init__(
        self,
        world: World,
        objects: Sequence[LoadedObject],
        missing: Sequence[MissingLibrary],
        names: Mapping[str, int],
        searches: Sequence[tuple[int, str, int | None]],
        registered: Mapping[str, int] | None = None,
    ) -> None:
        self.world = world
        self.objects: tuple[LoadedObject, ...] = tuple(objects)
        self.missing: tuple[MissingLibrary, ...] = tuple(missing)
        self._names = dict(names)
        self.searches = tuple(searches)  # (loader position, name, result position | None) per search
        # name -> position whose NEEDED processing made it known (-1: the root's own soname)
        self.registered: dict[str, int] = dict(registered or {})
        self._bindings: tuple[Binding, ...] | None = None
        self._problems: tuple[Problem, ...] | None = None
        self._copies: tuple[tuple[CopyEntry, int | None], ...] | None = None

    @property
    def root(self) -> LoadedObject:
        return self.objects[0]

    def __len__(self) -> int:
        return len(self.objects)

    def __iter__(self) -> Iterator[LoadedObject]:
        return iter(self.objects)

    def position(self, name: str) -> int | None:
        """The position of the object loaded by ``name`` or with soname ``name``."""
        return self._names.get(name)

    def find(self, name: str) -> LoadedObject | None:
        pos = self._names.get(name)
        return None if pos is None else self.objects[pos]

    @property
    def ok(self) -> bool:
        return not self.problems()

    def indexes(self) -> list[SymbolIndex]:
        index = self.world.index
        return [index(o.corpus) for o in self.objects]

    def _definers(self, indexes: Sequence[SymbolIndex]) -> dict[str, list[int]]:
        """Imported name -> positions of the objects defining it, in load order."""
        wanted: set[str] = set()
        for ix in indexes:
            wanted.update(ix.import_names)
        definers: dict[str, list[int]] = {}
        for pos, ix in enumerate(indexes):
            for name in ix.names & wanted:
                definers.setdefault(name, []).append(pos)
        return definers

    def bind(self) -> tuple[Binding, ...]:
        """Every import of every object, bound in load order (glibc's global scope)."""
        if self._bindings is None:
            indexes = self.indexes()
            definers = self._definers(indexes)
            out: list[Binding] = []
            for r, ix in enumerate(indexes):
                for name, version, library, weak in ix.imports:
                    provider = None
                    for p in definers.get(name, ()):
                        if indexes[p].lookup(name, version) is not None:
                            provider = p
                            break
                    out.append(Binding(r, name, version, library, weak, provider))
            self._bindings = tuple(out)
        return self._bindings

    def copies(self) -> tuple[tuple[CopyEntry, int | None], ...]:
        """The root executable's copy-relocation candidates and the object each copy comes from."""
        if self._copies is None:
            indexes = self.indexes()
            entries = copy_entries(self.root.corpus)
            self._copies = tuple((e, _first_provider(indexes, e.name, e.version, 1)) for e in entries)
        return self._copies

    def missing_versions(self) -> list[tuple[int, str, str]]:
        """(requester position, file, version) of every required version node the file lacks."""
        out = []
        index = self.world.index
        for r, obj in enumerate(self.objects):
            for req in obj.corpus.version_requirements:
                t = self._names.get(req.file)
                if t is None:
                    continue
                target = index(self.objects[t].corpus)
                if not target.has_versions:
                    continue  # "no version information available": a warning, not fatal
                for v in req.versions:
                    if v not in target.version_names and v not in req.weak:
                        out.append((r, req.file, v))
        return out

    def problems(self) -> tuple[Problem, ...]:
        """Everything that makes ``ld.so`` refuse this closure (with ``LD_BIND_NOW``), in load order."""
        if self._problems is None:
            objs = self.objects
            out: list[Problem] = []
            for m in self.missing:
                out.append(_problem(MISSING_SONAME, objs[m.needed_by], library=m.name))
            missing_nodes: set[tuple[int, str, str]] = set()
            for r, file, v in self.missing_versions():
                missing_nodes.add((r, file, v))
                out.extend(_version_problems(objs[r], self.world.index(objs[r].corpus), file, v))
            names = self._names
            incomplete = {m.needed_by for m in self.missing}
            for b in self.bind():
                if b.provider is not None or b.weak:
                    continue
                if _subsumed(b.requester, b.version, b.library, names, missing_nodes, incomplete):
                    continue
                out.append(_symbol_problem(objs[b.requester], b.name, b.version, b.library))
            out.extend(_copy_problems(objs, self.copies(), self._names, None, self.world.index))
            self._problems = tuple(out)
        return self._problems

    def describe(self) -> str:
        """An ``ldd``-like listing."""
        lines = []
        for pos, o in enumerate(self.objects):
            via = "" if o.loader is None else f" (needed by #{o.loader} as {o.name})"
            mark = " [replacement]" if o.replaced else ""
            lines.append(f"#{pos} {o.role} => {o.path}{via}{mark}")
        for m in self.missing:
            lines.append(f"   {m.name} => not found (needed by #{m.needed_by})")
        return "\n".join(lines)

    __str__ = describe


def copy_entries(corpus: Corpus) -> tuple[CopyEntry, ...]:
    """Data objects an executable defines that may be copies of a library's (copy relocations)."""
    if not corpus.is_executable:
        return ()
    out = []
    for s in corpus.symbols:
        if s.section != UNDEFINED and s.type == "OBJECT" and s.size > 0 and s.binding != "LOCAL" and s.name:
            out.append(CopyEntry(s.name, s.version, s.library, s.size))
    return tuple(out)


def _first_provider(indexes: Sequence[SymbolIndex], name: str, version: str | None, start: int) -> int | None:
    for p in range(start, len(indexes)):
        if indexes[p].lookup(name, version) is not None:
            return p
    return None


def _subsumed(
    requester: int,
    version: str | None,
    library: str | None,
    names: Mapping[str, int],
    missing_nodes: set[tuple[int, str, str]],
    incomplete: set[int],
) -> bool:
    """Whether an unbound import is already explained by a missing file or a missing version node.

    An unversioned import of an object some of whose NEEDED entries were not found is explained by
    them: ld.so stops at the missing file, and nothing tells where the symbol would have come from."""
    if version is None or library is None:
        return requester in incomplete
    if library not in names:
        return True  # the library it is required from was not found: that is the problem
    return (requester, library, version) in missing_nodes


def _version_problems(obj: LoadedObject, ix: SymbolIndex, file: str, version: str) -> list[Problem]:
    """One problem per missing version node, as ld.so reports it; ``symbol`` is the first import (by
    name) that uses the node, the detail names a few more."""
    users = ix.users(file, version)
    detail = f"required by {obj.shown}"
    if len(users) > 1:
        more = ", ".join(users[1:4]) + (f" and {len(users) - 4} more" if len(users) > 4 else "")
        detail += f"; also used by {more}"
    return [
        _problem(
            MISSING_VERSION,
            obj,
            symbol=users[0] if users else None,
            version=version,
            library=file,
            detail=detail,
        )
    ]


def _symbol_problem(obj: LoadedObject, name: str, version: str | None, library: str | None) -> Problem:
    return _problem(MISSING_SYMBOL, obj, symbol=name, version=version, library=library)


def _copy_problems(
    objs: Sequence[LoadedObject],
    copies: Sequence[tuple[CopyEntry, int | None]],
    names: Mapping[str, int],
    baseline: Mapping[str, int | None] | None,
    index: Callable[[Corpus], SymbolIndex],
) -> list[Problem]:
    """Copy relocations that fail: no provider (when version-tagged from a file that was found, or
    when the unspliced closure ``baseline`` had one) or a provider whose object has another size."""
    out = []
    for e, p in copies:
        if p is None:
            had = baseline.get(e.name) if baseline is not None else None
            if (e.library is not None and e.library in names) or had is not None:
                out.append(
                    _problem(
                        MISSING_SYMBOL,
                        objs[0],
                        symbol=e.name,
                        version=e.version,
                        library=e.library,
                        detail=f"copy relocation in {objs[0].shown}: no loaded object defines it",
                    )
                )
            continue
        provider = objs[p]
        sym = index(provider.corpus).lookup(e.name, e.version)
        if sym is not None and sym.size != e.size:
            change = "shrunk" if sym.size < e.size else "grew"
            out.append(
                _problem(
                    DATA_SIZE,
                    objs[0],
                    symbol=e.name,
                    version=e.version,
                    library=provider.role,
                    detail=(
                        f"copy relocation: {objs[0].shown} holds {e.size} bytes, "
                        f"{provider.shown} defines {sym.size} ({change})"
                    ),
                )
            )
    return out


# --- the world ------------------------------------------------------------------------------------------


def _abs(path: str | Path) -> str:
    return os.path.normpath(os.path.abspath(os.fspath(path)))


_RTLD_STUB = LibraryFile(
    None,
    "<ld.so>",
    Corpus(
        path="<ld.so>",
        soname="ld-linux-x86-64.so.2",
        symbols=tuple(Symbol(name=n, type="FUNC") for n in sorted(RTLD_SYMBOLS)),
    ),
    "<built-in ld.so>",
)


@dataclass
class _Baseline:
    """The unspliced closure of one binary, arranged for fast splice checks (cached per binary)."""

    closure: Closure
    indexes: list[SymbolIndex]
    providers: list[int | None]  # per binding of closure.bind()
    problem_keys: frozenset[tuple[str, str | None, str | None, str | None, str]]
    copies: tuple[tuple[CopyEntry, int | None], ...]
    copy_baseline: dict[str, int | None]
    copy_names: frozenset[str]
    copy_by_name: dict[str, list[CopyEntry]]
    incomplete: set[int]  # positions of objects with a NEEDED not found
    deps: dict[str, _DepDemand] = field(default_factory=dict)
    # bindings grouped for re-checks after a splice that changes the closure's shape (built on demand)
    by_provider: dict[int, list[Binding]] | None = None
    unbound_by_library: dict[str | None, list[Binding]] | None = None

    def groups(self) -> tuple[dict[int, list[Binding]], dict[str | None, list[Binding]]]:
        if self.by_provider is None or self.unbound_by_library is None:
            by_provider: dict[int, list[Binding]] = {}
            unbound: dict[str | None, list[Binding]] = {}
            for b in self.closure.bind():
                if b.weak:
                    continue
                if b.provider is None:
                    unbound.setdefault(b.library if b.version is not None else None, []).append(b)
                else:
                    by_provider.setdefault(b.provider, []).append(b)
            self.by_provider, self.unbound_by_library = by_provider, unbound
        return self.by_provider, self.unbound_by_library


@dataclass
class _DepDemand:
    """What a binary's closure asks of one dependency package's objects (at ``positions``)."""

    positions: tuple[int, ...]
    # imports of other objects bound to those positions (by position), and who made them
    requesters_v: dict[tuple[str, str], list[tuple[int, str | None]]]
    requesters_u: dict[str, list[int]]
    bound_v: dict[int, frozenset[tuple[str, str]]]
    bound_u: dict[int, frozenset[str]]
    unbound_v: frozenset[tuple[str, str]]  # unbound imports versioned from those positions
    vreqs: list[tuple[int, str, tuple[str, ...], tuple[str, ...], int]]  # (r, file, versions, weak, target)
    needed_versions: dict[int, frozenset[str]]  # position -> every (non-weak) version required of it
    other_names: frozenset[str]  # names searched for whose search did not end at those positions
    subtree: dict[int, list[tuple[int, str, int | None]]]  # position -> searches made below it
    copies: tuple[CopyEntry, ...]  # copy relocations those positions provide
    copy_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class SpliceEffect:
    """What a splice does to one binary's closure.

    ``new``: problems the spliced closure has that the unspliced one has not (these break the
    splice); ``baseline``: the unspliced closure's own problems; ``objects``: what the spliced
    closure loads; ``fast``: whether the effect was computed incrementally; ``loaded``: whether the
    closure loads the dependency at all (when not, the splice changes nothing).
    """

    new: tuple[Problem, ...]
    baseline: tuple[Problem, ...]
    objects: tuple[LoadedObject, ...]
    fast: bool
    loaded: bool = True

    @property
    def files(self) -> tuple[LibraryFile, ...]:
        return tuple(o.file for o in self.objects)

    @property
    def replaced(self) -> tuple[LibraryFile, ...]:
        """The replacement's files the spliced closure loads."""
        return tuple(o.file for o in self.objects if o.replaced)


class World:
    """Every build known, laid out by directory, and the loader's configuration.

    ``default_dirs``: the artifact set's system directories (searched last); ``path_map``: recorded
    install root → the root it lies in now (each artifact's ``recorded_root`` → ``root`` is added);
    ``ld_library_path``: the LD_LIBRARY_PATH the binaries run with; ``lib`` and ``platform``: what
    ``$LIB`` and ``$PLATFORM`` expand to.
    """

    def __init__(
        self,
        artifacts: Iterable[Artifact],
        default_dirs: Sequence[str | Path] = (),
        path_map: Mapping[str, str | Path] | None = None,
        ld_library_path: Sequence[str] = (),
        *,
        lib: str = "lib64",
        platform: str = "x86_64",
    ) -> None:
        self.artifacts: tuple[Artifact, ...] = tuple(artifacts)
        self.lib = lib
        self.platform = platform
        self._by_name: dict[str, list[Artifact]] = {}
        self._files: dict[tuple[int, str], LibraryFile] = {}
        self._dirs: dict[str, dict[str, LibraryFile]] = {}
        self._dir_packages: dict[str, dict[str, list[Artifact]]] = {}  # dir -> package -> artifacts
        self._art_dirs: dict[int, set[str]] = {}
        self._roots: dict[int, str] = {}
        self._prefixes: dict[str, str] = {}
        for recorded, real in (path_map or {}).items():
            self._prefixes[os.path.normpath(str(recorded))] = _abs(real)
        for a in self.artifacts:
            self._by_name.setdefault(a.name, []).append(a)
            root = _abs(a.root)
            self._roots[id(a)] = root
            if a.recorded_root:
                self._prefixes.setdefault(os.path.normpath(a.recorded_root), root)
        self._index_files()
        self._map_cache: dict[str, str | None] = {}
        self.default_dirs: tuple[str, ...] = self._map_list(str(d) for d in default_dirs)
        self.ld_library_path: tuple[str, ...] = self._map_list(ld_library_path)
        self._rpath_cache: dict[int, tuple[str, ...]] = {}
        self._runpath_cache: dict[int, tuple[str, ...]] = {}
        self._rtld_cache: dict[str | None, LibraryFile] = {}
        self._names_of: dict[int, dict[str, LibraryFile]] = {}
        self._overlay_cache: dict[tuple[str, int], tuple[Artifact, str]] = {}
        self._closures: OrderedDict[tuple[int, str], Closure] = OrderedDict()
        self._baselines: OrderedDict[tuple[int, str], _Baseline] = OrderedDict()
        self._definers: dict[str, list[LibraryFile]] | None = None
        self._indexes: dict[int, tuple[Corpus, SymbolIndex]] = {}
        self._basenames: dict[str, str] = {}
        self._lost_cache: dict[tuple[int, int], tuple[frozenset[tuple[str, str]], frozenset[str]]] = {}
        self._unprovided_cache: dict[tuple[int, str | None, int], frozenset[tuple[str, str]]] = {}
        self._resized_cache: dict[tuple[int, int], frozenset[str]] = {}

    # -- indexing --

    def _index_files(self) -> None:
        dirs = self._dirs
        pending_aliases: list[tuple[str, str, LibraryFile]] = []
        pending_sonames: list[tuple[str, str, LibraryFile]] = []
        for a in self.artifacts:
            root = self._roots[id(a)]
            own_dirs = self._art_dirs.setdefault(id(a), set())
            for rel, corpus in sorted(a.files.items()):
                f = LibraryFile(a, rel, corpus, os.path.normpath(os.path.join(root, rel)))
                self._files[(id(a), rel)] = f
                d, base = os.path.split(f.path)
                dirs.setdefault(d, {}).setdefault(base, f)
                own_dirs.add(d)
                owners = self._dir_packages.setdefault(d, {}).setdefault(a.name, [])
                if not owners or owners[-1] is not a:
                    owners.append(a)
                if corpus.soname and corpus.soname != base:
                    pending_sonames.append((d, corpus.soname, f))
            aliases = a.metadata.get("aliases") if isinstance(a.metadata, Mapping) else None
            if isinstance(aliases, Mapping):
                for alias, target in sorted(aliases.items()):
                    tf = self._files.get((id(a), str(target)))
                    if tf is not None:
                        d, base = os.path.split(os.path.normpath(os.path.join(root, str(alias))))
                        if d in dirs:
                            pending_aliases.append((d, base, tf))
        for d, base, f in pending_aliases:
            dirs[d].setdefault(base, f)
        # ldconfig's soname links: a library is reachable by its soname in its directory.
        for d, soname, f in pending_sonames:
            dirs[d].setdefault(soname, f)

    def index(self, corpus: Corpus) -> SymbolIndex:
        """The symbol index of a corpus, built once per world (corpora are immutable)."""
        hit = self._indexes.get(id(corpus))
        if hit is not None and hit[0] is corpus:
            return hit[1]
        ix = SymbolIndex(corpus)
        self._indexes[id(corpus)] = (corpus, ix)
        return ix

    def named(self, name: str) -> list[Artifact]:
        """Every artifact of package ``name``, in the order given."""
        return list(self._by_name.get(name, ()))

    def package_names(self) -> list[str]:
        return sorted(self._by_name)

    def file(self, artifact: Artifact, relpath: str) -> LibraryFile:
        f = self._files.get((id(artifact), relpath))
        if f is None:
            if relpath in artifact.files and all(a is not artifact for a in self.artifacts):
                raise KeyError(f"artifact {artifact.id} is not part of this world")
            raise KeyError(f"{artifact.id} has no ELF file {relpath!r}")
        return f

    def files_in(self, directory: str | Path) -> dict[str, LibraryFile]:
        """The files (and soname/alias names) a real directory holds in this world."""
        return dict(self._dirs.get(_abs(directory), {}))

    # -- paths --

    def map_path(self, path: str) -> str | None:
        """The real directory a recorded or real absolute directory ``path`` is, when the world has
        files there; None otherwise (never the host's)."""
        hit = self._map_cache.get(path)
        if hit is not None or path in self._map_cache:
            return hit
        result: str | None = None
        if path.startswith("/"):
            d = os.path.normpath(path)
            p = d
            while True:
                real = self._prefixes.get(p)
                if real is not None:
                    cand = os.path.normpath(real + d[len(p) :]) if p != "/" else os.path.normpath(real + d)
                    if cand in self._dirs:
                        result = cand
                    break
                if p == "/":
                    break
                p = os.path.dirname(p)
            if result is None and d in self._dirs:
                result = d
        self._map_cache[path] = result
        return result

    def _map_list(self, paths: Iterable[str]) -> tuple[str, ...]:
        out: list[str] = []
        for p in paths:
            for part in str(p).split(":"):
                m = self.map_path(part) if part else None
                if m is not None and m not in out:
                    out.append(m)
        return tuple(out)

    def _expand(self, entry: str, origin: str) -> str | None:
        if "$" not in entry:
            return entry
        for token, value in (
            ("${ORIGIN}", origin),
            ("$ORIGIN", origin),
            ("${LIB}", self.lib),
            ("$LIB", self.lib),
            ("${PLATFORM}", self.platform),
            ("$PLATFORM", self.platform),
        ):
            entry = entry.replace(token, value)
        return None if "$" in entry else entry

    def _dirs_of(self, f: LibraryFile, entries: Sequence[str]) -> tuple[str, ...]:
        origin = f.dir
        out: list[str] = []
        for e in entries:
            for part in e.split(":"):
                if not part:
                    continue
                x = self._expand(part, origin)
                m = self.map_path(x) if x is not None else None
                if m is not None and m not in out:
                    out.append(m)
        return tuple(out)

    def rpath_dirs(self, f: LibraryFile) -> tuple[str, ...]:
        """DT_RPATH of a file, expanded and mapped (empty when it has a RUNPATH: ld.so ignores it)."""
        hit = self._rpath_cache.get(id(f))
        if hit is None:
            c = f.corpus
            hit = () if c.runpath else self._dirs_of(f, c.rpath)
            self._rpath_cache[id(f)] = hit
        return hit

    def runpath_dirs(self, f: LibraryFile) -> tuple[str, ...]:
        hit = self._runpath_cache.get(id(f))
        if hit is None:
            hit = self._dirs_of(f, f.corpus.runpath)
            self._runpath_cache[id(f)] = hit
        return hit

    def search_path(self, objects: Sequence[LoadedObject], loader: int) -> list[str]:
        """The directories ``ld.so`` searches for a NEEDED entry of ``objects[loader]``, in order."""
        obj = objects[loader]
        dirs: list[str] = []
        if not obj.corpus.runpath:
            j: int | None = loader
            while j is not None:
                o = objects[j]
                dirs.extend(self.rpath_dirs(o.file))
                j = o.loader
        dirs.extend(self.ld_library_path)
        if obj.corpus.runpath:
            dirs.extend(self.runpath_dirs(obj.file))
        if not obj.corpus.flags_1 & DF_1_NODEFLIB:
            dirs.extend(self.default_dirs)
        return dirs

    # -- splices: which files replace which --

    def names_of(self, artifact: Artifact) -> dict[str, LibraryFile]:
        """Every name a file of ``artifact`` can be found by (file names, aliases, sonames)."""
        hit = self._names_of.get(id(artifact))
        if hit is None:
            hit = {}
            for d in sorted(self._art_dirs.get(id(artifact), ())):
                for name, f in self._dirs.get(d, {}).items():
                    if f.artifact is artifact:
                        hit.setdefault(name, f)
            self._names_of[id(artifact)] = hit
        return hit

    def _overlay_source(self, d: str, replace: Mapping[str, Artifact]) -> tuple[Artifact, str] | None:
        """When directory ``d`` holds files of a replaced artifact: (replacement, its matching dir)."""
        packages = self._dir_packages.get(d)
        if not packages:
            return None
        for name, r in replace.items():
            for a in packages.get(name, ()):
                if a is r:
                    continue
                key = (d, id(r))
                hit = self._overlay_cache.get(key)
                if hit is None:
                    rel = os.path.relpath(d, self._roots[id(a)])
                    rroot = self._roots.get(id(r), _abs(r.root))
                    hit = (r, os.path.normpath(os.path.join(rroot, rel)))
                    self._overlay_cache[key] = hit
                return hit
        return None

    def _lookup_dir(self, d: str, name: str, replace: Mapping[str, Artifact] | None) -> LibraryFile | None:
        entries = self._dirs.get(d)
        if not replace:
            return entries.get(name) if entries is not None else None
        overlay = self._overlay_source(d, replace)
        if overlay is None:
            return entries.get(name) if entries is not None else None
        r, target = overlay
        tdir = self._dirs.get(target)
        if tdir is not None:
            f = tdir.get(name)
            if f is not None and f.artifact is r:
                return f
        # Not in the replacement's matching directory. If the original had it here, the replacement
        # may keep it elsewhere (lib vs lib64): its file of that name or soname.
        f = entries.get(name) if entries is not None else None
        if f is None:
            return None
        if (
            f.artifact is not None
            and f.artifact.name in replace
            and f.artifact is not replace[f.artifact.name]
        ):
            if tdir is None or not any(g.artifact is r for g in tdir.values()):
                return self.names_of(r).get(name)
            return None
        return f  # another package's file in a shared directory stays visible

    def _find(
        self, name: str, objects: Sequence[LoadedObject], loader: int, replace: Mapping[str, Artifact] | None
    ) -> LibraryFile | None:
        if "/" in name:
            d = self.map_path(os.path.dirname(name)) if name.startswith("/") else None
            return self._lookup_dir(d, os.path.basename(name), replace) if d is not None else None
        for d in self.search_path(objects, loader):
            f = self._lookup_dir(d, name, replace)
            if f is not None:
                return f
        return None

    def rtld(self, interpreter: str | None, replace: Mapping[str, Artifact] | None = None) -> LibraryFile:
        """The loader itself: the artifact set's file at the interpreter path (or in the default
        directories), else the built-in stand-in."""
        hit = self._rtld_cache.get(interpreter)
        if hit is None:
            path = interpreter or DEFAULT_INTERPRETER
            d = self.map_path(os.path.dirname(path))
            base = os.path.basename(path)
            hit = self._dirs.get(d, {}).get(base) if d is not None else None
            if hit is None:
                for dd in self.default_dirs:
                    hit = self._dirs.get(dd, {}).get(base)
                    if hit is not None:
                        break
            if hit is None:
                hit = _RTLD_STUB
            self._rtld_cache[interpreter] = hit
        owner = hit.artifact
        if replace and owner is not None and owner.name in replace and owner is not replace[owner.name]:
            name = os.path.basename(interpreter or DEFAULT_INTERPRETER)
            return self._lookup_dir(hit.dir, name, replace) or _RTLD_STUB
        return hit

    def _resolve(
        self,
        name: str,
        objects: Sequence[LoadedObject],
        loader: int,
        replace: Mapping[str, Artifact] | None,
    ) -> LibraryFile | None:
        """The file a NEEDED entry of ``objects[loader]`` loads, when no loaded object matches it."""
        interp = objects[0].corpus.interpreter
        if name in INTERPRETER_SONAMES or (interp and name == self._basename(interp)):
            return self.rtld(interp, replace)
        return self._find(name, objects, loader, replace)

    def _basename(self, path: str) -> str:
        hit = self._basenames.get(path)
        if hit is None:
            hit = self._basenames[path] = os.path.basename(path)
        return hit

    # -- closures --

    def closure(
        self, artifact: Artifact, file: str, replace: Mapping[str, Artifact] | None = None
    ) -> Closure:
        """The closure of ``artifact``'s file ``file`` (relative path), with ``replace`` (package name →
        replacement artifact) spliced in. Unspliced closures are cached."""
        key = (id(artifact), file)
        if not replace:
            hit = self._closures.get(key)
            if hit is not None:
                self._closures.move_to_end(key)
                return hit
        root = self.file(artifact, file)
        c = self._load(root, replace or None)
        if not replace:
            self._closures[key] = c
            if len(self._closures) > _ANALYSIS_CACHE_MAX:
                self._closures.popitem(last=False)
        return c

    def _load(self, root: LibraryFile, replace: Mapping[str, Artifact] | None) -> Closure:
        replacements = {id(r) for r in replace.values()} if replace else set()
        objects: list[LoadedObject] = [
            LoadedObject(root, None, root.relpath, id(root.artifact) in replacements)
        ]
        names: dict[str, int] = {}
        registered: dict[str, int] = {}
        if root.corpus.soname:
            names[root.corpus.soname] = 0
            registered[root.corpus.soname] = -1
        loaded: dict[int, int] = {id(root): 0}
        missing: list[MissingLibrary] = []
        searches: list[tuple[int, str, int | None]] = []
        i = 0
        while i < len(objects):
            for n in objects[i].corpus.needed:
                if n in names:
                    continue
                f = self._resolve(n, objects, i, replace)
                if f is None:
                    missing.append(MissingLibrary(n, i))
                    searches.append((i, n, None))
                    continue
                pos = loaded.get(id(f))
                if pos is None:
                    pos = len(objects)
                    replaced = f.artifact is not None and id(f.artifact) in replacements
                    objects.append(LoadedObject(f, i, n, replaced))
                    loaded[id(f)] = pos
                    so = f.corpus.soname
                    if so and so not in names:
                        names[so] = pos
                        registered[so] = i
                names[n] = pos
                registered.setdefault(n, i)
                searches.append((i, n, pos))
            i += 1
        return Closure(self, objects, missing, names, searches, registered)

    # -- splices --

    def baseline(self, artifact: Artifact, file: str) -> _Baseline:
        key = (id(artifact), file)
        hit = self._baselines.get(key)
        if hit is not None:
            self._baselines.move_to_end(key)
            return hit
        c = self.closure(artifact, file)
        indexes = c.indexes()
        providers = [b.provider for b in c.bind()]
        copies = c.copies()
        by_name: dict[str, list[CopyEntry]] = {}
        for e, _p in copies:
            by_name.setdefault(e.name, []).append(e)
        hit = _Baseline(
            closure=c,
            indexes=indexes,
            providers=providers,
            problem_keys=frozenset(p.key for p in c.problems()),
            copies=copies,
            copy_baseline={e.name: p for e, p in copies},
            copy_names=frozenset(e.name for e, _p in copies),
            copy_by_name=by_name,
            incomplete={m.needed_by for m in c.missing},
        )
        self._baselines[key] = hit
        if len(self._baselines) > _ANALYSIS_CACHE_MAX:
            self._baselines.popitem(last=False)
        return hit

    def _dep_demand(self, base: _Baseline, dependency: str) -> _DepDemand:
        hit = base.deps.get(dependency)
        if hit is not None:
            return hit
        c = base.closure
        objs = c.objects
        positions = tuple(
            p
            for p, o in enumerate(objs)
            if p > 0 and o.artifact is not None and o.artifact.name == dependency
        )
        pset = set(positions)
        requesters_v: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
        requesters_u: dict[str, list[int]] = {}
        bound_v: dict[int, set[tuple[str, str]]] = {p: set() for p in positions}
        bound_u: dict[int, set[str]] = {p: set() for p in positions}
        unbound_v: set[tuple[str, str]] = set()
        for b, provider in zip(c.bind(), base.providers, strict=True):
            if b.requester in pset or b.weak:
                continue
            if provider is None:
                # unbound before; versioned from a replaced object: its version node may change
                if b.version is None or b.library is None or c.position(b.library) not in pset:
                    continue
                unbound_v.add((b.name, b.version))
            elif provider not in pset:
                continue
            elif b.version is None:
                bound_u[provider].add(b.name)
            else:
                bound_v[provider].add((b.name, b.version))
            if b.version is None:
                requesters_u.setdefault(b.name, []).append(b.requester)
            else:
                requesters_v.setdefault((b.name, b.version), []).append((b.requester, b.library))
        vreqs = []
        needed_versions: dict[int, set[str]] = {p: set() for p in positions}
        for r, o in enumerate(objs):
            if r in pset:
                continue
            for req in o.corpus.version_requirements:
                t = c.position(req.file)
                if t in pset:
                    assert t is not None
                    vreqs.append((r, req.file, req.versions, req.weak, t))
                    needed_versions[t].update(v for v in req.versions if v not in req.weak)
        # searches below each replaced position (their loader chain passes through it)
        subtree: dict[int, list[tuple[int, str, int | None]]] = {}
        for p in positions:
            below = {p}
            for q in range(p + 1, len(objs)):
                ld = objs[q].loader
                if ld in below:
                    below.add(q)
            subtree[p] = [s for s in c.searches if s[0] in below]
        other = frozenset(n for _l, n, res in c.searches if res not in pset)
        copies = tuple(e for e, bp in base.copies if bp in pset)
        hit = _DepDemand(
            positions=positions,
            requesters_v=requesters_v,
            requesters_u=requesters_u,
            bound_v={p: frozenset(k) for p, k in bound_v.items()},
            bound_u={p: frozenset(k) for p, k in bound_u.items()},
            unbound_v=frozenset(unbound_v),
            vreqs=vreqs,
            needed_versions={p: frozenset(v) for p, v in needed_versions.items()},
            other_names=other,
            subtree=subtree,
            copies=copies,
            copy_names=frozenset(e.name for e in copies),
        )
        base.deps[dependency] = hit
        return hit

    @staticmethod
    def _same_loads(c: Closure, p: int, needed: Sequence[str]) -> bool:
        """Whether NEEDED entries ``needed`` at position ``p`` load what the object there loaded: the
        names it searched for, in the same order, and otherwise only names known before ``p``."""
        searched = [n for loader, n, _res in c.searches if loader == p]
        if [n for n in needed if n in searched] != searched:
            return False
        registered = c.registered
        return all(n in searched or registered.get(n, p) < p for n in needed)

    def _lost(self, old: SymbolIndex, new: SymbolIndex) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
        """What an import that bound to ``old`` no longer finds in ``new``: (versioned keys, names of
        unversioned imports). Depends on the two corpora only, so it is shared by every binary."""
        key = (id(old), id(new))
        hit = self._lost_cache.get(key)
        if hit is None:
            hit = (old.vdef_keys - new.vdef_keys, old.plain_keys - new.plain_keys)
            self._lost_cache[key] = hit
        return hit

    def _unmet_imports(
        self,
        k: int,
        obj: LoadedObject,
        indexes: Sequence[SymbolIndex],
        names: Mapping[str, int],
        missing_nodes: set[tuple[int, str, str]],
        incomplete: set[int],
    ) -> list[Problem]:
        """Object ``k``'s strong imports that nothing in the closure provides: a versioned import is
        looked for first where its version is required from, then anywhere (an unversioned definition
        satisfies it); what a missing soname or version node already explains is not repeated."""
        ix = indexes[k]
        out: list[Problem] = []
        left_v: set[tuple[str, str]] = set()
        for lib, keys in ix.strong_by_library.items():
            t = names.get(lib) if lib is not None else None
            rest = self._unprovided(ix, lib, indexes[t]) if t is not None else keys
            if rest:
                left_v |= rest
        left_u = set(ix.strong_u)
        if left_v or left_u:
            for qix in indexes:
                if left_v:
                    left_v -= qix.vdef_keys
                if left_u:
                    left_u -= qix.plain_keys
                elif not left_v:
                    break
        for name, version in sorted(left_v):
            lib = ix.strong_v[(name, version)]
            if not _subsumed(k, version, lib, names, missing_nodes, incomplete) and (
                _first_provider(indexes, name, version, 0) is None
            ):
                out.append(_symbol_problem(obj, name, version, lib))
        if k not in incomplete:
            out.extend(_symbol_problem(obj, name, None, None) for name in sorted(left_u))
        return out

    def _unprovided(
        self, importer: SymbolIndex, library: str | None, target: SymbolIndex
    ) -> frozenset[tuple[str, str]]:
        """``importer``'s strong versioned imports from ``library`` that ``target`` does not define at
        their version (cached per pair of corpora)."""
        key = (id(importer), library, id(target))
        hit = self._unprovided_cache.get(key)
        if hit is None:
            hit = importer.strong_by_library[library] - target.vdef_keys
            self._unprovided_cache[key] = hit
        return hit

    def _resized(self, old: SymbolIndex, new: SymbolIndex) -> frozenset[str]:
        """Names of ``old``'s data objects that ``new`` lacks or defines with another size (cached)."""
        key = (id(old), id(new))
        hit = self._resized_cache.get(key)
        if hit is None:
            out = set()
            for (name, version), sym in old.vdefs.items():
                if sym.type == "OBJECT":
                    other = new.lookup(name, version)
                    if other is None or other.size != sym.size:
                        out.add(name)
            for name, sym in old.udefs.items():
                if sym.type == "OBJECT":
                    other = new.lookup(name, None)
                    if other is None or other.size != sym.size:
                        out.add(name)
            hit = frozenset(out)
            self._resized_cache[key] = hit
        return hit

    def splice(self, artifact: Artifact, file: str, dependency: str, replacement: Artifact) -> SpliceEffect:
        """What replacing every artifact of package ``dependency`` by ``replacement`` does to the
        closure of ``artifact``'s ``file``: the new problems (relative to the unspliced closure)."""
        base = self.baseline(artifact, file)
        dep = self._dep_demand(base, dependency)
        objs = base.closure.objects
        same = [objs[p].artifact is replacement for p in dep.positions]
        if all(same):  # nothing of the dependency loaded, or only the replacement itself
            return SpliceEffect((), base.closure.problems(), objs, True, False)
        if not any(same):
            fast = self._splice_fast(base, dep, dependency, replacement)
            if fast is not None:
                return fast
        return self._splice_reload(base, dependency, replacement)

    def _splice_reload(self, base: _Baseline, dependency: str, replacement: Artifact) -> SpliceEffect:
        """The splice's effect when the closure changes shape: load the spliced closure, then re-check
        only what is not known from the unspliced one (imports whose provider went, imports of the
        objects that came, version requirements, copy relocations)."""
        c = base.closure
        spliced = self._load(c.root.file, {dependency: replacement})
        objs = spliced.objects
        indexes = [self.index(o.corpus) for o in objs]
        old_pos = {id(o.file): i for i, o in enumerate(c.objects)}
        kept: dict[int, int] = {}  # new position -> old position
        for j, o in enumerate(objs):
            i = old_pos.get(id(o.file))
            if i is not None:
                kept[j] = i
        new_of = {i: j for j, i in kept.items()}
        names = spliced._names
        incomplete = {m.needed_by for m in spliced.missing}
        problems = [_problem(MISSING_SONAME, objs[m.needed_by], library=m.name) for m in spliced.missing]
        missing_nodes: set[tuple[int, str, str]] = set()
        for j, o in enumerate(objs):
            for req in o.corpus.version_requirements:
                t = names.get(req.file)
                if t is None or not indexes[t].has_versions:
                    continue
                have = indexes[t].version_names
                for v in req.versions:
                    if v not in have and v not in req.weak:
                        missing_nodes.add((j, req.file, v))
                        problems.extend(_version_problems(o, indexes[j], req.file, v))
        # imports of kept objects whose provider went, or whose explanation may have changed
        by_provider, unbound_by_library = base.groups()
        recheck: list[tuple[int, Binding]] = []
        for i, bindings in by_provider.items():
            if i not in new_of:
                recheck.extend((new_of[b.requester], b) for b in bindings if b.requester in new_of)
        changed = {i for j, i in kept.items() if (i in base.incomplete) != (j in incomplete)}
        for lib, bindings in unbound_by_library.items():
            if lib is None:  # unversioned: explained by a missing NEEDED of the requester, or not
                recheck.extend((new_of[b.requester], b) for b in bindings if b.requester in changed)
                continue
            before, after = c.position(lib), names.get(lib)
            if (before is None) != (after is None) or (after is not None and kept.get(after) != before):
                recheck.extend((new_of[b.requester], b) for b in bindings if b.requester in new_of)
        for j, b in recheck:
            if not _subsumed(j, b.version, b.library, names, missing_nodes, incomplete) and (
                _first_provider(indexes, b.name, b.version, 0) is None
            ):
                problems.append(_symbol_problem(objs[j], b.name, b.version, b.library))
        # imports of the objects that came
        for j in range(len(indexes)):
            if j in kept:
                continue
            problems += self._unmet_imports(j, objs[j], indexes, names, missing_nodes, incomplete)
        # copy relocations whose provider went, or that an object that came defines
        if base.copies:
            came = set()
            for j, ix in enumerate(indexes):
                if j not in kept:
                    came |= base.copy_names & ix.names
            copies = tuple(
                (e, _first_provider(indexes, e.name, e.version, 1))
                for e, bp in base.copies
                if (bp is not None and bp not in new_of) or e.name in came
            )
            if copies:
                problems.extend(_copy_problems(objs, copies, names, base.copy_baseline, self.index))
        out: list[Problem] = []
        seen: set[tuple[str, str | None, str | None, str | None, str]] = set()
        for prob in _in_load_order(problems, objs):
            if prob.key not in base.problem_keys and prob.key not in seen:
                seen.add(prob.key)
                out.append(prob)
        return SpliceEffect(tuple(out), c.problems(), objs, False)

    def splice_slow(
        self, artifact: Artifact, file: str, dependency: str, replacement: Artifact
    ) -> SpliceEffect:
        """:meth:`splice` by loading the whole spliced closure (the reference the fast path must match)."""
        base = self.baseline(artifact, file)
        spliced = self.closure(artifact, file, {dependency: replacement})
        new: list[Problem] = []
        seen: set[tuple[str, str | None, str | None, str | None, str]] = set()
        problems = list(spliced.problems())
        problems.extend(
            _copy_problems(spliced.objects, spliced.copies(), spliced._names, base.copy_baseline, self.index)
        )
        for p in _in_load_order(problems, spliced.objects):
            if p.key not in base.problem_keys and p.key not in seen:
                seen.add(p.key)
                new.append(p)
        loaded = any(
            o.artifact is not None and o.artifact.name == dependency and o.artifact is not replacement
            for o in base.closure.objects[1:]
        )
        return SpliceEffect(tuple(new), base.closure.problems(), spliced.objects, False, loaded)

    def _splice_fast(
        self, base: _Baseline, dep: _DepDemand, dependency: str, replacement: Artifact
    ) -> SpliceEffect | None:
        """The splice's effect when the closure keeps its shape (each replaced object has a same-soname
        counterpart with the same NEEDED, and every search resolves as before); None otherwise."""
        c = base.closure
        objs = c.objects
        replace = {dependency: replacement}
        rnames = self.names_of(replacement)
        if not dep.other_names.isdisjoint(rnames):
            return None
        subs: dict[int, LibraryFile] = {}
        new_objs = list(objs)
        for p in dep.positions:
            o = objs[p]
            loader = o.loader
            assert loader is not None
            sub = self._resolve(o.name, new_objs, loader, replace)
            if (
                sub is None
                or sub.artifact is not replacement
                or sub.corpus.soname != o.corpus.soname
                or (sub.corpus.needed != o.corpus.needed and not self._same_loads(c, p, sub.corpus.needed))
            ):
                return None
            subs[p] = sub
            new_objs[p] = LoadedObject(sub, loader, o.name, True)
        if len({id(s) for s in subs.values()}) != len(subs):
            return None
        # searches made below a replaced object may now see other directories
        for p, sub in subs.items():
            o = objs[p]
            same_dirs = (
                self.rpath_dirs(sub) == self.rpath_dirs(o.file)
                and self.runpath_dirs(sub) == self.runpath_dirs(o.file)
                and bool(sub.corpus.runpath) == bool(o.corpus.runpath)
                and (sub.corpus.flags_1 & DF_1_NODEFLIB) == (o.corpus.flags_1 & DF_1_NODEFLIB)
            )
            if same_dirs:
                continue
            for loader, name, res in dep.subtree[p]:
                f = self._resolve(name, new_objs, loader, replace)
                expected = None if res is None else new_objs[res].file
                if f is not expected:
                    return None
        indexes = list(base.indexes)
        for p, sub in subs.items():
            indexes[p] = self.index(sub.corpus)
        new: list[Problem] = []
        # 1. version nodes: required of a replacement, or by a replacement
        missing_nodes: set[tuple[int, str, str]] = set()
        for p in subs:
            sub_ix = indexes[p]
            absent = dep.needed_versions[p] - sub_ix.version_names if sub_ix.has_versions else None
            if absent:
                for r, file, versions, weak, t in dep.vreqs:
                    if t == p:
                        for v in absent.intersection(versions):
                            if v not in weak:
                                missing_nodes.add((r, file, v))
                                new.extend(_version_problems(new_objs[r], base.indexes[r], file, v))
        for p, sub in subs.items():
            for req in sub.corpus.version_requirements:
                t = c.position(req.file)
                if t is None:
                    continue
                tix = indexes[t]
                if tix.has_versions:
                    for v in req.versions:
                        if v not in tix.version_names and v not in req.weak:
                            missing_nodes.add((p, req.file, v))
                            new.extend(_version_problems(new_objs[p], indexes[p], req.file, v))
        names = c._names
        incomplete = base.incomplete
        # 2. imports that bound to the replaced objects (or are versioned from them)
        left_v = set(dep.unbound_v)
        left_u: set[str] = set()
        for p in subs:
            lost_v, lost_u = self._lost(base.indexes[p], indexes[p])
            if lost_v:
                left_v |= dep.bound_v[p] & lost_v
            if lost_u:
                left_u |= dep.bound_u[p] & lost_u
        for k in sorted(left_v):
            # most are explained by a missing version node (cheap to tell); look up the rest
            unexplained = [
                (r, lib)
                for r, lib in dep.requesters_v[k]
                if not _subsumed(r, k[1], lib, names, missing_nodes, incomplete)
            ]
            if unexplained and _first_provider(indexes, k[0], k[1], 0) is None:
                new.extend(_symbol_problem(new_objs[r], k[0], k[1], lib) for r, lib in unexplained)
        for n in sorted(left_u):
            if _first_provider(indexes, n, None, 0) is None:
                for r in dep.requesters_u[n]:
                    if r not in incomplete:
                        new.append(_symbol_problem(new_objs[r], n, None, None))
        # 3. the replacements' own imports: first where their version is required from, then anywhere
        for p in subs:
            new += self._unmet_imports(p, new_objs[p], indexes, names, missing_nodes, incomplete)
        # 4. copy relocations whose provider was replaced (and whose object changed or went), or that
        # a replacement now defines
        if base.copies:
            affected: list[CopyEntry] = []
            for p in subs:
                changed = self._resized(base.indexes[p], indexes[p])
                for name in dep.copy_names & changed if changed else ():
                    affected.extend(e for e in dep.copies if e.name == name)
                for name in (base.copy_names & indexes[p].names) - dep.copy_names:
                    affected.extend(base.copy_by_name[name])
            if affected:
                copies = tuple(
                    (e, _first_provider(indexes, e.name, e.version, 1)) for e in dict.fromkeys(affected)
                )
                new.extend(_copy_problems(new_objs, copies, names, base.copy_baseline, self.index))
        out: list[Problem] = []
        if new:
            seen: set[tuple[str, str | None, str | None, str | None, str]] = set()
            for prob in _in_load_order(new, new_objs):
                if prob.key not in base.problem_keys and prob.key not in seen:
                    seen.add(prob.key)
                    out.append(prob)
        return SpliceEffect(tuple(out), c.problems(), tuple(new_objs), True)

    # -- the world's definitions (for "moved" symbols) --

    def definers(self, name: str, version: str | None = None) -> list[LibraryFile]:
        """Every library file of the world that an import of ``name`` (at ``version``) could bind to."""
        if self._definers is None:
            table: dict[str, list[LibraryFile]] = {}
            for f in self._files.values():
                c = f.corpus
                if c.elf_type != "ET_DYN":
                    continue
                ix = self.index(c)
                for n in ix.udefs.keys() | {k[0] for k in ix.vdefs}:
                    table.setdefault(n, []).append(f)
            self._definers = table
        index = self.index
        return [f for f in self._definers.get(name, ()) if index(f.corpus).lookup(name, version) is not None]


_KIND_ORDER = {MISSING_SONAME: 0, MISSING_VERSION: 1, MISSING_SYMBOL: 2, DATA_SIZE: 3}


def _in_load_order(problems: Iterable[Problem], objs: Sequence[LoadedObject]) -> list[Problem]:
    """Problems in a canonical order: by kind, then requester position, symbol and version."""
    pos: dict[str, int] = {}
    for i, o in enumerate(objs):
        pos.setdefault(o.role, i)
    return sorted(
        problems,
        key=lambda p: (_KIND_ORDER.get(p.kind, 9), pos.get(p.requester, 0), p.symbol or "", p.version or ""),
    )
