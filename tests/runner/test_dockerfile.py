"""The runner image's Dockerfile, checked without a container engine.

hadolint passes; the base is pinned by digest; the final stage runs as a numeric non-root
user, has the database clients, and its entrypoint is the console script; the build context
(``runner/Dockerfile.dockerignore``) holds exactly what the install needs; and the project
installs with the ``runner`` extra the way the builder stage does, its script answering.
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

from tests.deploy import dockerfile, dockerignore

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "runner" / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
CONTEXT = {"pyproject.toml", "README.md", "api", "runner"}
PIP_TIMEOUT_SECONDS = 600


def _context() -> list[str]:
    text = (REPO / "runner" / "Dockerfile.dockerignore").read_text()
    return dockerignore.context_files(REPO, dockerignore.parse(text))


def test_hadolint_passes() -> None:
    proc = subprocess.run(
        [str(HADOLINT), "runner/Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_is_pinned_non_root_with_clients_and_the_runner_entrypoint() -> None:
    steps = dockerfile.instructions(DOCKERFILE)
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    froms = [a.split()[0] for k, a in steps if k == "FROM"]
    assert len(froms) == 2
    for image in froms:
        assert DIGEST.search(args.get(image.strip("${}"), image))
    final = steps[[i for i, (k, _) in enumerate(steps) if k == "FROM"][-1] :]
    (user,) = [a for k, a in final if k == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    runs = " ".join(a for k, a in final if k == "RUN")
    assert "postgresql-client" in runs and "mariadb-client" in runs
    assert "--no-install-recommends" in runs and "rm -rf /var/lib/apt/lists/*" in runs
    (entrypoint,) = [a for k, a in final if k == "ENTRYPOINT"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == '["dbbackup-runner"]' and scripts["dbbackup-runner"] == "runner.entry:main"
    env = " ".join(a for k, a in final if k == "ENV")
    assert "HOME=/tmp" in env and "TMPDIR=/tmp" in env
    installs = [a for k, a in steps if k == "RUN" and "pip install" in a]
    assert len(installs) == 1 and '".[runner]"' in installs[0]


def test_build_context_is_exactly_what_the_install_needs() -> None:
    files = _context()
    assert {f.split("/")[0] for f in files} == CONTEXT
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    for keyword, arguments in dockerfile.instructions(DOCKERFILE):
        if keyword == "COPY" and not arguments.startswith("--from"):
            for source in arguments.split()[:-1]:
                assert any(f == source or f.startswith(source) for f in files), source


@pytest.mark.heavy
@pytest.mark.timeout(PIP_TIMEOUT_SECONDS + 60)
def test_project_installs_like_the_image_and_the_runner_answers(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for rel in _context():
        target = context / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    env_dir = tmp_path / "image-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    install = subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "--quiet", f"{context}[runner]"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    run = subprocess.run(
        [str(env_dir / "bin" / "dbbackup-runner"), "backup"],
        cwd=tmp_path, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 2 and "bad configuration (exit 2)" in run.stderr


def test_image_builds_on_the_operator_images_pinned_base() -> None:
    """Docker has no include, so both Dockerfiles spell the base; they must spell the same one
    (one Debian release, one digest to bump)."""

    def base(path: Path) -> str:
        steps = dockerfile.instructions(path)
        (pinned,) = [a for k, a in steps if k == "ARG" and a.startswith("PYTHON_IMAGE=")]
        return pinned

    assert base(DOCKERFILE) == base(REPO / "Dockerfile")
