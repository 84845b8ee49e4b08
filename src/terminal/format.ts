import type { ChatSummary } from '../client/inbox.ts';
import type { Message } from '../client/room.ts';

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** `👍 2 🎉 1` */
export const formatReactions = (message: Message) =>
  message.reactions.length > 0 ? message.reactions.map((group) => `${group.emoji} ${group.count}`).join(' ') : 'none';

/**
 * `[12:03] #5 bob ↪ #3 alice: hi (edited) [👍 2] (mentions you)`: the seq is
 * what /reply, /react, /edit and /delete take; ↪ names the message replied to.
 */
export function formatMessage(message: Message): string {
  const reply = message.replyTo ? ` ↪ #${message.replyTo.seq} ${message.replyTo.author.username}` : '';
  const notes = [
    message.isEdited ? ' (edited)' : '',
    message.reactions.length > 0 ? ` [${formatReactions(message)}]` : '',
    message.mentionsMe ? ' (mentions you)' : '',
  ];
  return `[${time(message.createdAt)}] #${message.seq} ${message.author.username}${reply}: ${message.text}${notes.join('')}`;
}

/** One line of /chats: name, kind, unread and mention counts, who is online, the last message. */
export function formatChat(chat: ChatSummary, me: string): string {
  const online = chat.members.filter((member) => member.user.id !== me && member.user.online).map((member) => member.user.username);
  const parts = [
    chat.name,
    chat.kind === 'DIRECT' ? '(direct)' : `(group of ${chat.members.length})`,
    chat.unreadCount > 0 ? `${chat.unreadCount} unread` : 'no unread',
    ...(chat.unreadMentionCount > 0 ? [`${chat.unreadMentionCount} mentioning you`] : []),
    ...(online.length > 0 ? [`online: ${online.join(', ')}`] : []),
    ...(chat.lastMessage ? [`last: ${chat.lastMessage.author.username}: ${chat.lastMessage.text}`] : []),
  ];
  return `  ${parts.join(' · ')}`;
}

export const HELP = `Commands:
  /register <username> <email>  create an account (asks for a password)
  /login <username or email>    sign in (asks for the password)
  /logout                       sign out
  /chats                        your chats with unread counts
  /open <chat name>             open a chat and show its latest messages
  /dm <username>                open the direct chat with someone
  /group <name> [username ...]  create a group
  /more                         older messages of the open chat
  /reply <#seq> <text>          answer a message of the open chat
  /react <#seq> <emoji>         react to a message, or take your reaction back (:shortcodes: work)
  /edit <#seq> <text>           change one of your messages
  /delete <#seq>                delete one of your messages
  /help                         this list
  /quit                         leave (Ctrl-D too)
Anything else is sent to the open chat; :shortcodes: like :smile: become emoji, @username mentions a member.`;
