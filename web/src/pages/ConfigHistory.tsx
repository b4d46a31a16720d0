import { useState } from 'react';
import { useGetApiConfigHistory, useGetApiConfigHistoryId } from '../api/generated/client';
import type { ConfigHistoryEntry } from '../api/generated/client';
import { Badge, Button, Card, ErrorText } from '../components/ui';
import { diffRows } from '../lib/configProblems';
import { useT } from '../lib/i18n';

const rowColours = {
  added: 'bg-green-50 text-green-900',
  removed: 'bg-red-50 text-red-900',
  hunk: 'bg-slate-100 text-slate-600',
  header: 'text-slate-500',
  context: 'text-slate-800',
} as const;

/** One save's unified diff, coloured line by line (the text stays text). */
export function DiffView({ diff }: { diff: string }) {
  return (
    <pre className="mt-2 max-h-96 overflow-auto rounded border border-slate-200 text-xs leading-5" data-testid="config-diff">
      {diffRows(diff).map((row, i) => (
        <div key={i} className={`whitespace-pre-wrap break-all px-2 ${rowColours[row.kind]}`} data-diff={row.kind}>
          {row.text || ' '}
        </div>
      ))}
    </pre>
  );
}

function HistoryItem({ entry, busy, onRevert }: { entry: ConfigHistoryEntry; busy: boolean; onRevert: (entry: ConfigHistoryEntry) => void }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const detail = useGetApiConfigHistoryId(entry.id, { query: { enabled: open } });
  return (
    <li className="border-b border-slate-100 py-2 last:border-0" data-history-id={entry.id}>
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-mono text-slate-500">#{entry.id}</span>
        <span>{new Date(entry.saved_at).toLocaleString()}</span>
        {entry.kind === 'revert' ? <Badge tone="amber">revert of #{entry.reverts}</Badge> : <Badge>save</Badge>}
        <span className="text-green-700">+{entry.lines_added}</span>
        <span className="text-red-700">−{entry.lines_removed}</span>
        <span className="ml-auto flex gap-2">
          <Button tone="secondary" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? t('hideDiff') : t('showDiff')}
          </Button>
          <Button tone="secondary" disabled={busy} onClick={() => onRevert(entry)} aria-label={`${t('revert')} #${entry.id}`}>
            {t('revert')}
          </Button>
        </span>
      </div>
      {open && <ErrorText error={detail.error} />}
      {open && detail.data && <DiffView diff={detail.data.diff} />}
    </li>
  );
}

/**
 * The recent saves of one file, newest first: each shows its diff on request and is undone
 * with one click (the server checks a revert like any save).
 */
export function ConfigHistory({ path, busy, onRevert }: { path: string; busy: boolean; onRevert: (entry: ConfigHistoryEntry) => void }) {
  const t = useT();
  const history = useGetApiConfigHistory({ path });
  const items = history.data?.items ?? [];
  return (
    <Card title={`${t('history')}: ${path}`}>
      <ErrorText error={history.error} />
      {items.length === 0 && !history.isLoading && <p className="text-sm text-slate-500">{t('none')}</p>}
      <ul data-testid="config-history">
        {items.slice(0, 20).map((entry) => (
          <HistoryItem key={entry.id} entry={entry} busy={busy} onRevert={onRevert} />
        ))}
      </ul>
    </Card>
  );
}
