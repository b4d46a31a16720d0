import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useGetApiCalls, useGetApiCallsId } from '../api/generated/client';
import type { ConversationTurn } from '../api/generated/client';
import { Badge, Card, ErrorText, Field, TextInput } from '../components/ui';
import { SaveAsTest } from '../components/SaveAsTest';
import { useBusiness } from '../lib/business';
import { useT } from '../lib/i18n';
import { isoDay } from '../lib/stats';
import { CallReviewCard } from './CallReview';
import { TurnSignals } from '../components/TurnSignals';

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

export function CallsPage() {
  const t = useT();
  const { current } = useBusiness();
  const [day, setDay] = useState(isoDay(new Date()));
  const from = day ? new Date(`${day}T00:00:00`) : undefined;
  const to = from ? new Date(from.getTime() + 24 * 3600 * 1000) : undefined;
  const calls = useGetApiCalls(
    { business_id: current || undefined, from: from?.toISOString(), to: to?.toISOString(), limit: 500 },
    { query: { enabled: !!current } },
  );
  const items = [...(calls.data?.items ?? [])].sort((a, b) => b.started_at.localeCompare(a.started_at));
  return (
    <Card title={t('calls')} actions={<Field label={t('day')} htmlFor="calls-day"><TextInput id="calls-day" type="date" value={day} onChange={(e) => setDay(e.target.value)} /></Field>}>
      <ErrorText error={calls.error} />
      {calls.data && items.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
      <ul className="divide-y divide-slate-100">
        {items.map((c) => (
          <li key={c.id} className="py-2 text-sm">
            <Link to={`/calls/${c.id}`} className="flex flex-wrap items-center gap-2 hover:underline" data-call={c.id}>
              <span className="font-medium">#{c.id}</span>
              <span>{when(c.started_at)}</span>
              {c.duration_seconds !== null && <span>{c.duration_seconds}s</span>}
              <Badge tone={c.outcome === 'reservation_made' ? 'green' : c.outcome === 'transferred' ? 'amber' : 'slate'}>{c.outcome}</Badge>
              {c.language && <Badge tone="blue">{c.language}</Badge>}
            </Link>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function ms(value: number | null | undefined): string | null {
  return value === null || value === undefined ? null : `${value} ms`;
}

/** One turn with what is known about it: language, confidence, per-stage timings, what handled it. */
export function TurnRow({ turn }: { turn: ConversationTurn }) {
  const timings = [
    ['STT', ms(turn.timings.stt_ms)],
    ['engine', ms(turn.timings.engine_ms)],
    ['LLM first token', ms(turn.timings.llm_first_token_ms)],
    ['TTS first audio', ms(turn.timings.tts_first_audio_ms)],
    ['first frame', ms(turn.timings.first_frame_ms)],
    ['total', ms(turn.timings.total_ms)],
  ].filter((pair): pair is [string, string] => pair[1] !== null);
  const caller = turn.role === 'caller';
  return (
    <li id={`turn-${turn.seq}`} className={`flex ${caller ? 'justify-start' : 'justify-end'}`} data-turn={turn.seq} data-role={turn.role}>
      <div className={`max-w-[85%] rounded-lg p-2 text-sm ${caller ? 'bg-slate-100' : turn.role === 'bot' ? 'bg-brand-50' : 'bg-amber-50 italic'}`}>
        <div className="mb-1 flex flex-wrap gap-1 text-[11px] text-slate-500">
          <span>{turn.role}</span>
          {turn.language && <span>· {turn.language}</span>}
          {turn.stt_confidence !== null && <span>· confidence {turn.stt_confidence.toFixed(2)}</span>}
          {turn.handled_by && <span>· {[turn.handled_by.intent, turn.handled_by.flow, turn.handled_by.step].filter(Boolean).join(' / ')}</span>}
        </div>
        <p className="whitespace-pre-wrap break-words">{turn.text}</p>
        <TurnSignals turn={turn} />
        {timings.length > 0 && <div className="mt-1 text-[11px] text-slate-500">{timings.map(([k, v]) => `${k} ${v}`).join(' · ')}</div>}
      </div>
    </li>
  );
}

export function CallPage() {
  const t = useT();
  const { id } = useParams();
  const callId = Number(id);
  const call = useGetApiCallsId(callId, { query: { enabled: Number.isInteger(callId) && callId > 0 } });
  const data = call.data;
  return (
    <div className="flex flex-col gap-3">
      <Link to="/calls" className="text-sm text-brand-700 underline">
        ← {t('calls')}
      </Link>
      <ErrorText error={call.error} />
      {data && (
        <>
          <Card title={`#${data.call.id} · ${data.call.business_id}`}>
            <dl className="grid grid-cols-2 gap-1 text-sm sm:grid-cols-4">
              <dt className="text-slate-500">Started</dt>
              <dd>{when(data.call.started_at)}</dd>
              <dt className="text-slate-500">Outcome</dt>
              <dd>{data.call.outcome}</dd>
              <dt className="text-slate-500">Language</dt>
              <dd>{data.call.language ?? '—'}</dd>
              <dt className="text-slate-500">Duration</dt>
              <dd>{data.call.duration_seconds ?? '—'} s</dd>
            </dl>
            {data.call.summary && (
              <p className="mt-2 text-sm whitespace-pre-wrap break-words" data-testid="call-summary">
                <span className="font-medium">{t('summary')}: </span>
                {data.call.summary}
              </p>
            )}
          </Card>
          <CallReviewCard callId={data.call.id} ended={data.call.ended_at !== null} />
          <Card title={t('transcript')}>
            <ol className="flex flex-col gap-2">
              {[...data.turns].sort((a, b) => a.seq - b.seq).map((turn) => (
                <TurnRow key={turn.seq} turn={turn} />
              ))}
            </ol>
          </Card>
          <SaveAsTest callId={data.call.id} />
        </>
      )}
    </div>
  );
}
