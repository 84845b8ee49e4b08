import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createComplexityRule } from '@pothos/plugin-complexity';
import { GraphQLError, Kind, validate, visit, type DocumentNode, type ExecutionArgs, type ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { PAGE_SIZE_ARGUMENTS } from '../schema/builder.ts';

export interface DocumentLimits {
  /** Selection depth (chats → edges → node → messages → edges → node → author → username is 8). */
  maxDepth: number;
  maxAliases: number;
  /** Tokens of the document text; a longer document is refused before it is parsed. */
  maxTokens: number;
  /** Cost as src/schema/builder.ts counts it: each field 1, a page times its size, a list times 10. */
  maxCost: number;
}

/** What graphql-js, yoga and armor treat as a document error and send with a 400 (GraphQL over HTTP). */
const DOCUMENT_ERROR_HTTP = { spec: true, status: 400 };

const limitError = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: DOCUMENT_ERROR_HTTP } });



// armor throws its rejections as "Syntax Error: …" from inside validation,
// which yoga then answers with 200 and no code; reported as validation errors
// instead, they are what the contract says: GRAPHQL_VALIDATION_FAILED,
// naming the limit.
const reportAsValidationError = {
  propagateOnRejection: false,
  onReject: [
    (context: unknown, error: GraphQLError) =>
      (context as ValidationContext).reportError(limitError(error.message.replace(/^Syntax Error: /, ''))),
  ],
};

/**
 * The bounds of one document: depth, aliases and tokens by graphql-armor,
 * cost by the schema's own field costs (@pothos/plugin-complexity), which
 * counts a page by the size it asks for, or the default one.
 */
export function useDocumentLimits(
  limits: DocumentLimits,
  { production, serverWritten }: { production: boolean; serverWritten: (context: unknown) => boolean },
): Plugin[] {
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, ...reportAsValidationError },
      maxAliases: { n: limits.maxAliases, ...reportAsValidationError },
      maxDirectives: { n: 50, ...reportAsValidationError },
      // Token limits act in the parser: too many tokens is GRAPHQL_PARSE_FAILED.
      maxTokens: { n: limits.maxTokens },
      // armor's cost ignores page sizes; the cost below does not.
      costLimit: { enabled: false },
      blockFieldSuggestion: { enabled: production },
    }),
    useCostLimit(limits.maxCost, serverWritten),
  ];
}

/**
 * The cost of the operation to run, with its variables (a page size may be
 * a variable), checked before it executes: over HTTP and WebSocket alike,
 * since both run through these hooks. Documents the server wrote itself
 * (REST's, one fixed selection per route, page sizes bounded like any other)
 * are not what the limit is for: the work of one is fixed by its route and
 * bounded by the page size, and the limit's nominal 10 items per list would
 * refuse a REST history page of 100 messages or a list of 100 chats.
 */
const COST_EXCEEDED = /^Query complexity of \d+ exceeds max complexity of \d+$/;

/** How many page sizes of one document are remembered as within the limit. */
const KNOWN_SIZES_PER_DOCUMENT = 64;

/** What the cost check knows of one (parsed, and so cached by yoga) document. */
interface DocumentCosts {
  /** One operation only: the cost computed is then the cost of the operation run. */
  single: boolean;
  /** The variables that give a page size (fieldCost reads no other argument). */
  pageVariables: string[];
  /** The page sizes (keyOf) whose cost was computed and within the limit. */
  withinLimit: Set<string>;
}

function documentCosts(document: DocumentNode): DocumentCosts {
  const pageVariables = new Set<string>();
  visit(document, {
    [Kind.ARGUMENT](node) {
      if (node.value.kind === Kind.VARIABLE && (PAGE_SIZE_ARGUMENTS as readonly string[]).includes(node.name.value)) {
        pageVariables.add(node.value.name.value);
      }
    },
  });
  const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).length;
  return { single: operations === 1, pageVariables: [...pageVariables], withinLimit: new Set() };
}

