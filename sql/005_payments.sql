-- Payments (DESIGN section 10): the credit packages on sale, what the
-- payments and webhook_events tables of 001 still lacked, and the SQL
-- functions through which a payment is begun, completed, failed and
-- refunded.
--
-- Every change of a payment's state happens inside one of these
-- functions, in the same transaction as its ledger row (credits_apply),
-- its notification and its audit rows, so money and credits cannot drift
-- apart. "Exactly once" rests on three things:
--   - a payment row is locked (FOR UPDATE) before its status is read, and
--     only a PENDING or FAILED payment can complete;
--   - a webhook event is inserted first, with ON CONFLICT DO NOTHING on
--     (provider, event_id): of several deliveries of one event, however
--     concurrent, exactly one transaction goes on to apply it;
--   - a unique index allows one PURCHASE ledger row per payment, whatever
--     any code path does.
--
-- Events may arrive out of order. A refund for a payment that has not
-- completed yet (or whose payment we cannot find yet) is stored with
-- result 'deferred' and no processed_at; completing the payment applies
-- it in the same transaction.

-- The packages on sale. The client names one; it never sends a price.
CREATE TABLE credit_packages (
	id		text PRIMARY KEY
			CHECK (id ~ '^[a-z][a-z0-9_-]{0,31}$'),
	label		text NOT NULL
			CHECK (length(label) BETWEEN 1 AND 100),
	credits		integer NOT NULL CHECK (credits > 0),
	amount_cents	integer NOT NULL CHECK (amount_cents >= 50),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	position	integer NOT NULL DEFAULT 0,
	active		boolean NOT NULL DEFAULT true
);

INSERT INTO credit_packages (id, label, credits, amount_cents, currency,
    position)
VALUES
	('starter', '100 credits (Starter)', 100, 500, 'USD', 1),
	('pro', '500 credits (Pro)', 500, 2000, 'USD', 2),
	('team', '1000 credits (Team)', 1000, 3500, 'USD', 3);

-- provider_ref is the Checkout Session or the PayPal order; the payment
-- reference is what the money moved as (Stripe's PaymentIntent, PayPal's
-- capture), which is all a refund event names. A refund takes back the
-- share of credits it pays back; what the balance no longer holds is
-- recorded as unrecovered rather than driving the balance negative.
ALTER TABLE payments
	ADD COLUMN provider_payment_ref text,
	ADD COLUMN refunded_cents integer NOT NULL DEFAULT 0,
	ADD COLUMN credits_revoked integer NOT NULL DEFAULT 0,
	ADD COLUMN credits_unrecovered integer NOT NULL DEFAULT 0,
	ADD COLUMN completed_by text,
	ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
	ADD CONSTRAINT payments_package_fk FOREIGN KEY (package_id)
	    REFERENCES credit_packages (id),
	ADD CONSTRAINT payments_currency_check
	    CHECK (currency ~ '^[A-Z]{3}$'),
	ADD CONSTRAINT payments_refunded_check
	    CHECK (refunded_cents BETWEEN 0 AND amount_cents),
	ADD CONSTRAINT payments_revoked_check
	    CHECK (credits_revoked >= 0 AND credits_unrecovered >= 0 AND
	    credits_revoked + credits_unrecovered <= credits),
	ADD CONSTRAINT payments_completed_check
	    CHECK ((status IN ('COMPLETED', 'REFUNDED')) =
	    (completed_at IS NOT NULL)),
	ADD CONSTRAINT payments_failed_check
	    CHECK (status <> 'FAILED' OR failure_reason IS NOT NULL),
	ADD CONSTRAINT payments_completed_by_check
	    CHECK (completed_by IN ('webhook', 'capture', 'admin'));
CREATE INDEX payments_package ON payments (package_id);
CREATE UNIQUE INDEX payments_provider_payment_ref
    ON payments (provider, provider_payment_ref)
    WHERE provider_payment_ref IS NOT NULL;
CREATE INDEX payments_pending ON payments (created_at)
    WHERE status = 'PENDING';
-- Pages of a user's payments go by (created_at, id); this replaces 001's
-- index on (user_id, created_at), which it covers.
DROP INDEX payments_user;
CREATE INDEX payments_user_page ON payments (user_id, created_at DESC,
    id DESC);

