"""Keys and secrets the fakes' own tests start them with.  (A module of
its own, not conftest, so that importing it never picks up another test
directory's conftest.)"""

STRIPE_KEY = "sk_test_fixture_key_1234"
STRIPE_WHSEC = "whsec_fixture_secret"
GROQ_KEY = "gsk_fixture_key"
PAYPAL_ID = "fixture-client"
PAYPAL_SECRET = "fixture-secret"
PAYPAL_WEBHOOK_ID = "3TW12345AB678901C"
