import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDirect, createGroup, newUsers, ok, range, send, sendMany, sleep, texts, uniqueName } from './helpers/chats.ts';
import {
  alerts,
  buildWebApp,
  chatInList,
  chatRows,
  findChromium,
  launchChromium,
  messageBox,
  messageLog,
  openPage,
  PAGE_WAIT_MS,
  sendWithEnter,
  shownTexts,
  signInAs,
} from './helpers/browser.ts';
import { startServer, testConfig, testProvider, type TestServer } from './helpers/server.ts';
import { PASSWORD, type SignedUp } from './helpers/users.ts';

// The web chat talks to the server only through its API, so one provider
// tells as much as two: a real browser twice over would double the slowest
// file of the suite for nothing.
const chromiumPath = findChromium();
const enabled = testProvider() === 'sqlite' && chromiumPath !== null;
if (testProvider() === 'sqlite' && !chromiumPath) {
  console.warn('*** web chat: SKIPPED: no chromium on the PATH (apt-get install chromium). ***');
}

const BROWSER_TEST_MS = 90_000;

let webRoot: string;
let server: TestServer;
let browser: Browser;
beforeAll(async () => {
  if (!enabled) return;
  webRoot = await buildWebApp();
  server = await startServer(testConfig({ WEB_ROOT: webRoot }));
  browser = await launchChromium(chromiumPath!);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const contexts: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

const origin = () => new URL('/', server.url).href;
const name = (user: SignedUp) => user.user.username;

/** A browser profile of its own, signed in as `user`. */
async function signedIn(user: SignedUp, at: TestServer = server) {
  const opened = await openPage(browser, new URL('/', at.url).href);
  contexts.push(opened.context);
  await signInAs(opened.page, user);
  return opened;
}

async function openChat(page: Page, chatName: string) {
  await chatInList(page, chatName).getByRole('button').click();
  await page.getByRole('heading', { name: chatName }).waitFor();
  await messageLog(page).and(page.locator('[aria-busy="false"]')).waitFor();
}

interface ChatFeed {
  afterSeq: number;
  /** The seqs of the messages the server sent on this subscription. */
  seqs: number[];
}

/** The page's messageAdded(chatId, afterSeq) subscriptions as its WebSocket frames show them. */
function recordChatFeeds(page: Page) {
  const feeds = new Map<string, ChatFeed>();
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload));
      if (message.type === 'subscribe' && message.payload.operationName === 'RoomMessages') {
        feeds.set(message.id, { afterSeq: message.payload.variables.afterSeq, seqs: [] });
      }
    });
    socket.on('framereceived', ({ payload }) => {
      const message = JSON.parse(String(payload));
      if (message.type === 'next') feeds.get(message.id)?.seqs.push(message.payload.data.messageAdded.seq);
    });
  });
  return {
    get feeds() {
      return [...feeds.values()];
    },
  };
}

const shown = (page: Page) => expect.poll(() => shownTexts(page), { timeout: PAGE_WAIT_MS });
const rows = (page: Page) => expect.poll(() => chatRows(page), { timeout: PAGE_WAIT_MS });
const alerted = (page: Page) => expect.poll(() => alerts(page).allTextContents(), { timeout: PAGE_WAIT_MS });

