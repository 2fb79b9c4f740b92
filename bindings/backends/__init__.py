"""The store's backends: SQLite (``sqlite``) and NATS JetStream (``jetstream``)."""
