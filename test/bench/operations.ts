/**
 * The operations every scenario sends, valid against both the messenger's
 * schema and the stack baseline's. The selection is what a chat client shows
 * for a message: text, order, time and the author's name.
 */
const MESSAGE = /* GraphQL */ `id seq text createdAt author { id username }`;

export const SEND_MESSAGE = /* GraphQL */ `
  mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { ${MESSAGE} } }
`;

export const MESSAGE_ADDED = /* GraphQL */ `
  subscription MessageAdded($chatId: ID!) { messageAdded(chatId: $chatId) { ${MESSAGE} } }
`;

export const HISTORY_PAGE = /* GraphQL */ `
  query History($chatId: ID!, $before: String) {
    messages(chatId: $chatId, last: 50, before: $before) {
      edges { cursor node { ${MESSAGE} } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
`;

export const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) { register(input: $input) { token user { id username } } }
`;

export const CREATE_GROUP = /* GraphQL */ `
  mutation CreateGroup($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id } }
`;

export const ADD_MEMBER = /* GraphQL */ `
  mutation AddMember($chatId: ID!, $username: String!) { addChatMember(chatId: $chatId, username: $username) { id } }
`;

/** The first page of a search in one chat, as a client shows it: where the message is, who wrote it, the snippet. */
export const SEARCH_PAGE = /* GraphQL */ `
  query Search($chatId: ID!, $query: String!) {
    searchMessages(query: $query, chatId: $chatId, first: 20) {
      edges { cursor node { snippet message { ${MESSAGE} } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
