/*
 * The capturing proxy (/proxy/{endpointId}/...).
 */

#ifndef PROXY_H
#define PROXY_H

void	proxy_init(void);

#endif
