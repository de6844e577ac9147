"""Object semantics: identity, versions, conflicts, validation, status subresource, patches."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from emulator.server import ApiServer
from tests.emulator.support import Dicts, job, lease, raw, status_of

BATCH = ("batch", "v1")
JSON_PATCH_TYPE = "application/json-patch+json"


def _create_job(objects: Dicts, body: dict[str, Any]) -> dict[str, Any]:
    ns = body["metadata"].get("namespace", "default")
    created: dict[str, Any] = objects.create_namespaced_custom_object(*BATCH, ns, "jobs", body)
    return created


def test_create_sets_uid_timestamp_generation_and_version(objects: Dicts) -> None:
    """API conventions, "Metadata": uid, creationTimestamp, resourceVersion are set by the
    system; generation starts at 1 (a sequence number of the desired state)."""
    created = _create_job(objects, job("a"))
    meta = created["metadata"]
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0


def test_creation_timestamp_comes_from_the_injected_clock() -> None:
    """API conventions, "Metadata": creationTimestamp is the server's time of creation."""
    from datetime import UTC, datetime

    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with ApiServer(clock=lambda: moment) as server:
        created = server.create_object(job("a"))
    assert created["metadata"]["creationTimestamp"] == "2030-01-02T03:04:05Z"


def test_resource_version_increases_across_the_cluster(objects: Dicts) -> None:
    """API concepts, "Resource versions": changes are ordered; we use one cluster-wide
    counter, so versions of different resources also increase."""
    a = _create_job(objects, job("a"))
    b = objects.create_namespaced_custom_object(
        "coordination.k8s.io", "v1", "default", "leases", lease("l")
    )
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])


def test_generate_name_appends_a_random_suffix(objects: Dicts) -> None:
    """API conventions, "Idempotency": generateName yields prefix + unique suffix."""
    body = job("")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "run-"
    created = _create_job(objects, body)
    assert created["metadata"]["name"].startswith("run-")
    assert len(created["metadata"]["name"]) == len("run-") + 5


def test_duplicate_create_is_409_already_exists(objects: Dicts) -> None:
    """API concepts, "Resource URIs" / errors: POST of an existing name is 409 AlreadyExists."""
    _create_job(objects, job("a"))
    with pytest.raises(ApiException) as err:
        _create_job(objects, job("a"))
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "AlreadyExists"


def test_get_missing_is_404_with_status_body(objects: Dicts) -> None:
    """API conventions, "Response Status Kind": a Status with reason NotFound and details."""
    with pytest.raises(ApiException) as err:
        objects.get_namespaced_custom_object(*BATCH, "default", "jobs", "missing")
    body = status_of(err.value)
    assert err.value.status == 404
    assert body["kind"] == "Status"
    assert body["status"] == "Failure"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'jobs.batch "missing" not found'
    assert body["details"] == {"name": "missing", "group": "batch", "kind": "jobs"}


def test_create_in_missing_namespace_is_404(objects: Dicts) -> None:
    """Namespaces walkthrough: objects can only be created in an existing namespace
    (the NamespaceLifecycle admission plugin answers NotFound for the namespace)."""
    with pytest.raises(ApiException) as err:
        _create_job(objects, job("a", namespace="nowhere"))
    assert err.value.status == 404
    assert status_of(err.value)["details"] == {"name": "nowhere", "kind": "namespaces"}


def test_invalid_name_is_422_with_causes(objects: Dicts) -> None:
    """Object names and IDs: most names must be DNS-1123 subdomains; API conventions
    "HTTP Status codes": 422 Invalid with details.causes per field."""
    with pytest.raises(ApiException) as err:
        _create_job(objects, job("Not_Valid"))
    body = status_of(err.value)
    assert err.value.status == 422
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"


