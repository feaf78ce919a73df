"""Corpus preparation beyond one machine: curator's corpus stages as a datatrove pipeline.

datatrove is an optional extra (`pip install -e '.[scale]'`): it is imported only inside this
package and only when a preparation is built (`curator.scale.pipeline`); `plan` needs nothing extra.
"""

from __future__ import annotations

from curator.errors import CuratorError

INSTALL_HINT = "curator prepare needs the scale extra: pip install -e '.[scale]'"


class ScaleUnavailable(CuratorError):
    """datatrove (the scale extra) is not installed."""


def require_datatrove() -> None:
    """Raise ScaleUnavailable (with how to install it) unless datatrove can be imported."""
    try:
        import datatrove  # noqa: F401 - only a preparation gets here
    except ImportError as exc:
        raise ScaleUnavailable(INSTALL_HINT) from exc
