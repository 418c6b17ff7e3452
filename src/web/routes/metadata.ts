import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';

/**
 * RFC 8414 metadata describing exactly what keyfob serves today (the V1 dialect), so
 * discovery-based clients configure themselves (docs/decisions/0007). The issuer is the
 * web origin URL with no trailing slash (RFC 8414 §2, §3.3).
 */
export function metadataDocument(services: Services): Record<string, unknown> {
  const { webUrl, apiUrl } = services.config;
  return {
    issuer: webUrl,
    authorization_endpoint: `${webUrl}/oauth/authorize`,
    token_endpoint: `${apiUrl}/oauth/token`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256', 'plain'],
    scopes_supported: ['public'],
    service_documentation: `${webUrl}/`,
  };
}

export function registerMetadataRoute(app: FastifyInstance, services: Services): void {
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=300');
    return metadataDocument(services);
  });
}
