"""The Kubernetes protobuf wire format: ``k8s\\x00`` then a ``runtime.Unknown`` envelope.

The envelope carries ``typeMeta`` (apiVersion, kind), ``raw`` (the kind's message, which has no
TypeMeta of its own), ``contentEncoding`` and ``contentType`` (both empty, both written). This
module turns a JSON object into those bytes and back, and negotiates the media type as
kube-apiserver does: a response is protobuf when the first acceptable type of ``Accept`` is
``application/vnd.kubernetes.protobuf`` and the object's kind has a schema (built-in kinds;
custom resources and kinds without a schema stay JSON, as docs/emulator.md says).

Not here: the watch stream's protobuf framing (``;stream=watch``), ``Table`` in protobuf.
"""

from __future__ import annotations

import logging
from typing import Any

from google.protobuf.message import DecodeError

from emulator.errors import ApiStatusError, bad_request
from emulator.protobuf.convert import SchemaError, from_message, to_message
from emulator.protobuf.schema import KINDS, message_class

__all__ = [
    "MAGIC",
    "MEDIA_TYPE",
    "decode",
    "encode",
    "is_protobuf",
    "not_acceptable",
    "only_protobuf",
    "prefers_protobuf",
]

log = logging.getLogger(__name__)
MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
JSON_TYPES = frozenset({"application/json", "application/*", "*/*"})
NOT_ACCEPTABLE = (
    "only the following media types are accepted: application/json, application/yaml, "
    "application/vnd.kubernetes.protobuf"
)
UNSUPPORTED = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json"
)


def is_protobuf(content_type: str) -> bool:
    """Whether a request's ``Content-Type`` names the protobuf media type."""
    return content_type.split(";")[0].strip().lower() == MEDIA_TYPE


def only_protobuf(accept: str) -> bool:
    """Whether ``accept`` names media types and every acceptable one is protobuf: a custom
    resource, JSON only, then gets :func:`not_acceptable`."""
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    acceptable = [media for media, quality, _ in ranges if quality > 0]
    return bool(acceptable) and all(media == MEDIA_TYPE for media in acceptable)


def not_acceptable() -> ApiStatusError:
    """kube-apiserver's 406 for an ``Accept`` it cannot answer."""
    return ApiStatusError(406, "NotAcceptable", NOT_ACCEPTABLE)


def _media_range(part: str) -> tuple[str, float, bool]:
    """``(media type, q, plain)`` of one ``Accept`` entry; plain: no parameter but ``q``."""
    media, *params = (piece.strip() for piece in part.split(";"))
    quality, plain = 1.0, True
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        else:
            plain = False
    return media.lower(), quality, plain


def prefers_protobuf(accept: str) -> bool:
    """Whether the first acceptable media range of ``accept`` (by ``q``, then order) is plain
    protobuf. A range with parameters other than ``q`` (``as=Table``, ``stream=watch``) is
    not plain protobuf; JSON ranges and wildcards mean JSON."""
    ranges: list[tuple[float, int, str, bool]] = []
    for index, part in enumerate(accept.split(",")):
        media, quality, plain = _media_range(part)
        if quality > 0:
            ranges.append((-quality, index, media, plain))
    for _, _, media, plain in sorted(ranges):
        if media == MEDIA_TYPE and plain:
            return True
        if media in JSON_TYPES:
            return False
    return False


def encode(obj: dict[str, Any], *, strict: bool = False) -> bytes | None:
    """The wire bytes of ``obj``, or ``None`` when its apiVersion/kind has no schema, or when
    a value does not fit its Go type (the client then gets JSON, which it also accepts, rather
    than an error after the write).

    ``strict``: raise :class:`SchemaError` instead, and refuse a JSON key no field carries
    (:func:`~.convert.to_message`)."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    name = KINDS.get((api_version, kind))
    if name is None:
        return None
    try:
        message = to_message(obj, name, strict=strict)
    except SchemaError:
        if strict:
            raise
        log.warning("no protobuf form", extra={"apiVersion": api_version, "kind": kind})
        return None
    envelope: Any = message_class("meta.Unknown")()
    envelope.typeMeta.apiVersion = api_version
    envelope.typeMeta.kind = kind
    envelope.raw = message.SerializeToString(deterministic=True)
    envelope.contentEncoding = ""
    envelope.contentType = ""
    payload: bytes = envelope.SerializeToString(deterministic=True)
    return MAGIC + payload


def decode(data: bytes) -> dict[str, Any]:
    """The JSON object of a protobuf request body.

    Raises :class:`ApiStatusError`: 400 for bytes that are not the wire format, 415 for a kind
    without a schema (custom resources: their bodies are JSON only).
    """
    if not data.startswith(MAGIC):
        raise bad_request(
            "the object provided is unrecognized: provided data does not appear to be a "
            f"protobuf message, expected prefix [107 56 115 0] ({data[:4].hex()})"
        )
    envelope: Any = message_class("meta.Unknown")()
    try:
        envelope.ParseFromString(data[len(MAGIC) :])
    except DecodeError as err:
        raise bad_request(f"the object provided is unrecognized: {err}") from err
    api_version, kind = envelope.typeMeta.apiVersion, envelope.typeMeta.kind
    name = KINDS.get((api_version, kind))
    if name is None:
        raise ApiStatusError(415, "UnsupportedMediaType", UNSUPPORTED)
    message = message_class(name)()
    try:
        message.ParseFromString(envelope.raw)
        obj = from_message(message, name)
    except (DecodeError, SchemaError) as err:
        message_text = f"the object provided is unrecognized (must be of type {kind}): {err}"
        raise bad_request(message_text) from err
    return {"kind": kind, "apiVersion": api_version, **obj}
