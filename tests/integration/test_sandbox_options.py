"""The sandbox's decisions before anything starts: flags, the shared clock, the operator's
command line, the manifests it applies (read from the real ``config/``), the banner."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_mock import MockerFixture

from app import cli
from app.sandbox_options import (
    DEFAULT_FAILURE_RATE,
    DEFAULT_JOB_DURATION,
    DEFAULT_KUBECONFIG,
    DEFAULT_PORT,
    SandboxOptions,
    banner,
    load_manifests,
    operator_command,
    options_from_args,
    probe_url,
)
from manager.clock import ScaledClock

ORIGIN = 1_800_000_000.5  # a fixed "real now": 2027-01-15T08:00:00.5Z


def _options(*argv: str, samples_default: bool = False) -> SandboxOptions:
    args = cli.build_parser().parse_args(list(argv))
    return options_from_args(args, samples_default=samples_default, now=lambda: ORIGIN)


def test_defaults_are_the_documented_ones() -> None:
    options = _options("sandbox")
    assert options.port == DEFAULT_PORT == 18080
    assert options.kubeconfig == Path(DEFAULT_KUBECONFIG)
    assert options.with_samples is False
    assert options.speed == 1.0
    assert options.job_duration == DEFAULT_JOB_DURATION == 20.0
    assert options.failure_rate == DEFAULT_FAILURE_RATE == 0.2
    assert options.metrics_bind_address == "127.0.0.1:8080"
    assert options.health_probe_bind_address == "127.0.0.1:8081"
    # 30 s before the sample's "0 1 * * *", on the UTC day the sandbox starts.
    assert options.virtual_start == datetime(2027, 1, 15, 0, 59, 30, tzinfo=UTC)
    # The sandbox starts the clock itself, once its objects are installed.
    assert options.origin is None
    assert options.started(ORIGIN + 5).origin == ORIGIN + 5


def test_run_local_applies_samples_unless_told_not_to() -> None:
    assert _options("run-local", samples_default=True).with_samples is True
    assert _options("run-local", "--no-with-samples", samples_default=True).with_samples is False
    assert _options("sandbox", "--with-samples").with_samples is True


def test_flags_override_defaults() -> None:
    options = _options(
        "sandbox",
        "--port=0",
        "--write-kubeconfig=/tmp/x/k.yaml",
        "--speed=60",
        "--job-duration=5",
        "--failure-rate=0",
        "--clock-start=2025-03-27T00:59:55Z",
        "--clock-origin=1000.25",
    )
    assert (options.port, options.kubeconfig) == (0, Path("/tmp/x/k.yaml"))
    assert (options.speed, options.job_duration, options.failure_rate) == (60.0, 5.0, 0.0)
    assert options.virtual_start == datetime(2025, 3, 27, 0, 59, 55, tzinfo=UTC)
    assert options.origin == 1000.25
    assert options.started(ORIGIN).origin == 1000.25  # a pinned clock keeps its origin


def test_clock_speed_is_an_alias_of_speed_and_they_must_agree() -> None:
    assert _options("sandbox", "--clock-speed=30").speed == 30.0
    assert _options("sandbox", "--speed=30", "--clock-speed=30").speed == 30.0
    with pytest.raises(ValueError, match="disagree"):
        _options("sandbox", "--speed=30", "--clock-speed=60")


@pytest.mark.parametrize(
    "flag", ["--failure-rate=1.5", "--failure-rate=-0.1", "--port=70000", "--port=-1"]
)
def test_bad_values_are_refused(flag: str) -> None:
    with pytest.raises(ValueError):
        _options("sandbox", flag)


def test_operator_rebuilds_the_same_clock(mocker: MockerFixture) -> None:
    """The operator parses the clock flags into a ScaledClock reading the sandbox's time."""
    with pytest.raises(ValueError, match="has not started"):
        operator_command(_options("sandbox", "--speed=60"), Path("/k"))
    options = _options("sandbox", "--speed=60").started(ORIGIN)
    command = operator_command(options, Path("/k"))
    args = cli.build_parser().parse_args(command[3:])
    theirs = ScaledClock(speed=args.clock_speed, start=args.clock_start, origin=args.clock_origin)
    ours = options.clock()
    for real_now in (ORIGIN, ORIGIN + 0.5, ORIGIN + 61.25, ORIGIN + 86_400.0):
        mocker.patch("manager.clock.time.time", return_value=real_now)
        assert theirs.now() == ours.now()
    mocker.patch("manager.clock.time.time", return_value=ORIGIN + 1.0)
    assert (ours.now() - options.virtual_start).total_seconds() == pytest.approx(60.0)


