"""``python -m analytics``: the command line (see analytics/cli.py)."""

import os
import sys

from analytics.cli import main

try:
    sys.exit(main())
except BrokenPipeError:
    # The reader of our output (``| head``) stopped early: not an error of ours.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
