import type { Context } from '../context.ts';
import { login, register, revokeSession, type AccountDeps } from '../domain/accounts.ts';
import type { Session as SessionRow, User as UserRow } from '../generated/prisma/client.ts';
import { canSee } from './access.ts';
import { builder, VIEWER_DEPENDENT } from './builder.ts';
import { User } from './user.ts';

export const Session = builder.prismaNode('Session', {
  id: { field: 'id' },
  description: 'A signed-in device: every login or registration opens one.',
  authScopes: (session, ctx) => canSee.Session(session, ctx),
  fields: (t) => ({
    device: t.exposeString('device'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime' }),
    current: t.boolean({
      extensions: VIEWER_DEPENDENT,
      description: 'True for the session whose token made this request.',
      resolve: (session, _args, ctx) => session.id === ctx.viewer?.sessionId,
    }),
  }),
});

const AuthPayload = builder
  .objectRef<SignIn>('AuthPayload')
  .implement({
    fields: (t) => ({
      token: t.exposeString('token'),
      user: t.expose('user', { type: User }),
      session: t.expose('session', { type: Session }),
    }),
  });

type SignIn = { token: string; user: UserRow; session: SessionRow };

const accountDeps = (ctx: Context): AccountDeps => ({ db: ctx.prisma, settings: ctx.config, limits: ctx.limits, passwords: ctx.passwords });

/** The rest of a register/login request sees the caller as the new session: its email, `current: true`. */
function actAs(ctx: Context, signIn: SignIn): SignIn {
  ctx.viewer = { userId: signIn.user.id, sessionId: signIn.session.id, tokenExpiresAt: signIn.session.expiresAt };
  return signIn;
}

const RegisterInput = builder.inputType('RegisterInput', {
  fields: (t) => ({
    username: t.string(),
    email: t.string(),
    password: t.string(),
    device: t.string({
      required: false,
      description: 'A name for this device, e.g. "alice-laptop"; defaults to the User-Agent or "unknown".',
    }),
  }),
});

const LoginInput = builder.inputType('LoginInput', {
  fields: (t) => ({
    login: t.string({ description: 'Username or email.' }),
    password: t.string(),
    device: t.string({ required: false }),
  }),
});

builder.queryField('sessions', (t) =>
  t.prismaField({
    type: [Session],
    description: "The caller's signed-in devices, newest first.",
    authScopes: { loggedIn: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.session.findMany({
        ...query,
        where: { userId: ctx.viewer!.userId, expiresAt: { gt: new Date() } },
        orderBy: { createdAt: 'desc' },
      }),
  }),
);

builder.mutationFields((t) => ({
  register: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: RegisterInput }) },
    resolve: async (_root, { input }, ctx) => actAs(ctx, await register(accountDeps(ctx), input, ctx.client)),
  }),
  login: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: LoginInput }) },
    resolve: async (_root, { input }, ctx) => actAs(ctx, await login(accountDeps(ctx), input, ctx.client)),
  }),
  logout: t.withAuth({ loggedIn: true }).boolean({
    description: 'Ends the current session: its token stops working at once.',
    resolve: (_root, _args, ctx) => revokeSession(ctx.prisma, ctx.bus, ctx.viewer.userId, ctx.viewer.sessionId),
  }),
  revokeSession: t.withAuth({ loggedIn: true }).boolean({
    description: "Ends one of the caller's sessions; false when there is no such session of theirs.",
    args: { id: t.arg.globalID({ for: Session }) },
    resolve: (_root, { id }, ctx) => revokeSession(ctx.prisma, ctx.bus, ctx.viewer.userId, id.id),
  }),
}));
