"""`python -m kiosk.cli …` = the `kiosk` command."""

import sys

from kiosk.cli import main

sys.exit(main())
