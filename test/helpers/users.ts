import type { TestServer } from './server.ts';

export interface SignedUp {
  token: string;
  user: { id: string; username: string; email: string };
  session: { id: string; device: string };
}

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      token
      user { id username email }
      session { id device }
    }
  }
`;

export const PASSWORD = 'correct horse battery';

/** Registers `username` (email derived from it) and returns the token, user and session. */
export async function signUp(server: TestServer, username: string, device = `${username}-laptop`): Promise<SignedUp> {
  const result = await server.gql(REGISTER, {
    input: { username, email: `${username.toLowerCase()}@example.com`, password: PASSWORD, device },
  });
  if (!result.data?.register) throw new Error(`register ${username} failed: ${JSON.stringify(result.errors)}`);
  return result.data.register;
}
