"""The app's job registry without a page: start semantics, outcomes, and lookups per (kind, key)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

import pytest

from core.errors import FinragError
from ui import background

TIMEOUT_S = 10


@dataclass
class CountJob(background.Job):
    count: int = 0


@pytest.fixture
def kind() -> str:
    """A kind of its own per test: the registry lives as long as the process."""
    return f"test-{uuid.uuid4().hex[:8]}"


def _wait(job: background.Job) -> None:
    for _ in range(TIMEOUT_S * 100):
        if job.finished:
            return
        time.sleep(0.01)
    raise AssertionError("the job did not finish in time")


def test_a_job_runs_in_a_named_daemon_thread_and_records_its_outcome(kind):
    seen: dict = {}

    def work() -> None:
        thread = threading.current_thread()
        seen["thread"] = (thread.name, thread.daemon)
        job.count = 3

    job = CountJob(user="ann", label="three")
    assert background.start(kind, "a", job, work, what="counting", busy="busy") is job
    _wait(job)
    assert seen["thread"] == (f"{kind}-{job.id}", True)
    assert (job.count, job.error, job.finished) == (3, None, True)
    assert job.seconds is not None and job.elapsed == job.seconds
    assert background.latest(kind, "a") is job
    assert background.latest(kind, "b") is None
    assert background.running(kind) is None


def test_failures_become_messages(kind, caplog):
    def refuse() -> None:
        raise FinragError("the set has no questions")

    def crash() -> None:
        raise KeyError("doc")

    refused, crashed = CountJob(), CountJob()
    background.start(kind, "a", refused, refuse, what="refusing", busy="busy")
    with caplog.at_level(logging.ERROR, logger="ui.background"):
        background.start(kind, "b", crashed, crash, what="crashing", busy="busy")
        _wait(crashed)
    _wait(refused)
    assert refused.error == "the set has no questions"
    assert crashed.error == "Unexpected error (KeyError: 'doc'); see the server log."
    assert "crashing failed" in caplog.text


def test_one_running_job_per_key(kind):
    release = threading.Event()
    first = CountJob()
    background.start(kind, "a", first, release.wait, what="waiting", busy="busy")
    try:
        with pytest.raises(FinragError, match="^a is busy$"):
            background.start(kind, "a", CountJob(), lambda: None, what="second", busy="a is busy")
        other = background.start(kind, "b", CountJob(), lambda: None, what="other", busy="busy")
        _wait(other)  # another key runs alongside
        with pytest.raises(FinragError, match="^one at a time$"):
            background.start(
                kind,
                "c",
                CountJob(),
                lambda: None,
                what="c",
                busy="one at a time",
                across_keys=True,
            )
        assert background.running(kind, "a") is first and background.running(kind) is first
        assert background.latest(kind, "a") is first  # a refused start replaces nothing
    finally:
        release.set()
    _wait(first)
    again = background.start(kind, "a", CountJob(), lambda: None, what="again", busy="busy")
    assert background.latest(kind, "a") is again


def test_prepare_runs_before_the_job_is_registered(kind):
    def prepare() -> None:
        assert background.latest(kind, "a") is None
        job.count = 1

    job = CountJob()
    background.start(kind, "a", job, lambda: None, what="prepared", busy="busy", prepare=prepare)
    _wait(job)
    assert job.count == 1

    def broken() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        background.start(kind, "b", CountJob(), lambda: None, what="b", busy="busy", prepare=broken)
    assert background.latest(kind, "b") is None  # nothing left behind to block the next start
