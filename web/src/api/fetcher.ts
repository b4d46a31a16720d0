/**
 * The one place every generated API call goes through (Orval's "mutator"): adds the admin's
 * bearer token, turns an error reply into an {@link ApiError} carrying the server's message
 * and the `field` it blames, and logs the owner out when the token is refused.
 */
import { currentToken, expireSession } from '../lib/session';

/** An error reply from the API: the HTTP status, the server's message, the field at fault. */
export class ApiError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  /** The whole JSON error body (a refused config save lists its `errors` there). */
  readonly body: unknown;

  constructor(status: number, message: string, field?: string, body?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field;
    this.body = body;
  }
}

/** Reads the server's `{"error", "field"}` body; anything else becomes a plain message. */
export async function errorFrom(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim();
  let field: string | undefined;
  let body: unknown;
  try {
    body = await response.json();
    if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string') {
      message = body.error;
      if ('field' in body && typeof body.field === 'string') field = body.field;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(response.status, message, field, body);
}

export async function apiFetch<T>(url: string, options: RequestInit = {}): Promise<T> {
  const headers = new Headers(options.headers);
  const token = currentToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(url, { ...options, headers });
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && token) expireSession();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export default apiFetch;

/** The error type the generated hooks declare (Orval reads this export of the mutator). */
export type ErrorType<Body> = ApiError & { readonly body?: Body };
