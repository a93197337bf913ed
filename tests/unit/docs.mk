# The documentation flow's pure parts: src/aimsg (prompts for the
# language model and the checks on its replies, linked with the
# discovery engine) and src/docdiff (what changed between two versions).
# Compiled from src/ with the project's full warning set.

DOCS_WARN	:= -Wmissing-declarations -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
		   -Wsign-compare -Werror
DOCS_DISC	:= $(wildcard $(TOP)/src/discovery/*.c)

TESTS	+= $(B)/test_aimsg $(B)/test_docdiff

$(B)/test_aimsg: test_aimsg.c $(TOP)/src/aimsg.c $(TOP)/src/aimsg.h \
    $(DOCS_DISC) | $(B)
	$(CC) $(CFLAGS) $(DOCS_WARN) -c -o $(B)/aimsg.o $(TOP)/src/aimsg.c
	$(CC) $(CFLAGS) -o $@ test_aimsg.c $(B)/aimsg.o $(DOCS_DISC) \
	    $(LDFLAGS) $(LDLIBS) -ljansson

$(B)/test_docdiff: test_docdiff.c $(TOP)/src/docdiff.c $(TOP)/src/docdiff.h \
    | $(B)
	$(CC) $(CFLAGS) $(DOCS_WARN) -o $@ test_docdiff.c \
	    $(TOP)/src/docdiff.c $(LDFLAGS) $(LDLIBS) -ljansson
