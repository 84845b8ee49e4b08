import { LRUCache } from 'lru-cache';
import { readMembers, readMembersVersion } from '../db/chat-members.ts';
import type { Db } from '../db/client.ts';
import type { Role } from './access.ts';

/**
 * The members of a chat and their roles (empty for a chat that does not
 * exist), and for a direct chat those of them who block the other one.
 */
export type Members = ReadonlyMap<string, Exclude<Role, null>> & { readonly blockers: ReadonlySet<string> };

export interface Audience {
  /**
   * The chat's members as the database has them now. Live delivery asks once
   * per event (src/domain/delivery.ts), so whatever changed the members (the
   * API, a cascade from a deleted user, an operator's SQL, an instance whose
   * event Redis lost) is seen at the next event.
   */
  members(chatId: string): Promise<Members>;
}

const NOBODY: Members = Object.assign(new Map(), { blockers: new Set<string>() });

/**
 * Member lists kept per chat with the chat's membersVersion, which database
 * triggers raise whenever a member row comes or goes (or a block between a
 * direct chat's members): each call reads the version (one primary-key read)
 * and reads the list again only when it moved.
 */
export function createAudience(db: Db, chats = 10_000): Audience {
  const lists = new LRUCache<string, { version: number; members: Members }>({ max: chats });
  return {
    async members(chatId) {
      const version = await readMembersVersion(db, chatId);
      const cached = lists.get(chatId);
      if (version !== null && cached?.version === version) return cached.members;
      const read = version === null ? null : await readMembers(db, chatId);
      if (!read) {
        lists.delete(chatId);
        return NOBODY;
      }
      // The list is at least as new as its version; a later change moves the version again.
      const members: Members = Object.assign(new Map(read.members.map((member) => [member.userId, member.role])), {
        blockers: new Set(read.members.filter((member) => member.blocksPeer).map((member) => member.userId)),
      });
      lists.set(chatId, { version: read.version, members });
      return members;
    },
  };
}
