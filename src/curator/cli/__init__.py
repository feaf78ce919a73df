"""The `curator` command line: one module per command group, each a thin shell over the services.
No arguments opens the app. Every command takes `--db PATH` before or after its name. A command's
module is imported only when it runs (`curator.commands.MODULES`)."""

from __future__ import annotations

import os
import sys

import click

from curator.cli.base import cli
from curator.errors import CuratorError

__all__ = ["cli", "main"]


def main(args: list[str] | None = None) -> None:
    """Entry point (`args`: the command line, by default the process's): errors become one clear line
    and a non-zero exit, not a traceback."""
    try:
        cli.main(args=args, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # (click's own shape: the usage, then what was wrong with it)
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # a command's refusal: one line, as every other error
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except CuratorError as exc:  # every expected error: one line naming the file, row or setting
        click.echo(f"error: {exc.line()}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for a CLI
        if os.environ.get("CURATOR_DEBUG"):
            raise
        click.echo(f"error: {type(exc).__name__}: {exc} (set CURATOR_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)

