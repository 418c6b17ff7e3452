import { redeemAuthCode } from '../../storage/redeem.js';
import type { App, AuthCode, ClientMeta, CodeConsumption, CodeGrantDecision, CodeRedemption } from '../../storage/storage.js';
import { secretMatchesHash, sha256Hex } from '../../util/crypto.js';
import type { BasicCredentials } from '../client-auth.js';
import type { ProtocolDeps } from '../deps.js';
import { ProtocolError } from '../errors.js';
import { readNonEmpty, readParam, type RawParams } from '../params.js';
import { verifyPkce } from '../pkce.js';
import { answerCodeReplay, type ReplayLog } from './code-replay.js';
import { prepareV1Grant, v1TokenResponse, type PreparedV1Grant, type V1TokenResponse } from './v1-token.js';

export interface TokenRequest {
  /** Body parameters (form or JSON). */
  body: RawParams;
  /** Parsed Authorization: Basic, if sent. */
  basic: BasicCredentials | null;
  meta: ClientMeta;
}

interface Fields {
  grantType: string;
  code: string;
  clientId: string;
  clientSecret: string | undefined;
  codeVerifier: string | undefined;
  redirectUri: string | undefined;
}

/**
 * Step 1. Read and require fields (§5.1, §5.3: 403 empty_field, first missing field named).
 * Client credentials come from the body or from HTTP Basic, not both (RFC 6749 §2.3).
 * An empty client_secret counts as absent: public clients send `client_secret=`.
 */
function readFields(req: TokenRequest): Fields {
  const b = req.body;
  const grantType = readNonEmpty(b, 'grant_type');
  const code = readNonEmpty(b, 'code');
  const bodyClientId = readNonEmpty(b, 'client_id');
  const bodySecret = readNonEmpty(b, 'client_secret');
  const codeVerifier = readParam(b, 'code_verifier');
  const redirectUri = readParam(b, 'redirect_uri');

  let clientId = bodyClientId;
  let clientSecret = bodySecret;
  if (req.basic) {
    if (bodyClientId !== undefined && bodyClientId !== req.basic.clientId) {
      throw new ProtocolError('secret_error', 'client_id in the body and in the Authorization header differ');
    }
    if (bodySecret !== undefined && req.basic.clientSecret !== '') {
      throw new ProtocolError('secret_error', 'Send the client secret in the body or in the Authorization header, not both');
    }
    clientId = req.basic.clientId || undefined;
    clientSecret = req.basic.clientSecret || bodySecret;
  }

  if (grantType === undefined) throw new ProtocolError('empty_field', 'grant_type is missing');
  if (code === undefined) throw new ProtocolError('empty_field', 'code is missing');
  if (clientId === undefined) throw new ProtocolError('empty_field', 'client_id is missing');
  if (clientSecret === undefined && (codeVerifier === undefined || codeVerifier === '')) {
    throw new ProtocolError('empty_field', 'client_secret or code_verifier is missing');
  }
  return { grantType, code, clientId, clientSecret, codeVerifier: codeVerifier === '' ? undefined : codeVerifier, redirectUri };
}

/** Step 3. Client authentication (RFC 6749 §2.3.1): confidential apps prove the secret; public apps may not send one. */
function authenticateClient(app: App, f: Fields): void {
  if (app.secretHash === null) {
    if (f.clientSecret !== undefined) throw new ProtocolError('secret_error', 'This app has no client secret');
    return;
  }
  if (f.clientSecret === undefined || !secretMatchesHash(f.clientSecret, app.secretHash)) {
    throw new ProtocolError('secret_error', 'Wrong Secret');
  }
}

/** Step 3, first half: the client is known and speaks V1. */
function requireV1App(app: App | null): App {
  if (!app) throw new ProtocolError('client_id_failed');
  if (app.dialect !== 'v1') throw new ProtocolError('unauthorized_client', 'This client_id is an OAuth 2.0 app: use POST /oauth2/token');
  return app;
}

const codeRefused = () => new ProtocolError('grant_error', 'The code is invalid, expired or already used');

/** Step 4. The code exists, is unexpired and was issued to this client. */
function checkCode(code: AuthCode | null, app: App, now: number): AuthCode {
  if (!code || code.appId !== app.id || code.expiresAt <= now) throw codeRefused();
  return code;
}

/**
 * Step 5. redirect_uri must repeat what authorize received (RFC 6749 §4.1.3). For PKCE
 * the reference only asks that it be registered (§6.3); keyfob asks for equality in both
 * flows (docs/decisions/0004). No redirect_uri at authorize: none may be sent now.
 */
