"""``TokenReview`` and ``SubjectAccessReview``: the API server asked who a token is, and may they.

Built from the upstream REST handlers (``pkg/registry/authentication/tokenreview`` and
``pkg/registry/authorization/subjectaccessreview``) and the types in
``pkg/apis/authentication`` / ``pkg/apis/authorization``. Both are create-only, cluster-scoped
and never stored: a POST answers ``201`` with the request's ``spec`` and a computed ``status``.

* ``TokenReview``: ``spec.token`` is looked up in the emulator's users, as the request
  authenticator would; an accepted token gives ``status.authenticated: true`` and
  ``status.user`` with the groups the authenticator chain adds (``system:serviceaccounts`` and
  ``system:serviceaccounts:<namespace>`` for a ServiceAccount, ``system:authenticated`` for
  everyone) and ``status.audiences``; an unknown token gives ``status.error`` and an empty user.
  An empty token is a 400.
* ``SubjectAccessReview``: validated as ``ValidateSubjectAccessReview`` does (exactly one of
  ``resourceAttributes`` and ``nonResourceAttributes``; a user or a group; empty metadata),
  then decided by the emulator's RBAC authorizer (:mod:`emulator.rbac`); with RBAC off every
  request is allowed, as with ``--authorization-mode=AlwaysAllow``. ``status.allowed`` and
  ``status.reason`` as the authorizer answers; RBAC never denies explicitly, so ``denied`` is
  never set.

Non-goals: ``SelfSubjectAccessReview``, ``LocalSubjectAccessReview``, ``SelfSubjectReview``,
bound-token audiences (every accepted token is valid for every audience asked).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from emulator.audit import Users
from emulator.errors import ApiStatusError, Cause, bad_request, invalid
from emulator.rbac import SA_PREFIX, Attributes, Authorizer
from emulator.request_info import RequestInfo

__all__ = [
    "API_AUDIENCE",
    "REVIEW_RESOURCES",
    "answer",
    "subject_access_review",
    "token_review",
]

AUTHENTICATED_GROUP = "system:authenticated"  # k8s.io/apiserver user.AllAuthenticated
SA_GROUP = "system:serviceaccounts"  # k8s.io/apiserver serviceaccount.AllServiceAccountsGroup
# kube-apiserver's --api-audiences defaults to its --service-account-issuer; this is the
# issuer kubeadm configures.
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
TOKEN_REVIEWS = ("authentication.k8s.io", "tokenreviews")
SUBJECT_ACCESS_REVIEWS = ("authorization.k8s.io", "subjectaccessreviews")
REVIEW_RESOURCES = frozenset({TOKEN_REVIEWS, SUBJECT_ACCESS_REVIEWS})


def _authenticated_groups(user: str, groups: tuple[str, ...]) -> list[str]:
    """The groups a request authenticator reports: the token's own, then the implied ones."""
    out = list(groups)
    if user.startswith(SA_PREFIX):
        namespace = user[len(SA_PREFIX) :].split(":", 1)[0]
        out += [SA_GROUP, f"{SA_GROUP}:{namespace}"]
    out.append(AUTHENTICATED_GROUP)
    return list(dict.fromkeys(out))


def _review(body: Any, api_version: str, kind: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(f"not a {kind}: {json.dumps(body)}")
    review = copy.deepcopy(body)
    review["apiVersion"], review["kind"] = api_version, kind
    review["metadata"] = {"creationTimestamp": None, **(review.get("metadata") or {})}
    review.setdefault("spec", {})
    return review


def token_review(users: Users, body: Any) -> dict[str, Any]:
    """The answered ``TokenReview`` for a POSTed one."""
    review = _review(body, "authentication.k8s.io/v1", "TokenReview")
    spec = review["spec"]
    token = spec.get("token") or ""
    if not token:
        raise bad_request("token is required for TokenReview in authentication.k8s.io")
    user = users.authenticate(token)
    if user is None:
        review["status"] = {"user": {}, "error": "invalid bearer token"}
        return review
    review["status"] = {
        "authenticated": True,
        "user": {"username": user.name, "groups": _authenticated_groups(user.name, user.groups)},
        "audiences": list(spec.get("audiences") or [API_AUDIENCE]),
    }
    return review


def _validate(review: dict[str, Any]) -> list[Cause]:
    spec = review["spec"]
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    causes = []
    if resource is not None and non_resource is not None:
        causes.append(Cause(
            field="spec.nonResourceAttributes", reason="FieldValueInvalid",
            message=f"Invalid value: {json.dumps(non_resource)}: cannot be specified in "
            "combination with resourceAttributes",
        ))  # fmt: skip
    if resource is None and non_resource is None:
        causes.append(Cause(
            field="spec.resourceAttributes", reason="FieldValueInvalid",
            message="Invalid value: null: exactly one of nonResourceAttributes or "
            "resourceAttributes must be specified",
        ))  # fmt: skip
    if not spec.get("user") and not spec.get("groups"):
        causes.append(Cause(
            field="spec.user", reason="FieldValueInvalid",
            message='Invalid value: "": at least one of user or group must be specified',
        ))  # fmt: skip
    metadata = {k: v for k, v in review["metadata"].items() if v is not None}
    if metadata:
        message = f"Invalid value: {json.dumps(metadata)}: must be empty"
        causes.append(Cause(field="metadata", reason="FieldValueInvalid", message=message))
    return causes


def subject_access_review(authorizer: Authorizer | None, body: Any) -> dict[str, Any]:
    """The answered ``SubjectAccessReview`` for a POSTed one."""
    review = _review(body, "authorization.k8s.io/v1", "SubjectAccessReview")
    causes = _validate(review)
    if causes:
        raise invalid("authorization.k8s.io", "SubjectAccessReview", "", causes)
    spec = review["spec"]
    resource = spec.get("resourceAttributes") or {}
    non_resource = spec.get("nonResourceAttributes")
    attrs = Attributes(
        user=str(spec.get("user") or ""),
        groups=tuple(spec.get("groups") or ()),
        verb=str((non_resource or resource).get("verb", "")),
        api_group=str(resource.get("group", "")),
        resource=str(resource.get("resource", "")),
        subresource=str(resource.get("subresource", "")),
        namespace=str(resource.get("namespace", "")),
        name=str(resource.get("name", "")),
        non_resource_url=str(non_resource.get("path", "")) if non_resource is not None else "",
    )
    if authorizer is None:
        review["status"] = {"allowed": True}
        return review
    decision = authorizer.authorize(attrs)
    status: dict[str, Any] = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    review["status"] = status
    return review


def answer(
    users: Users, authorizer: Authorizer | None, request: RequestInfo, body: Any
) -> dict[str, Any]:
    """The answered review for a request to either collection; anything but a POST to the
    collection is 405, as for every create-only resource."""
    if request.verb != "create" or request.name:
        raise ApiStatusError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    if request.resource == "tokenreviews":
        return token_review(users, body)
    return subject_access_review(authorizer, body)
