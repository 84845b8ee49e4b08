/**
 * A WebSocket client that does not play by the rules: it speaks
 * graphql-transport-ws over a plain TCP socket, so it can ignore the
 * server's close frame and keep sending, as an attacker's client would.
 * It writes masked text frames and parses what the server sends only as far
 * as a test needs (unfragmented frames), per RFC 6455 section 5.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { within, WAIT_MS } from './live.ts';

const TEXT = 0x1;
const CLOSE = 0x8;

export interface ServerFrame {
  opcode: number;
  /** Text frames: the parsed graphql-ws message. */
  message?: any;
  /** Close frames: the code the server closed with. */
  closeCode?: number;
}

export class RogueSocket {
  readonly frames: ServerFrame[] = [];
  readonly ended: Promise<void>;
  private readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private upgraded = false;
  private waiters = new Set<() => void>();

  private constructor(url: URL) {
    this.socket = connect(Number(url.port), url.hostname);
    this.socket.on('error', () => undefined);
    this.ended = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      for (const wake of [...this.waiters]) wake();
    });
    this.socket.write(
      [
        `GET ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Protocol: graphql-transport-ws',
        '',
        '',
      ].join('\r\n'),
    );
  }

  /** Opens the socket and passes connection_init with `token`, waiting for connection_ack. */
  static async open(wsUrl: string, token: string): Promise<RogueSocket> {
    const rogue = new RogueSocket(new URL(wsUrl));
    rogue.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await rogue.until(() => rogue.messages().some((message) => message.type === 'connection_ack'), 'no connection_ack');
    return rogue;
  }

  /** Writes one graphql-ws message, whatever state the server thinks the socket is in. */
  send(message: object) {
    const payload = Buffer.from(JSON.stringify(message));
    const length = payload.length < 126 ? [payload.length] : [126, payload.length >> 8, payload.length & 0xff];
    if (payload.length > 0xffff) throw new Error('RogueSocket sends frames of at most 64 KB');
    const mask = randomBytes(4);
    const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
    // FIN + text opcode; the mask bit on the first length byte (clients must mask).
    this.socket.write(Buffer.concat([Buffer.from([0x80 | TEXT, 0x80 | length[0]!, ...length.slice(1)]), mask, masked]));
  }

  messages(): any[] {
    return this.frames.filter((frame) => frame.message !== undefined).map((frame) => frame.message);
  }

  get closeCode(): number | undefined {
    return this.frames.find((frame) => frame.opcode === CLOSE)?.closeCode;
  }

  async until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    let wake!: () => void;
    const reached = new Promise<void>((resolve, reject) => {
      wake = () => (check() ? resolve() : this.socket.destroyed && reject(new Error(`socket gone: ${what}`)));
      this.waiters.add(wake);
      void this.ended.then(wake);
      wake();
    });
    try {
      await within(ms, reached, () => `${what}: ${JSON.stringify(this.frames)}`);
    } finally {
      this.waiters.delete(wake);
    }
  }

  destroy() {
    this.socket.destroy();
  }

  private parse() {
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === TEXT) this.frames.push({ opcode, message: JSON.parse(payload.toString('utf8')) });
      else if (opcode === CLOSE) this.frames.push({ opcode, closeCode: payload.length >= 2 ? payload.readUInt16BE(0) : undefined });
      else this.frames.push({ opcode });
    }
  }
}
