"""The operator's RBAC is exactly what its code calls, and nothing that reads Secrets.

The expected rules are written out here on purpose: a change to ``config/rbac`` must come
with a change to this table (and to docs/deploy.md, which says why each rule exists). The
audit-log test (the operator against the emulator in RBAC mode) proves the rules suffice and
are all used; ``databasebackups/finalizers`` is the one rule it cannot see being used, because
only the OwnerReferencesPermissionEnforcement admission plugin checks it (docs/design.md section 6).
"""

from __future__ import annotations

from typing import Any

from tests.deploy.manifests import (
    LEADER_ELECTION_ROLE,
    LEASE_NAME,
    MANAGER_ROLE,
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    of_kind,
    only,
    render,
)

Rule = tuple[str, str, str, tuple[str, ...]]  # (apiGroup, resource, verb, resourceNames)

# What the operator's code calls (informer cache, status writer, Job creation and pruning,
# the events.k8s.io/v1 recorder), cluster-wide.
MANAGER_RULES: set[Rule] = {
    ("dbbackup.io", "databasebackups", "get", ()),
    ("dbbackup.io", "databasebackups", "list", ()),
    ("dbbackup.io", "databasebackups", "watch", ()),
    ("dbbackup.io", "databasebackups/status", "update", ()),
    # Admission-only: blockOwnerDeletion on the Jobs' owner reference (docs/design.md section 6).
    ("dbbackup.io", "databasebackups/finalizers", "update", ()),
    ("dbbackup.io", "databaserestores", "list", ()),
    ("dbbackup.io", "databaserestores", "watch", ()),
    ("dbbackup.io", "databaserestores/status", "update", ()),
    # Admission-only, like the above: the restore Job's owner reference.
    ("dbbackup.io", "databaserestores/finalizers", "update", ()),
    ("batch", "jobs", "get", ()),
    ("batch", "jobs", "list", ()),
    ("batch", "jobs", "watch", ()),
    ("batch", "jobs", "create", ()),
    ("batch", "jobs", "delete", ()),
    ("events.k8s.io", "events", "create", ()),
    ("events.k8s.io", "events", "patch", ()),
}

# The leader-election Lease, in the operator's namespace only. `create` cannot be limited by
# resourceNames (the authorizer sees no name on a create), so it stands alone.
LEADER_ELECTION_RULES: set[Rule] = {
    ("coordination.k8s.io", "leases", "get", (LEASE_NAME,)),
    ("coordination.k8s.io", "leases", "update", (LEASE_NAME,)),
    ("coordination.k8s.io", "leases", "create", ()),
}

# Secure metrics: reviews of a scraper's token and of its access to /metrics, nothing else.
METRICS_AUTH_ROLE = "dbbackup-operator-metrics-auth-role"
METRICS_AUTH_RULES: set[Rule] = {
    ("authentication.k8s.io", "tokenreviews", "create", ()),
    ("authorization.k8s.io", "subjectaccessreviews", "create", ()),
}
METRICS_READER_ROLE = "dbbackup-operator-metrics-reader"

USER_ROLES = {
    "dbbackup-databasebackup-admin-role": (
        "rbac.authorization.k8s.io/aggregate-to-admin",
        {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
    ),
    "dbbackup-databasebackup-editor-role": (
        "rbac.authorization.k8s.io/aggregate-to-edit",
        {"create", "delete", "get", "list", "patch", "update", "watch"},
    ),
    "dbbackup-databasebackup-viewer-role": (
        "rbac.authorization.k8s.io/aggregate-to-view",
        {"get", "list", "watch"},
    ),
    "dbbackup-databaserestore-admin-role": (
        "rbac.authorization.k8s.io/aggregate-to-admin",
        {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
    ),
    "dbbackup-databaserestore-editor-role": (
        "rbac.authorization.k8s.io/aggregate-to-edit",
        {"create", "delete", "get", "list", "patch", "update", "watch"},
    ),
    "dbbackup-databaserestore-viewer-role": (
        "rbac.authorization.k8s.io/aggregate-to-view",
        {"get", "list", "watch"},
    ),
}


def expand(role: dict[str, Any]) -> set[Rule]:
    """Flatten a role's resource rules into (group, resource, verb, resourceNames) tuples."""
    out: set[Rule] = set()
    for rule in role["rules"]:
        if "nonResourceURLs" in rule:
            assert "resources" not in rule and "apiGroups" not in rule, rule
            continue
        names = tuple(rule.get("resourceNames", ()))
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb, names))
    return out


