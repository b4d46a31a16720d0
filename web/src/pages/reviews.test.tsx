import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import type { ReactNode } from 'react';
import type { CallbackRequest, ImprovementSuggestion } from '../api/generated/client';
import { SuggestionItem } from '../components/Suggestion';
import { CallbacksCard } from './Callbacks';
import { CallReviewCard } from './CallReview';

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function wrap(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return (
    <QueryClientProvider client={client}>
      <MemoryRouter>{children}</MemoryRouter>
    </QueryClientProvider>
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>';

const suggestion: ImprovementSuggestion = {
  id: 9,
  review_id: 4,
  call_id: 12,
  business_id: 'himalayan_kitchen',
  category: 'knowledge_gap',
  title: `Add ${hostile} to the menu`,
  description: `A caller asked for ${hostile}.`,
  target: { file: 'businesses/himalayan_kitchen.yaml', yaml_path: '/menu', flow_step: null },
  priority: 2,
  proposed_text: '- id: pizza\n  name: Pizza',
  status: 'pending',
  created_at: '2026-12-01T10:00:00Z',
  updated_at: '2026-12-01T10:00:00Z',
};

describe('SuggestionItem', () => {
  it("shows the reviewer's text as text, links the call and the config editor at the YAML path", () => {
    const { container } = render(wrap(<ul><SuggestionItem suggestion={suggestion} /></ul>));
    expect(container.querySelector('img, script')).toBeNull();
    expect(screen.getByText(/Add <img src=x/)).toBeTruthy();
    expect(screen.getByRole('link', { name: /Open the call #12/ }).getAttribute('href')).toBe('/calls/12');
    expect(screen.getByRole('link', { name: 'Open in config editor' }).getAttribute('href')).toBe(
      '/config?business=himalayan_kitchen&file=businesses%2Fhimalayan_kitchen.yaml&yaml_path=menu',
    );
    // A pending suggestion can be implemented or rejected, not reopened.
    expect(screen.queryByRole('button', { name: 'Reopen' })).toBeNull();
  });

  it('marks it implemented with PATCH /api/reviews/suggestions/{id}', async () => {
    const fetch = vi.fn(async () => reply(200, { ...suggestion, status: 'implemented' }));
    vi.stubGlobal('fetch', fetch);
    render(wrap(<ul><SuggestionItem suggestion={suggestion} /></ul>));
    await userEvent.click(screen.getByRole('button', { name: 'Mark implemented' }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalled());
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/reviews/suggestions/9');
    expect(init.method).toBe('PATCH');
    expect(JSON.parse(String(init.body))).toEqual({ status: 'implemented' });
  });

  it("shows the server's refusal", async () => {
    vi.stubGlobal('fetch', vi.fn(async () => reply(404, { error: 'suggestion 9 not found' })));
    render(wrap(<ul><SuggestionItem suggestion={suggestion} /></ul>));
    await userEvent.click(screen.getByRole('button', { name: 'Reject' }));
    expect((await screen.findByRole('alert')).textContent).toBe('suggestion 9 not found');
  });
});

const request: CallbackRequest = {
  id: 3,
  business_id: 'himalayan_kitchen',
  call_id: null,
  customer_name: hostile,
  party_size: 12,
  requested_date: '2026-11-29',
  requested_time: '13:00',
  reason: 'large_party',
  notes: null,
  phone_encrypted: null,
  phone_hash: null,
  staff_note: null,
  status: 'pending',
  created_at: '2026-11-25T06:30:00Z',
  updated_at: '2026-11-25T06:30:00Z',
};

describe('CallbacksCard', () => {
  it('saves only what changed (status and note) and tells the page to refresh', async () => {
    const fetch = vi.fn(async () => reply(200, { ...request, status: 'contacted', staff_note: 'rang' }));
    vi.stubGlobal('fetch', fetch);
    const onChanged = vi.fn();
    const { container } = render(wrap(<CallbacksCard items={[request]} error={null} onChanged={onChanged} />));
    expect(container.querySelector('img, script')).toBeNull();
    const save = screen.getByRole('button', { name: 'Save' });
    expect(save).toHaveProperty('disabled', true);
    await userEvent.selectOptions(screen.getByLabelText('Status'), 'contacted');
    await userEvent.type(screen.getByLabelText('Staff note'), ' rang ');
    await userEvent.click(save);
    await vi.waitFor(() => expect(onChanged).toHaveBeenCalled());
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/callbacks/3');
    expect(init.method).toBe('PATCH');
    expect(JSON.parse(String(init.body))).toEqual({ status: 'contacted', note: 'rang' });
  });
});

describe('CallReviewCard', () => {
  it('says the call is not reviewed yet while the server answers 404', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => reply(404, { error: 'call 12 has no review yet' })));
    render(wrap(<CallReviewCard callId={12} ended={false} />));
    expect(await screen.findByText(/Not reviewed yet/)).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows the score, each issue linked to its turn, and the suggestions', async () => {
    const fetch = vi.fn(async () =>
      reply(200, {
        review: {
          id: 4,
          call_id: 12,
          business_id: 'himalayan_kitchen',
          quality_score: 2,
          issues: [
            {
              turn: 3,
              kind: 'menu_item_missing',
              category: 'knowledge_gap',
              description: `The caller asked for ${hostile}`,
              flow: 'menu_question',
              step: 'not_found',
              file: 'businesses/himalayan_kitchen.yaml',
              yaml_path: '/menu',
            },
          ],
          has_unanswered_query: true,
          has_knowledge_gap: true,
          has_prompt_weakness: false,
          has_ux_issue: false,
          has_stt_error: false,
          has_tts_issue: false,
          has_config_error: false,
          agent_model: 'offline',
          review_latency_ms: 3,
          reviewed_at: '2026-12-01T10:05:00Z',
          reviewed_by: 'agent',
        },
        suggestions: [suggestion],
      }),
    );
    vi.stubGlobal('fetch', fetch);
    const { container } = render(wrap(<CallReviewCard callId={12} ended />));
    expect(await screen.findByText('Score 2/5')).toBeTruthy();
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe('/api/calls/12/review');
    expect(container.querySelector('[data-issue="menu_item_missing"] a')?.getAttribute('href')).toBe('#turn-3');
    expect(container.querySelector('img, script')).toBeNull();
    expect(container.querySelector('[data-suggestion="9"]')).not.toBeNull();
    // The call page needs no "open the call" link to itself.
    expect(screen.queryByRole('link', { name: /Open the call/ })).toBeNull();
  });
});
