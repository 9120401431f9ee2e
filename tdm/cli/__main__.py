"""`python -m tdm.cli ...`, as the `tdm` script."""

import sys

from tdm.cli.main import main

sys.exit(main())
