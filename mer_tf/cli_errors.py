"""How both command lines (`mer`, `mer-edge`) end on an error: one clear line, no traceback.

TensorFlow-free, so `edge/` shares it with the training CLI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def run_reporting(call: Callable[[], int | None], prog: str, verbose: int, expected: tuple) -> int:
    """Run `call`; report `expected` errors and failed writes on one line, Ctrl+C as exit code 130.

    Library errors name the bad value and the fix, so their message is the
    whole report; `-v` (verbose) re-raises them with the traceback.

    Args:
        call: the command's body; returns its exit code (None: 0).
        prog: the prefix of the error line ("mer", "mer-edge run").
        verbose: the `-v` count.
        expected: the exception types whose message is shown as it is.
    """
    try:
        return int(call() or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except expected as exc:
        if verbose:
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a write that failed after the checks (disk full, file system gone read-only)
        if verbose:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prog}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
