import type { CallbackRequest } from '../api/generated/client';
import { Badge, Card, ErrorText } from '../components/ui';
import { useT } from '../lib/i18n';

/** Large-party and manager callback requests, newest first. */
export function CallbacksCard({ items, error }: { items: CallbackRequest[]; error: unknown; onChanged: () => void }) {
  const t = useT();
  const sorted = [...items].sort((a, b) => b.id - a.id);
  return (
    <Card title={t('callbacks')}>
      <ErrorText error={error} />
      {sorted.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
      <ul className="divide-y divide-slate-100">
        {sorted.map((c) => (
          <li key={c.id} className="flex flex-wrap items-center gap-2 py-2 text-sm" data-callback={c.id}>
            <span className="font-medium">{c.customer_name ?? '—'}</span>
            <span>
              {c.party_size ?? '?'} · {c.requested_date ?? ''} {c.requested_time ?? ''}
            </span>
            <Badge tone={c.status === 'pending' ? 'amber' : 'slate'}>{c.status}</Badge>
            <span className="text-slate-500">{c.reason}</span>
            {c.notes && <span className="text-slate-500">{c.notes}</span>}
          </li>
        ))}
      </ul>
    </Card>
  );
}
