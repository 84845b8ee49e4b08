/**
 * Prisma migrations without Prisma's native schema engine.
 *
 * The Prisma CLI downloads a native schema engine before any migrate command,
 * which fails on machines that only reach the npm registry. This module drives
 * the official wasm build of that engine (`@prisma/schema-engine-wasm`, pinned
 * to the engines version of `@prisma/client`) through the same driver adapters
 * the server uses.
 *
 * Each provider has its own standard Prisma migrations folder,
 * `prisma/migrations/<provider>/<timestamp>_<name>/migration.sql` plus
 * `migration_lock.toml`, and applied migrations are recorded in the usual
 * `_prisma_migrations` table, so `prisma migrate deploy` / `status` (where the
 * native engine is available) agree with this module about what is applied.
 *
 * The engine cannot read a live Postgres schema back through the adapter
 * (it fails on the `char` column type), so Postgres migrations are diffed
 * datamodel to datamodel: each Postgres migration folder also keeps the
 * datamodel it was generated from, as `schema.prisma` (Prisma reads only
 * `migration.sql` in a migration folder and ignores other files).
 */
import { createRequire } from 'node:module';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import {
  bindMigrationAwareSqlAdapterFactory,
  type ErrorRegistry,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { DiffTarget, MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import { projectRoot } from '../paths.ts';
import { EXTERNAL_TABLES } from './external-tables.ts';

/** The databases the server supports; also the `provider` written in migration_lock.toml. */
export type Provider = 'sqlite' | 'postgresql';

/** prisma/schema.prisma: the one datamodel, written for SQLite. */
export const schemaFile = path.join(projectRoot, 'prisma', 'schema.prisma');
/** The copy of the datamodel kept next to each Postgres migration.sql. */
const datamodelCopy = 'schema.prisma';
const filters = { externalTables: EXTERNAL_TABLES, externalEnums: [] };

/**
 * The provider a database URL is for: `postgres://` and `postgresql://` URLs
 * are Postgres, anything else (`file:` URLs, plain paths) is SQLite.
 */
export function providerOf(url: string): Provider {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgresql' : 'sqlite';
}

/**
 * The absolute path of the SQLite file a `file:` URL (or plain path) names.
 * Relative paths are resolved against the project root, the folder holding
 * prisma.config.ts: the Prisma 7 CLI resolves datasource paths relative to
 * its config file, so both tools find the same file.
 */
export function sqlitePath(url: string): string {
  return path.resolve(projectRoot, url.replace(/^file:/, ''));
}

/** How long migrations wait for a SQLite file another connection is writing to. */
const SQLITE_LOCK_WAIT_MS = 30_000;

/** The absolute path of `prisma/migrations/<provider>`, whatever the working directory. */
export function migrationsDir(provider: Provider): string {
  return path.join(projectRoot, 'prisma', 'migrations', provider);
}

/**
 * Applies the migrations of `migrationsDir(provider)` that the database at
 * `url` has not applied yet, recording them in `_prisma_migrations`, and
 * returns their names (empty when it was up to date). For SQLite the file and
 * its folder are created when missing. Every connection is closed on return.
 */
export async function applyMigrations(opts: { provider: Provider; url: string; lockWaitMs?: number }): Promise<string[]> {
  let factory: SqlMigrationAwareDriverAdapterFactory;
  if (opts.provider === 'sqlite') {
    const file = sqlitePath(opts.url);
    await mkdir(path.dirname(file), { recursive: true });
    // A running server writes to the same file now and then: wait for it.
    factory = new PrismaBetterSqlite3({ url: file, timeout: opts.lockWaitMs ?? SQLITE_LOCK_WAIT_MS });
  } else {
    // Imported here, so that SQLite servers never load pg.
    const { PrismaPg } = await import('@prisma/adapter-pg');
    factory = wholeScripts(new PrismaPg({ connectionString: opts.url }));
  }
  const migrationsList = await readMigrations(opts.provider);
  if (await allApplied(factory, migrationsList)) return [];
  const { appliedMigrationNames } = await withEngine(factory, (engine) =>
    engine.applyMigrations({ migrationsList, filters }),
  );
  return appliedMigrationNames;
}

/**
 * Writes `prisma/migrations/<provider>/<YYYYMMDDHHMMSS>_<name>/migration.sql`
 * holding the SQL that takes the committed migrations to the current
 * prisma/schema.prisma (its datasource provider set to `provider`), and
 * returns that folder; returns null and writes nothing when there is no
 * change. `name` may hold letters, digits and underscores only.
 * `previousDatamodel` overrides what the committed migrations are taken to
 * produce (by default: SQLite replays them; Postgres uses the datamodel copy
 * kept with the last migration, or nothing when there is none). Postgres
 * migrations also get that copy of the datamodel they were generated from.
 */
export async function writeMigration(opts: {
  provider: Provider;
  name: string;
  previousDatamodel?: string;
}): Promise<string | null> {
  if (!/^\w+$/.test(opts.name)) {
    throw new Error(`Invalid migration name "${opts.name}": use only letters, digits and underscores.`);
  }
  const datamodel = await currentDatamodel(opts.provider);
  const sql = await pendingSql(opts.provider, datamodel, opts.previousDatamodel);
  if (sql === '') return null;

  const baseDir = migrationsDir(opts.provider);
  const timestamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = path.join(baseDir, `${timestamp}_${opts.name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'migration.sql'), sql);
  if (opts.provider === 'postgresql') await writeFile(path.join(dir, datamodelCopy), datamodel);
  await writeFile(path.join(baseDir, 'migration_lock.toml'), lockfile(opts.provider), { flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    },
  );
  return dir;
}

/**
 * The SQL that the committed migrations of `provider` lack to match the
 * current prisma/schema.prisma; empty when they are in sync. For Postgres the
 * comparison is with the datamodel copy kept with the last migration.
 */
export async function checkMigrations(provider: Provider): Promise<string> {
  return pendingSql(provider, await currentDatamodel(provider));
}

/** prisma/schema.prisma with the provider of its datasource block set to `provider`. */
async function currentDatamodel(provider: Provider): Promise<string> {
  return withProvider(provider, await readFile(schemaFile, 'utf8'));
}

/** `datamodel` with the provider of its datasource block set to `provider`. */
export function withProvider(provider: Provider, datamodel: string): string {
  const pattern = /(datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*)"[^"]*"/;
  if (!pattern.test(datamodel)) throw new Error('The datamodel has no datasource block with a provider.');
  return datamodel.replace(pattern, `$1"${provider}"`);
}

/** The SQL from what the committed migrations produce (or `previousDatamodel`) to `datamodel`; '' when none. */
async function pendingSql(provider: Provider, datamodel: string, previousDatamodel?: string): Promise<string> {
  const migrationsList = await readMigrations(provider);
  const last = migrationsList.migrationDirectories.at(-1);
  let from: DiffTarget;
  if (previousDatamodel !== undefined) {
    from = datamodelTarget('previous.prisma', withProvider(provider, previousDatamodel));
  } else if (!last) {
    from = { tag: 'empty' };
  } else if (provider === 'sqlite') {
    from = { tag: 'migrations', ...migrationsList };
  } else {
    const copy = path.join(migrationsList.baseDir, last.path, datamodelCopy);
    const content = await readFile(copy, 'utf8').catch(() => {
      throw new Error(`${copy} is missing: Postgres migrations are diffed from the datamodel kept with the last one.`);
    });
    from = datamodelTarget(copy, content);
  }
  // The engine needs a connection even for a diff that touches no database
  // (its mock adapter fails at start-up). An in-memory SQLite one serves both
  // providers: a datamodel diff takes its SQL dialect from the datamodels, and
  // replaying SQLite migrations uses an in-memory shadow database.
  const memory = new PrismaBetterSqlite3({ url: ':memory:' });
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: memory.provider,
    adapterName: memory.adapterName,
    connect: () => memory.connect(),
    connectToShadowDb: async () => runningScripts(await memory.connectToShadowDb()),
  };
  const result = await withEngine(factory, (engine) =>
    engine.diff({ from, to: datamodelTarget(schemaFile, datamodel), script: true, exitCode: true, filters }),
  );
  // exitCode 2 means "the diff is not empty".
  return result.exitCode === 2 ? (result.stdout ?? '') : '';
}

/**
 * The engine replays each migration.sql into the shadow database with a
 * single `executeRaw` call, which better-sqlite3 refuses (RangeError) when the
 * script holds several statements; such a call is run as a script instead.
 * Nothing has run when prepare refuses, so the retry is safe.
 */
function runningScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const executeRaw = adapter.executeRaw.bind(adapter);
  adapter.executeRaw = async (query) => {
    try {
      return await executeRaw(query);
    } catch (error) {
      if (!(error instanceof RangeError) || query.args.length > 0) throw error;
      await adapter.executeScript(query.sql);
      return 0;
    }
  };
  return adapter;
}

/**
 * PrismaPg runs a migration script by splitting it at every ";", which cuts
 * a function body apart (the plpgsql of a trigger). Postgres takes a whole
 * script as one simple query, run as one transaction, as `prisma migrate
 * deploy` runs it. The adapter's pool is its `client` (not typed, but the
 * same in every 7.x adapter).
 */
function wholeScripts(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  const runWhole = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const pool = (adapter as unknown as { client: { query(sql: string): Promise<unknown> } }).client;
    adapter.executeScript = async (script) => {
      await pool.query(script);
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => runWhole(await factory.connect()),
    connectToShadowDb: async () => runWhole(await factory.connectToShadowDb()),
  };
}

function datamodelTarget(file: string, content: string): DiffTarget {
  return { tag: 'schemaDatamodel', files: [{ path: file, content }] };
}

function lockfile(provider: Provider): string {
  return [
    '# Please do not edit this file manually',
    '# It should be added in your version-control system (e.g., Git)',
    `provider = "${provider}"`,
    '',
  ].join('\n');
}

/** The migrations folder as the engine wants it, listed the way the Prisma CLI lists it. */
async function readMigrations(provider: Provider): Promise<MigrationList> {
  const baseDir = migrationsDir(provider);
  const entries = await readdir(baseDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  names.sort((a, b) => a.localeCompare(b));
  return {
    baseDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: await readFile(path.join(baseDir, 'migration_lock.toml'), 'utf8').catch(() => null),
    },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(path.join(baseDir, name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (error: Error) => ({ tag: 'error' as const, value: error.message }),
          ),
        },
      })),
    ),
  };
}

/**
 * Whether `_prisma_migrations` records every migration of the folder as
 * finished and not rolled back: then the engine would apply nothing, and a
 * start skips loading it (its wasm memory, some 45 MB, is never given back).
 * Anything else (no table yet, a failed or missing migration) is the
 * engine's to apply or to report.
 */
async function allApplied(factory: SqlMigrationAwareDriverAdapterFactory, migrations: MigrationList): Promise<boolean> {
  const adapter = await factory.connect();
  try {
    const { rows } = await adapter.queryRaw({
      sql: 'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      args: [],
      argTypes: [],
    });
    const applied = new Set(rows.map(([name]) => name));
    return migrations.migrationDirectories.every((migration) => applied.has(migration.path));
  } catch {
    return false;
  } finally {
    await adapter.dispose();
  }
}

/**
 * Runs `work` on a fresh engine connected through `factory`, then frees the
 * engine and closes every connection it opened (the engine does not close
 * them all itself), so no pool keeps the process alive and no SQLite file
 * stays open.
 */
async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const wasm = await loadSchemaEngine();
  const datamodel = await currentDatamodel(factory.provider === 'postgres' ? 'postgresql' : 'sqlite');
  const connections = closable(factory);
  const bound = bindMigrationAwareSqlAdapterFactory(connections.factory);
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    const engine = await wasm.SchemaEngine.new({ datamodels: [[schemaFile, datamodel]] }, () => {}, bound);
    try {
      return await work(engine);
    } finally {
      try {
        engine.free();
      } catch {
        // After a panic the engine is still borrowed and cannot be freed;
        // throwing that would hide the panic. The GC takes it instead.
      }
    }
  } catch (error) {
    throw engineError(error, bound.errorRegistry);
  } finally {
    clearInterval(keepAlive);
    await connections.closeAll();
  }
}

/** `factory`, wrapped so that the connections it opened can all be closed (each one once). */
function closable(factory: SqlMigrationAwareDriverAdapterFactory) {
  const open = new Set<SqlDriverAdapter>();
  const track = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const dispose = adapter.dispose.bind(adapter);
    let disposed: Promise<void> | undefined;
    adapter.dispose = () => {
      open.delete(adapter);
      return (disposed ??= dispose());
    };
    open.add(adapter);
    return adapter;
  };
  return {
    factory: {
      provider: factory.provider,
      adapterName: factory.adapterName,
      connect: async () => track(await factory.connect()),
      connectToShadowDb: async () => track(await factory.connectToShadowDb()),
    } satisfies SqlMigrationAwareDriverAdapterFactory,
    closeAll: async () => {
      await Promise.all([...open].map((adapter) => adapter.dispose()));
    },
  };
}

type SchemaEngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');
/** The part of the WebAssembly API used here (tsconfig's lib has no WebAssembly types). */
type WebAssemblyApi = {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: { __wbindgen_start(): void } } }>;
};

let panicMessage: string | undefined;
let engineModule: Promise<SchemaEngineModule> | undefined;

/**
 * Loads the wasm schema engine, once per process. The package's entry imports
 * its .wasm file as an ES module, which Node 20 cannot do, so this imports the
 * wasm-bindgen glue (schema_engine_bg.js) by file path and instantiates the
 * .wasm next to it by hand, which is what that entry would do.
 */
function loadSchemaEngine(): Promise<SchemaEngineModule> {
  engineModule ??= (async () => {
    const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = (await import(pathToFileURL(gluePath).href)) as SchemaEngineModule;
    // Without this registry, a panic in the engine surfaces as a bare "unreachable".
    Object.assign(globalThis, {
      PRISMA_WASM_PANIC_REGISTRY: {
        set_message(message: string) {
          panicMessage = message;
        },
      },
    });
    const { WebAssembly } = globalThis as unknown as { WebAssembly: WebAssemblyApi };
    const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
    // The engine arms timeouts it never clears (10 s around Postgres'
    // advisory lock, for one), which would keep the process alive that long
    // after the work is done. They are unref'd; withEngine keeps the process
    // alive while the engine works.
    const imports: Record<string, unknown> = { ...glue };
    for (const name of Object.keys(glue).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
      imports[name] = (callback: () => void, ms: number) => setTimeout(callback, ms).unref();
    }
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': imports });
    glue.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    return glue;
  })();
  return engineModule;
}

/**
 * Turns what the engine rejected with into an Error: names the panic if there
 * was one, and adds the driver's own error when the engine only says
 * "External error id#N" (an id in the adapter factory's error registry).
 */
function engineError(error: unknown, registry: ErrorRegistry): Error {
  // The SQLite adapter reports a busy database as a kind of error the engine
  // does not know; said plainly, it is a lock that did not come free.
  if (error instanceof Error && error.message.includes('unknown variant `SocketTimeout`')) {
    return new Error(
      'The SQLite database is locked: another connection (a running server, most likely) held its write lock ' +
        'for as long as migrations wait. Try again when it is less busy, or stop the server while migrating.',
      { cause: error },
    );
  }
  if (panicMessage !== undefined) {
    const message = panicMessage;
    panicMessage = undefined;
    return new Error(`The schema engine panicked: ${message}`, { cause: error });
  }
  if (!(error instanceof Error)) return new Error(`Schema engine error: ${JSON.stringify(error)}`);
  const id = /External error id#(\d+)/.exec(error.message)?.[1];
  const driverError = id === undefined ? undefined : registry.consumeError(Number(id))?.error;
  if (driverError === undefined) return error;
  const detail = driverError instanceof Error ? driverError.message : JSON.stringify(driverError);
  return new Error(`${error.message}\nDriver error: ${detail}`, { cause: error });
}
