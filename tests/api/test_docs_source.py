"""The OpenAPI document is served as the discovery engine wrote it."""

import json

from test_docs_support import add_calls, generate, make_endpoint, wait_job


def test_openapi_keeps_the_engines_key_order_and_bytes(user, db):
    eid = make_endpoint(db, user, name="Ordered API")
    add_calls(db, eid)
    generate(user, eid)
    assert wait_job(user, eid)["state"] == "completed"

    r = user.get("/api/endpoints/%s/docs?format=openapi" % eid)
    assert r.status_code == 200
    source = db.val("SELECT openapi_source FROM documentation "
                    "WHERE endpoint_id = %s", eid)
    assert r.text == source
    doc = json.loads(r.text)
    assert list(doc)[:3] == ["openapi", "info", "servers"] or \
        list(doc)[:2] == ["openapi", "info"]
    # The queryable copy holds the same document.
    assert db.val("SELECT openapi = %s::jsonb FROM documentation "
                  "WHERE endpoint_id = %s", source, eid) is True
    # The combined view embeds the same order.
    both = user.get("/api/endpoints/%s/docs" % eid).json()
    assert list(both["openapi"])[:2] == ["openapi", "info"]
