import type { CodeConsumption } from '../../storage/storage.js';
import type { ProtocolDeps } from '../deps.js';

/** Where a replay is reported: ids only, never the code, its hash or a token (SECURITY.md). */
export interface ReplayLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export type Replay = Extract<CodeConsumption, { kind: 'replayed' }>;

/**
 * An authorization code used a second time (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.5):
 * the request is always denied by the caller. The grant the first exchange produced is
 * revoked only when all of these hold (docs/decisions/0070):
 *   1. the replay would otherwise have succeeded: same client, authenticated (secret and,
 *      for a PKCE code, the verifier), same redirect_uri. Someone who merely saw a used
 *      code (history, a log, a Referer) can then revoke nothing;
 *   2. the first exchange created that grant, and no authorization re-issued its token
 *      since (authorizedAt still equals createdAt): the token came from this code alone,
 *      so revoking it cannot cut off the same user's other devices, which share one token
 *      per (user, app) under the same-token rule (§5.4).
 * Returns whether a grant was revoked.
 */
export async function answerCodeReplay(
  deps: ProtocolDeps & { log?: ReplayLog },
  replay: Replay,
  input: { appId: number; wouldSucceed: boolean },
): Promise<boolean> {
  const { code } = replay;
  let revoked = false;
  if (input.wouldSucceed && replay.grantId !== null && replay.grantCreated) {
    const grant = await deps.storage.findGrantById(replay.grantId);
    if (grant && grant.revokedAt === null && grant.authorizedAt === grant.createdAt) {
      revoked = await deps.storage.revokeGrant(grant.id, code.userId, deps.clock.now());
    }
  }
  deps.log?.warn(
    {
      event: 'authorization_code_replayed',
      codeAppId: code.appId,
      requestAppId: input.appId,
      userId: code.userId,
      grantId: replay.grantId,
      firstUsedAt: replay.consumedAt,
      authenticated: input.wouldSucceed,
      grantRevoked: revoked,
    },
    'an authorization code was used again: request denied',
  );
  return revoked;
}
