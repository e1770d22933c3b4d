"""The HTTP API: ask, search, filings, facts, memory and ingest jobs over one open corpus.

Contract: :func:`create_app` builds the FastAPI application over an open
:class:`~retrieval.corpus.Corpus` and an :class:`~agent.graph.Agent` on it, both the caller's to
close (``finrag serve`` opens one of each per process: an embedded index can be opened by one
process). Every route but ``/healthz`` authenticates the caller (:mod:`ui.api.access`: 401
without a valid key or identity) and reads with the caller's ACL groups only, exactly as the app
does, so nothing outside them is ever fetched; writes go through :func:`ui.api.access.require`
(403 with who may). Errors are JSON ``{"detail": message}``: 400 for a request the corpus
refuses, 404 for what the caller may not read or that does not exist, 409 while an ingest runs,
413 for a body over its limit (:mod:`ui.api.limits`), 422 for a malformed request or one over a
size limit (question length, page size).

Questions are answered in a thread pool of ``settings.api.ask_workers`` threads sharing the one
agent (its stores are thread-safe and each request is its own LangGraph thread);
``POST /v1/ask/stream`` answers NDJSON: one ``{"event": "progress", "step", "detail"}`` line
per agent step as it happens, then ``{"event": "answer", ...}`` (the shape of
``finrag ask --json``), or ``{"event": "error", "detail"}``. A conversation id (``thread``) is the
caller's own: the agent's thread is namespaced by user, so one user never continues another's.
OpenAPI docs are served at ``/docs`` (schema at ``/openapi.json``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from core.errors import AccessError, FinragError, IndexBackendError
from core.records import Filing, Modality, SearchFilters
from core.settings import Settings
from ui.api.access import authenticate, batch_acl, require, role_of
from ui.api.jobs import IngestJob, IngestJobs, JobBusyError
from ui.api.limits import BodyLimit
from ui.commands import catalog_names, fact_rows, hit_row, reply_json
from ui.identity import User

if TYPE_CHECKING:
    from agent.graph import Agent
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

THREAD_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_DONE = object()
INGEST_GRACE_S = 120  # on shutdown, how long the file an ingest is on may take to finish


# --- request bodies --------------------------------------------------------------------------


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1, description="The question (settings.api.max_question_chars)"
    )
    thread: str | None = Field(
        None, pattern=THREAD_PATTERN, description="Conversation id; reuse it for follow-ups."
    )
    companies: list[str] = Field(default_factory=list, max_length=20)
    fiscal_years: list[int] = Field(default_factory=list, max_length=20)


class SearchRequest(BaseModel):
    query: str = Field(min_length=1)
    companies: list[str] = Field(default_factory=list, max_length=20)
    tickers: list[str] = Field(default_factory=list, max_length=20)
    forms: list[str] = Field(default_factory=list, max_length=20)
    fiscal_years: list[int] = Field(default_factory=list, max_length=20)
    doc_ids: list[str] = Field(default_factory=list, max_length=100)
    modalities: list[Modality] = Field(default_factory=list)
    limit: int = Field(10, ge=1)


class ProbeRequest(BaseModel):
    question: str = Field(min_length=1)
    company: str | None = None
    period: str | None = None
    pending: bool = False
    stale: bool = False
    limit: int = Field(3, ge=1)


class SourceIn(BaseModel):
    file: str = ""
    page: int = 0
    doc_id: str = ""
    quote: str = ""


class MemoryIn(BaseModel):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    company: str | None = None
    period: str | None = None
    paraphrases: list[str] = Field(default_factory=list, max_length=50)
    source: SourceIn | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    acl: list[str] = Field(default_factory=list, description="Default: all of your groups.")


# --- the application -------------------------------------------------------------------------


class Api:
    """What every route shares: settings, the open corpus, the agent, jobs and the ask pool."""

    def __init__(self, settings: Settings, corpus: Corpus, agent: Agent) -> None:
        from retrieval.memory_bank import MemoryBank

        self.settings = settings
        self.corpus = corpus
        self.agent = agent
        self.jobs = IngestJobs(corpus)
        self.bank = MemoryBank(corpus)
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, settings.api.ask_workers), thread_name_prefix="api-ask"
        )

    # size limits ------------------------------------------------------------------------------

    def check_question(self, text: str) -> None:
        cap = self.settings.api.max_question_chars
        if len(text) > cap:
            raise HTTPException(
                422,
                f"the question is {len(text)} characters; the limit is {cap} "
                "(FINRAG_API__MAX_QUESTION_CHARS)",
            )

    def check_page(self, limit: int | None) -> int:
        """``limit``, or the page size cap when it is None.

        Raises:
            HTTPException: 422, ``limit`` is over the cap.
        """
        cap = self.settings.api.max_page_size
        if limit is None:
            return cap
        if limit > cap:
            raise HTTPException(
                422, f"limit {limit} is over the page size cap of {cap} (FINRAG_API__MAX_PAGE_SIZE)"
            )
        return limit

    # asking -----------------------------------------------------------------------------------

    def agent_args(self, body: AskRequest, user: User) -> dict[str, Any]:
        self.check_question(body.question)
        filters = SearchFilters(
            companies=catalog_names(body.companies, self.corpus.filings(user.groups)),
            fiscal_years=body.fiscal_years,
        )
        return {
            "thread_id": f"api:{user.name}:{body.thread or uuid.uuid4().hex[:12]}",
            "acl_groups": list(user.groups),
            "filters": None if filters.is_empty() else filters,
        }

    async def stream(self, question: str, args: dict[str, Any]) -> AsyncIterator[Any]:
        """The agent's progress events then its reply, produced in the ask pool."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def put(item: Any) -> None:
            # RuntimeError: the server stopped while the agent was still working.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                for item in self.agent.stream(question, **args):
                    put(item)
            except Exception as exc:
                put(exc)
            finally:
                put(_DONE)

        self.pool.submit(work)
        while (item := await queue.get()) is not _DONE:
            yield item


