"""``python -m launcher``: see :mod:`launcher.run`."""

import sys

from launcher.run import main

sys.exit(main())
