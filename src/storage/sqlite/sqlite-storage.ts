import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadMigrations } from '../migrations.js';
import { APP_SELECT, FRESH_CODE_COLUMNS, freshCodeOf, num, numOrNull, rowToApp, rowToAuthCode, rowToGrant, rowToPin, rowToTokenLookup, rowToUser, str, tombstoneOf, type Row } from '../rows.js';
import { FailAfterCommit, GroupCommit } from './group-commit.js';
import { ReadCache } from './read-cache.js';
import { PinPollTable, type StoredPollState } from '../pin-poll-table.js';
import {
  ConflictError,
  type App,
  type AuthCode,
  type CleanupCounts,
  type CodeConsumption,
  type CodeGrantDecision,
  type CodeRedemption,
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

const NO_CODE: CodeConsumption = { kind: 'unknown' };

/**
 * A code as a code exchange reads it, an array with its rowid (decision 0087), and after
 * its columns the id and token seed of the live V1 grant of the code's (user, app), if
 * there is one: the grant the exchange refreshes (§5.4), found through the partial unique
 * index grants_one_live_v1 in the same statement instead of a second one (decision 0093).
 */
const FRESH_CODE_NAMES = FRESH_CODE_COLUMNS.split(', ');
const SELECT_FRESH_CODE = `SELECT ${FRESH_CODE_NAMES.map((c) => `c.${c}`).join(', ')}, g.id, g.token_seed
  FROM auth_codes c LEFT JOIN grants g ON g.user_id = c.user_id AND g.app_id = c.app_id AND g.dialect = 'v1' AND g.revoked_at IS NULL
  WHERE c.code_hash = ?`;
/** Where the live grant's id and token seed are in a SELECT_FRESH_CODE array. */
const CODE_GRANT_ID = FRESH_CODE_NAMES.length;
/** The live V1 grant of (user, app): the partial unique index grants_one_live_v1 finds it. */
const LIVE_GRANT = `SELECT id, token_seed FROM grants WHERE user_id = ? AND app_id = ? AND dialect = 'v1' AND revoked_at IS NULL`;
/**
 * A V1 grant's refresh, its token's new expiry included: a token lookup reads the expiry
 * from the grant when the grant has one (TOKEN_EXPIRY, migration 005, decision 0100).
 */
const REFRESH_GRANT = `UPDATE grants SET authorized_at = ?, token_expires_at = ?, flow = ?, app_name = COALESCE(?, app_name),
   app_version = COALESCE(?, app_version), user_agent = COALESCE(?, user_agent) WHERE id = ?`;
/** A token's expiry: its V1 grant's since the grant was last refreshed, else its own. */
const TOKEN_EXPIRY = 'COALESCE(g.token_expires_at, t.expires_at)';
const INSERT_GRANT = `INSERT INTO grants (user_id, app_id, dialect, scope, token_seed, flow, app_name, app_version, user_agent, created_at, authorized_at)
   VALUES (?, ?, 'v1', 'public', ?, ?, ?, ?, ?, ?, ?)`;
/** The statements' texts with RETURNING, built once: the statement cache is keyed by SQL text. */
const REFRESH_GRANT_WHOLE = `${REFRESH_GRANT} RETURNING *`;
const INSERT_GRANT_WHOLE = `${INSERT_GRANT} RETURNING *`;
const INSERT_GRANT_ISSUED = `${INSERT_GRANT} RETURNING id, token_seed`;

/** Every kind the read cache holds (src/storage/sqlite/read-cache.ts). */
const ALL_KINDS = ['user', 'app', 'token', 'token+user', 'pin'] as const;

/**
 * Read-cache kinds no group-committed write can change (see the constructor): batches write
 * auth_codes, grants, access_tokens, and a PIN's poll time, which forgets that PIN's entry.
 */
const GROUP_COMMIT_UNAFFECTED = ['user', 'app', 'pin'] as const;

interface PreparedStatement {
  stmt: Database.Statement;
  /** Not read-only: running it may change rows. */
  writes: boolean;
}

/** SQLite through better-sqlite3: the embedded default. One file, WAL mode, prepared statements. */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, PreparedStatement>();
  /** Token and user lookups, cached only while the database provably has not changed. */
  private readonly cache: ReadCache;
  /** Code consumption, grant upserts and PIN poll times of one event-loop turn share a commit. */
  private readonly group: GroupCommit;
  /** PIN poll states, valid while the read cache's 'pin' kind is, and this process's answer times (decision 0095). */
  private readonly pinPolls = new PinPollTable();

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.cache = new ReadCache(this.db);
    this.cache.attach('pin', () => this.pinPolls.stale());
    // Batches write only auth_codes, grants, access_tokens and PIN poll times: cached users,
    // apps and PIN poll states stay valid across them (decisions 0083, 0085); cached token
    // lookups are dropped.
    this.group = new GroupCommit(this.db, (run) => this.cache.ownWrite(GROUP_COMMIT_UNAFFECTED, run));
  }

  /**
   * Prepared statements are cached by SQL text: preparing is the expensive part. Every
   * statement the storage runs is taken here, and one that may change rows tells the read
   * cache first (decision 0096): SQLite says which do (sqlite3_stmt_readonly), so no write
   * can be missed by being written without a mark.
   */
  private q(sql: string): Database.Statement {
    let p = this.stmts.get(sql);
    if (!p) {
      const stmt = this.db.prepare(sql);
      p = { stmt, writes: !stmt.readonly };
      this.stmts.set(sql, p);
    }
    if (p.writes) this.cache.noteWrite();
    return p.stmt;
  }

  /** The underlying handle, for integrity checks in tests and the cleanup command. */
  get handle(): Database.Database {
    return this.db;
  }

  async migrate(): Promise<number[]> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const applied: number[] = [];
    // BEGIN IMMEDIATE takes the write lock first, so two processes starting at once apply each migration once.
    const run = this.db.transaction(() => {
      const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => num(r.version)));
      for (const m of loadMigrations('sqlite')) {
        if (done.has(m.version)) continue;
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
        applied.push(m.version);
      }
    });
    run.immediate();
    this.stmts.clear();
    this.cache.clear();
    return applied;
  }

  async close(): Promise<void> {
    this.group.flush();
    this.stmts.clear();
    this.cache.clear();
    this.db.close();
  }

  async ping(): Promise<void> {
    this.q('SELECT 1').get();
  }

  // --- users

  async createUser(user: NewUser): Promise<User> {
    try {
      const row = this.q(
        `INSERT INTO users (username, password_hash, display_name, timezone, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING *`,
      ).get(user.username, user.passwordHash, user.displayName ?? user.username, user.timezone ?? 'UTC', user.createdAt) as Row;
      return rowToUser(row);
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed: users\.username/.test(err.message)) {
        throw new ConflictError('username is taken');
      }
      throw err;
    }
  }

  async findUserById(id: number): Promise<User | null> {
    return this.cache.read('user', id, () => {
      const r = this.q('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined;
      return r ? rowToUser(r) : null;
    });
  }

  async findUserByUsername(username: string): Promise<User | null> {
    const r = this.q('SELECT * FROM users WHERE username = ? COLLATE NOCASE').get(username) as Row | undefined;
    return r ? rowToUser(r) : null;
  }

  async countUsers(): Promise<number> {
    return num((this.q('SELECT COUNT(*) AS n FROM users').get() as Row).n);
  }

  // --- apps

  async createApp(app: NewApp): Promise<App> {
    const row = this.q(
      `INSERT INTO apps (client_id, owner_id, name, redirect_uris, secret_hash, dialect, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ).get(app.clientId, app.ownerId, app.name, JSON.stringify(app.redirectUris), app.secretHash, app.dialect ?? 'v1', app.createdAt, app.createdAt) as Row;
    return (await this.findAppById(num(row.id)))!;
  }

  findAppByClientId(clientId: string): App | null {
    return this.cache.read(
      'app',
      clientId,
      () => {
        const r = this.q(`${APP_SELECT} WHERE a.client_id = ?`).get(clientId) as Row | undefined;
        return r ? rowToApp(r) : null;
      },
    );
  }

  async findAppById(id: number): Promise<App | null> {
    const r = this.q(`${APP_SELECT} WHERE a.id = ?`).get(id) as Row | undefined;
    return r ? rowToApp(r) : null;
  }

  async listApps(): Promise<App[]> {
    return (this.q(`${APP_SELECT} ORDER BY a.id`).all() as Row[]).map(rowToApp);
  }

  async listAppsByOwner(ownerId: number): Promise<App[]> {
    return (this.q(`${APP_SELECT} WHERE a.owner_id = ? ORDER BY a.id`).all(ownerId) as Row[]).map(rowToApp);
  }

  async updateAppRedirectUris(appId: number, redirectUris: string[], now: number): Promise<void> {
    this.q('UPDATE apps SET redirect_uris = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(redirectUris), now, appId);
  }

  async updateAppSecretHash(appId: number, secretHash: string, now: number): Promise<void> {
    this.q('UPDATE apps SET secret_hash = ?, updated_at = ? WHERE id = ?').run(secretHash, now, appId);
  }

  async updateAppName(appId: number, name: string, now: number): Promise<void> {
    this.q('UPDATE apps SET name = ?, updated_at = ? WHERE id = ?').run(name, now, appId);
  }

  async deleteApp(appId: number): Promise<void> {
    this.q('DELETE FROM apps WHERE id = ?').run(appId);
  }

  // --- authorization codes

  async saveAuthCode(c: AuthCode): Promise<void> {
    // 16 spare bytes, given up when the code is consumed: its row never grows (decision 0097).
    this.q(
      `INSERT INTO auth_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, code_challenge_method,
         app_name, app_version, user_agent, created_at, expires_at, room)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, zeroblob(16))`,
    ).run(c.codeHash, c.appId, c.userId, c.redirectUri, c.codeChallenge, c.codeChallengeMethod, c.appName, c.appVersion, c.userAgent, c.createdAt, c.expiresAt);
  }

  async consumeAuthCode(codeHash: string, now: number): Promise<CodeConsumption> {
    // Hot write path: it joins the group commit of this event-loop turn (decision 0051).
    return this.group.submit((): CodeConsumption => {
      const r = this.q('UPDATE auth_codes SET consumed_at = ?, room = NULL WHERE code_hash = ? AND consumed_at IS NULL RETURNING *').get(now, codeHash) as Row | undefined;
      if (r) return { kind: 'fresh', code: rowToAuthCode(r) };
      return tombstoneOf(this.q('SELECT * FROM auth_codes WHERE code_hash = ?').get(codeHash) as Row | undefined);
    });
  }

  private recordCodeGrantNow(codeHash: string, grantId: number, created: boolean): void {
    this.q('UPDATE auth_codes SET grant_id = ?, grant_created = ? WHERE code_hash = ?').run(grantId, created ? 1 : 0, codeHash);
  }

  /**
   * One group-commit operation for a whole code exchange (decision 0086): read the code,
   * let `decide` check it, upsert the grant, and write the consumption and the grant onto
   * the code's row in one statement. Reading before writing is single use here because
   * the group commit's BEGIN IMMEDIATE holds the write lock from before the read until the
   * commit: no other connection can consume the code in between, and the operations of a
   * batch run one after another.
   */
  redeemAuthCode(codeHash: string, now: number, decide: CodeGrantDecision): Promise<CodeRedemption> {
    let consumption: CodeConsumption = NO_CODE;
    return this.group.submit<CodeRedemption>(
      () => {
        const r = this.q(SELECT_FRESH_CODE).raw().get(codeHash) as unknown[] | undefined;
        const fresh = r !== undefined && r[1] === null;
        // A used code is rare: its tombstone is read whole, as an object, only then.
        if (fresh) consumption = { kind: 'fresh', code: freshCodeOf(codeHash, r) };
        else if (r !== undefined) consumption = tombstoneOf(this.q('SELECT * FROM auth_codes WHERE code_hash = ?').get(codeHash) as Row | undefined);
        let request: ReturnType<CodeGrantDecision>;
        try {
          request = decide(consumption);
        } catch (err) {
          // §5.4: a code is consumed whatever the checks answer.
          if (fresh) this.markCodeConsumed(codeHash, now);
          return new FailAfterCommit(err);
        }
        if (!fresh) return { consumption, issued: null };
        if (request === null) {
          this.markCodeConsumed(codeHash, now);
          return { consumption, issued: null };
        }
        // The live grant read with the code is still the live one: the write lock is held
        // from before that read, and this operation wrote no grant since.
        // (A request for another user or app than the code's is read again.)
        const sameGrant = request.userId === num(r![3]) && request.appId === num(r![2]);
        const liveId = r![CODE_GRANT_ID];
        const live = !sameGrant ? undefined : liveId === null ? null : { id: liveId, token_seed: r![CODE_GRANT_ID + 1] };
        const { row, created } = this.upsertV1GrantNow(request, false, live);
        const grantId = num(row.id);
        this.q('UPDATE auth_codes SET consumed_at = ?, grant_id = ?, grant_created = ?, room = NULL WHERE rowid = ?').run(now, grantId, created ? 1 : 0, r![0]);
        return { consumption, issued: { grantId, tokenSeed: str(row.token_seed), created } };
      },
      // The operation failed after `decide` (the upsert) and its savepoint undid all of it:
      // nothing of the grant remains, and the code is consumed all the same.
      (err) => {
        if (consumption.kind === 'fresh') this.markCodeConsumed(codeHash, now);
        return new FailAfterCommit(err);
      },
    );
  }

  private markCodeConsumed(codeHash: string, now: number): void {
    this.q('UPDATE auth_codes SET consumed_at = ?, room = NULL WHERE code_hash = ?').run(now, codeHash);
  }

  // --- grants and tokens

  async upsertV1Grant(req: V1GrantRequest): Promise<Grant> {
    // Runs inside the group commit's savepoint for this operation: all of it or none of it.
    return this.group.submit(() => {
      const { row, created } = this.upsertV1GrantNow(req, true);
      if (req.authCodeHash !== undefined) this.recordCodeGrantNow(req.authCodeHash, num(row.id), created);
      return rowToGrant(row);
    });
  }

  /**
   * The same-token rule (§5.4) on this connection, inside the caller's transaction:
   * refresh the live V1 grant of (user, app) and its token's expiry, or create the grant
   * with a newly minted token. Returns the whole grant row when `whole`, else only its id
   * and token_seed, which is all a code exchange reads: a narrow SELECT and an UPDATE
   * without RETURNING cost less than returning the row (decision 0086). `known`: the live
   * grant (id, token_seed) or null for none, when the caller read it in this transaction.
   */
  private upsertV1GrantNow(req: Omit<V1GrantRequest, 'authCodeHash'>, whole: boolean, known?: Row | null): { row: Row; created: boolean } {
    const live = known === undefined ? (this.q(LIVE_GRANT).get(req.userId, req.appId) as Row | undefined) : known;
    if (live) {
      let row = live;
      // The token's new expiry is written to the grant, not to the token's row: one UPDATE, one table page (decision 0100).
      if (whole) row = this.q(REFRESH_GRANT_WHOLE).get(req.now, req.tokenExpiresAt, req.flow, req.appName, req.appVersion, req.userAgent, live.id) as Row;
      else this.q(REFRESH_GRANT).run(req.now, req.tokenExpiresAt, req.flow, req.appName, req.appVersion, req.userAgent, live.id);
      return { row, created: false };
    }
    // Only a grant created here needs a token of its own: minting costs a random seed, an HMAC and a hash.
    const minted = req.mintToken();
    const created = this.q(whole ? INSERT_GRANT_WHOLE : INSERT_GRANT_ISSUED).get(
      req.userId,
      req.appId,
      minted.tokenSeed,
      req.flow,
      req.appName,
      req.appVersion,
      req.userAgent,
      req.now,
      req.now,
    ) as Row;
    this.q('INSERT INTO access_tokens (token_hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
      minted.tokenHash,
      created.id,
      req.now,
      req.tokenExpiresAt,
    );
    return { row: created, created: true };
  }

  async findGrantById(id: number): Promise<Grant | null> {
    const r = this.q('SELECT * FROM grants WHERE id = ?').get(id) as Row | undefined;
    return r ? rowToGrant(r) : null;
  }

  async findAccessToken(tokenHash: string, now: number): Promise<TokenLookup | null> {
    return this.cache.read('token', tokenHash, () => this.loadAccessToken(tokenHash, now), (t) => t.expiresAt > now);
  }

  findAccessTokenWithUser(tokenHash: string, now: number): { lookup: TokenLookup; user: User } | null {
    return this.cache.read(
      'token+user',
      tokenHash,
      () => {
        const lookup = this.loadAccessToken(tokenHash, now);
        if (!lookup) return null;
        const r = this.q('SELECT * FROM users WHERE id = ?').get(lookup.userId) as Row | undefined;
        return r ? { lookup, user: rowToUser(r) } : null;
      },
      (v) => v.lookup.expiresAt > now,
    );
  }

  private loadAccessToken(tokenHash: string, now: number): TokenLookup | null {
    const r = this.q(
      `SELECT t.grant_id, ${TOKEN_EXPIRY} AS expires_at, g.user_id, g.app_id, g.dialect, g.scope, a.client_id
         FROM access_tokens t JOIN grants g ON g.id = t.grant_id JOIN apps a ON a.id = g.app_id
        WHERE t.token_hash = ? AND g.revoked_at IS NULL AND ${TOKEN_EXPIRY} > ?`,
    ).get(tokenHash, now) as Row | undefined;
    return r ? rowToTokenLookup(r) : null;
  }

  async revokeGrant(grantId: number, userId: number, now: number): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const res = this.q('UPDATE grants SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL').run(now, grantId, userId);
      if (res.changes === 0) return false;
      this.q('DELETE FROM access_tokens WHERE grant_id = ?').run(grantId);
      this.q('UPDATE pins SET grant_id = NULL WHERE grant_id = ?').run(grantId);
      return true;
    });
    return tx.immediate();
  }

  async listConnectedApps(userId: number): Promise<ConnectedApp[]> {
    const rows = this.q(
      `SELECT g.*, a.name AS app_display_name, a.client_id AS app_client_id, u.username AS owner_name
         FROM grants g JOIN apps a ON a.id = g.app_id JOIN users u ON u.id = a.owner_id
        WHERE g.user_id = ? AND g.revoked_at IS NULL ORDER BY g.authorized_at DESC`,
    ).all(userId) as Row[];
    return rows.map((r) => ({ grant: rowToGrant(r), appName: str(r.app_display_name), clientId: str(r.app_client_id), ownerName: str(r.owner_name) }));
  }

  async recordGrantUsage(usage: ReadonlyMap<number, { count: number; lastUsedAt: number }>): Promise<void> {
    // Request counts and last use are in no cached lookup: nothing cached is dropped (decision
    // 0085). The statement is taken inside ownWrite, which accounts for the write it marks.
    this.cache.ownWrite(ALL_KINDS, () => {
      const stmt = this.q('UPDATE grants SET request_count = request_count + ?, last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?');
      this.db.transaction(() => {
        for (const [grantId, u] of usage) stmt.run(u.count, u.lastUsedAt, grantId);
      })();
    });
  }

  // --- PINs

  async createPin(p: Pin): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      // A dead PIN holding the same code makes way for the new one. 16 spare bytes, given up
      // by its first poll, approval or wrong try: its row never grows (decision 0097).
      this.q('DELETE FROM pins WHERE user_code = ? AND expires_at <= ?').run(p.userCode, p.createdAt);
      const res = this.q(
        `INSERT INTO pins (user_code, app_id, redirect, app_name, app_version, user_agent, created_ip, created_at, expires_at,
           grant_id, failed_attempts, last_polled_at, room)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, zeroblob(16)) ON CONFLICT (user_code) DO NOTHING`,
      ).run(p.userCode, p.appId, p.redirect, p.appName, p.appVersion, p.userAgent, p.createdIp, p.createdAt, p.expiresAt, p.grantId, p.failedAttempts, p.lastPolledAt);
      return res.changes === 1;
    });
    // Only this code's poll state can change (an expired PIN holding it makes way), and a
    // new PIN starts with no answered poll.
    return this.cache.ownWrite(ALL_KINDS, () => {
      const created = tx.immediate();
      if (created) this.pinPolls.forget(p.userCode);
      return created;
    });
  }

  async findPin(userCode: string): Promise<Pin | null> {
    const r = this.q('SELECT * FROM pins WHERE user_code = ?').get(userCode) as Row | undefined;
    return r ? rowToPin(r) : null;
  }

  findPinPollState(userCode: string, now: number): PinPollState | null {
    // Served from memory while the database provably has not changed, like tokens
    // (decisions 0085, 0095); the probe runs before the read, as ReadCache.read does.
    this.cache.probe();
    return this.pinPolls.fresh(userCode) ?? this.pinPolls.store(userCode, this.loadPinPollState(userCode), now, true);
  }

  /** Four columns as an array: building a row object per column costs more than the read. */
  private loadPinPollState(userCode: string): StoredPollState | null {
    const r = this.q('SELECT app_id, expires_at, grant_id, last_polled_at FROM pins WHERE user_code = ?').raw().get(userCode) as unknown[] | undefined;
    if (!r) return null;
    return { userCode, appId: num(r[0]), expiresAt: num(r[1]), grantId: numOrNull(r[2]), lastPolledAt: numOrNull(r[3]) };
  }

  notePinAnswered(userCode: string, at: number): void {
    this.pinPolls.noteAnswered(userCode, at);
  }

  async findLivePinsByCodes(userCodes: readonly string[], now: number): Promise<Pin[]> {
    if (userCodes.length === 0) return [];
    // json_each keeps this one prepared statement whatever the number of codes.
    const rows = this.q('SELECT * FROM pins WHERE user_code IN (SELECT value FROM json_each(?)) AND expires_at > ?').all(JSON.stringify(userCodes), now) as Row[];
    return rows.map(rowToPin);
  }

  async countLivePinsForApp(appId: number, now: number): Promise<number> {
    return num((this.q('SELECT COUNT(*) AS n FROM pins WHERE app_id = ? AND expires_at > ?').get(appId, now) as Row).n);
  }

  async touchPinPoll(userCode: string, now: number): Promise<number | null> {
    // The group commit's savepoint makes the read and the write one step.
    return this.group.submit((): number | null => {
      const r = this.q('SELECT last_polled_at FROM pins WHERE user_code = ?').get(userCode) as Row | undefined;
      if (!r) return null;
      this.q('UPDATE pins SET last_polled_at = ?, room = NULL WHERE user_code = ?').run(now, userCode);
      this.pinPolls.setPolled(userCode, now);
      return numOrNull(r.last_polled_at);
    });
  }

  // The PIN writes below change one PIN row, which they name to the poll table; nothing else
  // cached is affected, so they keep the rest (decisions 0083, 0095).

  async approvePin(userCode: string, grantId: number, now: number): Promise<boolean> {
    return this.cache.ownWrite(ALL_KINDS, () => {
      const res = this.q('UPDATE pins SET grant_id = ?, room = NULL WHERE user_code = ? AND grant_id IS NULL AND expires_at > ?').run(grantId, userCode, now);
      if (res.changes !== 1) return false;
      this.pinPolls.setGrant(userCode, grantId);
      return true;
    });
  }

  async consumeApprovedPin(userCode: string, appId: number): Promise<Pin | null> {
    return this.cache.ownWrite(ALL_KINDS, () => {
      const r = this.q('DELETE FROM pins WHERE user_code = ? AND app_id = ? AND grant_id IS NOT NULL RETURNING *').get(userCode, appId) as Row | undefined;
      if (!r) return null;
      this.pinPolls.forget(userCode);
      return rowToPin(r);
    });
  }

  async addPinFailure(userCode: string): Promise<number> {
    // The count of wrong tries is not in a poll's state.
    return this.cache.ownWrite(ALL_KINDS, () => {
      const r = this.q('UPDATE pins SET failed_attempts = failed_attempts + 1, room = NULL WHERE user_code = ? RETURNING failed_attempts').get(userCode) as Row | undefined;
      return r ? num(r.failed_attempts) : 0;
    });
  }

  async deletePin(userCode: string): Promise<void> {
    this.cache.ownWrite(ALL_KINDS, () => {
      this.q('DELETE FROM pins WHERE user_code = ?').run(userCode);
      this.pinPolls.forget(userCode);
    });
  }

  // --- sessions

  async createSession(s: Session): Promise<void> {
    // Sessions are in no cached lookup (decision 0085).
    this.cache.ownWrite(ALL_KINDS, () =>
      this.q('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(s.idHash, s.userId, s.createdAt, s.expiresAt),
    );
  }

  async findSession(idHash: string, now: number): Promise<Session | null> {
    const r = this.q('SELECT * FROM sessions WHERE id_hash = ? AND expires_at > ?').get(idHash, now) as Row | undefined;
    return r ? { idHash: str(r.id_hash), userId: num(r.user_id), createdAt: num(r.created_at), expiresAt: num(r.expires_at) } : null;
  }

  async deleteSession(idHash: string): Promise<void> {
    this.cache.ownWrite(ALL_KINDS, () => this.q('DELETE FROM sessions WHERE id_hash = ?').run(idHash));
  }

  async cleanup(now: number): Promise<CleanupCounts> {
    const tx = this.db.transaction((): CleanupCounts => ({
      authCodes: this.q('DELETE FROM auth_codes WHERE expires_at <= ?').run(now).changes,
      pins: this.q('DELETE FROM pins WHERE expires_at <= ?').run(now).changes,
      sessions: this.q('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes,
    }));
    return tx.immediate();
  }
}
