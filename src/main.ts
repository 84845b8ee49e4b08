import dotenv from 'dotenv';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';

dotenv.config({ quiet: true });
const config = loadConfig();
const app = await createApp(config);
// Building the schema and opening the database leave tens of MB of garbage
// that an idle server would keep resident until enough allocation triggers a
// full collection. `npm start` passes --expose-gc for this one collection,
// made before the server takes its first request.
(globalThis as { gc?: () => void }).gc?.();
await app.start();

// SIGTERM (systemd, containers) and SIGINT (Ctrl-C) stop gracefully. A
// signal sent to the process group reaches npm too, which passes it on:
// the stop already under way is the answer to both.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
