"""A JSON schema for Spack's ``concretizer.yaml``, written for splicelab from Spack's own definition.

It follows ``lib/spack/spack/schema/concretizer.py`` of Spack 0.23.1 and 1.0.2 (the ``splice`` part is
the same in both): ``concretizer: splice: {explicit: [{target, replacement, transitive}], automatic}``,
with no other keys allowed inside ``splice`` or inside an explicit entry. The other ``concretizer`` keys
are only listed (their own shapes are not what splicelab writes), so a document with a misspelt key still
fails as it would in Spack.
"""

from __future__ import annotations

from typing import Any

SPACK_VERSIONS = ("0.23.1", "1.0.2")

_OTHER_CONCRETIZER_KEYS = (
    "reuse",
    "enable_node_namespace",
    "targets",
    "unify",
    "duplicates",
    "static_analysis",
    "timeout",
    "error_on_timeout",
    "os_compatible",
    "compiler_mixing",
    "externals",
    "concretization_cache",
)

EXPLICIT_SPLICE: dict[str, Any] = {
    "type": "object",
    "required": ["target", "replacement"],
    "additionalProperties": False,
    "properties": {
        "target": {"type": "string"},
        "replacement": {"type": "string"},
        "transitive": {"type": "boolean", "default": False},
    },
}

CONCRETIZER_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Spack concretizer configuration (splice part), after Spack 0.23.1 / 1.0.2",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "concretizer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **{key: {} for key in _OTHER_CONCRETIZER_KEYS},
                "splice": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "explicit": {"type": "array", "default": [], "items": EXPLICIT_SPLICE},
                        "automatic": {"type": "boolean"},
                    },
                },
            },
        }
    },
}
