# syntax=docker/dockerfile:1
# Courier CRM application image. The web server (gunicorn, the default command), the Celery
# worker, Celery beat and the one-shot `migrate` all run from this one image with different
# commands; see docker-compose.yml and docs/operations.md.
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: dependencies, compiled translations, collected static files ------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
# gettext (msgfmt) is only needed to compile the translations; it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
# Dependencies first, so that a code change does not reinstall them. `pip install .` installs
# the runtime dependencies of pyproject.toml only (no dev / embedded extras); the project ships
# no package of its own, the code is copied below.
COPY pyproject.toml /tmp/project/
RUN cd /tmp/project && pip install . && rm -rf /tmp/project
WORKDIR /app
COPY . .
# Build time only: harmless dummy values that satisfy the settings module. Nothing connects to
# them and none of them ends up in the image's environment.
RUN export DJANGO_SETTINGS_MODULE=courier_crm.settings.production \
           DJANGO_SECRET_KEY=build-time-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
           DATABASE_URL=postgres://build:build@localhost:5432/build \
           REDIS_URL=redis://localhost:6379/0 \
 && python manage.py compilemessages \
 && python manage.py collectstatic --noinput

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# WEB_CONCURRENCY: gunicorn worker processes (each runs the threads given in CMD).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=courier_crm.settings.production \
    WEB_CONCURRENCY=3
# A home of its own: gunicorn keeps its control socket in ~/.gunicorn.
RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid crm --create-home --home-dir /home/crm \
            --shell /usr/sbin/nologin crm \
 && mkdir -p /var/lib/celery /var/lib/crm/media \
 && chown crm:crm /var/lib/celery /var/lib/crm/media
COPY --from=build /opt/venv /opt/venv
# Code and static files stay owned by root: the application user can read but not change them.
COPY --from=build /app /app
WORKDIR /app
USER crm
EXPOSE 8000
# Workers come from WEB_CONCURRENCY; anything else can be overridden with GUNICORN_CMD_ARGS.
CMD ["gunicorn", "courier_crm.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--threads", "4", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
