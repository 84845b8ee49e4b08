import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { generate } from '@graphql-codegen/cli';
import { parse, print, visit } from 'graphql';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../codegen.ts';
import { testProvider } from './helpers/server.ts';

const run = promisify(execFile);
const GENERATED = 'src/client/generated/';

/** Runs `tsc --noEmit` on one tsconfig; resolves with what it printed and its exit code. */
async function typecheck(project: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '--pretty', 'false', '-p', project]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, output: failed.stdout };
  }
}

/**
 * Writes generated files that differ from what is on disk, each in one
 * rename: other test files read these sources (the web build) meanwhile.
 */
function writeChanged(outputs: { filename: string; content: string }[]) {
  for (const { filename, content } of outputs) {
    if (existsSync(filename) && readFileSync(filename, 'utf8') === content) continue;
    mkdirSync(dirname(filename), { recursive: true });
    writeFileSync(`${filename}.tmp`, content);
    renameSync(`${filename}.tmp`, filename);
  }
}

// Once per run is enough: the types do not depend on the database.
describe.runIf(testProvider() === 'sqlite')('clients typed by GraphQL Code Generator', () => {
  it('generates the types of every client operation from schema.graphql, and both clients type-check against them', async () => {
    const outputs: { filename: string; content: string }[] = await generate({ ...codegenConfig, silent: true }, false);
    writeChanged(outputs);
    expect(outputs.map((output) => output.filename).sort()).toEqual([`${GENERATED}gql.ts`, `${GENERATED}graphql.ts`, `${GENERATED}index.ts`]);
    expect(readFileSync(`${GENERATED}graphql.ts`, 'utf8')).toContain('export type RoomMessagesSubscription = ');
    expect(await typecheck('src/terminal')).toEqual({ code: 0, output: '' });
    expect(await typecheck('src/web')).toEqual({ code: 0, output: '' });
  }, 120_000);

  it('fails generation when the schema loses a field a client selects', async () => {
    const withoutUnread = print(
      visit(parse(readFileSync('schema.graphql', 'utf8')), {
        ObjectTypeDefinition: (type) =>
          type.name.value === 'Chat' ? { ...type, fields: type.fields?.filter((field) => field.name.value !== 'unreadCount') } : undefined,
      }),
    );
    const generating = generate(
      { ...codegenConfig, schema: withoutUnread, silent: true, generates: { [GENERATED]: codegenConfig.generates[GENERATED]! } },
      false,
    );
    await expect(generating).rejects.toThrow(/Cannot query field "unreadCount" on type "Chat"/);
  }, 60_000);
});
