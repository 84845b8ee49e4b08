import { fileURLToPath } from 'node:url';

/**
 * The folder holding package.json, prisma/ and dist/. Found from this file's
 * place, one folder down; the server bundle `npm start` runs
 * (dist/server.mjs) sits one folder down too, so the same holds there.
 */
export const projectRoot = fileURLToPath(new URL('../', import.meta.url));
