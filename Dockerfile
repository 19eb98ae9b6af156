# One image for the simulator, the prober and the Locust master and workers
# (docker-compose.yml picks the command). Build: docker build -t prober .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir prober storage simulator \
    && pip install . "locust>=2.20,<3" \
    && pip uninstall -y prober

COPY . .
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app prober \
    && mkdir -p /var/lib/prober \
    && chown prober /var/lib/prober

USER prober
# The spill file lives beside a SQLite database; with PostgreSQL this
# directory holds the spill file only.
WORKDIR /var/lib/prober

EXPOSE 8000 9464 8089
CMD ["prober", "run", "--listen", "0.0.0.0:9464", "--allow-remote"]