def _bound_roles() -> list[dict[str, Any]]:
    """Every Role and ClusterRole bound to the operator's ServiceAccount."""
    objs = render("rbac")
    bound: list[dict[str, Any]] = []
    for binding in of_kind(objs, "ClusterRoleBinding") + of_kind(objs, "RoleBinding"):
        subjects = binding["subjects"]
        if {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE} in (
            subjects
        ):
            bound.append(only(objs, binding["roleRef"]["kind"], binding["roleRef"]["name"]))
    return bound


def test_manager_cluster_role_is_exactly_what_the_code_calls() -> None:
    role = only(render("rbac"), "ClusterRole", MANAGER_ROLE)
    assert expand(role) == MANAGER_RULES
    assert "aggregationRule" not in role


def test_leader_election_role_is_one_lease_in_the_operator_namespace() -> None:
    role = only(render("rbac"), "Role", LEADER_ELECTION_ROLE)
    assert role["metadata"]["namespace"] == OPERATOR_NAMESPACE
    assert expand(role) == LEADER_ELECTION_RULES


def test_metrics_auth_role_only_creates_reviews() -> None:
    role = only(render("rbac"), "ClusterRole", METRICS_AUTH_ROLE)
    assert expand(role) == METRICS_AUTH_RULES


def test_metrics_reader_role_only_gets_the_metrics_path_and_is_bound_to_no_one() -> None:
    role = only(render("rbac"), "ClusterRole", METRICS_READER_ROLE)
    assert role["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    bindings = of_kind(render("rbac"), "ClusterRoleBinding") + of_kind(
        render("rbac"), "RoleBinding"
    )
    assert METRICS_READER_ROLE not in {b["roleRef"]["name"] for b in bindings}


def test_the_service_account_holds_only_those_three_roles() -> None:
    bound = _bound_roles()
    assert sorted((r["kind"], r["metadata"]["name"]) for r in bound) == [
        ("ClusterRole", MANAGER_ROLE),
        ("ClusterRole", METRICS_AUTH_ROLE),
        ("Role", LEADER_ELECTION_ROLE),
    ]
    binding = only(render("rbac"), "RoleBinding", "dbbackup-operator-leader-election-rolebinding")
    assert binding["metadata"]["namespace"] == OPERATOR_NAMESPACE


def test_no_role_grants_secrets_wildcards_or_escalation() -> None:
    for role in of_kind(render("rbac"), "ClusterRole") + of_kind(render("rbac"), "Role"):
        for group, resource, verb, _ in expand(role):
            name = role["metadata"]["name"]
            assert "*" not in (group, resource, verb), name
            assert resource.split("/")[0] not in {"secrets", "pods", "serviceaccounts"}, name
            assert verb not in {"escalate", "bind", "impersonate"}, name
            assert group not in {"rbac.authorization.k8s.io", ""}, name


def test_user_helper_roles_aggregate_into_the_builtin_roles_and_never_write_status() -> None:
    objs = render("rbac")
    for name, (label, verbs) in USER_ROLES.items():
        role = only(objs, "ClusterRole", name)
        assert role["metadata"]["labels"][label] == "true"
        plural = "databaserestores" if "databaserestore" in name else "databasebackups"
        assert expand(role) == {("dbbackup.io", plural, verb, ()) for verb in verbs} | {
            ("dbbackup.io", f"{plural}/status", "get", ())
        }
    # Helpers are for people; nothing in the install binds them.
    bound = {r["metadata"]["name"] for r in _bound_roles()}
    assert not bound & set(USER_ROLES)


def test_service_account_does_not_automount_its_token_by_default() -> None:
    account = only(render("rbac"), "ServiceAccount", SERVICE_ACCOUNT)
    assert account["metadata"]["namespace"] == OPERATOR_NAMESPACE
    assert account["automountServiceAccountToken"] is False
