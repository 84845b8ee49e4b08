-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "pinnedAt" TIMESTAMP(3),
ADD COLUMN     "pinnedById" TEXT,
ADD COLUMN     "replyToId" TEXT,
ADD COLUMN     "searchText" TEXT;

-- CreateTable
CREATE TABLE "Reaction" (
    "messageId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "emoji" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Reaction_pkey" PRIMARY KEY ("messageId","userId","emoji")
);

-- CreateTable
CREATE TABLE "Mention" (
    "messageId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,

    CONSTRAINT "Mention_pkey" PRIMARY KEY ("messageId","userId")
);

-- CreateTable
CREATE TABLE "Block" (
    "blockerId" TEXT NOT NULL,
    "blockedId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Block_pkey" PRIMARY KEY ("blockerId","blockedId")
);

-- CreateIndex
CREATE INDEX "Reaction_userId_idx" ON "Reaction"("userId");

-- CreateIndex
CREATE INDEX "Mention_userId_idx" ON "Mention"("userId");

-- CreateIndex
CREATE INDEX "Block_blockedId_idx" ON "Block"("blockedId");

-- CreateIndex
CREATE INDEX "Message_replyToId_seq_idx" ON "Message"("replyToId", "seq");

-- CreateIndex
CREATE INDEX "Message_chatId_pinnedAt_idx" ON "Message"("chatId", "pinnedAt");

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_replyToId_fkey" FOREIGN KEY ("replyToId") REFERENCES "Message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_pinnedById_fkey" FOREIGN KEY ("pinnedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Reaction" ADD CONSTRAINT "Reaction_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Reaction" ADD CONSTRAINT "Reaction_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Mention" ADD CONSTRAINT "Mention_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Mention" ADD CONSTRAINT "Mention_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Block" ADD CONSTRAINT "Block_blockerId_fkey" FOREIGN KEY ("blockerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Block" ADD CONSTRAINT "Block_blockedId_fkey" FOREIGN KEY ("blockedId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Full-text search (src/db/search.ts). "searchText" holds the words of the
-- text as src/domain/search-text.ts normalizes them (word segmentation that
-- also splits CJK, case and accent folding), separated by single spaces.
-- The lexemes are exactly those words (array_to_tsvector, no text search
-- configuration, so no stemming or stop words, as on SQLite), kept current
-- by the database itself as a generated column, with a GIN index. Neither
-- is part of the Prisma datamodel.
ALTER TABLE "Message" ADD COLUMN "search" tsvector
  GENERATED ALWAYS AS (array_to_tsvector(string_to_array("searchText", ' '))) STORED;
CREATE INDEX "Message_search_idx" ON "Message" USING GIN ("search");

-- What live delivery knows of a direct chat includes whether one member
-- blocks the other (src/db/chat-members.ts), so a block coming or going moves
-- the version of the direct chat between the two, as a member row does.
-- directKey is "<smaller id>:<larger id>" compared as JavaScript does (code
-- units; ids are ASCII), hence COLLATE "C" (openDirectChat in src/domain/chats.ts).
CREATE FUNCTION "block_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  pair "Block";
BEGIN
  IF TG_OP = 'DELETE' THEN pair := OLD; ELSE pair := NEW; END IF;
  UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1
  WHERE "directKey" = CASE WHEN pair."blockerId" COLLATE "C" < pair."blockedId" COLLATE "C"
    THEN pair."blockerId" || ':' || pair."blockedId" ELSE pair."blockedId" || ':' || pair."blockerId" END;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Block_changed" AFTER INSERT OR DELETE ON "Block"
  FOR EACH ROW EXECUTE FUNCTION "block_changed"();
