import type { FastifyInstance, FastifyReply } from 'fastify';

declare module 'fastify' {
  interface FastifyReply {
    /** Extra form-action sources for this page (the consent form redirects to the client). */
    formActionSources: string[] | null;
  }
}

/** CSP source for where a consent form may end up: an origin for http(s), a scheme for custom schemes. */
export function formActionSourceFor(uri: string): string | null {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    try {
      return new URL(uri).origin;
    } catch {
      return null;
    }
  }
  return `${scheme}:`;
}

export function allowFormAction(reply: FastifyReply, uri: string | null): void {
  if (!uri) return;
  const src = formActionSourceFor(uri);
  if (src) reply.formActionSources = [...(reply.formActionSources ?? []), src];
}

/**
 * Headers on every web response: a strict CSP with no inline script or style,
 * no framing (frame-ancestors and X-Frame-Options), no referrer (pages carry codes),
 * no sniffing, and HSTS when the public URL is https.
 */
export function registerSecurityHeaders(app: FastifyInstance, opts: { https: boolean }): void {
  app.decorateReply('formActionSources', null);
  app.addHook('onSend', async (_request, reply, payload) => {
    const formAction = ["'self'", ...(reply.formActionSources ?? [])].join(' ');
    reply.header(
      'content-security-policy',
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    );
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
    if (opts.https) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    return payload;
  });
}
