"""Entry point for `python -m mnistlab`."""

import sys

from mnistlab.cli.main import main

sys.exit(main())
