"""Test ELF files for splicelab.elf, built for real: a library exercising every field the reader
decodes, an executable linking it, and byte-level copies (stripped section headers, flipped flags)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import Compiler

LIB_C = r"""
#include <string.h>
#include <stdlib.h>
int base_func(void) { return 1; }
int v2_func(void) { return 2; }
int v3_func(void) { return 3; }
int foo_old(void) { return 10; }
int foo_new(void) { return 20; }
__asm__(".symver foo_old,foo@V1");
__asm__(".symver foo_new,foo@@V2");
__attribute__((weak)) int weak_def(void) { return 3; }
extern int weak_undef(void) __attribute__((weak));
int call_weak(void) { return weak_undef ? weak_undef() : 0; }
__attribute__((visibility("hidden"))) int hidden_func(void) { return 4; }
__attribute__((visibility("protected"))) int protected_func(void) { return hidden_func() + 5; }
char small_obj[3] = {1, 2, 3};
long big_obj[100];
short mid_obj = 7;
__thread int tls_var = 7;
int uses_libc(const char *s) { return (int)strlen(s) + atoi(s); }
#ifdef WITH_IFUNC
static int impl(void) { return 6; }
static int (*resolve(void))(void) { return impl; }
int ifunc_f(void) __attribute__((ifunc("resolve")));
#endif
"""

LIB_MAP = """
V1 {
  global: foo; base_func; weak_def; call_weak; protected_func; hidden_func; small_obj; big_obj;
          mid_obj; tls_var; ifunc_f; uses_libc; abs_sym;
  local: *;
};
V2 { global: foo; v2_func; } V1;
V3 { global: v3_func; } V2;
VEMPTY { } V3;
"""

MAIN_C = r"""
extern int v2_func(void) __attribute__((weak));
extern int base_func(void);
extern int foo(void);
extern char small_obj[3];
int main(void) { return (v2_func ? v2_func() : 0) + base_func() + foo() + small_obj[0]; }
"""

ABS_VALUE = 0x1234


@dataclass
class Built:
    compiler: str
    lib: Path  # libfeat.so.1: soname, RPATH (old dtags), -z now, versions V1 < V2 < V3, VEMPTY
    exe: Path  # main: PT_INTERP, RUNPATH (new dtags), imports from libfeat (versioned, weak, copy-reloc)


def build_features(cc: Compiler, *, ifunc: bool = True, hash_style: str | None = None) -> Built:
    flags = [
        f"-Wl,--defsym,abs_sym={ABS_VALUE:#x}",
        "-Wl,--disable-new-dtags",
        "-Wl,-rpath,/opt/a:/opt/b",
        "-Wl,-rpath,/opt/c",
        "-Wl,-z,now",
    ]
    if ifunc:
        flags.append("-DWITH_IFUNC")
    if hash_style:
        flags.append(f"-Wl,--hash-style={hash_style}")
    lib = cc.shared("libfeat.so.1", LIB_C, soname="libfeat.so.1", version_script=LIB_MAP, flags=flags)
    exe_flags = ["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/lib:/usr/local/lib"]
    if hash_style:
        exe_flags.append(f"-Wl,--hash-style={hash_style}")
    exe = cc.executable("main", MAIN_C, libs=[lib], flags=exe_flags)
    return Built(cc.command, lib, exe)


def strip_sections(src: Path, dst: Path) -> Path:
    """A copy without section headers. llvm-objcopy --strip-sections when installed (it also drops the
    non-loaded bytes), else the sstrip way: zero e_shoff, e_shnum and e_shstrndx in a copy."""
    tool = shutil.which("llvm-objcopy-15") or shutil.which("llvm-objcopy")
    if tool:
        subprocess.run([tool, "--strip-sections", str(src), str(dst)], check=True, capture_output=True)
        return dst
    return zero_section_headers(src, dst)


def zero_section_headers(src: Path, dst: Path) -> Path:
    """A copy whose ELF header names no section header table (as sstrip leaves it)."""
    data = bytearray(src.read_bytes())
    prefix = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # ELF64: e_shoff at 0x28 (8), e_shnum at 0x3c, e_shstrndx at 0x3e
        struct.pack_into(prefix + "Q", data, 0x28, 0)
        struct.pack_into(prefix + "HH", data, 0x3C, 0, 0)
    else:  # ELF32: e_shoff at 0x20 (4), e_shnum at 0x30, e_shstrndx at 0x32
        struct.pack_into(prefix + "I", data, 0x20, 0)
        struct.pack_into(prefix + "HH", data, 0x30, 0, 0)
    dst.write_bytes(bytes(data))
    return dst
