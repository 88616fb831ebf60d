# The service image: migrations run at start, then the API. Not runnable on the development machines
# (no Docker engine there); kept simple so that it is correct by reading.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv/nrm
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# The web application's catalogues are compiled before the install, which copies them into the package.
RUN pip install --no-cache-dir "babel>=2.14" && pybabel compile --directory app/web/translations --domain messages \
    && pip install --no-cache-dir . && useradd --system --home /srv/nrm nrm && mkdir -p /srv/nrm/var /srv/nrm/keys && chown nrm /srv/nrm/var /srv/nrm/keys
USER nrm
EXPOSE 8000
CMD ["sh", "-c", "nrm migrate && exec nrm serve --host 0.0.0.0 --port 8000"]
