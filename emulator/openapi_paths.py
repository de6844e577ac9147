"""The ``paths`` of an OpenAPI document: one resource's REST operations, v3 or v2.

Role: kubectl decides from these whether the server validates fields itself: it looks for the
``PATCH`` operation whose ``x-kubernetes-group-version-kind`` is the object's kind and checks
that it takes a ``fieldValidation`` query parameter; then it sends ``fieldValidation=Strict``
and does no schema validation of its own. The routes are those apiextensions-apiserver's
builder registers for a custom resource (collection across namespaces for a namespaced kind,
the namespaced collection, the object, ``/status``), with its operation names
(``patchBatchV1NamespacedJob``), descriptions, tags, actions and the query parameters of each
options type; kube-apiserver registers the same for built-in kinds (plus deprecated ``watch/``
paths, left out here). Verbs a resource does not serve get no operation.
"""

from __future__ import annotations

from typing import Any

from emulator.openapi_builtin import REF_V2, REF_V3
from emulator.resources import ResourceInfo

__all__ = ["operation_prefix", "resource_paths"]

STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/apply-patch+yaml")  # fmt: skip
PARAMETERS: dict[str, tuple[str, str]] = {
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "allowWatchBookmarks": ("boolean", 'allowWatchBookmarks requests watch events with type '
                            '"BOOKMARK".'),
    "continue": ("string", "The continue option should be set when retrieving more results "
                 "from the server."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their "
                      "fields. Defaults to everything."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their "
                      "labels. Defaults to everything."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call."),
    "resourceVersion": ("string", "resourceVersion sets a constraint on what resource versions "
                        "a request may be served from."),
    "resourceVersionMatch": ("string", "resourceVersionMatch determines how resourceVersion is "
                             "applied to list calls."),
    "sendInitialEvents": ("boolean", "`sendInitialEvents=true` may be set together with "
                          "`watch=true`."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "watch": ("boolean", "Watch for changes to the described resources and return them as a "
              "stream of add, update, and remove notifications."),
    "dryRun": ("string", "When present, indicates that modifications should not be persisted."),
    "fieldManager": ("string", "fieldManager is a name associated with the actor or entity that "
                     "is making these changes."),
    "fieldValidation": ("string", "fieldValidation instructs the server on how to handle objects "
                        "in the request (POST/PUT/PATCH) containing unknown or duplicate fields. "
                        "Valid values are: Ignore (drop them silently), Warn (drop them with a "
                        "warning for each; the default), Strict (fail the request with a "
                        "BadRequest naming every unknown and duplicate field)."),
    "force": ("boolean", 'Force is going to "force" Apply requests.'),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be "
                           "deleted."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "boolean", "if set to true, it will trigger an unsafe deletion of the resource in case "
        "the normal deletion flow fails with a corrupt object error."),
    "orphanDependents": ("boolean", "Deprecated: please use the PropagationPolicy."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed."),
}  # fmt: skip
LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
               "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
               "watch")  # fmt: skip
RESPONSE_TYPES = ("application/json", "application/yaml")
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds",
                 "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents",
                 "propagationPolicy")  # fmt: skip
OPTION_PARAMS: dict[str, tuple[str, ...]] = {
    "get": (), "list": LIST_PARAMS, "deletecollection": LIST_PARAMS, "post": WRITE_PARAMS,
    "put": WRITE_PARAMS, "patch": (*WRITE_PARAMS, "force"), "delete": DELETE_PARAMS,
}  # fmt: skip
# action -> (HTTP method, operation verb, the verb the resource must serve)
ROUTES: dict[str, tuple[str, str, str]] = {
    "list": ("get", "list", "list"),
    "post": ("post", "create", "create"),
    "deletecollection": ("delete", "deletecollection", "deletecollection"),
    "get": ("get", "read", "get"),
    "put": ("put", "replace", "update"),
    "delete": ("delete", "delete", "delete"),
    "patch": ("patch", "patch", "patch"),
}


def operation_prefix(group: str, version: str) -> tuple[str, str]:
    """(operation-name infix, tag): ``batch`` → ``BatchV1``, ``batch_v1``; the core group is
    ``core``; a ``.k8s.io`` suffix is dropped; other dots start a new word (``dbbackup.io``
    → ``DbbackupIo``, tag ``dbbackupIo_v1alpha1``)."""
    name = group.removesuffix(".k8s.io") if group else "core"
    words = [w for w in name.replace("-", ".").split(".") if w]
    camel = "".join(w[:1].upper() + w[1:] for w in words)
    tag = camel[:1].lower() + camel[1:]
    return camel + version[:1].upper() + version[1:], f"{tag}_{version}"


def _article(kind: str) -> str:
    return " an " if kind[:1].lower() in "aeiou" else " a "


