"""Schema markers on dataclass fields, and decoding plain dicts into those dataclasses.

Role: the Python analogue of kubebuilder's ``// +kubebuilder:validation:...`` comments. Each
API field is declared once, with :func:`prop`, carrying its JSON name, description, default,
enum, pattern, bounds and CEL rules. :mod:`api.v1alpha1.openapi` turns the same declarations
into the CRD's OpenAPI schema, :mod:`api.v1alpha1.validation` checks objects against that
schema, and :func:`decode` builds frozen dataclasses with the same defaults, so the types, the
CRD and the validation cannot drift apart.

Guarantees: :func:`decode` never mutates its input and ignores unknown keys (the API server
prunes them); a value of the wrong JSON type raises :class:`DecodeError` naming its field path.
Non-goals: validation beyond JSON types (see :mod:`api.v1alpha1.validation`).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "UNSET",
    "DecodeError",
    "Marker",
    "Rule",
    "class_description",
    "decode",
    "encode",
    "field_json_name",
    "json_name",
    "marker_of",
    "prop",
]

T = TypeVar("T")


class _Unset:
    """The "no default" sentinel (``None`` is not one: it is never a CRD default)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class DecodeError(ValueError):
    """A value has the wrong JSON type; ``path`` is its field path (``spec.port``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """One ``x-kubernetes-validations`` rule and the same rule in Python.

    ``check`` receives the (defaulted) JSON value the rule is attached to and returns whether
    it holds; a test evaluates ``cel`` with a CEL interpreter on the same inputs to prove the
    two agree. ``field_path`` (CEL ``fieldPath``, relative, like ``.s3``) names the field the
    API server reports; empty means the node the rule sits on. ``report_path`` overrides the
    path :func:`~api.v1alpha1.validation.validate` reports (``metadata.name`` for a root rule
    whose field the CRD schema cannot name).
    """

    cel: str
    message: str
    check: Callable[[Any], bool]
    field_path: str = ""
    report_path: str = ""  # where Python validation reports it, if CEL cannot name it


@dataclass(frozen=True, kw_only=True, slots=True)
class Marker:
    """What one field declares; see :func:`prop`."""

    description: str
    name: str = ""
    required: bool = False
    default: Any = UNSET
    enum: tuple[str, ...] = ()
    pattern: str = ""
    format: str = ""
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_items: int | None = None
    max_properties: int | None = None
    value_max_length: int | None = None
    value_pattern: str = ""
    preserve_unknown: bool = False
    list_map_keys: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    keep_empty: bool = False  # encode an empty list or object instead of leaving it out


def prop(
    description: str,
    *,
    default: Any = UNSET,
    factory: Callable[[], Any] | None = None,
    required: bool = False,
    **constraints: Any,
) -> Any:
    """Declare an API field: a ``dataclasses.field`` whose metadata is a :class:`Marker`.

    ``default`` is both the CRD default and the Python default (immutable values only);
    ``factory`` gives empty collections a Python default without a CRD default; fields that are
    neither required nor defaulted default to ``None``.
    """
    marker = Marker(description=description, required=required, default=default, **constraints)
    metadata = {"marker": marker}
    if required:
        return dataclasses.field(metadata=metadata)
    if default is not UNSET:
        return dataclasses.field(default=default, metadata=metadata)
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=None, metadata=metadata)


def marker_of(f: dataclasses.Field[Any]) -> Marker:
    """The :class:`Marker` of an API field (every field of an API dataclass has one)."""
    marker = f.metadata.get("marker")
    if not isinstance(marker, Marker):
        raise TypeError(f"field {f.name!r} is not declared with prop()")
    return marker


def json_name(f: dataclasses.Field[Any]) -> str:
    """The field's JSON name: the marker's ``name``, else the attribute in lowerCamelCase."""
    explicit = marker_of(f).name
    if explicit:
        return explicit
    head, *rest = f.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def field_json_name(cls: type, attr: str) -> str:
    """The JSON name of the field ``attr`` of the API dataclass ``cls`` (``time_zone`` →
    ``timeZone``), for code that names a field path in a message."""
    for f in dataclasses.fields(cls):
        if f.name == attr:
            return json_name(f)
    raise AttributeError(f"{cls.__name__} has no field {attr!r}")


def class_description(cls: type) -> str:
    """The first paragraph of a class docstring, on one line (the CRD ``description``)."""
    doc = inspect.getdoc(cls) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


_HINTS: dict[type, dict[str, Any]] = {}  # class → resolved annotations (a race only recomputes)


def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` once per class: it re-evaluates every string annotation on
    each call, which made decoding a backup cost ~0.5 ms (measured by ``make bench``)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def decode(cls: type[T], data: Mapping[str, Any] | None, path: str) -> T:
    """Build ``cls`` from a JSON object, applying declared defaults (see module guarantees)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"must be an object, not {type(data).__name__}")
    kwargs: dict[str, Any] = {}
    for attr, key, default, required, convert in _plan(cls):
        raw = data.get(key)
        if raw is None:
            if default is not UNSET:
                raw = copy.deepcopy(default)
            elif required:
                raise DecodeError(f"{path}.{key}" if path else key, "is required")
            else:
                continue  # the dataclass default (None or an empty collection)
        kwargs[attr] = convert(raw, f"{path}.{key}" if path else key)
    return cls(**kwargs)