def caller(request: Request) -> User:
    """The authenticated caller of ``request`` (401 with a ``WWW-Authenticate`` challenge)."""
    try:
        return authenticate(request.app.state.api.settings, request.headers)
    except AccessError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


# Module-level, because FastAPI resolves the routes' (string) annotations in this module.
Caller = Annotated[User, Depends(caller)]
Limit = Annotated[
    int | None, Query(ge=1, description="Page size (default and cap: settings.api.max_page_size).")
]
Offset = Annotated[int, Query(ge=0)]


def _public_thread(thread_id: str) -> str:
    return thread_id.rsplit(":", 1)[-1]


def _error_line(exc: Exception) -> dict[str, str]:
    if isinstance(exc, FinragError):
        return {"event": "error", "detail": str(exc)}
    log.error("answering failed", exc_info=exc)
    return {"event": "error", "detail": f"Unexpected error ({type(exc).__name__}); see the log."}


def create_app(settings: Settings, corpus: Corpus, agent: Agent) -> FastAPI:
    """The API over ``corpus`` and ``agent`` (see the module docstring).

    Example:
        >>> with Corpus.open(settings) as corpus, Agent(corpus) as agent:  # doctest: +SKIP
        ...     uvicorn.run(create_app(settings, corpus, agent), host="127.0.0.1", port=8000)
    """
    api = Api(settings, corpus, agent)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        running = await asyncio.to_thread(api.jobs.stop, INGEST_GRACE_S)
        if running is not None:
            log.warning(
                "stopping while ingest %s still runs after %s s; its unfinished files stay "
                "pending in the catalog and are recovered by the next ingest of them",
                running.id,
                INGEST_GRACE_S,
            )
        api.pool.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(
        title="finrag",
        summary="Questions, search, statement facts and ingestion over SEC filings.",
        version="1",
        lifespan=lifespan,
    )
    app.state.api = api
    _errors(app)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, str]:
        """Liveness: no authentication, no corpus access."""
        return {"status": "ok"}

    @app.get("/v1/me", tags=["server"])
    def me(user: Caller) -> dict[str, Any]:
        """Who the API takes you for: name, ACL groups and role."""
        return {"name": user.name, "groups": user.groups, "role": role_of(user, settings)}

    # ask ----------------------------------------------------------------------------------------

    @app.post("/v1/ask", tags=["ask"])
    async def ask(body: AskRequest, user: Caller) -> dict[str, Any]:
        """Answer a question from the filings you may read, with citations and calculations."""
        args = api.agent_args(body, user)
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(
                api.pool, functools.partial(agent.ask, body.question, **args)
            )
        except FinragError as exc:
            raise HTTPException(400, str(exc)) from None
        return reply_json(reply, _public_thread(args["thread_id"]))

    @app.post(
        "/v1/ask/stream",
        tags=["ask"],
        response_class=StreamingResponse,
        responses={200: {"content": {"application/x-ndjson": {}}}},
    )
    async def ask_stream(body: AskRequest, user: Caller) -> StreamingResponse:
        """NDJSON: a ``progress`` line per agent step as it happens, then the ``answer``."""
        from agent.graph import AgentReply

        args = api.agent_args(body, user)

        async def lines() -> AsyncIterator[str]:
            async for item in api.stream(body.question, args):
                if isinstance(item, Exception):
                    line = _error_line(item)
                elif isinstance(item, AgentReply):
                    line = {
                        "event": "answer",
                        **reply_json(item, _public_thread(args["thread_id"])),
                    }
                else:
                    line = {"event": "progress", **item}
                yield json.dumps(line, default=str) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    # search, filings, facts -------------------------------------------------------------------

    @app.post("/v1/search", tags=["read"])
    def search(body: SearchRequest, user: Caller) -> list[dict[str, Any]]:
        """Hybrid search (dense + BM25) over the chunks of the filings you may read."""
        from core.records import Query as SearchQuery
        from retrieval.search import CorpusSearch

        api.check_question(body.query)
        api.check_page(body.limit)
        filters = SearchFilters(
            companies=body.companies,
            tickers=body.tickers,
            forms=body.forms,
            fiscal_years=body.fiscal_years,
            doc_ids=body.doc_ids,
            modalities=body.modalities,
        )
        if not user.groups:
            return []
        query = SearchQuery(
            text=body.query, filters=filters, acl_groups=list(user.groups), top_k=body.limit
        )
        return [hit_row(h) for h in CorpusSearch(corpus).search(query)]

    @app.get("/v1/filings", tags=["read"])
    def filings(user: Caller, limit: Limit = None, offset: Offset = 0) -> dict[str, Any]:
        """The catalog rows you may read (pending ones included, with their state)."""
        limit = api.check_page(limit)
        admin = role_of(user, settings) == "admin"
        groups = set(user.groups)
        rows = [r for r in corpus.catalog.export() if groups.intersection(r.get("acl") or [])]
        rows.sort(key=lambda r: (r.get("company") or "", r.get("fiscal_year") or 0, r["doc_id"]))
        page = [
            {k: v for k, v in r.items() if admin or k != "source_path"}
            for r in rows[offset : offset + limit]
        ]
        return {"total": len(rows), "offset": offset, "filings": page}

    @app.delete("/v1/filings/{doc_id}", tags=["admin"])
    def delete_filing(doc_id: str, user: Caller) -> dict[str, str]:
        """Remove a filing: its index points, facts, catalog row and page renders (admins)."""
        require(user, "delete", settings)
        if api.jobs.running() is not None:
            raise JobBusyError("an ingest is running on this corpus; delete when it has finished")
        filing = corpus.catalog.get(doc_id)
        if filing is None:  # admins may delete any filing
            raise HTTPException(404, f"no filing {doc_id}")
        _delete_filing(corpus, filing)
        return {"deleted": doc_id, "file": filing.file_name}

    @app.get("/v1/facts", tags=["read"])
    def facts(
        user: Caller,
        company: Annotated[
            list[str] | None, Query(description="Company name or part of it.")
        ] = None,
        concept: Annotated[list[str] | None, Query(description="e.g. revenue, ppe_net")] = None,
        year: Annotated[list[int] | None, Query(description="Fiscal year.")] = None,
        form: Annotated[list[str] | None, Query(description="Form type.")] = None,
        limit: Limit = None,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Statement facts read at ingest, from the filings you may read."""
        limit = api.check_page(limit)
        found = corpus.facts.query(
            acl_groups=list(user.groups),
            companies=company or None,
            concepts=concept or None,
            fiscal_years=year or None,
        )
        wanted = {f.lower() for f in form or []}
        found = [f for f in found if not wanted or (f.form or "").lower() in wanted]
        return {
            "total": len(found),
            "offset": offset,
            "facts": json.loads(json.dumps(fact_rows(found[offset : offset + limit]), default=str)),
        }

    # memory -----------------------------------------------------------------------------------

    @app.get("/v1/memory", tags=["memory"])
    def memory_list(
        user: Caller,
        state: Literal["approved", "pending", "all"] = "approved",
        company: str | None = None,
        include_retired: bool = False,
        limit: Limit = None,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Memory entries you may read (approved by default)."""
        limit = api.check_page(limit)
        approved = {"approved": True, "pending": False, "all": None}[state]
        entries = api.bank.list(
            approved=approved,
            company=company,
            include_retired=include_retired,
            acl_groups=list(user.groups),
        )
        return {
            "total": len(entries),
            "offset": offset,
            "entries": [e.model_dump(mode="json") for e in entries[offset : offset + limit]],
        }

    @app.post("/v1/memory/probe", tags=["memory"])
    def memory_probe(body: ProbeRequest, user: Caller) -> list[dict[str, Any]]:
        """What the agent would get from the memory bank for this question, as you."""
        api.check_question(body.question)
        api.check_page(body.limit)
        hits = api.bank.search(
            body.question,
            list(user.groups),
            company=body.company,
            period=body.period,
            limit=body.limit,
            include_stale=body.stale,
            approved_only=not body.pending,
        )
        return [h.model_dump(mode="json") for h in hits]

    @app.post("/v1/memory", tags=["memory"], status_code=201)
    def memory_add(body: MemoryIn, user: Caller) -> dict[str, Any]:
        """Add an entry, pending until a curator approves it (curators)."""
        from core.records import Citation
        from retrieval.memory_bank import make_entry

        require(user, "memory.write", settings)
        api.check_question(body.question)
        source = None
        if body.source is not None:
            s = body.source
            source = Citation(doc_id=s.doc_id, file_name=s.file, page_no=s.page, quote=s.quote)
        entry = make_entry(
            body.question,
            body.answer,
            company=body.company,
            period=body.period,
            source=source,
            author=user.name,
            paraphrases=body.paraphrases,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            acl=batch_acl(user, body.acl, settings),
        )
        return api.bank.add(entry).model_dump(mode="json")

    def readable_entry(entry_id: str, user: User):
        entry = api.bank.get(entry_id, list(user.groups))
        if entry is None:
            raise HTTPException(404, f"no memory entry {entry_id} that you may read")
        return entry

    @app.post("/v1/memory/{entry_id}/approve", tags=["memory"])
    def memory_approve(entry_id: str, user: Caller) -> dict[str, Any]:
        """Approve an entry: the agent serves it from now on (curators)."""
        require(user, "memory.write", settings)
        entry = readable_entry(entry_id, user)
        return api.bank.approve(entry.entry_id, approver=user.name).model_dump(mode="json")

    @app.post("/v1/memory/{entry_id}/retire", tags=["memory"])
    def memory_retire(entry_id: str, user: Caller) -> dict[str, Any]:
        """Stop serving an entry but keep it (curators)."""
        require(user, "memory.write", settings)
        entry = readable_entry(entry_id, user)
        return api.bank.retire(entry.entry_id).model_dump(mode="json")

    @app.delete("/v1/memory/{entry_id}", tags=["admin"])
    def memory_remove(entry_id: str, user: Caller) -> dict[str, str]:
        """Delete an entry for good (admins)."""
        require(user, "delete", settings)
        entry = readable_entry(entry_id, user)
        api.bank.remove(entry.entry_id)
        return {"deleted": entry.entry_id}

    # ingest jobs ------------------------------------------------------------------------------

    @app.post("/v1/ingest/jobs", tags=["ingest"], status_code=202)
    def ingest_submit(
        user: Caller,
        files: Annotated[list[UploadFile] | None, File(description="Filings to upload.")] = None,
        path: Annotated[
            list[str], Form(description="Files or folders on the server, inside the ingest roots.")
        ] = None,
        company: Annotated[str | None, Form()] = None,
        ticker: Annotated[str | None, Form()] = None,
        form: Annotated[str | None, Form()] = None,
        fiscal_year: Annotated[int | None, Form()] = None,
        acl: Annotated[
            list[str], Form(description="Groups that may read the batch (default: yours).")
        ] = None,
    ) -> dict[str, Any]:
        """Start ingesting uploads and/or server paths (multipart form); one batch at a time."""
        require(user, "ingest", settings)
        overrides: dict[str, Any] = {
            k: v
            for k, v in (
                ("company", company),
                ("ticker", ticker),
                ("form", form),
                ("fiscal_year", fiscal_year),
            )
            if v not in (None, "")
        }
        overrides["acl"] = batch_acl(user, [g for g in acl or [] if g.strip()], settings)
        paths = [str(_allowed_path(p, settings)) for p in path or [] if p.strip()]
        files = [f for f in files or [] if f.filename]
        if not files and not paths:
            raise HTTPException(422, "nothing to ingest: upload files or name server paths")
        if api.jobs.running() is not None:  # before saving uploads that would not be used
            raise JobBusyError(
                "another ingest is still running on this corpus; poll its status and submit "
                "again when it has finished"
            )
        if files:
            paths += [str(p) for p in _save_uploads(files, settings)]
        job = api.jobs.start(user.name, paths, overrides)
        return job.status()

    def own_job(job_id: str, user: User) -> IngestJob:
        job = api.jobs.get(job_id)
        if job is None or (job.user != user.name and not _all(user)):
            raise HTTPException(404, f"no ingest job {job_id} of yours")
        return job

    @app.get("/v1/ingest/jobs", tags=["ingest"])
    def ingest_jobs(user: Caller) -> list[dict[str, Any]]:
        """Your ingest jobs (an admin's: everyone's), newest first."""
        return [j.status() for j in api.jobs.of(None if _all(user) else user.name)]

    @app.get("/v1/ingest/jobs/{job_id}", tags=["ingest"])
    def ingest_status(job_id: str, user: Caller) -> dict[str, Any]:
        """Progress of one of your jobs: state, files done of total, counts per status."""
        return own_job(job_id, user).status()

    @app.get("/v1/ingest/jobs/{job_id}/report", tags=["ingest"])
    def ingest_report(job_id: str, user: Caller) -> dict[str, Any]:
        """The per-file report so far: status, pages, chunks and the reason for each file."""
        job = own_job(job_id, user)
        return {
            **job.status(),
            "files": [
                {**r.model_dump(mode="json"), "file": Path(r.path).name} for r in list(job.reports)
            ],
        }

    def _all(user: User) -> bool:
        return role_of(user, settings) == "admin"

    app.add_middleware(
        BodyLimit,
        json_bytes=settings.api.max_json_kb * 1024,
        upload_bytes=int(settings.api.max_upload_mb * 1024 * 1024),
    )
    return app


def _errors(app: FastAPI) -> None:
    def status_of(exc: FinragError) -> int:
        if isinstance(exc, AccessError):
            return 403
        if isinstance(exc, JobBusyError):
            return 409
        if isinstance(exc, IndexBackendError):
            return 503
        return 400

    @app.exception_handler(FinragError)
    async def finrag_error(_: Request, exc: FinragError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))


