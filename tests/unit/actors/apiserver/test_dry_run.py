"""dryRun's pure parts: the option on the bus, what the store would have written, and the
AdmissionReview an external admission actor gets."""

from __future__ import annotations

import pytest

from actors.api.resources import lookup
from actors.api.users import UserInfo
from actors.apiserver.admission.chain import AdmissionRequest
from actors.apiserver.admission.external import review_body
from actors.apiserver.options import parse_options
from actors.store import Write, dry_run
from bus.errors import AlreadyExists, BadRequest, Conflict, NotFound
from bus.subjects import Subjects

SUBJECTS = Subjects("kubeactor")
STORED = {"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "7"}, "data": {}}


def test_dry_run_all_is_the_only_value_and_an_empty_list_is_a_real_request():
    assert parse_options({"dryRun": ["All"]}, SUBJECTS).dry_run is True
    assert parse_options({"dryRun": []}, SUBJECTS).dry_run is False
    assert parse_options({}, SUBJECTS).dry_run is False
    with pytest.raises(BadRequest, match='Unsupported value: "Some"'):
        parse_options({"dryRun": ["Some"]}, SUBJECTS)
    with pytest.raises(BadRequest, match="dryRun"):
        parse_options({"dryRun": "All"}, SUBJECTS)


def test_a_dry_create_answers_the_object_without_a_resource_version():
    obj = {"kind": "ConfigMap", "metadata": {"name": "c", "uid": "u"}}
    would = dry_run(Write("create", "k", obj), None)
    assert would == obj and "resourceVersion" not in would["metadata"]
    with pytest.raises(AlreadyExists):
        dry_run(Write("create", "k", obj), STORED)


def test_a_dry_update_keeps_the_stored_resource_version_and_checks_the_expected_one():
    new = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    would = dry_run(Write("update", "k", new, expected=7), STORED)
    assert would["data"] == {"a": "b"} and would["metadata"]["resourceVersion"] == "7"
    with pytest.raises(Conflict):
        dry_run(Write("update", "k", new, expected=6), STORED)
    with pytest.raises(NotFound):
        dry_run(Write("update", "k", new), None)


def test_a_dry_delete_answers_the_stored_object():
    assert dry_run(Write("delete", "k", None), STORED) is STORED
    with pytest.raises(NotFound):
        dry_run(Write("delete", "k", None), None)


def test_an_external_admission_actor_is_told_of_a_dry_run():
    asked = AdmissionRequest("CREATE", lookup("", "configmaps"), subresource=None,
                             namespace="default", name="c", object=STORED, old_object=None,
                             user=UserInfo("alice"), dry_run=True)
    assert review_body(asked, "uid-1")["request"]["dryRun"] is True
    asked.dry_run = False
    assert review_body(asked, "uid-1")["request"]["dryRun"] is False
