import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useGetApiCallbacks, useGetApiCalls, useGetApiReservations, useGetApiReviewsSuggestions, useGetApiStats } from '../api/generated/client';
import type { Reservation } from '../api/generated/client';
import { Card, ErrorText, Field, TextInput } from '../components/ui';
import { CoversChart } from '../components/CoversChart';
import { useBusiness } from '../lib/business';
import { useT } from '../lib/i18n';
import type { BusinessFacts } from '../lib/facts';
import { coversPerSlot, isoDay } from '../lib/stats';
import { formatMs, topOpenSuggestions } from '../lib/reviews';
import { CategoryBadge } from '../components/Suggestion';

/** How many open suggestions the dashboard lists. */
const TOP_SUGGESTIONS = 5;

export function ReservationRows({ items, showDate = false }: { items: Reservation[]; showDate?: boolean }) {
  const t = useT();
  if (items.length === 0) return <p className="text-sm text-slate-500">{t('none')}</p>;
  return (
    <ul className="divide-y divide-slate-100">
      {items.map((r) => (
        <li key={r.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm" data-reservation={r.id}>
          <span className="font-medium">{r.customer_name ?? '—'}</span>
          <span className="text-slate-600">
            {showDate && `${r.reservation_date} `}
            {r.reservation_time} · {r.party_size}
          </span>
        </li>
      ))}
    </ul>
  );
}

function Stat({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-3">
      <div className="text-xs text-slate-500">{label}</div>
      <div className="text-2xl font-semibold" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

/** Today at a glance, and the chosen day's covers per slot against capacity. */
export function DashboardPage({ facts }: { facts: BusinessFacts }) {
  const t = useT();
  const { current } = useBusiness();
  const today = isoDay(new Date());
  const [day, setDay] = useState(today);
  const business = current || undefined;

  const onDay = useGetApiReservations({ business_id: business, date_from: day, date_to: day, status: 'confirmed', limit: 500 }, { query: { enabled: !!business } });
  const upcoming = useGetApiReservations({ business_id: business, date_from: today, status: 'confirmed', limit: 200 }, { query: { enabled: !!business } });
  const startOfToday = new Date(`${today}T00:00:00`);
  const calls = useGetApiCalls({ business_id: business, from: startOfToday.toISOString(), limit: 500 }, { query: { enabled: !!business } });
  const callbacks = useGetApiCallbacks({ business_id: business, status: 'pending', limit: 100 }, { query: { enabled: !!business } });
  // Today's row of the daily aggregates: turn latency percentiles over the bot's timed turns
  // (the aggregates count calls and their turns by UTC day).
  const utcToday = new Date().toISOString().slice(0, 10);
  const stats = useGetApiStats({ business_id: business ?? '', date_from: utcToday, date_to: utcToday }, { query: { enabled: !!business } });
  const todayStats = stats.data?.days.find((d) => d.date === utcToday);
  const suggestions = useGetApiReviewsSuggestions({ business_id: business, status: 'pending', limit: 500 }, { query: { enabled: !!business } });
  const topSuggestions = topOpenSuggestions(suggestions.data?.items ?? [], TOP_SUGGESTIONS);

  const slots = useMemo(
    () => coversPerSlot(onDay.data?.items ?? [], { slotMinutes: facts.slotMinutes, holdMinutes: facts.holdMinutes }),
    [onDay.data, facts.slotMinutes, facts.holdMinutes],
  );
  const callItems = calls.data?.items ?? [];
  const handoffs = callItems.filter((c) => c.outcome === 'transferred').length;
  const upcomingSorted = [...(upcoming.data?.items ?? [])].sort((a, b) =>
    `${a.reservation_date} ${a.reservation_time}`.localeCompare(`${b.reservation_date} ${b.reservation_time}`),
  );

  return (
    <div className="flex flex-col gap-3">
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-6">
        <Stat label={t('callsToday')} value={calls.data ? callItems.length : '…'} testId="calls-today" />
        <Stat label={`${t('latency')} p50`} value={stats.data ? formatMs(todayStats?.turn_latency_p50_ms) : '…'} testId="latency-p50" />
        <Stat label={`${t('latency')} p95`} value={stats.data ? formatMs(todayStats?.turn_latency_p95_ms) : '…'} testId="latency-p95" />
        <Stat label={t('handoffs')} value={calls.data ? handoffs : '…'} testId="handoffs-today" />
        <Stat label={t('openCallbacks')} value={callbacks.data ? callbacks.data.items.length : '…'} testId="open-callbacks" />
        <Stat label={t('upcoming')} value={upcoming.data ? upcoming.data.items.length : '…'} testId="upcoming-count" />
      </div>
      <ErrorText error={stats.error} />
      <Card
        title={t('coversPerSlot')}
        actions={
          <Field label={t('day')} htmlFor="dashboard-day">
            <TextInput id="dashboard-day" type="date" value={day} onChange={(e) => setDay(e.target.value || today)} />
          </Field>
        }
      >
        <ErrorText error={onDay.error} />
        <CoversChart slots={slots} capacity={facts.capacity} capacityLabel={t('capacity')} />
      </Card>
      <div className="grid gap-3 md:grid-cols-2">
        <Card title={`${t('reservationsOn')} ${day}`}>
          <ReservationRows items={onDay.data?.items ?? []} />
        </Card>
        <Card title={t('upcoming')}>
          <ErrorText error={upcoming.error} />
          <ReservationRows items={upcomingSorted.slice(0, 10)} showDate />
        </Card>
        <Card title={t('openCallbacks')} actions={<Link className="text-sm text-brand-700 underline" to="/reservations">{t('reservations')}</Link>}>
          <ul className="divide-y divide-slate-100 text-sm">
            {(callbacks.data?.items ?? []).slice(0, 5).map((c) => (
              <li key={c.id} className="py-2">
                <span className="font-medium">{c.customer_name ?? '—'}</span> · {c.party_size ?? '?'} · {c.requested_date ?? ''} {c.requested_time ?? ''}
              </li>
            ))}
          </ul>
          {callbacks.data?.items.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
        </Card>
        <Card title={t('topSuggestions')} actions={<Link className="text-sm text-brand-700 underline" to="/reviews">{t('reviews')}</Link>}>
          <ErrorText error={suggestions.error} />
          <ul className="divide-y divide-slate-100 text-sm" data-testid="top-suggestions">
            {topSuggestions.map((s) => (
              <li key={s.id} className="flex flex-wrap items-center gap-2 py-2" data-suggestion={s.id}>
                <span className="text-xs text-slate-500">
                  {t('priority')} {s.priority}
                </span>
                <CategoryBadge category={s.category} />
                <Link className="break-words hover:underline" to={`/calls/${s.call_id}`}>
                  {s.title}
                </Link>
              </li>
            ))}
          </ul>
          {suggestions.data && topSuggestions.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
        </Card>
      </div>
    </div>
  );
}