function useCostLimit(maxCost: number, serverWritten: (context: unknown) => boolean): Plugin {
  // A document's cost depends on its variables only through its page sizes:
  // once computed within the limit for some, the same sizes are within it
  // again, and need not be computed on every request (a twentieth of a
  // history page's CPU). A request whose cost the rule could not compute
  // (an argument it cannot take) proves nothing and is not remembered.
  const known = new WeakMap<DocumentNode, DocumentCosts>();
  const check = (args: ExecutionArgs) => {
    if (serverWritten(args.contextValue)) return [];
    let costs = known.get(args.document);
    if (!costs) known.set(args.document, (costs = documentCosts(args.document)));
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    // An absent variable ([]) takes its default, a null one ([null]) does not.
    const key = JSON.stringify([args.operationName ?? null, ...costs.pageVariables.map((name) => (Object.hasOwn(variables, name) ? [variables[name]] : []))]);
    if (costs.withinLimit.has(key)) return [];
    let within = false;
    const errors = validate(args.schema, args.document, [
      createComplexityRule({
        context: args.contextValue as object,
        variableValues: variables,
        operationName: args.operationName,
        maxComplexity: maxCost,
        // Called once the cost is computed, with what it exceeds.
        onResult: (_cost, exceeded) => {
          within = exceeded.length === 0;
        },
      }),
    ])
      // The rule also reports variables and arguments it cannot take (a
      // missing variable, a malformed ID): execution reports those, with
      // their own codes.
      .filter((error) => COST_EXCEEDED.test(error.message))
      .map((error) => limitError(error.message));
    if (within && costs.single) {
      if (costs.withinLimit.size >= KNOWN_SIZES_PER_DOCUMENT) costs.withinLimit.clear();
      costs.withinLimit.add(key);
    }
    return errors;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const errors = check(args);
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const errors = check(args);
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };
}

/** A NUL character or half of a surrogate pair: no text the API stores or compares may hold either. */
const ILL_FORMED = /[\0\p{Cs}]/u;

function illFormedPath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return ILL_FORMED.test(value) ? path : null;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = illFormedPath(item, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = illFormedPath(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return null;
}

const literalChecks = new WeakMap<DocumentNode, boolean>();
function hasIllFormedLiteral(document: DocumentNode): boolean {
  let found = literalChecks.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      [Kind.STRING](node) {
        if (ILL_FORMED.test(node.value)) found = true;
      },
    });
    literalChecks.set(document, found);
  }
  return found;
}

/**
 * Refuses text that is not valid Unicode, or holds a NUL, anywhere in an
 * operation's variables or literals, with BAD_USER_INPUT: Postgres cannot
 * store a NUL (an internal error there, stored as is by SQLite) and replaces
 * an unpaired surrogate, so what was stored would differ from what was sent
 * (and a retry with the same clientId would clash with it).
 */
export function useWellFormedText(): Plugin {
  const check = (args: ExecutionArgs) => {
    const variable = illFormedPath(args.variableValues ?? {}, '$');
    const where = variable ? `Variable "${variable.replace(/^\$\./, '$')}"` : hasIllFormedLiteral(args.document) ? 'A string' : null;
    return where === null
      ? null
      : new GraphQLError(`${where} holds a NUL character or an unpaired surrogate: text must be valid Unicode without NUL.`, {
          extensions: { code: 'BAD_USER_INPUT' },
        });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

const bodyTooLarge = () =>
  createGraphQLError('Request body too large', { extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } } });

/**
 * The largest request body, with yoga's errors for its `maxRequestBodySize`
 * (which this replaces): a declared Content-Length over the limit is refused
 * before the body is read, a malformed one is BAD_REQUEST. Yoga also streams
 * every body through a counting TransformStream into a new Request, about
 * a tenth of a history page's CPU; that bounds nothing a declared length has not:
 * node:http (src/app.ts) reads exactly Content-Length bytes as the body. Only
 * a body without a declared length (chunked) is counted as it is read.
 */
export function useBodySizeLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!/^\d+$/.test(declared)) {
          throw createGraphQLError('Content-Length header is invalid.', { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        }
        if (Number(declared) > limit) throw bodyTooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser((unbounded) => {
        let size = 0;
        // As yoga counts it: erroring the stream (rather than cancelling
        // it) still answers 413 on the connection the body came on.
        const counted = new fetchAPI.TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            size += chunk.byteLength;
            if (size > limit) controller.error(bodyTooLarge());
            else controller.enqueue(chunk);
          },
        });
        return requestParser(
          new fetchAPI.Request(unbounded.url, {
            method: unbounded.method,
            headers: unbounded.headers,
            body: unbounded.body!.pipeThrough(counted),
            duplex: 'half',
          } as RequestInit),
        );
      });
    },
  };
}
