/**
 * Finding a place in a configuration file by its YAML path, for the config editor's deep link
 * (`/admin/config?business=…&file=…&yaml_path=…`) and for reading which flows and plugins a
 * business file names. Pure: text in, line numbers out; the editor does the scrolling.
 *
 * A path is written either dotted (`menu.categories.0.items.1.price_inr`) or as the JSON
 * pointer the reviewer and the validator use (`/menu/categories/0/items/1/price_inr`). In a
 * list a segment is an index, or the `id` of an item (`menu.categories.momos.items.paneer_momos`
 * — ids survive reordering, indexes do not).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** Where a YAML path leads in a text. */
export interface YamlPathTarget {
  /** 1-based line of the deepest node found (the key's line for a mapping entry). */
  line: number;
  /** True when every segment was found; false when the line is that of the nearest parent. */
  exact: boolean;
  /** The segments that were found, in order. */
  found: string[];
}

/** Splits a dotted path or a JSON pointer into its segments (`~1` → `/`, `~0` → `~`). */
export function pathSegments(path: string): string[] {
  const trimmed = path.trim();
  if (trimmed === '' || trimmed === '/' || trimmed === '.') return [];
  if (trimmed.startsWith('/')) {
    return trimmed
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return trimmed.split('.').filter((s) => s !== '');
}

function parse(text: string): { doc: Document.Parsed; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  return { doc, lines };
}

/** Follows an alias (`*open_day`) to the node it names. */
function resolved(node: unknown, doc: Document.Parsed): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function scalarText(node: unknown): string | null {
  if (!isScalar(node)) return null;
  const v = node.value;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

/** The `id` of a list item that is a mapping, if it has one. */
function itemId(item: unknown, doc: Document.Parsed): string | null {
  const node = resolved(item, doc);
  if (!isMap(node)) return null;
  for (const pair of node.items) {
    if (scalarText(pair.key) === 'id') return scalarText(resolved(pair.value, doc));
  }
  return null;
}

function startOf(node: unknown): number | null {
  const range = (node as Partial<Node> | null)?.range;
  return range ? range[0] : null;
}

/**
 * The line `path` points at in `text`. A path that is only partly there leads to the deepest
 * part found (`exact: false`); `null` only when the text is not YAML with a mapping at the top
 * or the first segment is missing.
 */
export function lineOfYamlPath(text: string, path: string): YamlPathTarget | null {
  const { doc, lines } = parse(text);
  const segments = pathSegments(path);
  let node: unknown = resolved(doc.contents, doc);
  if (!node) return null;
  let offset: number | null = startOf(node);
  const found: string[] = [];
  for (const segment of segments) {
    let next: unknown = undefined;
    let at: number | null = null;
    if (isMap(node)) {
      const pair = node.items.find((p) => scalarText(p.key) === segment);
      if (pair && isPair(pair)) {
        next = resolved(pair.value, doc);
        at = startOf(pair.key) ?? startOf(pair.value);
      }
    } else if (isSeq(node)) {
      const index = /^\d+$/.test(segment) ? Number(segment) : node.items.findIndex((item) => itemId(item, doc) === segment);
      const item = index >= 0 ? node.items[index] : undefined;
      if (item !== undefined) {
        next = resolved(item, doc);
        at = startOf(item);
      }
    }
    if (at === null) break;
    found.push(segment);
    node = next;
    offset = at;
  }
  if (offset === null || found.length === 0 && segments.length > 0) return null;
  return { line: lines.linePos(offset).line, exact: found.length === segments.length, found };
}

/** The names listed under `key` (`flows`, `plugins`) at the top of a business file. */
export function listedNames(text: string, key: 'flows' | 'plugins'): string[] {
  const { doc } = parse(text);
  const top = resolved(doc.contents, doc);
  if (!isMap(top)) return [];
  const pair = top.items.find((p) => scalarText(p.key) === key);
  const list = pair ? resolved(pair.value, doc) : null;
  if (!isSeq(list)) return [];
  return list.items.map((item) => scalarText(resolved(item, doc))).filter((name): name is string => !!name);
}
