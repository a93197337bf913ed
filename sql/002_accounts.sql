-- Accounts, sessions and the credit ledger as SQL functions.
--
-- Kore's pgsql layer returns only the first result of a multi-statement
-- string, so everything that must happen together (a user, the signup
-- bonus, the session and the audit rows) is one function call: one
-- statement, one transaction.
--
-- Errors meant for the API user are raised with SQLSTATEs in the class
-- "AP": AP402 not enough credits, AP403 forbidden, AP404 not found,
-- AP409 conflict, AP422 invalid, AP503 unavailable. The C side turns the
-- three digits into the HTTP status and passes the message through.

-- The request id and client address for audit rows written by the
-- functions below, local to the current transaction.
CREATE FUNCTION app_context(p_rid text, p_ip text)
RETURNS void LANGUAGE sql AS $$
	SELECT set_config('app.rid', coalesce(p_rid, ''), true),
	    set_config('app.ip', coalesce(p_ip, ''), true);
$$;

CREATE FUNCTION audit_add(p_actor uuid, p_action text, p_target_type text,
    p_target_id text, p_details jsonb)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO audit_logs (actor_id, action, target_type, target_id, ip,
	    request_id, details)
	VALUES (p_actor, p_action, p_target_type, p_target_id,
	    nullif(current_setting('app.ip', true), ''),
	    nullif(current_setting('app.rid', true), ''),
	    coalesce(p_details, '{}'));
$$;

-- The one way a balance changes: the ledger row and the balance move in
-- the same statement, and the row lock taken by the UPDATE serialises
-- concurrent spending, so the balance can never go below zero.
CREATE FUNCTION credits_apply(p_user uuid, p_amount integer, p_kind text,
    p_reference text, p_actor uuid)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	bal	integer;
BEGIN
	UPDATE users SET credits = credits + p_amount
	WHERE id = p_user AND credits + p_amount >= 0
	RETURNING credits INTO bal;

	IF NOT FOUND THEN
		IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_user) THEN
			RAISE EXCEPTION USING ERRCODE = 'AP404',
			    MESSAGE = 'user not found';
		END IF;
		RAISE EXCEPTION USING ERRCODE = 'AP402',
		    MESSAGE = format('not enough credits: this needs %s and '
		    'the balance is %s', -p_amount,
		    (SELECT credits FROM users WHERE id = p_user));
	END IF;

	INSERT INTO credit_transactions (user_id, amount, kind, reference,
	    balance_after)
	VALUES (p_user, p_amount, p_kind, p_reference, bal);

	PERFORM audit_add(coalesce(p_actor, p_user),
	    'credits.' || lower(p_kind), 'user', p_user::text,
	    jsonb_build_object('amount', p_amount, 'balanceAfter', bal,
	    'reference', p_reference));
	RETURN bal;
END $$;

CREATE FUNCTION user_json(u users)
RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', u.id, 'email', u.email,
	    'name', u.name, 'role', u.role, 'isDemo', u.is_demo,
	    'credits', u.credits, 'createdAt', u.created_at,
	    'lastLoginAt', u.last_login_at);
$$;

CREATE FUNCTION session_open(p_user uuid, p_token_hash text, p_csrf text,
    p_ttl integer, p_ua text)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, ip,
	    user_agent)
	VALUES (p_token_hash, p_user, p_csrf,
	    now() + make_interval(secs => p_ttl),
	    nullif(current_setting('app.ip', true), ''), left(p_ua, 300));
	UPDATE users SET last_login_at = now() WHERE id = p_user;
$$;

