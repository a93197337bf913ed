-- The whole data model (DESIGN section 5): accounts and sessions, the
-- credit ledger, endpoints and their captured calls, documentation
-- versions, payments and webhook events, the job queue, audit log and
-- notifications. Later migrations only add to it.
--
-- Constraints live here, not only in C: balances cannot go negative,
-- statuses are closed lists, emails are unique in any letter case.

CREATE TABLE users (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email		text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	password_hash	text NOT NULL,
	role		text NOT NULL DEFAULT 'user'
			CHECK (role IN ('user', 'admin')),
	is_demo		boolean NOT NULL DEFAULT false,
	credits		integer NOT NULL DEFAULT 0 CHECK (credits >= 0),
	disabled_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_login_at	timestamptz
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE INDEX users_created_at ON users (created_at, id);

-- The raw session token only ever lives in the browser's cookie.
CREATE TABLE sessions (
	token_hash	text PRIMARY KEY,
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	ip		text,
	user_agent	text
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE credit_transactions (
	id		bigserial PRIMARY KEY,
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	amount		integer NOT NULL CHECK (amount <> 0),
	kind		text NOT NULL CHECK (kind IN ('SIGNUP_BONUS', 'PURCHASE',
			    'ENDPOINT_CREATE', 'ADMIN_ADJUST', 'REFUND')),
	reference	text,
	balance_after	integer NOT NULL CHECK (balance_after >= 0),
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_transactions_user ON credit_transactions (user_id, id);

CREATE TABLE endpoints (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	destination_url	text NOT NULL CHECK (length(destination_url) <= 2000),
	status		text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN
			    ('ACTIVE', 'PROCESSING', 'COMPLETE', 'ERROR')),
	capture_secrets	boolean NOT NULL DEFAULT false,
	call_count	bigint NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_user ON endpoints (user_id, created_at DESC, id DESC);

-- Partitioned by month so old traffic can be dropped a month at a time.
-- There is no foreign key to endpoints: a key check on every captured row
-- costs the hot path, and deleting an endpoint removes its calls itself.
CREATE SEQUENCE api_calls_id_seq;
CREATE TABLE api_calls (
	id			bigint NOT NULL DEFAULT nextval('api_calls_id_seq'),
	endpoint_id		uuid NOT NULL,
	"timestamp"		timestamptz NOT NULL DEFAULT now(),
	method			text NOT NULL,
	path			text NOT NULL,
	query			text,
	request_headers		jsonb NOT NULL DEFAULT '{}',
	request_body		bytea,
	request_content_type	text,
	status_code		integer,
	response_headers	jsonb NOT NULL DEFAULT '{}',
	response_body		bytea,
	response_content_type	text,
	duration_ms		integer NOT NULL DEFAULT 0,
	request_size		bigint NOT NULL DEFAULT 0,
	response_size		bigint NOT NULL DEFAULT 0,
	request_truncated	boolean NOT NULL DEFAULT false,
	response_truncated	boolean NOT NULL DEFAULT false,
	redacted		boolean NOT NULL DEFAULT false,
	error			text
) PARTITION BY RANGE ("timestamp");
ALTER SEQUENCE api_calls_id_seq OWNED BY api_calls.id;
CREATE INDEX api_calls_endpoint_time ON api_calls
    (endpoint_id, "timestamp" DESC, id DESC);
CREATE INDEX api_calls_endpoint_id ON api_calls (endpoint_id, id);
CREATE TABLE api_calls_default PARTITION OF api_calls DEFAULT;

-- Creates the monthly partitions from this month to `ahead` months on.
CREATE FUNCTION api_calls_ensure_partitions(ahead integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	m	date := date_trunc('month', now())::date;
	name	text;
BEGIN
	FOR i IN 0 .. ahead LOOP
		name := 'api_calls_' || to_char(m, 'YYYY_MM');
		IF to_regclass(name) IS NULL THEN
			EXECUTE format('CREATE TABLE %I PARTITION OF api_calls '
			    'FOR VALUES FROM (%L) TO (%L)', name, m,
			    (m + interval '1 month')::date);
		END IF;
		m := (m + interval '1 month')::date;
	END LOOP;
END $$;
SELECT api_calls_ensure_partitions(2);

CREATE TABLE documentation (
	id		bigserial PRIMARY KEY,
	endpoint_id	uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
	version		integer NOT NULL CHECK (version > 0),
	openapi		jsonb NOT NULL,
	markdown	text NOT NULL,
	generated_at	timestamptz NOT NULL DEFAULT now(),
	generation_ms	integer NOT NULL DEFAULT 0,
	calls_analysed	bigint NOT NULL DEFAULT 0,
	ai_status	text NOT NULL CHECK (ai_status IN
			    ('used', 'unavailable', 'disabled')),
	model		text,
	UNIQUE (endpoint_id, version)
);

CREATE TABLE payments (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider	text NOT NULL CHECK (provider IN ('stripe', 'paypal')),
	provider_ref	text,
	package_id	text NOT NULL,
	status		text NOT NULL DEFAULT 'PENDING' CHECK (status IN
			    ('PENDING', 'COMPLETED', 'FAILED', 'REFUNDED')),
	amount_cents	integer NOT NULL CHECK (amount_cents > 0),
	currency	text NOT NULL,
	credits		integer NOT NULL CHECK (credits > 0),
	failure_reason	text,
	reconciled_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	completed_at	timestamptz
);
CREATE INDEX payments_user ON payments (user_id, created_at DESC);
CREATE UNIQUE INDEX payments_provider_ref ON payments (provider, provider_ref)
    WHERE provider_ref IS NOT NULL;

CREATE TABLE webhook_events (
	provider	text NOT NULL CHECK (provider IN ('stripe', 'paypal')),
	event_id	text NOT NULL,
	type		text NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	processed_at	timestamptz,
	payload		jsonb NOT NULL,
	PRIMARY KEY (provider, event_id)
);

CREATE TABLE jobs (
	id		bigserial PRIMARY KEY,
	queue		text NOT NULL,
	dedupe_key	text,
	payload		jsonb NOT NULL DEFAULT '{}',
	state		text NOT NULL DEFAULT 'waiting' CHECK (state IN
			    ('waiting', 'active', 'completed', 'failed',
			    'delayed')),
	attempts	integer NOT NULL DEFAULT 0,
	max_attempts	integer NOT NULL DEFAULT 3,
	run_at		timestamptz NOT NULL DEFAULT now(),
	locked_by	text,
	locked_at	timestamptz,
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	finished_at	timestamptz
);
-- A key may only be held by one unfinished job at a time.
CREATE UNIQUE INDEX jobs_dedupe_open ON jobs (dedupe_key)
    WHERE state IN ('waiting', 'active', 'delayed');
CREATE INDEX jobs_claim ON jobs (queue, run_at)
    WHERE state IN ('waiting', 'delayed');
CREATE INDEX jobs_state ON jobs (state, created_at);

CREATE TABLE audit_logs (
	id		bigserial PRIMARY KEY,
	actor_id	uuid REFERENCES users (id) ON DELETE SET NULL,
	action		text NOT NULL,
	target_type	text,
	target_id	text,
	ip		text,
	request_id	text,
	details		jsonb NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_created ON audit_logs (created_at DESC, id DESC);
CREATE INDEX audit_logs_actor ON audit_logs (actor_id, id DESC);
CREATE INDEX audit_logs_action ON audit_logs (action, id DESC);

CREATE TABLE notifications (
	id		bigserial PRIMARY KEY,
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	type		text NOT NULL,
	payload		jsonb NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now(),
	read_at		timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);

-- Fixed-window counters shared by every worker and instance: login
-- throttling and API rate limits.
CREATE TABLE rate_counters (
	bucket		text NOT NULL,
	window_start	timestamptz NOT NULL,
	count		integer NOT NULL DEFAULT 0,
	PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);
