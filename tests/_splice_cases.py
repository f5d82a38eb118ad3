"""The issue's acceptance cases, built for real: a library foo in two versions and a client program.

Each case builds ``foo-1`` (what the client was linked with), ``foo-2`` (the replacement) and ``app-1``
(``bin/app``) under the compiler's work directory with :class:`_linklab.Lab`, and tells which directories
the client finds its libraries in before and after the swap (LD_LIBRARY_PATH), so the same splice can
be predicted (``case.splice``) and run for real with the host's ld.so (``case.run_spliced``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _linklab import Lab, Run, get, run
from conftest import Compiler
from splicelab.link import World
from splicelab.predict.base import Splice

CLIENT = """
#include <stdio.h>
int foo(void);
int bar(void);
int main(void) { int v = foo() + bar(); printf("%d\\n", v); return v == 3 ? 0 : 1; }
"""
FOO_BAR = "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"


@dataclass
class Case:
    lab: Lab
    before: list[Path]
    after: list[Path]

    def world(self) -> World:
        return self.lab.world(ld_library_path=self.before)

    def splice(self, world: World) -> Splice:
        app = get(world, "app", "1")
        return Splice(app, "bin/app", "foo", get(world, "foo", "1"), get(world, "foo", "2"))

    def run_spliced(self) -> Run:
        return run(self.lab.root / "app-1/bin/app", self.after)


def removed_function(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", FOO_BAR)
    v2 = lab.lib("foo", "2", "int foo(void) { return 1; }\n")
    lab.exe(CLIENT, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


def added_function(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", FOO_BAR)
    v2 = lab.lib("foo", "2", FOO_BAR + "int baz(void) { return 3; }\n")
    lab.exe(CLIENT, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


def removed_version_node(lab: Lab) -> Case:
    v1 = lab.lib(
        "foo", "1", FOO_BAR, script="FOO_1 { global: foo; local: *; };\nFOO_2 { global: bar; } FOO_1;\n"
    )
    v2 = lab.lib("foo", "2", FOO_BAR, script="FOO_1 { global: foo; bar; local: *; };\n")
    lab.exe(CLIENT, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


def soname_bump(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", FOO_BAR)
    v2 = lab.lib("foo", "2", FOO_BAR, soname="libfoo.so.2")
    lab.exe(CLIENT, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


def shrunk_data_object(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", "int table[4] = {1, 2, 3, 4};\n" + FOO_BAR)
    v2 = lab.lib("foo", "2", "int table[2] = {1, 2};\n" + FOO_BAR)
    client = """
    #include <stdio.h>
    extern int table[4];
    int main(void) {
        int s = 0;
        for (int i = 0; i < 4; i++) s += table[i];
        printf("%d\\n", s);
        return s != 10;
    }
    """
    lab.exe(client, libs=[v1], flags=["-fno-pie", "-no-pie"])  # a copy relocation of table
    return Case(lab, [v1.parent], [v2.parent])


def needs_missing_library(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", FOO_BAR)
    extra = lab.lib("extra", "1", "int extra(void) { return 0; }\n", soname="libextra.so.1")
    code = "int extra(void);\nint foo(void) { return 1 + extra(); }\nint bar(void) { return 2; }\n"
    v2 = lab.lib("foo", "2", code, libs=[extra])
    lab.exe(CLIENT, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


def needs_version_closure_lacks(lab: Lab) -> Case:
    # The closure's libdep defines dep_new, but at DEP_1; the replacement was linked against a libdep
    # that has it at DEP_2. Same name, other version: ld.so refuses.
    both = "int dep_old(void) { return 1; }\nint dep_new(void) { return 0; }\n"
    dep1 = lab.lib(
        "dep", "1", both, soname="libdep.so.1", script="DEP_1 { global: dep_old; dep_new; local: *; };\n"
    )
    dep2 = lab.lib(
        "dep",
        "2",
        both,
        soname="libdep.so.1",
        script="DEP_1 { global: dep_old; local: *; };\nDEP_2 { global: dep_new; } DEP_1;\n",
    )
    v1 = lab.lib(
        "foo",
        "1",
        "int dep_old(void);\nint foo(void) { return dep_old(); }\nint bar(void) { return 2; }\n",
        libs=[dep1],
    )
    v2 = lab.lib(
        "foo",
        "2",
        "int dep_new(void);\nint foo(void) { return 1 + dep_new(); }\nint bar(void) { return 2; }\n",
        libs=[dep2],
    )
    lab.exe(CLIENT, libs=[v1], flags=[f"-Wl,-rpath-link,{dep1.parent}"])
    return Case(lab, [v1.parent, dep1.parent], [v2.parent, dep1.parent])


def weak_symbol(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", FOO_BAR + "int opt(void) { return 100; }\n")
    v2 = lab.lib("foo", "2", FOO_BAR)
    client = """
    #include <stdio.h>
    int foo(void); int bar(void);
    extern int opt(void) __attribute__((weak));
    int main(void) { printf("%d\\n", foo() + bar() + (opt ? opt() : 0)); return 0; }
    """
    lab.exe(client, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


def symbol_moved_to_sub_library(lab: Lab) -> Case:
    v1 = lab.lib("foo", "1", FOO_BAR)
    impl = lab.lib("foo", "2", "int foo(void) { return 1; }\n", soname="libfoo_impl.so.1")
    # bar calls foo, so libfoo.so.1 really needs libfoo_impl.so.1 (whatever --as-needed says)
    v2 = lab.lib("foo", "2", "int foo(void);\nint bar(void) { return 1 + foo(); }\n", libs=[impl])
    lab.exe(CLIENT, libs=[v1])
    return Case(lab, [v1.parent], [v2.parent])


CASES: dict[str, Callable[[Lab], Case]] = {
    "removed-function": removed_function,
    "added-function": added_function,
    "removed-version-node": removed_version_node,
    "soname-bump": soname_bump,
    "shrunk-data-object": shrunk_data_object,
    "needs-missing-library": needs_missing_library,
    "needs-version-closure-lacks": needs_version_closure_lacks,
    "weak-symbol": weak_symbol,
    "symbol-moved-to-sub-library": symbol_moved_to_sub_library,
}


def build(name: str, cc: Compiler) -> Case:
    return CASES[name](Lab(cc))
