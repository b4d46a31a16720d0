/**
 * The text editor of the Business config page: CodeMirror 6 with line numbers, YAML
 * highlighting, the validator's problems as markers in a gutter (and underlined at their
 * place), and one highlighted line that the page can scroll to (a deep link's YAML path, a
 * problem clicked in the list).
 *
 * Why CodeMirror rather than a textarea with a painted gutter: it keeps line numbers, markers
 * and scroll positions right with wrapped lines on a phone screen, undo and search work as in
 * any editor, and text is only ever inserted as text nodes (nothing is parsed as HTML).
 */
import { useEffect, useRef } from 'react';
import { EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, drawSelection, type DecorationSet } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { offsetOf, type Problem } from '../lib/configProblems';

/** A line to scroll to and highlight; `seq` changes to ask again for the same line. */
export interface EditorTarget {
  line: number;
  seq: number;
}

const setTargetLine = StateEffect.define<number | null>();

/** The highlighted line, kept where it is as text is edited above it. */
const targetLine = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(set, tr) {
    let next = set.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setTargetLine)) continue;
      if (effect.value === null) {
        next = Decoration.none;
      } else {
        const line = tr.state.doc.line(Math.min(Math.max(effect.value, 1), tr.state.doc.lines));
        next = Decoration.set([Decoration.line({ attributes: { class: 'cm-target-line', 'data-target-line': String(line.number) } }).range(line.from)]);
      }
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const theme = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid rgb(203 213 225)', borderRadius: '6px', backgroundColor: 'white' },
  '&.cm-focused': { outline: '2px solid rgb(191 219 254)' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' },
  '.cm-target-line': { backgroundColor: 'rgb(254 243 199)', boxShadow: 'inset 3px 0 rgb(217 119 6)' },
  '.cm-gutters': { backgroundColor: 'rgb(248 250 252)' },
});

function extensions(language: 'yaml' | 'text', onChange: (text: string) => void, label: string): Extension[] {
  return [
    lineNumbers(),
    lintGutter(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    highlightActiveLine(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ 'aria-label': label }),
    targetLine,
    theme,
    EditorView.updateListener.of((update) => {
      if (update.docChanged) onChange(update.state.doc.toString());
    }),
    ...(language === 'yaml' ? [yaml()] : []),
  ];
}

/** The open file's problems as CodeMirror diagnostics: from the place to the end of its line. */
export function toDiagnostics(text: string, problems: Problem[]): Diagnostic[] {
  return problems
    .filter((p): p is Problem & { line: number } => p.line !== null)
    .map((p) => {
      const from = offsetOf(text, p.line, p.column);
      const lineEnd = offsetOf(text, p.line, Number.MAX_SAFE_INTEGER);
      return { from, to: Math.max(from, lineEnd), severity: p.severity, message: p.message };
    });
}

export function ConfigEditor({
  docKey,
  initial,
  language,
  label,
  problems,
  target,
  onChange,
}: {
  /** Changes when another file (or another saved version of it) is loaded: the text is replaced. */
  docKey: string;
  initial: string;
  language: 'yaml' | 'text';
  label: string;
  /** The open file's problems from the last check (positions refer to the checked text). */
  problems: Problem[];
  target: EditorTarget | null;
  onChange: (text: string) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  // A new view per loaded document: fresh undo history, no edits carried to another file.
  useEffect(() => {
    if (!host.current) return;
    const created = new EditorView({
      parent: host.current,
      state: EditorState.create({ doc: initial, extensions: extensions(language, (text) => changed.current(text), label) }),
    });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // `initial` is read once per `docKey` on purpose: later renders carry the edited text.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [docKey, language, label]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state.doc.toString(), problems)));
  }, [problems, docKey]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    if (!target) {
      v.dispatch({ effects: setTargetLine.of(null) });
      return;
    }
    const line = v.state.doc.line(Math.min(Math.max(target.line, 1), v.state.doc.lines));
    v.dispatch({
      selection: { anchor: line.from },
      effects: [setTargetLine.of(line.number), EditorView.scrollIntoView(line.from, { y: 'center' })],
    });
  }, [target, docKey]);

  return <div ref={host} className="h-[60vh] min-h-64 overflow-hidden [&_.cm-editor]:h-full" data-testid="config-editor" />;
}
