"""`python -m township …` = the `township` command (also what `kiosk township …` execs)."""

import os
import sys

from township.cli import main

sys.exit(main(prog=os.environ.get("TOWNSHIP_PROG") or "township"))
