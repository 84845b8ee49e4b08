import { z } from 'zod';
import type { Db } from '../db/client.ts';
import type { EventBus } from '../events.ts';
import { AppError, isUniqueViolation, parseInput } from '../errors.ts';
import { signToken, type TokenSettings } from './auth.ts';
import type { PasswordWork } from './passwords.ts';
import type { RateLimits } from './rate-limits.ts';

/** Who is asking, as far as the network tells: for device names and rate limits. */
export interface Client {
  userAgent: string | null;
  /** The client's IP address (see TRUST_PROXY). */
  address: string;
}

/** What registering and signing in need. */
export interface AccountDeps {
  db: Db;
  settings: TokenSettings;
  limits: RateLimits;
  passwords: PasswordWork;
}

// bcrypt only looks at the first 72 bytes; a longer password would silently
// match anything sharing those bytes, so it is refused instead.
const MAX_PASSWORD_BYTES = 72;
const MAX_DEVICE_LENGTH = 64;

export const usernameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,32}$/, 'must be 3–32 characters of letters, digits, "_", "." or "-"');

const passwordSchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_PASSWORD_BYTES, {
    message: `must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8`,
  });

const deviceSchema = z.string().trim().max(MAX_DEVICE_LENGTH, `must be at most ${MAX_DEVICE_LENGTH} characters`).nullish();

const registerSchema = z.object({
  username: usernameSchema,
  email: z.string().trim().max(254).pipe(z.email('must be a valid email address')),
  password: passwordSchema,
  device: deviceSchema,
});

const loginSchema = z.object({
  login: z.string().trim().min(1, 'must not be empty').max(254),
  password: z.string().min(1, 'must not be empty'),
  device: deviceSchema,
});

export type RegisterInput = z.input<typeof registerSchema>;
export type LoginInput = z.input<typeof loginSchema>;

export const usernameKey = (username: string) => username.toLowerCase();

/** The device name for a new session: what the client named it, else its User-Agent. */
function deviceName(given: string | null | undefined, userAgent: string | null): string {
  return given || userAgent?.trim().slice(0, MAX_DEVICE_LENGTH) || 'unknown';
}

async function openSession({ db, settings }: AccountDeps, userId: string, device: string) {
  const session = await db.session.create({
    data: { userId, device, expiresAt: new Date(Date.now() + settings.jwtTtlSeconds * 1000) },
  });
  return { session, token: signToken(settings, userId, session.id) };
}

/**
 * Creates the account and its first session. Username and email clashes are
 * CONFLICT. Each valid attempt counts against the client's address.
 */
export async function register(deps: AccountDeps, input: RegisterInput, client: Client) {
  const { db, limits, passwords } = deps;
  const { username, email, password, device } = parseInput(registerSchema, input);
  await limits.take('registrationsPerAddress', client.address);
  const passwordHash = await passwords.hash(password);
  try {
    const user = await db.user.create({
      data: { username, usernameKey: usernameKey(username), email: email.toLowerCase(), passwordHash },
    });
    return { user, ...(await openSession(deps, user.id, deviceName(device, client.userAgent))) };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const taken = await db.user.findUnique({ where: { usernameKey: usernameKey(username) }, select: { id: true } });
    throw new AppError('CONFLICT', taken ? 'That username is taken.' : 'That email is already registered.', {
      field: taken ? 'username' : 'email',
    });
  }
}

/**
 * Opens a session for a username or email and password; one error for every
 * failure. Failed attempts are limited per account and per client address;
 * an attempt takes its points before the password is checked (so a thousand
 * guesses sent at once cost no more bcrypt work than the limit allows) and a
 * right one gives them back. An address with no failure in the window has its
 * password checked ahead of those with failures (./passwords.ts).
 */
export async function login(deps: AccountDeps, input: LoginInput, client: Client) {
  const { db, limits, passwords } = deps;
  const { login: name, password, device } = parseInput(loginSchema, input);
  const key = name.toLowerCase();
  const user = await db.user.findUnique({ where: key.includes('@') ? { email: key } : { usernameKey: key } });
  // One count per account, whichever of its names is tried; unknown names count per name.
  const account = user?.id ?? key;
  const standing = (await limits.used('loginFailuresPerAddress', client.address)) === 0 ? 'trusted' : 'suspect';
  await limits.take('loginFailuresPerAccount', account);
  const giveBack = async () => {
    await Promise.all([limits.giveBack('loginFailuresPerAccount', account), limits.giveBack('loginFailuresPerAddress', client.address)]);
  };
  await limits.take('loginFailuresPerAddress', client.address).catch(async (error: unknown) => {
    await limits.giveBack('loginFailuresPerAccount', account);
    throw error;
  });
  // Refused for the server's load: no failure of the client's.
  const matches = await passwords.verify(password, user?.passwordHash ?? null, standing).catch(async (error: unknown) => {
    await giveBack();
    throw error;
  });
  if (!user || !matches) throw new AppError('UNAUTHENTICATED', 'Wrong login or password.');
  await giveBack();
  return { user, ...(await openSession(deps, user.id, deviceName(device, client.userAgent))) };
}

/**
 * Ends one of the user's sessions; false when it was not theirs or is already gone.
 * Its token stops working at once, since every request looks its session up.
 */
export async function revokeSession(db: Db, bus: EventBus, userId: string, sessionId: string): Promise<boolean> {
  const { count } = await db.session.deleteMany({ where: { id: sessionId, userId } });
  // Sockets opened with the session's token close on this (on every instance).
  if (count > 0) bus.publish('session:revoked', { sessionId });
  return count > 0;
}
