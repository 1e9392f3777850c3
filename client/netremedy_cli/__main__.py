"""``python -m netremedy_cli`` runs the same command as the ``netremedy`` console script."""

import sys

from netremedy_cli.main import main

sys.exit(main())
