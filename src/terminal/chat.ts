import { hostname } from 'node:os';
import { createInterface, clearLine, cursorTo, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { emojify } from 'node-emoji';
import WebSocket from 'ws';
import { currentUser, login, register, type Session } from '../client/account.ts';
import { ApiError, createApi, type Api } from '../client/api.ts';
import { describeError } from '../client/errors.ts';
import { openInbox, type ChatSummary, type Inbox } from '../client/inbox.ts';
import { Logout } from '../client/operations.ts';
import { openRoom, type Room } from '../client/room.ts';
import { HELP, formatChat, formatMessage, formatReactions } from './format.ts';
import type { SessionFile } from './session-file.ts';

interface ChatOptions {
  /** The server's GraphQL endpoint over HTTP. */
  url: string;
  sessions: SessionFile;
  input: NodeJS.ReadableStream;
  output: NodeJS.WriteStream;
}

/** Messages shown when a chat is opened, and per /more. */
const PAGE_SIZE = 20;

/**
 * Readline's output, which can be muted while a password is typed (readline
 * echoes what is typed to its output; live messages are written around it).
 */
class MutableOutput extends Writable {
  muted = false;
  constructor(private readonly target: NodeJS.WriteStream) {
    super();
  }
  get columns() {
    return this.target.columns;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void) {
    if (!this.muted) this.target.write(chunk);
    done();
  }
}

/**
 * The interactive terminal chat: one command or message per line, while
 * new messages, edits, deletions and typing of the open chat (and new
 * messages elsewhere) are printed as they happen, above the line being typed.
 */
export async function runChat({ url, sessions, input, output }: ChatOptions): Promise<void> {
  const interactive = Boolean(output.isTTY);
  const echo = new MutableOutput(output);
  const rl: Interface = createInterface({ input, output: echo, terminal: interactive, prompt: '> ' });
  const lines = rl[Symbol.asyncIterator]();

  /** Prints a line above the one being typed, which is drawn again after it. */
  const print = (text: string) => {
    if (interactive) {
      clearLine(output, 0);
      cursorTo(output, 0);
    }
    output.write(`${text}\n`);
    if (interactive && !echo.muted) rl.prompt(true);
  };
  const fail = (error: unknown) => {
    const code = error instanceof ApiError ? error.code : 'INTERNAL_SERVER_ERROR';
    print(`! ${describeError(error)} [${code}]`);
  };

  const ask = async (question: string, { secret = false } = {}): Promise<string | null> => {
    output.write(interactive ? question : `${question}\n`);
    echo.muted = secret && interactive;
    const answer = await lines.next();
    if (echo.muted) output.write('\n');
    echo.muted = false;
    return answer.done ? null : answer.value;
  };

  let session: Session | null = null;
  let api: Api | null = null;
  let inbox: Inbox | null = null;
  let room: Room | null = null;
  let roomName = '';

  const closeRoom = () => {
    room?.close();
    room = null;
  };
  /** Stops everything live; the saved session stays unless signing out. */
  const disconnect = async () => {
    closeRoom();
    inbox?.close();
    await api?.close();
  };
  const signOut = async () => {
    await disconnect();
    api = null;
    inbox = null;
    session = null;
    sessions.write(url, null);
  };

  const startSession = async (next: Session) => {
    session = next;
    sessions.write(url, next);
    api = createApi({
      url,
      token: next.token,
      webSocketImpl: WebSocket,
      onSocketRefused: (error) => {
        fail(error);
        void signOut().then(() => print('Signed out. /login to sign in again.'));
      },
    });
    api.onSocketStatus((status, reconnected) => {
      if (status === 'offline') print('… connection lost, reconnecting');
      else if (reconnected) print('… reconnected');
    });
    inbox = openInbox(api);
    inbox.subscribe((event) => {
      if (event.type === 'error') fail(event.error);
      if (event.type === 'message' && event.chat.id !== room?.chatId) {
        const mention = event.message.mentionsMe ? ', mentions you' : '';
        print(`[${event.chat.name}] ${event.message.author.username}: ${event.message.text} (${event.chat.unreadCount} unread${mention})`);
      }
    });
    await new Promise<void>((resolve) => {
      const off = inbox!.subscribe((event) => {
        if (event.type === 'loaded' || event.type === 'error') {
          off();
          resolve();
        }
      });
    });
    print(`Signed in as ${next.user.username}.`);
    listChats();
  };

  const listChats = () => {
    const chats = inbox?.state.chats ?? [];
    if (chats.length === 0) return print('No chats yet: /dm <username> or /group <name> <usernames>.');
    print('Your chats:');
    for (const chat of chats) print(formatChat(chat, session!.user.id));
  };

  const openChat = async (chat: ChatSummary) => {
    closeRoom();
    const opened = openRoom(api!, chat.id, { pageSize: PAGE_SIZE });
    room = opened;
    roomName = chat.name;
    const markRead = () => inbox!.markRead(chat.id).catch(fail);
    await new Promise<void>((resolve) => {
      opened.subscribe((event) => {
        switch (event.type) {
          case 'loaded':
            print(`— ${roomName}${opened.state.hasOlder ? ' (/more for older messages)' : ''} —`);
            for (const message of event.messages) print(formatMessage(message));
            if (event.messages.length === 0) print('No messages yet: type one.');
            void markRead();
            return resolve();
          case 'added':
            print(formatMessage(event.message));
            if (event.message.author.id !== session?.user.id) void markRead();
            return;
          case 'updated': {
            const { message, previous } = event;
            if (message.text !== previous.text) print(`#${message.seq} edited: ${message.author.username}: ${message.text}`);
            if (formatReactions(message) !== formatReactions(previous)) print(`#${message.seq} reactions: ${formatReactions(message)}`);
            return;
          }
          case 'deleted':
            return print(`#${event.seq} deleted`);
          case 'typing':
            return event.typing ? print(`${event.username} is typing…`) : undefined;
          case 'error':
            fail(event.error);
            return resolve();
        }
      });
    });
    if (interactive) rl.setPrompt(`${roomName}> `);
  };

  /** The open chat's message `#seq` (or `seq`) as typed after /reply, /react, /edit or /delete. */
  const messageAt = (reference: string | undefined) => {
    const seq = Number(reference?.replace(/^#/, ''));
    return room?.state.messages.find((message) => message.seq === seq) ?? null;
  };

  const signedIn = () => {
    if (api && inbox) return true;
    print('Not signed in: /register <username> <email> or /login <username>.');
    return false;
  };
  const inRoom = () => {
    if (!signedIn()) return false;
    if (room) return true;
    print('No chat is open: /open <chat name> or /dm <username>.');
    return false;
  };

  const commands: Record<string, (args: string[], rest: string) => Promise<void> | void> = {
    help: () => print(HELP),
    quit: () => rl.close(),
    async register([username, email]) {
      if (!username || !email) return print('Usage: /register <username> <email>');
      const password = await ask('Password: ', { secret: true });
      if (password === null) return;
      await signOut();
      await startSession(await register(url, { username, email, password, device: `terminal@${hostname()}` }));
    },
    async login([name]) {
      if (!name) return print('Usage: /login <username or email>');
      const password = await ask('Password: ', { secret: true });
      if (password === null) return;
      await signOut();
      await startSession(await login(url, { login: name, password, device: `terminal@${hostname()}` }));
    },
    async logout() {
      if (!signedIn()) return;
      await api!.request(Logout, {});
      await signOut();
      print('Signed out.');
    },
    chats: () => {
      if (signedIn()) listChats();
    },
    async open(_args, name) {
      if (!signedIn()) return;
      if (!name) return print('Usage: /open <chat name>');
      const wanted = name.toLowerCase();
      const chats = inbox!.state.chats;
      const chat = chats.find((candidate) => candidate.name.toLowerCase() === wanted) ?? chats.find((candidate) => candidate.name.toLowerCase().startsWith(wanted));
      if (!chat) return print(`No chat named "${name}": /chats lists yours, /dm <username> starts one.`);
      await openChat(chat);
    },
    async dm([username]) {
      if (!signedIn()) return;
      if (!username) return print('Usage: /dm <username>');
      await openChat(await inbox!.startDirectChat(username));
    },
    async group([name, ...members]) {
      if (!signedIn()) return;
      if (!name) return print('Usage: /group <name> [username ...]');
      await openChat(await inbox!.createGroup(name, members));
    },
    async more() {
      if (!inRoom()) return;
      if (!room!.state.hasOlder) return print('That is the start of the conversation.');
      const before = room!.state.messages;
      const count = await room!.loadOlder();
      const older = room!.state.messages.slice(0, room!.state.messages.length - before.length);
      print(`— ${count} older —`);
      for (const message of older) print(formatMessage(message));
    },
    async reply([reference], rest) {
      if (!inRoom()) return;
      const message = messageAt(reference);
      const text = rest.slice(reference?.length ?? 0).trim();
      if (!message || !text) return print('Usage: /reply <#seq> <text>, with a #seq shown in this chat.');
      await room!.send(emojify(text), { replyToId: message.id });
    },
    async react([reference, emoji]) {
      if (!inRoom()) return;
      const message = messageAt(reference);
      if (!message || !emoji) return print('Usage: /react <#seq> <emoji>, e.g. /react #4 :tada:');
      await room!.react(message.id, emojify(emoji));
    },
    async edit([reference], rest) {
      if (!inRoom()) return;
      const message = messageAt(reference);
      const text = rest.slice(reference?.length ?? 0).trim();
      if (!message || !text) return print('Usage: /edit <#seq> <new text>, with a #seq shown in this chat.');
      await room!.edit(message.id, emojify(text));
    },
    async delete([reference]) {
      if (!inRoom()) return;
      const message = messageAt(reference);
      if (!message) return print('Usage: /delete <#seq>, with a #seq shown in this chat.');
      await room!.remove(message.id);
    },
  };

  const handle = async (line: string) => {
    const text = line.trim();
    if (!text) return;
    const command = /^\/(\w+)\s*(.*)$/.exec(text);
    if (!command) {
      if (inRoom()) await room!.send(emojify(text));
      return;
    }
    const [, name, rest] = command as unknown as [string, string, string];
    const run = commands[name.toLowerCase()];
    if (!run) return print(`Unknown command /${name}: /help lists them.`);
    await run(rest.split(/\s+/).filter(Boolean), rest);
  };

  if (interactive) {
    // Typing in the open chat (not a command) tells the others.
    input.on('keypress', () => {
      if (room && rl.line && !rl.line.startsWith('/')) room.setTyping(true);
    });
  }

  print(`Messenger: ${url} (/help for commands)`);
  const saved = sessions.read(url);
  if (saved) {
    try {
      const me = await currentUser(url, saved.token);
      if (me) await startSession({ ...saved, user: me });
      else {
        sessions.write(url, null);
        print('Your saved session has ended: /login <username> again.');
      }
    } catch (error) {
      fail(error);
    }
  } else {
    print('Not signed in: /register <username> <email> or /login <username>.');
  }

  if (interactive) rl.prompt();
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    try {
      await handle(next.value);
    } catch (error) {
      fail(error);
    }
    if (interactive) rl.prompt();
  }
  await disconnect();
  rl.close();
}
