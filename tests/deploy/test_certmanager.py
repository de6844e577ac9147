"""The optional cert-manager overlay: the manager serves the issued pair, Prometheus verifies it.

``config/certmanager`` is ``config/default`` plus an Issuer and a Certificate whose Secret is
mounted where ``--metrics-cert-dir`` points; ``config/prometheus/monitor_tls_patch.yaml``
makes the ServiceMonitor verify that certificate for the Service's name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.cli import build_parser
from manager.servingcert import CERT_NAME, KEY_NAME
from tests.deploy.manifests import (
    CONFIG,
    DEPLOYMENT,
    METRICS_SERVICE,
    OPERATOR_NAMESPACE,
    kustomize,
    load_all,
    only,
    render,
)


def _container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = only(objs, "Deployment", DEPLOYMENT)
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_manager_serves_the_certificate_cert_manager_issues() -> None:
    objs = render("certmanager")
    container = _container(objs)
    args = build_parser().parse_args(container["args"])
    assert args.metrics_secure is True
    default_args = _container(render("default"))["args"]
    assert container["args"][: len(default_args)] == default_args
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == args.metrics_cert_dir]
    assert mount["readOnly"] is True
    volumes = only(objs, "Deployment", DEPLOYMENT)["spec"]["template"]["spec"]["volumes"]
    (volume,) = [v for v in volumes if v["name"] == mount["name"]]
    certificate = only(objs, "Certificate", "dbbackup-operator-metrics-certs")
    assert volume["secret"]["secretName"] == certificate["spec"]["secretName"]
    # cert-manager's Secret keys are the file names the operator reads.
    assert (CERT_NAME, KEY_NAME) == ("tls.crt", "tls.key")
    issuer_ref = certificate["spec"]["issuerRef"]
    issuer = only(objs, issuer_ref["kind"], issuer_ref["name"])
    assert issuer["metadata"]["namespace"] == certificate["metadata"]["namespace"]
    assert f"{METRICS_SERVICE}.{OPERATOR_NAMESPACE}.svc" in certificate["spec"]["dnsNames"]


def test_prometheus_verifies_the_issued_certificate_with_the_tls_patch(tmp_path: Path) -> None:
    patch = (CONFIG / "prometheus/monitor_tls_patch.yaml").read_text()
    (tmp_path / "monitor_tls_patch.yaml").write_text(patch)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources:\n- {os.path.relpath(CONFIG / 'prometheus', tmp_path)}\n"
        "patches:\n- path: monitor_tls_patch.yaml\n  target:\n    kind: ServiceMonitor\n"
        "    name: dbbackup-operator-metrics-monitor\n"
    )
    monitor = only(
        load_all(kustomize(tmp_path)), "ServiceMonitor", "dbbackup-operator-metrics-monitor"
    )
    tls = monitor["spec"]["endpoints"][0]["tlsConfig"]
    certificate = only(render("certmanager"), "Certificate", "dbbackup-operator-metrics-certs")
    assert tls["insecureSkipVerify"] is False
    assert tls["serverName"] in certificate["spec"]["dnsNames"]
    assert tls["ca"]["secret"] == {"name": certificate["spec"]["secretName"], "key": "ca.crt"}
