import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './live.ts';

/** How long a terminal test waits for the program to print something. */
const PRINT_WAIT_MS = 15_000;

/**
 * `npm run chat` as a person runs it, driven through its stdin and stdout:
 * `type` sends a line, `expect` waits for output after what was already
 * read. Its config directory (where the token is kept) is its own unless
 * one is given, so a second start can find the first one's session.
 */
export class TerminalChat {
  readonly configHome: string;
  private readonly child: ChildProcess;
  private output = '';
  private cursor = 0;
  private waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(url: string, { configHome }: { configHome?: string } = {}) {
    this.configHome = configHome ?? mkdtempSync(join(tmpdir(), 'messenger-terminal-'));
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/terminal/main.ts', '--url', url], {
      env: { ...process.env, XDG_CONFIG_HOME: this.configHome, TZ: 'UTC' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString('utf8');
      for (const waiter of [...this.waiters]) waiter();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Types one line and Enter. */
  type(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /**
   * Waits until the output after the last match contains `expected` and
   * returns that part of the output up to the end of the match.
   */
  async expect(expected: string | RegExp, ms = PRINT_WAIT_MS): Promise<string> {
    let waiter!: () => void;
    const found = new Promise<string>((resolve) => {
      waiter = () => {
        const unread = this.output.slice(this.cursor);
        const match = typeof expected === 'string' ? { index: unread.indexOf(expected), length: expected.length } : matchOf(expected, unread);
        if (match.index < 0) return;
        this.cursor += match.index + match.length;
        resolve(unread.slice(0, match.index + match.length));
      };
      this.waiters.add(waiter);
      waiter();
    });
    try {
      return await within(ms, found, () => `${String(expected)} in the output after: ${JSON.stringify(this.output.slice(this.cursor))}`);
    } finally {
      this.waiters.delete(waiter);
    }
  }

  /** Everything printed after the last match so far. */
  get unread(): string {
    return this.output.slice(this.cursor);
  }

  /** Types /quit and resolves with the exit code. */
  async quit(): Promise<number | null> {
    this.type('/quit');
    return within(PRINT_WAIT_MS, this.exited, () => `the chat to exit; it printed ${JSON.stringify(this.output.slice(this.cursor))}`);
  }

  kill(): void {
    this.child.kill();
  }
}

function matchOf(pattern: RegExp, text: string) {
  const match = pattern.exec(text);
  return match ? { index: match.index, length: match[0].length } : { index: -1, length: 0 };
}
