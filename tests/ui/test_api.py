"""The HTTP API on a real uvicorn server on a loopback port, over the bundled sample filings.

Contoso's 10-K is readable by the finance group only: ann (public) must never see it through any
route, bob (public + finance) does. cat is a curator and root an admin (settings.api).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from core.errors import ConfigError
from core.settings import ApiSettings, Settings, UsersSettings
from tests.fixtures.corpora import ingest_into
from ui.cli_serve import check_exposure

Q_2023 = "What was Northwind Robotics' total revenue in fiscal 2023?"
Q_CONTOSO = "How much did Contoso Foods spend on capital expenditures in fiscal 2024?"
GROUPS = {"ann": ["public"], "bob": ["public", "finance"], "cat": ["public"], "root": ["public"]}
KEYS = {"k-ann": "ann", "k-bob": "bob", "k-cat": "cat", "k-root": "root"}
ANN, BOB, CAT, ROOT = ({"X-API-Key": k} for k in KEYS)
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_cache, sample_folder):
    """A server over the samples (Contoso finance-only) on a free loopback port; its base URL."""
    import uvicorn

    from agent.graph import Agent
    from retrieval.corpus import Corpus
    from ui.api.app import create_app

    data_dir = tmp_path_factory.mktemp("api")
    public, finance, roots = data_dir / "public", data_dir / "finance", data_dir / "roots"
    for folder in (public, finance, roots):
        folder.mkdir()
    for pdf in Path(sample_folder).glob("*.pdf"):
        shutil.copy(pdf, (finance if "contoso" in pdf.name else public) / pdf.name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_CONFIG", str(data_dir / "absent.toml"))
        settings = Settings(
            data_dir=data_dir,
            model_cache=model_cache,
            users=UsersSettings(groups=GROUPS),
            api=ApiSettings(
                keys=KEYS,
                curators=["cat"],
                admins=["root"],
                ingest_roots=[roots],
                max_json_kb=16,
                max_upload_mb=1,
                max_question_chars=500,
                max_page_size=50,
            ),
        )
        settings.ingest.workers = 1
        assert ingest_into([public], settings).count("ok") == 2
        assert ingest_into([finance], settings, overrides={"acl": ["finance"]}).count("ok") == 1
        with Corpus.open(settings) as corpus, Agent(corpus) as agent:
            app = create_app(settings, corpus, agent)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
            thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            deadline = time.monotonic() + TIMEOUT_S
            while not uv.started:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
            yield {"url": f"http://127.0.0.1:{port}", "roots": roots, "settings": settings}
            uv.should_exit = True
            thread.join(TIMEOUT_S)
            sock.close()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server["url"], timeout=TIMEOUT_S) as c:
        yield c


def _files(client, headers) -> list[str]:
    response = client.get("/v1/filings", headers=headers)
    assert response.status_code == 200, response.text
    return [f["file_name"] for f in response.json()["filings"]]


def test_refused_without_a_key_or_with_a_wrong_one(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    for headers in ({}, {"X-API-Key": "nope"}, {"Authorization": "Bearer nope"}):
        response = client.get("/v1/filings", headers=headers)
        assert response.status_code == 401, response.text
        assert "key" in response.json()["detail"]
    assert client.get("/v1/me", headers={"Authorization": "Bearer k-bob"}).json() == {
        "name": "bob",
        "groups": ["public", "finance"],
        "role": "reader",
    }


def test_each_user_reads_with_their_groups_only(client):
    assert sorted(_files(client, ANN)) == ["northwind_2023_10k.pdf", "northwind_2024q2_10q.pdf"]
    assert "contoso_fy2024_10k.pdf" in _files(client, BOB)
    assert "source_path" not in client.get("/v1/filings", headers=ANN).json()["filings"][0]

    body = {"query": "Contoso Foods capital expenditures", "limit": 10}
    ann = client.post("/v1/search", json=body, headers=ANN).json()
    bob = client.post("/v1/search", json=body, headers=BOB).json()
    assert ann and not any("contoso" in h["file"] for h in ann)
    assert any("contoso" in h["file"] for h in bob)
    assert {"rank", "score", "file", "page", "text", "chunk_id"} <= set(bob[0])
    # Naming the hidden filing does not reveal it either.
    contoso = next(h["doc_id"] for h in bob if "contoso" in h["file"])
    hidden = client.post("/v1/search", json={**body, "doc_ids": [contoso]}, headers=ANN)
    assert hidden.json() == []

    params = {"company": "contoso"}
    assert client.get("/v1/facts", params=params, headers=ANN).json()["total"] == 0
    facts = client.get("/v1/facts", params=params, headers=BOB).json()
    assert facts["total"] > 0 and facts["facts"][0]["file_name"] == "contoso_fy2024_10k.pdf"
    rows = client.get(
        "/v1/facts",
        params={"company": "northwind", "concept": "revenue", "year": 2023},
        headers=ANN,
    ).json()["facts"]
    assert rows and all(r["concept"] == "revenue" and r["fiscal_year"] == 2023 for r in rows)


def test_ask_answers_with_citations_and_streams_progress(client):
    response = client.post("/v1/ask", json={"question": Q_2023, "thread": "t1"}, headers=ANN)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert not reply["abstained"] and "2,255.4" in reply["answer"]
    assert reply["citations"][0]["file"] == "northwind_2023_10k.pdf"
    assert reply["citations"][0]["page"] == 6
    assert reply["thread"] == "t1" and "calculations" in reply and reply["timings_ms"]

    with client.stream(
        "POST", "/v1/ask/stream", json={"question": Q_CONTOSO}, headers=BOB
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    progress = [x for x in lines if x["event"] == "progress"]
    assert len({p["step"] for p in progress}) >= 3 and all(p["detail"] for p in progress)
    assert lines[-1]["event"] == "answer"
    assert lines[-1]["citations"][0]["file"] == "contoso_fy2024_10k.pdf"

    # ann asking the same never gets Contoso's finance-only filing.
    ann = client.post("/v1/ask", json={"question": Q_CONTOSO}, headers=ANN).json()
    assert not any("contoso" in c["file"] for c in ann["citations"])


def test_concurrent_asks_on_one_agent(client, server):
    results: list[httpx.Response] = []

    def ask(n: int) -> None:
        with httpx.Client(base_url=server["url"], timeout=TIMEOUT_S) as c:
            results.append(
                c.post("/v1/ask", json={"question": Q_2023, "thread": f"c{n}"}, headers=BOB)
            )

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S)
    assert len(results) == 6
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert all(r.json()["citations"][0]["page"] == 6 for r in results)


def test_size_limits_answer_413_or_422_with_a_message(client):
    long = client.post("/v1/ask", json={"question": "x" * 501}, headers=ANN)
    assert long.status_code == 422 and "FINRAG_API__MAX_QUESTION_CHARS" in long.json()["detail"]

    page = client.post("/v1/search", json={"query": "revenue", "limit": 51}, headers=ANN)
    assert page.status_code == 422 and "MAX_PAGE_SIZE" in page.json()["detail"]
    page = client.get("/v1/filings", params={"limit": 500}, headers=ANN)
    assert page.status_code == 422

    big = {"query": "revenue", "companies": ["y" * 1000] * 20}
    response = client.post("/v1/search", json=big, headers=ANN)
    assert response.status_code == 413
    assert "FINRAG_API__MAX_JSON_KB" in response.json()["detail"]

    # A body without a length (chunked) is counted as it arrives.
    def chunks():
        yield b'{"query": "revenue", "companies": ['
        for _ in range(40):
            yield b'"' + b"z" * 1000 + b'",'
        yield b'"z"]}'

    response = client.post(
        "/v1/search",
        content=chunks(),
        headers={**ANN, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text

    upload = {"files": ("big.pdf", b"%PDF-1.7\n" + b"0" * (1_100_000), "application/pdf")}
    response = client.post("/v1/ingest/jobs", files=upload, headers=CAT)
    assert response.status_code == 413 and "MAX_UPLOAD_MB" in response.json()["detail"]


def _tiny_filing(path: Path, product: str = "cordless drills") -> Path:
    from samples.filings import write_pdf_from_html

    html = (
        "<h1>Fabrikam Tools, Inc.</h1><p>Form 10-K for the fiscal year ended December 31, 2023."
        f"</p><h2>Item 1. Business</h2><p>Fabrikam Tools designs {product} for builders.</p>"
    )
    return write_pdf_from_html(html, path, "Fabrikam Tools, Inc. | 2023 Form 10-K")


def _wait(client, job_id: str, headers) -> dict:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        status = client.get(f"/v1/ingest/jobs/{job_id}", headers=headers).json()
        if status["state"] != "running":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def test_ingest_job_submit_status_report(client, server, tmp_path):
    pdf = _tiny_filing(tmp_path / "fabrikam_2023_10k.pdf")
    upload = {"files": (pdf.name, pdf.read_bytes(), "application/pdf")}

    refused = client.post("/v1/ingest/jobs", files=upload, headers=ANN)  # a reader
    assert refused.status_code == 403 and "curator" in refused.json()["detail"]
    foreign = client.post("/v1/ingest/jobs", files=upload, data={"acl": "finance"}, headers=CAT)
    assert foreign.status_code == 403 and "own groups" in foreign.json()["detail"]
    outside = client.post("/v1/ingest/jobs", data={"path": str(tmp_path)}, headers=CAT)
    assert outside.status_code == 403 and "outside the ingest roots" in outside.json()["detail"]

    response = client.post(
        "/v1/ingest/jobs", files=upload, data={"company": "Fabrikam Tools, Inc."}, headers=CAT
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "running" and job["total"] == 1 and job["acl"] == ["public"]
    status = _wait(client, job["id"], CAT)
    assert status["state"] == "finished" and status["counts"] == {"ok": 1}, status
    report = client.get(f"/v1/ingest/jobs/{job['id']}/report", headers=CAT).json()
    assert [(f["file"], f["status"]) for f in report["files"]] == [(pdf.name, "ok")]
    assert report["files"][0]["chunks"] > 0
    assert client.get(f"/v1/ingest/jobs/{job['id']}", headers=BOB).status_code == 404
    assert [j["id"] for j in client.get("/v1/ingest/jobs", headers=CAT).json()][0] == job["id"]
    assert pdf.name in _files(client, ANN)

    # A server path inside the roots, shared with finance by an admin.
    inside = server["roots"] / "finance_only.pdf"
    _tiny_filing(inside, "laser levels")  # other content: a duplicate is never re-shared
    response = client.post(
        "/v1/ingest/jobs", data={"path": str(inside), "acl": "finance"}, headers=ROOT
    )
    assert response.status_code == 202, response.text
    assert _wait(client, response.json()["id"], ROOT)["counts"] == {"ok": 1}
    assert inside.name not in _files(client, ANN)
    assert inside.name in _files(client, BOB)

    # Deleting takes an admin.
    doc_id = next(
        f["doc_id"]
        for f in client.get("/v1/filings", headers=BOB).json()["filings"]
        if f["file_name"] == inside.name
    )
    assert client.delete(f"/v1/filings/{doc_id}", headers=CAT).status_code == 403
    assert client.delete(f"/v1/filings/{doc_id}", headers=ROOT).status_code == 200
    assert inside.name not in _files(client, BOB)


def test_memory_reads_for_readers_writes_for_curators(client):
    entry = {
        "question": "What does Northwind Robotics make?",
        "answer": "Warehouse robots.",
        "company": "Northwind Robotics, Inc.",
    }
    assert client.post("/v1/memory", json=entry, headers=ANN).status_code == 403
    added = client.post("/v1/memory", json=entry, headers=CAT)
    assert added.status_code == 201, added.text
    entry_id = added.json()["entry_id"]
    assert added.json()["author"] == "cat" and not added.json()["approved"]
    assert client.get("/v1/memory", headers=ANN).json()["total"] == 0  # pending
    approve = client.post(f"/v1/memory/{entry_id}/approve", headers=CAT)
    assert approve.status_code == 200 and approve.json()["approved_by"] == "cat"
    listed = client.get("/v1/memory", headers=ANN).json()
    assert [e["entry_id"] for e in listed["entries"]] == [entry_id]
    probe = client.post(
        "/v1/memory/probe", json={"question": "What does Northwind Robotics make?"}, headers=ANN
    )
    assert probe.status_code == 200 and probe.json()[0]["entry"]["entry_id"] == entry_id
    assert client.delete(f"/v1/memory/{entry_id}", headers=CAT).status_code == 403
    assert client.delete(f"/v1/memory/{entry_id}", headers=ROOT).status_code == 200
    assert client.get("/v1/memory", headers=ANN).json()["total"] == 0


def test_openapi_schema_and_docs(client):
    schema = client.get("/openapi.json").json()
    for path in ("/v1/ask", "/v1/ask/stream", "/v1/search", "/v1/filings", "/v1/facts"):
        assert path in schema["paths"], path
    assert "/v1/ingest/jobs/{job_id}/report" in schema["paths"]
    assert "swagger" in client.get("/docs").text.lower()


def test_keyless_serving_stays_on_loopback(settings):
    check_exposure(settings, "127.0.0.1")
    with pytest.raises(ConfigError, match="FINRAG_API__KEYS"):
        check_exposure(settings, "0.0.0.0")
    settings.api.keys = {"k": "alice"}
    check_exposure(settings, "0.0.0.0")


def test_serve_stops_cleanly_on_sigterm(settings, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "FINRAG_DATA_DIR": str(settings.data_dir),
        "FINRAG_MODEL_CACHE": str(settings.model_cache),
        "FINRAG_CONFIG": str(tmp_path / "absent.toml"),
        "FINRAG_API__KEYS": json.dumps({"k1": "alice"}),
    }
    cmd = [sys.executable, "-m", "ui.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "finrag serve did not start"
            time.sleep(0.2)
        me = httpx.get(f"http://127.0.0.1:{port}/v1/me", headers={"X-API-Key": "k1"})
        assert me.json()["name"] == "alice"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT_S) == 0
        assert "finrag API stopped" in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
