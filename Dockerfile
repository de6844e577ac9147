# dbbackup-operator image: `make docker-build IMG=...`.
#
# Two stages: the builder installs the operator and its runtime dependencies (no extras)
# into a virtualenv made without pip; the final stage copies only that virtualenv onto the
# same slim base and removes the base's own pip and setuptools, so no build context, pip
# cache, wheel build leftovers or package installer ship. The API emulator (emulator/) is not
# part of the distribution and not in the build context (.dockerignore).
# The base is pinned by digest (python:3.11-slim, linux/amd64+arm64 index); bump the
# digest deliberately (e.g. with Renovate or Dependabot), never by retagging.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv --without-pip /opt/dbbackup-operator
# Only what the package needs; .dockerignore admits exactly these paths.
COPY pyproject.toml README.md ./
COPY api/ api/
COPY manager/ manager/
COPY controller/ controller/
COPY app/ app/
# The base's pip installs into the pip-less virtualenv. A regular (non-editable) install
# compiles every module to bytecode here, because the running container's root filesystem
# is read-only.
RUN python -m pip --python /opt/dbbackup-operator/bin/python install --no-cache-dir . \
    && /opt/dbbackup-operator/bin/dbbackup-operator --help > /dev/null

FROM ${PYTHON_IMAGE}
# The operator never installs anything at run time: no package installer in the image.
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel
LABEL org.opencontainers.image.title="dbbackup-operator" \
      org.opencontainers.image.description="Runs scheduled database backups as Kubernetes Jobs." \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /opt/dbbackup-operator /opt/dbbackup-operator
ENV PATH=/opt/dbbackup-operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd; 65532 is the
# "nonroot" user of distroless images and the user config/manager runs as.
USER 65532:65532
EXPOSE 8443 8081
ENTRYPOINT ["dbbackup-operator"]
