-- Operations: the admin area's SQL functions, the history of alerts the
-- server raises, the outbox of notification emails, and the figures the
-- metrics routes and the alert evaluator read.
--
-- Each admin action is one function call, so the change and its audit
-- row (actor, target, client address and request id) commit together or
-- not at all. Balances still move only through credits_apply(); a
-- balance that disagrees with its ledger is corrected on the user row,
-- never by touching ledger rows.
--
-- Emails go through an outbox rather than straight from the functions
-- that create notifications: those functions belong to the payment and
-- documentation flows and run inside their transactions, while sending
-- mail is slow, can fail and must be retried. A trigger copies the
-- notifications worth mailing into the outbox; any server instance
-- drains it (FOR UPDATE SKIP LOCKED), so each email is sent once.

-- Admin list pages go newest first by (created_at, id); the cursor is
-- "<microseconds since the epoch>_<id>" of a page's last row. Whole
-- microseconds compare exactly, where a timestamp's text or a float
-- might not round-trip.
CREATE FUNCTION ops_micros(p_at timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
	SELECT floor(extract(epoch FROM p_at) * 1000000)::bigint;
$$;

CREATE FUNCTION ops_cursor(p_at timestamptz, p_id uuid)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT ops_micros(p_at)::text || '_' || p_id::text;
$$;

CREATE FUNCTION ops_cursor_micros(p_cursor text)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF p_cursor IS NULL THEN
		RETURN NULL;
	END IF;
	IF p_cursor !~ ('^[0-9]{1,18}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
	    '[0-9a-f]{4}-[0-9a-f]{12}$') THEN
		RAISE EXCEPTION USING ERRCODE = 'AP400',
		    MESSAGE = 'the cursor is not one this API returned';
	END IF;
	RETURN split_part(p_cursor, '_', 1)::bigint;
END $$;

CREATE FUNCTION ops_cursor_id(p_cursor text)
RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN ops_cursor_micros(p_cursor) IS NULL THEN NULL
	    ELSE split_part(p_cursor, '_', 2)::uuid END;
$$;

-- A filter's time bound, or AP422 naming the argument.
CREATE FUNCTION ops_time_arg(p_value text, p_name text)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF p_value IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN p_value::timestamptz;
EXCEPTION WHEN data_exception OR invalid_datetime_format THEN
	RAISE EXCEPTION USING ERRCODE = 'AP422',
	    MESSAGE = format('%s must be a date and time such as '
	    '2024-05-01T12:00:00Z', p_name);
END $$;

-- The text of a LIKE pattern that matches p_text literally.
CREATE FUNCTION ops_like_escape(p_text text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT replace(replace(replace(p_text, '\', '\\'), '%', '\%'),
	    '_', '\_');
$$;

-- An admin action's audit row, with the request's id and address.
CREATE FUNCTION admin_audit(p_admin uuid, p_action text, p_target_type text,
    p_target_id text, p_details jsonb, p_rid text, p_ip text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM app_context(p_rid, p_ip);
	PERFORM audit_add(p_admin, p_action, p_target_type, p_target_id,
	    p_details);
END $$;

CREATE FUNCTION admin_user_json(u users)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT user_json(u)::jsonb || jsonb_build_object(
	    'disabledAt', u.disabled_at,
	    'endpointCount', (SELECT count(*) FROM endpoints
	        WHERE user_id = u.id));
$$;

-- One user with what an admin needs to judge the account: the ledger's
-- sum beside the balance, recent ledger rows, payments and sessions.
CREATE FUNCTION admin_user_detail(p_admin uuid, p_user uuid, p_rid text,
    p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
	ledger	bigint;
BEGIN
	SELECT * INTO u FROM users WHERE id = p_user;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'user not found';
	END IF;
	SELECT coalesce(sum(amount), 0) INTO ledger
	FROM credit_transactions WHERE user_id = u.id;

	-- Reading an account's details is itself worth a trace.
	PERFORM admin_audit(p_admin, 'admin.user_view', 'user', u.id::text,
	    '{}', p_rid, p_ip);

	RETURN (admin_user_json(u) || jsonb_build_object(
	    'ledgerSum', ledger,
	    'balanceMatchesLedger', ledger = u.credits,
	    'activeSessions', (SELECT count(*) FROM sessions
	        WHERE user_id = u.id AND expires_at > now()),
	    'transactions', coalesce((SELECT jsonb_agg(jsonb_build_object(
	        'id', t.id, 'amount', t.amount, 'kind', t.kind,
	        'reference', t.reference, 'balanceAfter', t.balance_after,
	        'createdAt', t.created_at) ORDER BY t.id DESC)
	        FROM (SELECT * FROM credit_transactions
	            WHERE user_id = u.id ORDER BY id DESC LIMIT 20) t),
	        '[]'),
	    'payments', coalesce((SELECT jsonb_agg(payment_json(p)::jsonb
	        ORDER BY p.created_at DESC)
	        FROM (SELECT * FROM payments WHERE user_id = u.id
	            ORDER BY created_at DESC LIMIT 20) p), '[]'),
	    'endpoints', coalesce((SELECT jsonb_agg(jsonb_build_object(
	        'id', e.id, 'name', e.name, 'status', e.status,
	        'callCount', e.call_count, 'createdAt', e.created_at)
	        ORDER BY e.created_at DESC)
	        FROM (SELECT * FROM endpoints WHERE user_id = u.id
	            ORDER BY created_at DESC LIMIT 50) e), '[]')))::json;
END $$;

-- Credits granted or taken by an admin, with the reason in the ledger
-- row's reference and in the audit row.
CREATE FUNCTION admin_adjust_credits(p_admin uuid, p_user uuid,
    p_amount integer, p_reason text, p_rid text, p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
	bal	integer;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO u FROM users WHERE id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'user not found';
	END IF;
	IF u.credits + p_amount < 0 THEN
		RAISE EXCEPTION USING ERRCODE = 'AP422',
		    MESSAGE = format('the balance is %s credits; an adjustment '
		    'can take at most that many', u.credits);
	END IF;

	bal := credits_apply(p_user, p_amount, 'ADMIN_ADJUST',
	    'admin: ' || p_reason, p_admin);
	PERFORM audit_add(p_admin, 'admin.credits_adjust', 'user',
	    p_user::text, jsonb_build_object('amount', p_amount,
	    'reason', p_reason, 'balanceBefore', u.credits,
	    'balanceAfter', bal));
	RETURN json_build_object('userId', p_user, 'amount', p_amount,
	    'reason', p_reason, 'balance', bal);
END $$;

-- Disabling an account also ends its sessions; enabling only lifts the
-- flag. An admin cannot lock themselves out.
CREATE FUNCTION admin_set_disabled(p_admin uuid, p_user uuid,
    p_disable boolean, p_reason text, p_rid text, p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
	changed	boolean;
	ended	integer := 0;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	IF p_disable AND p_admin = p_user THEN
		RAISE EXCEPTION USING ERRCODE = 'AP409',
		    MESSAGE = 'you cannot disable your own account';
	END IF;
	SELECT * INTO u FROM users WHERE id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'user not found';
	END IF;

	changed := (u.disabled_at IS NOT NULL) <> p_disable;
	IF changed THEN
		UPDATE users SET disabled_at = CASE WHEN p_disable THEN now()
		    END
		WHERE id = p_user
		RETURNING * INTO u;
	END IF;
	IF p_disable THEN
		DELETE FROM sessions WHERE user_id = p_user;
		GET DIAGNOSTICS ended = ROW_COUNT;
	END IF;

	PERFORM audit_add(p_admin, CASE WHEN p_disable THEN
	    'admin.user_disable' ELSE 'admin.user_enable' END, 'user',
	    p_user::text, jsonb_strip_nulls(jsonb_build_object(
	    'reason', p_reason, 'changed', changed,
	    'sessionsEnded', ended)));
	RETURN (admin_user_json(u) || jsonb_build_object('changed', changed,
	    'sessionsEnded', ended))::json;
END $$;

-- Compares the balance with the sum of the ledger and, when they differ,
-- sets the balance to the sum. The ledger is the record; the balance is
-- only its running total.
CREATE FUNCTION admin_recalculate(p_admin uuid, p_user uuid, p_rid text,
    p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	u	users;
	ledger	bigint;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO u FROM users WHERE id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'user not found';
	END IF;
	SELECT coalesce(sum(amount), 0) INTO ledger
	FROM credit_transactions WHERE user_id = p_user;
	IF ledger < 0 OR ledger > 2147483647 THEN
		RAISE EXCEPTION USING ERRCODE = 'AP409',
		    MESSAGE = format('the ledger sums to %s, which no balance '
		    'can hold; the ledger needs a look by hand', ledger);
	END IF;

	IF ledger <> u.credits THEN
		UPDATE users SET credits = ledger::integer WHERE id = p_user;
	END IF;
	PERFORM audit_add(p_admin, 'admin.balance_recalculate', 'user',
	    p_user::text, jsonb_build_object('balanceBefore', u.credits,
	    'ledgerSum', ledger, 'changed', ledger <> u.credits));
	RETURN json_build_object('userId', p_user, 'balanceBefore', u.credits,
	    'ledgerSum', ledger, 'balance', ledger,
	    'changed', ledger <> u.credits);
END $$;

-- The credit addition of a payment the provider shows as paid whose
-- webhook never arrived. payments_fulfil() (005) grants the credits at
-- most once; a second try reports applied = false and changes nothing.
-- The attempt is audited either way.
CREATE FUNCTION admin_payment_fulfil(p_admin uuid, p_payment uuid,
    p_rid text, p_ip text, OUT o_applied boolean, OUT o_status text,
    OUT o_body json)
LANGUAGE plpgsql AS $$
DECLARE
	r	json;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM payments WHERE id = p_payment) THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'payment not found';
	END IF;
	r := payments_fulfil(p_payment, 'admin', p_admin, p_rid, p_ip);
	o_applied := (r->>'applied')::boolean;
	o_status := r #>> '{payment,status}';
	o_body := r;
	PERFORM audit_add(p_admin, 'admin.payment_fulfil', 'payment',
	    p_payment::text, jsonb_build_object('applied', o_applied,
	    'status', o_status));
END $$;

CREATE FUNCTION admin_payment_reconcile(p_admin uuid, p_payment uuid,
    p_rid text, p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	p	payments;
	changed	boolean;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO p FROM payments WHERE id = p_payment FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'payment not found';
	END IF;
	changed := p.reconciled_at IS NULL;
	IF changed THEN
		UPDATE payments SET reconciled_at = now(), updated_at = now()
		WHERE id = p_payment
		RETURNING * INTO p;
	END IF;
	PERFORM audit_add(p_admin, 'admin.payment_reconcile', 'payment',
	    p_payment::text, jsonb_build_object('changed', changed));
	RETURN (payment_json(p)::jsonb || jsonb_build_object(
	    'userId', p.user_id, 'reconciledAt', p.reconciled_at,
	    'changed', changed))::json;
END $$;

-- Puts a job that failed for good back in its queue with fresh
-- attempts. A documentation job's endpoint goes back to PROCESSING, as
-- when its owner asked for the documentation.
CREATE FUNCTION admin_job_retry(p_admin uuid, p_job bigint, p_rid text,
    p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	j	jobs;
	eid	uuid;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO j FROM jobs WHERE id = p_job FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'job not found';
	END IF;
	IF j.state <> 'failed' THEN
		RAISE EXCEPTION USING ERRCODE = 'AP409',
		    MESSAGE = format('only failed jobs can be retried; this '
		    'one is %s', j.state);
	END IF;
	IF j.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs
	    WHERE dedupe_key = j.dedupe_key AND id <> j.id
	    AND state IN ('waiting', 'active', 'delayed')) THEN
		RAISE EXCEPTION USING ERRCODE = 'AP409',
		    MESSAGE = 'a newer job for the same work is already queued';
	END IF;

	IF j.queue = 'docs' THEN
		eid := payments_uuid(j.payload->>'endpointId');
		UPDATE endpoints SET status = 'PROCESSING', updated_at = now()
		WHERE id = eid AND status <> 'PROCESSING';
		IF NOT EXISTS (SELECT 1 FROM endpoints WHERE id = eid) THEN
			RAISE EXCEPTION USING ERRCODE = 'AP409',
			    MESSAGE = 'the job''s endpoint has been deleted';
		END IF;
	END IF;

	UPDATE jobs SET state = 'waiting', attempts = 0, run_at = now(),
	    locked_by = NULL, locked_at = NULL, finished_at = NULL,
	    progress = 0, stage = 'waiting'
	WHERE id = j.id
	RETURNING * INTO j;
	PERFORM pg_notify('jobs', j.queue);
	PERFORM audit_add(p_admin, 'admin.job_retry', 'job', j.id::text,
	    jsonb_build_object('queue', j.queue,
	    'lastError', j.last_error));
	RETURN json_build_object('id', j.id, 'queue', j.queue,
	    'state', j.state, 'attempts', j.attempts,
	    'maxAttempts', j.max_attempts, 'runAt', j.run_at);
END $$;

-- The alerts the server raised and resolved. What is firing right now
-- lives in the server's memory (a database that cannot be reached is
-- itself an alert); this is the history, written when the database can
-- take it.
CREATE TABLE alert_events (
	id		bigserial PRIMARY KEY,
	rule		text NOT NULL CHECK (rule ~ '^[a-z][a-z0-9_]{0,63}$'),
	state		text NOT NULL CHECK (state IN ('firing', 'resolved')),
	severity	text NOT NULL CHECK (severity IN ('critical',
			    'warning')),
	value		double precision,
	threshold	double precision,
	instance	text NOT NULL,
	summary		text NOT NULL,
	since		timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_events_created ON alert_events (created_at DESC, id DESC);
CREATE INDEX alert_events_rule ON alert_events (rule, id DESC);

-- The email outbox. user_id goes with the account; the notification may
-- be pruned on its own.
CREATE TABLE mail_outbox (
	id		bigserial PRIMARY KEY,
	user_id		uuid REFERENCES users (id) ON DELETE CASCADE,
	notification_id	bigint REFERENCES notifications (id)
			    ON DELETE SET NULL,
	kind		text NOT NULL,
	to_addr		text NOT NULL CHECK (length(to_addr) BETWEEN 3 AND 254
			    AND to_addr !~ '[\r\n<>]'),
	subject		text NOT NULL CHECK (length(subject) <= 200),
	body		text NOT NULL,
	state		text NOT NULL DEFAULT 'pending' CHECK (state IN
			    ('pending', 'sending', 'sent', 'failed')),
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	locked_by	text,
	locked_at	timestamptz,
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	sent_at		timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX mail_outbox_sending ON mail_outbox (locked_at)
    WHERE state = 'sending';
CREATE INDEX mail_outbox_user ON mail_outbox (user_id);
CREATE INDEX mail_outbox_notification ON mail_outbox (notification_id);
CREATE INDEX mail_outbox_created ON mail_outbox (created_at);

-- Notifications worth an email: documentation ready or failed, payment
-- completed. Demo and disabled accounts get none (demo addresses are not
-- real mailboxes).
CREATE FUNCTION mail_from_notification()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	u	users;
	subj	text;
BEGIN
	SELECT * INTO u FROM users WHERE id = NEW.user_id;
	IF NOT FOUND OR u.is_demo OR u.disabled_at IS NOT NULL OR
	    u.email ~ '[\r\n<>]' THEN
		RETURN NEW;
	END IF;

	subj := CASE NEW.type
	    WHEN 'docs.ready' THEN format('Documentation ready: %s',
	        NEW.payload->>'endpointName')
	    WHEN 'docs.failed' THEN format('Documentation failed: %s',
	        NEW.payload->>'endpointName')
	    ELSE format('Payment completed: %s credits added',
	        NEW.payload->>'credits') END;
	INSERT INTO mail_outbox (user_id, notification_id, kind, to_addr,
	    subject, body)
	VALUES (u.id, NEW.id, NEW.type, u.email,
	    left(regexp_replace(subj, '[[:cntrl:]]', ' ', 'g'), 200),
	    coalesce(NEW.payload->>'message', CASE NEW.type
	        WHEN 'payment.completed' THEN format('Your payment went '
	        'through and %s credits were added to your balance.',
	        NEW.payload->>'credits')
	        ELSE subj END));
	PERFORM pg_notify('mail', '');
	RETURN NEW;
END $$;

CREATE TRIGGER notifications_mail AFTER INSERT ON notifications
    FOR EACH ROW WHEN (NEW.type IN ('docs.ready', 'docs.failed',
    'payment.completed'))
    EXECUTE FUNCTION mail_from_notification();

-- Takes up to p_limit due emails for p_worker. A sender that died while
-- holding some (state 'sending' past the lease) gives them back first.
CREATE FUNCTION mail_claim(p_worker text, p_limit integer, p_lease integer)
RETURNS TABLE (mail_id bigint, to_addr text, subject text, body text,
    attempt integer)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE mail_outbox SET state = 'pending', locked_by = NULL,
	    locked_at = NULL
	WHERE state = 'sending'
	AND locked_at < now() - make_interval(secs => p_lease);

	RETURN QUERY
	UPDATE mail_outbox m SET state = 'sending', locked_by = p_worker,
	    locked_at = now(), attempts = m.attempts + 1
	WHERE m.id IN (
		SELECT o.id FROM mail_outbox o
		WHERE o.state = 'pending' AND o.next_attempt_at <= now()
		ORDER BY o.next_attempt_at, o.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED)
	RETURNING m.id, m.to_addr, m.subject, m.body, m.attempts;
END $$;

-- Records a send: sent, or failed and retried after 30 s, 60 s, 120 s...
-- until p_max_attempts, then given up.
CREATE FUNCTION mail_done(p_id bigint, p_worker text, p_ok boolean,
    p_error text, p_max_attempts integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	m	mail_outbox;
BEGIN
	SELECT * INTO m FROM mail_outbox
	WHERE id = p_id AND state = 'sending' AND locked_by = p_worker
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN 'lost';
	END IF;
	IF p_ok THEN
		UPDATE mail_outbox SET state = 'sent', sent_at = now(),
		    locked_by = NULL, locked_at = NULL, last_error = NULL
		WHERE id = p_id;
		RETURN 'sent';
	END IF;
	IF m.attempts >= p_max_attempts THEN
		UPDATE mail_outbox SET state = 'failed', locked_by = NULL,
		    locked_at = NULL, last_error = left(p_error, 500)
		WHERE id = p_id;
		RETURN 'failed';
	END IF;
	UPDATE mail_outbox SET state = 'pending', locked_by = NULL,
	    locked_at = NULL, last_error = left(p_error, 500),
	    next_attempt_at = now() + make_interval(secs =>
	        least(30 * 2 ^ (m.attempts - 1), 3600))
	WHERE id = p_id;
	RETURN 'retry';
END $$;

-- Old outbox rows and alert history go after 30 and 180 days; pending
-- mail older than a week is dropped (no SMTP server was configured to
-- send it, or it kept failing).
CREATE FUNCTION ops_prune()
RETURNS void LANGUAGE sql AS $$
	DELETE FROM mail_outbox
	WHERE created_at < now() - interval '30 days'
	OR (state = 'pending' AND created_at < now() - interval '7 days');
	DELETE FROM alert_events WHERE created_at < now() - interval '180 days';
$$;

-- The figures the alert rules read from the database: the queue's depth,
-- and over the last p_short seconds the share of generations whose model
-- calls failed and the payment failures, over the last p_long seconds
-- the failure shares of documentation jobs and credit purchases. Each
-- share comes with the number of cases it is taken over.
CREATE FUNCTION ops_alert_inputs(p_short integer, p_long integer,
    OUT queue_depth bigint, OUT ai_failed bigint, OUT ai_total bigint,
    OUT docs_failed bigint, OUT docs_total bigint,
    OUT purchases_failed bigint, OUT purchases_total bigint,
    OUT payment_failures bigint)
LANGUAGE sql STABLE AS $$
	SELECT
	    (SELECT count(*) FROM jobs WHERE state IN ('waiting', 'delayed')),
	    (SELECT count(*) FROM documentation WHERE ai_status = 'unavailable'
	        AND generated_at > now() - make_interval(secs => p_short)),
	    (SELECT count(*) FROM documentation
	        WHERE ai_status IN ('used', 'unavailable')
	        AND generated_at > now() - make_interval(secs => p_short)),
	    (SELECT count(*) FROM jobs WHERE queue = 'docs'
	        AND state = 'failed'
	        AND finished_at > now() - make_interval(secs => p_long)),
	    (SELECT count(*) FROM jobs WHERE queue = 'docs'
	        AND state IN ('failed', 'completed')
	        AND finished_at > now() - make_interval(secs => p_long)),
	    (SELECT count(*) FROM payments WHERE status = 'FAILED'
	        AND updated_at > now() - make_interval(secs => p_long)),
	    (SELECT count(*) FROM payments
	        WHERE (status = 'FAILED'
	            AND updated_at > now() - make_interval(secs => p_long))
	        OR completed_at > now() - make_interval(secs => p_long)),
	    (SELECT count(*) FROM audit_logs
	        WHERE action = 'payment.failed'
	        AND coalesce(details->>'source', '') <> 'sweep'
	        AND created_at > now() - make_interval(secs => p_short));
$$;

-- The admin dashboard's database figures as one JSON object. Failure
-- shares are null when nothing happened in their window.
CREATE FUNCTION ops_dashboard()
RETURNS json LANGUAGE sql STABLE AS $$
	WITH
	u AS (
		SELECT count(*) AS total,
		    count(*) FILTER (WHERE is_demo) AS demo,
		    count(*) FILTER (WHERE NOT is_demo) AS real,
		    count(*) FILTER (WHERE disabled_at IS NOT NULL) AS disabled,
		    count(*) FILTER (WHERE last_login_at >
		        now() - interval '1 day') AS active1,
		    count(*) FILTER (WHERE last_login_at >
		        now() - interval '7 days') AS active7,
		    count(*) FILTER (WHERE last_login_at >
		        now() - interval '30 days') AS active30,
		    count(*) FILTER (WHERE created_at >
		        now() - interval '1 day') AS new1,
		    count(*) FILTER (WHERE NOT is_demo
		        AND created_at <= now() - interval '7 days'
		        AND created_at > now() - interval '37 days') AS cohort,
		    count(*) FILTER (WHERE NOT is_demo
		        AND created_at <= now() - interval '7 days'
		        AND created_at > now() - interval '37 days'
		        AND last_login_at > now() - interval '7 days')
		        AS returned
		FROM users),
	days AS (
		SELECT d::date AS day FROM generate_series(
		    (now() - interval '29 days')::date, now()::date,
		    interval '1 day') d),
	e AS (
		SELECT count(*) AS total,
		    count(DISTINCT user_id) AS owners,
		    coalesce(sum(call_count), 0) AS calls
		FROM endpoints),
	per_owner AS (
		SELECT count(*) AS n FROM endpoints GROUP BY user_id),
	minutes AS (
		SELECT date_trunc('minute', "timestamp") AS m, count(*) AS n
		FROM api_calls
		WHERE "timestamp" > date_trunc('minute', now()) -
		    interval '59 minutes'
		GROUP BY 1),
	gen AS (
		SELECT count(*) AS n, avg(generation_ms) AS avg_ms,
		    percentile_cont(0.5) WITHIN GROUP
		        (ORDER BY generation_ms) AS p50,
		    percentile_cont(0.95) WITHIN GROUP
		        (ORDER BY generation_ms) AS p95,
		    max(generation_ms) AS max_ms,
		    count(*) FILTER (WHERE ai_status = 'used') AS ai_used,
		    count(*) FILTER (WHERE ai_status = 'unavailable')
		        AS ai_failed,
		    count(*) FILTER (WHERE ai_status = 'disabled') AS ai_off
		FROM documentation
		WHERE generated_at > now() - interval '1 day'),
	docs_jobs AS (
		SELECT count(*) FILTER (WHERE state = 'failed') AS failed,
		    count(*) AS finished
		FROM jobs WHERE queue = 'docs'
		AND state IN ('failed', 'completed')
		AND finished_at > now() - interval '1 day'),
	logins AS (
		SELECT count(*) FILTER (WHERE action = 'auth.login_failed')
		        AS failed,
		    count(*) AS total
		FROM audit_logs
		WHERE action IN ('auth.login', 'auth.login_failed')
		AND created_at > now() - interval '1 day'),
	pay AS (
		SELECT count(*) FILTER (WHERE status IN ('COMPLETED',
		        'REFUNDED')) AS completed,
		    count(*) FILTER (WHERE status = 'FAILED') AS failed,
		    count(*) FILTER (WHERE status = 'PENDING') AS pending,
		    coalesce(sum(credits) FILTER (WHERE status IN ('COMPLETED',
		        'REFUNDED')), 0) AS credits,
		    count(DISTINCT user_id) FILTER (WHERE status IN
		        ('COMPLETED', 'REFUNDED')) AS buyers
		FROM payments),
	pay_day AS (
		SELECT count(*) FILTER (WHERE status IN ('COMPLETED',
		        'REFUNDED')) AS completed,
		    count(*) FILTER (WHERE status = 'FAILED') AS failed
		FROM payments WHERE updated_at > now() - interval '1 day'),
	revenue AS (
		SELECT currency, sum(amount_cents - refunded_cents) AS cents,
		    count(DISTINCT user_id) AS buyers
		FROM payments WHERE status IN ('COMPLETED', 'REFUNDED')
		GROUP BY currency)
	SELECT json_build_object(
	    'users', (SELECT json_build_object(
	        'total', total, 'real', real, 'demo', demo,
	        'disabled', disabled,
	        'active', json_build_object('day', active1, 'week', active7,
	            'month', active30),
	        'newLastDay', new1,
	        'newPerDay', (SELECT json_agg(json_build_object(
	            'day', days.day, 'count', (SELECT count(*) FROM users
	                WHERE created_at >= days.day
	                AND created_at < days.day + 1)) ORDER BY days.day)
	            FROM days),
	        'retention7d', json_build_object('cohort', cohort,
	            'returned', returned, 'rate', CASE WHEN cohort > 0 THEN
	            round(returned::numeric / cohort, 4) END),
	        'endpointsPerUser', json_build_object(
	            'average', CASE WHEN real > 0 THEN round((SELECT total
	                FROM e)::numeric / real, 2) ELSE 0 END,
	            'averageAmongOwners', coalesce((SELECT round(avg(n), 2)
	                FROM per_owner), 0),
	            'max', coalesce((SELECT max(n) FROM per_owner), 0)))
	        FROM u),
	    'endpoints', json_build_object(
	        'total', (SELECT total FROM e),
	        'byStatus', (SELECT json_build_object(
	            'ACTIVE', count(*) FILTER (WHERE status = 'ACTIVE'),
	            'PROCESSING', count(*) FILTER (WHERE status = 'PROCESSING'),
	            'COMPLETE', count(*) FILTER (WHERE status = 'COMPLETE'),
	            'ERROR', count(*) FILTER (WHERE status = 'ERROR'))
	            FROM endpoints)),
	    'calls', json_build_object(
	        'total', (SELECT calls FROM e),
	        'lastHour', coalesce((SELECT sum(n) FROM minutes), 0),
	        'perMinute', (SELECT json_agg(json_build_object('t', g.m,
	            'count', coalesce(minutes.n, 0)) ORDER BY g.m)
	            FROM generate_series(date_trunc('minute', now()) -
	                interval '59 minutes', date_trunc('minute', now()),
	                interval '1 minute') g(m)
	            LEFT JOIN minutes ON minutes.m = g.m)),
	    'generation', (SELECT json_build_object('lastDay', n,
	        'avgMs', coalesce(round(avg_ms), 0),
	        'p50Ms', coalesce(round(p50::numeric), 0),
	        'p95Ms', coalesce(round(p95::numeric), 0),
	        'maxMs', coalesce(max_ms, 0)) FROM gen),
	    'ai', (SELECT json_build_object('used', ai_used,
	        'unavailable', ai_failed, 'disabled', ai_off,
	        'successRate', CASE WHEN ai_used + ai_failed > 0 THEN
	            round(ai_used::numeric / (ai_used + ai_failed), 4) END)
	        FROM gen),
	    'queue', (SELECT json_build_object(
	        'waiting', count(*) FILTER (WHERE state = 'waiting'),
	        'active', count(*) FILTER (WHERE state = 'active'),
	        'delayed', count(*) FILTER (WHERE state = 'delayed'),
	        'completed', count(*) FILTER (WHERE state = 'completed'),
	        'failed', count(*) FILTER (WHERE state = 'failed'),
	        'depth', count(*) FILTER (WHERE state IN ('waiting',
	            'delayed')))
	        FROM jobs),
	    'failureRates', json_build_object(
	        'ai', (SELECT CASE WHEN ai_used + ai_failed > 0 THEN
	            round(ai_failed::numeric / (ai_used + ai_failed), 4) END
	            FROM gen),
	        'documentation', (SELECT CASE WHEN finished > 0 THEN
	            round(failed::numeric / finished, 4) END FROM docs_jobs),
	        'payments', (SELECT CASE WHEN completed + failed > 0 THEN
	            round(failed::numeric / (completed + failed), 4) END
	            FROM pay_day),
	        'logins', (SELECT CASE WHEN total > 0 THEN
	            round(failed::numeric / total, 4) END FROM logins)),
	    'purchases', (SELECT json_build_object(
	        'completed', completed, 'failed', failed, 'pending', pending,
	        'creditsSold', credits,
	        'creditsPerPurchase', CASE WHEN completed > 0 THEN
	            round(credits::numeric / completed, 2) ELSE 0 END,
	        'buyers', buyers,
	        'perDay', (SELECT json_agg(json_build_object('day', days.day,
	            'count', (SELECT count(*) FROM payments
	                WHERE status IN ('COMPLETED', 'REFUNDED')
	                AND completed_at >= days.day
	                AND completed_at < days.day + 1),
	            'credits', (SELECT coalesce(sum(credits), 0) FROM payments
	                WHERE status IN ('COMPLETED', 'REFUNDED')
	                AND completed_at >= days.day
	                AND completed_at < days.day + 1))
	            ORDER BY days.day) FROM days))
	        FROM pay),
	    'revenue', json_build_object(
	        'byCurrency', coalesce((SELECT json_agg(json_build_object(
	            'currency', currency, 'cents', cents,
	            'perBuyerCents', round(cents::numeric / buyers),
	            'perUserCents', round(cents::numeric / greatest((SELECT
	                real FROM u), 1))) ORDER BY currency)
	            FROM revenue), '[]'::json)));
$$;

-- The database's figures for GET /metrics, in Prometheus' text format.
CREATE FUNCTION ops_prometheus()
RETURNS text LANGUAGE sql STABLE AS $$
	WITH
	m(name, kind, help, labels, value, ord) AS (
	    SELECT 'apiscribe_users', 'gauge', 'Accounts by kind.',
	        format('kind="%s"', k), n::double precision, 1
	    FROM (SELECT 'real', count(*) FILTER (WHERE NOT is_demo)
	        FROM users UNION ALL
	        SELECT 'demo', count(*) FILTER (WHERE is_demo) FROM users)
	        x(k, n)
	    UNION ALL
	    SELECT 'apiscribe_users_active', 'gauge',
	        'Accounts signed in within the window.', format('window="%s"',
	        w), n, 2
	    FROM (SELECT '1d', count(*) FILTER (WHERE last_login_at >
	            now() - interval '1 day') FROM users UNION ALL
	        SELECT '7d', count(*) FILTER (WHERE last_login_at >
	            now() - interval '7 days') FROM users UNION ALL
	        SELECT '30d', count(*) FILTER (WHERE last_login_at >
	            now() - interval '30 days') FROM users) x(w, n)
	    UNION ALL
	    SELECT 'apiscribe_users_new_1d', 'gauge',
	        'Accounts registered in the last day.', '',
	        count(*), 3 FROM users
	        WHERE created_at > now() - interval '1 day'
	    UNION ALL
	    SELECT 'apiscribe_endpoints', 'gauge', 'Endpoints by status.',
	        format('status="%s"', s), (SELECT count(*) FROM endpoints
	        WHERE status = s), 4
	    FROM unnest(ARRAY['ACTIVE', 'PROCESSING', 'COMPLETE', 'ERROR']) s
	    UNION ALL
	    SELECT 'apiscribe_calls_captured', 'gauge',
	        'Captured calls stored, over all endpoints.', '',
	        coalesce(sum(call_count), 0), 5 FROM endpoints
	    UNION ALL
	    SELECT 'apiscribe_calls_captured_last_minute', 'gauge',
	        'Calls captured in the last 60 seconds.', '',
	        count(*), 6 FROM api_calls
	        WHERE "timestamp" > now() - interval '1 minute'
	    UNION ALL
	    SELECT 'apiscribe_jobs', 'gauge', 'Jobs by state.',
	        format('state="%s"', s), (SELECT count(*) FROM jobs
	        WHERE state = s), 7
	    FROM unnest(ARRAY['waiting', 'active', 'delayed', 'completed',
	        'failed']) s
	    UNION ALL
	    SELECT 'apiscribe_queue_depth', 'gauge',
	        'Jobs waiting to run (waiting and delayed).', '',
	        count(*), 8 FROM jobs WHERE state IN ('waiting', 'delayed')
	    UNION ALL
	    SELECT 'apiscribe_generation_milliseconds', 'gauge',
	        'Documentation generation time over the last day.',
	        format('stat="%s"', s), v, 9
	    FROM (SELECT 'avg', coalesce(avg(generation_ms), 0)
	            FROM documentation
	            WHERE generated_at > now() - interval '1 day'
	        UNION ALL
	        SELECT 'p95', coalesce(percentile_cont(0.95) WITHIN GROUP
	            (ORDER BY generation_ms), 0) FROM documentation
	            WHERE generated_at > now() - interval '1 day') x(s, v)
	    UNION ALL
	    SELECT 'apiscribe_documentation_generated', 'gauge',
	        'Documentation versions stored, by use of the language model.',
	        format('ai_status="%s"', s), (SELECT count(*) FROM
	        documentation WHERE ai_status = s), 10
	    FROM unnest(ARRAY['used', 'unavailable', 'disabled']) s
	    UNION ALL
	    SELECT 'apiscribe_payments', 'gauge', 'Payments by status.',
	        format('status="%s"', s), (SELECT count(*) FROM payments
	        WHERE status = s), 11
	    FROM unnest(ARRAY['PENDING', 'COMPLETED', 'FAILED', 'REFUNDED']) s
	    UNION ALL
	    SELECT 'apiscribe_credits_sold', 'gauge',
	        'Credits granted by completed purchases.', '',
	        coalesce(sum(credits), 0), 12 FROM payments
	        WHERE status IN ('COMPLETED', 'REFUNDED')
	    UNION ALL
	    SELECT 'apiscribe_revenue_cents', 'gauge',
	        'Money taken, net of refunds, in the currency''s cents.',
	        format('currency="%s"', currency),
	        sum(amount_cents - refunded_cents), 13 FROM payments
	        WHERE status IN ('COMPLETED', 'REFUNDED') GROUP BY currency
	    UNION ALL
	    SELECT 'apiscribe_ai_error_ratio_5m', 'gauge',
	        'Share of generations in 5 minutes whose model calls failed.',
	        '', CASE WHEN ai_total > 0 THEN ai_failed::double precision /
	        ai_total ELSE 0 END, 14 FROM ops_alert_inputs(300, 900)
	    UNION ALL
	    SELECT 'apiscribe_docs_failure_ratio_15m', 'gauge',
	        'Share of documentation jobs that failed in 15 minutes.', '',
	        CASE WHEN docs_total > 0 THEN docs_failed::double precision /
	        docs_total ELSE 0 END, 15 FROM ops_alert_inputs(300, 900)
	    UNION ALL
	    SELECT 'apiscribe_purchase_failure_ratio_15m', 'gauge',
	        'Share of credit purchases that failed in 15 minutes.', '',
	        CASE WHEN purchases_total > 0 THEN
	        purchases_failed::double precision / purchases_total
	        ELSE 0 END, 16 FROM ops_alert_inputs(300, 900)
	    UNION ALL
	    SELECT 'apiscribe_payment_failures_5m', 'gauge',
	        'Payments that failed in the last 5 minutes (not abandoned).',
	        '', payment_failures, 17 FROM ops_alert_inputs(300, 900)
	    UNION ALL
	    SELECT 'apiscribe_login_attempts_1d', 'gauge',
	        'Sign-in attempts in the last day, by result.',
	        format('result="%s"', r), (SELECT count(*) FROM audit_logs
	        WHERE action = a AND created_at > now() - interval '1 day'),
	        18
	    FROM (VALUES ('ok', 'auth.login'), ('failed', 'auth.login_failed'))
	        x(r, a)
	),
	named AS (
		SELECT name, min(kind) AS kind, min(help) AS help,
		    min(ord) AS ord,
		    string_agg(name || CASE WHEN labels <> '' THEN
		        '{' || labels || '}' ELSE '' END || ' ' ||
		        CASE WHEN value = trunc(value) AND abs(value) < 1e15
		        THEN trunc(value)::bigint::text
		        ELSE value::text END, E'\n' ORDER BY labels) AS lines
		FROM m GROUP BY name)
	SELECT coalesce(string_agg('# HELP ' || name || ' ' || help || E'\n' ||
	    '# TYPE ' || name || ' ' || kind || E'\n' || lines || E'\n', ''
	    ORDER BY ord), '')
	FROM named;
$$;
