"""The message schemas of the built-in kinds the emulator serves in protobuf, and their classes.

A schema is text, one message per entry (continuation lines are indented)::

    Message: field=NUMBER:TYPE[~] ...

``TYPE`` is ``s`` (string), ``b`` (bytes), ``i32``, ``i64``, ``bool`` or a message name (``X`` in
the same package, ``meta.X`` in another), prefixed by ``*`` (a Go pointer: on the wire and in
JSON only when set), ``[]`` (repeated) or ``{}`` (a map from string). ``~`` is Go's
``omitempty``; a field name starting with ``^`` is an embedded struct whose JSON fields sit inline
in its parent's object (``Volume``'s ``volumeSource``), a nested message on the wire. An entry
``Message: =Other`` declares a message with the fields of ``Other`` (declared above it), numbered
alike: Go's ``EphemeralContainerCommon`` is a copy of ``Container`` kept field for field.

What the Go types say beyond field numbers matters for exact bytes: generated Kubernetes code
writes every non-pointer string, number and struct field even when empty, a pointer only when set
(docs/emulator.md, "Protobuf"). :data:`MESSAGES` keeps those facts per field; :func:`message_class`
gives a ``protobuf`` runtime class built from the same table (proto2, so that a field set to its
zero value is still written). :data:`KINDS` maps an ``(apiVersion, kind)`` to its message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from emulator.protobuf.schema_apis import BATCH, COORDINATION, EVENTS, META, RBAC
from emulator.protobuf.schema_core import CORE

__all__ = ["KINDS", "MESSAGES", "SCALARS", "Field", "message_class"]

SCALARS = {
    "s": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "b": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
    "i32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "i64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
}
PACKAGES = {
    "meta": META,
    "core": CORE,
    "batch": BATCH,
    "coordination": COORDINATION,
    "events": EVENTS,
    "rbac": RBAC,
}
# The apiVersion of each package's kinds.
API_VERSIONS = {
    "core": "v1",
    "batch": "batch/v1",
    "coordination": "coordination.k8s.io/v1",
    "events": "events.k8s.io/v1",
    "rbac": "rbac.authorization.k8s.io/v1",
}
# DeleteOptions is registered in every group version (a typed client sends its own group's).
META_KINDS = {
    ("v1", "Status"),
    ("meta.k8s.io/v1", "DeleteOptions"),
    *((api_version, "DeleteOptions") for api_version in API_VERSIONS.values()),
}
META_TYPES = ("meta.ObjectMeta", "meta.ListMeta")
PROTO_PACKAGE = "k8s"
_FIELD = re.compile(r"(\^?)(\w+)=(\d+):(\*?)(\[\]|\{\})?([\w.]+)(~?)$")


@dataclass(frozen=True, kw_only=True)
class Field:
    """One field of a message: wire number and type plus the Go facts JSON and bytes follow."""

    name: str  # the JSON name (the proto name too); for ``inline`` only the proto name
    number: int
    type: str  # a key of SCALARS or a message's full name (``core.Container``)
    pointer: bool = False
    repeated: bool = False
    map: bool = False
    omitempty: bool = False
    inline: bool = False

    @property
    def scalar(self) -> bool:
        return self.type in SCALARS


def _parse(package: str, text: str) -> dict[str, tuple[Field, ...]]:
    entries = re.sub(r"\n\s+", " ", text.strip()).splitlines()
    messages: dict[str, tuple[Field, ...]] = {}
    for entry in entries:
        name, _, body = entry.partition(":")
        if body.strip().startswith("="):
            messages[f"{package}.{name}"] = messages[f"{package}.{body.strip()[1:]}"]
            continue
        fields = []
        for token in body.split():
            match = _FIELD.match(token)
            if match is None:
                raise ValueError(f"{package}.{name}: bad field {token!r}")
            inline, field, number, pointer, container, type_, omitempty = match.groups()
            if type_ not in SCALARS and "." not in type_:
                type_ = f"{package}.{type_}"
            field_ = Field(
                name=field, number=int(number), type=type_, pointer=bool(pointer),
                repeated=container == "[]", map=container == "{}",
                omitempty=bool(omitempty), inline=bool(inline),
            )  # fmt: skip
            fields.append(field_)
        messages[f"{package}.{name}"] = tuple(fields)
    return messages


MESSAGES: dict[str, tuple[Field, ...]] = {
    name: fields
    for package, text in PACKAGES.items()
    for name, fields in _parse(package, text).items()
}


def _kinds() -> dict[tuple[str, str], str]:
    """Top-level kinds: the messages with an ``ObjectMeta`` or ``ListMeta`` ``metadata`` that
    no other message embeds (a pod template has metadata but is no kind), lists' items aside."""
    kinds = {(api_version, kind): f"meta.{kind}" for api_version, kind in META_KINDS}
    embedded = {
        field.type
        for name, fields in MESSAGES.items()
        for field in fields
        if not (name.endswith("List") and field.name == "items")
    }
    for name, fields in MESSAGES.items():
        package, kind = name.split(".")
        has_meta = any(f.name == "metadata" and f.type in META_TYPES for f in fields)
        if package in API_VERSIONS and name not in embedded and has_meta:
            kinds[(API_VERSIONS[package], kind)] = name
    return kinds


