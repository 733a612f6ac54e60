# syntax=docker/dockerfile:1.7
# Peak Portal (#14): one image for web, worker, beat and the migration job.
#   docker build -t peak-portal .      (BuildKit; not buildable on the dev machine: no Docker engine)
# Stages: builder (uv, the production lock, collectstatic) -> runtime (no pip, no compiler, non-root).
ARG PYTHON_IMAGE=python:3.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION=0.13.8
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
# Dependencies first (a layer that changes only with the lock): production only, every hash checked.
COPY requirements.lock ./
RUN uv venv /opt/venv --python /usr/local/bin/python3 \
 && uv pip sync --no-cache --python /opt/venv/bin/python --require-hashes requirements.lock
COPY manage.py pyproject.toml ./
COPY deploy ./deploy
COPY portal ./portal
COPY provisioning ./provisioning
COPY templates ./templates
COPY static ./static
COPY bicep ./bicep
# Static files are collected (hashed, compressed) at build; the settings need only throwaway values here.
RUN PORTAL_MODE=production SECRET_KEY=build-only-not-a-secret ALLOWED_HOSTS=build.invalid \
    STATIC_ROOT=/app/staticfiles PORTAL_VAR_DIR=/tmp/build-var \
    /opt/venv/bin/python manage.py collectstatic --noinput --verbosity 0 \
 && /opt/venv/bin/python -m compileall -q portal provisioning

FROM ${PYTHON_IMAGE} AS runtime
# The Bicep CLI, so PORTAL_CLOUD=azure can compile templates: the official release, pinned by checksum.
ARG BICEP_VERSION=v0.44.1
ARG BICEP_SHA256=e17dc9a9888184886bb0c0051a3230b83b19f342749999f707bc571c3dfd2f45
ADD --checksum=sha256:${BICEP_SHA256} --chmod=0755 \
    https://github.com/Azure/bicep/releases/download/${BICEP_VERSION}/bicep-linux-x64 /usr/local/bin/bicep
# No pip in the final image; a fixed non-root user (the manifests' runAsUser).
RUN rm -rf /usr/local/lib/python3*/site-packages/pip* /usr/local/bin/pip* \
 && groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin portal
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORTAL_MODE=production \
    PORTAL_VAR_DIR=/var/lib/portal \
    STATIC_ROOT=/app/staticfiles \
    PORTAL_BICEP=/usr/local/bin/bicep \
    PORTAL_LOG_FORMAT=json \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    DOTNET_BUNDLE_EXTRACT_BASE_DIR=/tmp/dotnet \
    PORT=8000
USER 10001:10001
EXPOSE 8000
# The root filesystem can be read-only: mount writable volumes at /var/lib/portal and /tmp.
VOLUME ["/var/lib/portal", "/tmp"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
