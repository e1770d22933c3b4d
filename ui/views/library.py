"""The Library page: add filings to the corpus, watch them ingest, and manage the catalog.

Contract: ingestion writes into the app's open corpus (:func:`ui.corpus.app_corpus`, one per corpus
per server process: an embedded index can be opened by one object per process). One
:class:`IngestJob` runs at a time per corpus, in a background thread, and lives in the app's job
registry (:mod:`ui.background`), so every session sees it and a rerun (or a closed tab) does not
lose it. While it runs, a fragment redraws a real progress bar and the per-file report every
:data:`~ui.background.POLL_SECONDS`; when it ends the whole page reruns once so the catalog table
shows the new filings.

Files come from an upload (stored as ``uploads/<owner>/<sha256>.<ext>``, never overwriting, the
original name kept as the catalog's ``file_name``) or a file or folder on the server inside
``settings.allowed_roots`` (in ``uploads``, only the user's own folder); the batch caps and "no
supported files" are checked before the job starts. Optional overrides (company, ticker, form,
fiscal year, ACL groups) apply to the whole batch. A batch is readable by the uploader's groups
unless they name a subset; naming a group they are not in is refused. The catalog lists only
filings the user's groups may read, and a running batch shows its files to the user who started
it only. Each catalog row can be deleted (index
points, catalog row and page renders) or re-ingested from its source path with the overrides it
was ingested with. Every failure is an ``st.error`` message, never a traceback.

Roles (:mod:`core.roles`): everyone sees the catalog of what their groups may read and may ingest
into their own groups; an admin may ingest for any group, and only an admin may delete, re-ingest
or re-share (change the ACL of) a filing. Those buttons stay enabled for everyone (with a hint)
and the role is checked on the server when one is pressed, so a refused attempt gets a message;
every attempt, allowed or refused, is recorded in the corpus's audit log
(:attr:`retrieval.corpus.Corpus.audit`).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from core.errors import AccessError, FinragError
from core.records import FileReport, Filing
from core.roles import require
from core.settings import Settings
from ui import background
from ui.corpus import app_corpus
from ui.identity import User, current_user

if TYPE_CHECKING:
    from retrieval.corpus import Corpus

log = logging.getLogger(__name__)

UPLOAD_TYPES = ["pdf", "html", "htm", "docx", "xlsx"]
OK_STATES = ("ok", "partial")
KIND = "ingest"  # the job registry's kind of these jobs; their key is the resolved data_dir


@dataclass
class IngestJob(background.Job):
    """One batch running (or finished) in a background thread; read by every session."""

    paths: list[str]
    overrides: dict[str, Any]
    total: int = 0
    reports: list[FileReport] = field(default_factory=list)

    @property
    def done(self) -> int:
        return len(self.reports)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for report in list(self.reports):
            out[report.status] = out.get(report.status, 0) + 1
        return out


def _latest(key: str) -> IngestJob | None:
    job = background.latest(KIND, key)
    return job if isinstance(job, IngestJob) else None


def start_job(
    settings: Settings,
    corpus: Corpus,
    paths: list[str],
    overrides: dict[str, Any],
    label: str,
    user: str = "",
    groups: list[str] | None = None,
    names: dict[str, str] | None = None,
) -> IngestJob:
    """Start ingesting ``paths`` into ``corpus`` in a background thread.

    ``user`` is recorded as each new filing's ``added_by``; ``groups`` are what the user may read
    (a duplicate of a filing outside them is refused; default: the batch's ACL, a subset of the
    user's groups). ``names`` maps a stored upload's path to the name its owner gave it.

    Raises:
        FinragError: another batch is still running on this corpus, the batch is over the caps
            (``ingest.max_batch_files`` / ``max_batch_gb``), or it holds no supported file.
    """
    from ingest.pipeline import Ingestor, Requester, collect_files

    job = IngestJob(paths=paths, overrides=overrides, label=label, user=user)
    readable = groups if groups is not None else list(overrides.get("acl") or [])
    requester = Requester(name=user or settings.users.default_user, groups=readable)
    limits = settings.ingest

    def count() -> None:
        files, problems = collect_files(
            paths,
            follow_symlinks=limits.follow_symlinks,
            max_files=limits.max_batch_files,
            max_bytes=limits.max_batch_gb * 2**30,
        )
        if not files:
            why = "; ".join(f"{Path(p.path).name}: {p.reason}" for p in problems[:3])
            raise FinragError(f"nothing to ingest ({why or 'no files'})")
        job.total = len(files) + len(problems)

    def progress(report: FileReport, done: int, total: int) -> None:
        job.total = max(job.total, total)
        job.reports.append(report)

    def work() -> None:
        Ingestor(corpus).ingest(
            job.paths, job.overrides, progress=progress, requester=requester, names=names
        )

    return background.start(
        KIND,
        str(settings.data_dir.resolve()),
        job,
        work,
        what=f"ingest of {job.paths}",
        busy="another ingest is still running on this corpus; wait for it to finish",
        prepare=count,
    )


def save_uploads(files: list, uploads_dir: Path, owner: str) -> dict[str, str]:
    """Store uploaded files (``.name``, ``.getbuffer()``) as ``uploads_dir/<owner>/<sha256>.<ext>``
    (:func:`ingest.sources.save_upload`): nothing is ever overwritten, and a crafted name cannot
    choose where the file goes. Returns stored path -> the name the user gave it."""
    from ingest.sources import save_upload

    return {
        str(save_upload(bytes(upload.getbuffer()), upload.name, uploads_dir, owner)): Path(
            upload.name
        ).name
        for upload in files
    }


def parse_overrides(company: str, ticker: str, form: str, year: str, acl: str) -> dict[str, Any]:
    """The overrides the form names; blanks are left out, ACL groups are comma-separated."""
    out: dict[str, Any] = {}
    for key, value in (("company", company), ("ticker", ticker), ("form", form)):
        if value.strip():
            out[key] = value.strip()
    if year.strip():
        try:
            out["fiscal_year"] = int(year.strip())
        except ValueError:
            raise FinragError(
                f"fiscal year {year!r} is not a year; enter e.g. 2023 or leave it blank"
            ) from None
    groups = [g.strip() for g in acl.split(",") if g.strip()]
    if groups:
        out["acl"] = groups
    return out


def acl_for_batch(user: User, groups: list[str] | None) -> list[str]:
    """The ACL of a batch: the named groups, or all of the uploader's; never a group they lack,
    unless they are an admin (who may ingest for any group)."""
    if not groups:
        if not user.groups:
            raise FinragError(
                f"{user.name} belongs to no ACL group, so nothing they add could be read"
            )
        return list(user.groups)
    foreign = user.foreign_groups(groups)
    if foreign and not user.can("ingest.any-group"):
        raise AccessError(
            f"you can only share filings with your own groups ({', '.join(user.groups)}); "
            f"not {', '.join(foreign)} (an admin may ingest for any group)"
        )
    return list(groups)


def delete_filing(corpus: Corpus, doc_id: str) -> None:
    """Remove a filing: its index points, its catalog row and its page renders."""
    if corpus.index.exists():
        corpus.index.delete_doc(doc_id)
    corpus.facts.delete(doc_id)
    corpus.catalog.delete(doc_id)
    shutil.rmtree(corpus.settings.renders_dir / doc_id, ignore_errors=True)


def reingest_overrides(filing: Filing) -> dict[str, Any]:
    """The overrides ``filing`` was ingested with (fields whose source was an override) and its
    ACL."""
    out: dict[str, Any] = {
        key: getattr(filing, key)
        for key, source in filing.metadata_source.items()
        if source == "override" and hasattr(filing, key)
    }
    out["acl"] = list(filing.acl)
    out["file_name"] = filing.file_name
    return out


# --- page ----------------------------------------------------------------------------------------


def render() -> None:
    """Draw the Library page."""
    try:
        settings = Settings()
        user = current_user(settings)

        corpus = app_corpus(settings)
    except FinragError as exc:
        st.error(str(exc))
        return
    key = str(settings.data_dir.resolve())
    background.mark_seen(_latest(key), "library_seen")  # this full run draws the catalog after it

    st.title("Library")
    st.caption(f"Corpus: `{settings.data_dir}`")
    busy = background.running(KIND, key) is not None
    _add_form(settings, corpus, user, busy)
    _job_fragment(key, user.name)
    st.divider()
    _catalog(settings, corpus, user, busy)


def _add_form(settings: Settings, corpus: Corpus, user: User, busy: bool) -> None:
    st.subheader("Add filings")
    uploads = st.file_uploader(
        "Upload filings", type=UPLOAD_TYPES, accept_multiple_files=True, key="library_uploads"
    )
    roots = ", ".join(str(r) for r in settings.allowed_roots)
    folder = st.text_input(
        "…or a file or folder on the server",
        key="library_folder",
        placeholder=str(settings.samples_dir),
        help=f"Only inside {roots} (FINRAG_INGEST__ALLOWED_ROOTS); links are not followed.",
    )
    with st.expander("Overrides (apply to every file of this batch)"):
        cols = st.columns(5)
        company = cols[0].text_input("Company", key="library_company")
        ticker = cols[1].text_input("Ticker", key="library_ticker")
        form = cols[2].text_input("Form", key="library_form", placeholder="10-K")
        year = cols[3].text_input("Fiscal year", key="library_year", placeholder="2023")
        acl = cols[4].text_input(
            "ACL groups", key="library_acl", placeholder=", ".join(user.groups)
        )
    if not st.button("Ingest", type="primary", icon=":material/upload_file:", disabled=busy):
        return
    try:
        overrides = parse_overrides(company, ticker, form, year, acl)
        overrides["acl"] = acl_for_batch(user, overrides.get("acl"))
        paths: list[str] = []
        names: dict[str, str] = {}
        if uploads:
            names = save_uploads(uploads, settings.uploads_dir, user.name)
            paths += list(names)
        if folder.strip():
            from ingest.sources import resolve_server_path

            paths.append(str(resolve_server_path(folder, settings, user.name)))
        if not paths:
            raise FinragError("nothing to ingest: upload files or enter a folder path")
        start_job(
            settings,
            corpus,
            paths,
            overrides,
            label=", ".join(names.get(p, Path(p).name) for p in paths),
            user=user.name,
            groups=list(user.groups),
            names=names,
        )
    except FinragError as exc:
        _audit_ingest(corpus, user, uploads, folder, exc)
        st.error(str(exc))
        return
    except OSError as exc:
        _audit_ingest(corpus, user, uploads, folder, exc)
        st.error(f"Could not save the uploads under {settings.data_dir / 'uploads'}: {exc}")
        return
    _audit_ingest(corpus, user, uploads, folder, None, overrides["acl"])
    st.rerun()


def _audit_ingest(
    corpus: Corpus,
    user: User,
    uploads: list | None,
    folder: str,
    error: Exception | None,
    acl: list[str] | None = None,
) -> None:
    """Record an ingest attempt: its files or folder, and ok (with the ACL) / refused / failed."""
    named = ", ".join(
        [u.name for u in uploads or []] + ([folder.strip()] if folder.strip() else [])
    )
    if error is None:
        corpus.audit.record(user, "ingest", named, "ok", f"acl {', '.join(acl or [])}")
    else:
        outcome = "refused" if isinstance(error, AccessError) else "failed"
        corpus.audit.record(user, "ingest", named or "(nothing)", outcome, str(error))


def _job_fragment(key: str, user: str) -> None:
    job = _latest(key)
    if job is None:
        return
    if job.user != user:
        if not job.finished:
            st.info("Another user's ingest is running on this corpus; adding files waits for it.")
        return
    background.poll(_show_job, key, running=not job.finished)


def _show_job(key: str) -> None:
    job = _latest(key)
    if job is None:
        return
    # the catalog table below is outside this fragment
    background.rerun_once_ended(job, "library_seen")
    st.subheader("Ingest")
    total = max(job.total, job.done, 1)
    label = f"{job.done} of {job.total} files: {job.label}"
    st.progress(min(job.done / total, 1.0), text=label)
    if job.error:
        st.error(f"Ingest stopped: {job.error}")
    elif job.finished:
        summary = ", ".join(f"{n} {status}" for status, n in sorted(job.counts().items()))
        ok = all(r.status in (*OK_STATES, "skipped-duplicate") for r in job.reports)
        (st.success if ok else st.warning)(f"Ingest finished in {job.seconds:.1f} s: {summary}")
    if job.reports:
        st.dataframe(
            [
                {
                    "file": Path(r.path).name,
                    "status": r.status,
                    "pages": r.pages,
                    "chunks": r.chunks,
                    "seconds": round(r.seconds, 1),
                    "note": r.reason,
                }
                for r in list(job.reports)
            ],
            hide_index=True,
            width="stretch",
        )


def _catalog(settings: Settings, corpus: Corpus, user: User, busy: bool) -> None:
    st.subheader("Catalog")
    try:
        rows = corpus.catalog.export()
    except Exception as exc:
        log.exception("reading the catalog failed")
        st.error(f"Could not read the catalog {settings.catalog_path}: {exc}")
        return
    groups = set(user.groups)
    filings = sorted(
        (
            f
            for f in (
                Filing.model_validate(
                    {k: v for k, v in r.items() if k not in ("state", "updated_at")}
                )
                for r in rows
            )
            if groups.intersection(f.acl)
        ),
        key=lambda f: (f.company or "", f.fiscal_year or 0, f.form or "", f.file_name),
    )
    if not filings:
        st.info("No filings you may read yet: upload some or enter a folder above, then Ingest.")
        return
    states = {r["doc_id"]: r["state"] for r in rows}
    st.dataframe(
        [
            {
                "company": f.company,
                "ticker": f.ticker,
                "form": f.form,
                "FY/period": " ".join(str(x) for x in (f.fiscal_year, f.fiscal_period) if x),
                "period end": f.period_end,
                "pages": f.page_count,
                "chunks": f.chunk_count,
                "state": states[f.doc_id],
                "ingested at": f.ingested_at,
                "file": f.file_name,
            }
            for f in filings
        ],
        hide_index=True,
        width="stretch",
    )
    by_id = {f.doc_id: f for f in filings}
    chosen = st.selectbox(
        "Filing",
        list(by_id),
        key="library_filing",
        format_func=lambda d: (
            f"{by_id[d].file_name} ({by_id[d].company or '?'}, "
            f"{by_id[d].form or '?'} {by_id[d].fiscal_year or ''})"
        ),
    )
    if chosen is None:
        return
    admin = user.can("filing.delete")
    # Not disabled for others: Streamlit would drop their clicks silently, and a refused attempt
    # is worth a message and an audit line.
    why = None if admin else "Deleting, re-ingesting and re-sharing filings needs the admin role"
    left, right = st.columns(2)
    delete = left.button(
        "Delete",
        icon=":material/delete:",
        disabled=busy,
        key="library_delete",
        help=why,
    )
    again = right.button(
        "Re-ingest",
        icon=":material/refresh:",
        disabled=busy,
        key="library_reingest",
        help=why,
    )
    _acl_form(corpus, user, by_id[chosen], busy, why)
    if not (delete or again):
        return
    filing = by_id[chosen]
    action = "filing.reingest" if again else "filing.delete"
    try:
        # the role is checked here too: a disabled button is a hint, not a guard
        with corpus.audit.attempt(user, action, f"{filing.doc_id} ({filing.file_name})"):
            require(user, action, "re-ingesting a filing" if again else "deleting a filing")
            _delete_or_reingest(settings, corpus, user, filing, again)
    except FinragError as exc:
        st.error(str(exc))
        return
    except Exception as exc:
        log.exception("deleting %s failed", filing.doc_id)
        st.error(
            f"Could not delete {filing.file_name} ({type(exc).__name__}: {exc}); "
            "see the server log."
        )
        return
    st.session_state.pop("library_filing", None)
    st.rerun()


def _acl_form(corpus: Corpus, user: User, filing: Filing, disabled: bool, why: str | None) -> None:
    """An admin re-shares the chosen filing: its index points, facts and catalog row."""
    cols = st.columns([4, 1], vertical_alignment="bottom")
    groups = cols[0].text_input(
        "Readable by (ACL groups, comma-separated)",
        value=", ".join(filing.acl),
        key=f"library_acl_{filing.doc_id}",
        disabled=disabled,
        help=why,
    )
    if not cols[1].button(
        "Change ACL", icon=":material/share:", disabled=disabled, key="library_set_acl", help=why
    ):
        return
    wanted = [g.strip() for g in groups.split(",") if g.strip()]
    try:
        with corpus.audit.attempt(user, "filing.acl", filing.doc_id) as attempt:
            require(user, "filing.acl", "changing a filing's ACL")
            done = corpus.set_acl(filing.doc_id, wanted)
            attempt.reason = f"{', '.join(filing.acl)} -> {', '.join(done.acl)}"
    except FinragError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _delete_or_reingest(
    settings: Settings, corpus: Corpus, user: User, filing: Filing, again: bool
) -> None:
    """Delete ``filing``; with ``again``, ingest its source file anew with its overrides."""
    if again and not Path(filing.source_path).exists():
        raise FinragError(
            f"the source file {filing.source_path} no longer exists; upload it again instead"
        )
    delete_filing(corpus, filing.doc_id)
    if again:
        start_job(
            settings,
            corpus,
            [filing.source_path],
            reingest_overrides(filing),
            filing.file_name,
            user=user.name,
        )
