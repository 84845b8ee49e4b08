/**
 * Database tasks behind the package.json scripts:
 *
 *   tsx src/db/cli.ts generate          prisma generate (the postinstall)
 *   tsx src/db/cli.ts migrate           apply pending migrations to DATABASE_URL
 *   tsx src/db/cli.ts migration <name>  write a new migration for every provider
 *   tsx src/db/cli.ts check             exit 1 when migrations lag behind prisma/schema.prisma
 *
 * Migrations go through the wasm schema engine (see ./migrations.ts), so
 * none of these needs Prisma's native engine binaries.
 */
import dotenv from 'dotenv';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  applyMigrations,
  checkMigrations,
  projectRoot,
  providerOf,
  writeMigration,
  type Provider,
} from './migrations.ts';

const providers: Provider[] = ['sqlite', 'postgresql'];

/**
 * `prisma generate` never runs the schema engine, but the CLI downloads it
 * first and fails where Prisma's binary host is unreachable. Pointing
 * PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that download, so
 * that is the fallback when the plain run fails (or what an already set
 * variable is used for).
 */
function generate(): number {
  const prisma = path.join(projectRoot, 'node_modules', '.bin', 'prisma');
  const run = (env: NodeJS.ProcessEnv, stdio: 'inherit' | 'pipe'): SpawnSyncReturns<Buffer> =>
    spawnSync(prisma, ['generate'], { cwd: projectRoot, env, stdio });

  const preset = process.env.PRISMA_SCHEMA_ENGINE_BINARY;
  if (preset) {
    console.log(`prisma generate: using PRISMA_SCHEMA_ENGINE_BINARY=${preset}`);
    return run(process.env, 'inherit').status ?? 1;
  }
  const plain = run(process.env, 'pipe');
  if (plain.status === 0) {
    process.stdout.write(plain.stdout);
    console.log("prisma generate: done with Prisma's own schema engine");
    return 0;
  }
  const placeholder = path.join(tmpdir(), 'prisma-schema-engine-placeholder');
  writeFileSync(
    placeholder,
    '#!/bin/sh\necho "Placeholder: no native Prisma schema engine here; use npm run db:migrate." >&2\nexit 1\n',
  );
  chmodSync(placeholder, 0o755);
  console.log(`prisma generate: schema engine unavailable, rerunning with PRISMA_SCHEMA_ENGINE_BINARY=${placeholder}`);
  return run({ ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: placeholder }, 'inherit').status ?? 1;
}

async function migrate(): Promise<number> {
  // A relative `file:` path is relative to the project root (where
  // prisma.config.ts is), as in the Prisma 7 CLI; see sqlitePath().
  const url = process.env.DATABASE_URL ?? 'file:./data/chat.db';
  const applied = await applyMigrations({ provider: providerOf(url), url });
  console.log(applied.length > 0 ? `Applied ${applied.join(', ')}` : 'No pending migrations.');
  return 0;
}

async function migration(name: string | undefined): Promise<number> {
  if (!name) {
    console.error('Usage: npm run db:migration -- <name>');
    return 2;
  }
  for (const provider of providers) {
    const dir = await writeMigration({ provider, name });
    console.log(dir ? `${provider}: wrote ${path.relative(process.cwd(), dir)}` : `${provider}: no changes`);
  }
  return 0;
}

async function check(): Promise<number> {
  let status = 0;
  for (const provider of providers) {
    const sql = await checkMigrations(provider);
    if (sql === '') {
      console.log(`${provider}: migrations match prisma/schema.prisma`);
    } else {
      status = 1;
      console.error(`${provider}: migrations lag behind prisma/schema.prisma (run npm run db:migration -- <name>):\n${sql}`);
    }
  }
  return status;
}

async function main(command: string | undefined, arg: string | undefined): Promise<number> {
  switch (command) {
    case 'generate':
      return generate();
    case 'migrate':
      return migrate();
    case 'migration':
      return migration(arg);
    case 'check':
      return check();
    default:
      console.error('Usage: tsx src/db/cli.ts generate | migrate | migration <name> | check');
      return 2;
  }
}

dotenv.config({ quiet: true });
const [command, arg] = process.argv.slice(2);
process.exitCode = await main(command, arg).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  return 1;
});
