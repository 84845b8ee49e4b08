import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, sleep } from './helpers/chats.ts';
import { connect, eventually, live } from './helpers/live.ts';
import { startServer, testProvider, type TestServer } from './helpers/server.ts';
import type { SignedUp } from './helpers/users.ts';

/** The README's API tour, from its heading to the next section of the same level. */
function tour(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## API tour');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end);
}

interface Block {
  lang: string;
  code: string;
}

const blocksOf = (text: string): Block[] =>
  [...text.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((match) => ({ lang: match[1]!, code: match[2]! }));

/** One GraphQL block of the tour, with the variables block after it and whose token it runs with. */
interface Step {
  document: string;
  name: string;
  kind: 'query' | 'mutation' | 'subscription';
  /** A user (`# as alice`) or an operation whose result held a token (`with the token Login returned`). */
  as: { user: string; fromOperation: string | null } | null;
  variables: Record<string, unknown>;
}

function stepsOf(blocks: Block[]): Step[] {
  const steps: Step[] = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'graphql') return;
    const header = /^\s*(query|mutation|subscription)\s+(\w+)/m.exec(block.code);
    if (!header) throw new Error(`a README operation has no name:\n${block.code}`);
    const as = /^# as (\w+)(?:, with the token (\w+) returned)?/m.exec(block.code);
    const next = blocks[i + 1];
    steps.push({
      document: block.code,
      kind: header[1] as Step['kind'],
      name: header[2]!,
      as: as ? { user: as[1]!, fromOperation: as[2] ?? null } : null,
      variables: next?.lang === 'json' ? (JSON.parse(next.code) as Record<string, unknown>) : {},
    });
  });
  return steps;
}

// The tour talks to one server as a newcomer would: one provider is enough.
describe.runIf(testProvider() === 'sqlite')("the README's API tour", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  const blocks = blocksOf(tour());
  const steps = stepsOf(blocks);
  const tokens = { byUser: new Map<string, string>(), byOperation: new Map<string, string>() };
  // What the tour's example ids stand for: the chat CreateTeam made, the message Send sent.
  const ids: Record<string, string> = {};

  const tokenFor = (step: Step) => {
    if (!step.as) return undefined;
    const token = step.as.fromOperation ? tokens.byOperation.get(step.as.fromOperation) : tokens.byUser.get(step.as.user);
    if (!token) throw new Error(`${step.name} runs as ${step.as.user}, who has no token yet`);
    return token;
  };
  const withIds = (variables: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, ids[key] ?? value]));

  it('has operations to run, every one named', () => {
    expect(steps.map((step) => step.name)).toEqual(expect.arrayContaining(['RegisterAlice', 'CreateTeam', 'Send', 'History', 'Logout', 'Live']));
  });

  it('runs every query and mutation in order, without an error', async () => {
    for (const step of steps.filter((candidate) => candidate.kind !== 'subscription')) {
      const result = await server.gql(step.document, withIds(step.variables), tokenFor(step));
      expect({ step: step.name, errors: result.errors }).toEqual({ step: step.name, errors: undefined });
      const data = result.data as Record<string, any>;
      const [field, value] = Object.entries(data)[0]!;
      if (typeof value?.token === 'string') {
        tokens.byOperation.set(step.name, value.token);
        const username = /username: "(\w+)"/.exec(step.document)?.[1];
        if (field === 'register' && username) tokens.byUser.set(username, value.token);
      }
      if (field === 'createGroupChat') ids.chatId = value.id;
      if (field === 'sendMessage') ids.id = value.id;
    }
    // What the tour says of Logout: the token it was sent with stops working at once.
    expect((await server.gql(`query { me { id } }`, {}, tokens.byOperation.get('Login'))).data).toEqual({ me: null });
  });

  it('delivers what its subscription asks for', async () => {
    const step = steps.find((candidate) => candidate.kind === 'subscription')!;
    const viewer = { token: tokenFor(step)! } as SignedUp;
    const sub = live((await connect(server, viewer)).client, step.document, withIds(step.variables));
    const alice = { token: tokens.byUser.get('alice')! } as SignedUp;
    await eventually(async () => {
      await send(server, alice, ids.chatId!, 'for the subscription');
      await sleep(100);
      return sub.events.length > 0;
    }, 5_000, 'an event of the tour subscription');
    expect(sub.events[0]).toEqual(expect.objectContaining({ text: 'for the subscription', author: { username: 'alice' } }));
  });

  it('has a graphql-ws example that runs on this Node and prints the messages it is sent', async () => {
    const snippet = blocks.find((block) => block.lang === 'ts')!.code.replace('ws://localhost:4000/graphql', server.wsUrl);
    // Inside node_modules, so its imports resolve as in a project of the reader's.
    const folder = join('node_modules', '.cache', 'readme-test');
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `snippet-${process.pid}.ts`);
    writeFileSync(file, snippet);
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...process.env, TOKEN: tokens.byUser.get('bob'), CHAT_ID: ids.chatId },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => (printed += chunk));
    child.stderr.on('data', (chunk: Buffer) => (printed += chunk));
    try {
      const alice = { token: tokens.byUser.get('alice')! } as SignedUp;
      await eventually(async () => {
        await send(server, alice, ids.chatId!, 'for the snippet');
        await sleep(200);
        return printed.includes('for the snippet');
      }, 15_000, 'the snippet to print a message');
      // Replayed from afterSeq 0 first (what was sent before it started), then live, in seq order.
      const lines = printed.trim().split('\n');
      const texts = lines.map((line) => line.replace(/^\d+ /, ''));
      expect(texts.slice(0, -1)).toContain('for the subscription');
      expect(texts.at(-1)).toBe('for the snippet');
      const seqs = lines.map((line) => Number(line.split(' ')[0]));
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    } finally {
      child.kill();
    }
  });
});
