"""JSON objects to protobuf messages and back, following the Go types' JSON conventions.

The rules (docs/emulator.md, "Protobuf"), per :class:`~emulator.protobuf.schema.Field`:

- a non-pointer string, number or bool is always on the wire; in JSON it is left out only when
  it is ``omitempty`` and zero;
- a pointer (``*``) is on the wire and in JSON exactly when set, zero or not;
- ``[]byte`` is on the wire when set (base64 in JSON, as ``Secret.data``);
- a non-pointer struct is always on the wire and always in JSON (Go's ``omitempty`` never drops
  a struct: ``"spec": {}``, ``"creationTimestamp": null``);
- an empty list or map is absent from the wire; in JSON it is left out when ``omitempty``,
  ``null`` otherwise (a decoded Go slice is nil);
- wire-format helpers have their own JSON: ``Time`` (RFC 3339 seconds, ``null`` when zero),
  ``MicroTime`` (six fraction digits), ``Quantity`` (its string), ``IntOrString`` (a number or a
  string) and ``FieldsV1`` (the raw JSON object).

Encoding is lenient by default: a JSON key no field names is dropped, as the real server's
decoder drops unknown fields; ``strict=True`` refuses it instead (tests use it to prove the
schemas cover what the real server returns).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from emulator.protobuf.schema import MESSAGES, Field, message_class

__all__ = ["SchemaError", "from_message", "go_json", "to_message"]

ZERO: dict[str, Any] = {"s": "", "b": b"", "i32": 0, "i64": 0, "bool": False}
TYPE_META = frozenset({"apiVersion", "kind"})


class SchemaError(ValueError):
    """A JSON value the schema cannot carry (a wrong type, or an unknown key when strict)."""


def go_json(value: Any) -> bytes:
    """``value`` as Go's ``encoding/json`` writes it: compact, UTF-8, ``<>&`` escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.encode()


def to_message(obj: dict[str, Any], name: str, *, strict: bool = False) -> Message:
    """The message ``name`` holding the JSON object ``obj`` (its ``apiVersion``/``kind`` aside)."""
    message = message_class(name)()
    _fill(message, name, obj, strict=strict, path="", extra=TYPE_META)
    return message


def from_message(message: Message, name: str) -> dict[str, Any]:
    """The JSON object of ``message`` (of the message type ``name``), without TypeMeta."""
    obj = _json_of(message, name)
    if not isinstance(obj, dict):
        raise SchemaError(f"{name} is not a JSON object")
    return obj


# -- JSON -> message ---------------------------------------------------------------------------


def _fill(
    message: Message, name: str, obj: Any, *, strict: bool, path: str, extra: frozenset[str]
) -> None:
    special = _SPECIAL_FILL.get(name)
    if special is not None:
        special(message, obj)
        return
    if not isinstance(obj, dict):
        raise SchemaError(f"{path or '.'}: expected an object, got {type(obj).__name__}")
    for field in MESSAGES[name]:
        where = f"{path}.{field.name}"
        if field.inline:
            inner = getattr(message, field.name)
            inner.SetInParent()
            _fill(inner, field.type, obj, strict=False, path=path, extra=frozenset())
            continue
        value = obj.get(field.name)
        if field.map:
            _fill_map(getattr(message, field.name), field, value or {}, strict, where)
        elif field.repeated:
            _fill_list(getattr(message, field.name), field, value or [], strict, where)
        elif field.scalar:
            if value is None and (field.pointer or field.type == "b"):
                continue
            setattr(message, field.name, _scalar(field.type, value, where))
        elif value is not None or not field.pointer:
            inner = getattr(message, field.name)
            inner.SetInParent()
            _fill(inner, field.type, value if value is not None else _empty(field.type),
                  strict=strict, path=where, extra=frozenset())  # fmt: skip
    if strict:
        unknown = set(obj) - _json_keys(name) - extra
        if unknown:
            raise SchemaError(f"{path or '.'}: no field for {sorted(unknown)} in {name}")


def _empty(name: str) -> Any:
    """The JSON of an absent struct: what Go's zero value of the type writes."""
    return _ZERO_JSON.get(name, {})


def _fill_map(target: Any, field: Field, value: Any, strict: bool, path: str) -> None:
    if not isinstance(value, dict):
        raise SchemaError(f"{path}: expected a map")
    for key, item in value.items():
        if field.scalar:
            target[key] = _scalar(field.type, item, f"{path}[{key}]")
        else:
            _fill(target[key], field.type, item, strict=strict, path=f"{path}[{key}]",
                  extra=frozenset())  # fmt: skip


def _fill_list(target: Any, field: Field, value: Any, strict: bool, path: str) -> None:
    if not isinstance(value, list):
        raise SchemaError(f"{path}: expected a list")
    for index, item in enumerate(value):
        if field.scalar:
            target.append(_scalar(field.type, item, f"{path}[{index}]"))
        else:
            _fill(target.add(), field.type, item, strict=strict, path=f"{path}[{index}]",
                  extra=frozenset())  # fmt: skip


