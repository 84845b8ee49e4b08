import { createApi } from './api.ts';
import type { LoginInput, RegisterInput } from './generated/graphql.ts';
import { Login, Me, Register } from './operations.ts';

/** A signed-in person: the token signs every request. */
export interface Session {
  token: string;
  user: { id: string; username: string; email: string | null };
}

/** Creates an account and signs it in; rejects with an ApiError (CONFLICT for a taken name, …). */
export async function register(url: string, input: RegisterInput): Promise<Session> {
  return (await createApi({ url }).request(Register, { input })).register;
}

/** Signs in with a username or email; rejects with UNAUTHENTICATED for a wrong password. */
export async function login(url: string, input: LoginInput): Promise<Session> {
  return (await createApi({ url }).request(Login, { input })).login;
}

/** The user a saved token signs in, or null when it no longer works (expired, signed out). */
export async function currentUser(url: string, token: string): Promise<Session['user'] | null> {
  return (await createApi({ url, token, subscriptions: false }).request(Me, {})).me;
}
