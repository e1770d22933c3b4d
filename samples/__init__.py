"""Generated filings: the bundled sample corpus (:mod:`samples.filings`) and the general financial
corpus the reranker's general fine-tuning stage trains on (:mod:`samples.general`)."""