-- Registration: the account, its signup bonus, its first session and the
-- audit rows. A duplicate email in any letter case fails with 23505.
CREATE FUNCTION auth_register(p_email text, p_name text, p_hash text,
    p_token_hash text, p_csrf text, p_ttl integer, p_ip text, p_ua text,
    p_rid text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
BEGIN
	PERFORM app_context(p_rid, p_ip);

	INSERT INTO users (email, name, password_hash)
	VALUES (p_email, p_name, p_hash)
	RETURNING id INTO u.id;
	PERFORM audit_add(u.id, 'user.register', 'user', u.id::text,
	    jsonb_build_object('email', p_email));

	PERFORM credits_apply(u.id, 100, 'SIGNUP_BONUS', 'signup', u.id);
	PERFORM session_open(u.id, p_token_hash, p_csrf, p_ttl, p_ua);

	SELECT * INTO u FROM users WHERE id = u.id;
	RETURN user_json(u);
END $$;

-- What login needs before it checks a password: the account (if any)
-- and how many failures the account and the address have in the current
-- window.
CREATE FUNCTION auth_login_lookup(p_email text, p_ip text, p_window integer)
RETURNS TABLE (user_id uuid, password_hash text, disabled boolean,
    account_failures integer, ip_failures integer, retry_after integer)
LANGUAGE sql STABLE AS $$
	WITH w AS (
		SELECT to_timestamp(floor(extract(epoch FROM now()) / p_window)
		    * p_window) AS start
	)
	SELECT u.id, u.password_hash, u.disabled_at IS NOT NULL,
	    coalesce((SELECT count FROM rate_counters, w
	        WHERE bucket = 'login-fail-account:' || lower(p_email)
	        AND window_start = w.start), 0),
	    coalesce((SELECT count FROM rate_counters, w
	        WHERE bucket = 'login-fail-ip:' || p_ip
	        AND window_start = w.start), 0),
	    greatest(1, ceil(extract(epoch FROM
	        (SELECT start FROM w) + make_interval(secs => p_window)
	        - now())))::integer
	FROM (SELECT 1) one
	LEFT JOIN users u ON lower(u.email) = lower(p_email);
$$;

CREATE FUNCTION rate_hit(p_bucket text, p_window integer)
RETURNS integer LANGUAGE sql AS $$
	INSERT INTO rate_counters (bucket, window_start, count)
	VALUES (p_bucket, to_timestamp(floor(extract(epoch FROM now()) /
	    p_window) * p_window), 1)
	ON CONFLICT (bucket, window_start)
	DO UPDATE SET count = rate_counters.count + 1
	RETURNING count;
$$;

CREATE FUNCTION auth_login_failed(p_email text, p_user uuid, p_ip text,
    p_window integer, p_reason text, p_rid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM app_context(p_rid, p_ip);
	PERFORM rate_hit('login-fail-account:' || lower(p_email), p_window);
	PERFORM rate_hit('login-fail-ip:' || p_ip, p_window);
	PERFORM audit_add(p_user, 'auth.login_failed', 'user',
	    p_user::text, jsonb_build_object('email', lower(p_email),
	    'reason', p_reason));
END $$;

-- A successful login rotates the session: the one the browser presented
-- (if any) is revoked and a new one opened.
CREATE FUNCTION auth_login_ok(p_user uuid, p_token_hash text, p_csrf text,
    p_ttl integer, p_old_hash text, p_email text, p_ip text, p_ua text,
    p_rid text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO u FROM users WHERE id = p_user;
	IF NOT FOUND OR u.disabled_at IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'AP403',
		    MESSAGE = 'this account is disabled';
	END IF;

	IF p_old_hash IS NOT NULL THEN
		DELETE FROM sessions WHERE token_hash = p_old_hash;
	END IF;
	PERFORM session_open(p_user, p_token_hash, p_csrf, p_ttl, p_ua);
	DELETE FROM rate_counters
	WHERE bucket = 'login-fail-account:' || lower(p_email);
	PERFORM audit_add(p_user, 'auth.login', 'user', p_user::text, '{}');

	SELECT * INTO u FROM users WHERE id = p_user;
	RETURN user_json(u);
END $$;

-- Demo visitors share a few seeded accounts; each login takes the one
-- used least recently.
CREATE FUNCTION auth_demo_login(p_token_hash text, p_csrf text,
    p_ttl integer, p_old_hash text, p_ip text, p_ua text, p_rid text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO u FROM users
	WHERE is_demo AND disabled_at IS NULL
	ORDER BY last_login_at NULLS FIRST, id
	LIMIT 1
	FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP503',
		    MESSAGE = 'the demo is not available right now';
	END IF;

	IF p_old_hash IS NOT NULL THEN
		DELETE FROM sessions WHERE token_hash = p_old_hash;
	END IF;
	PERFORM session_open(u.id, p_token_hash, p_csrf, p_ttl, p_ua);
	PERFORM audit_add(u.id, 'auth.demo_login', 'user', u.id::text, '{}');

	SELECT * INTO u FROM users WHERE id = u.id;
	RETURN user_json(u);
END $$;

CREATE FUNCTION auth_logout(p_token_hash text, p_ip text, p_rid text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	uid	uuid;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	DELETE FROM sessions WHERE token_hash = p_token_hash
	RETURNING user_id INTO uid;
	IF uid IS NOT NULL THEN
		PERFORM audit_add(uid, 'auth.logout', 'user', uid::text, '{}');
	END IF;
END $$;
