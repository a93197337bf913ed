"""The credit balance and ledger, and what other users can see of them."""

from conftest import Client, error_of


def test_balance_of_a_new_account(user):
    r = user.get("/api/credits")
    assert r.status_code == 200
    assert r.json()["balance"] == 100
    assert r.json()["isDemo"] is False


def test_credits_need_a_session(client):
    assert client.get("/api/credits").status_code == 401
    assert client.get("/api/credits/transactions").status_code == 401


def test_transactions_list_the_signup_bonus(user):
    r = user.get("/api/credits/transactions")
    assert r.status_code == 200
    body = r.json()
    assert body["nextCursor"] is None
    assert len(body["items"]) == 1
    t = body["items"][0]
    assert t["kind"] == "SIGNUP_BONUS"
    assert t["amount"] == 100 and t["balanceAfter"] == 100


def test_transactions_page_with_a_cursor(user, db):
    uid = user.user["id"]
    for i in range(5):
        db.val("SELECT credits_apply(%s, %s, 'ADMIN_ADJUST', %s, NULL)",
               uid, i + 1, "test-%d" % i)
    seen = []
    cursor = None
    while True:
        path = "/api/credits/transactions?limit=2"
        if cursor:
            path += "&cursor=" + cursor
        body = user.get(path).json()
        assert len(body["items"]) <= 2
        seen += [t["id"] for t in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 6
    assert seen == sorted(seen, reverse=True)
    assert user.get("/api/credits").json()["balance"] == 115


def test_transactions_refuse_bad_paging(user):
    for q in ("limit=0", "limit=201", "limit=abc", "limit=-1",
              "cursor=abc", "cursor=1%3Bdrop", "cursor="):
        r = user.get("/api/credits/transactions?" + q)
        assert r.status_code in (400, 422), q
        error_of(r)


def test_each_user_sees_only_their_own_ledger(server, db):
    a = Client(server.url).register()
    b = Client(server.url).register()
    db.val("SELECT credits_apply(%s, 7, 'ADMIN_ADJUST', 'a-only', NULL)",
           a.user["id"])
    items = b.get("/api/credits/transactions").json()["items"]
    assert [t["reference"] for t in items] == ["signup"]
    assert b.get("/api/credits").json()["balance"] == 100


def test_balance_cannot_go_negative_in_the_database(user, db):
    import psycopg2
    try:
        db.val("SELECT credits_apply(%s, -101, 'ENDPOINT_CREATE', 'x', "
               "NULL)", user.user["id"])
        raised = False
    except psycopg2.Error as e:
        raised = e.pgcode == "AP402"
    assert raised
    assert user.get("/api/credits").json()["balance"] == 100
