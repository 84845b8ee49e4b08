/**
 * Tables the migrations create by hand that are not part of the Prisma
 * datamodel: the SQLite search index (an FTS5 table and its shadow tables,
 * see the rich_messaging migration). Migration diffs, ours (./migrations.ts)
 * and the Prisma CLI's (prisma.config.ts), leave them alone instead of
 * dropping them.
 */
export const EXTERNAL_TABLES = ['MessageSearch', ...['config', 'data', 'docsize', 'idx'].map((part) => `MessageSearch_${part}`)];