-- One purchase grant per payment, enforced by the database itself.
CREATE UNIQUE INDEX credit_transactions_purchase_once
    ON credit_transactions (reference) WHERE kind = 'PURCHASE';

-- What became of each event, which payment it was about, and the
-- provider object it named (for deferred refunds).
ALTER TABLE webhook_events
	ADD COLUMN payment_id uuid REFERENCES payments (id) ON DELETE SET NULL,
	ADD COLUMN result text,
	ADD COLUMN object_ref text;
CREATE INDEX webhook_events_payment ON webhook_events (payment_id);
CREATE INDEX webhook_events_deferred ON webhook_events (provider, object_ref)
    WHERE processed_at IS NULL;
CREATE INDEX webhook_events_received ON webhook_events (received_at DESC);

-- Text that is a UUID, or NULL: event fields are never trusted to be one.
CREATE FUNCTION payments_uuid(p text)
RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
	    '[0-9a-f]{4}-[0-9a-f]{12}$' THEN p::uuid END;
$$;

CREATE FUNCTION payments_int(p text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p ~ '^[0-9]{1,9}$' THEN p::integer END;
$$;

-- A decimal amount ("5.00") in the currency's smallest unit, or NULL.
CREATE FUNCTION payments_cents(p_value text, p_currency text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_value ~ '^[0-9]{1,9}(\.[0-9]{1,2})?$' THEN
	    round(p_value::numeric * CASE WHEN upper(p_currency) IN
	    ('JPY', 'HUF', 'TWD', 'KRW') THEN 1 ELSE 100 END)::integer END;
$$;

CREATE FUNCTION payment_json(p payments)
RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', p.id, 'provider', p.provider,
	    'packageId', p.package_id, 'status', p.status,
	    'credits', p.credits, 'amountCents', p.amount_cents,
	    'currency', p.currency, 'failureReason', p.failure_reason,
	    'refundedCents', p.refunded_cents,
	    'creditsRevoked', p.credits_revoked,
	    'createdAt', p.created_at, 'completedAt', p.completed_at);
$$;

-- Starts a purchase: the PENDING row is written before any provider is
-- asked, so no checkout can exist that we hold no record of.
CREATE FUNCTION payments_begin(p_user uuid, p_package text, p_provider text,
    p_rid text, p_ip text, OUT o_id uuid, OUT o_credits integer,
    OUT o_amount_cents integer, OUT o_currency text, OUT o_label text)
LANGUAGE plpgsql AS $$
DECLARE
	u	users;
	k	credit_packages;
	recent	integer;
BEGIN
	PERFORM app_context(p_rid, p_ip);

	SELECT * INTO u FROM users WHERE id = p_user;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'user not found';
	END IF;
	IF u.is_demo OR u.disabled_at IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'AP403',
		    MESSAGE = 'demo accounts cannot buy credits; register an '
		    'account of your own to buy them';
	END IF;
	IF p_provider NOT IN ('stripe', 'paypal') THEN
		RAISE EXCEPTION USING ERRCODE = 'AP422',
		    MESSAGE = 'provider must be "stripe" or "paypal"';
	END IF;

	SELECT * INTO k FROM credit_packages WHERE id = p_package AND active;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP422',
		    MESSAGE = format('unknown package "%s"; choose one of %s',
		    left(p_package, 32), (SELECT string_agg(id, ', '
		    ORDER BY position) FROM credit_packages WHERE active));
	END IF;

	-- Checkouts nobody finishes are cheap for a client to start and
	-- each one costs a provider call: a few an hour is plenty.
	SELECT count(*) INTO recent FROM payments
	WHERE user_id = p_user AND status = 'PENDING'
	AND created_at > now() - interval '1 hour';
	IF recent >= 20 THEN
		RAISE EXCEPTION USING ERRCODE = 'AP429',
		    MESSAGE = 'too many unfinished checkouts in the last hour; '
		    'finish or cancel one first';
	END IF;

	INSERT INTO payments (user_id, provider, package_id, amount_cents,
	    currency, credits)
	VALUES (p_user, p_provider, k.id, k.amount_cents, k.currency,
	    k.credits)
	RETURNING id INTO o_id;

	PERFORM audit_add(p_user, 'payment.checkout', 'payment', o_id::text,
	    jsonb_build_object('provider', p_provider, 'packageId', k.id,
	    'amountCents', k.amount_cents, 'currency', k.currency,
	    'credits', k.credits));

	o_credits := k.credits;
	o_amount_cents := k.amount_cents;
	o_currency := k.currency;
	o_label := k.label;
END $$;

-- The provider accepted the checkout: remember its session or order.
CREATE FUNCTION payments_started(p_payment uuid, p_ref text, p_rid text,
    p_ip text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	uid	uuid;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	UPDATE payments SET provider_ref = p_ref, updated_at = now()
	WHERE id = p_payment AND provider_ref IS NULL
	RETURNING user_id INTO uid;
	IF uid IS NOT NULL THEN
		PERFORM audit_add(uid, 'payment.redirect', 'payment',
		    p_payment::text, jsonb_build_object('providerRef', p_ref));
	END IF;
END $$;

-- PENDING to FAILED. Returns whether the payment changed.
CREATE FUNCTION payments_fail(p_payment uuid, p_reason text, p_source text,
    p_actor uuid)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	p	payments;
BEGIN
	SELECT * INTO p FROM payments WHERE id = p_payment FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'payment not found';
	END IF;
	IF p.status <> 'PENDING' THEN
		RETURN false;
	END IF;

	UPDATE payments SET status = 'FAILED',
	    failure_reason = left(coalesce(p_reason, 'failed'), 300),
	    updated_at = now()
	WHERE id = p_payment;
	PERFORM audit_add(p_actor, 'payment.failed', 'payment',
	    p_payment::text, jsonb_build_object('reason', p_reason,
	    'source', p_source, 'provider', p.provider));
	RETURN true;
END $$;

-- The same for the C side, which names the request for the audit row.
CREATE FUNCTION payments_mark_failed(p_payment uuid, p_reason text,
    p_source text, p_rid text, p_ip text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM app_context(p_rid, p_ip);
	RETURN payments_fail(p_payment, p_reason, p_source, NULL);
END $$;

-- Takes back the credits of the refunded share of a payment. p_total is
-- the whole amount refunded so far, as the provider reports it, so the
-- same refund reported twice (or reports arriving out of order) takes
-- back nothing more. Returns 'refunded', 'duplicate' or, while the
-- payment has not completed, 'deferred'.
CREATE FUNCTION payments_refund(p_payment uuid, p_total integer,
    p_source text, p_ref text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	p		payments;
	total		integer;
	target		integer;
	due		integer;
	bal		integer;
	take		integer;
BEGIN
	SELECT * INTO p FROM payments WHERE id = p_payment FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'payment not found';
	END IF;
	IF p.status NOT IN ('COMPLETED', 'REFUNDED') THEN
		RETURN 'deferred';
	END IF;

	total := least(greatest(p.refunded_cents, coalesce(p_total, 0)),
	    p.amount_cents);
	IF total = p.refunded_cents THEN
		RETURN 'duplicate';
	END IF;

	IF total >= p.amount_cents THEN
		target := p.credits;
	ELSE
		target := (p.credits::bigint * total / p.amount_cents)::integer;
	END IF;
	due := greatest(target - p.credits_revoked - p.credits_unrecovered, 0);

	SELECT credits INTO bal FROM users WHERE id = p.user_id FOR UPDATE;
	take := least(due, bal);
	IF take > 0 THEN
		PERFORM credits_apply(p.user_id, -take, 'REFUND',
		    'payment:' || p.id, NULL);
	END IF;

	UPDATE payments SET refunded_cents = total,
	    credits_revoked = credits_revoked + take,
	    credits_unrecovered = credits_unrecovered + (due - take),
	    status = CASE WHEN total >= amount_cents THEN 'REFUNDED'
	        ELSE status END,
	    updated_at = now()
	WHERE id = p.id;

	INSERT INTO notifications (user_id, type, payload)
	VALUES (p.user_id, 'payment.refunded', jsonb_build_object(
	    'paymentId', p.id, 'provider', p.provider,
	    'refundedCents', total, 'amountCents', p.amount_cents,
	    'currency', p.currency, 'creditsRevoked', take));
	PERFORM audit_add(NULL, 'payment.refunded', 'payment', p.id::text,
	    jsonb_build_object('source', p_source, 'reference', p_ref,
	    'refundedCents', total, 'creditsRevoked', take,
	    'creditsUnrecovered', due - take));
	RETURN 'refunded';
END $$;

-- The refund an event reports, as the whole amount refunded so far.
CREATE FUNCTION payments_refund_total(p_payment uuid, e webhook_events)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
	p	payments;
	cur	text;
BEGIN
	SELECT * INTO p FROM payments WHERE id = p_payment;
	IF e.provider = 'stripe' THEN
		IF upper(e.payload #>> '{data,object,currency}') <>
		    p.currency THEN
			RETURN NULL;
		END IF;
		RETURN payments_int(e.payload #>>
		    '{data,object,amount_refunded}');
	END IF;

	-- PayPal's refund carries the running total; older payloads only
	-- their own amount, which is added (each event applies once).
	cur := e.payload #>> '{resource,amount,currency_code}';
	IF cur IS DISTINCT FROM p.currency THEN
		RETURN NULL;
	END IF;
	RETURN coalesce(payments_cents(e.payload #>> '{resource,'
	    'seller_payable_breakdown,total_refunded_amount,value}', cur),
	    p.refunded_cents + payments_cents(e.payload #>>
	    '{resource,amount,value}', cur));
END $$;

-- Completes a payment and grants its credits, exactly once: returns true
-- when this call did it, false when the payment had already completed
-- (or been refunded). A FAILED payment may still complete: when the
-- provider says it was paid, the money arrived and the credits are owed.
-- Refund events that arrived before the completion are applied after it.
-- source is 'webhook', 'capture' or 'admin' (an admin fulfilling a
-- payment whose webhook was lost).
CREATE FUNCTION payments_complete(p_payment uuid, p_source text,
    p_actor uuid, p_payment_ref text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	p	payments;
	was	text;
	e	webhook_events;
	r	text;
BEGIN
	SELECT * INTO p FROM payments WHERE id = p_payment FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'payment not found';
	END IF;
	IF p.status NOT IN ('PENDING', 'FAILED') THEN
		RETURN false;
	END IF;
	was := p.status;

	UPDATE payments SET status = 'COMPLETED', completed_at = now(),
	    completed_by = p_source, failure_reason = NULL,
	    provider_payment_ref = coalesce(provider_payment_ref,
	        p_payment_ref),
	    updated_at = now()
	WHERE id = p_payment
	RETURNING * INTO p;

	PERFORM credits_apply(p.user_id, p.credits, 'PURCHASE',
	    'payment:' || p.id, p_actor);
	INSERT INTO notifications (user_id, type, payload)
	VALUES (p.user_id, 'payment.completed', jsonb_build_object(
	    'paymentId', p.id, 'provider', p.provider,
	    'credits', p.credits, 'amountCents', p.amount_cents,
	    'currency', p.currency));
	PERFORM audit_add(p_actor, 'payment.completed', 'payment', p.id::text,
	    jsonb_build_object('source', p_source, 'provider', p.provider,
	    'credits', p.credits, 'amountCents', p.amount_cents,
	    'currency', p.currency, 'previousStatus', was));

	FOR e IN SELECT * FROM webhook_events
	    WHERE processed_at IS NULL AND result = 'deferred'
	    AND provider = p.provider
	    AND (payment_id = p.id OR object_ref = p.provider_payment_ref)
	    ORDER BY received_at, event_id
	    FOR UPDATE
	LOOP
		r := payments_refund(p.id, payments_refund_total(p.id, e),
		    'webhook', e.event_id);
		UPDATE webhook_events SET processed_at = now(), result = r,
		    payment_id = p.id
		WHERE provider = e.provider AND event_id = e.event_id;
	END LOOP;
	RETURN true;
END $$;

-- For the admin area: fulfil a payment (the provider shows it paid but
-- its webhook never arrived). Safe to call any number of times.
CREATE FUNCTION payments_fulfil(p_payment uuid, p_source text, p_actor uuid,
    p_rid text, p_ip text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	applied	boolean;
	p	payments;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	IF p_source NOT IN ('webhook', 'capture', 'admin') THEN
		RAISE EXCEPTION USING ERRCODE = 'AP422',
		    MESSAGE = 'source must be webhook, capture or admin';
	END IF;
	applied := payments_complete(p_payment, p_source, p_actor, NULL);
	SELECT * INTO p FROM payments WHERE id = p_payment;
	RETURN json_build_object('applied', applied,
	    'payment', payment_json(p));
END $$;

-- Stores an event once; false when (provider, id) was already there.
-- A concurrent delivery of the same event waits here for the first
-- transaction and then finds the row.
CREATE FUNCTION payments_event_insert(p_provider text, p_id text,
    p_type text, p_payload jsonb)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO webhook_events (provider, event_id, type, payload)
	VALUES (p_provider, p_id, p_type, p_payload)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN true;
	END IF;
	PERFORM audit_add(NULL, 'payment.webhook_duplicate', 'webhook',
	    p_provider || ':' || p_id, jsonb_build_object('type', p_type));
	RETURN false;
END $$;

CREATE FUNCTION payments_event_done(p_provider text, p_id text,
    p_result text, p_payment uuid, p_object text, p_note text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE webhook_events
	SET processed_at = CASE WHEN p_result = 'deferred' THEN NULL
	        ELSE now() END,
	    result = p_result, payment_id = p_payment, object_ref = p_object
	WHERE provider = p_provider AND event_id = p_id;
	PERFORM audit_add(NULL, 'payment.webhook', CASE WHEN p_payment IS NULL
	    THEN 'webhook' ELSE 'payment' END,
	    coalesce(p_payment::text, p_provider || ':' || p_id),
	    jsonb_build_object('provider', p_provider, 'eventId', p_id,
	    'type', (SELECT type FROM webhook_events WHERE
	    provider = p_provider AND event_id = p_id),
	    'result', p_result, 'note', p_note));
END $$;

CREATE FUNCTION payments_parse_event(p_body text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN p_body::jsonb;
EXCEPTION WHEN data_exception THEN
	RAISE EXCEPTION USING ERRCODE = 'AP400',
	    MESSAGE = 'the event is not JSON that can be stored';
END $$;

-- Applies one verified Stripe event. o_result says what happened:
-- completed, failed, refunded, awaiting_payment, deferred, duplicate,
-- ignored (a type we do not act on), unmatched (no such payment),
-- mismatch (the event does not fit the payment it names), or
-- already_<status> (nothing left to do).
CREATE FUNCTION payments_stripe_event(p_body text, p_rid text, p_ip text,
    OUT o_result text, OUT o_event text, OUT o_type text,
    OUT o_payment uuid, OUT o_user uuid, OUT o_status text,
    OUT o_note text)
LANGUAGE plpgsql AS $$
DECLARE
	ev	jsonb;
	obj	jsonb;
	p	payments;
	ref	text;
	owner	text;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	ev := payments_parse_event(p_body);
	o_event := ev->>'id';
	o_type := ev->>'type';
	obj := ev #> '{data,object}';
	IF jsonb_typeof(ev) <> 'object' OR o_event IS NULL OR o_type IS NULL
	    OR length(o_event) > 255 OR length(o_type) > 255
	    OR jsonb_typeof(obj) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION USING ERRCODE = 'AP400',
		    MESSAGE = 'this is not a Stripe event';
	END IF;

	IF NOT payments_event_insert('stripe', o_event, o_type, ev) THEN
		o_result := 'duplicate';
		RETURN;
	END IF;

	IF o_type LIKE 'checkout.session.%' THEN
		ref := obj->>'id';
		SELECT * INTO p FROM payments
		WHERE provider = 'stripe' AND id = payments_uuid(coalesce(
		    obj #>> '{metadata,payment_id}',
		    obj->>'client_reference_id'))
		FOR UPDATE;
		owner := obj #>> '{metadata,user_id}';

		IF NOT FOUND THEN
			o_result := 'unmatched';
			o_note := 'no Stripe payment has the id in its '
			    'metadata';
		ELSIF p.provider_ref IS DISTINCT FROM ref AND
		    p.provider_ref IS NOT NULL THEN
			o_result := 'mismatch';
			o_note := 'the session is not the one created for '
			    'this payment';
		ELSIF owner IS DISTINCT FROM p.user_id::text AND
		    (owner IS NOT NULL OR p.provider_ref IS NULL) THEN
			o_result := 'mismatch';
			o_note := 'the session was made for another user';
		ELSIF o_type IN ('checkout.session.completed',
		    'checkout.session.async_payment_succeeded') AND
		    (payments_int(obj->>'amount_total') IS DISTINCT FROM
		    p.amount_cents OR upper(obj->>'currency') IS DISTINCT FROM
		    p.currency) THEN
			o_result := 'mismatch';
			o_note := 'the amount paid is not the package price';
		ELSIF o_type = 'checkout.session.completed' AND
		    coalesce(obj->>'payment_status', '') NOT IN ('paid',
		    'no_payment_required') THEN
			-- A delayed method: async_payment_* decides later.
			UPDATE payments
			SET provider_ref = coalesce(provider_ref, ref),
			    provider_payment_ref = coalesce(
			    provider_payment_ref, obj->>'payment_intent'),
			    updated_at = now()
			WHERE id = p.id;
			IF p.status = 'PENDING' THEN
				o_result := 'awaiting_payment';
			END IF;
		ELSIF o_type IN ('checkout.session.completed',
		    'checkout.session.async_payment_succeeded') THEN
			IF payments_complete(p.id, 'webhook', NULL,
			    obj->>'payment_intent') THEN
				o_result := 'completed';
			END IF;
		ELSIF o_type = 'checkout.session.async_payment_failed' THEN
			IF payments_fail(p.id, 'the delayed payment failed at '
			    'Stripe', 'webhook', NULL) THEN
				o_result := 'failed';
			END IF;
		ELSIF o_type = 'checkout.session.expired' THEN
			IF payments_fail(p.id, 'the Stripe checkout expired '
			    'before it was paid', 'webhook', NULL) THEN
				o_result := 'failed';
			END IF;
		ELSE
			o_result := 'ignored';
		END IF;
		IF o_result IS NULL THEN
			o_result := 'already_' || lower(p.status);
		END IF;

	ELSIF o_type = 'charge.refunded' THEN
		ref := obj->>'payment_intent';
		SELECT * INTO p FROM payments
		WHERE provider = 'stripe' AND provider_payment_ref = ref;
		IF NOT FOUND THEN
			SELECT * INTO p FROM payments WHERE provider = 'stripe'
			AND id = payments_uuid(obj #>> '{metadata,payment_id}');
		END IF;
		IF p.id IS NULL THEN
			o_result := 'deferred';
			o_note := 'no completed payment has this PaymentIntent '
			    'yet';
		ELSIF upper(obj->>'currency') IS DISTINCT FROM p.currency THEN
			o_result := 'mismatch';
			o_note := 'the refund is in another currency';
		ELSE
			o_result := payments_refund(p.id,
			    payments_int(obj->>'amount_refunded'), 'webhook',
			    o_event);
		END IF;

	ELSE
		o_result := 'ignored';
	END IF;

	PERFORM payments_event_done('stripe', o_event, o_result, p.id, ref,
	    o_note);
	o_payment := p.id;
	o_user := p.user_id;
	SELECT status INTO o_status FROM payments WHERE id = p.id;
END $$;

-- Applies one verified PayPal event; results as for Stripe.
CREATE FUNCTION payments_paypal_event(p_body text, p_rid text, p_ip text,
    OUT o_result text, OUT o_event text, OUT o_type text,
    OUT o_payment uuid, OUT o_user uuid, OUT o_status text,
    OUT o_note text)
LANGUAGE plpgsql AS $$
DECLARE
	ev	jsonb;
	res	jsonb;
	p	payments;
	ref	text;
	ord	text;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	ev := payments_parse_event(p_body);
	o_event := ev->>'id';
	o_type := ev->>'event_type';
	res := ev->'resource';
	IF jsonb_typeof(ev) <> 'object' OR o_event IS NULL OR o_type IS NULL
	    OR length(o_event) > 255 OR length(o_type) > 255
	    OR jsonb_typeof(res) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION USING ERRCODE = 'AP400',
		    MESSAGE = 'this is not a PayPal event';
	END IF;

	IF NOT payments_event_insert('paypal', o_event, o_type, ev) THEN
		o_result := 'duplicate';
		RETURN;
	END IF;

	IF o_type IN ('PAYMENT.CAPTURE.COMPLETED', 'PAYMENT.CAPTURE.PENDING',
	    'PAYMENT.CAPTURE.DENIED', 'PAYMENT.CAPTURE.DECLINED') THEN
		ref := res->>'id';
		ord := res #>> '{supplementary_data,related_ids,order_id}';
		SELECT * INTO p FROM payments
		WHERE provider = 'paypal' AND (id = payments_uuid(
		    res->>'custom_id') OR (payments_uuid(res->>'custom_id')
		    IS NULL AND provider_ref = ord))
		FOR UPDATE;

		IF NOT FOUND THEN
			o_result := 'unmatched';
			o_note := 'no PayPal payment has this custom_id';
		ELSIF ord IS DISTINCT FROM p.provider_ref AND
		    (ord IS NOT NULL OR p.provider_ref IS NULL) THEN
			o_result := 'mismatch';
			o_note := 'the order is not the one created for this '
			    'payment';
		ELSIF o_type = 'PAYMENT.CAPTURE.COMPLETED' AND
		    (payments_cents(res #>> '{amount,value}',
		    res #>> '{amount,currency_code}') IS DISTINCT FROM
		    p.amount_cents OR res #>> '{amount,currency_code}'
		    IS DISTINCT FROM p.currency) THEN
			o_result := 'mismatch';
			o_note := 'the amount captured is not the package '
			    'price';
		ELSIF o_type = 'PAYMENT.CAPTURE.COMPLETED' THEN
			IF payments_complete(p.id, 'webhook', NULL, ref) THEN
				o_result := 'completed';
			END IF;
		ELSIF o_type = 'PAYMENT.CAPTURE.PENDING' THEN
			UPDATE payments SET provider_payment_ref = coalesce(
			    provider_payment_ref, ref), updated_at = now()
			WHERE id = p.id AND status = 'PENDING';
			IF FOUND THEN
				o_result := 'awaiting_payment';
			END IF;
		ELSE
			IF payments_fail(p.id, 'PayPal denied the payment',
			    'webhook', NULL) THEN
				o_result := 'failed';
			END IF;
		END IF;
		IF o_result IS NULL THEN
			o_result := 'already_' || lower(p.status);
		END IF;

	ELSIF o_type = 'PAYMENT.CAPTURE.REFUNDED' THEN
		-- The refund names its capture only through its "up" link.
		SELECT regexp_replace(l->>'href', '^.*/', '') INTO ref
		FROM jsonb_array_elements(CASE WHEN jsonb_typeof(res->'links')
		    = 'array' THEN res->'links' ELSE '[]' END) l
		WHERE l->>'rel' = 'up' LIMIT 1;
		SELECT * INTO p FROM payments
		WHERE provider = 'paypal'
		AND id = payments_uuid(res->>'custom_id');
		IF NOT FOUND THEN
			SELECT * INTO p FROM payments
			WHERE provider = 'paypal'
			AND provider_payment_ref = ref;
		END IF;

		IF p.id IS NULL THEN
			o_result := 'deferred';
			o_note := 'no payment has this capture yet';
		ELSIF ref IS NOT NULL AND p.provider_payment_ref IS NOT NULL
		    AND ref <> p.provider_payment_ref THEN
			o_result := 'mismatch';
			o_note := 'the refund is of another capture';
		ELSE
			o_result := payments_refund(p.id, payments_refund_total(
			    p.id, (SELECT w FROM webhook_events w WHERE
			    w.provider = 'paypal' AND w.event_id = o_event)),
			    'webhook', o_event);
		END IF;

	ELSE
		o_result := 'ignored';
	END IF;

	PERFORM payments_event_done('paypal', o_event, o_result, p.id, ref,
	    o_note);
	o_payment := p.id;
	o_user := p.user_id;
	SELECT status INTO o_status FROM payments WHERE id = p.id;
END $$;

-- The answer of PayPal's capture call, applied for the buyer who asked
-- for it. The webhook for the same capture may come first, later, or at
-- the same moment: whichever runs second finds the payment completed.
CREATE FUNCTION payments_paypal_captured(p_payment uuid, p_body text,
    p_rid text, p_ip text, OUT o_result text, OUT o_capture_status text,
    OUT o_payment json)
LANGUAGE plpgsql AS $$
DECLARE
	ord	jsonb;
	cap	jsonb;
	p	payments;
BEGIN
	PERFORM app_context(p_rid, p_ip);
	ord := payments_parse_event(p_body);
	SELECT * INTO p FROM payments WHERE id = p_payment FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'AP404',
		    MESSAGE = 'payment not found';
	END IF;
	IF jsonb_typeof(ord) <> 'object' OR
	    ord->>'id' IS DISTINCT FROM p.provider_ref THEN
		RAISE EXCEPTION USING ERRCODE = 'AP502',
		    MESSAGE = 'PayPal answered about another order';
	END IF;
	cap := ord #> '{purchase_units,0,payments,captures,0}';
	o_capture_status := cap->>'status';
	IF jsonb_typeof(cap) IS DISTINCT FROM 'object' OR
	    o_capture_status IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'AP502',
		    MESSAGE = 'PayPal''s answer holds no capture';
	END IF;

	IF o_capture_status = 'COMPLETED' THEN
		IF payments_cents(cap #>> '{amount,value}',
		    cap #>> '{amount,currency_code}') IS DISTINCT FROM
		    p.amount_cents OR cap #>> '{amount,currency_code}'
		    IS DISTINCT FROM p.currency THEN
			RAISE EXCEPTION USING ERRCODE = 'AP502',
			    MESSAGE = 'PayPal captured another amount than '
			    'the package price; support will look into it';
		END IF;
		IF payments_complete(p.id, 'capture', p.user_id,
		    cap->>'id') THEN
			o_result := 'completed';
		END IF;
	ELSIF o_capture_status = 'PENDING' THEN
		UPDATE payments SET provider_payment_ref = coalesce(
		    provider_payment_ref, cap->>'id'), updated_at = now()
		WHERE id = p.id AND status = 'PENDING';
		IF FOUND THEN
			o_result := 'awaiting_payment';
		END IF;
	ELSE
		IF payments_fail(p.id, format('PayPal %s the payment',
		    lower(o_capture_status)), 'capture', p.user_id) THEN
			o_result := 'failed';
		END IF;
	END IF;

	SELECT * INTO p FROM payments WHERE id = p_payment;
	IF o_result IS NULL THEN
		o_result := 'already_' || lower(p.status);
	END IF;
	PERFORM audit_add(p.user_id, 'payment.capture', 'payment', p.id::text,
	    jsonb_build_object('captureId', cap->>'id',
	    'captureStatus', o_capture_status, 'result', o_result));
	o_payment := payment_json(p);
END $$;

-- PENDING payments nobody finished are failed after p_max_age seconds.
-- Every worker runs this on a timer; SKIP LOCKED keeps them apart.
CREATE FUNCTION payments_sweep(p_max_age integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n	integer := 0;
	r	record;
BEGIN
	PERFORM app_context('sweep', NULL);
	FOR r IN SELECT id FROM payments
	    WHERE status = 'PENDING'
	    AND created_at < now() - make_interval(secs => p_max_age)
	    ORDER BY created_at LIMIT 500
	    FOR UPDATE SKIP LOCKED
	LOOP
		IF payments_fail(r.id, format('not paid within %s',
		    CASE WHEN p_max_age % 3600 = 0 THEN (p_max_age / 3600) ||
		    ' hours' ELSE p_max_age || ' seconds' END), 'sweep',
		    NULL) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END $$;
