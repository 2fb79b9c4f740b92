"""The admission chain (``chain``) and its plugins: limits and quotas, priority, certificate
approval and signing, external admission actors."""
