"""Reranker training data: LLM-free synthetic queries, hard negatives and the versioned dataset.

* :mod:`finetune.synthetic` mines queries from a filing's own tables, headings and
  sentences; each query's positive is the chunk it came from.
* :mod:`finetune.negatives` mines hard negatives from the index, never a true positive.
* :mod:`finetune.dataset` gathers feedback, memory, evaluation and synthetic examples,
  deduplicates them, splits them by filing and writes a versioned folder.
"""
