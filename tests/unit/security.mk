# Security modules: src/ssrf, src/redact, src/whsig.  Each test binary
# compiles its module straight from src/ (no shared object files, so no
# rule here can clash with another fragment's) with the project's full
# warning set, which the server build uses as well.

SEC_WARN	:= -Wmissing-declarations -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
		   -Wsign-compare -Werror

TESTS	+= $(B)/test_ssrf $(B)/test_redact $(B)/test_whsig

$(B)/test_ssrf: test_ssrf.c $(TOP)/src/ssrf.c $(TOP)/src/ssrf.h | $(B)
	$(CC) $(CFLAGS) $(SEC_WARN) -o $@ test_ssrf.c $(TOP)/src/ssrf.c \
	    $(LDFLAGS) $(LDLIBS)

$(B)/test_redact: test_redact.c $(TOP)/src/redact.c $(TOP)/src/redact.h | $(B)
	$(CC) $(CFLAGS) $(SEC_WARN) -o $@ test_redact.c $(TOP)/src/redact.c \
	    $(LDFLAGS) $(LDLIBS)

$(B)/test_whsig: test_whsig.c $(TOP)/src/whsig.c $(TOP)/src/whsig.h \
    $(TOP)/src/secret.c | $(B)
	$(CC) $(CFLAGS) $(SEC_WARN) -o $@ test_whsig.c $(TOP)/src/whsig.c \
	    $(TOP)/src/secret.c $(LDFLAGS) $(LDLIBS) -lcrypto

# Throughput of the JSON redactor on a typical 2 KB body; not part of
# check.  Built without sanitizers, optimised as the server is.
.PHONY: bench-redact
bench-redact: | $(B)
	$(CC) -std=c99 -D_GNU_SOURCE -O2 -Wall -Wextra $(SEC_WARN) \
	    -I$(TOP)/src -o $(B)/bench_redact bench_redact.c \
	    $(TOP)/src/redact.c
	$(B)/bench_redact
