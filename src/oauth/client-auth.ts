import { ProtocolError } from './errors.js';

export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/** RFC 6749 §2.3.1 / Appendix B: each part is form-urlencoded before Base64, so '+' is a space. */
function formDecode(part: string): string {
  return decodeURIComponent(part.replace(/\+/g, ' '));
}

/**
 * Parses `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
 * Returns null when the header is absent or uses another scheme (a Bearer header on
 * the token endpoint is not client authentication). A malformed Basic header is a
 * client-authentication failure (401 secret_error), never a 500.
 */
export function parseBasicAuth(header: string | undefined): BasicCredentials | null {
  if (!header) return null;
  const m = /^basic[ ]+([A-Za-z0-9+/=._~-]*)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new ProtocolError('secret_error', 'Malformed HTTP Basic credentials');
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new ProtocolError('secret_error', 'Malformed HTTP Basic credentials');
  }
}
