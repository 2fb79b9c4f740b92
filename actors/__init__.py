"""The components of the control plane, one Pykka actor each: store, apiserver, scheduler,
kubelet; the API object model and the client they all use. Imports bus, never bindings, and
never nats, docker or sqlite3 directly."""