# -- decoding plans: the reflection done once per class and per type ------------------------
# A herd decodes one backup per fire; walking ``dataclasses.fields``, markers and
# ``typing.get_origin`` on every call made that 0.4 ms of the reconciler's 1.1 ms per fire.

_Converter = Callable[[Any, str], Any]
_Field = tuple[str, str, Any, bool, _Converter]  # attribute, JSON key, default, required, convert
_PLANS: dict[type, tuple[_Field, ...]] = {}  # a race only recomputes
_CONVERTERS: dict[Any, _Converter] = {}


def _plan(cls: type) -> tuple[_Field, ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = _type_hints(cls)
        plan = _PLANS[cls] = tuple(
            (f.name, json_name(f), marker_of(f).default, marker_of(f).required,
             _converter(hints[f.name]))
            for f in dataclasses.fields(cls)
        )  # fmt: skip
    return plan


def _converter(tp: Any) -> _Converter:
    """The function that checks and converts one JSON value to ``tp`` (memoized per type)."""
    found = _CONVERTERS.get(tp)
    if found is None:
        found = _CONVERTERS[tp] = _build_converter(tp)
    return found


def _build_converter(tp: Any) -> _Converter:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _converter(options[0])
        if set(options) == {int, str}:
            return _int_or_string
        raise TypeError(f"unsupported union {tp!r}")
    if tp is Any:
        return lambda raw, _path: copy.deepcopy(raw)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        cls = tp
        return lambda raw, path: decode(cls, raw, path)
    if origin is tuple:
        return _tuple_of(_converter(args[0]))
    if origin in (Mapping, dict, typing.Mapping):
        return _mapping_of(_converter(args[1]))
    if tp is bool:
        return _boolean
    if tp is int:
        return _integer
    if tp is str:
        return _string
    raise TypeError(f"unsupported field type {tp!r}")


def _tuple_of(item: _Converter) -> _Converter:
    def convert(raw: Any, path: str) -> Any:
        if not isinstance(raw, list | tuple):
            raise DecodeError(path, "must be a list")
        return tuple(item(v, f"{path}[{i}]") for i, v in enumerate(raw))

    return convert


def _mapping_of(value: _Converter) -> _Converter:
    def convert(raw: Any, path: str) -> Any:
        if not isinstance(raw, Mapping):
            raise DecodeError(path, "must be an object")
        return {str(k): value(v, f"{path}[{k}]") for k, v in raw.items()}

    return convert


def _checked(accepts: Callable[[Any], bool], message: str) -> _Converter:
    """A converter for a JSON scalar: ``raw`` itself when ``accepts(raw)``, else ``message``
    at the field's path."""

    def convert(raw: Any, path: str) -> Any:
        if not accepts(raw):
            raise DecodeError(path, message)
        return raw

    return convert


# ``bool`` is a subclass of ``int`` in Python, never a JSON integer.
_int_or_string = _checked(
    lambda v: not isinstance(v, bool) and isinstance(v, int | str), "must be an integer or a string"
)
_boolean = _checked(lambda v: isinstance(v, bool), "must be a boolean")
_integer = _checked(lambda v: not isinstance(v, bool) and isinstance(v, int), "must be an integer")


def _string(raw: Any, path: str) -> Any:
    """The commonest converter, written out (one call per field instead of two)."""
    if isinstance(raw, str):
        return raw
    raise DecodeError(path, "must be a string")


def encode(value: Any) -> Any:
    """The JSON form of an API dataclass (or a value inside one): JSON names, ``None`` and
    empty collections left out (unless the field is declared ``keep_empty``, as a Go field
    without ``omitempty``), so the output is what a user would write. Fields come in
    declaration order."""
    if value is None or isinstance(value, str | int | float):
        return value  # immutable: no copy needed
    plan = _ENCODE_PLANS.get(type(value))
    if plan is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        plan = _encode_plan(type(value))
    if plan is not None:
        out: dict[str, Any] = {}
        for attr, key, keep_empty in plan:
            got = getattr(value, attr)
            if got is None:
                continue
            if not isinstance(got, str | int | float):  # scalars are their own JSON form
                got = encode(got)
                if not keep_empty and (got == {} or got == []):
                    continue
            out[key] = got
        return out
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return copy.deepcopy(value)


# Per class: (attribute, JSON key, keep_empty) of each field; a race only recomputes. Walking
# ``dataclasses.fields`` and ``json_name`` per encoded object cost more than the encoding.
_ENCODE_PLANS: dict[type, tuple[tuple[str, str, bool], ...]] = {}


def _encode_plan(cls: type) -> tuple[tuple[str, str, bool], ...]:
    plan = _ENCODE_PLANS[cls] = tuple(
        (f.name, json_name(f), marker_of(f).keep_empty) for f in dataclasses.fields(cls)
    )
    return plan
