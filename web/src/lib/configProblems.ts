/**
 * The config editor's bookkeeping, kept pure so it is tested without a browser: which of the
 * validator's problems belong to the open file and at which line (a problem the validator
 * could not place gets its line from its JSON pointer), where a line and column fall in the
 * text, how a unified diff is shown, and which file a business is edited in.
 */
import type { ConfigDiagnostic } from '../api/generated/client';
import { ApiError } from '../api/fetcher';
import { lineOfYamlPath } from './yamlPath';

/** A problem as the editor shows it. */
export interface Problem {
  /** `businesses/himalayan_kitchen.yaml` */
  file: string;
  /** 1-based line in that file; null when nothing places it. */
  line: number | null;
  /** 1-based column; null when unknown (the line's start then). */
  column: number | null;
  /** The JSON pointer the validator names ("" for the whole file). */
  pointer: string;
  message: string;
  severity: 'error' | 'warning';
}

/** The problems of one check, split into the open file's and the other files'. */
export interface SortedProblems {
  /** In the open file, by line. */
  here: Problem[];
  /** In other files (a flow edit that breaks a business that uses it). */
  elsewhere: Problem[];
}

/**
 * Sorts a check's errors and warnings for the open `file` whose text is `text` (what was
 * checked). A problem without a line is placed by its pointer when the pointer leads somewhere
 * in the text.
 */
export function sortProblems(file: string, text: string, errors: ConfigDiagnostic[], warnings: ConfigDiagnostic[] = []): SortedProblems {
  const all: Problem[] = [
    ...errors.map((d) => toProblem(d, 'error')),
    ...warnings.map((d) => toProblem(d, 'warning')),
  ];
  const here = all
    .filter((p) => p.file === file)
    .map((p) => {
      if (p.line !== null || !p.pointer) return p;
      const target = lineOfYamlPath(text, p.pointer);
      return target ? { ...p, line: target.line, column: null } : p;
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { here, elsewhere: all.filter((p) => p.file !== file) };
}

function toProblem(d: ConfigDiagnostic, severity: Problem['severity']): Problem {
  return { file: d.file, line: d.line ?? null, column: d.column ?? null, pointer: d.pointer, message: d.message, severity };
}

/** `file:line:column` for a problem, as the CLI prints it. */
export function problemPlace(p: Problem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''}${p.line && p.column ? `:${p.column}` : ''}`;
}

/**
 * The offset in `text` of 1-based `line` and `column` (a column past the line's end is its
 * end; a line past the text's end is the text's end), for placing a marker.
 */
export function offsetOf(text: string, line: number, column: number | null): number {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return text.length;
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(start + Math.max((column ?? 1) - 1, 0), lineEnd);
}

/** One line of a unified diff, classified for colouring. */
export interface DiffRow {
  kind: 'added' | 'removed' | 'context' | 'hunk' | 'header';
  text: string;
}

/** A unified diff (`--- a/… +++ b/… @@ … @@`) as rows to colour; the text stays text. */
export function diffRows(diff: string): DiffRow[] {
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((text) => {
    if (text.startsWith('+++') || text.startsWith('---')) return { kind: 'header', text };
    if (text.startsWith('@@')) return { kind: 'hunk', text };
    if (text.startsWith('+')) return { kind: 'added', text };
    if (text.startsWith('-')) return { kind: 'removed', text };
    return { kind: 'context', text };
  });
}

/** A file of the config root, as the API names it. */
export interface ConfigPath {
  dir: 'businesses' | 'flows' | 'plugins';
  name: string;
}

/** Splits `businesses/himalayan_kitchen.yaml`; null for anything that is not such a path. */
export function splitConfigPath(path: string): ConfigPath | null {
  const match = /^(businesses|flows|plugins)\/([A-Za-z0-9_-]{1,64}\.(?:yaml|yml|rhai))$/.exec(path);
  if (!match) return null;
  return { dir: match[1] as ConfigPath['dir'], name: match[2] as string };
}

/** The file a business is configured in: `businesses/<id>.yaml` (or `.yml`) among `paths`. */
export function businessFile(businessId: string, paths: string[]): string | null {
  return paths.find((p) => p === `businesses/${businessId}.yaml` || p === `businesses/${businessId}.yml`) ?? null;
}

/**
 * The files the editor offers for a business, in order: its own file, then the flows and
 * plugins it names (those that exist), then every other file of the root.
 */
export function filesForBusiness(businessPath: string | null, flows: string[], plugins: string[], paths: string[]): { mine: string[]; others: string[] } {
  const wanted = [
    ...(businessPath ? [businessPath] : []),
    ...flows.flatMap((f) => [`flows/${f}.yaml`, `flows/${f}.yml`]),
    ...plugins.map((p) => `plugins/${p}.rhai`),
  ];
  const mine = wanted.filter((p) => paths.includes(p));
  return { mine, others: paths.filter((p) => !mine.includes(p)) };
}

/**
 * The problems of a save the server refused (409 with `errors`, when the file changed between
 * the check and the save), or null for any other failure.
 */
export function refusedSaveErrors(error: unknown): ConfigDiagnostic[] | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const body = error.body;
  if (!body || typeof body !== 'object' || !('errors' in body) || !Array.isArray(body.errors)) return null;
  return body.errors.filter(
    (d): d is ConfigDiagnostic => !!d && typeof d === 'object' && typeof d.file === 'string' && typeof d.message === 'string' && typeof d.pointer === 'string',
  );
}
