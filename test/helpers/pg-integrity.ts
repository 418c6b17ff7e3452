import { adminQuery } from './postgres.js';

/**
 * Integrity of one keyfob schema on PostgreSQL, after a crash or an outage. Returns a list
 * of problems (empty when all is well):
 * - amcheck: every B-tree index agrees with its table (bt_index_check with heapallindexed)
 *   and every table's heap is readable (verify_heapam);
 * - no row points at a missing row (each foreign key checked by hand, not trusted);
 * - at most one live V1 grant per (user, app) (the same-token rule), and each holds one token row;
 * - no consumed code without a consumption time, no code that produced a grant of another user or app.
 */
export async function pgIntegrityProblems(schema: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    await adminQuery('CREATE EXTENSION IF NOT EXISTS amcheck');
  } catch (err) {
    // Two test runs creating it at once: the loser sees a duplicate; the extension exists either way.
    if (!/already exists|duplicate key/.test(String((err as Error).message))) throw err;
  }
  const indexes = await adminQuery<{ idx: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS idx
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = c.relam WHERE n.nspname = $1 AND am.amname = 'btree'`,
    [schema],
  );
  if (indexes.length < 10) problems.push(`expected keyfob's indexes in ${schema}, found ${indexes.length}`);
  for (const { idx } of indexes) {
    try {
      await adminQuery('SELECT bt_index_check($1::regclass, true)', [idx]);
    } catch (err) {
      problems.push(`index ${idx}: ${(err as Error).message}`);
    }
  }
  const tables = await adminQuery<{ t: string }>(`SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS t FROM pg_tables WHERE schemaname = $1`, [schema]);
  for (const { t } of tables) {
    const bad = await adminQuery(`SELECT * FROM verify_heapam($1::regclass) LIMIT 5`, [t]);
    if (bad.length > 0) problems.push(`heap ${t}: ${JSON.stringify(bad)}`);
  }

  const s = schema;
  const checks: Array<[string, string]> = [
    ['apps without owner', `SELECT a.id FROM ${s}.apps a LEFT JOIN ${s}.users u ON u.id = a.owner_id WHERE u.id IS NULL`],
    ['codes without app or user', `SELECT c.code_hash FROM ${s}.auth_codes c LEFT JOIN ${s}.apps a ON a.id = c.app_id LEFT JOIN ${s}.users u ON u.id = c.user_id WHERE a.id IS NULL OR u.id IS NULL`],
    ['codes naming a missing grant', `SELECT c.code_hash FROM ${s}.auth_codes c LEFT JOIN ${s}.grants g ON g.id = c.grant_id WHERE c.grant_id IS NOT NULL AND g.id IS NULL`],
    ['grants without user or app', `SELECT g.id FROM ${s}.grants g LEFT JOIN ${s}.users u ON u.id = g.user_id LEFT JOIN ${s}.apps a ON a.id = g.app_id WHERE u.id IS NULL OR a.id IS NULL`],
    ['tokens without grant', `SELECT t.token_hash FROM ${s}.access_tokens t LEFT JOIN ${s}.grants g ON g.id = t.grant_id WHERE g.id IS NULL`],
    ['PINs without app or with a missing grant', `SELECT p.user_code FROM ${s}.pins p LEFT JOIN ${s}.apps a ON a.id = p.app_id LEFT JOIN ${s}.grants g ON g.id = p.grant_id WHERE a.id IS NULL OR (p.grant_id IS NOT NULL AND g.id IS NULL)`],
    ['sessions without user', `SELECT x.id_hash FROM ${s}.sessions x LEFT JOIN ${s}.users u ON u.id = x.user_id WHERE u.id IS NULL`],
    ['two live V1 grants for one (user, app)', `SELECT user_id, app_id FROM ${s}.grants WHERE dialect = 'v1' AND revoked_at IS NULL GROUP BY user_id, app_id HAVING COUNT(*) > 1`],
    ['live V1 grants without exactly one token row', `SELECT g.id FROM ${s}.grants g LEFT JOIN ${s}.access_tokens t ON t.grant_id = g.id WHERE g.dialect = 'v1' AND g.revoked_at IS NULL GROUP BY g.id HAVING COUNT(t.token_hash) <> 1`],
    ['codes with a grant but no consumption time', `SELECT code_hash FROM ${s}.auth_codes WHERE grant_id IS NOT NULL AND consumed_at IS NULL`],
    ['codes that produced a grant of another user or app', `SELECT c.code_hash FROM ${s}.auth_codes c JOIN ${s}.grants g ON g.id = c.grant_id WHERE g.user_id <> c.user_id OR g.app_id <> c.app_id`],
  ];
  for (const [name, sql] of checks) {
    const rows = await adminQuery(sql);
    if (rows.length > 0) problems.push(`${name}: ${JSON.stringify(rows.slice(0, 5))}`);
  }
  return problems;
}
