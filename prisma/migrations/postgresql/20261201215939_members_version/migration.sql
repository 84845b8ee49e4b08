-- AlterTable
ALTER TABLE "Chat" ADD COLUMN     "membersVersion" INTEGER NOT NULL DEFAULT 0;

-- Chat.membersVersion changes whenever the chat gains or loses a member row,
-- whatever removed it: the API, a cascade from a deleted user, or an
-- operator's SQL. Live delivery compares it with the member list it cached
-- (src/domain/audience.ts), so a change no event announced is still seen.
-- The trigger is not part of the Prisma datamodel.
CREATE FUNCTION "chat_members_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1 WHERE "id" = OLD."chatId";
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1 WHERE "id" = NEW."chatId";
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "ChatMember_changed" AFTER INSERT OR DELETE OR UPDATE OF "chatId", "userId" ON "ChatMember"
  FOR EACH ROW EXECUTE FUNCTION "chat_members_changed"();

-- Usernames and group names are matched by prefix and ordered by these
-- lower-cased keys. Compared byte by byte (as SQLite does), a prefix is an
-- exact key range and the order is the same on every provider, whatever
-- locale the database was created with; a locale's collation would, for
-- one, take "part-y" for a match of "party".
ALTER TABLE "User" ALTER COLUMN "usernameKey" SET DATA TYPE TEXT COLLATE "C";
ALTER TABLE "Chat" ALTER COLUMN "nameKey" SET DATA TYPE TEXT COLLATE "C";
