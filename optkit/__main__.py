"""``python -m optkit``: the ``optkit`` command (see :mod:`optkit.cli`)."""

from optkit.cli import main

raise SystemExit(main())
