/**
 * The pure parts of the review pages: where a suggestion's "open in config editor" link leads,
 * which open suggestions the dashboard shows first, and what a worked callback request sends.
 * Free of React and fetching so Vitest checks them directly.
 */

/** The six root causes a review issue or a suggestion can have, in the server's order. */
export const CATEGORIES = ['knowledge_gap', 'prompt_weakness', 'ux_issue', 'stt_error', 'tts_issue', 'config_error'] as const;
export type Category = (typeof CATEGORIES)[number];

export const SUGGESTION_STATUSES = ['pending', 'implemented', 'rejected'] as const;
export type SuggestionStatus = (typeof SUGGESTION_STATUSES)[number];

export const CALLBACK_STATUSES = ['pending', 'contacted', 'booked', 'declined'] as const;
export type CallbackStatus = (typeof CALLBACK_STATUSES)[number];

/** What a suggestion says to change (the API's `target`). */
export interface SuggestionTarget {
  file: string;
  yaml_path: string | null;
  flow_step: string | null;
}

/**
 * A JSON pointer (`/menu/categories/0/items`) as the dotted path the config editor's deep link
 * takes (`menu.categories.0.items`). A segment that itself holds a dot cannot be written dotted,
 * so such a pointer is kept as it is (the editor reads both forms).
 */
export function dottedPath(pointer: string): string {
  if (!pointer.startsWith('/')) return pointer;
  const segments = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .filter((s) => s !== '');
  if (segments.some((s) => s.includes('.'))) return pointer;
  return segments.join('.');
}

/**
 * The admin route of the config editor opened at what `target` names:
 * `/config?business=<id>&file=<path>&yaml_path=<dotted.path>` (without `yaml_path` when the
 * suggestion names only a file or a flow step). Relative to the app's `/admin/` base.
 */
export function configEditorLink(businessId: string, target: SuggestionTarget): string {
  const query = new URLSearchParams({ business: businessId, file: target.file });
  if (target.yaml_path) {
    const dotted = dottedPath(target.yaml_path);
    if (dotted) query.set('yaml_path', dotted);
  }
  return `/config?${query.toString()}`;
}

/** What ranking open suggestions needs to know. */
export interface RankedSuggestion {
  id: number;
  priority: number;
  status: string;
}

/**
 * The `limit` open (pending) suggestions to act on first: priority 1 (do first) before 5, and
 * among equal priorities the newest (highest id) first.
 */
export function topOpenSuggestions<T extends RankedSuggestion>(items: T[], limit: number): T[] {
  return items
    .filter((s) => s.status === 'pending')
    .sort((a, b) => a.priority - b.priority || b.id - a.id)
    .slice(0, limit);
}

/** The editable part of a callback request. */
export interface CallbackWork {
  status: CallbackStatus;
  note: string;
}

/**
 * The PATCH body for a callback request edited from `before` to `after`: only what changed
 * (a note is trimmed; an emptied note is sent as "" to clear it); `null` when nothing changed.
 */
export function callbackPatch(before: { status: string; staff_note: string | null }, after: CallbackWork): Partial<CallbackWork> | null {
  const patch: Partial<CallbackWork> = {};
  if (after.status !== before.status) patch.status = after.status;
  const note = after.note.trim();
  if (note !== (before.staff_note ?? '').trim()) patch.note = note;
  return Object.keys(patch).length ? patch : null;
}

/** Milliseconds as the dashboard shows them: "840 ms", "1.2 s"; "—" when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