@pytest.mark.parametrize(
    ("policy", "causes"),
    [
        (None, [("FieldValueRequired", 'Required value: valid values: "OnFailure", "Never"')]),
        (
            "Always",
            [("FieldValueRequired", 'Required value: valid values: "OnFailure", "Never"')],
        ),
        (
            "Sometimes",  # the pod template's rule, then the Job's
            [
                (
                    "FieldValueNotSupported",
                    'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", '
                    '"Never"',
                ),
                (
                    "FieldValueNotSupported",
                    'Unsupported value: "Sometimes": supported values: "OnFailure", "Never"',
                ),
            ],
        ),
    ],
)
def test_job_requires_restart_policy(
    objects: Dicts, policy: str | None, causes: list[tuple[str, str]]
) -> None:
    """Jobs: "Only a RestartPolicy equal to Never or OnFailure is allowed"; an unset policy is
    defaulted to Always first, so both are "required" (pkg/apis/batch/validation, confirmed on
    kube-apiserver v1.32)."""
    body = job("a")
    body["spec"]["template"]["spec"].pop("restartPolicy")
    if policy is not None:
        body["spec"]["template"]["spec"]["restartPolicy"] = policy
    with pytest.raises(ApiException) as err:
        _create_job(objects, body)
    got = status_of(err.value)["details"]["causes"]
    assert [(c["field"], c["reason"], c["message"]) for c in got] == [
        ("spec.template.spec.restartPolicy", reason, message) for reason, message in causes
    ]


def test_job_defaults(objects: Dicts) -> None:
    """Job API reference: backoffLimit defaults to 6, completions and parallelism to 1,
    and the server generates the selector."""
    spec = _create_job(objects, job("a"))["spec"]
    assert (spec["backoffLimit"], spec["completions"], spec["parallelism"]) == (6, 1, 1)
    assert "batch.kubernetes.io/controller-uid" in spec["selector"]["matchLabels"]


