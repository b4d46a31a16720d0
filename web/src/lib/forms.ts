import { ApiError } from '../api/fetcher';

/**
 * Splits an API error into the message shown next to the field it names (the server's
 * `field`) and a message for the whole form when the field is not one of `fields`.
 */
export function placeError(error: unknown, fields: readonly string[]): { byField: Record<string, string>; general: string | null } {
  if (!error) return { byField: {}, general: null };
  if (error instanceof ApiError && error.field && fields.includes(error.field)) {
    return { byField: { [error.field]: error.message }, general: null };
  }
  return { byField: {}, general: error instanceof Error ? error.message : String(error) };
}

/** Keeps reservations whose name contains `query` (case-insensitive; empty keeps all). */
export function matchesName(name: string | null | undefined, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return (name ?? '').toLowerCase().includes(q);
}
