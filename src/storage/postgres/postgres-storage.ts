import pg from 'pg';
import { loadMigrations } from '../migrations.js';
import { PinPollTable } from '../pin-poll-table.js';
import { APP_SELECT, num, numOrNull, rowToApp, rowToAuthCode, rowToGrant, rowToPin, rowToTokenLookup, rowToUser, str, tombstoneOf, type Row } from '../rows.js';
import {
  ConflictError,
  type App,
  type AuthCode,
  type CleanupCounts,
  type CodeConsumption,
  type ConnectedApp,
  type Grant,
  type NewApp,
  type NewUser,
  type Pin,
  type PinPollState,
  type Session,
  type Storage,
  type TokenLookup,
  type User,
  type V1GrantRequest,
} from '../storage.js';
import { parsePostgresUrl, toStorageError } from './connection.js';

type Queryable = Pick<pg.PoolClient, 'query'>;



/**
 * Advisory-lock keys, two 32-bit halves: a fixed namespace and a hash of what is locked
 * and in which schema, so two deployments sharing a database never wait on each other.
 */
export const LOCK_NAMESPACE_SQL = `hashtext('keyfob')`;
export function lockName(purpose: 'migrate' | 'cleanup', schema: string | null): string {
  return `${purpose}:${schema ?? 'public'}`;
}

/**
 * upsertV1Grant's statement. $1 user, $2 app, $3 token seed, $4 flow, $5–$7 client meta,
 * $8 now, $9 the minted token's hash, $10 its expiry, $11 the code's hash or null.
 * The refresh sees the live grant's token in the statement's snapshot; a grant inserted by
 * a concurrent statement that committed after that snapshot is returned but its token,
 * minted a moment before, keeps that statement's expiry.
 */
const UPSERT_V1_GRANT = `
  WITH g AS (
    INSERT INTO grants AS g (user_id, app_id, dialect, scope, token_seed, flow, app_name, app_version, user_agent, created_at, authorized_at)
    VALUES ($1, $2, 'v1', 'public', $3, $4, $5, $6, $7, $8, $8)
    ON CONFLICT (user_id, app_id) WHERE dialect = 'v1' AND revoked_at IS NULL
    DO UPDATE SET authorized_at = EXCLUDED.authorized_at, flow = EXCLUDED.flow,
      app_name = COALESCE(EXCLUDED.app_name, g.app_name), app_version = COALESCE(EXCLUDED.app_version, g.app_version),
      user_agent = COALESCE(EXCLUDED.user_agent, g.user_agent)
    RETURNING g.*, (xmax = 0) AS inserted
  ), minted AS (
    INSERT INTO access_tokens (token_hash, grant_id, created_at, expires_at)
    SELECT $9::text, g.id, $8, $10::bigint FROM g WHERE g.inserted
  ), refreshed AS (
    UPDATE access_tokens t SET expires_at = $10::bigint FROM g WHERE NOT g.inserted AND t.grant_id = g.id
  ), coded AS (
    UPDATE auth_codes c SET grant_id = g.id, grant_created = g.inserted FROM g WHERE c.code_hash = $11::text
  )
  SELECT * FROM g`;

/**
 * findAppAndPinPollState's query: APP_SELECT's columns, and the PIN's under names no app
 * column has. $1 client_id, $2 user code.
 */
const APP_AND_PIN_POLL_STATE = `
  SELECT a.*, u.username AS owner_name, p.user_code AS pin_user_code, p.app_id AS pin_app_id,
         p.expires_at AS pin_expires_at, p.grant_id AS pin_grant_id, p.last_polled_at AS pin_last_polled_at
    FROM apps a JOIN users u ON u.id = a.owner_id LEFT JOIN pins p ON p.user_code = $2
   WHERE a.client_id = $1`;

/**
 * PostgreSQL through node-postgres: the storage for several keyfob instances behind
 * one address. Every single-use rule is one statement or one transaction in the database
 * (never read-then-write in the process), so it holds across instances:
 * - consume* is DELETE ... RETURNING: of concurrent callers exactly one gets the row;
 * - upsertV1Grant is INSERT ... ON CONFLICT on the partial unique index grants_one_live_v1;
 * - migrations and the scheduled cleanup take advisory locks.
 * Connection failures become StorageUnavailableError; pg.Pool opens new connections on
 * the next call, so the server recovers without a restart when the database returns.
 */
