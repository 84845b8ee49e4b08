import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { PASSWORD, type SignedUp } from './users.ts';

/**
 * Debian's chromium on the PATH, or null (the browser tests then skip,
 * saying so). Never a browser downloaded by Playwright: this machine
 * reaches no download host.
 */
export function findChromium(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * Builds the web chat from its current source into a folder of its own (a
 * server started with WEB_ROOT set to it serves that build), so the tests
 * never see a stale dist/web nor disturb the one `npm start` serves.
 */
export async function buildWebApp(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'messenger-web-'));
  await build({ configFile: 'src/web/vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** How long a browser test waits for the page to show something. */
export const PAGE_WAIT_MS = 15_000;

/** A fresh browser profile (its own storage and network switch) on the server's web chat. */
export async function openPage(browser: Browser, origin: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  context.setDefaultTimeout(PAGE_WAIT_MS);
  const page = await context.newPage();
  await page.goto(origin);
  return { context, page };
}

/** Signs in through the form as a person does. */
export async function signInAs(page: Page, user: SignedUp): Promise<void> {
  await page.getByLabel('Username').fill(user.user.username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** The parts of the page the tests read, found by their accessible names. */
export const chatList = (page: Page) => page.getByRole('list', { name: 'Chats' });
export const chatInList = (page: Page, name: string) =>
  chatList(page).getByRole('listitem').filter({ has: page.locator('.name', { hasText: new RegExp(`^${name}$`) }) });
export const messageLog = (page: Page) => page.getByRole('log', { name: 'Messages' });
export const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message', exact: true });
export const alerts = (page: Page) => page.getByRole('alert');

/** The texts of the messages shown in the open chat, in order. */
export const shownTexts = (page: Page) => messageLog(page).locator('article .text').allTextContents();

/** Types a message and sends it with Enter. */
export async function sendWithEnter(page: Page, text: string): Promise<void> {
  await messageBox(page).fill(text);
  await messageBox(page).press('Enter');
}

export interface ChatRow {
  name: string;
  online: boolean;
  unread: number;
  /** Unread messages that mention the person. */
  mentions: number;
  preview: string;
}

/** The chat list as a person reads it: each chat's name, online dot, unread and mention counts and last message. */
export function chatRows(page: Page): Promise<ChatRow[]> {
  return chatList(page)
    .getByRole('listitem')
    .evaluateAll((items) =>
      items.map((item) => ({
        name: item.querySelector('.name')?.textContent ?? '',
        online: item.querySelector('.dot')?.classList.contains('online') ?? false,
        unread: Number.parseInt(item.querySelector('.unread')?.textContent ?? '0', 10),
        mentions: Number.parseInt(item.querySelector('.mentions')?.textContent?.replace('@', '') ?? '0', 10),
        preview: item.querySelector('.preview')?.textContent ?? '',
      })),
    );
}