def test_job_template_is_immutable(objects: Dicts) -> None:
    """Jobs, "Mutable Scheduling Directives": the pod template of a Job is immutable
    (an update changing it is 422 field is immutable)."""
    created = _create_job(objects, job("a"))
    created["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    with pytest.raises(ApiException) as err:
        objects.replace_namespaced_custom_object(*BATCH, "default", "jobs", "a", created)
    assert err.value.status == 422
    assert status_of(err.value)["details"]["causes"][0]["field"] == "spec.template"


def test_stale_update_is_409_conflict(objects: Dicts) -> None:
    """API concepts, "Resource versions" / conventions "Concurrency Control and
    Consistency": an update with an old resourceVersion fails with 409 Conflict."""
    created = _create_job(objects, job("a"))
    fresh = dict(created, metadata=dict(created["metadata"], labels={"x": "1"}))
    objects.replace_namespaced_custom_object(*BATCH, "default", "jobs", "a", fresh)
    stale = dict(created, metadata=dict(created["metadata"], labels={"x": "2"}))
    with pytest.raises(ApiException) as err:
        objects.replace_namespaced_custom_object(*BATCH, "default", "jobs", "a", stale)
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "Conflict"


def test_update_without_resource_version_is_unconditional(
    objects: Dicts,
) -> None:
    """API conventions, "Concurrency Control": built-in types allow unconditional updates
    (no resourceVersion in the body)."""
    created = _create_job(objects, job("a"))
    del created["metadata"]["resourceVersion"]
    created["metadata"]["labels"] = {"x": "y"}
    updated = objects.replace_namespaced_custom_object(*BATCH, "default", "jobs", "a", created)
    assert updated["metadata"]["labels"] == {"x": "y"}


def test_generation_bumps_on_spec_change_only(objects: Dicts) -> None:
    """API conventions, "Metadata": generation changes with the desired state (spec),
    not with metadata or status."""
    _create_job(objects, job("a"))
    labelled = objects.patch_namespaced_custom_object(
        *BATCH, "default", "jobs", "a", {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    changed = objects.patch_namespaced_custom_object(
        *BATCH, "default", "jobs", "a", {"spec": {"backoffLimit": 2}}
    )
    assert changed["metadata"]["generation"] == 2


def test_main_endpoint_ignores_status(objects: Dicts) -> None:
    """API conventions, "Spec and Status": with a status subresource, PUT/PATCH to the main
    resource ignore status changes."""
    _create_job(objects, job("a"))
    patched = objects.patch_namespaced_custom_object(
        *BATCH, "default", "jobs", "a", {"status": {"active": 1}}
    )
    assert patched["status"] == {}


def test_status_endpoint_ignores_everything_but_status(
    objects: Dicts,
) -> None:
    """API conventions, "Spec and Status": the /status subresource only changes status."""
    created = _create_job(objects, job("a"))
    created["status"] = {"active": 1}
    created["spec"]["backoffLimit"] = 1
    updated = objects.replace_namespaced_custom_object_status(
        *BATCH, "default", "jobs", "a", created
    )
    assert updated["status"] == {"active": 1}
    assert updated["spec"]["backoffLimit"] == 6
    assert updated["metadata"]["generation"] == 1


def test_stale_status_update_is_409(objects: Dicts) -> None:
    """API concepts, "Resource versions": status updates carry the same precondition."""
    created = _create_job(objects, job("a"))
    objects.patch_namespaced_custom_object(*BATCH, "default", "jobs", "a", {"spec": {}})
    objects.patch_namespaced_custom_object(
        *BATCH, "default", "jobs", "a", {"metadata": {"labels": {"a": "b"}}}
    )
    created["status"] = {"active": 1}
    with pytest.raises(ApiException) as err:
        objects.replace_namespaced_custom_object_status(*BATCH, "default", "jobs", "a", created)
    assert err.value.status == 409


def test_job_status_rules_are_enforced(objects: Dicts) -> None:
    """Jobs, "Terminal Job conditions" (1.31+): Complete=True needs startTime,
    completionTime and SuccessCriteriaMet first (docs/design.md §6, measured)."""
    created = _create_job(objects, job("a"))
    created["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    with pytest.raises(ApiException) as err:
        objects.replace_namespaced_custom_object_status(*BATCH, "default", "jobs", "a", created)
    assert err.value.status == 422


def test_strategic_merge_patch_merges_containers_by_name(core: client.CoreV1Api) -> None:
    """Strategic merge patch (API concepts, "Patch operations"; update-api-object-kubectl-patch):
    lists with patchMergeKey merge by key instead of replacing."""
    from kubernetes.client import V1ObjectMeta, V1Secret

    core.create_namespaced_secret("default", V1Secret(metadata=V1ObjectMeta(name="s")))
    patched = core.patch_namespaced_secret(
        "s", "default", {"metadata": {"finalizers": ["example.com/a"], "labels": {"x": "1"}}}
    )
    patch = {"metadata": {"finalizers": ["example.com/b"]}}
    patched = core.patch_namespaced_secret("s", "default", patch)
    assert patched.metadata is not None
    # mergeSlice's order: the patch's items first, then what only the server had (confirmed on
    # kube-apiserver v1.32).
    assert patched.metadata.finalizers == ["example.com/b", "example.com/a"]


def test_strategic_merge_patch_of_job_containers(api_server: ApiServer) -> None:
    """kubectl patch docs: a strategic merge patch of containers merges by ``name``."""
    from emulator.patch import strategic_merge_patch

    body = job("a")
    spec = body["spec"]["template"]["spec"]
    spec["containers"].append({"name": "side", "image": "x"})
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "side", "image": "y"},
                        {"name": "main", "$patch": "delete"},
                    ]
                }
            }
        }
    }
    merged = strategic_merge_patch(body, patch)
    assert merged["spec"]["template"]["spec"]["containers"] == [{"name": "side", "image": "y"}]


