import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

// Generation writes the clients' types into the tree, as `npm install`
// does; once per run is enough (and two projects writing at once would race).
describe.runIf(testProvider() === 'sqlite')('clients typed by GraphQL Code Generator', () => {
  it('generates the types of every client operation from schema.graphql, and both clients type-check against them', async () => {
    await generate({ ...codegenConfig, silent: true }, true);
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
