/**
 * Rate limits high enough never to be met: the suite and the benchmark make
 * every request from one address, and only test/rate-limits.test.ts is about
 * the limits themselves (it sets its own).
 */
export const UNLIMITED_RATES: Record<string, string> = {
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '1000000',
  RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS: '1000000',
  RATE_LIMIT_REGISTRATIONS_PER_ADDRESS: '1000000',
  RATE_LIMIT_SENDS_PER_USER: '1000000',
  RATE_LIMIT_CONNECTIONS_PER_ADDRESS: '1000000',
  WS_MAX_PENDING_PER_ADDRESS: '100000',
};
