/**
 * Every protocol error keyfob can answer, in one table: wire id -> HTTP status and
 * default message. The api origin serialises these in the reference's envelope
 * (simkl-auth.md §10.1): {"error": id, "code": status, "message": text}.
 * Anything that is not a ProtocolError becomes a generic 500 "internal" that leaks nothing.
 */
export const ERROR_TABLE = {
  // §5.3 token endpoint
  empty_field: { status: 403, message: 'A required field is missing' },
  redirect_failed: {
    status: 403,
    message: 'Invalid redirect_uri. This value must match a URL registered with the API Key.',
  },
  secret_error: { status: 401, message: 'Wrong Secret' },
  grant_error: { status: 401, message: 'Wrong or expired code' },
  unsupported_grant_type: { status: 400, message: 'grant_type must be authorization_code' },
  // §10.2 general
  wrong_parameter: { status: 400, message: 'A parameter has the wrong form' },
  client_id_failed: { status: 412, message: 'Your client_id is wrong. Try another one' },
  // §9.2: the reference's body carries no message; clients key on the id alone.
  user_token_failed: { status: 401, message: null },
  rate_limit: { status: 429, message: 'Too many requests' },
  url_failed: { status: 404, message: 'Not found' },
  unauthorized_client: { status: 400, message: 'This client_id may not use this endpoint' },
  // §6.2 authorize-time PKCE refusal
  invalid_request: { status: 400, message: 'Invalid request' },
  unsupported_media_type: { status: 415, message: 'Unsupported Content-Type' },
  payload_too_large: { status: 413, message: 'Request body too large' },
  service_unavailable: { status: 503, message: 'Storage is unavailable, try again shortly' },
  internal: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string | null }>;

export type ErrorId = keyof typeof ERROR_TABLE;

export interface ErrorBody {
  error: ErrorId;
  code: number;
  message?: string;
}

export class ProtocolError extends Error {
  readonly status: number;
  constructor(
    readonly id: ErrorId,
    message?: string,
  ) {
    super(message ?? ERROR_TABLE[id].message ?? id);
    this.name = 'ProtocolError';
    this.status = ERROR_TABLE[id].status;
    this.detail = message ?? ERROR_TABLE[id].message;
  }
  /** The human message sent on the wire, or null when the reference sends none. */
  readonly detail: string | null;

  toBody(): ErrorBody {
    const body: ErrorBody = { error: this.id, code: this.status };
    if (this.detail !== null) body.message = this.detail;
    return body;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
