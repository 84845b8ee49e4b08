import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import sirv from 'sirv';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The built web chat (`npm run web:build`, run by `npm install`) served at
 * `/` from `root`; every request that is not for one of its files goes on
 * to `next` (GraphQL, REST, probes). Files under /assets/ have hashed names
 * and never change, so browsers may keep them.
 */
export function withWebApp(root: string, logger: Logger, next: Handler): Handler {
  if (!existsSync(join(root, 'index.html'))) {
    logger.warn({ root }, 'the web chat is not built (npm run web:build): / answers 404');
    return next;
  }
  const serve = sirv(root, {
    etag: true,
    setHeaders: (res, pathname) => {
      res.setHeader('cache-control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return (req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') serve(req, res, () => next(req, res));
    else next(req, res);
  };
}
