"""Kubernetes' REST API as kubeactor's apiserver understands it: the pure translation of an HTTP
request into the request a bus message carries, and of the answers back (no I/O here; the
listener is ``bindings.https``).

- ``routes``: a method and path -> verb, resource, namespace, name, subresource (a
  :class:`~actors.apiserver.http.routes.Call`);
- ``queries``: the query string and a DeleteOptions body -> the verb's options;
- ``discovery``: ``/api``, ``/apis``, ``/api/v1``, ``/apis/GROUP/VERSION``, ``/version``;
- ``answers``: bodies, errors as ``Status`` objects with their HTTP codes, watch events as
  lines of a chunked stream.
- ``tables``: the Table form of a get, list or watch (kubectl's columns);
- ``protobuf``: the two reviews kubectl sends only as protobuf, read as JSON;
- ``channels``: ``pods/exec`` over WebSocket (the channel protocol of kubectl's exec).

Neighbours: ``actors.apiserver.server`` (the pipeline every translated request goes through, on
the bus), ``actors.api.resources`` (what is served), ``bindings.https`` (the listener).
"""
