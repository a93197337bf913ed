"""In-app notifications: listing (newest first, paged, unread filter,
unread count), marking one or all as read, and what another user or a
bad id gets."""

import json

import pytest

from conftest import Client, error_of


def notify(db, user, n, type_="test.note"):
    ids = []
    for i in range(n):
        ids.append(db.val(
            "SELECT notification_add(%s, %s, %s::jsonb)", user.user["id"],
            type_, json.dumps({"message": "note %d" % i, "i": i})))
    return ids


def test_list_newest_first_with_unread_count(user, db):
    ids = notify(db, user, 3)
    r = user.get("/api/notifications")
    assert r.status_code == 200
    body = r.json()
    assert [n["id"] for n in body["items"]] == ids[::-1]
    assert body["unreadCount"] == 3
    assert body["nextCursor"] is None
    first = body["items"][0]
    assert first["type"] == "test.note"
    assert first["payload"] == {"message": "note 2", "i": 2}
    assert first["readAt"] is None
    assert first["createdAt"]


def test_pages(user, db):
    ids = notify(db, user, 5)[::-1]
    r = user.get("/api/notifications?limit=2")
    page = r.json()
    assert [n["id"] for n in page["items"]] == ids[:2]
    seen = [n["id"] for n in page["items"]]
    while page["nextCursor"]:
        page = user.get("/api/notifications?limit=2&cursor=%s" %
                        page["nextCursor"]).json()
        seen += [n["id"] for n in page["items"]]
    assert seen == ids


def test_mark_one_read(user, db):
    ids = notify(db, user, 2)
    r = user.post("/api/notifications/%d/read" % ids[0])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == ids[0] and body["readAt"]
    assert body["unreadCount"] == 1

    # Reading again keeps the first time.
    again = user.post("/api/notifications/%d/read" % ids[0]).json()
    assert again["readAt"] == body["readAt"]
    assert again["unreadCount"] == 1

    r = user.get("/api/notifications?unread=true")
    assert [n["id"] for n in r.json()["items"]] == [ids[1]]
    assert r.json()["unreadCount"] == 1
    r = user.get("/api/notifications?unread=false")
    assert len(r.json()["items"]) == 2


def test_mark_all_read(user, db):
    notify(db, user, 3)
    r = user.post("/api/notifications/read-all")
    assert r.status_code == 200
    assert r.json() == {"updated": 3, "unreadCount": 0}
    body = user.get("/api/notifications").json()
    assert body["unreadCount"] == 0
    assert all(n["readAt"] for n in body["items"])
    assert user.post("/api/notifications/read-all").json()["updated"] == 0


def test_another_users_notification_is_not_found(user, server, db):
    ids = notify(db, user, 1)
    other = Client(server.url).register()
    r = other.post("/api/notifications/%d/read" % ids[0])
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"
    assert other.get("/api/notifications").json()["items"] == []
    other.post("/api/notifications/read-all")
    assert db.val("SELECT read_at FROM notifications WHERE id = %s",
                  ids[0]) is None


@pytest.mark.parametrize("path,status", [
    ("/api/notifications/abc/read", 400),
    ("/api/notifications/-1/read", 400),
    ("/api/notifications/1234567890123456789/read", 400),
    ("/api/notifications/999999999999/read", 404),
])
def test_bad_ids(user, path, status):
    r = user.post(path)
    assert r.status_code == status
    error_of(r)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x",
                                   "cursor=abc", "unread=yes"])
def test_bad_arguments(user, query):
    r = user.get("/api/notifications?" + query)
    assert r.status_code in (400, 422)
    error_of(r)


def test_needs_a_session_and_csrf(client, user, db):
    ids = notify(db, user, 1)
    assert client.get("/api/notifications").status_code == 401
    r = user.post("/api/notifications/%d/read" % ids[0], csrf=False)
    assert r.status_code == 403
    r = user.post("/api/notifications/read-all", csrf=False)
    assert r.status_code == 403
    assert db.val("SELECT read_at FROM notifications WHERE id = %s",
                  ids[0]) is None
    r = user.get("/api/notifications/read-all")
    assert r.status_code == 405
