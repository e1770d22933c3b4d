"""The HTTP API's ingest jobs: one at a time per corpus, and a shutdown that does not cut a file."""

from __future__ import annotations

import pytest

from ui.api.jobs import IngestJobs, JobBusyError


def test_stop_ends_the_batch_after_its_current_file(settings, open_corpus, sample_folder):
    settings.ingest.workers = 1
    jobs = IngestJobs(open_corpus(settings))
    job = jobs.start("cat", [str(sample_folder)], {"acl": ["public"]})
    assert job.total == 3
    with pytest.raises(JobBusyError, match="still running"):
        jobs.start("cat", [str(sample_folder)], {})
    assert jobs.stop(timeout=120) is None
    assert job.finished and "server stopped" in (job.error or "")
    assert 1 <= len(job.reports) < 3 and job.status()["state"] == "failed"
    with pytest.raises(JobBusyError, match="stopping"):
        jobs.start("cat", [str(sample_folder)], {})
    catalog = jobs.corpus.catalog
    assert not catalog.pending()  # nothing left half-ingested
    assert len(catalog.filings()) == len(job.reports)
