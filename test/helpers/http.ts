/** POSTs one GraphQL operation as clients do; `token` goes in the Authorization header. */
export async function postGraphQL(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string | null,
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}
