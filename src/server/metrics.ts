import { timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics, one registry per app (several apps may run
 * in one process, as in the tests), served as text at GET /metrics.
 */
export function createMetrics(sources: { eventListeners: () => number; chatSubscribers: () => number }) {
  const registry = new Registry();
  return {
    registry,
    sqlStatements: new Counter({
      name: 'messenger_sql_statements_total',
      help: 'SQL statements sent to the database',
      registers: [registry],
    }),
    sockets: new Gauge({
      name: 'messenger_websockets',
      help: 'Open graphql-ws sockets that passed connection_init',
      registers: [registry],
    }),
    slowReaderCloses: new Counter({
      name: 'messenger_websocket_slow_reader_closes_total',
      help: 'Sockets closed (4413) because more than WS_MAX_BUFFERED_BYTES waited unread',
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: 'messenger_subscriptions',
      help: 'Active GraphQL operations over all sockets',
      registers: [registry],
    }),
    listeners: new Gauge({
      name: 'messenger_event_listeners',
      help: 'Listeners attached to the event bus (one per topic with live subscribers, and presence)',
      registers: [registry],
      collect() {
        this.set(sources.eventListeners());
      },
    }),
    chatSubscribers: new Gauge({
      name: 'messenger_chat_subscribers',
      help: 'Subscriptions following chat events on this instance (one per messageAdded, typing, ... feed)',
      registers: [registry],
      collect() {
        this.set(sources.chatSubscribers());
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * GET /metrics for Prometheus. With `token` it answers only requests bearing
 * it (`Authorization: Bearer <token>`); without one it is open, or, when
 * `open` is false (production), not served at all: operators configure
 * METRICS_TOKEN and give it to their scraper.
 */
export function useMetricsEndpoint(metrics: Metrics, { token, open }: { token: string | null; open: boolean }): Plugin {
  const expected = token === null ? null : Buffer.from(`Bearer ${token}`);
  const allowed = (authorization: string | null) => {
    if (expected === null) return open;
    const given = Buffer.from(authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  return {
    async onRequest({ url, request, fetchAPI, endResponse }) {
      if (url.pathname !== '/metrics') return;
      if (!allowed(request.headers.get('authorization'))) {
        endResponse(
          fetchAPI.Response.json(
            { errors: [{ message: 'Metrics need the METRICS_TOKEN bearer token.', extensions: { code: 'UNAUTHENTICATED' } }] },
            { status: expected === null ? 404 : 401 },
          ),
        );
        return;
      }
      endResponse(
        new fetchAPI.Response(await metrics.registry.metrics(), {
          headers: { 'content-type': metrics.registry.contentType },
        }),
      );
    },
  };
}
