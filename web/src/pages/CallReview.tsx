import { useGetApiCallsIdReview } from '../api/generated/client';
import type { TranscriptReviewIssuesItem } from '../api/generated/client';
import { ApiError } from '../api/fetcher';
import { Badge, Card, ErrorText } from '../components/ui';
import { CategoryBadge, SuggestionItem } from '../components/Suggestion';
import { useT } from '../lib/i18n';

function IssueRow({ issue }: { issue: TranscriptReviewIssuesItem }) {
  return (
    <li className="flex flex-col gap-1 py-2 text-sm" data-issue={issue.kind}>
      <div className="flex flex-wrap items-center gap-2">
        <CategoryBadge category={issue.category} />
        <span className="font-mono text-xs text-slate-500">{issue.kind}</span>
        {issue.turn !== null && (
          <a className="text-xs text-brand-700 underline" href={`#turn-${issue.turn}`}>
            #{issue.turn}
          </a>
        )}
      </div>
      <p className="whitespace-pre-wrap break-words">{issue.description}</p>
      {(issue.file || issue.flow) && (
        <p className="break-all text-xs text-slate-500">
          {[issue.file, issue.yaml_path, [issue.flow, issue.step].filter(Boolean).join('.')].filter(Boolean).join(' · ')}
        </p>
      )}
    </li>
  );
}

/**
 * The call's review (`GET /api/calls/{id}/review`): the quality score, the issues found (each
 * linking to the turn it is about) and the suggestions, which the owner can decide on here.
 * Until the review job has run the server answers 404, shown as "not reviewed yet"; the page
 * asks again every few seconds meanwhile.
 */
export function CallReviewCard({ callId, ended }: { callId: number; ended: boolean }) {
  const t = useT();
  const review = useGetApiCallsIdReview(callId, {
    query: {
      retry: false,
      refetchInterval: (query) => (ended && query.state.error instanceof ApiError && query.state.error.status === 404 ? 3000 : false),
    },
  });
  const notYet = review.error instanceof ApiError && review.error.status === 404;
  const data = review.data;
  return (
    <Card
      title={t('review')}
      actions={data && <Badge tone={data.review.quality_score >= 4 ? 'green' : data.review.quality_score >= 3 ? 'amber' : 'red'}>{`${t('score')} ${data.review.quality_score}/5`}</Badge>}
    >
      {notYet ? <p className="text-sm text-slate-500">{t('noReviewYet')}</p> : <ErrorText error={review.error} />}
      {data && (
        <div className="flex flex-col gap-3" data-testid="call-review" data-score={data.review.quality_score}>
          <p className="text-xs text-slate-500">
            {data.review.agent_model} · {data.review.reviewed_by} · {new Date(data.review.reviewed_at).toLocaleString()}
          </p>
          <div>
            <h3 className="text-sm font-semibold">{t('issues')}</h3>
            {data.review.issues.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
            <ul className="divide-y divide-slate-100">
              {data.review.issues.map((issue, i) => (
                <IssueRow key={i} issue={issue} />
              ))}
            </ul>
          </div>
          <div>
            <h3 className="text-sm font-semibold">{t('suggestions')}</h3>
            {data.suggestions.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
            <ul className="divide-y divide-slate-100">
              {data.suggestions.map((s) => (
                <SuggestionItem key={s.id} suggestion={s} showCall={false} />
              ))}
            </ul>
          </div>
        </div>
      )}
    </Card>
  );
}
