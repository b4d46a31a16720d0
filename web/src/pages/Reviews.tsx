import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useGetApiReviews, useGetApiReviewsSuggestions } from '../api/generated/client';
import type { GetApiReviewsSuggestionsParams, TranscriptReview } from '../api/generated/client';
import { Badge, Button, Card, ErrorText, Field, SelectInput } from '../components/ui';
import { CategoryBadge, StatusText, SuggestionItem, categoryLabel, statusLabel } from '../components/Suggestion';
import { useBusiness } from '../lib/business';
import { useT } from '../lib/i18n';
import { CATEGORIES, SUGGESTION_STATUSES, type Category, type SuggestionStatus } from '../lib/reviews';

const PAGE = 200;
/** The reviews list covers this many days back. */
const RECENT_DAYS = 14;

/** The filters live in the URL (`?business=&category=&status=`), so going to a call and back keeps them. */
function useFilters() {
  const [params, setParams] = useSearchParams();
  const { current } = useBusiness();
  // No `business` parameter: the business chosen in the header; `business=` (empty): all.
  const business = params.has('business') ? (params.get('business') ?? '') : current;
  const categoryParam = params.get('category') ?? '';
  const category = (CATEGORIES as readonly string[]).includes(categoryParam) ? (categoryParam as Category) : undefined;
  const statusParam = params.get('status') ?? 'pending';
  const status = (SUGGESTION_STATUSES as readonly string[]).includes(statusParam) ? (statusParam as SuggestionStatus) : undefined;
  const after = Number(params.get('after') ?? '') || undefined;
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(name, value);
    next.delete('after');
    setParams(next);
  };
  const page = (value: number | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set('after', String(value));
    else next.delete('after');
    setParams(next);
  };
  return { business, category, status, after, set, page };
}

function ReviewRow({ review }: { review: TranscriptReview }) {
  const t = useT();
  const categories = [...new Set(review.issues.map((i) => i.category))];
  return (
    <li className="flex flex-wrap items-center gap-2 py-2 text-sm" data-review={review.id}>
      <Badge tone={review.quality_score >= 4 ? 'green' : review.quality_score >= 3 ? 'amber' : 'red'}>
        {t('score')} {review.quality_score}/5
      </Badge>
      <Link className="text-brand-700 underline" to={`/calls/${review.call_id}`}>
        {t('openCall')} #{review.call_id}
      </Link>
      <span className="text-slate-500">{new Date(review.reviewed_at).toLocaleString()}</span>
      <span className="text-slate-500">
        {review.issues.length} {t('issues').toLowerCase()}
      </span>
      {categories.map((c) => (
        <CategoryBadge key={c} category={c} />
      ))}
    </li>
  );
}

/** Reviews and suggestions: what the review of each call proposes, and the owner's decisions. */
export function ReviewsPage() {
  const t = useT();
  const { ids } = useBusiness();
  const { business, category, status, after, set, page } = useFilters();
  const params: GetApiReviewsSuggestionsParams = { business_id: business || undefined, category, status, after, limit: PAGE };
  const suggestions = useGetApiReviewsSuggestions(params);
  const [since] = useState(() => new Date(Date.now() - RECENT_DAYS * 24 * 3600 * 1000).toISOString());
  const reviews = useGetApiReviews({ business_id: business || undefined, category, from: since, limit: 500 });
  // Newest first: the API pages in id order.
  const items = [...(suggestions.data?.items ?? [])].sort((a, b) => b.id - a.id);
  const recentReviews = [...(reviews.data?.items ?? [])].sort((a, b) => b.id - a.id).slice(0, 20);

  return (
    <div className="flex flex-col gap-3">
      <Card title={t('reviews')}>
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
          <Field label={t('business')} htmlFor="reviews-business">
            <SelectInput id="reviews-business" value={business} onChange={(e) => set('business', e.target.value)}>
              <option value="">{t('all')}</option>
              {ids.map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </SelectInput>
          </Field>
          <Field label={t('category')} htmlFor="reviews-category">
            <SelectInput id="reviews-category" value={category ?? ''} onChange={(e) => set('category', e.target.value)}>
              <option value="">{t('all')}</option>
              {CATEGORIES.map((c) => (
                <option key={c} value={c}>
                  {t(categoryLabel(c))}
                </option>
              ))}
            </SelectInput>
          </Field>
          <Field label={t('status')} htmlFor="reviews-status">
            <SelectInput id="reviews-status" value={status ?? ''} onChange={(e) => set('status', e.target.value)}>
              <option value="">{t('all')}</option>
              {SUGGESTION_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(statusLabel(s) ?? 'status')}
                </option>
              ))}
            </SelectInput>
          </Field>
        </div>
      </Card>
      <Card
        title={
          <>
            {t('suggestions')}
            {status && (
              <span className="ml-2 text-sm font-normal text-slate-500">
                (<StatusText status={status} />)
              </span>
            )}
          </>
        }
      >
        <ErrorText error={suggestions.error} />
        {suggestions.data && items.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
        <ul className="divide-y divide-slate-100" data-testid="suggestions">
          {items.map((s) => (
            <SuggestionItem key={s.id} suggestion={s} />
          ))}
        </ul>
        {(after || suggestions.data?.next_after) && (
          <div className="mt-2 flex gap-2">
            {after && (
              <Button tone="secondary" onClick={() => page(undefined)}>
                {t('firstPage')}
              </Button>
            )}
            {suggestions.data?.next_after && (
              <Button tone="secondary" onClick={() => page(suggestions.data?.next_after)}>
                {t('nextPage')}
              </Button>
            )}
          </div>
        )}
      </Card>
      <Card title={t('recentReviews')}>
        <ErrorText error={reviews.error} />
        {reviews.data && recentReviews.length === 0 && <p className="text-sm text-slate-500">{t('none')}</p>}
        <ul className="divide-y divide-slate-100">
          {recentReviews.map((r) => (
            <ReviewRow key={r.id} review={r} />
          ))}
        </ul>
      </Card>
    </div>
  );
}
