"""Corpus files → passages: readers, splitting, heuristic classification and the importer."""

from curator.corpus.classify import Classification, classify
from curator.corpus.importer import ImportReport, import_paths
from curator.corpus.readers import CorpusError
from curator.corpus.split import Span, passages, split_text

__all__ = ["classify", "Classification", "import_paths", "ImportReport", "CorpusError", "Span", "passages", "split_text"]
