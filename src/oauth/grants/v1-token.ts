import type { ClientMeta, Flow, Grant, MintedToken, V1GrantRequest } from '../../storage/storage.js';
import type { ProtocolDeps } from '../deps.js';
import { deriveV1AccessToken, hashToken, newTokenSeed, V1_TOKEN_LIFETIME_S } from '../tokens.js';

export interface V1TokenResponse {
  access_token: string;
  token_type: 'bearer';
  scope: 'public';
  expires_in: number;
}

export interface V1GrantInput {
  userId: number;
  appId: number;
  flow: Flow;
  meta: ClientMeta;
}

/**
 * The grant request of every V1 flow (code, PKCE, PIN): the same token as before while
 * the grant lives (§5.4), a new one after a revoke (docs/decisions/0003). The new token
 * (a random seed, its HMAC, the HMAC's hash) is made only if the storage asks for it:
 * a live grant keeps its own and needs none.
 */
export class PreparedV1Grant {
  /** What the storage receives; its mintToken makes the new token when called. */
  readonly request: Omit<V1GrantRequest, 'authCodeHash'>;
  private seed: string | undefined;
  private fresh: string | undefined;

  constructor(
    private readonly secret: string,
    now: number,
    input: V1GrantInput,
  ) {
    this.request = {
      userId: input.userId,
      appId: input.appId,
      flow: input.flow,
      mintToken: () => this.mint(),
      now,
      tokenExpiresAt: now + V1_TOKEN_LIFETIME_S * 1000,
      appName: input.meta.appName,
      appVersion: input.meta.appVersion,
      userAgent: input.meta.userAgent,
    };
  }

  /** The seed mintToken made, if the storage called it. */
  get mintedSeed(): string | undefined {
    return this.seed;
  }

  private mint(): MintedToken {
    const seed = newTokenSeed();
    const fresh = deriveV1AccessToken(this.secret, seed);
    this.seed = seed;
    this.fresh = fresh;
    return { tokenSeed: seed, tokenHash: hashToken(fresh) };
  }

  /** The grant's token: the one just minted if the storage created the grant with it, else derived from the grant's seed. */
  tokenOf(issued: { tokenSeed: string; created: boolean }): string {
    return issued.created && this.fresh !== undefined ? this.fresh : deriveV1AccessToken(this.secret, issued.tokenSeed);
  }
}

export function prepareV1Grant(deps: ProtocolDeps, input: V1GrantInput): PreparedV1Grant {
  return new PreparedV1Grant(deps.secret, deps.clock.now(), input);
}

/** Issues the V1 token for (user, app) through upsertV1Grant (see prepareV1Grant). */
export async function issueV1Token(
  deps: ProtocolDeps,
  input: V1GrantInput & { authCodeHash?: string },
): Promise<{ token: string; grant: Grant; created: boolean }> {
  const prepared = prepareV1Grant(deps, input);
  const grant = await deps.storage.upsertV1Grant({ ...prepared.request, authCodeHash: input.authCodeHash });
  // The fresh seed is kept only by a grant this call created; a live grant keeps its own.
  const seed = prepared.mintedSeed;
  const created = grant.tokenSeed === seed;
  return { token: prepared.tokenOf({ tokenSeed: grant.tokenSeed, created }), grant, created };
}

/** §5.2: the exact success body. */
export function v1TokenResponse(token: string): V1TokenResponse {
  return { access_token: token, token_type: 'bearer', scope: 'public', expires_in: V1_TOKEN_LIFETIME_S };
}
