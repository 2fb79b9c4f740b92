"""``python -m bindings.cli``: the same as the ``kubeactor`` command."""

from bindings.cli.main import main

raise SystemExit(main())
