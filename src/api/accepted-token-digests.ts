/**
 * The SHA-256 digests of V1 bearer tokens that were recently accepted, by token, so that a
 * client calling again is looked up without hashing its token again (docs/decisions/0104).
 *
 * The digest was a twelfth of a token check's instructions and most of what it adds to the
 * CPU's instruction cache beyond its answer's shape (bench/README.md, fourteenth round).
 * What the memo holds decides nothing: a token's digest never changes, and every call still
 * looks the digest up in the storage (with the read cache's proof that nothing changed), so
 * a revoked or expired token is refused on its very next call as before.
 *
 * Only tokens the storage found and the caller accepted are kept, so tokens sent at random
 * neither fill it nor push live ones out; a kept token that is then refused is dropped at
 * once. It holds at most `limit` tokens and starts over past that.
 */
export class AcceptedTokenDigests {
  private readonly digests = new Map<string, string>();

  constructor(private readonly limit = 10_000) {}

  /** The kept digest of `token` (hashToken's), or undefined when it is not kept. */
  kept(token: string): string | undefined {
    return this.digests.get(token);
  }

  /** `token`, whose digest (hashToken's) is `digest`, was accepted: keep the digest for its next call. */
  accepted(token: string, digest: string): void {
    if (this.digests.size >= this.limit && !this.digests.has(token)) this.digests.clear();
    this.digests.set(token, digest);
  }

  /** `token` was refused (revoked, expired, unknown, another app's): keep nothing of it. */
  refused(token: string): void {
    this.digests.delete(token);
  }

  get size(): number {
    return this.digests.size;
  }
}
