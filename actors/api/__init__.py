"""The API's vocabulary, shared by every component and the client. Imports only bus.

The object model, by concern: ``objects`` (the ``Object`` type every module names),
``resources`` (the registry: which resources exist, their keys), ``meta`` (timestamps, metadata,
conditions, owner references), ``pods`` (pod predicates, taints), ``amounts`` (requests and
limits as Kubernetes counts them), ``defaulting``, ``schema`` and ``validation`` (what the
apiserver does to an object before storing it), ``secrets`` (Secret rules). Beside it:
``quantity``, ``selectors``, ``jsonpatch``, ``strategicmerge`` (Kubernetes' patch, apply's
three-way merge), ``priorityclasses``, ``certificates`` (CSR rules), ``certs`` (the
certificates and sessions that prove who sends a request), ``users`` (who that is),
``admission`` (the review external admission actors answer), ``podlogs`` (a log's start and
byte limit) and ``watches`` (watch leases)."""
