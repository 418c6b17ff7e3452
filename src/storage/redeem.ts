import type { CodeGrantDecision, CodeRedemption, Storage } from './storage.js';

/**
 * Redeems an authorization code: consumes it, lets `decide` (the exchange's checks) say
 * which grant to issue, and issues it, its tombstone recording the grant (decision 0082).
 * A storage that offers redeemAuthCode does all of it as one write (decision 0086);
 * otherwise (PostgreSQL) the code is consumed in one call and the grant upserted in a
 * second, with the same outcome: the code is consumed whatever `decide` or the upsert does
 * (§5.4), and an upsert is all or nothing.
 */
export function redeemAuthCode(storage: Storage, codeHash: string, now: number, decide: CodeGrantDecision): Promise<CodeRedemption> {
  return storage.redeemAuthCode ? storage.redeemAuthCode(codeHash, now, decide) : redeemInTwoCalls(storage, codeHash, now, decide);
}

async function redeemInTwoCalls(storage: Storage, codeHash: string, now: number, decide: CodeGrantDecision): Promise<CodeRedemption> {
  const consumption = await storage.consumeAuthCode(codeHash, now);
  const request = decide(consumption);
  if (request === null || consumption.kind !== 'fresh') return { consumption, issued: null };
  let seed: string | undefined;
  const grant = await storage.upsertV1Grant({
    ...request,
    mintToken: () => {
      const minted = request.mintToken();
      seed = minted.tokenSeed;
      return minted;
    },
    authCodeHash: codeHash,
  });
  return { consumption, issued: { grantId: grant.id, tokenSeed: grant.tokenSeed, created: grant.tokenSeed === seed } };
}
