import { useState, type FormEvent } from 'react';
import { usePatchApiCallbacksId } from '../api/generated/client';
import type { CallbackRequest } from '../api/generated/client';
import { Badge, Button, Card, ErrorText, Field, SelectInput, TextInput } from '../components/ui';
import { StatusText, statusLabel } from '../components/Suggestion';
import { useT } from '../lib/i18n';
import { CALLBACK_STATUSES, callbackPatch, type CallbackStatus } from '../lib/reviews';

/**
 * One callback request, worked through in place: its status (pending → contacted → booked or
 * declined) and the staff's note, saved with `PATCH /api/callbacks/{id}` (only what changed).
 */
function CallbackRow({ request, onChanged }: { request: CallbackRequest; onChanged: () => void }) {
  const t = useT();
  const [status, setStatus] = useState<CallbackStatus>(request.status);
  const [note, setNote] = useState(request.staff_note ?? '');
  const patch = usePatchApiCallbacksId({ mutation: { onSuccess: onChanged } });
  const changes = callbackPatch(request, { status, note });
  const save = (e: FormEvent) => {
    e.preventDefault();
    if (changes) patch.mutate({ id: request.id, data: changes });
  };
  const statusId = `callback-status-${request.id}`;
  const noteId = `callback-note-${request.id}`;
  return (
    <li className="flex flex-col gap-2 py-3 text-sm" data-callback={request.id} data-status={request.status}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-medium break-words">{request.customer_name ?? '—'}</span>
        <span>
          {request.party_size ?? '?'} · {request.requested_date ?? ''} {request.requested_time ?? ''}
        </span>
        <Badge tone={request.status === 'pending' ? 'amber' : request.status === 'booked' ? 'green' : 'slate'}>
          <StatusText status={request.status} />
        </Badge>
        <span className="text-slate-500">{request.reason}</span>
        {request.notes && <span className="break-words text-slate-500">{request.notes}</span>}
      </div>
      <form className="grid grid-cols-1 items-end gap-2 sm:grid-cols-[10rem_1fr_auto]" onSubmit={save}>
        <Field label={t('status')} htmlFor={statusId}>
          <SelectInput id={statusId} value={status} onChange={(e) => setStatus(e.target.value as CallbackStatus)}>
            {CALLBACK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(statusLabel(s) ?? 'status')}
              </option>
            ))}
          </SelectInput>
        </Field>
        <Field label={t('staffNote')} htmlFor={noteId}>
          <TextInput id={noteId} value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
        </Field>
        <Button type="submit" disabled={!changes || patch.isPending}>
          {t('save')}
        </Button>
      </form>
      <ErrorText error={patch.error} />
    </li>
  );
}

/** Large-party and manager callback requests, newest first, each worked through in place. */
export function CallbacksCard({ items, error, onChanged }: { items: CallbackRequest[]; error: unknown; onChanged: () => void }) {
  const t = useT();
  const sorted = [...items].sort((a, b) => b.id - a.id);
  return (
    <Card title={t('callbacks')}>
      <ErrorText error={error} />
      {sorted.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
      <ul className="divide-y divide-slate-100">
        {sorted.map((c) => (
          // Keyed by what the server last said, so a saved or refreshed request starts from it.
          <CallbackRow key={`${c.id}:${c.updated_at}`} request={c} onChanged={onChanged} />
        ))}
      </ul>
    </Card>
  );
}
