import { createContextCache, isThenable, type MaybePromise } from '@pothos/core';
import type { Context } from '../context.ts';
import { may, type Role } from '../domain/access.ts';
import { isServable } from '../domain/messages.ts';
import type { Chat, Message, Session } from '../generated/prisma/client.ts';
import { blockersOfViewer, myMembership } from './loaders.ts';

/**
 * The rules of src/domain/access.ts as the GraphQL types apply them. Each
 * object type's authScopes call `canSee`, so every path that returns a Chat,
 * Message, Session or User passes the same check: a query, node(id), a
 * nested field, a mutation's payload, a subscription event. A failed check is
 * NOT_FOUND, as for an object that does not exist (see builder.ts).
 */

// Roles already known in this request (a request is one operation, or one
// subscription event: see src/server/shared-execution.ts), so the checks of
// a page of messages of one chat cost one read, and none when the read of the
// page proved it (knowRole).
const knownRoles = createContextCache((_ctx: Context) => new Map<string, MaybePromise<Role>>());

/** The viewer's role in the chat (null: not a member), read once per request. */
export function roleIn(ctx: Context, chatId: string): MaybePromise<Role> {
  const roles = knownRoles(ctx);
  let role = roles.get(chatId);
  if (role === undefined) {
    const loading = myMembership(ctx)
      .load(chatId)
      .then((membership) => {
        const loaded = membership?.role ?? null;
        roles.set(chatId, loaded);
        return loaded;
      });
    roles.set(chatId, (role = loading));
  }
  return role;
}

/** Records the viewer's role in a chat that a read of this request has just established. */
export function knowRole(ctx: Context, chatId: string, role: Role) {
  knownRoles(ctx).set(chatId, role);
}

/** `rule` applied to the viewer's role in the chat, synchronously when the role is known. */
export function withRole(ctx: Context, chatId: string, rule: (role: Role) => boolean): MaybePromise<boolean> {
  const role = roleIn(ctx, chatId);
  return isThenable(role) ? role.then(rule) : rule(role);
}

export const canSee = {
  // What an outsider may see, anyone may: no read for a public group.
  Chat: (chat: Chat, ctx: Context) =>
    ctx.viewer !== null && (may.seeChat(chat, null) || withRole(ctx, chat.id, (role) => may.seeChat(chat, role))),
  Message: (message: Message, ctx: Context) =>
    ctx.viewer !== null && isServable(ctx.config, message) && withRole(ctx, message.chatId, may.takePart),
  Session: (session: Session, ctx: Context) => ctx.viewer !== null && may.seeSession(ctx.viewer.userId, session),
  /** Any signed-in user sees another's profile (its email aside: see User.email). */
  User: (_user: unknown, ctx: Context) => ctx.viewer !== null,
};

/** Whether the viewer may see whether `userId` is online and when they were last seen (may.seePresence). */
export async function seesPresenceOf(ctx: Context, userId: string): Promise<boolean> {
  if (!ctx.viewer || ctx.viewer.userId === userId) return true;
  return may.seePresence((await blockersOfViewer(ctx)).has(userId));
}

/** Those of `userIds` who are online, as the viewer may see it (seesPresenceOf). */
export async function onlineAsSeen(ctx: Context, userIds: Iterable<string>): Promise<string[]> {
  const online = ctx.presence.online(userIds);
  if (online.length === 0) return online;
  const shown = await Promise.all(online.map((userId) => seesPresenceOf(ctx, userId)));
  return online.filter((_userId, i) => shown[i]);
}

/** Whether node(id) may return `node`, of type `typename`: the same check as its type's. */
export async function canSeeNode(ctx: Context, typename: string, node: unknown): Promise<boolean> {
  const check = canSee[typename as keyof typeof canSee] as ((node: unknown, ctx: Context) => MaybePromise<boolean>) | undefined;
  return check ? await check(node, ctx) : false;
}
