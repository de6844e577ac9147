"""The image and the Makefile's deployment targets.

The Dockerfile is linted with hadolint, its build context is exactly what ``.dockerignore``
admits, and one test installs those files the way the Dockerfile does (a fresh virtualenv,
``pip install .`` without the test extra, from PyPI) and runs the console script, which is
what the image's ENTRYPOINT runs. No container runtime is needed. The Makefile tests run the
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
from pathlib import Path

import pytest

from tests.deploy import dockerignore
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
# What the image needs: the project metadata and the importable packages.
IMAGE_INPUTS = {"pyproject.toml", "README.md", "api", "manager", "controller", "emulator"}


def _dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", _dockerfile())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _context() -> list[str]:
    patterns = dockerignore.parse((REPO / ".dockerignore").read_text())
    return dockerignore.context_files(REPO, patterns)


def test_hadolint_passes() -> None:
    proc = subprocess.run(
        [str(HADOLINT), "Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_is_multi_stage_pinned_non_root_and_exec_form() -> None:
    steps = _instructions()
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
    # The final stage copies only the built virtualenv, nothing from the context.
    copies = [a for k, a in final if k == "COPY"]
    assert copies and all(a.startswith("--from=builder ") for a in copies)
    assert not [k for k, _ in final if k in {"RUN", "ADD"}]
    (user,) = [a for k, a in final if k == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) == 65532
    (entrypoint,) = [a for k, a in final if k == "ENTRYPOINT"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == '["dbbackup-operator"]' and "dbbackup-operator" in scripts
    installs = [a for k, a in steps if k == "RUN" and "pip install" in a]
    assert len(installs) == 1 and re.search(r"pip install --no-cache-dir \.(\s|$)", installs[0])


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
    for keyword, arguments in _instructions():
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


@pytest.mark.slow
@pytest.mark.timeout(PIP_TIMEOUT + 60)
def test_project_installs_like_the_image_and_the_console_script_runs(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for rel in _context():
        target = context / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    env_dir = tmp_path / "image-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    install = subprocess.run(
        [str(bin_dir / "pip"), "install", "--quiet", str(context)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [str(bin_dir / "pip"), "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout
    # Only the runtime dependencies: the test extra did not come along.
    probe = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.util as u, controller; "
            "print(controller.__file__); "
            "print([m for m in ('pytest', 'hypothesis', 'mypy') if u.find_spec(m)])",
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
    for flag in ("--leader-elect", "--metrics-bind-address", "--health-probe-bind-address"):
        assert flag in help_run.stdout


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
