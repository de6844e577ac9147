"""The RBAC authorizer, as "Using RBAC Authorization" in the Kubernetes docs describes it.

Role: decide whether a request's :class:`Attributes` are allowed by the stored Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings, read through a ``lookup(plural,
namespace)`` callback at every decision (so changes apply at once, as with the real
authorizer's informers). Rules follow ``k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac``:

- a RoleBinding grants its Role or ClusterRole's rules in the binding's namespace only; a
  ClusterRoleBinding grants a ClusterRole's rules in every namespace and at cluster scope;
- subjects: ``User`` (by name), ``Group`` (by name), ``ServiceAccount`` (user
  ``system:serviceaccount:<namespace>:<name>``). A service-account user implicitly belongs
  to ``system:serviceaccounts`` and ``system:serviceaccounts:<namespace>``, and every user but
  ``system:anonymous`` to ``system:authenticated`` (what the authenticator would add);
- a rule matches on ``verbs`` (``*``), ``apiGroups`` (``*``), ``resources`` (``*``, exact
  ``jobs`` or ``jobs/status``, or ``*/status`` for any resource's subresource),
  ``resourceNames`` (a rule with names never matches a request without a name, such as list,
  watch, or create), and ``nonResourceURLs`` (exact, ``*``, or a ``prefix*``) -- the latter only
  through ClusterRoleBindings;
- aggregated ClusterRoles (``aggregationRule.clusterRoleSelectors``, matchLabels and
  matchExpressions) are resolved at decision time from the ClusterRoles whose labels match;
- members of ``system:masters`` are always allowed (the superuser group).
Denials carry an empty reason, like the real RBAC authorizer's no-opinion;
:func:`forbidden_message` gives the server's 403 wording. Non-goals: escalation checks on
writes of RBAC objects, impersonation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SUPERUSER_GROUP",
    "Attributes",
    "Authorizer",
    "Decision",
    "forbidden_message",
    "forbidden_status_message",
    "selector_matches",
]

SUPERUSER_GROUP = "system:masters"  # k8s.io/apiserver/pkg/authentication/user.SystemPrivilegedGroup
SA_PREFIX = "system:serviceaccount:"
Lookup = Callable[[str, str | None], list[dict[str, Any]]]


@dataclass(frozen=True)
class Attributes:
    """What is being asked: who, which verb, on what (a resource or a non-resource URL)."""

    user: str
    groups: tuple[str, ...]
    verb: str
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    non_resource_url: str = ""

    @property
    def is_resource_request(self) -> bool:
        return not self.non_resource_url


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _effective_groups(attrs: Attributes) -> set[str]:
    groups = set(attrs.groups)
    if attrs.user.startswith(SA_PREFIX):
        namespace = attrs.user[len(SA_PREFIX) :].split(":", 1)[0]
        groups |= {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"}
    if attrs.user != "system:anonymous":
        groups.add("system:authenticated")
    return groups


def _subject_matches(subject: Mapping[str, Any], binding_ns: str, attrs: Attributes) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(name == attrs.user)
    if kind == "Group":
        return name in _effective_groups(attrs)
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_ns
        return attrs.user == f"{SA_PREFIX}{namespace}:{name}"
    return False


def _has(values: Iterable[str] | None, wanted: str) -> bool:
    items = list(values or ())
    return "*" in items or wanted in items


def _resource_matches(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    """rbac.ResourceMatches: ``*``, the exact ``resource[/subresource]``, or ``*/subresource``."""
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    for candidate in rule.get("resources") or ():
        if candidate in ("*", combined):
            return True
        if attrs.subresource and candidate == f"*/{attrs.subresource}":
            return True
    return False


def _url_matches(rule: Mapping[str, Any], url: str) -> bool:
    for candidate in rule.get("nonResourceURLs") or ():
        if candidate in ("*", url):
            return True
        if candidate.endswith("*") and url.startswith(candidate[:-1]):
            return True
    return False


def rule_allows(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    """rbac.RuleAllows for one PolicyRule."""
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.is_resource_request:
        return _url_matches(rule, attrs.non_resource_url)
    if not rule.get("resources") or not _has(rule.get("apiGroups"), attrs.api_group):
        return False
    if not _resource_matches(rule, attrs):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics (matchLabels AND matchExpressions); empty matches all."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or ():
        k, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(k) not in values:
            return False
        if op == "NotIn" and k in labels and labels[k] in values:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def _name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


class Authorizer:
    """RBAC decisions over whatever ``lookup(plural, namespace)`` returns right now."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup

    def _find(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return next((o for o in self._lookup(plural, namespace) if _name_of(o) == name), None)

    def _cluster_role_rules(self, role: Mapping[str, Any]) -> list[dict[str, Any]]:
        rules = list(role.get("rules") or [])
        aggregation = role.get("aggregationRule")
        if aggregation:
            selectors = aggregation.get("clusterRoleSelectors") or []
            for other in self._lookup("clusterroles", None):
                if _name_of(other) == _name_of(role) or other.get("aggregationRule"):
                    continue
                labels = (other.get("metadata") or {}).get("labels") or {}
                if any(selector_matches(s, labels) for s in selectors):
                    rules.extend(other.get("rules") or [])
        return rules

    def _rules_for(self, ref: Mapping[str, Any], binding_ns: str | None) -> list[dict[str, Any]]:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "ClusterRole":
            role = self._find("clusterroles", None, name)
            return self._cluster_role_rules(role) if role else []
        if kind == "Role" and binding_ns:
            role = self._find("roles", binding_ns, name)
            return list(role.get("rules") or []) if role else []
        return []

    def authorize(self, attrs: Attributes) -> Decision:
        if SUPERUSER_GROUP in attrs.groups:
            return Decision(True, f"allowed by membership in {SUPERUSER_GROUP}")
        candidates: list[tuple[str, dict[str, Any], str | None]] = [
            ("ClusterRoleBinding", b, None) for b in self._lookup("clusterrolebindings", None)
        ]
        if attrs.namespace and attrs.is_resource_request:
            candidates += [
                ("RoleBinding", b, attrs.namespace)
                for b in self._lookup("rolebindings", attrs.namespace)
            ]
        for kind, binding, namespace in candidates:
            subjects = binding.get("subjects") or []
            subject = next(
                (s for s in subjects if _subject_matches(s, namespace or "", attrs)), None
            )
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            if any(rule_allows(r, attrs) for r in self._rules_for(ref, namespace)):
                where = f' in namespace "{namespace}"' if namespace else ""
                reason = (
                    f'RBAC: allowed by {kind} "{_name_of(binding)}"{where} of {ref.get("kind")} '
                    f'"{ref.get("name")}" to {subject.get("kind")} "{subject.get("name")}"'
                )
                return Decision(True, reason)
        return Decision(False, "")


def forbidden_message(attrs: Attributes) -> str:
    """apiserver responsewriters.forbiddenMessage: the part after ``... is forbidden: ``."""
    if not attrs.is_resource_request:
        return f'User "{attrs.user}" cannot {attrs.verb} path "{attrs.non_resource_url}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    head = (
        f'User "{attrs.user}" cannot {attrs.verb} resource "{resource}" '
        f'in API group "{attrs.api_group}"'
    )
    if attrs.namespace:
        return f'{head} in the namespace "{attrs.namespace}"'
    return f"{head} at the cluster scope"


def forbidden_status_message(attrs: Attributes, reason: str = "") -> str:
    """The whole 403 Status message, as ``errors.NewForbidden`` formats it:
    ``jobs.batch "x" is forbidden: User "u" cannot get resource "jobs" ...``."""
    detail = forbidden_message(attrs) + (f": {reason}" if reason else "")
    if not attrs.is_resource_request:
        return f"forbidden: {detail}"
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if attrs.name:
        return f'{qualified} "{attrs.name}" is forbidden: {detail}'
    return f"{qualified} is forbidden: {detail}"
