import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { SaveAsTest } from './SaveAsTest';

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function renderFor(callId: number) {
  const client = new QueryClient({ defaultOptions: { mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <SaveAsTest callId={callId} />
    </QueryClientProvider>,
  );
}

describe('SaveAsTest', () => {
  it('posts the name and shows where the server wrote the file', async () => {
    const fetch = vi.fn(async () =>
      reply(201, { name: 'pizza', path: '/srv/tests/conversations/pizza.yaml', content: 'business: himalayan_kitchen\n', turns: 3, notes: [] }),
    );
    vi.stubGlobal('fetch', fetch);
    renderFor(7);
    const name = screen.getByLabelText('Test name');
    expect(name).toHaveProperty('value', 'call_7');
    await userEvent.clear(name);
    await userEvent.type(name, 'pizza');
    await userEvent.click(screen.getByRole('button', { name: 'Save as test' }));
    expect(await screen.findByText('/srv/tests/conversations/pizza.yaml')).toBeTruthy();
    expect(screen.getByText('business: himalayan_kitchen')).toBeTruthy();
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/calls/7/test');
    expect(init.method).toBe('POST');
    expect(JSON.parse(String(init.body))).toEqual({ name: 'pizza', force: false });
    vi.unstubAllGlobals();
  });

  it('shows a taken name at the name field, and replaces the file when asked', async () => {
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(reply(409, { error: 'tests/conversations/call_7.yaml already exists; choose another name', field: 'name' }))
      .mockResolvedValueOnce(reply(201, { name: 'call_7', path: 'tests/conversations/call_7.yaml', content: '', turns: 2, notes: ['turn 2: differs'] }));
    vi.stubGlobal('fetch', fetch);
    renderFor(7);
    await userEvent.click(screen.getByRole('button', { name: 'Save as test' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/already exists/);
    await userEvent.click(screen.getByLabelText('Replace a test of that name'));
    await userEvent.click(screen.getByRole('button', { name: 'Save as test' }));
    expect(await screen.findByText('turn 2: differs')).toBeTruthy();
    const [, init] = fetch.mock.calls[1] as unknown as [string, RequestInit];
    expect(JSON.parse(String(init.body))).toEqual({ name: 'call_7', force: true });
    vi.unstubAllGlobals();
  });
});
