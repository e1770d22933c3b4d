"""docker-compose.yml parses and every finrag setting it sets exists (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import QdrantSettings

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_parses_and_names_real_qdrant_settings() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"qdrant", "qdrant-node2", "qdrant-node3", "app"} <= set(services)
    env = services["app"]["environment"]
    qdrant = {k.split("__", 1)[1].lower() for k in env if k.startswith("FINRAG_QDRANT__")}
    assert {"url", "shard_number", "replication_factor", "write_consistency_factor"} <= qdrant
    assert qdrant <= set(QdrantSettings.model_fields)
    for node in ("qdrant-node2", "qdrant-node3"):  # extra nodes only with --profile cluster
        assert services[node]["profiles"] == ["cluster"]
        assert "--bootstrap" in services[node]["command"]
    for volume in ("qdrant-storage-2", "qdrant-storage-3"):
        assert volume in compose["volumes"]
