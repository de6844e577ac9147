"""TokenReview and SubjectAccessReview, as the upstream REST handlers answer them.

Sources: "Authenticating" (webhook token authentication, the TokenReview it posts),
"Authorization" (checking API access with SubjectAccessReview) in the Kubernetes docs, and
``pkg/registry/authentication/tokenreview``, ``pkg/registry/authorization/subjectaccessreview``
and ``pkg/apis/authorization/validation`` upstream. Tests that need to know a token's owner
reach into the emulator (``api_server``); the rest run against a real server too.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.support import raw

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SARS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
SA_USER = "system:serviceaccount:monitoring:prometheus"


def _token_review(token: str) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}}  # fmt: skip


def _sar(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}


def _metrics_get(user: str, groups: list[str] | None = None) -> dict[str, Any]:
    return _sar(user=user, groups=groups or [],
                nonResourceAttributes={"path": "/metrics", "verb": "get"})  # fmt: skip


def test_a_token_review_of_an_unknown_token_is_created_unauthenticated(
    k8s: client.ApiClient,
) -> None:
    code, body = raw(k8s, "POST", TOKEN_REVIEWS, _token_review("not-a-token-anyone-issued"))
    assert code == 201
    assert isinstance(body, dict)
    assert body["kind"] == "TokenReview"
    assert not body["status"].get("authenticated")
    assert body["status"].get("user", {}).get("username") is None


def test_a_token_review_needs_a_token(k8s: client.ApiClient) -> None:
    code, body = raw(k8s, "POST", TOKEN_REVIEWS, _token_review(""))
    assert code == 400
    assert isinstance(body, dict) and body["reason"] == "BadRequest"


def test_a_token_review_names_the_user_with_the_groups_the_authenticator_adds(
    api_server: ApiServer, k8s: client.ApiClient
) -> None:
    api_server.add_user("prom-token", SA_USER, ["system:serviceaccounts"])
    code, body = raw(k8s, "POST", TOKEN_REVIEWS, _token_review("prom-token"))
    assert code == 201 and isinstance(body, dict)
    status = body["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == SA_USER
    assert status["user"]["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:monitoring",
        "system:authenticated",
    ]
    assert status["audiences"]


def test_reviews_are_never_stored(k8s: client.ApiClient) -> None:
    """Create-only: a GET of the collection is refused (405), nothing lists them."""
    code, _ = raw(k8s, "GET", TOKEN_REVIEWS)
    assert code == 405
    code, _ = raw(k8s, "GET", SARS)
    assert code == 405


def test_a_subject_access_review_answers_with_the_spec_and_a_decision(
    k8s: client.ApiClient,
) -> None:
    """A member of system:masters may do anything (denying a user
    without bindings needs RBAC on: see the next test)."""
    code, body = raw(k8s, "POST", SARS, _metrics_get("root", ["system:masters"]))
    assert code == 201 and isinstance(body, dict)
    assert body["status"]["allowed"] is True
    assert body["spec"]["nonResourceAttributes"] == {"path": "/metrics", "verb": "get"}


def test_a_subject_access_review_follows_rbac_for_non_resource_urls() -> None:
    """ "Using RBAC Authorization": nonResourceURLs are granted through ClusterRoleBindings;
    a user with no binding, or another path, is not allowed."""
    with ApiServer(rbac=True) as server:
        server.create_object({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "metrics-reader"},
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
        })  # fmt: skip
        server.create_object({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "prometheus-metrics-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "metrics-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus",
                          "namespace": "monitoring"}],
        })  # fmt: skip
        with client.ApiClient(server.client_configuration()) as admin:
            _, allowed = raw(admin, "POST", SARS, _metrics_get(SA_USER))
            _, other_path = raw(admin, "POST", SARS, _sar(
                user=SA_USER, nonResourceAttributes={"path": "/debug", "verb": "get"}))  # fmt: skip
            _, other_user = raw(admin, "POST", SARS, _metrics_get("system:serviceaccount:x:y"))
    assert isinstance(allowed, dict) and allowed["status"]["allowed"] is True
    assert "metrics-reader" in allowed["status"]["reason"]
    assert isinstance(other_path, dict) and other_path["status"]["allowed"] is False
    assert isinstance(other_user, dict) and other_user["status"]["allowed"] is False


def test_a_subject_access_review_is_validated(k8s: client.ApiClient) -> None:
    """ValidateSubjectAccessReviewSpec: exactly one kind of attributes, a user or a group."""
    both = _sar(user="u", resourceAttributes={"verb": "get", "resource": "pods"},
                nonResourceAttributes={"path": "/metrics", "verb": "get"})  # fmt: skip
    neither = _sar(user="u")
    nobody = _sar(nonResourceAttributes={"path": "/metrics", "verb": "get"})
    fields = {}
    for name, review in (("both", both), ("neither", neither), ("nobody", nobody)):
        code, body = raw(k8s, "POST", SARS, review)
        assert code == 422, (name, body)
        assert isinstance(body, dict) and body["reason"] == "Invalid"
        fields[name] = [c["field"] for c in body["details"]["causes"]]
    assert fields == {
        "both": ["spec.nonResourceAttributes"],
        "neither": ["spec.resourceAttributes"],
        "nobody": ["spec.user"],
    }
