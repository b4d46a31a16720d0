/**
 * What the caller actually heard of a bot turn, and what went wrong behind it: played in full
 * or cut short by the caller (with what the bot meant to say), sentences another voice said
 * (TTS fallback), plugin or template errors, and the slots the caller corrected. The call log
 * records these per turn; a text chat or an old turn has none of them, and then nothing shows.
 */
import type { ConversationTurn } from '../api/generated/client';
import { Badge } from './ui';
import { useT } from '../lib/i18n';

/** The turn fields this shows. */
type Signals = Pick<ConversationTurn, 'role' | 'interrupted' | 'played_ms' | 'intended_text' | 'tts_fallbacks' | 'config_errors' | 'corrected_slots'>;

/** What the caller heard of a bot turn: `null` when the turn was not spoken on a call. */
export function heard(turn: Pick<Signals, 'role' | 'interrupted' | 'played_ms'>): 'interrupted' | 'full' | null {
  if (turn.role !== 'bot') return null;
  if (turn.interrupted) return 'interrupted';
  return turn.played_ms === null ? null : 'full';
}

export function TurnSignals({ turn }: { turn: Signals }) {
  const t = useT();
  const state = heard(turn);
  const hasAny = state !== null || turn.tts_fallbacks.length > 0 || turn.config_errors.length > 0 || turn.corrected_slots.length > 0;
  if (!hasAny) return null;
  return (
    <div className="mt-1 flex flex-col gap-1 text-[11px]" data-testid="turn-signals">
      <div className="flex flex-wrap items-center gap-1">
        {state && (
          <span data-heard={state}>
            <Badge tone={state === 'interrupted' ? 'amber' : 'green'}>
              {state === 'interrupted' ? t('interrupted') : t('heardInFull')}
              {turn.played_ms !== null && ` · ${(turn.played_ms / 1000).toFixed(1)} s`}
            </Badge>
          </span>
        )}
        {turn.corrected_slots.length > 0 && (
          <span data-corrected={turn.corrected_slots.join(',')}>
            <Badge tone="amber">
              {t('corrected')}: {turn.corrected_slots.join(', ')}
            </Badge>
          </span>
        )}
      </div>
      {turn.interrupted && turn.intended_text && (
        <details>
          <summary className="cursor-pointer text-slate-600">{t('meantToSay')}</summary>
          <p className="whitespace-pre-wrap break-words text-slate-600">{turn.intended_text}</p>
        </details>
      )}
      {turn.tts_fallbacks.length > 0 && (
        <ul className="text-amber-800" data-testid="tts-fallbacks">
          {turn.tts_fallbacks.map((f) => (
            <li key={f.sentence} className="break-words">
              {t('ttsFallback')} #{f.sentence + 1}: {f.failed_voice} → {f.used} ({f.error})
            </li>
          ))}
        </ul>
      )}
      {turn.config_errors.length > 0 && (
        <ul className="text-red-800" data-testid="config-errors">
          {turn.config_errors.map((e, i) => (
            <li key={i} className="break-words">
              {t('configErrors')}: {e.source} {e.name}
              {e.file && ` · ${e.file}${e.line ? `:${e.line}` : ''}`}
              {e.yaml_path && ` · ${e.yaml_path}`} — {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
