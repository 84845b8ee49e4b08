import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web chat's build: src/web into dist/web, which the server serves at /. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    emptyOutDir: true,
    // One small app: a single bundle keeps the served files few.
    chunkSizeWarningLimit: 1024,
  },
  esbuild: { jsx: 'automatic' },
});