def _scalar(type_: str, value: Any, path: str) -> Any:
    if value is None:
        return ZERO[type_]
    if type_ == "b" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as err:
            raise SchemaError(f"{path}: illegal base64 data") from err
    expected: dict[str, type] = {"s": str, "i32": int, "i64": int, "bool": bool}
    if type_ in expected and isinstance(value, expected[type_]):
        if type_ != "bool" and isinstance(value, bool):
            raise SchemaError(f"{path}: expected a number")
        return value
    if type_ in ("i32", "i64") and isinstance(value, float) and value.is_integer():
        return int(value)
    raise SchemaError(f"{path}: cannot hold {value!r}")


def _json_keys(name: str) -> set[str]:
    keys: set[str] = set()
    for field in MESSAGES[name]:
        keys |= _json_keys(field.type) if field.inline else {field.name}
    return keys


# -- message -> JSON ---------------------------------------------------------------------------


def _json_of(message: Message, name: str) -> Any:
    special = _SPECIAL_JSON.get(name)
    if special is not None:
        return special(message)
    out: dict[str, Any] = {}
    for field in MESSAGES[name]:
        value = getattr(message, field.name)
        if field.inline:
            out.update(_json_of(value, field.type))
        elif field.map or field.repeated:
            if not value:
                if not field.omitempty:
                    out[field.name] = None
                continue
            convert = _value_converter(field)
            out[field.name] = (
                {key: convert(item) for key, item in value.items()}
                if field.map
                else [convert(item) for item in value]
            )
        elif field.pointer or field.type == "b":
            present = message.HasField(field.name)
            if field.pointer and present:
                out[field.name] = _value_converter(field)(value)
            elif not field.pointer and not (field.omitempty and not value):
                out[field.name] = _bytes_json(value) if present else None
        elif field.scalar:
            if not (field.omitempty and value == ZERO[field.type]):
                out[field.name] = value
        else:
            out[field.name] = _json_of(value, field.type)
    return out


def _value_converter(field: Field) -> Callable[[Any], Any]:
    if field.type == "b":
        return _bytes_json
    if field.scalar:
        return lambda value: value
    return lambda value: _json_of(value, field.type)


def _bytes_json(value: bytes) -> str:
    return base64.b64encode(value).decode()


# -- the wire-format helpers -------------------------------------------------------------------


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise SchemaError(f"a time must be an RFC 3339 string, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise SchemaError(f"not an RFC 3339 time: {value!r}") from err
    if parsed.tzinfo is None:
        raise SchemaError(f"an RFC 3339 time needs a zone: {value!r}")
    return parsed


def _fill_time(message: Any, value: Any) -> None:
    """``metav1.Time``/``MicroTime``: nothing for ``null`` (the zero time), else seconds and
    nanoseconds, both written even when zero (``Timestamp``'s fields are not pointers)."""
    if value is None:
        return
    parsed = _parse_time(value)
    message.seconds = int(parsed.timestamp() // 1)
    message.nanos = parsed.microsecond * 1000


def _time_json(message: Any, micro: bool) -> str | None:
    """Zero (nothing on the wire) is ``null``; ``Time`` keeps seconds, ``MicroTime`` micros."""
    if message.ByteSize() == 0:
        return None
    moment = datetime.fromtimestamp(message.seconds, UTC)
    if not micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{message.nanos // 1000:06d}Z"


def _fill_quantity(message: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SchemaError(f"a quantity must be a string or a number, not {value!r}")
    message.string = value if isinstance(value, str) else format(value, "g")


def _fill_int_or_string(message: Any, value: Any) -> None:
    """``type`` 0 with ``intVal``, or 1 with ``strVal``; all three written."""
    if isinstance(value, int) and not isinstance(value, bool):
        message.type, message.intVal, message.strVal = 0, value, ""
    elif isinstance(value, str):
        message.type, message.intVal, message.strVal = 1, 0, value
    else:
        raise SchemaError(f"an int-or-string must be a number or a string, not {value!r}")


def _int_or_string_json(message: Any) -> int | str:
    value: int | str = message.strVal if message.type == 1 else message.intVal
    return value


def _fill_fields_v1(message: Any, value: Any) -> None:
    if value is not None:
        message.Raw = go_json(value)


def _fields_v1_json(message: Any) -> Any:
    return json.loads(message.Raw) if message.HasField("Raw") else None


_SPECIAL_FILL: dict[str, Callable[[Any, Any], None]] = {
    "meta.Time": _fill_time,
    "meta.MicroTime": _fill_time,
    "meta.Quantity": _fill_quantity,
    "meta.IntOrString": _fill_int_or_string,
    "meta.FieldsV1": _fill_fields_v1,
}
_ZERO_JSON: dict[str, Any] = {
    "meta.Time": None,
    "meta.MicroTime": None,
    "meta.FieldsV1": None,
    "meta.Quantity": "0",
    "meta.IntOrString": 0,
}
_SPECIAL_JSON: dict[str, Callable[[Any], Any]] = {
    "meta.Time": lambda message: _time_json(message, micro=False),
    "meta.MicroTime": lambda message: _time_json(message, micro=True),
    "meta.Quantity": lambda message: message.string,
    "meta.IntOrString": _int_or_string_json,
    "meta.FieldsV1": _fields_v1_json,
}