export class PostgresStorage implements Storage {
  readonly kind = 'postgres' as const;
  /** Statement names by SQL text: node-postgres then parses each statement once per connection. */
  private readonly names = new Map<string, string>();
  /**
   * This process's answer times per PIN code (decision 0095). States are read from the
   * database on every poll, never served from here: another instance may have changed them.
   */
  private readonly pinPolls = new PinPollTable();

  private constructor(
    private readonly pool: pg.Pool,
    /** The schema from the URL, or null for the default search_path. */
    readonly schema: string | null,
  ) {}

  /** Opens a pool for a postgres:// URL (see parsePostgresUrl for the schema parameter). Connects lazily. */
  static async connect(url: string, options: { max?: number } = {}): Promise<PostgresStorage> {
    const target = parsePostgresUrl(url);
    const config: pg.PoolConfig = {
      connectionString: target.connectionString,
      max: options.max ?? 10,
      // Fail a request after 5 s instead of letting it hang while the database is away.
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      application_name: 'keyfob',
    };
    if (target.schema !== null) config.options = `-c search_path=${target.schema}`;
    const pool = new pg.Pool(config);
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    // Nor may one dropped while checked out (mid-transaction, between queries): without a
    // listener node-postgres re-emits the socket error as an unhandled 'error' event and the
    // process exits. The query in progress still fails and is answered 503.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return new PostgresStorage(pool, target.schema);
  }

  private async q(sql: string, params: unknown[] = [], on: Queryable = this.pool): Promise<pg.QueryResult<Row>> {
    let name = this.names.get(sql);
    if (!name) {
      name = `kf${this.names.size + 1}`;
      this.names.set(sql, name);
    }
    try {
      return await on.query<Row>({ name, text: sql, values: params });
    } catch (err) {
      throw toStorageError(err);
    }
  }

  private async one(sql: string, params: unknown[] = [], on?: Queryable): Promise<Row | null> {
    return (await this.q(sql, params, on)).rows[0] ?? null;
  }

