"""The service proxy's forwarder: TCP listeners and copies, on an asyncio loop of its own."""

from bindings.proxy.forwarder import TcpForwarder

__all__ = ["TcpForwarder"]
