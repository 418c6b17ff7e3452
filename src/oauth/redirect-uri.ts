/**
 * Redirect URIs are compared byte for byte with a registered one (reference §4.1:
 * scheme, host, port, path, trailing slash, letter case all count). No normalisation,
 * no wildcards, no loopback port relaxation in V1 (§6.5).
 */
export function isRegisteredRedirectUri(registered: readonly string[], candidate: string): boolean {
  return registered.includes(candidate);
}

/**
 * Rules for a URI an app owner registers: absolute, with a scheme; no javascript:/data:/vbscript:;
 * no whitespace or control characters. Fragments are allowed because an official Simkl
 * extension registers one (§13); the code is then placed before the fragment.
 */
export function checkRegistrableRedirectUri(uri: string): string | null {
  if (uri.length === 0) return 'must not be empty';
  if (uri.length > 2000) return 'must be at most 2000 characters';
  if (/[\s\u0000-\u001f\u007f\\]/.test(uri)) return 'must not contain spaces, control characters or backslashes';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!m) return 'must start with a scheme such as https:// or myapp://';
  const scheme = m[1]!.toLowerCase();
  if (['javascript', 'data', 'vbscript', 'file', 'blob', 'about'].includes(scheme)) return `may not use the ${scheme}: scheme`;
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return 'is not a valid URL';
    }
    if (!url.hostname) return 'must name a host';
    if (url.username || url.password) return 'must not carry a user name or password';
  }
  return null;
}

/**
 * Appends query parameters to a redirect URI without normalising the rest of it
 * (a URL parser would re-encode custom schemes and paths): before any fragment,
 * with '?' or '&' as the URI already needs.
 */
export function appendQuery(uri: string, params: Record<string, string | undefined>): string {
  const hashAt = uri.indexOf('#');
  const base = hashAt === -1 ? uri : uri.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : uri.slice(hashAt);
  const query = Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  if (!query) return uri;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${query}${fragment}`;
}
