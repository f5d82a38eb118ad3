"""ELF constants and struct layouts, as the gABI and the GNU symbol-versioning spec define them.

Layouts are table-driven: one ``Layout`` per (class, byte order) holds a precompiled ``struct.Struct``
for every record the reader decodes. Nothing here reads a file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# --- e_ident -------------------------------------------------------------------------------------------

ELF_MAGIC = b"\x7fELF"
EI_NIDENT = 16
ELFCLASS32 = 1
ELFCLASS64 = 2
ELFDATA2LSB = 1
ELFDATA2MSB = 2

OSABI_NAMES: dict[int, str] = {
    0: "ELFOSABI_SYSV",
    1: "ELFOSABI_HPUX",
    2: "ELFOSABI_NETBSD",
    3: "ELFOSABI_GNU",
    4: "ELFOSABI_HURD",
    6: "ELFOSABI_SOLARIS",
    7: "ELFOSABI_AIX",
    8: "ELFOSABI_IRIX",
    9: "ELFOSABI_FREEBSD",
    10: "ELFOSABI_TRU64",
    11: "ELFOSABI_MODESTO",
    12: "ELFOSABI_OPENBSD",
    13: "ELFOSABI_OPENVMS",
    14: "ELFOSABI_NSK",
    15: "ELFOSABI_AROS",
    16: "ELFOSABI_FENIXOS",
    17: "ELFOSABI_CLOUDABI",
    18: "ELFOSABI_OPENVOS",
    64: "ELFOSABI_ARM_AEABI",
    97: "ELFOSABI_ARM",
    255: "ELFOSABI_STANDALONE",
}

ET_NAMES: dict[int, str] = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}

# The machines of the gABI registry a Linux distribution (or a historic corpus) may carry.
MACHINE_NAMES: dict[int, str] = {
    0: "EM_NONE",
    1: "EM_M32",
    2: "EM_SPARC",
    3: "EM_386",
    4: "EM_68K",
    5: "EM_88K",
    6: "EM_IAMCU",
    7: "EM_860",
    8: "EM_MIPS",
    9: "EM_S370",
    10: "EM_MIPS_RS3_LE",
    15: "EM_PARISC",
    17: "EM_VPP500",
    18: "EM_SPARC32PLUS",
    19: "EM_960",
    20: "EM_PPC",
    21: "EM_PPC64",
    22: "EM_S390",
    23: "EM_SPU",
    36: "EM_V800",
    37: "EM_FR20",
    38: "EM_RH32",
    39: "EM_RCE",
    40: "EM_ARM",
    41: "EM_ALPHA",
    42: "EM_SH",
    43: "EM_SPARCV9",
    44: "EM_TRICORE",
    45: "EM_ARC",
    46: "EM_H8_300",
    50: "EM_IA_64",
    51: "EM_MIPS_X",
    52: "EM_COLDFIRE",
    53: "EM_68HC12",
    62: "EM_X86_64",
    75: "EM_VAX",
    76: "EM_CRIS",
    87: "EM_V850",
    88: "EM_M32R",
    92: "EM_OPENRISC",
    93: "EM_ARC_COMPACT",
    94: "EM_XTENSA",
    106: "EM_BLACKFIN",
    113: "EM_ALTERA_NIOS2",
    140: "EM_TI_C6000",
    164: "EM_QDSP6",
    183: "EM_AARCH64",
    188: "EM_TILEPRO",
    189: "EM_MICROBLAZE",
    190: "EM_CUDA",
    191: "EM_TILEGX",
    195: "EM_ARC_COMPACT2",
    224: "EM_AMDGPU",
    243: "EM_RISCV",
    247: "EM_BPF",
    252: "EM_CSKY",
    258: "EM_LOONGARCH",
    0x9026: "EM_ALPHA",  # the pre-registry number Linux/alpha still uses
}

# DT_HASH uses 64-bit entries on these 64-bit machines (s390x, alpha); 32-bit everywhere else.
WIDE_HASH_MACHINES = frozenset({22, 41, 0x9026})

# --- program headers -----------------------------------------------------------------------------------

PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3

# --- section headers -----------------------------------------------------------------------------------

SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF

SHT_NOBITS = 8
SHT_DYNAMIC = 6
SHT_DYNSYM = 11
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF

# --- dynamic tags --------------------------------------------------------------------------------------

DT_NULL = 0
DT_NEEDED = 1
DT_PLTRELSZ = 2
DT_HASH = 4
DT_STRTAB = 5
DT_SYMTAB = 6
DT_RELA = 7
DT_RELASZ = 8
DT_STRSZ = 10
DT_SYMENT = 11
DT_SONAME = 14
DT_REL = 17
DT_RELSZ = 18
DT_PLTREL = 20
DT_JMPREL = 23
DT_RPATH = 15
DT_RUNPATH = 29
DT_FLAGS = 30
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM = 0x6FFFFFF0
DT_FLAGS_1 = 0x6FFFFFFB
DT_VERDEF = 0x6FFFFFFC
DT_VERDEFNUM = 0x6FFFFFFD
DT_VERNEED = 0x6FFFFFFE
DT_VERNEEDNUM = 0x6FFFFFFF

DT_SYMBOLIC = 16
DT_TEXTREL = 22
DT_BIND_NOW = 24

DF_SYMBOLIC = 0x2
DF_TEXTREL = 0x4
DF_BIND_NOW = 0x8
DF_1_NOW = 0x1

# The older tags that mean the same as a DT_FLAGS bit (gABI): folded into ``flags``.
FLAG_TAGS = {DT_SYMBOLIC: DF_SYMBOLIC, DT_TEXTREL: DF_TEXTREL, DT_BIND_NOW: DF_BIND_NOW}

# --- symbols -------------------------------------------------------------------------------------------

STT_NAMES: dict[int, str] = {
    0: "NOTYPE",
    1: "OBJECT",
    2: "FUNC",
    3: "SECTION",
    4: "FILE",
    5: "COMMON",
    6: "TLS",
    10: "GNU_IFUNC",
}
STB_NAMES: dict[int, str] = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK", 10: "GNU_UNIQUE"}
STV_NAMES: tuple[str, ...] = ("DEFAULT", "INTERNAL", "HIDDEN", "PROTECTED")


def symbol_type_name(value: int) -> str:
    return STT_NAMES.get(value) or f"STT_{value}"


def symbol_binding_name(value: int) -> str:
    return STB_NAMES.get(value) or f"STB_{value}"


def machine_name(value: int) -> str:
    return MACHINE_NAMES.get(value) or f"EM_{value}"


def osabi_name(value: int) -> str:
    return OSABI_NAMES.get(value) or f"ELFOSABI_{value}"


def elf_type_name(value: int) -> str:
    return ET_NAMES.get(value) or f"ET_{value:#x}"


# --- symbol versioning (GNU) ---------------------------------------------------------------------------

VER_NDX_LOCAL = 0
VER_NDX_GLOBAL = 1
VERSYM_HIDDEN = 0x8000
VERSYM_INDEX = 0x7FFF
VER_FLG_BASE = 0x1
VER_FLG_WEAK = 0x2

# --- record layouts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """Precompiled structs for one ELF class and byte order.

    Field order of every struct is the spec's, whatever the class: the reader unpacks positionally.
    ``sym_columns`` places the ``Elf_Sym`` fields the reader needs (name, info, other, shndx, size) as
    (byte offset in the record, array typecode): ELF32 and ELF64 order them differently, and the reader
    takes each field of the whole table as one strided column.
    """

    elf_class: int  # 32 or 64
    byte_order: str  # "little" or "big"
    prefix: str  # struct prefix: "<" or ">"
    ehdr: struct.Struct  # e_type .. e_shstrndx (after e_ident)
    phdr: struct.Struct  # p_type, p_offset, p_vaddr, p_filesz (class-specific order resolved below)
    phdr_order: tuple[int, int, int, int]
    shdr: struct.Struct  # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...
    dyn: struct.Struct  # d_tag (signed), d_val
    sym: struct.Struct
    sym_columns: tuple[tuple[int, str], ...]
    verdef: struct.Struct  # vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next
    verdaux: struct.Struct  # vda_name, vda_next
    verneed: struct.Struct  # vn_version, vn_cnt, vn_file, vn_aux, vn_next
    vernaux: struct.Struct  # vna_hash, vna_flags, vna_other, vna_name, vna_next
    word: struct.Struct  # a 32-bit word (hash tables)
    addr: struct.Struct  # an address-sized word (GNU hash bloom words)


def _layout(elf_class: int, prefix: str) -> Layout:
    if elf_class == 64:
        ehdr = "HHIQQQIHHHHHH"
        phdr = "IIQQQQQQ"  # p_type p_flags p_offset p_vaddr p_paddr p_filesz p_memsz p_align
        phdr_order = (0, 2, 3, 5)
        shdr = "IIQQQQIIQQ"
        dyn = "qQ"
        sym = "IBBHQQ"  # st_name st_info st_other st_shndx st_value st_size
        sym_columns = ((0, "I"), (4, "B"), (5, "B"), (6, "H"), (16, "Q"))
        addr = "Q"
    else:
        ehdr = "HHIIIIIHHHHHH"
        phdr = "IIIIIIII"  # p_type p_offset p_vaddr p_paddr p_filesz p_memsz p_flags p_align
        phdr_order = (0, 1, 2, 4)
        shdr = "IIIIIIIIII"
        dyn = "iI"
        sym = "IIIBBH"  # st_name st_value st_size st_info st_other st_shndx
        sym_columns = ((0, "I"), (12, "B"), (13, "B"), (14, "H"), (8, "I"))
        addr = "I"
    return Layout(
        elf_class=elf_class,
        byte_order="little" if prefix == "<" else "big",
        prefix=prefix,
        ehdr=struct.Struct(prefix + ehdr),
        phdr=struct.Struct(prefix + phdr),
        phdr_order=phdr_order,
        shdr=struct.Struct(prefix + shdr),
        dyn=struct.Struct(prefix + dyn),
        sym=struct.Struct(prefix + sym),
        sym_columns=sym_columns,
        verdef=struct.Struct(prefix + "HHHHIII"),
        verdaux=struct.Struct(prefix + "II"),
        verneed=struct.Struct(prefix + "HHIII"),
        vernaux=struct.Struct(prefix + "IHHII"),
        word=struct.Struct(prefix + "I"),
        addr=struct.Struct(prefix + addr),
    )


LAYOUTS: dict[tuple[int, int], Layout] = {
    (ELFCLASS32, ELFDATA2LSB): _layout(32, "<"),
    (ELFCLASS32, ELFDATA2MSB): _layout(32, ">"),
    (ELFCLASS64, ELFDATA2LSB): _layout(64, "<"),
    (ELFCLASS64, ELFDATA2MSB): _layout(64, ">"),
}
