import type { App, ClientMeta, Storage } from '../storage/storage.js';
import type { Clock } from '../util/clock.js';
import { sha256Hex } from '../util/crypto.js';
import { isProtocolError } from './errors.js';
import { readParam, type RawParams } from './params.js';
import { isValidChallenge, parseChallengeMethod, type PkceMethod } from './pkce.js';
import { appendQuery, isRegisteredRedirectUri } from './redirect-uri.js';
import { AUTH_CODE_LIFETIME_MS, newAuthCode } from './tokens.js';

/** A request that passed every check: what the consent page shows and what approval needs. */
export interface ValidAuthorizeRequest {
  app: App;
  /** Verified against the app's registered URIs; null in the PKCE no-redirect mode (§6.4). */
  redirectUri: string | null;
  state: string | undefined;
  codeChallenge: string | null;
  codeChallengeMethod: PkceMethod | null;
  appName: string | null;
  appVersion: string | null;
  /** Accepted and ignored: V1 tokens are always scope "public" (§4.1, §14.14). */
  scope: string | undefined;
}

/**
 * A failure before the client and redirect_uri are verified: shown on an error page,
 * never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11.1: no open redirector).
 */
export interface PageError {
  kind: 'page';
  status: number;
  error: string;
  message: string;
}

/** A failure after verification: sent back to the client's redirect_uri (RFC 6749 §4.1.2.1). */
export interface RedirectError {
  kind: 'redirect';
  redirectUri: string;
  error: 'invalid_request' | 'unsupported_response_type';
  description: string;
  state: string | undefined;
}

export type AuthorizeResult = { ok: true; request: ValidAuthorizeRequest } | { ok: false; failure: PageError | RedirectError };

const MAX_STATE = 1024;

const page = (status: number, error: string, message: string): { ok: false; failure: PageError } => ({
  ok: false,
  failure: { kind: 'page', status, error, message },
});

/**
 * Validates GET /oauth/authorize (reference §4.1, §6). The order is the contract:
 *
 *   1. client_id present, sent once, names a V1 app      -> page 400 (unknown / V2 app: unauthorized_client)
 *   2. redirect_uri sent once and registered byte for byte -> page 403 redirect_failed
 *      omitted: allowed only for a PKCE request from an app with no registered URI (§6.4)
 *   --- from here the client and where to send it are trusted; errors are redirected ---
 *   3. no other parameter sent twice                       -> invalid_request
 *   4. state at most 1024 characters                       -> invalid_request (state not echoed)
 *   5. response_type = code                                -> invalid_request / unsupported_response_type
 *   6. code_challenge_method is S256 or plain (exact case)  -> invalid_request (RFC 7636 §4.3)
 *   7. code_challenge well formed; method not sent alone    -> invalid_request (RFC 7636 §4.2)
 *   8. public app sends a code_challenge                    -> invalid_request (RFC 7636 §4.4.1)
 *
 * A redirectable error in the no-redirect mode has nowhere to go, so it is shown on the page.
 */
