import { useState, type FormEvent } from 'react';
import { postApiBusinessesIdConversations, postApiConversationsIdMessages } from '../api/generated/client';
import type { ChatReply } from '../api/generated/client';
import { Button, Card, ErrorText, Field, TextInput } from '../components/ui';
import { useBusiness } from '../lib/business';
import { useT } from '../lib/i18n';
import { TryItVoice } from './TryItVoice';

interface Line {
  who: 'caller' | 'bot';
  text: string;
}

/** `datetime-local` value (no zone) → RFC 3339 in the browser's zone, or undefined. */
export function atFromLocal(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The text conversation API in a chat window, optionally at a chosen date and time. */
export function TryItPage() {
  const t = useT();
  const { current } = useBusiness();
  const [at, setAt] = useState('');
  const [conversation, setConversation] = useState<string | null>(null);
  const [lines, setLines] = useState<Line[]>([]);
  const [last, setLast] = useState<ChatReply | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const reply = await postApiBusinessesIdConversations(current, { at: atFromLocal(at) });
      setConversation(reply.conversation_id);
      setLines([{ who: 'bot', text: reply.reply }]);
      setLast(reply);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!conversation || !text.trim()) return;
    const said = text;
    setText('');
    setBusy(true);
    setError(null);
    setLines((l) => [...l, { who: 'caller', text: said }]);
    try {
      const reply = await postApiConversationsIdMessages(conversation, { text: said });
      setLines((l) => [...l, { who: 'bot', text: reply.reply }]);
      setLast(reply);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const slots = Object.entries((last?.state.slots ?? {}) as Record<string, unknown>);
  return (
    <div className="grid gap-3 md:grid-cols-3">
      <Card title={t('tryIt')} className="md:col-span-2">
        <div className="mb-3 flex flex-wrap items-end gap-2">
          <Field label={t('at')} htmlFor="try-at">
            <TextInput id="try-at" type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
          </Field>
          <Button onClick={start} disabled={busy || !current}>
            {t('start')}
          </Button>
        </div>
        <ol className="mb-3 flex min-h-40 flex-col gap-2" aria-label="Conversation" data-testid="chat">
          {lines.map((line, i) => (
            <li key={i} className={`flex ${line.who === 'caller' ? 'justify-end' : 'justify-start'}`} data-who={line.who}>
              <p className={`max-w-[85%] whitespace-pre-wrap break-words rounded-lg p-2 text-sm ${line.who === 'caller' ? 'bg-slate-100' : 'bg-brand-50'}`}>{line.text}</p>
            </li>
          ))}
        </ol>
        <ErrorText error={error} />
        <form onSubmit={send} className="flex gap-2">
          <label htmlFor="try-text" className="sr-only">
            Message
          </label>
          <TextInput id="try-text" className="flex-1" value={text} onChange={(e) => setText(e.target.value)} disabled={!conversation || last?.ended} placeholder="table for two tomorrow at 8 pm" />
          <Button type="submit" disabled={busy || !conversation || !text.trim() || !!last?.ended}>
            {t('send')}
          </Button>
        </form>
        <TryItVoice business={current} />
      </Card>
      <Card title={t('slots')}>
        {last && (
          <dl className="grid grid-cols-2 gap-1 text-sm" data-testid="slots">
            <dt className="text-slate-500">flow</dt>
            <dd>{last.state.flow ?? '—'}</dd>
            <dt className="text-slate-500">step</dt>
            <dd>{last.state.step ?? '—'}</dd>
            <dt className="text-slate-500">language</dt>
            <dd>{last.language}</dd>
            {slots.map(([name, value]) => (
              <FragmentRow key={name} name={name} value={value} />
            ))}
          </dl>
        )}
      </Card>
    </div>
  );
}

function FragmentRow({ name, value }: { name: string; value: unknown }) {
  return (
    <>
      <dt className="text-slate-500">{name}</dt>
      <dd data-slot-name={name}>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
    </>
  );
}
