import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  getGetApiCallbacksQueryKey,
  getGetApiReservationsQueryKey,
  useGetApiCallbacks,
  useGetApiReservations,
  usePatchApiReservationsId,
  usePostApiReservations,
  usePostApiReservationsIdCancel,
} from '../api/generated/client';
import type { GetApiReservationsStatus, Reservation } from '../api/generated/client';
import { Badge, Button, Card, ErrorText, Field, Modal, SelectInput, TextArea, TextInput } from '../components/ui';
import { useBusiness } from '../lib/business';
import { useT } from '../lib/i18n';
import { matchesName, placeError } from '../lib/forms';
import { isoDay } from '../lib/stats';
import { CallbacksCard } from './Callbacks';

const FORM_FIELDS = ['customer_name', 'phone', 'party_size', 'date', 'time', 'notes'] as const;

interface FormValues {
  customer_name: string;
  phone: string;
  party_size: string;
  date: string;
  time: string;
  notes: string;
}

function statusTone(status: string) {
  return status === 'confirmed' ? 'green' : status === 'cancelled' ? 'red' : 'slate';
}

/** Create or edit: the same rules as a phone booking apply on the server; its refusal shows at the field. */
function ReservationForm({
  initial,
  submitLabel,
  onSubmit,
  error,
  busy,
  withPhone,
}: {
  initial: FormValues;
  submitLabel: string;
  onSubmit: (values: FormValues) => void;
  error: unknown;
  busy: boolean;
  withPhone: boolean;
}) {
  const t = useT();
  const [values, setValues] = useState(initial);
  const { byField, general } = placeError(error, FORM_FIELDS);
  const set = (name: keyof FormValues) => (e: { target: { value: string } }) => setValues({ ...values, [name]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit(values);
  };
  return (
    <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2" noValidate>
      <Field label={t('name')} htmlFor="res-name" error={byField.customer_name}>
        <TextInput id="res-name" value={values.customer_name} onChange={set('customer_name')} aria-invalid={!!byField.customer_name} />
      </Field>
      {withPhone && (
        <Field label={t('phone')} htmlFor="res-phone" error={byField.phone}>
          <TextInput id="res-phone" type="tel" value={values.phone} onChange={set('phone')} aria-invalid={!!byField.phone} />
        </Field>
      )}
      <Field label={t('partySize')} htmlFor="res-party" error={byField.party_size}>
        <TextInput id="res-party" type="number" min={1} max={20} value={values.party_size} onChange={set('party_size')} aria-invalid={!!byField.party_size} />
      </Field>
      <Field label={t('date')} htmlFor="res-date" error={byField.date}>
        <TextInput id="res-date" type="date" value={values.date} onChange={set('date')} aria-invalid={!!byField.date} />
      </Field>
      <Field label={t('time')} htmlFor="res-time" error={byField.time}>
        <TextInput id="res-time" type="time" step={60} value={values.time} onChange={set('time')} aria-invalid={!!byField.time} />
      </Field>
      <Field label={t('notes')} htmlFor="res-notes" error={byField.notes}>
        <TextArea id="res-notes" rows={2} value={values.notes} onChange={set('notes')} />
      </Field>
      <div className="sm:col-span-2">
        {general && <ErrorText error={new Error(general)} />}
        <Button type="submit" disabled={busy} className="mt-2">
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}

function blank(): FormValues {
  return { customer_name: '', phone: '', party_size: '2', date: isoDay(new Date()), time: '19:00', notes: '' };
}

export function ReservationsPage() {
  const t = useT();
  const queryClient = useQueryClient();
  const { current } = useBusiness();
  const [from, setFrom] = useState(isoDay(new Date()));
  const [to, setTo] = useState('');
  const [status, setStatus] = useState<GetApiReservationsStatus | ''>('confirmed');
  const [query, setQuery] = useState('');
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Reservation | null>(null);

  const list = useGetApiReservations(
    { business_id: current || undefined, date_from: from || undefined, date_to: to || undefined, status: status || undefined, limit: 500 },
    { query: { enabled: !!current } },
  );
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: getGetApiReservationsQueryKey().slice(0, 1) });
    void queryClient.invalidateQueries({ queryKey: getGetApiCallbacksQueryKey().slice(0, 1) });
  };
  const create = usePostApiReservations({ mutation: { onSuccess: () => { setCreating(false); refresh(); } } });
  const update = usePatchApiReservationsId({ mutation: { onSuccess: () => { setEditing(null); refresh(); } } });
  const cancel = usePostApiReservationsIdCancel({ mutation: { onSuccess: refresh } });
  const callbacks = useGetApiCallbacks({ business_id: current || undefined, limit: 200 }, { query: { enabled: !!current } });

  const items = [...(list.data?.items ?? [])]
    .filter((r) => matchesName(r.customer_name, query))
    .sort((a, b) => `${a.reservation_date} ${a.reservation_time}`.localeCompare(`${b.reservation_date} ${b.reservation_time}`));

  return (
    <div className="flex flex-col gap-3">
      <Card title={t('reservations')} actions={<Button onClick={() => { create.reset(); setCreating(true); }}>{t('newReservation')}</Button>}>
        <div className="mb-3 grid grid-cols-2 gap-2 md:grid-cols-4">
          <Field label={t('search')} htmlFor="res-search">
            <TextInput id="res-search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
          </Field>
          <Field label="From" htmlFor="res-from">
            <TextInput id="res-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
          </Field>
          <Field label="To" htmlFor="res-to">
            <TextInput id="res-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
          </Field>
          <Field label={t('status')} htmlFor="res-status">
            <SelectInput id="res-status" value={status} onChange={(e) => setStatus(e.target.value as GetApiReservationsStatus | '')}>
              <option value="">all</option>
              <option value="confirmed">confirmed</option>
              <option value="cancelled">cancelled</option>
              <option value="completed">completed</option>
              <option value="no_show">no_show</option>
            </SelectInput>
          </Field>
        </div>
        <ErrorText error={list.error ?? cancel.error} />
        {list.isLoading && <p className="text-sm">{t('loading')}</p>}
        {list.data && items.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
        <ul className="divide-y divide-slate-100" aria-label="Reservation list">
          {items.map((r) => (
            <li key={r.id} className="flex flex-wrap items-center gap-2 py-2 text-sm" data-reservation={r.id}>
              <span className="min-w-32 font-medium">{r.customer_name ?? '—'}</span>
              <span>{r.reservation_date} {r.reservation_time}</span>
              <span>· {r.party_size}</span>
              <Badge tone={statusTone(r.status)}>{r.status}</Badge>
              {r.notes && <span className="text-slate-500">{r.notes}</span>}
              {r.status === 'confirmed' && (
                <span className="ml-auto flex gap-2">
                  <Button tone="secondary" onClick={() => { update.reset(); setEditing(r); }}>{t('edit')}</Button>
                  <Button tone="danger" disabled={cancel.isPending} onClick={() => cancel.mutate({ id: r.id })}>{t('cancel')}</Button>
                </span>
              )}
            </li>
          ))}
        </ul>
      </Card>
      <CallbacksCard items={callbacks.data?.items ?? []} error={callbacks.error} onChanged={refresh} />

      <Modal open={creating} onOpenChange={setCreating} title={t('newReservation')}>
        <ReservationForm
          initial={blank()}
          submitLabel={t('book')}
          withPhone
          busy={create.isPending}
          error={create.error}
          onSubmit={(v) =>
            create.mutate({
              data: {
                business_id: current,
                customer_name: v.customer_name || null,
                phone: v.phone || null,
                party_size: Number(v.party_size),
                date: v.date,
                time: v.time,
                notes: v.notes || null,
              },
            })
          }
        />
      </Modal>
      <Modal open={editing !== null} onOpenChange={(open) => !open && setEditing(null)} title={t('edit')}>
        {editing && (
          <ReservationForm
            initial={{
              customer_name: editing.customer_name ?? '',
              phone: '',
              party_size: String(editing.party_size),
              date: editing.reservation_date,
              time: editing.reservation_time.slice(0, 5),
              notes: editing.notes ?? '',
            }}
            submitLabel={t('save')}
            withPhone={false}
            busy={update.isPending}
            error={update.error}
            onSubmit={(v) =>
              update.mutate({
                id: editing.id,
                data: { customer_name: v.customer_name || null, party_size: Number(v.party_size), date: v.date, time: v.time, notes: v.notes || null },
              })
            }
          />
        )}
      </Modal>
    </div>
  );
}
