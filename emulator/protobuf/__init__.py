"""Protobuf request and response bodies for the built-in kinds the emulator serves.

kubectl's imperative commands (``create namespace``, ``create secret generic``, ``create job``)
send ``application/vnd.kubernetes.protobuf`` bodies and prefer protobuf answers. This package
speaks that wire format (:mod:`.wire`) from message schemas written once per kind
(:mod:`.schema`, :mod:`.schema_core`, :mod:`.schema_apis`) and converts between messages and the
JSON objects the rest of the emulator stores (:mod:`.convert`). Custom resources and kinds
without a schema stay JSON. docs/emulator.md ("Protobuf") lists what is covered.
"""

# The package's surface is :mod:`.wire`'s, re-exported name by name (PEP 484's ``X as X``).
from emulator.protobuf.wire import MEDIA_TYPE as MEDIA_TYPE
from emulator.protobuf.wire import decode as decode
from emulator.protobuf.wire import encode as encode
from emulator.protobuf.wire import is_protobuf as is_protobuf
from emulator.protobuf.wire import not_acceptable as not_acceptable
from emulator.protobuf.wire import only_protobuf as only_protobuf
from emulator.protobuf.wire import prefers_protobuf as prefers_protobuf
