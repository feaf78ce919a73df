"""The SQLite store (see `store.Store`) and its schema migrations."""

from curator.store.schema import LATEST_VERSION
from curator.store.store import Store, StoreError

__all__ = ["Store", "StoreError", "LATEST_VERSION"]
