"""CertificateSigningRequests as pure code: their validation and update rules
(actors/api/certificates.py via actors/apiserver/registry.py), the signer's decisions, the
admission of approvals and signatures (actors/apiserver/admission/certificates.py) over the
bootstrap RBAC policy, and kubectl's table."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.api import certificates, certs
from actors.api.objects import Object
from actors.api.resources import lookup
from actors.api.users import UserInfo
from actors.api.validation import validate
from actors.apiserver.admission.certificates import CertificateApproval, CertificateSigning
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.authn import AUTHENTICATED
from actors.apiserver.bootstrappolicy import CSR_SIGNER, bootstrap_policy
from actors.apiserver.rbac import Authorizer
from actors.apiserver.registry import prepare_create, prepare_update
from bindings.cli import printers
from bus.errors import Forbidden, Invalid

INFO = lookup(certificates.GROUP, certificates.RESOURCE)
CA_KEY, CA = certs.new_ca()
KEY = certs.new_key()


def stored(*groups: str, user: str = "frank", **spec: Any) -> Object:
    """A CSR for ``user`` as the apiserver stores it after a create by ``admin``."""
    body = certificates.signing_request("csr-1", certs.make_csr(KEY, certs.Identity(
        user, groups)))
    body["spec"].update(spec)
    csr = prepare_create(INFO, body, None, None)
    certificates.requested_by(csr, "admin", "", ("system:masters",))
    csr["metadata"]["resourceVersion"] = "7"
    return csr


def approved(csr: Object) -> Object:
    body = certificates.decided(csr, certificates.APPROVED, "Ok", "ok")
    return prepare_update(INFO, "approval", body, csr)[0]


def problems_of(csr: Object) -> str:
    with pytest.raises(Invalid) as invalid:
        validate(INFO, csr)
    return invalid.value.message


def test_a_stored_request_is_valid_and_names_who_sent_it_not_who_it_asks_to_be():
    csr = stored("devs")
    validate(INFO, csr)
    assert (csr["spec"]["username"], csr["spec"]["groups"], csr["status"]) == (
        "admin", ["system:masters"], {})
    assert certificates.requested_identity(csr) == certs.Identity("frank", ("devs",))
    assert certificates.condition_word(csr) == "Pending"


@pytest.mark.parametrize(("change", "words"), [
    ({"signerName": None}, "spec.signerName: Required value"),
    ({"usages": ["digital signature"]}, 'requires "client auth"'),
    ({"usages": []}, "spec.usages: Required value"),
    ({"expirationSeconds": "1h"}, "spec.expirationSeconds: Invalid value: '1h'"),
    ({"request": None}, "spec.request: Required value"),
])
def test_spec_problems_are_named_in_kubernetes_words(change, words):
    csr = stored()
    csr["spec"].update(change)
    assert words in problems_of(csr)


@pytest.mark.parametrize(("conditions", "words"), [
    ([{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}],
     "Approved and Denied conditions are mutually exclusive"),
    ([{"type": "Approved", "status": "False"}],
     'status.conditions[0].status: Unsupported value: "False": supported values: "True"'),
    ([{"type": "Approved", "status": "True"}, {"type": "Approved", "status": "True"}],
     'status.conditions[1].type: Duplicate value: "Approved"'),
    ([{"status": "True"}], "status.conditions[0].type: Required value"),
])
def test_condition_problems(conditions, words):
    csr = stored()
    csr["status"] = {"conditions": conditions}
    assert words in problems_of(csr)


def test_a_certificate_needs_an_approval_and_no_denial_or_failure():
    csr = certificates.sign(approved(stored()), CA_KEY, CA)
    validate(INFO, csr)
    csr["status"]["conditions"] = []
    assert "certificate issuance requires an Approved condition" in problems_of(csr)
    csr["status"]["conditions"] = [{"type": "Approved", "status": "True"},
                                   {"type": "Failed", "status": "True"}]
    assert "not allowed with a Failed condition" in problems_of(csr)


def test_updates_never_change_the_spec_and_only_approval_decides():
    csr = stored()
    body = copy.deepcopy(csr)
    body["spec"]["usages"] = ["client auth"]
    body["metadata"]["labels"] = {"team": "a"}
    body["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    main, _ = prepare_update(INFO, None, body, csr)
    assert main["spec"] == csr["spec"] and main["status"] == {}
    assert main["metadata"]["labels"] == {"team": "a"}
    status, _ = prepare_update(INFO, "status", body, csr)
    assert status["spec"] == csr["spec"] and certificates.conditions(status) == []
    decided = approved(csr)
    assert decided["spec"] == csr["spec"] and certificates.condition_word(decided) == "Approved"
    assert decided["status"]["conditions"][0]["lastUpdateTime"]
    assert decided["status"]["conditions"][0]["lastTransitionTime"]


def test_a_status_update_keeps_the_decisions_and_none_is_ever_removed():
    csr = approved(stored())
    body = copy.deepcopy(csr)
    body["status"]["conditions"] = [{"type": "Denied", "status": "True"}]
    kept, _ = prepare_update(INFO, "status", body, csr)
    assert [c["type"] for c in kept["status"]["conditions"]] == ["Approved"]
    body["status"]["conditions"] = []
    with pytest.raises(Invalid, match='may not remove a condition of type "Approved"'):
        prepare_update(INFO, "approval", body, csr)


def test_the_signer_signs_only_approved_requests_for_the_identity_they_name():
    csr = stored("devs", expirationSeconds=3600)
    assert not certificates.awaits_signature(csr)
    ready = approved(csr)
    assert certificates.awaits_signature(ready)
    signed = certificates.sign(ready, CA_KEY, CA)
    assert not certificates.awaits_signature(signed)
    assert certificates.condition_word(signed) == "Approved,Issued"
    cert = certs.load_cert(certificates.decode(signed["status"]["certificate"]))
    now = datetime.now(UTC)
    assert certs.verify(cert, CA, now) == certs.Identity("frank", ("devs",))
    assert cert.public_key() == KEY.public_key()
    assert now + timedelta(minutes=55) < cert.not_valid_after_utc < now + timedelta(minutes=65)


def test_a_request_the_signer_cannot_read_fails_instead():
    csr = approved(stored())
    csr["spec"]["request"] = certificates.encode(b"garbage")
    failed = certificates.sign(csr, CA_KEY, CA)
    assert certificates.condition_word(failed) == "Approved,Failed"
    assert failed["status"]["conditions"][-1]["reason"] == "SignerValidationFailure"
    assert not certificates.awaits_signature(failed)


@pytest.fixture
def authorizer() -> Authorizer:
    authorizer = Authorizer()
    for obj in bootstrap_policy():
        authorizer.observe(obj)
    return authorizer


def admission(user: UserInfo, subresource: str, new: Object, old: Object) -> AdmissionRequest:
    return AdmissionRequest("UPDATE", INFO, subresource=subresource, namespace=None,
                            name=old["metadata"]["name"], object=new, old_object=old, user=user)


def test_the_signer_may_sign_but_not_approve(authorizer):
    signer = UserInfo(CSR_SIGNER, groups=(AUTHENTICATED,))
    csr = stored()
    with pytest.raises(Forbidden, match="user not permitted to approve requests"):
        CertificateApproval(authorizer).validate(admission(signer, "approval", approved(csr),
                                                           csr))
    ready = approved(csr)
    CertificateSigning(authorizer).validate(admission(
        signer, "status", certificates.sign(ready, CA_KEY, CA), ready))


def test_updating_every_status_is_not_signing(authorizer):
    """The controller manager may update every (sub)resource (its garbage collector), yet it
    may not issue a certificate."""
    manager = UserInfo("system:kube-controller-manager", groups=(AUTHENTICATED,))
    ready = approved(stored())
    signed = certificates.sign(ready, CA_KEY, CA)
    with pytest.raises(Forbidden, match=r'user not permitted to sign requests with signerName '
                                        r'"kubernetes\.io/kube-apiserver-client"'):
        CertificateSigning(authorizer).validate(admission(manager, "status", signed, ready))
    relabelled = copy.deepcopy(ready)
    relabelled["metadata"]["labels"] = {"a": "b"}
    CertificateSigning(authorizer).validate(admission(manager, "status", relabelled, ready))


def test_get_csr_shows_kubectls_columns():
    csr = certificates.sign(approved(stored(expirationSeconds=86400)), CA_KEY, CA)
    lines = printers.table(INFO, [csr, stored()]).splitlines()
    assert lines[0].split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION",
                                "CONDITION"]
    assert lines[1].split()[2:] == [certificates.CLIENT_SIGNER, "admin", "24h",
                                    "Approved,Issued"]
    assert lines[2].split()[2:] == [certificates.CLIENT_SIGNER, "admin", "<none>", "Pending"]


def test_the_signer_never_signs_for_system_masters_even_when_approved():
    refused = certificates.sign(approved(stored("system:masters")), CA_KEY, CA)
    assert certificates.condition_word(refused) == "Approved,Failed"
    assert "does not sign for the group system:masters" in \
        refused["status"]["conditions"][-1]["message"]


def test_the_signer_never_signs_for_the_https_front_even_when_approved():
    """The front may forward anyone's certificate: its name is as good as system:masters."""
    refused = certificates.sign(approved(stored(user="system:kube-apiserver-https")), CA_KEY, CA)
    assert certificates.condition_word(refused) == "Approved,Failed"
    assert "does not sign for the user system:kube-apiserver-https" in \
        refused["status"]["conditions"][-1]["message"]
