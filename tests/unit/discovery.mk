# Unit tests of the discovery engine (src/discovery): one binary per
# test file, each linked with the whole engine and libjansson.

DISC_SRCS	:= $(wildcard $(TOP)/src/discovery/*.c)
DISC_HDRS	:= $(wildcard $(TOP)/src/discovery/*.h) test_disc_common.h
DISC_TESTS	:= $(patsubst %.c,$(B)/%,$(wildcard test_disc_*.c))

TESTS	+= $(DISC_TESTS)

$(DISC_TESTS): $(B)/test_disc_%: test_disc_%.c $(DISC_SRCS) $(DISC_HDRS) | $(B)
	$(CC) $(CFLAGS) -Wmissing-declarations -Wshadow -Wstrict-prototypes \
	    -Wpointer-arith -Wcast-qual -Wsign-compare -o $@ $< \
	    $(DISC_SRCS) $(LDFLAGS) $(LDLIBS) -ljansson
