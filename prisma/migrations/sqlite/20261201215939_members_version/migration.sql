-- Chat.membersVersion changes whenever the chat gains or loses a member row,
-- whatever removed it: the API, a cascade from a deleted user, or an
-- operator's SQL. Live delivery compares it with the member list it cached
-- (src/domain/audience.ts), so a change no event announced is still seen.
-- The triggers are not part of the Prisma datamodel: a migration that
-- redefines "ChatMember" must create them again.
ALTER TABLE "Chat" ADD COLUMN "membersVersion" INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER "ChatMember_inserted" AFTER INSERT ON "ChatMember" BEGIN
  UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1 WHERE "id" = NEW."chatId";
END;

CREATE TRIGGER "ChatMember_deleted" AFTER DELETE ON "ChatMember" BEGIN
  UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1 WHERE "id" = OLD."chatId";
END;

CREATE TRIGGER "ChatMember_moved" AFTER UPDATE OF "chatId", "userId" ON "ChatMember" BEGIN
  UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1 WHERE "id" IN (OLD."chatId", NEW."chatId");
END;
