"""The RBAC authorizer, each test one rule of the docs' "Using RBAC Authorization" (or the
upstream ``plugin/pkg/auth/authorizer/rbac`` behaviour it names)."""

from __future__ import annotations

from typing import Any

from emulator.rbac import (
    Attributes,
    Authorizer,
    forbidden_message,
    forbidden_status_message,
)

SA = "system:serviceaccount:dbbackup-system:dbbackup-operator"


class Store:
    """What the server's storage would hand the authorizer."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None], list[dict[str, Any]]] = {}

    def add(self, plural: str, namespace: str | None, obj: dict[str, Any]) -> None:
        self.objects.setdefault((plural, namespace), []).append(obj)

    def lookup(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        return list(self.objects.get((plural, namespace), []))


def _meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _rule(
    verbs: list[str],
    resources: list[str],
    groups: list[str] | None = None,
    names: list[str] | None = None,
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "apiGroups": groups or ["batch"],
        "resources": resources,
        "verbs": verbs,
    }
    if names:
        rule["resourceNames"] = names
    return rule


def _attrs(
    verb: str = "get",
    resource: str = "jobs",
    *,
    user: str = "alice",
    groups: tuple[str, ...] = (),
    group: str = "batch",
    sub: str = "",
    ns: str = "team-a",
    name: str = "j",
) -> Attributes:
    return Attributes(
        user=user,
        groups=groups,
        verb=verb,
        api_group=group,
        resource=resource,
        subresource=sub,
        namespace=ns,
        name=name,
    )


def _role(
    store: Store, kind: str, name: str, rules: list[dict[str, Any]], ns: str | None = None
) -> None:
    plural = "roles" if kind == "Role" else "clusterroles"
    store.add(plural, ns, {"kind": kind, "metadata": _meta(name, ns), "rules": rules})


def _bind(
    store: Store,
    kind: str,
    role_kind: str,
    role: str,
    subject: dict[str, Any],
    ns: str | None = None,
) -> None:
    plural = "rolebindings" if kind == "RoleBinding" else "clusterrolebindings"
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}
    binding = {"metadata": _meta(f"{role}-binding", ns), "roleRef": ref, "subjects": [subject]}
    store.add(plural, ns, binding)


USER = {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}


def _authorizer(store: Store) -> Authorizer:
    return Authorizer(store.lookup)


def test_nothing_is_allowed_by_default() -> None:
    """RBAC is deny-by-default: 'Permissions are purely additive (there are no deny rules)'."""
    decision = _authorizer(Store()).authorize(_attrs())
    assert not decision.allowed


def test_role_binding_grants_in_its_namespace() -> None:
    """A RoleBinding grants the Role's permissions within its namespace."""
    store = Store()
    _role(store, "Role", "job-reader", [_rule(["get"], ["jobs"])], "team-a")
    _bind(store, "RoleBinding", "Role", "job-reader", USER, "team-a")
    decision = _authorizer(store).authorize(_attrs())
    assert decision.allowed
    assert 'RoleBinding "job-reader-binding"' in decision.reason


def test_role_binding_does_not_grant_in_other_namespaces() -> None:
    store = Store()
    _role(store, "Role", "job-reader", [_rule(["get"], ["jobs"])], "team-a")
    _bind(store, "RoleBinding", "Role", "job-reader", USER, "team-a")
    assert not _authorizer(store).authorize(_attrs(ns="team-b")).allowed


def test_role_binding_to_cluster_role_is_namespaced() -> None:
    """Docs: a RoleBinding may reference a ClusterRole; it grants only in its namespace."""
    store = Store()
    _role(store, "ClusterRole", "job-reader", [_rule(["get"], ["jobs"])])
    _bind(store, "RoleBinding", "ClusterRole", "job-reader", USER, "team-a")
    authz = _authorizer(store)
    assert authz.authorize(_attrs(ns="team-a")).allowed
    assert not authz.authorize(_attrs(ns="team-b")).allowed
    assert not authz.authorize(_attrs(verb="list", ns="", name="")).allowed


