// Read by the Prisma CLI (Prisma 7 keeps connection settings out of schema.prisma).
// The server itself never reads this file: it builds its driver adapter from
// src/config.ts, and applies migrations through src/db/migrations.ts.
import { defineConfig } from 'prisma/config';
import { EXTERNAL_TABLES } from './src/db/external-tables.ts';

const url = process.env.DATABASE_URL ?? 'file:./data/chat.db';
// Each provider keeps its own migrations folder, prisma/migrations/<provider>;
// the provider follows the URL as in providerOf() in src/db/migrations.ts.
const provider = /^postgres(ql)?:\/\//i.test(url) ? 'postgresql' : 'sqlite';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: `prisma/migrations/${provider}` },
  datasource: { url },
  experimental: { externalTables: true },
  tables: { external: EXTERNAL_TABLES },
});
