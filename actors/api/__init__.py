"""The API's vocabulary, shared by every component and the client: the object model
(``objects``), quantities, selectors, JSON patch, priority classes, certificate signing
requests (``certificates``) and the certificates and sessions that prove who sends a
request (``certs``). Imports only bus."""
