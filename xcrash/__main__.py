"""``python -m xcrash``: the same as the ``xcrash`` command."""
import sys

from .cli import main

sys.exit(main())
