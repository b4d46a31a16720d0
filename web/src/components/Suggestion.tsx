/**
 * One improvement suggestion as the Reviews page and the call page show it: what to change and
 * where, the proposed text, a link to the call it came from and to the config editor at the
 * named YAML path, and the owner's decision (implemented / rejected / back to pending).
 * Everything in it came from a caller's words or an LLM, so it is only ever rendered as text.
 */
import { Link } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { usePatchApiReviewsSuggestionsId } from '../api/generated/client';
import type { ImprovementSuggestion, SuggestionDecisionStatus } from '../api/generated/client';
import { Badge, Button, ErrorText } from './ui';
import { useT, type LabelKey } from '../lib/i18n';
import { configEditorLink, type Category } from '../lib/reviews';

const CATEGORY_LABELS: Record<Category, LabelKey> = {
  knowledge_gap: 'catKnowledgeGap',
  prompt_weakness: 'catPromptWeakness',
  ux_issue: 'catUxIssue',
  stt_error: 'catSttError',
  tts_issue: 'catTtsIssue',
  config_error: 'catConfigError',
};

const STATUS_LABELS: Record<string, LabelKey> = {
  pending: 'statusPending',
  implemented: 'statusImplemented',
  rejected: 'statusRejected',
  contacted: 'statusContacted',
  booked: 'statusBooked',
  declined: 'statusDeclined',
};

export function categoryLabel(category: Category): LabelKey {
  return CATEGORY_LABELS[category];
}

/** The label of a suggestion's or callback's status (`null` for a status the admin does not know). */
export function statusLabel(status: string): LabelKey | null {
  return STATUS_LABELS[status] ?? null;
}

/** A status in the admin's language (unknown statuses as the server spells them). */
export function StatusText({ status }: { status: string }) {
  const t = useT();
  const key = statusLabel(status);
  return <>{key ? t(key) : status}</>;
}

export function CategoryBadge({ category }: { category: Category }) {
  const t = useT();
  return (
    <Badge tone="blue">
      <span data-category={category}>{t(categoryLabel(category))}</span>
    </Badge>
  );
}

function statusTone(status: string) {
  return status === 'implemented' ? 'green' : status === 'rejected' ? 'slate' : 'amber';
}

/** Marks a suggestion, then refreshes every suggestion list (Reviews, dashboard, call page). */
function useDecide() {
  const queryClient = useQueryClient();
  return usePatchApiReviewsSuggestionsId({
    mutation: {
      onSuccess: () =>
        queryClient.invalidateQueries({
          predicate: (query) => {
            const key = String(query.queryKey[0] ?? '');
            return key.startsWith('/api/reviews') || /^\/api\/calls\/\d+\/review$/.test(key);
          },
        }),
    },
  });
}

export function SuggestionItem({ suggestion, showCall = true }: { suggestion: ImprovementSuggestion; showCall?: boolean }) {
  const t = useT();
  const decide = useDecide();
  const mark = (status: SuggestionDecisionStatus) => decide.mutate({ id: suggestion.id, data: { status } });
  const { target } = suggestion;
  return (
    <li className="flex flex-col gap-2 py-3 text-sm" data-suggestion={suggestion.id} data-status={suggestion.status}>
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone={statusTone(suggestion.status)}>
          <span data-testid="suggestion-status">
            <StatusText status={suggestion.status} />
          </span>
        </Badge>
        <CategoryBadge category={suggestion.category} />
        <span className="text-xs text-slate-500">
          {t('priority')} {suggestion.priority}
        </span>
        <span className="font-medium break-words">{suggestion.title}</span>
      </div>
      <p className="whitespace-pre-wrap break-words text-slate-700">{suggestion.description}</p>
      <p className="break-all text-xs text-slate-500">
        {target.file}
        {target.yaml_path && ` · ${target.yaml_path}`}
        {target.flow_step && ` · ${target.flow_step}`}
      </p>
      {suggestion.proposed_text && (
        <details>
          <summary className="cursor-pointer text-xs text-slate-600">{t('proposedText')}</summary>
          <pre className="mt-1 overflow-x-auto rounded bg-slate-50 p-2 text-xs whitespace-pre-wrap break-words">{suggestion.proposed_text}</pre>
        </details>
      )}
      <div className="flex flex-wrap items-center gap-2">
        {showCall && suggestion.call_id > 0 && (
          <Link className="text-brand-700 underline" to={`/calls/${suggestion.call_id}`} data-open-call={suggestion.call_id}>
            {t('openCall')} #{suggestion.call_id}
          </Link>
        )}
        <Link className="text-brand-700 underline" to={configEditorLink(suggestion.business_id, target)} data-open-config>
          {t('openInConfig')}
        </Link>
        <span className="ml-auto flex gap-2">
          {suggestion.status !== 'implemented' && (
            <Button disabled={decide.isPending} onClick={() => mark('implemented')}>
              {t('markImplemented')}
            </Button>
          )}
          {suggestion.status !== 'rejected' && (
            <Button tone="secondary" disabled={decide.isPending} onClick={() => mark('rejected')}>
              {t('markRejected')}
            </Button>
          )}
          {suggestion.status !== 'pending' && (
            <Button tone="secondary" disabled={decide.isPending} onClick={() => mark('pending')}>
              {t('reopen')}
            </Button>
          )}
        </span>
      </div>
      <ErrorText error={decide.error} />
    </li>
  );
}
