-- Endpoints and captured calls: creation paid for in credits, the change
-- notifications the proxy's per-worker caches listen to, and the batched
-- write of captured calls.

ALTER TABLE endpoints ADD COLUMN last_call_at timestamptz;

-- Captured calls are written far more often than they are read by time.
-- Pages of calls go by id within an endpoint; the time index only has to
-- narrow a statistics window, which a BRIN index does at almost no cost
-- per insert.
DROP INDEX api_calls_endpoint_time;
CREATE INDEX api_calls_time ON api_calls USING brin ("timestamp");

-- Every worker keeps a short-lived cache of the endpoints its proxy
-- serves and drops an entry when this notification names it. Only the
-- columns the proxy reads trigger it: the capture writer bumps call
-- counts many times a second and must not flush the caches.
CREATE FUNCTION endpoints_notify_change()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('endpoint_changed', OLD.id::text);
		RETURN OLD;
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status OR
	    NEW.destination_url IS DISTINCT FROM OLD.destination_url OR
	    NEW.capture_secrets IS DISTINCT FROM OLD.capture_secrets THEN
		PERFORM pg_notify('endpoint_changed', NEW.id::text);
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER endpoints_changed AFTER UPDATE OR DELETE ON endpoints
    FOR EACH ROW EXECUTE FUNCTION endpoints_notify_change();

CREATE FUNCTION endpoint_json(e endpoints, p_base text)
RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', e.id, 'name', e.name,
	    'destinationUrl', e.destination_url, 'status', e.status,
	    'proxyUrl', rtrim(p_base, '/') || '/proxy/' || e.id,
	    'callCount', e.call_count, 'captureSecrets', e.capture_secrets,
	    'createdAt', e.created_at, 'updatedAt', e.updated_at,
	    'lastCallAt', e.last_call_at);
$$;

-- Creation costs 25 credits, taken in the same transaction as the insert.
CREATE FUNCTION endpoint_create(p_user uuid, p_name text, p_dest text,
    p_capture_secrets boolean, p_base text, p_ip text, p_rid text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	e	endpoints;
	bal	integer;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	INSERT INTO endpoints (user_id, name, destination_url, capture_secrets)
	VALUES (p_user, p_name, p_dest, coalesce(p_capture_secrets, false))
	RETURNING * INTO e;

	bal := credits_apply(p_user, -25, 'ENDPOINT_CREATE', e.id::text,
	    p_user);
	PERFORM audit_add(p_user, 'endpoint.create', 'endpoint', e.id::text,
	    jsonb_build_object('name', p_name, 'destinationUrl', p_dest));

	RETURN (endpoint_json(e, p_base)::jsonb ||
	    jsonb_build_object('balance', bal))::json;
END $$;

CREATE FUNCTION endpoint_update(p_user uuid, p_id uuid, p_name text,
    p_capture_secrets boolean, p_base text, p_ip text, p_rid text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	e	endpoints;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	UPDATE endpoints
	SET name = coalesce(p_name, name),
	    capture_secrets = coalesce(p_capture_secrets, capture_secrets),
	    updated_at = now()
	WHERE id = p_id AND user_id = p_user
	RETURNING * INTO e;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'endpoint not found';
	END IF;
	PERFORM audit_add(p_user, 'endpoint.update', 'endpoint', p_id::text,
	    jsonb_strip_nulls(jsonb_build_object('name', p_name,
	    'captureSecrets', p_capture_secrets)));
	RETURN endpoint_json(e, p_base);
END $$;

-- Deleting an endpoint removes its captured calls (api_calls has no
-- foreign key, see 001) and, through the cascade, its documentation.
CREATE FUNCTION endpoint_delete(p_user uuid, p_id uuid, p_ip text,
    p_rid text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM app_context(p_rid, p_ip);
	DELETE FROM endpoints WHERE id = p_id AND user_id = p_user;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'endpoint not found';
	END IF;
	DELETE FROM api_calls WHERE endpoint_id = p_id;
	PERFORM audit_add(p_user, 'endpoint.delete', 'endpoint', p_id::text,
	    '{}');
END $$;

-- One batch of captured calls from one worker, as parallel arrays. The
-- endpoint rows are locked in id order before their counters move, so
-- two workers flushing batches for the same endpoints cannot deadlock.
-- Calls of an endpoint deleted meanwhile are dropped.
CREATE FUNCTION capture_insert(p_endpoint uuid[], p_ts timestamptz[],
    p_method text[], p_path text[], p_query text[], p_req_headers text[],
    p_req_body bytea[], p_req_type text[], p_status integer[],
    p_resp_headers text[], p_resp_body bytea[], p_resp_type text[],
    p_duration integer[], p_req_size bigint[], p_resp_size bigint[],
    p_req_cut boolean[], p_resp_cut boolean[], p_redacted boolean[],
    p_error text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n	integer;
BEGIN
	PERFORM 1 FROM endpoints
	WHERE id = ANY (p_endpoint)
	ORDER BY id FOR UPDATE;

	INSERT INTO api_calls (endpoint_id, "timestamp", method, path, query,
	    request_headers, request_body, request_content_type, status_code,
	    response_headers, response_body, response_content_type,
	    duration_ms, request_size, response_size, request_truncated,
	    response_truncated, redacted, error)
	SELECT r.e, r.ts, r.m, r.p, r.q,
	    r.rqh::jsonb, r.rqb, r.rqt, r.s, r.rsh::jsonb, r.rsb, r.rst, r.d,
	    r.rqs, r.rss, r.rqc, r.rsc, r.red, r.err
	FROM unnest(p_endpoint, p_ts, p_method, p_path, p_query,
	    p_req_headers, p_req_body, p_req_type, p_status, p_resp_headers,
	    p_resp_body, p_resp_type, p_duration, p_req_size, p_resp_size,
	    p_req_cut, p_resp_cut, p_redacted, p_error)
	    AS r(e, ts, m, p, q, rqh, rqb, rqt, s, rsh, rsb, rst, d, rqs, rss,
	    rqc, rsc, red, err)
	JOIN endpoints e ON e.id = r.e;
	GET DIAGNOSTICS n = ROW_COUNT;

	UPDATE endpoints e
	SET call_count = e.call_count + c.n,
	    last_call_at = greatest(e.last_call_at, c.last)
	FROM (SELECT r.e AS id, count(*) AS n, max(r.ts) AS last
	    FROM unnest(p_endpoint, p_ts) AS r(e, ts) GROUP BY 1) c
	WHERE e.id = c.id;

	RETURN n;
END $$;
