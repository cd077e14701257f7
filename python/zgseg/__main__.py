"""``python -m zgseg ARGS``: the same as the ``zgseg`` command."""

import sys

from ._launcher import main

sys.exit(main())
