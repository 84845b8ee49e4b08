import type { IncomingMessage } from 'node:http';
import type { Client } from '../domain/accounts.ts';

/**
 * The client of a request: its User-Agent, and its address: the peer's, or
 * behind a proxy you trust (TRUST_PROXY) the last address in
 * X-Forwarded-For, the one that proxy added. Earlier entries are whatever the
 * client claimed, so rate limits never key on them.
 */
export function clientOf(request: IncomingMessage, trustProxy: boolean): Client {
  let address = request.socket.remoteAddress ?? 'unknown';
  if (trustProxy) {
    const header = request.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .at(-1);
    if (forwarded) address = forwarded;
  }
  return { userAgent: request.headers['user-agent'] ?? null, address };
}
