"""Adapters around external programs: one small module per program (apt-get/dpkg, patchelf, …).

Nothing else in splicelab starts these programs directly, so each program's flags, output format and
failure modes are handled in exactly one place.
"""
