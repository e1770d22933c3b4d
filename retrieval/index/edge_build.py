"""The child process of an edge background build: load a shard copy, build its indexes, close.

Contract: ``python -m retrieval.index.edge_build <shard folder>`` opens the copy that
:meth:`~retrieval.index.edge.EdgeEngine.start_optimize` made, runs ``EdgeShard.optimize`` (HNSW
graphs, int8 quantized vectors, payload indexes as the shard's config asks) and flushes; exit 0
when done. It runs in its own process because the binding holds the GIL while it builds.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import qdrant_edge as qe

    (path,) = argv if argv is not None else sys.argv[1:]
    shard = qe.EdgeShard.load(path, None)
    shard.optimize()
    shard.flush()
    shard.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
