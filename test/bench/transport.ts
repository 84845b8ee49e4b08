import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Baseline } from './stack.ts';

/**
 * The "transport limit" baseline: a raw `ws` server. POST /send builds the
 * graphql-ws `next` message a messageAdded subscriber would get, serializes it
 * once, and writes the same string to every open socket. Nothing is parsed,
 * executed or stored per subscriber: this is what Node and `ws` alone cost.
 */
export async function startTransportBaseline(port = 0, host = '127.0.0.1'): Promise<Baseline> {
  const wss = new WebSocketServer({ noServer: true });
  let seq = 0;
  const server = createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/send') {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string };
      seq += 1;
      const message = {
        id: Buffer.from(`Message:m${seq}`).toString('base64'),
        seq,
        text,
        createdAt: new Date().toISOString(),
        author: { id: Buffer.from('User:bench-author').toString('base64'), username: 'bench' },
      };
      const frame = JSON.stringify({ id: '1', type: 'next', payload: { data: { messageAdded: message } } });
      for (const client of wss.clients) client.send(frame);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { seq } }));
    });
  });
  server.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}/graphql`,
    stats: () => ({ sockets: wss.clients.size, subscriptions: wss.clients.size }),
    async stop() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