  /** Runs fn in one transaction on one connection; rolls back on any error. */
  private async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toStorageError(err);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw toStorageError(err);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Applies pending migrations under a transaction-scoped advisory lock, so several
   * instances starting at once apply each version exactly once; the others wait, then
   * find nothing left to do. DDL is transactional in PostgreSQL, so a failed migration
   * leaves nothing half-applied.
   */
  async migrate(): Promise<number[]> {
    return this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE_SQL}, hashtext($1))`, [lockName('migrate', this.schema)]);
      // Create the schema only when missing: a least-privilege role may use a schema it cannot create.
      if (this.schema !== null && (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])).rowCount === 0) {
        await c.query(`CREATE SCHEMA ${this.schema}`);
      }
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await c.query<Row>('SELECT version FROM schema_migrations')).rows.map((r) => num(r.version)));
      const applied: number[] = [];
      for (const m of loadMigrations('postgres')) {
        if (done.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        applied.push(m.version);
      }
      return applied;
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  // --- users

  async createUser(user: NewUser): Promise<User> {
    try {
      const row = await this.one(
        `INSERT INTO users (username, password_hash, display_name, timezone, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [user.username, user.passwordHash, user.displayName ?? user.username, user.timezone ?? 'UTC', user.createdAt],
      );
      return rowToUser(row!);
    } catch (err) {
      if ((err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'users_username_lower') {
        throw new ConflictError('username is taken');
      }
      throw err;
    }
  }

  async findUserById(id: number): Promise<User | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.one('SELECT * FROM users WHERE id = $1', [id]);
    return r ? rowToUser(r) : null;
  }

  async findUserByUsername(username: string): Promise<User | null> {
    const r = await this.one('SELECT * FROM users WHERE lower(username) = lower($1)', [username]);
    return r ? rowToUser(r) : null;
  }

  async countUsers(): Promise<number> {
    return num((await this.one('SELECT COUNT(*) AS n FROM users'))!.n);
  }

  // --- apps

  async createApp(app: NewApp): Promise<App> {
    const row = await this.one(
      `INSERT INTO apps (client_id, owner_id, name, redirect_uris, secret_hash, dialect, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
      [app.clientId, app.ownerId, app.name, JSON.stringify(app.redirectUris), app.secretHash, app.dialect ?? 'v1', app.createdAt],
    );
    return (await this.findAppById(num(row!.id)))!;
  }

  async findAppByClientId(clientId: string): Promise<App | null> {
    const r = await this.one(`${APP_SELECT} WHERE a.client_id = $1`, [clientId]);
    return r ? rowToApp(r) : null;
  }

  async findAppById(id: number): Promise<App | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.one(`${APP_SELECT} WHERE a.id = $1`, [id]);
    return r ? rowToApp(r) : null;
  }

  async listApps(): Promise<App[]> {
    return (await this.q(`${APP_SELECT} ORDER BY a.id`)).rows.map(rowToApp);
  }

  async listAppsByOwner(ownerId: number): Promise<App[]> {
    return (await this.q(`${APP_SELECT} WHERE a.owner_id = $1 ORDER BY a.id`, [ownerId])).rows.map(rowToApp);
  }

  async updateAppRedirectUris(appId: number, redirectUris: string[], now: number): Promise<void> {
    await this.q('UPDATE apps SET redirect_uris = $1, updated_at = $2 WHERE id = $3', [JSON.stringify(redirectUris), now, appId]);
  }

  async updateAppSecretHash(appId: number, secretHash: string, now: number): Promise<void> {
    await this.q('UPDATE apps SET secret_hash = $1, updated_at = $2 WHERE id = $3', [secretHash, now, appId]);
  }

  async updateAppName(appId: number, name: string, now: number): Promise<void> {
    await this.q('UPDATE apps SET name = $1, updated_at = $2 WHERE id = $3', [name, now, appId]);
  }

  async deleteApp(appId: number): Promise<void> {
    await this.q('DELETE FROM apps WHERE id = $1', [appId]);
  }

  // --- authorization codes

  async saveAuthCode(c: AuthCode): Promise<void> {
    await this.q(
      `INSERT INTO auth_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, code_challenge_method,
         app_name, app_version, user_agent, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [c.codeHash, c.appId, c.userId, c.redirectUri, c.codeChallenge, c.codeChallengeMethod, c.appName, c.appVersion, c.userAgent, c.createdAt, c.expiresAt],
    );
  }

  /**
   * A concurrent caller's UPDATE waits on the row lock, re-checks `consumed_at IS NULL`
   * against the committed row and matches nothing, so exactly one caller gets `fresh`;
   * the others then read the tombstone.
   */
  async consumeAuthCode(codeHash: string, now: number): Promise<CodeConsumption> {
    const r = await this.one('UPDATE auth_codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL RETURNING *', [now, codeHash]);
    if (r) return { kind: 'fresh', code: rowToAuthCode(r) };
    return tombstoneOf(await this.one('SELECT * FROM auth_codes WHERE code_hash = $1', [codeHash]));
  }

  // --- grants and tokens

  /**
   * One statement, so one round trip and no transaction to open: INSERT ... ON CONFLICT on
   * the partial unique index, and in data-modifying CTEs the token's insert (a new grant)
   * or expiry refresh (the live one) and, for a code exchange, the grant recorded on the
   * code's tombstone (decision 0082). A statement is atomic: all of it or none of it. A
   * concurrent caller for the same (user, app) waits on the row the first one inserted and
   * then updates it, so all of them return the same grant; `xmax = 0` tells a fresh row
   * from an updated one. Whether a live grant exists is known only inside the statement,
   * so the token is minted up front and kept only by an inserted row (decision 0088).
   */
  async upsertV1Grant(req: V1GrantRequest): Promise<Grant> {
    const minted = req.mintToken();
    const row = await this.one(UPSERT_V1_GRANT, [
      req.userId,
      req.appId,
      minted.tokenSeed,
      req.flow,
      req.appName,
      req.appVersion,
      req.userAgent,
      req.now,
      minted.tokenHash,
      req.tokenExpiresAt,
      req.authCodeHash ?? null,
    ]);
    return rowToGrant(row!);
  }

  async findGrantById(id: number): Promise<Grant | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.one('SELECT * FROM grants WHERE id = $1', [id]);
    return r ? rowToGrant(r) : null;
  }

  async findAccessToken(tokenHash: string, now: number): Promise<TokenLookup | null> {
    const r = await this.one(
      `SELECT t.grant_id, t.expires_at, g.user_id, g.app_id, g.dialect, g.scope, a.client_id
         FROM access_tokens t JOIN grants g ON g.id = t.grant_id JOIN apps a ON a.id = g.app_id
        WHERE t.token_hash = $1 AND g.revoked_at IS NULL AND t.expires_at > $2`,
      [tokenHash, now],
    );
    return r ? rowToTokenLookup(r) : null;
  }

  /**
   * The token and its user in one query, one round trip per API call instead of two
   * (decision 0088). The user's columns and the token lookup's share no name. A token
   * whose user is gone finds nothing, like an unknown one.
   */
  async findAccessTokenWithUser(tokenHash: string, now: number): Promise<{ lookup: TokenLookup; user: User } | null> {
    const r = await this.one(
      `SELECT u.*, t.grant_id, t.expires_at, g.user_id, g.app_id, g.dialect, g.scope, a.client_id
         FROM access_tokens t JOIN grants g ON g.id = t.grant_id JOIN apps a ON a.id = g.app_id JOIN users u ON u.id = g.user_id
        WHERE t.token_hash = $1 AND g.revoked_at IS NULL AND t.expires_at > $2`,
      [tokenHash, now],
    );
    return r ? { lookup: rowToTokenLookup(r), user: rowToUser(r) } : null;
  }

  async revokeGrant(grantId: number, userId: number, now: number): Promise<boolean> {
    if (!Number.isSafeInteger(grantId)) return false;
    return this.tx(async (c) => {
      const res = await this.q('UPDATE grants SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL', [now, grantId, userId], c);
      if (res.rowCount === 0) return false;
      await this.q('DELETE FROM access_tokens WHERE grant_id = $1', [grantId], c);
      await this.q('UPDATE pins SET grant_id = NULL WHERE grant_id = $1', [grantId], c);
      return true;
    });
  }

  async listConnectedApps(userId: number): Promise<ConnectedApp[]> {
    const res = await this.q(
      `SELECT g.*, a.name AS app_display_name, a.client_id AS app_client_id, u.username AS owner_name
         FROM grants g JOIN apps a ON a.id = g.app_id JOIN users u ON u.id = a.owner_id
        WHERE g.user_id = $1 AND g.revoked_at IS NULL ORDER BY g.authorized_at DESC`,
      [userId],
    );
    return res.rows.map((r) => ({ grant: rowToGrant(r), appName: str(r.app_display_name), clientId: str(r.app_client_id), ownerName: str(r.owner_name) }));
  }

  /** One statement for the whole batch: arrays unnested into rows. */
  async recordGrantUsage(usage: ReadonlyMap<number, { count: number; lastUsedAt: number }>): Promise<void> {
    if (usage.size === 0) return;
    const ids: number[] = [];
    const counts: number[] = [];
    const times: number[] = [];
    for (const [id, u] of usage) {
      ids.push(id);
      counts.push(u.count);
      times.push(u.lastUsedAt);
    }
    await this.q(
      `UPDATE grants g SET request_count = g.request_count + u.c, last_used_at = GREATEST(g.last_used_at, u.t)
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, c, t) WHERE g.id = u.id`,
      [ids, counts, times],
    );
  }

  // --- PINs

  async createPin(p: Pin): Promise<boolean> {
    return this.tx(async (c) => {
      // A dead PIN holding the same code makes way for the new one.
      await this.q('DELETE FROM pins WHERE user_code = $1 AND expires_at <= $2', [p.userCode, p.createdAt], c);
      const res = await this.q(
        `INSERT INTO pins (user_code, app_id, redirect, app_name, app_version, user_agent, created_ip, created_at, expires_at,
           grant_id, failed_attempts, last_polled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (user_code) DO NOTHING`,
        [p.userCode, p.appId, p.redirect, p.appName, p.appVersion, p.userAgent, p.createdIp, p.createdAt, p.expiresAt, p.grantId, p.failedAttempts, p.lastPolledAt],
        c,
      );
      if (res.rowCount !== 1) return false;
      // A new PIN starts with no answered poll.
      this.pinPolls.forget(p.userCode);
      return true;
    });
  }

  async findPin(userCode: string): Promise<Pin | null> {
    const r = await this.one('SELECT * FROM pins WHERE user_code = $1', [userCode]);
    return r ? rowToPin(r) : null;
  }

  async findPinPollState(userCode: string, now: number): Promise<PinPollState | null> {
    const r = await this.one('SELECT app_id, expires_at, grant_id, last_polled_at FROM pins WHERE user_code = $1', [userCode]);
    const stored = r ? { userCode, appId: num(r.app_id), expiresAt: num(r.expires_at), grantId: numOrNull(r.grant_id), lastPolledAt: numOrNull(r.last_polled_at) } : null;
    return this.pinPolls.store(userCode, stored, now, false);
  }

  /** The app as findAppByClientId reads it, and the PIN's poll state from a LEFT JOIN on its code (decision 0089). */
  async findAppAndPinPollState(clientId: string, userCode: string, now: number): Promise<{ app: App; pin: PinPollState | null } | null> {
    const r = await this.one(APP_AND_PIN_POLL_STATE, [clientId, userCode]);
    if (!r) return null;
    const stored =
      r.pin_user_code === null
        ? null
        : { userCode, appId: num(r.pin_app_id), expiresAt: num(r.pin_expires_at), grantId: numOrNull(r.pin_grant_id), lastPolledAt: numOrNull(r.pin_last_polled_at) };
    return { app: rowToApp(r), pin: this.pinPolls.store(userCode, stored, now, false) };
  }

  notePinAnswered(userCode: string, at: number): void {
    this.pinPolls.noteAnswered(userCode, at);
  }

  async findLivePinsByCodes(userCodes: readonly string[], now: number): Promise<Pin[]> {
    if (userCodes.length === 0) return [];
    const res = await this.q('SELECT * FROM pins WHERE user_code = ANY($1::text[]) AND expires_at > $2', [[...userCodes], now]);
    return res.rows.map(rowToPin);
  }

  async countLivePinsForApp(appId: number, now: number): Promise<number> {
    return num((await this.one('SELECT COUNT(*) AS n FROM pins WHERE app_id = $1 AND expires_at > $2', [appId, now]))!.n);
  }

  /** The old value comes from a row-locked subselect, so two pollers each see the other's time, never the same one twice. */
  async touchPinPoll(userCode: string, now: number): Promise<number | null> {
    const r = await this.one(
      `UPDATE pins p SET last_polled_at = $2
         FROM (SELECT user_code, last_polled_at FROM pins WHERE user_code = $1 FOR UPDATE) old
        WHERE p.user_code = old.user_code RETURNING old.last_polled_at AS previous`,
      [userCode, now],
    );
    return r ? numOrNull(r.previous) : null;
  }

  async approvePin(userCode: string, grantId: number, now: number): Promise<boolean> {
    const res = await this.q('UPDATE pins SET grant_id = $1 WHERE user_code = $2 AND grant_id IS NULL AND expires_at > $3', [grantId, userCode, now]);
    return res.rowCount === 1;
  }

  async consumeApprovedPin(userCode: string, appId: number): Promise<Pin | null> {
    const r = await this.one('DELETE FROM pins WHERE user_code = $1 AND app_id = $2 AND grant_id IS NOT NULL RETURNING *', [userCode, appId]);
    if (!r) return null;
    this.pinPolls.forget(userCode);
    return rowToPin(r);
  }

  async addPinFailure(userCode: string): Promise<number> {
    const r = await this.one('UPDATE pins SET failed_attempts = failed_attempts + 1 WHERE user_code = $1 RETURNING failed_attempts', [userCode]);
    return r ? num(r.failed_attempts) : 0;
  }

  async deletePin(userCode: string): Promise<void> {
    await this.q('DELETE FROM pins WHERE user_code = $1', [userCode]);
    this.pinPolls.forget(userCode);
  }

  // --- sessions

  async createSession(s: Session): Promise<void> {
    await this.q('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [s.idHash, s.userId, s.createdAt, s.expiresAt]);
  }

  async findSession(idHash: string, now: number): Promise<Session | null> {
    const r = await this.one('SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2', [idHash, now]);
    return r ? { idHash: str(r.id_hash), userId: num(r.user_id), createdAt: num(r.created_at), expiresAt: num(r.expires_at) } : null;
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.q('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
  }

  // --- housekeeping

  private async sweep(c: Queryable, now: number): Promise<CleanupCounts> {
    return {
      authCodes: (await this.q('DELETE FROM auth_codes WHERE expires_at <= $1', [now], c)).rowCount ?? 0,
      pins: (await this.q('DELETE FROM pins WHERE expires_at <= $1', [now], c)).rowCount ?? 0,
      sessions: (await this.q('DELETE FROM sessions WHERE expires_at <= $1', [now], c)).rowCount ?? 0,
    };
  }

  /** `keyfob cleanup`: waits for a sweep another instance may be running, then sweeps. */
  async cleanup(now: number): Promise<CleanupCounts> {
    return this.tx(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE_SQL}, hashtext($1))`, [lockName('cleanup', this.schema)]);
      return this.sweep(c, now);
    });
  }

  /**
   * The scheduled sweep: sweeps only if no other instance is sweeping this schema right
   * now (pg_try_advisory_xact_lock), else returns null at once. The lock ends with the
   * transaction, so a crashed instance never leaves it held.
   */
  async tryCleanup(now: number): Promise<CleanupCounts | null> {
    return this.tx(async (c) => {
      const got = await c.query<Row>(`SELECT pg_try_advisory_xact_lock(${LOCK_NAMESPACE_SQL}, hashtext($1)) AS ok`, [lockName('cleanup', this.schema)]);
      if (got.rows[0]?.ok !== true) return null;
      return this.sweep(c, now);
    });
  }
}
