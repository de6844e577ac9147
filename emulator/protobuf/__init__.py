"""Protobuf request and response bodies for the built-in kinds the emulator serves.

kubectl's imperative commands (``create namespace``, ``create secret generic``, ``create job``)
send ``application/vnd.kubernetes.protobuf`` bodies and prefer protobuf answers. This package
speaks that wire format (:mod:`.wire`) from message schemas written once per kind
(:mod:`.schema`, :mod:`.schema_core`, :mod:`.schema_apis`) and converts between messages and the
JSON objects the rest of the emulator stores (:mod:`.convert`). Custom resources and kinds
without a schema stay JSON. docs/emulator.md ("Protobuf") lists what is covered.
"""

from emulator.protobuf.wire import (
    MEDIA_TYPE,
    decode,
    encode,
    is_protobuf,
    not_acceptable,
    only_protobuf,
    prefers_protobuf,
)

__all__ = [
    "MEDIA_TYPE",
    "decode",
    "encode",
    "is_protobuf",
    "not_acceptable",
    "only_protobuf",
    "prefers_protobuf",
]