def test_operator_command_passes_operator_flags_through() -> None:
    options = _options(
        "sandbox",
        "--leader-elect",
        "--namespace=team-a",
        "--log-level=debug",
        "--log-format=json",
        "--max-concurrent-reconciles=2",
        "--metrics-bind-address=127.0.0.1:9090",
        "--kubeconfig=/ignored",
    ).started(ORIGIN)
    command = operator_command(options, Path("/tmp/op.kubeconfig"))
    assert command[1:3] == ["-m", "app"]
    args = cli.build_parser().parse_args(command[3:])
    assert args.command is None  # the plain operator, no subcommand
    assert args.kubeconfig == "/tmp/op.kubeconfig"
    assert command.count("--kubeconfig") == 1
    assert args.leader_elect is True
    assert args.namespace == "team-a"
    assert (args.log_level, args.log_format) == ("debug", "json")
    assert args.max_concurrent_reconciles == 2
    assert args.metrics_bind_address == "127.0.0.1:9090"
    assert args.health_probe_bind_address == "127.0.0.1:8081"
    assert args.clock_speed == options.speed
    assert args.clock_start == options.virtual_start
    assert args.clock_origin == options.origin


def test_probe_urls() -> None:
    assert probe_url("127.0.0.1:8081", "/readyz") == "http://127.0.0.1:8081/readyz"
    assert probe_url(":8080", "/metrics") == "http://127.0.0.1:8080/metrics"
    assert probe_url("0.0.0.0:9", "/x") == "http://127.0.0.1:9/x"
    assert probe_url("0", "/metrics") is None


def test_samples_render_like_kustomize_in_order() -> None:
    objs = load_manifests(Path(cli.__file__).parent.parent / "config" / "samples", "default")
    kinds = [o["kind"] for o in objs]
    backups = [o["metadata"]["name"] for o in objs if o["kind"] == "DatabaseBackup"]
    assert "postgres-daily-backup" in backups
    assert kinds.index("Secret") < kinds.index("DatabaseBackup")  # references exist first
    assert {o["metadata"]["namespace"] for o in objs} == {"default"}
    postgres = next(o for o in objs if o["metadata"]["name"] == "postgres-daily-backup")
    assert postgres["spec"]["schedule"] == "0 1 * * *"


def test_rbac_and_crd_render() -> None:
    config = Path(cli.__file__).parent.parent / "config"
    rbac = load_manifests(config / "rbac", "dbbackup-system")
    for obj in rbac:
        namespace = obj["metadata"].get("namespace")
        cluster_scoped = obj["kind"] in ("ClusterRole", "ClusterRoleBinding")
        assert namespace == (None if cluster_scoped else "dbbackup-system"), obj["kind"]
    crds = load_manifests(config / "crd")
    assert [c["metadata"]["name"] for c in crds] == [
        "databasebackups.dbbackup.io",
        "databaserestores.dbbackup.io",
    ]


def test_kustomization_namespace_nesting_and_unsupported_generators(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "kustomization.yaml").write_text("namespace: inner-ns\nresources: [cm.yaml]\n")
    (inner / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n")
    (tmp_path / "kustomization.yaml").write_text("resources: [ns.yaml, inner]\n")
    objs = load_manifests(tmp_path, "outer")
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objs] == [
        ("Namespace", None),
        ("ConfigMap", "inner-ns"),
    ]
    (tmp_path / "kustomization.yaml").write_text("secretGenerator: [{name: s}]\n")
    with pytest.raises(ValueError, match="secretGenerator"):
        load_manifests(tmp_path)


def test_banner_says_what_runs_where() -> None:
    options = _options("sandbox", "--speed=60", "--write-kubeconfig=/tmp/s.kubeconfig")
    text = banner(
        options,
        api_url="http://127.0.0.1:18080",
        secure_url="https://127.0.0.1:4443",
        command=operator_command(options.started(ORIGIN), Path("/tmp/op")),
        samples=["default/postgres-daily-backup"],
    )
    assert "KUBECONFIG=/tmp/s.kubeconfig kubectl get dbbackup -w" in text
    assert "https://127.0.0.1:4443" in text and "http://127.0.0.1:18080" in text
    for url in ("/metrics", "/healthz", "/readyz"):
        assert f"http://127.0.0.1:808{1 if url != '/metrics' else 0}{url}" in text
    assert "00:59:30 UTC" in text and "60x real time" in text
    assert "default/postgres-daily-backup" in text
    assert "Ctrl-C" in text


def test_namespace_is_argparse_compatible() -> None:
    """``options_from_args`` reads only attributes the sandbox parser defines."""
    parser = argparse.ArgumentParser()
    cli.add_sandbox_flags(parser)
    options = options_from_args(parser.parse_args([]), samples_default=True, now=lambda: ORIGIN)
    assert options.with_samples is True
