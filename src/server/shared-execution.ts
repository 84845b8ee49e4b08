import {
  createSourceEventStream,
  execute,
  getNamedType,
  getOperationAST,
  isCompositeType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLCompositeType,
  type GraphQLError,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';
import { chatFeedOf } from '../domain/feeds.ts';
import { createBroadcast, writerOf } from './broadcast.ts';

/** Whether the selection reaches a field marked VIEWER_DEPENDENT (see builder.ts), fragments included. */
function selectsViewerDependent(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null) {
  const operation = getOperationAST(document, operationName);
  if (!operation) return true;
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [],
    ),
  );
  const visit = (type: GraphQLCompositeType, selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.some((selection) => {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const on = fragment && schema.getType(fragment.typeCondition.name.value);
        return !fragment || !isCompositeType(on) || visit(on, fragment.selectionSet);
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        return !isCompositeType(on) || visit(on, selection.selectionSet);
      }
      if (selection.name.value.startsWith('__')) return false;
      // Abstract types: be safe and look at every possible object's field.
      const owners = 'getFields' in type ? [type] : schema.getPossibleTypes(type);
      return owners.some((owner) => {
        const field = owner.getFields()[selection.name.value];
        if (!field) return true;
        if (field.extensions?.viewerDependent) return true;
        const named = getNamedType(field.type);
        return selection.selectionSet !== undefined && isCompositeType(named) && visit(named, selection.selectionSet);
      });
    });
  const root = schema.getSubscriptionType();
  return !root || visit(root, operation.selectionSet);
}

/**
 * Executes a subscription event once for all subscribers of the same
 * operation (same document, operation name and variables) instead of once per
 * subscriber, when the selection has no viewer-dependent field; otherwise
 * once per viewer. Events reach every subscriber as the same payload object,
 * which keys the shared results, so they are dropped with the event.
 *
 * Access is still checked per subscriber: when it subscribes (the subscribe
 * resolvers) and per event (src/domain/delivery.ts hands its feed only the
 * events of chats it takes part in at the time), and every execution checks
 * the objects it returns in a context of its own (see executeEvent).
 *
 * Over a transport that writes encoded results itself (the WebSocket
 * server), chat feeds sharing an execution also share the rest of the way to
 * the socket (./broadcast.ts); `maskError` masks their errors as yoga would.
 */
export function useSharedSubscriptionExecution(maskError: (error: unknown) => GraphQLError): Plugin<Context> {
  const viewerDependent = new WeakMap<DocumentNode, boolean>();
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;

  /** Subscribers whose events may share one execution have equal keys. */
  const shareKey = (args: ExecutionArgs) => {
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
    let dependent = viewerDependent.get(args.document);
    if (dependent === undefined) {
      dependent = selectsViewerDependent(args.schema, args.document, args.operationName);
      viewerDependent.set(args.document, dependent);
    }
    const viewer = dependent ? ((args.contextValue as Context).viewer?.userId ?? '') : '';
    // Documents come from yoga's parser cache, so equal query texts share one id.
    return `${documentId}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${viewer}`;
  };

  const executeEvent = (args: ExecutionArgs, key: string, payload: unknown): Promise<ExecutionResult> => {
    // Each event in a context of its own: what the request caches (roles, the
    // checks of scope-auth, batch loaders) must be as of this event, not as
    // of the subscription's start.
    const run = () =>
      Promise.resolve(execute({ ...args, contextValue: { ...(args.contextValue as Context) }, rootValue: payload }) as ExecutionResult);
    if (typeof payload !== 'object' || payload === null) return run();
    let byOperation = results.get(payload);
    if (!byOperation) results.set(payload, (byOperation = new Map()));
    let result = byOperation.get(key);
    if (!result) byOperation.set(key, (result = run()));
    return result;
  };

  const broadcast = createBroadcast(maskError, executeEvent);

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn((async (args: ExecutionArgs) => {
        // The subscribe resolvers run in a context of their own, dropped once
        // the stream exists: what they cache on it (scope-auth's checks, loaders)
        // would otherwise be held as long as the subscription.
        const stream = await createSourceEventStream(
          args.schema,
          args.document,
          args.rootValue,
          { ...(args.contextValue as Context) },
          args.variableValues,
          args.operationName,
          args.subscribeFieldResolver,
        );
        if (!isAsyncIterable(stream)) return stream;
        // Once per subscription, not per event: it is the same for all its events.
        const key = shareKey(args);
        const feed = chatFeedOf(stream);
        const writer = writerOf(args.rootValue);
        if (feed && writer) {
          writer.membership = broadcast.join(key, feed, writer, args);
          return writer.membership;
        }
        return mapAsyncIterator(stream, (payload) => executeEvent(args, key, payload));
      }) as never);
    },
  };
}
