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
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.backends import ANSWERERS, EMBEDDERS, OCR_ENGINES, RERANKERS
from core.options import EmbedderOptions, LLMOptions, RerankerOptions
from core.roles import Role


class QdrantSettings(BaseModel):
    """Where the collections live and how they are built and searched (README, "Serving at scale").

    The collection options apply when a collection is created (``Index.ensure_collection``); an
    existing collection keeps what it was created with. Cluster options (shards, replication,
    write consistency) reach a server only; the embedded engines are one shard.
    """

    url: str | None = None  # a server; when unset the embedded engine under data_dir is used
    api_key: str | None = None
    engine: Literal["auto", "edge", "local"] = "auto"  # embedded engine when url is unset
    collection: str = "chunks"
    memory_collection: str = "memory"
    timeout_s: float = 30.0
    # -- cluster (server only) --
    shard_number: int = Field(default=1, ge=1)  # about 2 per node, so shards can move
    replication_factor: int = Field(default=1, ge=1)  # copies of each shard (2 survives a node)
    write_consistency_factor: int = Field(default=1, ge=1)  # replicas that must ack a write
    # -- storage --
    on_disk_vectors: bool = False  # original float32 vectors memory-mapped (keep int8 in RAM)
    on_disk_payload: bool = True  # payload memory-mapped; filters read the payload indexes
    # -- HNSW (dense vectors) --
    hnsw_m: int = Field(default=16, ge=0)
    hnsw_ef_construct: int = Field(default=100, ge=4)
    # Extra links per payload-index value (Qdrant's payload_m); 0 = none: filtered queries use
    # the global graph, or the payload index plus exact scoring when a filter keeps few points.
    hnsw_payload_m: int | None = 0
    full_scan_threshold_kb: int = Field(default=10_000, ge=0)  # below: exact scan, no graph
    hnsw_ef: int | None = None  # search beam; None = Qdrant's default
    # -- quantization (dense vectors) --
    quantization: Literal["none", "int8"] = "int8"  # scalar int8 copy of every dense vector
    quantization_quantile: float = Field(default=0.99, gt=0.5, le=1.0)
    quantization_always_ram: bool = True
    rescore: bool = True  # re-rank the int8 candidates with the original vectors
    oversampling: float = Field(default=2.0, ge=1.0)  # int8 candidates per result to rescore
    # -- automatic index build (edge; a server indexes on its own past indexing_threshold_kb) --
    index_threshold: int = Field(default=20_000, ge=0)  # unindexed points that start a build; 0 off
    # Segments above this size (KB of vectors) get an HNSW graph when optimised; a server
    # optimises on its own past it (20 MB ~ 13k points of 384 float32).
    indexing_threshold_kb: int = Field(default=20_000, ge=0)
    # A build merges segments only up to this size (KB of the largest vector: 384 float32 are
    # 1.5 KB a point, so 512 MB ~ 340k points), which bounds one HNSW build's memory and time.
    # Qdrant's own default is 256 MB per CPU, so it would change with the machine; None = that.
    max_segment_size_kb: int | None = Field(default=512_000, ge=1)


