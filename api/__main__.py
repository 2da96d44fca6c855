"""``python -m api`` is the same command line as ``chargeops``."""

from api.cli import main

raise SystemExit(main())
