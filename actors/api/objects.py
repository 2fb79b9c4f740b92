"""What an API object is to the code: a plain dict in Kubernetes' shape.

Objects travel as they are written in manifests (``apiVersion``, ``kind``, ``metadata``,
``spec``, ``status``), so every component, the store and the CLI handle them as dicts; this
module names that type once, for all of them.

Neighbours: ``actors.api.resources`` (which objects exist), ``actors.api.meta`` (what every
object carries).
"""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]
"""An API object (or any part of one: a spec, a status, a container) as decoded from the wire."""
