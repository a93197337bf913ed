/*
 * Outbound HTTP through Kore's asynchronous curl client: the proxy's
 * forwarding and the payment providers' APIs.
 */

#ifndef OUTBOUND_H
#define OUTBOUND_H

struct kore_curl;

void	outbound_prepare(struct kore_curl *);
void	outbound_run(struct kore_curl *);

#endif
