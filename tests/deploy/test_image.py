"""The image and the Makefile's deployment targets.

The Dockerfile is linted with hadolint, its build context is exactly what ``.dockerignore``
admits, one test builds the wheel its install step installs and reads the file list (no
``emulator/``, no private key), and one installs those files the way the Dockerfile does (a
virtualenv without pip, the base's ``pip --python ... install .`` without extras, from PyPI)
and runs the console script, which is what the image's ENTRYPOINT runs. No container runtime
is needed. The Makefile tests run the
real targets in a scratch copy of the repository (``kubectl kustomize``, no cluster).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from tests.deploy import dockerfile, dockerignore
from tests.deploy.manifests import (
    DEPLOYMENT,
    MANAGER_CONTAINER,
    MANIFEST_IMAGE,
    REPO,
    load_all,
    render,
)

HADOLINT = Path(sys.executable).parent / "hadolint"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
PIP_TIMEOUT = 240.0  # seconds; a cold pip cache downloads kubernetes and its dependencies
MAKE_TIMEOUT = 60.0
PRIVATE_KEY = b"PRIVATE KEY-----"  # the PEM armour of every private key type
# What the image needs: the project metadata and the importable packages.
IMAGE_INPUTS = {"pyproject.toml", "README.md", "api", "manager", "controller", "app"}


# The builder's install step: the base's pip installs `.` into the pip-less virtualenv.
INSTALL_STEP = (
    r"python -m pip --python /opt/dbbackup-operator/bin/python install --no-cache-dir \.(\s|$)"
)


def _context() -> list[str]:
    patterns = dockerignore.parse((REPO / ".dockerignore").read_text())
    return dockerignore.context_files(REPO, patterns)


def test_hadolint_passes() -> None:
    proc = subprocess.run(
        [str(HADOLINT), "Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_is_multi_stage_pinned_non_root_and_exec_form() -> None:
    steps = dockerfile.instructions(REPO / "Dockerfile")
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    froms = [a for k, a in steps if k == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS builder")
    for base in froms:
        image = base.split()[0]
        resolved = args.get(image.strip("${}"), image)
        assert resolved.startswith("python:3.11-slim@"), resolved
        assert DIGEST.search(resolved), f"{resolved} is not pinned by digest"
    stages = [i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"]
    final = steps[stages[-1] :]
    # The final stage copies only the built virtualenv, nothing from the context, and its one
    # command removes the base's package installer.
    copies = [a for k, a in final if k == "COPY"]
    assert copies and all(a.startswith("--from=builder ") for a in copies)
    assert not [k for k, _ in final if k == "ADD"]
    assert [a for k, a in final if k == "RUN"] == [
        "python -m pip uninstall --yes --no-cache-dir pip setuptools wheel"
    ]
    (user,) = [a for k, a in final if k == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) == 65532
    (entrypoint,) = [a for k, a in final if k == "ENTRYPOINT"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == '["dbbackup-operator"]' and "dbbackup-operator" in scripts
    installs = [a for k, a in steps if k == "RUN" and re.search(r"pip .*\binstall\b", a)]
    assert len(installs) == 1 and re.search(INSTALL_STEP, installs[0]), installs
    assert "venv --without-pip /opt/dbbackup-operator" in " ".join(a for k, a in steps)


def test_dockerignore_admits_exactly_what_the_image_needs() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "deny everything first"
    files = _context()
    assert {f.split("/")[0] for f in files} == IMAGE_INPUTS
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    # Every COPY from the context names something the context holds.
    for keyword, arguments in dockerfile.instructions(REPO / "Dockerfile"):
        if keyword == "COPY" and not arguments.startswith("--from"):
            for source in arguments.split()[:-1]:
                assert any(f == source or f.startswith(source) for f in files), source


def test_dockerignore_evaluator_follows_dockers_rules() -> None:
    patterns = dockerignore.parse("*\n!api/\n**/__pycache__\n!api/keep.pyc\n")
    assert dockerignore.excluded("tests/x.py", patterns)
    assert not dockerignore.excluded("api/v1/types.py", patterns)
    assert dockerignore.excluded("api/__pycache__/x.pyc", patterns)
    assert not dockerignore.excluded("api/keep.pyc", patterns)
    assert dockerignore.excluded(".venv/bin/python", patterns)


def _copy_context(tmp_path: Path) -> Path:
    """The build context (what .dockerignore admits) in a scratch directory."""
    context = tmp_path / "context"
    for rel in _context():
        target = context / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return context


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
@pytest.mark.timeout(PIP_TIMEOUT + 60)
def test_the_install_step_builds_a_wheel_without_the_emulator_or_a_private_key(
    tmp_path: Path,
) -> None:
    """What `pip install .` in the Dockerfile installs is this wheel: its file list must hold
    the operator's packages and nothing of the emulator, and no file may carry a private key.
    Building it must not warn (setuptools deprecations surface here as on `make install`)."""
    context = _copy_context(tmp_path)
    out = tmp_path / "wheel"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
         str(context)],
        cwd=tmp_path, env=_pip_env(), capture_output=True, text=True, timeout=PIP_TIMEOUT,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    backend_warnings = [
        line for line in build.stderr.splitlines() if "Warning" in line or "deprecat" in line
    ]
    assert backend_warnings == []
    (wheel,) = out.glob("dbbackup_operator-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        keys = [n for n in names if PRIVATE_KEY in archive.read(n)]
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {"api", "manager", "controller", "app"}
    assert [n for n in names if n.startswith("emulator/")] == []
    assert [n for n in names if n.endswith((".key", ".pem", ".crt"))] == []
    assert keys == []
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(metadata).decode()
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    # cel-python is the emulator's; it comes only with an extra, never with the operator.
    assert [r for r in requires if "cel-python" in r and "extra ==" not in r] == []
    # Nor the official client: the operator speaks HTTP itself (docs/design.md §3, "The transport").
    assert [r for r in requires if r.startswith("Requires-Dist: kubernetes")
            and "extra ==" not in r] == []  # fmt: skip
    assert "License-Expression: Apache-2.0" in text


@pytest.mark.slow
@pytest.mark.timeout(PIP_TIMEOUT + 60)
def test_project_installs_like_the_image_and_the_console_script_runs(tmp_path: Path) -> None:
    context = _copy_context(tmp_path)
    env_dir = tmp_path / "image-venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)  # the Dockerfile's `venv --without-pip`
    bin_dir = env_dir / "bin"
    env = _pip_env()
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
         "--quiet", str(context)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "check"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout
    # Only the operator and its runtime dependencies: no extra, no emulator, no installer.
    probe = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.util as u, app, app.operator; "
            "print(app.__file__); "
            "print([m for m in ('pytest', 'hypothesis', 'mypy', 'celpy', 'emulator', 'pip', "
            "'kubernetes') "
            "if u.find_spec(m)])",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    location, extras = probe.stdout.splitlines()
    assert Path(location).is_relative_to(env_dir), location
    assert extras == "[]"
    help_run = subprocess.run(
        [str(bin_dir / "dbbackup-operator"), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert help_run.returncode == 0, help_run.stderr
    for flag in ("--leader-elect", "--metrics-bind-address", "--metrics-secure"):
        assert flag in help_run.stdout
    sandbox = subprocess.run(
        [str(bin_dir / "dbbackup-operator"), "sandbox"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sandbox.returncode == 2
    assert "source checkout" in sandbox.stderr


def _scratch_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy2(REPO / "Makefile", root / "Makefile")
    return root


def _make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT,
    )


def test_build_installer_writes_config_default_with_the_image_from_img(tmp_path: Path) -> None:
    root = _scratch_repo(tmp_path)
    image = "registry.example:5000/team/dbbackup-operator:v1.2.3"
    proc = _make(root, "build-installer", f"IMG={image}")
    assert proc.returncode == 0, proc.stderr
    installed = load_all((root / "dist" / "install.yaml").read_text())
    expected = render("default")
    (deployment,) = [o for o in expected if o["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == DEPLOYMENT
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["name"] == MANAGER_CONTAINER and container["image"] == MANIFEST_IMAGE
    container["image"] = image
    assert installed == expected  # the image, and nothing else, changed
    assert not (root / "dist" / "install.yaml.tmp").exists()
    # Tracked files are left alone (kubebuilder's `kustomize edit` would rewrite one).
    for rel in ("config/manager/kustomization.yaml", "config/default/kustomization.yaml"):
        assert (root / rel).read_text() == (REPO / rel).read_text()


def test_build_installer_fails_rather_than_ship_the_wrong_image(tmp_path: Path) -> None:
    root = _scratch_repo(tmp_path)
    proc = _make(root, "build-installer", "IMG=x/y:z", "MANIFEST_IMG=not/rendered:anywhere")
    assert proc.returncode != 0
    assert "expected one manager image" in proc.stderr
    assert not (root / "dist" / "install.yaml").exists()


def test_deploy_targets_apply_the_rendered_default_with_img() -> None:
    proc = _make(REPO, "-n", "deploy", "IMG=example.org/op:v2")
    assert proc.returncode == 0, proc.stderr
    assert "kubectl kustomize config/default" in proc.stdout
    assert "to='example.org/op:v2'" in proc.stdout
    assert "kubectl apply -f -" in proc.stdout
    undeploy = _make(REPO, "-n", "undeploy", "ignore-not-found=true")
    assert "kubectl delete --ignore-not-found=true -f -" in undeploy.stdout
    crds = _make(REPO, "-n", "install-crds", "uninstall-crds")
    assert "kubectl apply -k config/crd" in crds.stdout
    assert "kubectl delete --ignore-not-found=false -k config/crd" in crds.stdout
    # `make install` keeps meaning "install the project into .venv" (README, .ci/run).
    assert "pip install --quiet -e '.[test,runner]'" in _make(REPO, "-n", "-B", "install").stdout
    lint = _make(REPO, "-n", "lint").stdout
    assert "hadolint Dockerfile" in lint
    docker = _make(REPO, "-n", "docker-build", "docker-push", "IMG=example.org/op:v2").stdout
    assert "docker build -t example.org/op:v2 ." in docker
    assert "docker push example.org/op:v2" in docker
