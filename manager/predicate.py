"""Predicates: which informer events are worth a reconcile (controller-runtime ``pkg/predicate``).

A :class:`Predicate` sees each event before the handler does and returns False to drop it.
The controller applies a watch's predicates in order and enqueues only if all return True.
Objects are the informer's shared dicts: predicates read them and never mutate them.

* :class:`Funcs` — a predicate from optional per-event functions (a missing one passes);
* :func:`new_predicate_funcs` — one filter applied to the object of every event (the new
  object of an update);
* :class:`GenerationChangedPredicate` — updates only when ``metadata.generation`` changed,
  i.e. the spec changed (status-only writes do not retrigger);
* :class:`ResourceVersionChangedPredicate` — drops resyncs (same ``resourceVersion``);
* :class:`AnnotationChangedPredicate`, :class:`LabelChangedPredicate` — updates only when the
  annotations / labels changed;
* :func:`and_`, :func:`or_`, :func:`not_` — combinators.

Create and delete events always pass the "changed" predicates, as upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from manager.objectmeta import Object, metadata_of

__all__ = [
    "AnnotationChangedPredicate",
    "Funcs",
    "GenerationChangedPredicate",
    "LabelChangedPredicate",
    "Object",
    "Predicate",
    "ResourceVersionChangedPredicate",
    "and_",
    "new_predicate_funcs",
    "not_",
    "or_",
]


class Predicate(Protocol):
    """Filters events: return True to let the event through to the handler."""

    def create(self, obj: Object) -> bool: ...

    def update(self, old: Object, new: Object) -> bool: ...

    def delete(self, obj: Object) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class Funcs:
    """A predicate built from functions; an event without a function passes."""

    create_func: Callable[[Object], bool] | None = None
    update_func: Callable[[Object, Object], bool] | None = None
    delete_func: Callable[[Object], bool] | None = None

    def create(self, obj: Object) -> bool:
        return self.create_func(obj) if self.create_func is not None else True

    def update(self, old: Object, new: Object) -> bool:
        return self.update_func(old, new) if self.update_func is not None else True

    def delete(self, obj: Object) -> bool:
        return self.delete_func(obj) if self.delete_func is not None else True


def new_predicate_funcs(keep: Callable[[Object], bool]) -> Funcs:
    """``keep(obj)`` decides every event; for updates it sees the new object."""
    return Funcs(
        create_func=keep,
        update_func=lambda _old, new: keep(new),
        delete_func=keep,
    )


class _UpdateOnly:
    """Base for predicates that only judge updates."""

    def create(self, obj: Object) -> bool:
        return True

    def delete(self, obj: Object) -> bool:
        return True


class GenerationChangedPredicate(_UpdateOnly):
    """Pass updates whose ``metadata.generation`` changed (spec changes, not status)."""

    def update(self, old: Object, new: Object) -> bool:
        return metadata_of(new).get("generation") != metadata_of(old).get("generation")


class ResourceVersionChangedPredicate(_UpdateOnly):
    """Pass updates whose ``metadata.resourceVersion`` changed (drops periodic resyncs)."""

    def update(self, old: Object, new: Object) -> bool:
        return metadata_of(new).get("resourceVersion") != metadata_of(old).get("resourceVersion")


class AnnotationChangedPredicate(_UpdateOnly):
    """Pass updates whose annotations changed (absent and empty are equal, as ``maps.Equal``)."""

    def update(self, old: Object, new: Object) -> bool:
        old_map = metadata_of(old).get("annotations") or {}
        new_map = metadata_of(new).get("annotations") or {}
        return bool(old_map != new_map)


class LabelChangedPredicate(_UpdateOnly):
    """Pass updates whose labels changed (absent and empty are equal, as ``maps.Equal``)."""

    def update(self, old: Object, new: Object) -> bool:
        old_map = metadata_of(old).get("labels") or {}
        new_map = metadata_of(new).get("labels") or {}
        return bool(old_map != new_map)


@dataclass(frozen=True)
class _And:
    predicates: Sequence[Predicate]

    def create(self, obj: Object) -> bool:
        return all(p.create(obj) for p in self.predicates)

    def update(self, old: Object, new: Object) -> bool:
        return all(p.update(old, new) for p in self.predicates)

    def delete(self, obj: Object) -> bool:
        return all(p.delete(obj) for p in self.predicates)


@dataclass(frozen=True)
class _Or:
    predicates: Sequence[Predicate]

    def create(self, obj: Object) -> bool:
        return any(p.create(obj) for p in self.predicates)

    def update(self, old: Object, new: Object) -> bool:
        return any(p.update(old, new) for p in self.predicates)

    def delete(self, obj: Object) -> bool:
        return any(p.delete(obj) for p in self.predicates)


@dataclass(frozen=True)
class _Not:
    predicate: Predicate

    def create(self, obj: Object) -> bool:
        return not self.predicate.create(obj)

    def update(self, old: Object, new: Object) -> bool:
        return not self.predicate.update(old, new)

    def delete(self, obj: Object) -> bool:
        return not self.predicate.delete(obj)


def and_(*predicates: Predicate) -> Predicate:
    """Pass an event only if every predicate passes it (no predicates: pass)."""
    return _And(tuple(predicates))


def or_(*predicates: Predicate) -> Predicate:
    """Pass an event if any predicate passes it (no predicates: drop)."""
    return _Or(tuple(predicates))


def not_(predicate: Predicate) -> Predicate:
    """Invert a predicate."""
    return _Not(predicate)
