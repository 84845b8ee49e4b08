import { graphql } from './generated/gql.ts';

// Every operation the web and terminal clients send. GraphQL Code Generator
// types them from schema.graphql (see codegen.ts).

export const MessageFields = graphql(/* GraphQL */ `
  fragment MessageFields on Message {
    id
    seq
    text
    createdAt
    isEdited
    author { id username }
    chat { id }
    replyTo { id seq text author { id username } }
    replyCount
    reactions { emoji count reactedByMe }
    mentionsMe
  }
`);

export const ChatSummary = graphql(/* GraphQL */ `
  fragment ChatSummary on Chat {
    id
    kind
    name
    myRole
    unreadCount
    unreadMentionCount
    lastMessage { ...MessageFields }
    members { user { id username online lastSeenAt } }
  }
`);

export const Me = graphql(/* GraphQL */ `
  query Me { me { id username email } }
`);

export const Register = graphql(/* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { token user { id username email } }
  }
`);

export const Login = graphql(/* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { token user { id username email } }
  }
`);

export const Logout = graphql(/* GraphQL */ `
  mutation Logout { logout }
`);

export const Chats = graphql(/* GraphQL */ `
  query Chats($first: Int!) {
    chats(first: $first) { edges { node { ...ChatSummary } } }
  }
`);

export const CreateDirectChat = graphql(/* GraphQL */ `
  mutation CreateDirectChat($username: String!) { createDirectChat(username: $username) { ...ChatSummary } }
`);

export const CreateGroupChat = graphql(/* GraphQL */ `
  mutation CreateGroupChat($input: CreateGroupChatInput!) { createGroupChat(input: $input) { ...ChatSummary } }
`);

export const MarkChatRead = graphql(/* GraphQL */ `
  mutation MarkChatRead($chatId: ID!) { markChatRead(chatId: $chatId) { id unreadCount unreadMentionCount } }
`);

export const History = graphql(/* GraphQL */ `
  query History($chatId: ID!, $last: Int!, $before: String) {
    messages(chatId: $chatId, last: $last, before: $before) {
      edges { node { ...MessageFields } }
      pageInfo { hasPreviousPage startCursor }
    }
  }
`);

export const SendMessage = graphql(/* GraphQL */ `
  mutation SendMessage($input: SendMessageInput!) { sendMessage(input: $input) { ...MessageFields } }
`);

export const EditMessage = graphql(/* GraphQL */ `
  mutation EditMessage($input: EditMessageInput!) { editMessage(input: $input) { ...MessageFields } }
`);

export const AddReaction = graphql(/* GraphQL */ `
  mutation AddReaction($messageId: ID!, $emoji: String!) { addReaction(messageId: $messageId, emoji: $emoji) { ...MessageFields } }
`);

export const RemoveReaction = graphql(/* GraphQL */ `
  mutation RemoveReaction($messageId: ID!, $emoji: String!) { removeReaction(messageId: $messageId, emoji: $emoji) { ...MessageFields } }
`);

export const DeleteMessage = graphql(/* GraphQL */ `
  mutation DeleteMessage($id: ID!) { deleteMessage(id: $id) { id chatId seq } }
`);

export const SetTyping = graphql(/* GraphQL */ `
  mutation SetTyping($chatId: ID!, $typing: Boolean!) { setTyping(chatId: $chatId, typing: $typing) }
`);

/** Every chat's new messages, with the caller's unread counts of that chat after it. */
export const InboxMessages = graphql(/* GraphQL */ `
  subscription InboxMessages {
    messageAdded { ...MessageFields chat { id unreadCount unreadMentionCount } }
  }
`);

export const UserStatus = graphql(/* GraphQL */ `
  subscription UserStatus { userStatus { user { id } online lastSeenAt } }
`);

export const RoomMessages = graphql(/* GraphQL */ `
  subscription RoomMessages($chatId: ID!, $afterSeq: Int!) {
    messageAdded(chatId: $chatId, afterSeq: $afterSeq) { ...MessageFields }
  }
`);

/** Every change to the messages of one chat (edits, reactions, pins, replies), as whole messages. */
export const MessageUpdates = graphql(/* GraphQL */ `
  subscription MessageUpdates($chatId: ID!) { messageUpdated(chatId: $chatId) { ...MessageFields } }
`);

/** Edits in one chat, or in all of the caller's chats without chatId. */
export const MessageEdits = graphql(/* GraphQL */ `
  subscription MessageEdits($chatId: ID) { messageEdited(chatId: $chatId) { ...MessageFields } }
`);

/** Deletions in one chat, or in all of the caller's chats without chatId. */
export const MessageDeletions = graphql(/* GraphQL */ `
  subscription MessageDeletions($chatId: ID) { messageDeleted(chatId: $chatId) { id chatId seq } }
`);

export const RoomTyping = graphql(/* GraphQL */ `
  subscription RoomTyping($chatId: ID!) { typing(chatId: $chatId) { user { id username } typing } }
`);
