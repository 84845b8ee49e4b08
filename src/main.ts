import dotenv from 'dotenv';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';

dotenv.config({ quiet: true });
const config = loadConfig();
const app = await createApp(config);
await app.start();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
