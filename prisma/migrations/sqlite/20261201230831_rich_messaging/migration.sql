-- CreateTable
CREATE TABLE "Reaction" (
    "messageId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "emoji" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("messageId", "userId", "emoji"),
    CONSTRAINT "Reaction_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Reaction_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Mention" (
    "messageId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,

    PRIMARY KEY ("messageId", "userId"),
    CONSTRAINT "Mention_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Mention_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Block" (
    "blockerId" TEXT NOT NULL,
    "blockedId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("blockerId", "blockedId"),
    CONSTRAINT "Block_blockerId_fkey" FOREIGN KEY ("blockerId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Block_blockedId_fkey" FOREIGN KEY ("blockedId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Message" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "chatId" TEXT NOT NULL,
    "authorId" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "clientId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "editedAt" DATETIME,
    "expiresAt" DATETIME,
    "replyToId" TEXT,
    "pinnedAt" DATETIME,
    "pinnedById" TEXT,
    "searchText" TEXT,
    CONSTRAINT "Message_chatId_fkey" FOREIGN KEY ("chatId") REFERENCES "Chat" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Message_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Message_replyToId_fkey" FOREIGN KEY ("replyToId") REFERENCES "Message" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Message_pinnedById_fkey" FOREIGN KEY ("pinnedById") REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Message" ("authorId", "chatId", "clientId", "createdAt", "editedAt", "expiresAt", "id", "seq", "text") SELECT "authorId", "chatId", "clientId", "createdAt", "editedAt", "expiresAt", "id", "seq", "text" FROM "Message";
DROP TABLE "Message";
ALTER TABLE "new_Message" RENAME TO "Message";
CREATE INDEX "Message_expiresAt_idx" ON "Message"("expiresAt");
CREATE INDEX "Message_createdAt_idx" ON "Message"("createdAt");
CREATE INDEX "Message_replyToId_seq_idx" ON "Message"("replyToId", "seq");
CREATE INDEX "Message_chatId_pinnedAt_idx" ON "Message"("chatId", "pinnedAt");
CREATE UNIQUE INDEX "Message_chatId_seq_key" ON "Message"("chatId", "seq");
CREATE UNIQUE INDEX "Message_authorId_clientId_key" ON "Message"("authorId", "clientId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Reaction_userId_idx" ON "Reaction"("userId");

-- CreateIndex
CREATE INDEX "Mention_userId_idx" ON "Mention"("userId");

-- CreateIndex
CREATE INDEX "Block_blockedId_idx" ON "Block"("blockedId");

-- Full-text search (src/db/search.ts). "searchText" holds the words of the
-- text as src/domain/search-text.ts normalizes them (word segmentation that
-- also splits CJK, case and accent folding), separated by single spaces: the
-- ascii tokenizer splits it at those only, since every non-ASCII character
-- is a token character to it and the words hold no ASCII punctuation. The
-- index is external content over "Message", keyed by its rowid, and these
-- triggers keep it current whatever writes a row: sends, edits, deletions,
-- the retention sweeper, cascades from a deleted chat or user. Positions are
-- not kept (detail=none): queries are whole words, never phrases.
-- "Message" has no INTEGER PRIMARY KEY, so its rowids survive VACUUM but not
-- a redefinition of the table: a migration that redefines "Message" must
-- create these triggers again, then run
-- INSERT INTO "MessageSearch"("MessageSearch") VALUES ('rebuild').
CREATE VIRTUAL TABLE "MessageSearch" USING fts5(
  "searchText", content = 'Message', content_rowid = 'rowid', tokenize = 'ascii', detail = 'none'
);

CREATE TRIGGER "Message_search_inserted" AFTER INSERT ON "Message" WHEN NEW."searchText" IS NOT NULL BEGIN
  INSERT INTO "MessageSearch" ("rowid", "searchText") VALUES (NEW."rowid", NEW."searchText");
END;

CREATE TRIGGER "Message_search_deleted" AFTER DELETE ON "Message" WHEN OLD."searchText" IS NOT NULL BEGIN
  INSERT INTO "MessageSearch" ("MessageSearch", "rowid", "searchText") VALUES ('delete', OLD."rowid", OLD."searchText");
END;

CREATE TRIGGER "Message_search_updated" AFTER UPDATE OF "searchText" ON "Message" BEGIN
  INSERT INTO "MessageSearch" ("MessageSearch", "rowid", "searchText")
    SELECT 'delete', OLD."rowid", OLD."searchText" WHERE OLD."searchText" IS NOT NULL;
  INSERT INTO "MessageSearch" ("rowid", "searchText") SELECT NEW."rowid", NEW."searchText" WHERE NEW."searchText" IS NOT NULL;
END;

-- What live delivery knows of a direct chat includes whether one member
-- blocks the other (src/db/chat-members.ts), so a block coming or going moves
-- the version of the direct chat between the two, as a member row does.
-- directKey is "<smaller id>:<larger id>" (openDirectChat in src/domain/chats.ts).
CREATE TRIGGER "Block_inserted" AFTER INSERT ON "Block" BEGIN
  UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1
  WHERE "directKey" = CASE WHEN NEW."blockerId" < NEW."blockedId"
    THEN NEW."blockerId" || ':' || NEW."blockedId" ELSE NEW."blockedId" || ':' || NEW."blockerId" END;
END;

CREATE TRIGGER "Block_deleted" AFTER DELETE ON "Block" BEGIN
  UPDATE "Chat" SET "membersVersion" = "membersVersion" + 1
  WHERE "directKey" = CASE WHEN OLD."blockerId" < OLD."blockedId"
    THEN OLD."blockerId" || ':' || OLD."blockedId" ELSE OLD."blockedId" || ':' || OLD."blockerId" END;
END;