def _description(action: str, kind: str, sub: str) -> str:
    verb = ROUTES[action][1]
    sub_of = f" {sub} of" if sub else ""
    if verb == "patch":
        return f"partially update{sub_of} the specified {kind}"
    if verb == "deletecollection":
        return f"delete collection of{sub_of + ' a' if sub else ''} {kind}"
    article = {"list": " objects of kind ", "read": " the specified ",
               "replace": " the specified "}.get(verb, _article(kind))  # fmt: skip
    return f"{verb}{sub_of}{article}{kind}"


def _param(name: str, v2: bool) -> dict[str, Any]:
    kind, text = PARAMETERS[name]
    if v2:
        return {"uniqueItems": True, "type": kind, "description": text, "name": name,
                "in": "query"}  # fmt: skip
    return {"name": name, "in": "query", "description": text,
            "schema": {"type": kind, "uniqueItems": True}}  # fmt: skip


def _path_param(name: str, text: str, v2: bool) -> dict[str, Any]:
    if v2:
        return {"uniqueItems": True, "type": "string", "description": text, "name": name,
                "in": "path", "required": True}  # fmt: skip
    return {"name": name, "in": "path", "description": text, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}  # fmt: skip


def _operation(
    info: ResourceInfo, action: str, sub: str, schema: str, list_schema: str, v2: bool
) -> dict[str, Any]:
    infix, tag = operation_prefix(info.group, info.version)
    scope = "Namespaced" if info.namespaced else ""
    verb = ROUTES[action][1]
    sample = list_schema if action == "list" else STATUS if "delete" in action else schema
    ref = (REF_V2 if v2 else REF_V3) + sample
    codes = {"post": ("200", "201", "202"), "put": ("200", "201"), "delete": ("200", "202"),
             "patch": ("200", "201")}.get(action, ("200",))  # fmt: skip
    names = {"200": "OK", "201": "Created", "202": "Accepted"}
    responses: dict[str, Any] = {}
    for code in codes:
        if v2:
            responses[code] = {"description": names[code], "schema": {"$ref": ref}}
        else:
            content = {t: {"schema": {"$ref": ref}} for t in RESPONSE_TYPES}
            responses[code] = {"description": names[code], "content": content}
    responses["401"] = {"description": "Unauthorized"}
    op: dict[str, Any] = {
        "tags": [tag],
        "description": _description(action, info.kind, sub),
        "operationId": f"{verb}{infix}{scope}{info.kind}{sub.title()}",
        "parameters": [_param(p, v2) for p in OPTION_PARAMS[action]],
        "responses": responses,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": info.group, "version": info.version, "kind": info.kind},
    }  # fmt: skip
    if sub == "all":
        op["operationId"] = f"list{infix}{info.kind}ForAllNamespaces"
        op["description"] = _description(action, info.kind, "")
    body = {"post": schema, "put": schema, "patch": PATCH, "delete": DELETE_OPTIONS}.get(action)
    if body is not None:
        body_ref = (REF_V2 if v2 else REF_V3) + body
        if v2:
            param: dict[str, Any] = {"name": "body", "in": "body", "schema": {"$ref": body_ref}}
            if action != "delete":
                param["required"] = True
            op["parameters"].insert(0, param)
        else:
            types = PATCH_TYPES if action == "patch" else ("*/*",)
            op["requestBody"] = {"content": {t: {"schema": {"$ref": body_ref}} for t in types}}
            if action != "delete":
                op["requestBody"]["required"] = True
    if v2:
        op["consumes"] = list(PATCH_TYPES) if action == "patch" else ["*/*"]
        op["produces"] = ["application/json", "application/yaml"]
        op["schemes"] = ["https"]
    return op


def resource_paths(
    info: ResourceInfo, schema: str, list_schema: str, *, v2: bool
) -> dict[str, dict[str, Any]]:
    """The path items of one resource (``schema``/``list_schema``: its OpenAPI names)."""
    root = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    pretty = _param("pretty", v2)
    namespace = _path_param("namespace", "object name and auth scope, such as for teams and "
                            "projects", v2)  # fmt: skip
    name = _path_param("name", f"name of the {info.kind}", v2)
    served = set(info.verbs)
    paths: dict[str, dict[str, Any]] = {}

    def add(path: str, actions: tuple[str, ...], params: list[dict[str, Any]], sub: str) -> None:
        item: dict[str, Any] = {}
        for action in actions:
            method, _, needs = ROUTES[action]
            if needs in served:
                item[method] = _operation(info, action, sub, schema, list_schema, v2)
        if item:
            item["parameters"] = [*params, pretty]
            paths[path] = item

    collection = f"{root}/{info.plural}"
    if info.namespaced:
        add(collection, ("list",), [], "all")
        collection = f"{root}/namespaces/{{namespace}}/{info.plural}"
    scope = [namespace] if info.namespaced else []
    add(collection, ("list", "post", "deletecollection"), scope, "")
    add(f"{collection}/{{name}}", ("get", "put", "delete", "patch"), [name, *scope], "")
    if info.status_subresource:
        add(f"{collection}/{{name}}/status", ("get", "put", "patch"), [name, *scope], "status")
    return paths
