"""One Settings object for the whole system.

Sources, highest priority first: explicit keyword arguments, environment variables with prefix
``FINRAG_`` (nested groups with ``__``, e.g. ``FINRAG_QDRANT__URL``), ``finrag.toml`` in the
working directory (or the file named by ``FINRAG_CONFIG``), then the defaults below.

Example:
    >>> s = Settings(data_dir="/tmp/corpus")
    >>> s.index_dir.name
    'qdrant'
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class QdrantSettings(BaseModel):
    url: str | None = None  # a server; when unset the embedded engine under data_dir is used
    api_key: str | None = None
    engine: Literal["auto", "edge", "local"] = "auto"  # embedded engine when url is unset
    collection: str = "chunks"
    memory_collection: str = "memory"
    timeout_s: float = 30.0


class EmbedderSettings(BaseModel):
    name: str = "minilm-onnx"  # minilm-onnx | sentence-transformers | qwen3-vl | hash
    model: str | None = None  # a local folder or model id; None = the backend's packaged default
    batch_size: int = 32
    max_tokens: int = 256  # chunk budget in the embedder's tokens
    # Tokens of each document chunk the dense model reads (None = the whole chunk). MiniLM was
    # trained on 128-token inputs; BM25 still indexes every token. See README, "Ingest speed".
    document_tokens: int | None = 96
    quantize: bool = True  # onnx: dynamic int8
    threads: int | None = None  # intra-op threads; None = all cores
    device: str = "auto"
    dimension: int | None = None  # Matryoshka truncation for backends that support it
    image_pages: bool = False  # multimodal backends: also embed page renders into `image`


class IngestSettings(BaseModel):
    render_dpi: int = 100
    render_pages: bool = True
    ocr: Literal["rapidocr", "tesseract", "none"] = "rapidocr"
    tables: Literal["auto", "always", "never"] = "auto"
    figures: bool = True
    workers: int = 0  # parse processes; 0 = one per core
    max_page_points: float = 14400.0  # pages larger than 200 in on a side are rejected
    max_file_mb: float = 500.0


class RerankSettings(BaseModel):
    # "auto": the promoted fine-tuned model of the question's company, else the general one, else
    # none (rerank.promoted); any other name is an explicit choice.
    name: str = "auto"
    model: str | None = None
    batch_size: int = 16
    window: int = 5
    # VL rerankers: show page/figure hits as their image (auto, when the file exists) or as text
    document_mode: Literal["auto", "text", "image"] = "auto"
    device: str = "auto"
    # cross-encoder: weight of the model against the retrieval order; None = the model's own
    # calibrated weight (finrag_model.json)
    fusion_weight: float | None = None


class LLMSettings(BaseModel):
    name: str = "extractive"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 2
    max_new_tokens: int = 512


class ToolSettings(BaseModel):
    market_data_url: str | None = None  # an Alpha Vantage-compatible endpoint; unset = unavailable
    market_data_key: str | None = None
    company_facts_url: str | None = None  # base URL serving SEC XBRL companyfacts JSON
    company_facts_dir: Path | None = None  # or a local folder of CIK##########.json files
    timeout_s: float = 5.0
    cache_ttl_s: float = 300.0
    user_agent: str = "finrag/0.1 (analyst tooling)"


class UsersSettings(BaseModel):
    """Who may read what in the app (``ui.identity``).

    Without ``identity_header`` the app is single-user: everyone is ``default_user``, reading with
    ``groups[default_user]`` when configured, else ``default_acl``. Behind a proxy that
    authenticates users, ``identity_header`` names the header it sets (e.g. ``X-Forwarded-User``);
    a request without it is refused, and a user missing from ``groups`` reads nothing.
    """

    identity_header: str | None = None
    groups: dict[str, list[str]] = Field(default_factory=dict)
    default_user: str = "local"


class Settings(BaseSettings):
    """All configuration, read once per process (see :func:`get_settings`)."""

    model_config = SettingsConfigDict(
        env_prefix="FINRAG_",
        env_nested_delimiter="__",
        extra="ignore",
        toml_file="finrag.toml",
    )

    data_dir: Path = Path(".finrag")
    log_level: str = "WARNING"
    default_acl: list[str] = Field(default_factory=lambda: ["public"])
    model_cache: Path | None = None  # converted models (e.g. ONNX exports); default data_dir/models
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    rerank: RerankSettings = Field(default_factory=RerankSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    users: UsersSettings = Field(default_factory=UsersSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("FINRAG_CONFIG", "finrag.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    @field_validator("model_cache", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # FINRAG_MODEL_CACHE= (empty) would otherwise become Path("."): exports in the cwd.
        return None if value == "" else value

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def renders_dir(self) -> Path:
        return self.data_dir / "renders"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    @property
    def models_dir(self) -> Path:
        return self.model_cache or self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