def test_cluster_role_binding_grants_everywhere() -> None:
    """A ClusterRoleBinding grants across the whole cluster, all namespaces."""
    store = Store()
    _role(store, "ClusterRole", "job-reader", [_rule(["list"], ["jobs"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "job-reader", USER)
    authz = _authorizer(store)
    assert authz.authorize(_attrs(verb="list", ns="team-b", name="")).allowed
    assert authz.authorize(_attrs(verb="list", ns="", name="")).allowed


def test_verbs_groups_and_resources_must_all_match() -> None:
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get"], ["jobs"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", USER)
    authz = _authorizer(store)
    assert not authz.authorize(_attrs(verb="delete")).allowed
    assert not authz.authorize(_attrs(resource="cronjobs")).allowed
    assert not authz.authorize(_attrs(group="apps")).allowed


def test_wildcards() -> None:
    """'*' in verbs, apiGroups and resources matches everything."""
    store = Store()
    _role(store, "ClusterRole", "all", [_rule(["*"], ["*"], groups=["*"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "all", USER)
    assert _authorizer(store).authorize(_attrs(verb="deletecollection", group="x.io")).allowed


def test_subresource_needs_its_own_rule() -> None:
    """Docs: subresources are named 'jobs/status'; a rule on 'jobs' does not cover them."""
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["update"], ["jobs"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", USER)
    authz = _authorizer(store)
    assert authz.authorize(_attrs(verb="update")).allowed
    assert not authz.authorize(_attrs(verb="update", sub="status")).allowed


def test_subresource_rules() -> None:
    """'jobs/status' grants the subresource only; '*/status' any resource's status."""
    store = Store()
    _role(
        store,
        "ClusterRole",
        "r",
        [_rule(["update"], ["jobs/status"]), _rule(["patch"], ["*/status"], groups=["*"])],
    )
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", USER)
    authz = _authorizer(store)
    assert authz.authorize(_attrs(verb="update", sub="status")).allowed
    assert not authz.authorize(_attrs(verb="update")).allowed
    assert authz.authorize(_attrs(verb="patch", resource="leases", group="x", sub="status")).allowed


def test_resource_names_restrict_to_named_objects() -> None:
    """Docs: resourceNames restrict get/update/delete to the named objects..."""
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get", "list", "create"], ["jobs"], names=["j"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", USER)
    authz = _authorizer(store)
    assert authz.authorize(_attrs(name="j")).allowed
    assert not authz.authorize(_attrs(name="other")).allowed


def test_resource_names_do_not_cover_list_or_create() -> None:
    """... and cannot restrict list, watch or create (requests without a name)."""
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get", "list", "create"], ["jobs"], names=["j"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", USER)
    authz = _authorizer(store)
    assert not authz.authorize(_attrs(verb="list", name="")).allowed
    assert not authz.authorize(_attrs(verb="create", name="")).allowed


def test_group_subject() -> None:
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get"], ["jobs"])])
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", {"kind": "Group", "name": "devs"})
    authz = _authorizer(store)
    assert authz.authorize(_attrs(user="bob", groups=("devs",))).allowed
    assert not authz.authorize(_attrs(user="bob")).allowed


def test_service_account_subject() -> None:
    """Docs: a ServiceAccount subject is the user system:serviceaccount:<ns>:<name>."""
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get"], ["jobs"])])
    subject = {
        "kind": "ServiceAccount",
        "name": "dbbackup-operator",
        "namespace": "dbbackup-system",
    }
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", subject)
    authz = _authorizer(store)
    assert authz.authorize(_attrs(user=SA)).allowed
    assert not authz.authorize(_attrs(user="system:serviceaccount:other:dbbackup-operator")).allowed


def test_service_account_groups() -> None:
    """Docs: service accounts are in system:serviceaccounts and system:serviceaccounts:<ns>."""
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get"], ["jobs"])])
    group = {"kind": "Group", "name": "system:serviceaccounts:dbbackup-system"}
    _bind(store, "ClusterRoleBinding", "ClusterRole", "r", group)
    authz = _authorizer(store)
    assert authz.authorize(_attrs(user=SA)).allowed
    assert not authz.authorize(_attrs(user="system:serviceaccount:x:y")).allowed


def test_authenticated_group() -> None:
    """Every authenticated user is in system:authenticated; anonymous is not."""
    store = Store()
    _role(store, "ClusterRole", "r", [_rule(["get"], ["jobs"])])
    _bind(
        store,
        "ClusterRoleBinding",
        "ClusterRole",
        "r",
        {"kind": "Group", "name": "system:authenticated"},
    )
    authz = _authorizer(store)
    assert authz.authorize(_attrs(user="carol")).allowed
    assert not authz.authorize(_attrs(user="system:anonymous")).allowed


def test_masters_are_always_allowed() -> None:
    """system:masters bypasses RBAC (superuser)."""
    decision = _authorizer(Store()).authorize(_attrs(user="admin", groups=("system:masters",)))
    assert decision.allowed


def test_aggregated_cluster_role() -> None:
    """Docs: an aggregationRule's ClusterRole gets the rules of ClusterRoles whose labels
    match its clusterRoleSelectors -- including ones created later."""
    store = Store()
    store.add(
        "clusterroles",
        None,
        {
            "metadata": _meta("monitoring"),
            "aggregationRule": {
                "clusterRoleSelectors": [
                    {"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}
                ]
            },
            "rules": [],
        },
    )
    _bind(store, "ClusterRoleBinding", "ClusterRole", "monitoring", USER)
    authz = _authorizer(store)
    assert not authz.authorize(_attrs()).allowed
    store.add(
        "clusterroles",
        None,
        {
            "metadata": _meta("jobs-view", **{"rbac.example.com/aggregate-to-monitoring": "true"}),
            "rules": [_rule(["get"], ["jobs"])],
        },
    )
    assert authz.authorize(_attrs()).allowed


def test_aggregation_match_expressions() -> None:
    store = Store()
    selector = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}
    store.add(
        "clusterroles",
        None,
        {"metadata": _meta("agg"), "aggregationRule": {"clusterRoleSelectors": [selector]}},
    )
    store.add(
        "clusterroles",
        None,
        {"metadata": _meta("c", tier="c"), "rules": [_rule(["get"], ["jobs"])]},
    )
    _bind(store, "ClusterRoleBinding", "ClusterRole", "agg", USER)
    assert not _authorizer(store).authorize(_attrs()).allowed
    store.add(
        "clusterroles",
        None,
        {"metadata": _meta("a", tier="a"), "rules": [_rule(["get"], ["jobs"])]},
    )
    assert _authorizer(store).authorize(_attrs()).allowed


def test_non_resource_urls() -> None:
    """nonResourceURLs (exact or trailing '*') granted through a ClusterRoleBinding."""
    store = Store()
    rules = [{"nonResourceURLs": ["/healthz", "/apis/*"], "verbs": ["get"]}]
    store.add("clusterroles", None, {"metadata": _meta("urls"), "rules": rules})
    _bind(store, "ClusterRoleBinding", "ClusterRole", "urls", USER)
    authz = _authorizer(store)

    def url(path: str) -> Attributes:
        return Attributes("alice", (), "get", "", "", "", "", "", non_resource_url=path)

    assert authz.authorize(url("/healthz")).allowed
    assert authz.authorize(url("/apis/batch/v1")).allowed
    assert not authz.authorize(url("/metrics")).allowed


def test_non_resource_urls_are_not_granted_by_role_bindings() -> None:
    """Non-resource URLs are cluster-scoped: a RoleBinding cannot grant them."""
    store = Store()
    rules = [{"nonResourceURLs": ["*"], "verbs": ["*"]}]
    store.add("clusterroles", None, {"metadata": _meta("urls"), "rules": rules})
    _bind(store, "RoleBinding", "ClusterRole", "urls", USER, "team-a")
    attrs = Attributes("alice", (), "get", "", "", "", "team-a", "", non_resource_url="/healthz")
    assert not _authorizer(store).authorize(attrs).allowed


def test_missing_role_grants_nothing() -> None:
    store = Store()
    _bind(store, "ClusterRoleBinding", "ClusterRole", "does-not-exist", USER)
    assert not _authorizer(store).authorize(_attrs()).allowed


def test_forbidden_messages() -> None:
    """The 403 wording of apiserver's forbiddenMessage and errors.NewForbidden."""
    attrs = _attrs(verb="update", sub="status", user=SA, name="j")
    assert forbidden_message(attrs) == (
        f'User "{SA}" cannot update resource "jobs/status" in API group "batch" '
        'in the namespace "team-a"'
    )
    assert forbidden_status_message(attrs).startswith('jobs.batch "j" is forbidden: User ')
    cluster = _attrs(verb="list", resource="namespaces", group="", ns="", name="")
    assert forbidden_message(cluster) == (
        'User "alice" cannot list resource "namespaces" in API group "" at the cluster scope'
    )
    assert forbidden_status_message(cluster).startswith("namespaces is forbidden: ")