function checkRedirectUri(code: AuthCode, f: Fields): void {
  if (code.redirectUri === null) {
    if (f.redirectUri !== undefined && f.redirectUri !== '') {
      throw new ProtocolError('redirect_failed', 'redirect_uri was not sent to authorize, so it may not be sent here');
    }
    return;
  }
  if (f.redirectUri === undefined || f.redirectUri !== code.redirectUri) {
    throw new ProtocolError('redirect_failed');
  }
}

/**
 * Step 6. PKCE (RFC 7636 §4.6). A challenge demands a verifier; a verifier without a
 * challenge is refused (downgrade defence, RFC 9700 §4.8.2). Every failure, malformed
 * or wrong, reads the same (§6.1).
 */
function checkPkce(code: AuthCode, f: Fields): void {
  // Made only on failure: an Error captures a stack trace, which the success path need not pay for.
  const failed = () => new ProtocolError('secret_error', 'PKCE verification failed');
  if (code.codeChallenge === null || code.codeChallengeMethod === null) {
    if (f.codeVerifier !== undefined) throw failed();
    return;
  }
  if (f.codeVerifier === undefined || !verifyPkce(f.codeVerifier, code.codeChallenge, code.codeChallengeMethod)) throw failed();
}

/** Runs a check; true when it passes. Used to tell a replay that would have succeeded from a guess. */
function passes(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (err) {
    if (err instanceof ProtocolError) return false;
    throw err;
  }
}

const NOT_A_CODE: CodeConsumption = { kind: 'unknown' };

/**
 * POST /oauth/token with grant_type=authorization_code (reference §5), as a pipeline:
 *
 *   1. fields present                   403 empty_field
 *   2. grant_type = authorization_code  400 unsupported_grant_type
 *   -- the code is consumed here, atomically, whatever happens next (§5.4) --
 *   3. client known and authenticated   412 client_id_failed / 401 secret_error
 *   4. code valid for this client       401 grant_error (a replay is logged, and may revoke: code-replay.ts)
 *   5. redirect_uri repeats authorize   403 redirect_failed
 *   6. PKCE                             401 secret_error "PKCE verification failed"
 *   7. issue the (same) V1 token        200, and the code's tombstone remembers the grant
 *
 * Steps 3 to 7 run as one write with the consumption where the storage can (decision
 * 0086): the checks are synchronous, and their answer reaches the client only once the
 * consumption is committed. The app is read before (a read changes nothing); its answer
 * still comes after the consumption, in the order above.
 */
export async function exchangeAuthorizationCode(deps: ProtocolDeps & { log?: ReplayLog }, req: TokenRequest): Promise<V1TokenResponse> {
  const f = readFields(req);
  if (f.grantType !== 'authorization_code') {
    throw new ProtocolError('unsupported_grant_type', `grant_type ${f.grantType.slice(0, 64)} is not supported here; use authorization_code`);
  }

  // Awaited only when the storage answers later: an await on a value still costs a turn of the microtask queue.
  const lookup = f.clientId.length <= 200 ? deps.storage.findAppByClientId(f.clientId) : null;
  const found = lookup instanceof Promise ? await lookup : lookup;
  let grant: PreparedV1Grant | undefined;
  const decide: CodeGrantDecision = (consumption) => {
    const app = requireV1App(found);
    // A replay is answered after the commit: answering it may revoke a grant (code-replay.ts).
    if (consumption.kind === 'replayed') return null;
    authenticateClient(app, f);
    const code = checkCode(consumption.kind === 'fresh' ? consumption.code : null, app, deps.clock.now());
    checkRedirectUri(code, f);
    checkPkce(code, f);
    grant = prepareV1Grant(deps, {
      userId: code.userId,
      appId: app.id,
      flow: code.codeChallenge === null ? 'code' : 'pkce',
      meta: {
        appName: req.meta.appName ?? code.appName,
        appVersion: req.meta.appVersion ?? code.appVersion,
        userAgent: req.meta.userAgent ?? code.userAgent,
      },
    });
    return grant.request;
  };

  let redemption: CodeRedemption;
  if (f.code.length <= 512) {
    redemption = await redeemAuthCode(deps.storage, sha256Hex(f.code), deps.clock.now(), decide);
  } else {
    // Longer than any code: not looked up, and the checks answer as for an unknown code.
    decide(NOT_A_CODE);
    redemption = { consumption: NOT_A_CODE, issued: null };
  }

  const app = requireV1App(found);
  const { consumption, issued } = redemption;
  if (consumption.kind === 'replayed') {
    const used = consumption.code;
    const wouldSucceed =
      used.appId === app.id &&
      passes(() => authenticateClient(app, f)) &&
      passes(() => checkRedirectUri(used, f)) &&
      passes(() => checkPkce(used, f));
    await answerCodeReplay(deps, consumption, { appId: app.id, wouldSucceed });
    authenticateClient(app, f);
  }
  if (issued === null || grant === undefined) throw codeRefused();
  return v1TokenResponse(grant.tokenOf(issued));
}
