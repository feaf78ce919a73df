"""The SQLite store (see `store.Store`), its schema migrations and the predicates over its rows."""

from curator.store.base import StoreBusy, StoreError
from curator.store.corpus import SourceBusy
from curator.store.examples import BadRow
from curator.store.schema import LATEST_VERSION
from curator.store.store import Store

__all__ = ["Store", "StoreError", "StoreBusy", "SourceBusy", "BadRow", "LATEST_VERSION"]
