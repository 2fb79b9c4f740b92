"""The apiserver: authentication -> authorization (RBAC) -> admission -> store, on every request.
"""

from actors.api.users import UserInfo
from actors.apiserver.admission.chain import (
    AdmissionChain,
    AdmissionRequest,
    MutatingPlugin,
    NamespaceLifecycle,
    ValidatingPlugin,
)
from actors.apiserver.authn import (
    Authenticator,
    EitherAuthenticator,
    Forwarding,
    Handshaker,
    SessionAuthenticator,
    TokenAuthenticator,
)
from actors.apiserver.bootstrappolicy import bootstrap_policy
from actors.apiserver.nodeauthz import NodeAuthorizer
from actors.apiserver.rbac import Attributes, Authorizer
from actors.apiserver.requests import ApiServerConfig
from actors.apiserver.server import ApiServer

__all__ = [
    "AdmissionChain",
    "AdmissionRequest",
    "ApiServer",
    "ApiServerConfig",
    "Attributes",
    "Authenticator",
    "Authorizer",
    "EitherAuthenticator",
    "Forwarding",
    "Handshaker",
    "MutatingPlugin",
    "NamespaceLifecycle",
    "NodeAuthorizer",
    "SessionAuthenticator",
    "TokenAuthenticator",
    "UserInfo",
    "ValidatingPlugin",
    "bootstrap_policy",
]
