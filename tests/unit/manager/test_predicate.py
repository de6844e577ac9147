"""Predicates (controller-runtime ``predicate_test.go``)."""

from __future__ import annotations

from typing import Any

import pytest

from manager.predicate import (
    AnnotationChangedPredicate,
    Funcs,
    GenerationChangedPredicate,
    LabelChangedPredicate,
    Predicate,
    ResourceVersionChangedPredicate,
    and_,
    new_predicate_funcs,
    not_,
    or_,
)


def obj(**meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "ns", **meta}}


NONE = obj()


@pytest.mark.parametrize(
    ("predicate", "old", "new", "passes"),
    [
        (GenerationChangedPredicate(), obj(generation=1), obj(generation=2), True),
        (GenerationChangedPredicate(), obj(generation=1), obj(generation=1), False),
        (GenerationChangedPredicate(), NONE, NONE, False),
        (
            ResourceVersionChangedPredicate(),
            obj(resourceVersion="1"),
            obj(resourceVersion="2"),
            True,
        ),
        (
            ResourceVersionChangedPredicate(),
            obj(resourceVersion="1"),
            obj(resourceVersion="1"),
            False,
        ),
        (
            AnnotationChangedPredicate(),
            obj(annotations={"a": "1"}),
            obj(annotations={"a": "2"}),
            True,
        ),
        (
            AnnotationChangedPredicate(),
            obj(annotations={"a": "1"}),
            obj(annotations={"a": "1"}),
            False,
        ),
        (AnnotationChangedPredicate(), NONE, obj(annotations={}), False),  # nil == empty
        (AnnotationChangedPredicate(), NONE, obj(annotations={"a": "1"}), True),
        (LabelChangedPredicate(), obj(labels={"a": "1"}), obj(labels={"a": "1", "b": "2"}), True),
        (LabelChangedPredicate(), obj(labels={"a": "1"}), obj(labels={"a": "1"}), False),
        (LabelChangedPredicate(), NONE, obj(labels={}), False),
    ],
)
def test_changed_predicates_on_update(
    predicate: Predicate, old: dict[str, Any], new: dict[str, Any], passes: bool
) -> None:
    assert predicate.update(old, new) is passes
    # Creates and deletes always pass the "changed" predicates.
    assert predicate.create(new) is True
    assert predicate.delete(new) is True


def test_funcs_default_to_passing() -> None:
    empty = Funcs()
    assert empty.create(NONE) and empty.update(NONE, NONE) and empty.delete(NONE)
    only_create = Funcs(create_func=lambda o: False)
    assert not only_create.create(NONE)
    assert only_create.update(NONE, NONE) and only_create.delete(NONE)
    upd = Funcs(update_func=lambda old, new: new["metadata"].get("generation") == 3)
    assert upd.update(NONE, obj(generation=3)) and not upd.update(NONE, NONE)
    dele = Funcs(delete_func=lambda o: False)
    assert not dele.delete(NONE)


def test_new_predicate_funcs_filters_the_new_object_on_update() -> None:
    in_prod = new_predicate_funcs(lambda o: o["metadata"]["namespace"] == "prod")
    prod, dev = {"metadata": {"namespace": "prod"}}, {"metadata": {"namespace": "dev"}}
    assert in_prod.create(prod) and not in_prod.create(dev)
    assert in_prod.update(dev, prod) and not in_prod.update(prod, dev)
    assert in_prod.delete(prod) and not in_prod.delete(dev)


def test_combinators() -> None:
    yes, no = Funcs(), Funcs(create_func=lambda o: False, update_func=lambda a, b: False)
    assert and_(yes, yes).create(NONE) and not and_(yes, no).create(NONE)
    assert and_().create(NONE)
    assert or_(no, yes).create(NONE) and not or_(no, no).update(NONE, NONE)
    assert not or_().create(NONE)
    assert not not_(yes).create(NONE) and not_(no).update(NONE, NONE)
    assert not not_(yes).delete(NONE)
    assert and_(no, yes).delete(NONE) and or_(no).delete(NONE)


def test_predicates_tolerate_missing_metadata() -> None:
    assert GenerationChangedPredicate().update({}, {"metadata": None}) is False
    assert LabelChangedPredicate().update({}, {"metadata": {"labels": {"a": "b"}}}) is True