def test_json_patch_test_operation_fails_the_patch(core: client.CoreV1Api) -> None:
    """RFC 6902 §4.6 (API concepts "Patch operations", JSON patch): a failing ``test``
    aborts the whole patch."""
    from kubernetes.client import V1ConfigMap, V1ObjectMeta

    core.create_namespaced_config_map(
        "default", V1ConfigMap(metadata=V1ObjectMeta(name="c"), data={"a": "1"})
    )
    ops = [
        {"op": "replace", "path": "/data/a", "value": "2"},
        {"op": "test", "path": "/data/a", "value": "1"},
    ]
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("c", "default", ops)
    assert err.value.status == 422
    assert core.read_namespaced_config_map("c", "default").data == {"a": "1"}
    ok = [
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "add", "path": "/data/b", "value": "2"},
    ]
    assert core.patch_namespaced_config_map("c", "default", ops[:0] + ok).data == {
        "a": "1",
        "b": "2",
    }


def test_strategic_merge_patch_of_a_service_account_follows_its_fields(
    k8s: client.ApiClient,
) -> None:
    """core/v1 ``ServiceAccount``: ``secrets`` merge by ``name``; ``imagePullSecrets`` carry
    no patch strategy there (unlike a pod spec's) and are replaced. Read back from
    kube-apiserver v1.32 after the same requests."""
    path = "/api/v1/namespaces/default/serviceaccounts"
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"},
               "secrets": [{"name": "a"}], "imagePullSecrets": [{"name": "pull-a"}]}  # fmt: skip
    assert raw(k8s, "POST", path, account)[0] == 201
    patch = {"secrets": [{"name": "b"}], "imagePullSecrets": [{"name": "pull-b"}]}
    code, patched = raw(k8s, "PATCH", f"{path}/sa", patch, "application/strategic-merge-patch+json")
    assert code == 200 and isinstance(patched, dict), patched
    assert patched["secrets"] == [{"name": "b"}, {"name": "a"}]
    assert patched["imagePullSecrets"] == [{"name": "pull-b"}]


def test_a_json_patch_that_does_not_apply_is_a_bare_422(k8s: client.ApiClient) -> None:
    """kube-apiserver v1.32 answers a JSON patch it cannot apply (a missing path, a failed
    ``test``) with a generic 422 and empty details; kubectl prints "The request is invalid:
    the server rejected our request due to an error in our request"."""
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert raw(k8s, "POST", "/api/v1/namespaces/default/configmaps", config_map)[0] == 201
    for ops in (
        [{"op": "remove", "path": "/data/nope"}],
        [{"op": "test", "path": "/metadata/name", "value": "d"}],
    ):
        assert raw(
            k8s, "PATCH", "/api/v1/namespaces/default/configmaps/c", ops, JSON_PATCH_TYPE
        ) == (422, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server rejected our request due to an error in our request",
            "reason": "Invalid", "details": {}, "code": 422,
        })  # fmt: skip


def test_merge_patch_null_deletes_a_key(objects: Dicts) -> None:
    """RFC 7386: ``null`` in a merge patch removes the member."""
    body = job("a", labels={"x": "1", "y": "2"})
    _create_job(objects, body)
    patched = objects.patch_namespaced_custom_object(
        *BATCH, "default", "jobs", "a", {"metadata": {"labels": {"x": None}}}
    )
    assert patched["metadata"]["labels"] == {"y": "2"}


def test_strategic_merge_patch_orders_merged_lists_as_upstream() -> None:
    """strategicpatch mergeSlice + normalizeElementOrder: patch items in patch order; a
    server-only item goes before the first patch item that stood after it on the server (the
    three orders confirmed on kube-apiserver v1.32 with a ServiceAccount's secrets list)."""
    from emulator.patch import strategic_merge_patch

    def names(doc: dict[str, object]) -> list[str]:
        return [c["name"] for c in doc["containers"]]  # type: ignore[attr-defined]

    server = {"containers": [{"name": n, "image": "i"} for n in ("a", "b", "c")]}
    assert names(strategic_merge_patch(server, {"containers": [{"name": "b", "image": "j"}]})) == [
        "a",
        "b",
        "c",
    ]
    assert names(strategic_merge_patch(server, {"containers": [{"name": "c"}, {"name": "a"}]})) == [
        "b",
        "c",
        "a",
    ]
    assert names(strategic_merge_patch(server, {"containers": [{"name": "d"}]})) == [
        "d",
        "a",
        "b",
        "c",
    ]