describe.runIf(enabled)('web chat', () => {
  it('is served at / from the build, with nothing loaded from another origin', async () => {
    const { context, page } = await openPage(browser, 'about:blank');
    contexts.push(context);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).origin));
    await page.goto(origin());
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(new Set(requested)).toEqual(new Set([new URL(origin()).origin]));
  }, BROWSER_TEST_MS);

  it('creates an account, keeps the session and the open chat across a reload, signs out and signs in again', async () => {
    const [bob] = await newUsers(server, 'bob');
    const username = uniqueName('webby');
    const { context, page } = await openPage(browser, origin());
    contexts.push(context);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(`${username}@example.com`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByLabel('Start a chat with').fill(name(bob));
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.getByRole('heading', { name: name(bob) }).waitFor();

    await page.reload();
    await page.getByRole('heading', { name: name(bob) }).waitFor();
    await rows(page).toEqual([{ name: name(bob), online: false, unread: 0, mentions: 0, preview: 'No messages yet' }]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await rows(page).toEqual([{ name: name(bob), online: false, unread: 0, mentions: 0, preview: 'No messages yet' }]);
  }, BROWSER_TEST_MS);

  it('tells the person why signing in or up failed', async () => {
    const [taken] = await newUsers(server, 'taken');
    const { context, page } = await openPage(browser, origin());
    contexts.push(context);
    await page.getByLabel('Username').fill(name(taken));
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await alerted(page).toEqual(['Not signed in: Wrong login or password.']);

    await page.getByLabel('Email').fill('someone-else@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await alerted(page).toEqual(['Already exists: That username is taken.']);
  }, BROWSER_TEST_MS);

  it('lets alice and bob chat live: unread counts, last message, online dots, typing, edits and deletions', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const a = (await signedIn(alice)).page;
    const b = (await signedIn(bob)).page;

    await a.getByLabel('Start a chat with').fill(name(bob));
    await a.getByRole('button', { name: 'Start chat' }).click();
    await a.getByRole('heading', { name: name(bob) }).waitFor();
    await a.locator('.presence', { hasText: /^online$/ }).waitFor();
    await sendWithEnter(a, 'hi bob');
    await shown(a).toEqual(['hi bob']);
    await expect.poll(() => messageBox(a).inputValue(), { timeout: PAGE_WAIT_MS }).toBe('');

    await rows(b).toEqual([{ name: name(alice), online: true, unread: 1, mentions: 0, preview: `${name(alice)}: hi bob` }]);
    await openChat(b, name(alice));
    await shown(b).toEqual(['hi bob']);
    await rows(b).toEqual([{ name: name(alice), online: true, unread: 0, mentions: 0, preview: `${name(alice)}: hi bob` }]);

    await messageBox(b).pressSequentially('hello al');
    await a.getByText(`${name(bob)} is typing…`).waitFor();
    await messageBox(b).pressSequentially('ice');
    await b.getByRole('button', { name: 'Send' }).click();
    await shown(a).toEqual(['hi bob', 'hello alice']);
    await a.getByText(`${name(bob)} is typing…`).waitFor({ state: 'hidden' });
    // Typing again right after a send: the stop the send sent does not overtake the new start.
    await messageBox(b).pressSequentially('and');
    await a.getByText(`${name(bob)} is typing…`).waitFor();
    await messageBox(b).fill('');
    await a.getByText(`${name(bob)} is typing…`).waitFor({ state: 'hidden' });

    const mine = messageLog(a).getByRole('article', { name: `${name(alice)}, message 1` });
    await mine.getByRole('button', { name: 'Edit' }).click();
    await a.getByRole('textbox', { name: 'Edit message' }).fill('hi bob!');
    await a.getByRole('textbox', { name: 'Edit message' }).press('Enter');
    await shown(b).toEqual(['hi bob!', 'hello alice']);
    await messageLog(b).getByRole('article', { name: `${name(alice)}, message 1` }).getByText('edited').waitFor();
    // Only one's own messages offer edit and delete.
    const theirs = messageLog(a).getByRole('article', { name: `${name(bob)}, message 2` });
    expect(await theirs.getByRole('toolbar').getByRole('button').allTextContents()).toEqual(['Reply', 'React']);

    await mine.getByRole('button', { name: 'Delete' }).click();
    await shown(b).toEqual(['hello alice']);
    await shown(a).toEqual(['hello alice']);
    expect(await texts(server, alice, ok(await server.gql('{ chats(first: 1) { edges { node { id } } } }', {}, alice.token), 'chats').edges[0].node.id)).toEqual(['hello alice']);

    // Bob goes away: alice's dot and header say so.
    await b.context().close();
    await rows(a).toEqual([{ name: name(bob), online: false, unread: 0, mentions: 0, preview: `${name(bob)}: hello alice` }]);
  }, BROWSER_TEST_MS);

  it('replies with a preview, reacts from the picker with counts live on both sides, and badges and highlights mentions', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, bob, name(alice));
    await send(server, bob, chat.id, 'lunch?');
    const a = (await signedIn(alice)).page;
    const b = (await signedIn(bob)).page;
    await openChat(a, name(bob));
    const question = (page: Page) => messageLog(page).getByRole('article', { name: `${name(bob)}, message 1` });
    const answer = (page: Page) => messageLog(page).getByRole('article', { name: `${name(alice)}, message 2` });

    await question(a).getByRole('button', { name: 'Reply' }).click();
    await expect.poll(() => a.getByLabel('Replying to').textContent(), { timeout: PAGE_WAIT_MS }).toBe(`Replying to ${name(bob)}: lunch?×`);
    await messageBox(a).pressSequentially(`yes @${name(bob)}`);
    await messageBox(a).press('Enter');
    await shown(a).toEqual(['lunch?', `yes @${name(bob)}`]);
    await expect.poll(() => a.getByLabel('Replying to').count(), { timeout: PAGE_WAIT_MS }).toBe(0);
    await expect.poll(() => answer(a).getByLabel('In reply to').textContent(), { timeout: PAGE_WAIT_MS }).toBe(`${name(bob)} lunch?`);
    await question(a).getByText('1 reply').waitFor();

    // Bob, his chat not open yet, sees that he is mentioned; opening the chat reads it.
    await rows(b).toEqual([{ name: name(alice), online: true, unread: 1, mentions: 1, preview: `${name(alice)}: yes @${name(bob)}` }]);
    await openChat(b, name(alice));
    await answer(b).getByText('mentions you').waitFor();
    expect(await answer(b).getAttribute('class')).toContain('mentioned');
    expect(await answer(a).getByText('mentions you').count()).toBe(0);
    await rows(b).toEqual([{ name: name(alice), online: true, unread: 0, mentions: 0, preview: `${name(alice)}: yes @${name(bob)}` }]);

    const reactions = (page: Page) =>
      question(page)
        .getByRole('group', { name: 'Reactions' })
        .getByRole('button')
        .evaluateAll((buttons) => buttons.map((button) => [button.textContent, button.getAttribute('aria-pressed')]));
    const reacted = (page: Page) => expect.poll(() => reactions(page), { timeout: PAGE_WAIT_MS });
    await question(a).getByRole('button', { name: 'React', exact: true }).click();
    await question(a).getByRole('button', { name: 'React with 🎉' }).click();
    await reacted(a).toEqual([['🎉 1', 'true']]);
    await reacted(b).toEqual([['🎉 1', 'false']]);
    await question(b).getByRole('button', { name: '🎉 1' }).click();
    await reacted(b).toEqual([['🎉 2', 'true']]);
    await reacted(a).toEqual([['🎉 2', 'true']]);
    await question(a).getByRole('button', { name: '🎉 2' }).click();
    await reacted(a).toEqual([['🎉 1', 'false']]);
    await reacted(b).toEqual([['🎉 1', 'true']]);
  }, BROWSER_TEST_MS);

  it('creates a group with members, who get it with its first message', async () => {
    const [alice, bob, carol] = await newUsers(server, 'alice', 'bob', 'carol');
    const a = (await signedIn(alice)).page;
    const c = (await signedIn(carol)).page;
    await a.getByLabel('Group name').fill('Trip');
    await a.getByLabel('Members').fill(`${name(bob)}, ${name(carol)}`);
    await a.getByRole('button', { name: 'Create group' }).click();
    await a.getByRole('heading', { name: 'Trip' }).waitFor();
    await a.locator('.presence', { hasText: '3 members, 1 other online' }).waitFor();
    await sendWithEnter(a, 'where to?');
    await rows(c).toEqual([{ name: 'Trip', online: true, unread: 1, mentions: 0, preview: `${name(alice)}: where to?` }]);
  }, BROWSER_TEST_MS);

  it('loads older pages when scrolled to the top, in order and without duplicates', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, bob, name(alice));
    await sendMany(server, bob, chat.id, 70);
    const a = (await signedIn(alice)).page;
    await openChat(a, name(bob));
    const all = Array.from({ length: 70 }, (_, i) => `m${i + 1}`);
    await shown(a).toEqual(all.slice(40));
    expect(await a.getByText('Start of the conversation').count()).toBe(0);

    await messageLog(a).evaluate((log) => (log.scrollTop = 0));
    await shown(a).toEqual(all.slice(10));
    await messageLog(a).evaluate((log) => (log.scrollTop = 0));
    await shown(a).toEqual(all);
    await a.getByText('Start of the conversation').waitFor();
  }, BROWSER_TEST_MS);

  it('catches up after the network drops mid-stream and returns, with no gap and no duplicate', async () => {
    const [alice, bob] = await newUsers(server, 'alice', 'bob');
    const chat = await createDirect(server, bob, name(alice));
    await send(server, bob, chat.id, 'before');
    const { context, page } = await openPage(browser, origin());
    contexts.push(context);
    const wire = recordChatFeeds(page);
    await signInAs(page, alice);
    await openChat(page, name(bob));
    await shown(page).toEqual(['before']);

    // Bob keeps writing, a message every 60 ms, until told to stop.
    const sent: string[] = [];
    let writing = true;
    const stream = (async () => {
      while (writing) {
        const text = `s${sent.length + 1}`;
        await send(server, bob, chat.id, text);
        sent.push(text);
        await sleep(60);
      }
    })();
    const sentAtLeast = (count: number) => expect.poll(() => sent.length, { timeout: PAGE_WAIT_MS }).toBeGreaterThanOrEqual(count);
    await expect.poll(async () => (await shownTexts(page)).length, { timeout: PAGE_WAIT_MS }).toBeGreaterThan(5);
    await context.setOffline(true);
    await page.getByText('Offline: reconnecting…').waitFor();
    await sentAtLeast(sent.length + 5);
    await context.setOffline(false);
    await sentAtLeast(sent.length + 5);
    writing = false;
    await stream;

    await shown(page).toEqual(['before', ...sent]);
    await page.getByText('Offline: reconnecting…').waitFor({ state: 'hidden' });
    await rows(page).toEqual([{ name: name(bob), online: false, unread: 0, mentions: 0, preview: `${name(bob)}: ${sent.at(-1)}` }]);
    // On the wire: the feed was subscribed again from a seq the first
    // subscription had delivered (not from where it started), and the
    // server replayed everything after it. (The socket may still have
    // received frames after the page dropped it, which the page never read.)
    const [first, second, ...more] = wire.feeds;
    expect(more).toEqual([]);
    expect(first!.afterSeq).toBe(1);
    expect(first!.seqs).toEqual(range(2, first!.seqs.at(-1)!));
    expect(first!.seqs).toContain(second!.afterSeq);
    expect(second!.seqs).toEqual(range(second!.afterSeq + 1, sent.length + 1));
  }, BROWSER_TEST_MS);

  it('shows errors from the server: NOT_FOUND for an unknown user, BAD_USER_INPUT for a blank group name', async () => {
    const [alice] = await newUsers(server, 'alice');
    const a = (await signedIn(alice)).page;
    await a.getByLabel('Start a chat with').fill('nobody-at-all');
    await a.getByRole('button', { name: 'Start chat' }).click();
    await alerted(a).toEqual(['Not found: User "nobody-at-all" not found.']);
    await a.getByRole('button', { name: 'Dismiss' }).click();
    await alerted(a).toEqual([]);
    await a.getByLabel('Group name').fill('   ');
    await a.getByRole('button', { name: 'Create group' }).click();
    await expect.poll(() => alerts(a).allTextContents(), { timeout: PAGE_WAIT_MS }).toEqual([expect.stringMatching(/^Check your input: /)]);
  }, BROWSER_TEST_MS);

  it('shows RATE_LIMITED from the server, with how long to wait', async () => {
    // Following the chat list takes four subscriptions, an open chat four more.
    const limited = await startServer(testConfig({ WEB_ROOT: webRoot, WS_MAX_SUBSCRIPTIONS: '5' }));
    try {
      const [alice, bob] = await newUsers(limited, 'alice', 'bob');
      await createGroup(limited, alice, { name: 'Busy', members: [name(bob)] });
      const a = (await signedIn(alice, limited)).page;
      await openChat(a, 'Busy');
      await expect
        .poll(() => alerts(a).allTextContents(), { timeout: PAGE_WAIT_MS })
        .toContain('Too many requests: At most 5 operations at once on one socket. Try again in 1 s.');
    } finally {
      await limited.stop();
    }
  }, BROWSER_TEST_MS);

  it('signs the page out, saying why, when the server ends the session', async () => {
    const [alice] = await newUsers(server, 'alice');
    const { page } = await signedIn(alice);
    // Revoked once the page is idle, its socket up (alice online) and no
    // request in flight: the socket's close is then how the page learns.
    await expect
      .poll(async () => ok(await server.gql('query($u: String!) { user(username: $u) { online } }', { u: name(alice) }, alice.token), 'user').online, {
        timeout: PAGE_WAIT_MS,
      })
      .toBe(true);
    await page.waitForLoadState('networkidle');
    const sessions = ok(await server.gql('{ sessions { id current } }', {}, alice.token), 'sessions');
    const browserSession = sessions.find((session: { current: boolean }) => !session.current);
    ok(await server.gql('mutation($id: ID!) { revokeSession(id: $id) }', { id: browserSession.id }, alice.token), 'revokeSession');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByText('Not signed in: Signed out by the server: Session revoked.').waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  }, BROWSER_TEST_MS);
});
