"""ELF reading: the dynamic view of one file (header, PT_INTERP, dynamic section, .dynsym, versions).

from splicelab.elf import read_corpus, is_elf, ELFError
"""

from splicelab.elf.reader import ELFError, is_elf, read_corpus

__all__ = ["ELFError", "is_elf", "read_corpus"]