class IngestSettings(BaseModel):
    render_dpi: int = 100
    render_pages: bool = True
    ocr: str = "rapidocr"  # an OCR_ENGINES name (rapidocr, tesseract) or "none"
    tables: Literal["auto", "always", "never"] = "auto"
    figures: bool = True
    workers: int = 0  # parse processes; 0 = one per core (with Ray: CPUs of a local instance)
    executor: Literal["local", "ray"] = "local"  # where files are parsed (ingest.ray_executor)
    ray_address: str | None = None  # a Ray cluster; unset starts a local instance per batch
    ray_cpus_per_task: float = 1.0  # CPUs Ray reserves for one file's parse
    ray_max_retries: int = 3  # retries of a file whose worker died mid-task
    ray_max_in_flight: int = 0  # files parsed ahead of the driver; 0 = twice the cluster's CPUs
    max_page_points: float = 14400.0  # pages larger than 200 in on a side are rejected
    max_file_mb: float = 500.0
    # --- what the app may read and how much one batch may hold (README "Security model") ---
    # Server folders the app's Library page may ingest from; empty = the data dir's uploads and the
    # bundled samples folder (data_dir/samples). The CLI, an operator tool, is not restricted.
    allowed_roots: list[Path] = Field(default_factory=list)
    follow_symlinks: bool = False  # in folder walks; the CLI's --follow-symlinks turns it on
    max_batch_files: int = 2000
    max_batch_gb: float = 5.0
    # --- bounded extraction: checked before a file is parsed, or while it is ---
    max_html_mb: float = 20.0  # HTML is parsed as one tree in memory: ~100x its size
    max_zip_uncompressed_mb: float = 200.0  # DOCX / XLSX are zips; the sum of their members
    max_zip_ratio: float = 100.0  # uncompressed / compressed, over the whole archive
    max_zip_members: int = 10_000
    max_elements_per_file: int = 200_000
    max_chars_per_file: int = 50_000_000
    max_chunks_per_file: int = 20_000
    max_render_megapixels: float = 25.0  # a page renders at a lower dpi rather than above this
    # Each file is parsed in a worker process limited to this much memory (RSS, and address
    # space grown after start-up) and this many seconds; a file over either fails alone.
    isolate: bool = True  # False parses in the calling process (no limits): trusted input only
    worker_memory_mb: int = 1400
    file_timeout_s: float = 900.0

    @field_validator("allowed_roots", mode="before")
    @classmethod
    def _roots_list(cls, value: object) -> object:
        # FINRAG_INGEST__ALLOWED_ROOTS is a JSON list; a string (finrag.toml, keyword) may hold
        # several paths separated by ":".
        if isinstance(value, str):
            return [p for p in value.split(os.pathsep) if p.strip()]
        return value

    @field_validator("ocr")
    @classmethod
    def _known_ocr(cls, value: str) -> str:
        if value != "none":
            OCR_ENGINES.options_model(value)  # raises, listing the known engines
        return value


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

    Roles (:mod:`core.roles`) sit beside the groups: ``roles`` maps a user to ``reader``,
    ``curator`` or ``admin`` (``FINRAG_USERS__ROLES='{"alice": "curator"}'``); a user not in it
    gets ``default_role``. The single local user (no ``identity_header``) is always ``admin``.
    """

    identity_header: str | None = None
    groups: dict[str, list[str]] = Field(default_factory=dict)
    roles: dict[str, Role] = Field(default_factory=dict)
    default_role: Role = "reader"
    default_user: str = "local"


class ApiSettings(BaseModel):
    """The HTTP API (``finrag serve``, :mod:`ui.api`): who may call it and how much they may send.

    ``keys`` maps an API key to a user name; that user reads with ``users.groups[name]``, exactly
    as in the app. ``admins`` and ``curators`` name users with more than read access (until users
    carry roles): curators write the memory bank and ingest into their own groups; admins (and
    the local operator) also ingest into any group and delete filings and memory entries. With
    no keys and no ``users.identity_header`` the API serves the local operator only, on loopback.
    Server folders may be ingested only inside ``ingest_roots``.
    """

    keys: dict[str, str] = Field(default_factory=dict)
    admins: list[str] = Field(default_factory=list)
    curators: list[str] = Field(default_factory=list)
    ingest_roots: list[Path] = Field(default_factory=list)
    max_json_kb: int = 64  # a JSON (or form) request body
    max_upload_mb: float = 200.0  # one ingest upload request, all files together
    max_question_chars: int = 2000
    max_page_size: int = 200  # hits, filings, facts or memory entries per response
    ask_workers: int = 4  # questions answered at once; more wait their turn


_REGISTRIES = {"embedder": EMBEDDERS, "rerank": RERANKERS, "llm": ANSWERERS}


class Settings(BaseSettings):
    """All configuration; each entry point (a CLI command, the app) reads it once."""

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
    embedder: EmbedderOptions = Field(default_factory=EMBEDDERS.parse)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    rerank: RerankerOptions = Field(default_factory=RERANKERS.parse)
    llm: LLMOptions = Field(default_factory=ANSWERERS.parse)
    tools: ToolSettings = Field(default_factory=ToolSettings)
    users: UsersSettings = Field(default_factory=UsersSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

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

    # Each backend group becomes the options model of the backend it names (core.backends); an
    # unknown name raises UnknownBackendError here, listing the known ones.
    @field_validator("embedder", "rerank", "llm", mode="before")
    @classmethod
    def _backend_options(cls, value: object, info: ValidationInfo) -> object:
        return _REGISTRIES[info.field_name].parse(value)

    @field_validator("model_cache", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # FINRAG_MODEL_CACHE= (empty) would otherwise become Path("."): exports in the cwd.
        return None if value == "" else value

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def samples_dir(self) -> Path:
        return self.data_dir / "samples"

    @property
    def allowed_roots(self) -> list[Path]:
        """Folders the app may ingest from (``ingest.allowed_roots``, else uploads and samples)."""
        return list(self.ingest.allowed_roots) or [self.uploads_dir, self.samples_dir]

    @property
    def renders_dir(self) -> Path:
        return self.data_dir / "renders"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def facts_path(self) -> Path:
        return self.data_dir / "facts.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.jsonl"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    @property
    def models_dir(self) -> Path:
        return self.model_cache or self.data_dir / "models"
