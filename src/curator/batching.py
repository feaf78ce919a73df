"""A stream in lists of a given size (what `itertools.batched` does from Python 3.12, as lists)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), in their order, each taken when it is asked for.
    The generator lets go of a list once it is asked for the next one: a caller that drops it too holds
    one batch at a time, not two (the export's log holds 2,000 rows a batch; two cost it a second of
    the garbage collector's time)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
