# The example's Python services with their source inside, for the cluster
# environments (env/cluster-images.yaml), where nothing is bind-mounted.
# Build context: examples/. One target per service: web, worker, status.
FROM python:3.12-slim AS python
COPY python/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
USER 65534:65534

FROM python AS web
COPY web/ /app/

FROM python AS worker
COPY worker/ /app/

FROM python AS status
COPY status/ /app/
