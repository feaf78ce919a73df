"""Corpus files → passages: readers, splitting, heuristic classification and the importer.

The importer (`curator.corpus.importer`) is not imported here: worker processes that only classify
import this package, and should not pay for the store.
"""

from curator.corpus.classify import Classification, classify
from curator.corpus.readers import CorpusError
from curator.corpus.split import Span, passages, split_text

__all__ = ["classify", "Classification", "CorpusError", "Span", "passages", "split_text"]
