"""The launcher (``launcher``: one process running a cluster or its parts) and what it
keeps in the data dir: the PKI, the bus users, the audit log."""