def _allowed_path(given: str, settings: Settings) -> Path:
    """``given`` resolved, if it exists inside one of ``settings.api.ingest_roots``."""
    roots = [r.expanduser().resolve() for r in settings.api.ingest_roots]
    if not roots:
        raise AccessError(
            "ingesting server paths is off; upload the files instead, or have the operator set "
            "FINRAG_API__INGEST_ROOTS to the folders that may be ingested"
        )
    where = Path(given).expanduser().resolve()
    if not any(where.is_relative_to(root) for root in roots):
        raise AccessError(
            f"{given} is outside the ingest roots ({', '.join(str(r) for r in roots)})"
        )
    if not where.exists():
        raise FinragError(f"{given} does not exist on the server; check the path")
    return where


def _save_uploads(files: list[UploadFile], settings: Settings) -> list[Path]:
    """Uploads written under ``data_dir/uploads/api-<id>/``; only the base name is kept, so a
    crafted name cannot write outside it."""
    folder = settings.data_dir / "uploads" / f"api-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for upload in files:
        name = Path(upload.filename or "").name
        if name in ("", ".", ".."):
            raise FinragError("an uploaded file has no name; send a file name with each file")
        target = folder / name
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        saved.append(target)
    return saved


def _delete_filing(corpus: Corpus, filing: Filing) -> None:
    # The Library page's delete (ui.views.library.delete_filing), which imports Streamlit.
    if corpus.index.exists():
        corpus.index.delete_doc(filing.doc_id)
    corpus.facts.delete(filing.doc_id)
    corpus.catalog.delete(filing.doc_id)
    shutil.rmtree(corpus.settings.renders_dir / filing.doc_id, ignore_errors=True)
