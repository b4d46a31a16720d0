/**
 * The admin session: the bearer token `POST /api/auth/login` issues, kept in this tab's
 * `sessionStorage` and sent as `Authorization: Bearer …` by {@link ../api/fetcher}.
 *
 * Why a bearer token and not a cookie: the browser never attaches it on its own, so no other
 * site can make the owner's browser act on the API (no CSRF by construction, no CSRF token to
 * manage), and the API stays the same for the admin and for scripts. sessionStorage (not
 * localStorage) means it lives only as long as the tab and a reload keeps you logged in; the
 * admin's strict Content-Security-Policy (scripts from this origin only) and React's escaping
 * of everything callers said are what keep a script from reading it. Logging out forgets it;
 * the token also expires on its own (12 h).
 */
const KEY = 'vartalaap.admin.token';

type Listener = () => void;
const listeners = new Set<Listener>();

export function currentToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function startSession(token: string): void {
  sessionStorage.setItem(KEY, token);
  listeners.forEach((l) => l());
}

export function endSession(): void {
  sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

/** The server refused the token (expired, or SESSION_SECRET rotated): back to the login. */
export function expireSession(): void {
  endSession();
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