KINDS = _kinds()


def _file(package: str) -> descriptor_pb2.FileDescriptorProto:
    """The ``.proto`` file of one package, built from :data:`MESSAGES`."""
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"{PROTO_PACKAGE}/{package}.proto", package=f"{PROTO_PACKAGE}.{package}",
        syntax="proto2",
    )  # fmt: skip
    needs: set[str] = set()
    for full_name, fields in MESSAGES.items():
        if not full_name.startswith(f"{package}."):
            continue
        message = proto.message_type.add(name=full_name.split(".")[1])
        for field in fields:
            target = field.type.split(".")[0]
            if not field.scalar and target != package:
                needs.add(target)
            _add_field(message, field)
    proto.dependency.extend(f"{PROTO_PACKAGE}/{dep}.proto" for dep in sorted(needs))
    return proto


def _add_field(message: descriptor_pb2.DescriptorProto, field: Field) -> None:
    kind = descriptor_pb2.FieldDescriptorProto
    entry = message.field.add(name=field.name, number=field.number)
    entry.label = kind.LABEL_REPEATED if field.repeated or field.map else kind.LABEL_OPTIONAL
    if field.map:
        # A map is a repeated nested entry message (key 1, value 2), as protoc writes it.
        entry_name = field.name[0].upper() + field.name[1:] + "Entry"
        nested = message.nested_type.add(name=entry_name)
        nested.options.map_entry = True
        nested.field.add(name="key", number=1, type=kind.TYPE_STRING, label=kind.LABEL_OPTIONAL)
        _set_type(nested.field.add(name="value", number=2, label=kind.LABEL_OPTIONAL), field.type)
        entry.type = kind.TYPE_MESSAGE
        entry.type_name = f".{message.name}.{entry_name}"
    else:
        _set_type(entry, field.type)


def _set_type(entry: descriptor_pb2.FieldDescriptorProto, type_: str) -> None:
    if type_ in SCALARS:
        entry.type = SCALARS[type_]
    else:
        entry.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
        entry.type_name = f".{PROTO_PACKAGE}.{type_}"


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for package in PACKAGES:  # meta first: the others depend on it, batch and events on core
        proto = _file(package)
        for message in proto.message_type:
            _qualify_nested(proto.package, message)
        pool.Add(proto)
    return pool


def _qualify_nested(package: str, message: descriptor_pb2.DescriptorProto) -> None:
    """Map entries were named relative to their message; the pool wants full names."""
    for entry in message.field:
        if entry.type_name.startswith(f".{message.name}."):
            entry.type_name = f".{package}{entry.type_name}"


@functools.cache
def message_class(name: str) -> type[Message]:
    """The runtime class of the message ``name`` (``core.Namespace``)."""
    descriptor = _pool().FindMessageTypeByName(f"{PROTO_PACKAGE}.{name}")
    cls: type[Message] = message_factory.GetMessageClass(descriptor)
    return cls
