import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics, one registry per app (several apps may run
 * in one process, as in the tests), served as text at GET /metrics.
 */
export function createMetrics(sources: { eventListeners: () => number }) {
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
    subscriptions: new Gauge({
      name: 'messenger_subscriptions',
      help: 'Active GraphQL operations over all sockets',
      registers: [registry],
    }),
    listeners: new Gauge({
      name: 'messenger_event_listeners',
      help: 'Listeners attached to the event bus (subscription feeds hold one or two each)',
      registers: [registry],
      collect() {
        this.set(sources.eventListeners());
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function useMetricsEndpoint(metrics: Metrics, path = '/metrics'): Plugin {
  return {
    async onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname !== path) return;
      endResponse(
        new fetchAPI.Response(await metrics.registry.metrics(), {
          headers: { 'content-type': metrics.registry.contentType },
        }),
      );
    },
  };
}
