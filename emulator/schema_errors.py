"""Field errors as the API server reports them, and the error raised for a bad CRD schema.

:class:`FieldError` mirrors ``k8s.io/apimachinery/pkg/util/validation/field.Error``: ``field`` is
the object path the server prints (``spec.storage.s3.bucket``, ``spec.tolerations[0].key``,
``metadata.labels[app]``), ``reason`` is the ``StatusCause`` type (``FieldValueRequired``,
``FieldValueInvalid``, ...), and ``message`` is ``field.Error.ErrorBody()`` -- the text after
``<field>: `` in a 422 response (``Unsupported value: "x": supported values: "a", "b"``).
The constructors below (:func:`invalid`, :func:`required`, ...) follow ``field/errors.go``.

:class:`SchemaError` is raised when a CustomResourceDefinition cannot be accepted; it carries
every problem found, each naming the schema path, as the real server lists them in one 422.
Non-goals: HTTP Status bodies (the server builds those from these values).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ROOT_FIELD",
    "FieldError",
    "SchemaError",
    "child",
    "duplicate",
    "forbidden",
    "format_value",
    "go_value",
    "index",
    "invalid",
    "invalid_omit_value",
    "key",
    "not_supported",
    "required",
    "too_long",
    "too_many",
    "type_invalid",
]

# field.Path.String() of a nil path: how the real server names the object root (root-level
# x-kubernetes-validations rules report "<nil>: Invalid value: ...").
ROOT_FIELD = "<nil>"


class SchemaError(Exception):
    """A CRD version's schema was refused; ``errors`` lists every problem with its path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True, kw_only=False)
class FieldError:
    """One ``field.Error``: where, which ``FieldValue*`` reason, and the server's message."""

    field: str
    reason: str
    message: str


def child(path: str, name: str) -> str:
    """``field.Path.Child``: ``spec`` + ``port`` -> ``spec.port``."""
    return name if path in ("", ROOT_FIELD) else f"{path}.{name}"


def index(path: str, i: int) -> str:
    """``field.Path.Index``: ``spec.tolerations`` + 0 -> ``spec.tolerations[0]``."""
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    """``field.Path.Key``: ``metadata.labels`` + ``app`` -> ``metadata.labels[app]``."""
    return f"{path}[{k}]"


def _field(path: str) -> str:
    return path or ROOT_FIELD


def format_value(value: Any) -> str:
    """How ``field.Error`` prints a value: strings quoted (``%q``), numbers and bools bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '"null"'  # ErrorBody prints a nil value as the string "null"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def go_value(value: Any) -> str:
    """How ``field.Error`` prints a decoded JSON value (``interface{}``) of a bad value:
    ``%v`` for numbers and bools, ``%q`` for strings, ``%#v`` for maps and slices
    (``map[string]interface {}{"a":1, "b":"x"}``, ``[]interface {}{"a", 1}``)."""
    if isinstance(value, dict | list):
        return _go_sharp(value)
    return format_value(value) if value is not None else '"null"'


def _go_sharp(value: Any) -> str:
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{_go_sharp(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_sharp(v) for v in value) + "}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format_value(value)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(
        _field(path), "FieldValueInvalid", f"Invalid value: {format_value(value)}: {detail}"
    )


def invalid_omit_value(path: str, detail: str) -> FieldError:
    """``field.Invalid(path, field.OmitValueType{}, detail)``: the value is not printed."""
    return FieldError(_field(path), "FieldValueInvalid", f"Invalid value: {detail}")


def type_invalid(path: str, value: Any, detail: str) -> FieldError:
    body = f"Invalid value: {format_value(value)}: {detail}"
    return FieldError(_field(path), "FieldValueTypeInvalid", body)


def required(path: str, detail: str = "") -> FieldError:
    body = "Required value" + (f": {detail}" if detail else "")
    return FieldError(_field(path), "FieldValueRequired", body)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(_field(path), "FieldValueForbidden", f"Forbidden: {detail}")


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(
        _field(path), "FieldValueDuplicate", f"Duplicate value: {format_value(value)}"
    )


def not_supported(path: str, value: Any, supported: list[Any]) -> FieldError:
    allowed = ", ".join(format_value(v) for v in supported)
    body = f"Unsupported value: {format_value(value)}: supported values: {allowed}"
    return FieldError(_field(path), "FieldValueNotSupported", body)


def too_long(path: str, max_length: int) -> FieldError:
    # field.TooLong omits the value from the message (ErrorBody for ErrorTypeTooLong).
    body = f"Too long: may not be more than {max_length} bytes"
    return FieldError(_field(path), "FieldValueTooLong", body)


def too_many(path: str, actual: int, maximum: int, noun: str = "items") -> FieldError:
    body = f"Too many: {actual}: must have at most {maximum} {noun}"
    return FieldError(_field(path), "FieldValueTooMany", body)
