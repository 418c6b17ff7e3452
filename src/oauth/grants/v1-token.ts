import type { ClientMeta, Flow, Grant } from '../../storage/storage.js';
import type { ProtocolDeps } from '../deps.js';
import { deriveV1AccessToken, hashToken, newTokenSeed, V1_TOKEN_LIFETIME_S } from '../tokens.js';

export interface V1TokenResponse {
  access_token: string;
  token_type: 'bearer';
  scope: 'public';
  expires_in: number;
}

/**
 * Issues the V1 token for (user, app), whatever the flow (code, PKCE, PIN): the same
 * token as before while the grant lives (§5.4), a new one after a revoke (docs/decisions/0003).
 */
export async function issueV1Token(
  deps: ProtocolDeps,
  input: { userId: number; appId: number; flow: Flow; meta: ClientMeta; authCodeHash?: string },
): Promise<{ token: string; grant: Grant; created: boolean }> {
  const now = deps.clock.now();
  const seed = newTokenSeed();
  const fresh = deriveV1AccessToken(deps.secret, seed);
  const grant = await deps.storage.upsertV1Grant({
    userId: input.userId,
    appId: input.appId,
    flow: input.flow,
    tokenSeed: seed,
    tokenHash: hashToken(fresh),
    now,
    tokenExpiresAt: now + V1_TOKEN_LIFETIME_S * 1000,
    ...input.meta,
    authCodeHash: input.authCodeHash,
  });
  // The fresh seed is kept only by a grant this call created; a live grant keeps its own.
  const created = grant.tokenSeed === seed;
  return { token: created ? fresh : deriveV1AccessToken(deps.secret, grant.tokenSeed), grant, created };
}

/** §5.2: the exact success body. */
export function v1TokenResponse(token: string): V1TokenResponse {
  return { access_token: token, token_type: 'bearer', scope: 'public', expires_in: V1_TOKEN_LIFETIME_S };
}
