# Operations: the pure parts of exports, alerts and email (src/csvout,
# src/alertrule, src/mailmsg), each compiled straight from src/ with the
# project's full warning set.

OPS_WARN	:= -Wmissing-declarations -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
		   -Wsign-compare -Werror

TESTS	+= $(B)/test_csvout $(B)/test_alertrule $(B)/test_mailmsg

$(B)/test_csvout: test_csvout.c $(TOP)/src/csvout.c $(TOP)/src/csvout.h | $(B)
	$(CC) $(CFLAGS) $(OPS_WARN) -o $@ test_csvout.c $(TOP)/src/csvout.c \
	    $(LDFLAGS) $(LDLIBS)

$(B)/test_alertrule: test_alertrule.c $(TOP)/src/alertrule.c \
    $(TOP)/src/alertrule.h | $(B)
	$(CC) $(CFLAGS) $(OPS_WARN) -o $@ test_alertrule.c \
	    $(TOP)/src/alertrule.c $(LDFLAGS) $(LDLIBS)

$(B)/test_mailmsg: test_mailmsg.c $(TOP)/src/mailmsg.c $(TOP)/src/mailmsg.h \
    | $(B)
	$(CC) $(CFLAGS) $(OPS_WARN) -o $@ test_mailmsg.c $(TOP)/src/mailmsg.c \
	    $(LDFLAGS) $(LDLIBS)
