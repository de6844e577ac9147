"""CRD ``x-kubernetes-validations`` rules, compiled and evaluated with cel-python (``celpy``).

Role: every rule of a CRD version is compiled when the CRD is applied
(:func:`compile_rules`); anything we cannot evaluate faithfully is refused there, as a
:class:`~emulator.schema_errors.SchemaError` message -- never skipped at request time.
:meth:`CompiledRule.evaluate` then runs a rule against a value (and its old value) and returns
the :class:`~emulator.schema_errors.FieldError` the real API server would report.

Supported (CRD docs, "Validation rules"):

- variables ``self`` and ``oldSelf``; a rule that mentions ``oldSelf`` is a *transition rule*
  and only runs on update when the old object has a value at the same place;
- at the root, ``self.apiVersion``, ``self.kind``, ``self.metadata.name`` and
  ``self.metadata.generateName`` (the only metadata the docs expose to rules);
- operators ``! - + * / % < <= > >= == != in && || ?:`` and indexing ``a[b]``;
- macros ``has``, ``all``, ``exists``, ``exists_one``, ``map``, ``filter``;
- functions ``size``, ``contains``, ``startsWith``, ``endsWith``, ``matches`` (RE2),
  conversions ``int uint double string bool bytes duration timestamp type``, the timestamp
  and duration getters (``getFullYear`` ... ``getMilliseconds``);
- Kubernetes string extensions ``charAt``, ``indexOf``, ``lastIndexOf``, ``lowerAscii``,
  ``upperAscii``, ``replace``, ``split``, ``substring``, ``trim`` and list ``join``;
- ``message``, ``messageExpression`` (falls back to ``message`` / the default if it errors or
  does not give a string), ``fieldPath`` (``.a.b`` and ``['a']`` segments, checked against the
  schema), and ``reason`` (``FieldValueInvalid`` default, ``FieldValueForbidden``,
  ``FieldValueRequired``, ``FieldValueDuplicate``).
- field access on ``self`` is checked against the schema at compile time: ``self.nope`` on an
  object without that property is refused with ``undefined field 'nope'``, like the server.

Refused at apply time (explicit SchemaError): syntax errors; any other function, method or
identifier (e.g. ``url()``, ``ip()``, ``quantity()``, ``format()``, optionals, ``isSorted``);
``optionalOldSelf: true``; unknown ``reason`` values; ``fieldPath`` with numeric indexes or
naming a field the schema does not declare. Non-goals: CEL cost estimation and budgets, full
static type checking (a rule that does not return a bool is reported at evaluation time).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from emulator.schema_errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    invalid,
    required,
)

# Upstream reports compile errors as field.Invalid(<rule path>, schema.XValidations[i], detail):
# the value is the Go struct, printed with %#v; we elide the dump and keep the detail (whose
# text after "compilation failed: " is cel-go's upstream and cel-python's here).
RULE_VALUE = "apiextensions.ValidationRule{...}"

__all__ = [
    "SUPPORTED_FUNCTIONS",
    "CompiledRule",
    "compile_rules",
    "field_path_segments",
    "uses_old_self",
]

log = logging.getLogger(__name__)

MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter"})
_CELPY_NATIVE = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "bytes",
        "duration",
        "timestamp",
        "type",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getFullYear",
        "getMonth",
        "getHours",
        "getMilliseconds",
        "getMinutes",
        "getSeconds",
    }
)
REASONS = ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate")


def _s(value: str) -> celtypes.StringType:
    return celtypes.StringType(value)


def _char_at(s: str, i: int) -> celtypes.StringType:
    return _s(s[i] if 0 <= i < len(s) else "")


def _index_of(s: str, sub: str, offset: int = 0) -> celtypes.IntType:
    return celtypes.IntType(s.find(sub, int(offset)))


def _last_index_of(s: str, sub: str, offset: int | None = None) -> celtypes.IntType:
    end = len(s) if offset is None else int(offset) + len(sub)
    return celtypes.IntType(s.rfind(sub, 0, end))


def _replace(s: str, old: str, new: str, n: int = -1) -> celtypes.StringType:
    return _s(s.replace(old, new, int(n)))


def _split(s: str, sep: str, n: int = -1) -> celtypes.ListType:
    if n == 0:
        return celtypes.ListType([])
    parts = s.split(sep, int(n) - 1) if n > 0 else s.split(sep)
    return celtypes.ListType([_s(p) for p in parts])


def _substring(s: str, start: int, end: int | None = None) -> celtypes.StringType:
    stop = len(s) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(s):
        raise IndexError(f"index out of range: {start}")
    return _s(s[int(start) : stop])


def _join(items: list[Any], sep: str = "") -> celtypes.StringType:
    return _s(sep.join(str(i) for i in items))


# The Kubernetes CEL string library (k8s.io/apiserver/pkg/cel/library, cel-go ext.Strings).
EXTENSIONS: dict[str, Callable[..., Any]] = {
    "charAt": _char_at,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda s: _s(s.lower()),
    "upperAscii": lambda s: _s(s.upper()),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda s: _s(s.strip()),
    "join": _join,
}
SUPPORTED_FUNCTIONS = frozenset(MACROS | _CELPY_NATIVE | EXTENSIONS.keys())

_ENV = celpy.Environment()


@dataclass(frozen=True)
class CompiledRule:
    """One compiled ``x-kubernetes-validations`` entry, bound to its place in the schema."""

    rule: str
    message: str
    message_expression: str
    field_path: tuple[str, ...]  # the rule's ``fieldPath`` as segments below its location
    reason: str
    schema_type: str  # the node's ``type`` as the error value ("object", "string", ...)
    transition: bool  # mentions oldSelf: runs only when an old value exists
    _program: Any = field(repr=False, compare=False)
    _message_program: Any = field(repr=False, compare=False)

    def evaluate(
        self, value: Any, location: str, old: Any = None, *, has_old: bool = False
    ) -> FieldError | None:
        """Run the rule on ``value`` found at object path ``location``; ``None`` when it passes
        (or when it is a transition rule and there is no old value)."""
        if self.transition and not has_old:
            return None
        activation = {"self": json_to_cel(value)}
        if self.transition:
            activation["oldSelf"] = json_to_cel(old)
        try:
            result = self._program.evaluate(activation)
            if isinstance(result, CELEvalError):
                raise result
        except (CELEvalError, TypeError, ValueError, IndexError, KeyError) as err:
            detail = f"{_eval_error_text(err)} evaluating rule: {self._default_message()}"
            return invalid(location, self.schema_type, detail)
        if not isinstance(result, celtypes.BoolType):
            detail = f"rule did not evaluate to a bool: {self._default_message()}"
            return invalid(location, self.schema_type, detail)
        if bool(result):
            return None
        where = location
        for segment in self.field_path:
            where = child(where, segment)
        return self._failure(where, self._message_for(activation))

    def _default_message(self) -> str:
        return self.message or f"failed rule: {self.rule}"

    def _message_for(self, activation: dict[str, Any]) -> str:
        if self._message_program is not None:
            try:
                text = self._message_program.evaluate(activation)
                if isinstance(text, str) and text.strip():
                    return str(text)
            except (CELEvalError, TypeError, ValueError, IndexError, KeyError):
                log.debug("messageExpression failed", extra={"rule": self.rule})
        return self._default_message()

    def _failure(self, where: str, message: str) -> FieldError:
        # apiextensions-apiserver fieldErrorForReason.
        if self.reason == "FieldValueForbidden":
            return forbidden(where, message)
        if self.reason == "FieldValueRequired":
            return required(where, message)
        if self.reason == "FieldValueDuplicate":
            return duplicate(where, self.schema_type)
        return invalid(where, self.schema_type, message)


def _eval_error_text(err: Exception) -> str:
    if isinstance(err, CELEvalError) and err.args:
        text = str(err.args[0])
        m = re.match(r"no such member in mapping: '(.*)'", text)
        return f"no such key: {m.group(1)}" if m else text
    return str(err)


def compile_rules(
    rules: list[dict[str, Any]], node: Mapping[str, Any], schema_path: str, *, is_root: bool = False
) -> tuple[list[CompiledRule], list[str]]:
    """Compile one schema node's rules; ``schema_path`` names the node in SchemaError
    messages. Returns (rules, problems); a rule with any problem is left out."""
    compiled: list[CompiledRule] = []
    problems: list[str] = []
    for i, spec in enumerate(rules):
        where = f"{schema_path}.x-kubernetes-validations[{i}]"
        before = len(problems)
        rule = spec.get("rule")
        if not isinstance(rule, str) or not rule.strip():
            problems.append(f"{where}.rule: Required value")
            continue
        program, uses_old = _compile(rule, node, is_root, f"{where}.rule", problems)
        message_program = None
        if spec.get("messageExpression"):
            message_program, _ = _compile(
                spec["messageExpression"], node, is_root, f"{where}.messageExpression", problems
            )
        reason = spec.get("reason") or "FieldValueInvalid"
        if reason not in REASONS:
            allowed = ", ".join(f'"{r}"' for r in REASONS)
            problems.append(
                f'{where}.reason: Unsupported value: "{reason}": supported values: {allowed}'
            )
        if spec.get("optionalOldSelf"):
            problems.append(f"{where}.optionalOldSelf: unsupported by this emulator")
        field_path: tuple[str, ...] = ()
        if spec.get("fieldPath"):
            field_path = _resolve_field_path(spec["fieldPath"], node, where, problems)
        if len(problems) > before:
            continue
        compiled.append(
            CompiledRule(
                rule=rule,
                message=str(spec.get("message") or ""),
                message_expression=str(spec.get("messageExpression") or ""),
                field_path=field_path,
                reason=reason,
                schema_type=str(node.get("type") or "object"),
                transition=uses_old,
                _program=program,
                _message_program=message_program,
            )
        )
    return compiled, problems


def _compile(
    source: str, node: Mapping[str, Any], is_root: bool, where: str, problems: list[str]
) -> tuple[Any, bool]:
    try:
        ast = _ENV.compile(source)
    except (CELParseError, lark.exceptions.LarkError) as err:
        problems.append(
            f"{where}: Invalid value: {RULE_VALUE}: compilation failed: {str(err).splitlines()[0]}"
        )
        return None, False
    before = len(problems)
    bound = _comprehension_variables(ast)
    uses_old = False
    for tree in ast.iter_subtrees():
        name = _called_name(tree)
        if name is not None and name not in SUPPORTED_FUNCTIONS:
            problems.append(f"{where}: unsupported function or method {name!r} in {source!r}")
        if tree.data == "ident":
            ident = str(tree.children[0])
            uses_old = uses_old or ident == "oldSelf"
            if ident not in ("self", "oldSelf") and ident not in bound:
                problems.append(f"{where}: undeclared reference to {ident!r} in {source!r}")
        elif tree.data in ("dot_ident", "dot_ident_arg", "member_object", "map_inits"):
            problems.append(f"{where}: unsupported expression form in {source!r}")
        elif tree.data == "member_dot":
            _check_field_access(tree, node, is_root, where, problems)
    if len(problems) > before:
        return None, uses_old
    return _ENV.program(ast, functions=EXTENSIONS), uses_old


def _called_name(tree: lark.Tree[Any]) -> str | None:
    if tree.data == "member_dot_arg":
        return str(tree.children[1])
    if tree.data == "ident_arg":
        return str(tree.children[0])
    return None


def _comprehension_variables(ast: lark.Tree[Any]) -> set[str]:
    bound: set[str] = set()
    for tree in ast.iter_subtrees():
        if tree.data == "member_dot_arg" and str(tree.children[1]) in MACROS - {"has"}:
            exprlist = tree.children[2] if len(tree.children) > 2 else None
            if isinstance(exprlist, lark.Tree) and exprlist.children:
                first = exprlist.children[0]
                idents = [t for t in first.iter_subtrees() if t.data == "ident"]
                if isinstance(first, lark.Tree) and len(idents) == 1:
                    bound.add(str(idents[0].children[0]))
    return bound


_ROOT_IMPLICIT: dict[str, Any] = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
    },
}


def _property_schema(node: Mapping[str, Any] | None, name: str, is_root: bool) -> tuple[bool, Any]:
    """(known, schema): whether ``name`` may be selected on ``node``, and its schema if known."""
    if node is None:
        return True, None
    props = dict(node.get("properties") or {})
    if is_root:
        props = {**_ROOT_IMPLICIT, **props}
        if "metadata" in node.get("properties", {}):
            props["metadata"] = _ROOT_IMPLICIT["metadata"]
    if name in props:
        return True, props[name]
    if isinstance(node.get("additionalProperties"), dict):
        return True, node["additionalProperties"]
    if node.get("type") in ("string", "integer", "number", "boolean", "array"):
        return False, None
    if node.get("x-kubernetes-preserve-unknown-fields") or node.get("type") != "object":
        return True, None
    return False, None


def _resolve(tree: Any, node: Mapping[str, Any], is_root: bool) -> tuple[bool, Any, bool]:
    """Resolve a member chain to (resolvable, schema, at_root)."""
    if not isinstance(tree, lark.Tree):
        return False, None, False
    if tree.data in ("member", "primary") and len(tree.children) == 1:
        return _resolve(tree.children[0], node, is_root)
    if tree.data == "ident" and str(tree.children[0]) in ("self", "oldSelf"):
        return True, node, is_root
    if tree.data == "member_dot":
        ok, parent, parent_root = _resolve(tree.children[0], node, is_root)
        if not ok or parent is None:
            return False, None, False
        known, sub = _property_schema(parent, str(tree.children[1]), parent_root)
        return known and sub is not None, sub, False
    return False, None, False


def _check_field_access(
    tree: lark.Tree[Any], node: Mapping[str, Any], is_root: bool, where: str, problems: list[str]
) -> None:
    ok, parent, parent_root = _resolve(tree.children[0], node, is_root)
    if not ok or parent is None:
        return
    name = str(tree.children[1])
    known, _ = _property_schema(parent, name, parent_root)
    if not known:
        problems.append(
            f"{where}: Invalid value: {RULE_VALUE}: compilation failed: undefined field '{name}'"
        )


_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\]")


def _field_path_segments(text: str) -> Iterator[str | None]:
    pos = 0
    while pos < len(text):
        m = _SEGMENT.match(text, pos)
        if m is None:
            yield None
            return
        yield m.group(1) if m.group(1) is not None else m.group(2)
        pos = m.end()


def uses_old_self(source: str) -> bool:
    """Whether a rule that parses mentions ``oldSelf`` (a transition rule)."""
    try:
        ast = _ENV.compile(source)
    except (CELParseError, lark.exceptions.LarkError):
        return False
    return any(t.data == "ident" and str(t.children[0]) == "oldSelf" for t in ast.iter_subtrees())


def field_path_segments(text: str, node: Mapping[str, Any]) -> tuple[str, ...] | None:
    """A rule's ``fieldPath`` as property names below ``node``, or None when it does not name
    a declared field (upstream ``pathValid``: "fieldPath must be a valid path")."""
    segments: list[str] = []
    current: Any = node
    for segment in _field_path_segments(text if text.startswith((".", "[")) else "." + text):
        known, sub = (False, None) if segment is None else _property_schema(current, segment, False)
        if segment is None or not known:
            return None
        segments.append(segment)
        current = sub
    return tuple(segments)


def _resolve_field_path(
    text: str, node: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[str, ...]:
    segments = field_path_segments(text, node)
    if segments is None:
        problems.append(
            f"{where}.fieldPath: Invalid value: {json.dumps(text)}: fieldPath must be a valid path"
        )
        return ()
    return segments
