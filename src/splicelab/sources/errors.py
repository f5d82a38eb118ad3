"""The one error type of the sources: bad input, named by file and field."""

from __future__ import annotations


class SourceError(ValueError):
    """An input (a spec.json, an index.json, a metadata file, an ELF file) could not be used.

    ``str(err)`` is one line that starts with the file and names the field or defect. Loaders collect
    these and go on with the rest of the input; the caller decides the exit code.
    """