export async function validateAuthorizeRequest(storage: Storage, params: RawParams): Promise<AuthorizeResult> {
  // 1. client
  let clientId: string | undefined;
  try {
    clientId = readParam(params, 'client_id');
  } catch {
    return page(400, 'invalid_request', 'client_id was sent more than once.');
  }
  if (!clientId) return page(400, 'invalid_request', 'client_id is missing.');
  const app = clientId.length <= 200 ? await storage.findAppByClientId(clientId) : null;
  if (!app) return page(400, 'client_id_failed', 'Your client_id is wrong. Try another one.');
  if (app.dialect !== 'v1') {
    return page(400, 'unauthorized_client', 'This client_id is an OAuth 2.0 app: use GET /oauth2/authorize instead of /oauth/authorize.');
  }

  // 2. redirect_uri
  let redirectUri: string | undefined;
  try {
    redirectUri = readParam(params, 'redirect_uri');
  } catch {
    return page(403, 'redirect_failed', 'redirect_uri was sent more than once.');
  }
  if (redirectUri !== undefined) {
    if (!isRegisteredRedirectUri(app.redirectUris, redirectUri)) {
      return page(403, 'redirect_failed', 'Invalid redirect_uri. This value must match a URL registered with the API Key.');
    }
  } else if (app.redirectUris.length > 0) {
    return page(403, 'redirect_failed', 'redirect_uri is required: this app has registered redirect URIs.');
  } else if (app.secretHash !== null) {
    return page(403, 'redirect_failed', 'redirect_uri is required: this app has no registered redirect URI.');
  }
  const target = redirectUri ?? null;

  const fail = (error: RedirectError['error'], description: string, state: string | undefined): AuthorizeResult =>
    target === null
      ? page(400, error, description)
      : { ok: false, failure: { kind: 'redirect', redirectUri: target, error, description, state } };

  // 3. every other parameter at most once
  const single: Record<string, string | undefined> = {};
  for (const name of ['state', 'response_type', 'code_challenge', 'code_challenge_method', 'app-name', 'app-version', 'scope']) {
    try {
      single[name] = readParam(params, name);
    } catch (err) {
      const stateOnce = Array.isArray(params.state) ? undefined : (params.state as string | undefined);
      return fail('invalid_request', isProtocolError(err) ? err.message : `${name} is invalid`, stateOnce);
    }
  }
  const state = single.state;

  // 4. state
  if (state !== undefined && state.length > MAX_STATE) return fail('invalid_request', `state must be at most ${MAX_STATE} characters`, undefined);

  // 5. response_type
  const responseType = single.response_type;
  if (!responseType) return fail('invalid_request', 'response_type is missing', state);
  if (responseType !== 'code') return fail('unsupported_response_type', 'response_type must be code', state);

  // 6. + 7. PKCE parameters
  const challenge = single.code_challenge || undefined;
  const methodRaw = single.code_challenge_method;
  const method = parseChallengeMethod(methodRaw);
  if (method === null) return fail('invalid_request', 'code_challenge_method must be S256 or plain (RFC 7636 §4.3)', state);
  if (challenge === undefined && methodRaw) return fail('invalid_request', 'code_challenge_method was sent without code_challenge', state);
  if (challenge !== undefined && !isValidChallenge(challenge)) {
    return fail('invalid_request', 'code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)', state);
  }

  // 8. public apps must use PKCE; the no-redirect mode exists only for PKCE (§6.4)
  if (challenge === undefined && (app.secretHash === null || target === null)) {
    return fail('invalid_request', 'code_challenge is required for apps without a client secret (RFC 7636 §4.4.1)', state);
  }

  return {
    ok: true,
    request: {
      app,
      redirectUri: target,
      state,
      codeChallenge: challenge ?? null,
      codeChallengeMethod: challenge === undefined ? null : method,
      appName: single['app-name'] ?? null,
      appVersion: single['app-version'] ?? null,
      scope: single.scope,
    },
  };
}

/** Where an error that may be redirected goes: redirect_uri?error=...&error_description=...&state=... */
export function redirectErrorLocation(e: RedirectError): string {
  return appendQuery(e.redirectUri, { error: e.error, error_description: e.description, state: e.state });
}

/** After consent: mint a code bound to everything the token step must check. Returns the raw code. */
export async function issueAuthorizationCode(
  storage: Storage,
  clock: Clock,
  req: ValidAuthorizeRequest,
  userId: number,
  meta: Pick<ClientMeta, 'userAgent'>,
): Promise<string> {
  const code = newAuthCode();
  const now = clock.now();
  await storage.saveAuthCode({
    codeHash: sha256Hex(code),
    appId: req.app.id,
    userId,
    redirectUri: req.redirectUri,
    codeChallenge: req.codeChallenge,
    codeChallengeMethod: req.codeChallengeMethod,
    appName: req.appName,
    appVersion: req.appVersion,
    userAgent: meta.userAgent,
    createdAt: now,
    expiresAt: now + AUTH_CODE_LIFETIME_MS,
  });
  return code;
}

/** Approve: redirect_uri?code=...&state=... (state only when sent, untouched; no iss in V1, §4.2). */
export function approvalLocation(redirectUri: string, code: string, state: string | undefined): string {
  return appendQuery(redirectUri, { code, state });
}
