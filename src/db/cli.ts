/**
 * Database tasks behind the package.json scripts:
 *
 *   tsx src/db/cli.ts generate          prisma generate for SQLite and Postgres (the postinstall)
 *   tsx src/db/cli.ts migrate           apply pending migrations to DATABASE_URL
 *   tsx src/db/cli.ts migration <name>  write a new migration for every provider
 *   tsx src/db/cli.ts check             exit 1 when migrations lag behind prisma/schema.prisma
 *
 * Migrations go through the wasm schema engine (see ./migrations.ts), so
 * none of these needs Prisma's native engine binaries.
 */
import dotenv from 'dotenv';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../paths.ts';
import {
  applyMigrations,
  checkMigrations,
  providerOf,
  schemaFile,
  withProvider,
  writeMigration,
  type Provider,
} from './migrations.ts';

const providers: Provider[] = ['sqlite', 'postgresql'];

/** The Postgres copy of the datamodel that `generate` writes (src/generated/ is not committed). */
const postgresSchema = path.join(projectRoot, 'src', 'generated', 'schema.postgresql.prisma');

/**
 * prisma/schema.prisma for the Postgres client: provider postgresql, only the
 * `prisma-client` generator (the Pothos types come from the SQLite run; the
 * models are the same), writing to src/generated/prisma-postgres. Paths in a
 * schema are relative to its file, which is in src/generated/.
 */
function postgresDatamodel(datamodel: string): string {
  let clients = 0;
  const copy = datamodel.replace(/generator\s+\w+\s*\{[^}]*\}\s*/g, (block) => {
    if (!/\bprovider\s*=\s*"prisma-client"/.test(block)) return '';
    clients += 1;
    return block.replace(/(\boutput\s*=\s*)"[^"]*"/, '$1"./prisma-postgres"');
  });
  if (clients !== 1) throw new Error('prisma/schema.prisma must have exactly one "prisma-client" generator.');
  const header = '// Written by `tsx src/db/cli.ts generate` from prisma/schema.prisma for the Postgres client. Do not edit.\n';
  return header + withProvider('postgresql', copy);
}

interface Run {
  status: number;
  output: string;
}

/** Runs `prisma generate` with `args`, collecting its output (runs may go in parallel). */
function prismaGenerate(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const prisma = path.join(projectRoot, 'node_modules', '.bin', 'prisma');
  return new Promise((resolve) => {
    const child = spawn(prisma, ['generate', ...args], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', (error) => resolve({ status: 1, output: `${output}${error.message}\n` }));
    child.on('close', (code) => resolve({ status: code ?? 1, output }));
  });
}

/** Runs the generate commands in parallel and prints their output in order; 0 when all succeed. */
async function generateAll(runs: string[][], env: NodeJS.ProcessEnv): Promise<number> {
  const results = await Promise.all(runs.map((args) => prismaGenerate(args, env)));
  for (const result of results) process.stdout.write(result.output);
  return results.every((result) => result.status === 0) ? 0 : 1;
}

/**
 * Generates two Prisma clients from the one datamodel: src/generated/prisma
 * for SQLite (with the Pothos types) and src/generated/prisma-postgres, since
 * a client generated for one provider refuses another provider's adapter.
 *
 * `prisma generate` never runs the schema engine, but the CLI downloads it
 * first and fails where Prisma's binary host is unreachable. Pointing
 * PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that download, so
 * that is the fallback when the plain SQLite run fails (or what an already set
 * variable is used for); the Postgres run then uses the same setting rather
 * than waiting for the failing download again.
 */
async function generate(): Promise<number> {
  await mkdir(path.dirname(postgresSchema), { recursive: true });
  await writeFile(postgresSchema, postgresDatamodel(await readFile(schemaFile, 'utf8')));
  const sqliteRun: string[] = []; // prisma.config.ts names prisma/schema.prisma
  const postgresRun = ['--schema', postgresSchema];

  const preset = process.env.PRISMA_SCHEMA_ENGINE_BINARY;
  if (preset) {
    console.log(`prisma generate: using PRISMA_SCHEMA_ENGINE_BINARY=${preset}`);
    return generateAll([sqliteRun, postgresRun], process.env);
  }
  const plain = await prismaGenerate(sqliteRun, process.env);
  if (plain.status === 0) {
    process.stdout.write(plain.output);
    console.log("prisma generate: SQLite client done with Prisma's own schema engine");
    return generateAll([postgresRun], process.env);
  }
  const placeholder = path.join(tmpdir(), 'prisma-schema-engine-placeholder');
  writeFileSync(
    placeholder,
    '#!/bin/sh\necho "Placeholder: no native Prisma schema engine here; use npm run db:migrate." >&2\nexit 1\n',
  );
  chmodSync(placeholder, 0o755);
  console.log(`prisma generate: schema engine unavailable, rerunning with PRISMA_SCHEMA_ENGINE_BINARY=${placeholder}`);
  return generateAll([sqliteRun, postgresRun], { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: placeholder });
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
