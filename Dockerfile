# Market alert bot: python -m bot run, with the SQLite database on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.db \
    METRICS_HOST=0.0.0.0 \
    MPLBACKEND=Agg

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && useradd --create-home --uid 10001 alertbot \
    && mkdir -p /data \
    && chown alertbot:alertbot /data

USER alertbot
VOLUME ["/data"]

HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "healthcheck"]

ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
