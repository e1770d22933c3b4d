FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md Makefile ./
COPY core core
COPY ingest ingest
COPY retrieval retrieval
COPY rerank rerank
COPY agent agent
COPY ui ui
COPY evaluation evaluation
RUN pip install --no-cache-dir -e .
ENV HF_HUB_OFFLINE=1 FINRAG_DATA_DIR=/data
EXPOSE 8501
CMD ["finrag", "--help"]
