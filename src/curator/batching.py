"""A stream in lists of a given size (what `itertools.batched` does from Python 3.12, as lists)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter), in their order, each taken when it is asked for."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch
