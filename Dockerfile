# Trial EDC: one image for the web (gunicorn), the Celery worker and Celery beat.
# Build:  docker build -t trial-edc .      Run: see docker-compose.yml and docs/deploy.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    EDC_VAR_DIR=/var/lib/edc

# WeasyPrint's system libraries and fonts (DejaVu for Latin, WenQuanYi Micro Hei for
# Chinese), and gettext for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-dejavu-core \
        fonts-wqy-microhei \
        gettext \
    && rm -rf /var/lib/apt/lists/*

# Non-root user that owns only the writable data directory.
RUN groupadd --system --gid 10001 edc \
    && useradd --system --uid 10001 --gid edc --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin edc \
    && mkdir -p /app "$EDC_VAR_DIR/media" "$EDC_VAR_DIR/anchors" \
    && chown -R edc:edc "$EDC_VAR_DIR"

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so this layer is rebuilt only when the
# dependencies change. (With no package directories present, `pip install .` installs the
# dependencies; the project's code is imported from /app via PYTHONPATH.)
COPY pyproject.toml ./
RUN pip install . && rm -rf build *.egg-info

# The project itself.
COPY . .

# Static files (whitenoise manifest) and translations, built into the image. The secret is a
# throwaway: nothing is signed at build time. `mkdir -p locale` lets compilemessages run
# (as a no-op) while the project ships no catalogues yet.
RUN mkdir -p locale \
    && DJANGO_SECRET_KEY=build-only python manage.py compilemessages \
    && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && chown -R edc:edc "$EDC_VAR_DIR"

USER edc

EXPOSE 8000

CMD ["gunicorn", "trial_edc.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
