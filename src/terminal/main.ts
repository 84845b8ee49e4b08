import { parseArgs } from 'node:util';
import { runChat } from './chat.ts';
import { sessionFile, sessionFilePath } from './session-file.ts';

const { values } = parseArgs({ options: { url: { type: 'string', default: 'http://localhost:4000/graphql' } } });
// The server's address is enough: its GraphQL endpoint is /graphql.
const url = new URL(values.url);
if (url.pathname === '/') url.pathname = '/graphql';

await runChat({ url: url.href, sessions: sessionFile(sessionFilePath()), input: process.stdin, output: process.stdout });
// Kept-alive HTTP connections would hold the process open for a few more seconds.
process.exit(0);
