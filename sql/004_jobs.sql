-- The documentation flow: the job queue's functions, documentation
-- versions and in-app notifications.
--
-- The jobs table of 001 is the queue. Workers claim rows with FOR UPDATE
-- SKIP LOCKED, so any number of workers and instances share it without
-- handing one job to two of them. A claimed job carries a lease: its
-- worker renews locked_at while it runs, and a lease that is not renewed
-- (the worker died or hung) lets another worker take the job back. Every
-- claim counts an attempt, and the worker's name with the attempt number
-- fences what it writes afterwards: a worker that lost its lease can no
-- longer complete or fail the job.
--
-- Everything that must happen together (the new documentation version,
-- the endpoint's status, the job's completion, the user's notification)
-- is one function call, so one statement and one transaction.

ALTER TABLE jobs
    ADD COLUMN progress smallint NOT NULL DEFAULT 0
	CHECK (progress BETWEEN 0 AND 100),
    ADD COLUMN stage text,
    ADD COLUMN started_at timestamptz,
    ADD COLUMN result jsonb;

-- The latest job of an endpoint is found by its dedupe key.
CREATE INDEX jobs_dedupe_key ON jobs (dedupe_key, id DESC);
-- Leases that ran out are found among the active jobs.
CREATE INDEX jobs_active_lease ON jobs (locked_at) WHERE state = 'active';

CREATE INDEX notifications_unread ON notifications (user_id)
    WHERE read_at IS NULL;

-- One in-app notification; other modules call this from their own SQL.
CREATE FUNCTION notification_add(p_user uuid, p_type text, p_payload jsonb)
RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO notifications (user_id, type, payload)
	VALUES (p_user, p_type, coalesce(p_payload, '{}'))
	RETURNING id;
$$;

-- Queues a job unless an unfinished one holds the same dedupe key; either
-- way the id of the job that will do the work comes back.
CREATE FUNCTION jobs_enqueue(p_queue text, p_dedupe text, p_payload jsonb,
    p_max_attempts integer, OUT job_id bigint, OUT created boolean)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO jobs (queue, dedupe_key, payload, max_attempts)
	VALUES (p_queue, p_dedupe, coalesce(p_payload, '{}'),
	    greatest(p_max_attempts, 1))
	ON CONFLICT (dedupe_key)
	    WHERE state IN ('waiting', 'active', 'delayed')
	DO NOTHING
	RETURNING id INTO job_id;

	IF job_id IS NOT NULL THEN
		created := true;
		PERFORM pg_notify('jobs', p_queue);
		RETURN;
	END IF;

	created := false;
	SELECT id INTO job_id FROM jobs
	WHERE dedupe_key = p_dedupe
	AND state IN ('waiting', 'active', 'delayed');
END $$;

-- What a queue does when one of its jobs has failed for the last time.
-- A documentation job leaves its endpoint in ERROR and tells the user.
CREATE FUNCTION docs_job_dead(p_job bigint, p_payload jsonb, p_error text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	e	endpoints;
BEGIN
	UPDATE endpoints SET status = 'ERROR', updated_at = now()
	WHERE id = (p_payload->>'endpointId')::uuid AND status = 'PROCESSING'
	RETURNING * INTO e;
	IF NOT FOUND THEN
		RETURN;
	END IF;

	PERFORM notification_add(e.user_id, 'docs.failed',
	    jsonb_build_object('endpointId', e.id, 'endpointName', e.name,
	    'jobId', p_job, 'error', p_error,
	    'message', format('Documentation for "%s" could not be '
	    'generated: %s. Generate it again to retry.', e.name, p_error)));
	PERFORM audit_add(NULL, 'docs.failed', 'endpoint', e.id::text,
	    jsonb_build_object('jobId', p_job, 'error', p_error));
END $$;

-- Marks a job failed for good and runs its queue's clean-up.
CREATE FUNCTION jobs_bury(p_job bigint, p_error text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	j	jobs;
BEGIN
	UPDATE jobs SET state = 'failed', finished_at = now(),
	    last_error = left(p_error, 2000), stage = 'failed'
	WHERE id = p_job
	RETURNING * INTO j;

	IF j.queue = 'docs' THEN
		PERFORM docs_job_dead(j.id, j.payload, p_error);
	END IF;
END $$;

-- Claims up to p_limit runnable jobs of the given queues for p_worker.
-- First, jobs whose lease ran out are taken back: queued again at once
-- when they have attempts left ("recovered"), buried otherwise ("dead").
-- Then runnable jobs are claimed ("run"), oldest due first; each claim
-- counts an attempt.
CREATE FUNCTION jobs_claim(p_queues text[], p_worker text, p_limit integer,
    p_lease integer)
RETURNS TABLE (job_id bigint, job_queue text, job_payload jsonb,
    job_attempt integer, job_max_attempts integer, outcome text,
    error text)
LANGUAGE plpgsql AS $$
DECLARE
	j	jobs;
	msg	text;
BEGIN
	FOR j IN
		SELECT * FROM jobs
		WHERE state = 'active'
		AND locked_at < now() - make_interval(secs => p_lease)
		AND queue = ANY (p_queues)
		ORDER BY locked_at
		LIMIT 20
		FOR UPDATE SKIP LOCKED
	LOOP
		msg := format('the worker %s stopped renewing its lease during '
		    'attempt %s', j.locked_by, j.attempts);
		IF j.attempts >= j.max_attempts THEN
			PERFORM jobs_bury(j.id, msg);
			outcome := 'dead';
		ELSE
			UPDATE jobs SET state = 'waiting', run_at = now(),
			    locked_by = NULL, locked_at = NULL,
			    last_error = msg, stage = 'waiting', progress = 0
			WHERE id = j.id;
			outcome := 'recovered';
		END IF;
		job_id := j.id;
		job_queue := j.queue;
		job_payload := j.payload;
		job_attempt := j.attempts;
		job_max_attempts := j.max_attempts;
		error := msg;
		RETURN NEXT;
	END LOOP;

	IF p_limit < 1 THEN
		RETURN;
	END IF;

	RETURN QUERY
	UPDATE jobs SET state = 'active', attempts = jobs.attempts + 1,
	    locked_by = p_worker, locked_at = now(), started_at = now(),
	    progress = 0, stage = 'starting'
	WHERE jobs.id IN (
		SELECT w.id FROM jobs w
		WHERE w.state IN ('waiting', 'delayed')
		AND w.queue = ANY (p_queues)
		AND w.run_at <= now()
		ORDER BY w.run_at, w.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED)
	RETURNING jobs.id, jobs.queue, jobs.payload, jobs.attempts,
	    jobs.max_attempts, 'run'::text, NULL::text;
END $$;

-- Renews the lease of a running job and records its progress. False when
-- the job is no longer this worker's attempt (the lease was lost).
CREATE FUNCTION jobs_beat(p_job bigint, p_attempt integer, p_worker text,
    p_progress integer, p_stage text)
RETURNS boolean LANGUAGE sql AS $$
	WITH u AS (
		UPDATE jobs SET locked_at = now(),
		    progress = coalesce(least(greatest(p_progress, 0), 100),
		        progress),
		    stage = coalesce(p_stage, stage)
		WHERE id = p_job AND state = 'active' AND attempts = p_attempt
		AND locked_by = p_worker
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM u);
$$;

-- Records a failed attempt: the job waits p_backoff_ms * 2^(attempt - 1)
-- before the next one (2, 4, 8 s with the default), or is buried after
-- its last, or at once when p_final says retrying cannot help. Returns
-- 'retry', 'dead', or 'lost' when the attempt is no longer this
-- worker's; retry_in_ms says when the next attempt is due.
CREATE FUNCTION jobs_fail(p_job bigint, p_attempt integer, p_worker text,
    p_error text, p_backoff_ms integer, p_final boolean, OUT outcome text,
    OUT retry_in_ms integer)
LANGUAGE plpgsql AS $$
DECLARE
	j	jobs;
BEGIN
	SELECT * INTO j FROM jobs
	WHERE id = p_job AND state = 'active' AND attempts = p_attempt
	AND locked_by = p_worker
	FOR UPDATE;
	IF NOT FOUND THEN
		outcome := 'lost';
		RETURN;
	END IF;

	IF j.attempts >= j.max_attempts OR p_final THEN
		PERFORM jobs_bury(j.id, p_error);
		outcome := 'dead';
		RETURN;
	END IF;

	retry_in_ms := least(p_backoff_ms::bigint *
	    (2 ^ (j.attempts - 1))::bigint, 3600000)::integer;
	UPDATE jobs SET state = 'delayed', locked_by = NULL, locked_at = NULL,
	    last_error = left(p_error, 2000), stage = 'waiting to retry',
	    run_at = now() + make_interval(secs => retry_in_ms / 1000.0)
	WHERE id = j.id;
	outcome := 'retry';
END $$;

-- Completes a job whose function has no completion of its own.
CREATE FUNCTION jobs_complete(p_job bigint, p_attempt integer,
    p_worker text, p_result jsonb)
RETURNS boolean LANGUAGE sql AS $$
	WITH u AS (
		UPDATE jobs SET state = 'completed', finished_at = now(),
		    progress = 100, stage = 'done', result = p_result
		WHERE id = p_job AND state = 'active' AND attempts = p_attempt
		AND locked_by = p_worker
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM u);
$$;

-- Puts a stopping worker's running jobs back in the queue at once, without
-- counting the interrupted attempt, so a restart loses no job and no time.
CREATE FUNCTION jobs_release(p_worker text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n	integer;
BEGIN
	UPDATE jobs SET state = 'waiting', attempts = greatest(attempts - 1, 0),
	    locked_by = NULL, locked_at = NULL, run_at = now(),
	    stage = 'waiting', progress = 0
	WHERE locked_by = p_worker AND state = 'active';
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('jobs', 'released');
	END IF;
	RETURN n;
END $$;

-- A shared budget of p_limit requests per p_window seconds (the language
-- model's requests per endpoint). Returns 0 when a request may go now,
-- else the milliseconds until the budget refills.
CREATE FUNCTION rate_take(p_bucket text, p_limit integer, p_window integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	w	timestamptz := to_timestamp(floor(extract(epoch FROM now()) /
	    p_window) * p_window);
	n	integer;
BEGIN
	INSERT INTO rate_counters AS r (bucket, window_start, count)
	VALUES (p_bucket, w, 1)
	ON CONFLICT (bucket, window_start)
	DO UPDATE SET count = r.count + 1 WHERE r.count < p_limit
	RETURNING count INTO n;
	IF n IS NOT NULL THEN
		RETURN 0;
	END IF;
	RETURN greatest(1, ceil(extract(epoch FROM w +
	    make_interval(secs => p_window) - now()) * 1000))::integer;
END $$;

-- POST /api/endpoints/{id}/generate. One unfinished job per endpoint: a
-- second request while one is queued or running gets the same job. The
-- endpoint row lock serialises concurrent requests for one endpoint.
CREATE FUNCTION docs_generate(p_user uuid, p_endpoint uuid,
    p_max_attempts integer, p_rid text, p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	e	endpoints;
	q	record;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO e FROM endpoints
	WHERE id = p_endpoint AND user_id = p_user
	FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'endpoint not found';
	END IF;

	SELECT id INTO q FROM jobs
	WHERE dedupe_key = 'endpoint-' || e.id
	AND state IN ('waiting', 'active', 'delayed');
	IF FOUND THEN
		RETURN json_build_object('jobId', q.id, 'status', e.status,
		    'created', false);
	END IF;

	IF NOT EXISTS (SELECT 1 FROM api_calls
	    WHERE endpoint_id = e.id AND status_code IS NOT NULL) THEN
		RAISE EXCEPTION USING ERRCODE = 'AP422',
		    MESSAGE = 'this endpoint has no captured calls yet: send '
		    'requests through its proxy URL, then generate';
	END IF;

	UPDATE endpoints SET status = 'PROCESSING', updated_at = now()
	WHERE id = e.id;
	SELECT * INTO q FROM jobs_enqueue('docs', 'endpoint-' || e.id,
	    jsonb_build_object('endpointId', e.id), p_max_attempts);
	PERFORM audit_add(p_user, 'docs.generate', 'endpoint', e.id::text,
	    jsonb_build_object('jobId', q.job_id));
	RETURN json_build_object('jobId', q.job_id, 'status', 'PROCESSING',
	    'created', true);
END $$;

-- POST /api/endpoints/{id}/reactivate: back to capturing. Not while a
-- job is generating its documentation.
CREATE FUNCTION docs_reactivate(p_user uuid, p_endpoint uuid, p_base text,
    p_rid text, p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	e	endpoints;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	SELECT * INTO e FROM endpoints
	WHERE id = p_endpoint AND user_id = p_user
	FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'endpoint not found';
	END IF;
	IF e.status = 'PROCESSING' THEN
		RAISE EXCEPTION USING ERRCODE = 'AP409',
		    MESSAGE = 'documentation is being generated for this '
		    'endpoint; reactivate it once the job has finished';
	END IF;

	IF e.status <> 'ACTIVE' THEN
		UPDATE endpoints SET status = 'ACTIVE', updated_at = now()
		WHERE id = e.id
		RETURNING * INTO e;
		PERFORM audit_add(p_user, 'endpoint.reactivate', 'endpoint',
		    e.id::text, '{}');
	END IF;
	RETURN endpoint_json(e, p_base);
END $$;

-- Publishes what a documentation job produced: the next version, the
-- endpoint COMPLETE, the job completed and the user told, all at once and
-- only while the job is still this worker's attempt (AP409 otherwise).
CREATE FUNCTION docs_publish(p_job bigint, p_attempt integer,
    p_worker text, p_endpoint uuid, p_openapi jsonb, p_markdown text,
    p_ms integer, p_calls bigint, p_ai text, p_model text, p_ai_note text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	j	jobs;
	e	endpoints;
	v	integer;
	msg	text;
BEGIN
	SELECT * INTO j FROM jobs
	WHERE id = p_job AND state = 'active' AND attempts = p_attempt
	AND locked_by = p_worker
	FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP409',
		    MESSAGE = 'the job is no longer held by this worker';
	END IF;

	SELECT * INTO e FROM endpoints WHERE id = p_endpoint FOR UPDATE;
	IF NOT FOUND THEN
		-- Deleted while its documentation was being written.
		UPDATE jobs SET state = 'completed', finished_at = now(),
		    progress = 100, stage = 'done',
		    result = jsonb_build_object('skipped', 'endpoint deleted')
		WHERE id = p_job;
		RETURN 0;
	END IF;

	SELECT coalesce(max(version), 0) + 1 INTO v
	FROM documentation WHERE endpoint_id = e.id;
	INSERT INTO documentation (endpoint_id, version, openapi, markdown,
	    generation_ms, calls_analysed, ai_status, model)
	VALUES (e.id, v, p_openapi, p_markdown, p_ms, p_calls, p_ai,
	    p_model);

	UPDATE endpoints SET status = 'COMPLETE', updated_at = now()
	WHERE id = e.id AND status = 'PROCESSING';

	UPDATE jobs SET state = 'completed', finished_at = now(),
	    progress = 100, stage = 'done',
	    result = jsonb_build_object('version', v, 'aiStatus', p_ai,
	        'callsAnalysed', p_calls, 'generationMs', p_ms)
	WHERE id = p_job;

	IF p_ai = 'unavailable' THEN
		msg := format('Documentation version %s of "%s" is ready, but '
		    'it was written from the captured calls alone: the '
		    'language model could not be used (%s).', v, e.name,
		    coalesce(p_ai_note, 'no answer'));
	ELSIF p_ai = 'disabled' THEN
		msg := format('Documentation version %s of "%s" is ready '
		    '(no language model is configured, so it has no written '
		    'descriptions).', v, e.name);
	ELSE
		msg := format('Documentation version %s of "%s" is ready.', v,
		    e.name);
	END IF;
	PERFORM notification_add(e.user_id, 'docs.ready',
	    jsonb_build_object('endpointId', e.id, 'endpointName', e.name,
	    'jobId', p_job, 'version', v, 'aiStatus', p_ai,
	    'aiError', p_ai_note, 'message', msg));
	PERFORM audit_add(NULL, 'docs.published', 'endpoint', e.id::text,
	    jsonb_build_object('jobId', p_job, 'version', v, 'aiStatus', p_ai));
	RETURN v;
END $$;
