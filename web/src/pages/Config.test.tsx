import { describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import { BusinessContext } from '../lib/business';
import { toDiagnostics } from '../components/ConfigEditor';
import { ConfigPage } from './Config';
import { DiffView } from './ConfigHistory';

// jsdom lays nothing out: give CodeMirror's measuring empty rectangles for text ranges.
const emptyRects = (): DOMRectList => Object.assign([], { item: () => null }) as unknown as DOMRectList;
Range.prototype.getClientRects = emptyRects;
Range.prototype.getBoundingClientRect = () => new DOMRect();

const path = 'businesses/himalayan_kitchen.yaml';
const content = ['id: himalayan_kitchen', 'menu:', '  categories:', '    - id: momos', '      items:', '        - id: veg_momos', '          price_inr: 180', 'flows: [greeting]', ''].join('\n');
const sha = 'a'.repeat(64);

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** A fake server: the routes the page calls, and every request it got. */
function fakeServer(check: unknown) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : null });
    if (url === '/health/config') return reply(200, { ok: true, businesses: [{ id: 'himalayan_kitchen', live: { version: 'v1abcdef', loaded_at: '2026-12-07T10:00:00Z' }, last_rejected: null }], global_errors: [], last_reload_at: null });
    if (url === '/api/config/files') return reply(200, { files: [{ path, dir: 'businesses', name: 'himalayan_kitchen.yaml', size: content.length, sha256: sha }, { path: 'flows/greeting.yaml', dir: 'flows', name: 'greeting.yaml', size: 1, sha256: sha }] });
    if (url === `/api/config/files/${path}` && method === 'GET') return reply(200, { path, content, sha256: sha });
    if (url === `/api/config/files/${path}/check`) return reply(200, check);
    if (url.startsWith('/api/config/history')) return reply(200, { items: [] });
    return reply(404, { error: `unexpected ${method} ${url}` });
  });
  vi.stubGlobal('fetch', fetch);
  return calls;
}

function renderPage(url: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[url]}>
        <BusinessContext.Provider value={{ ids: ['himalayan_kitchen'], current: 'himalayan_kitchen', choose: () => {} }}>
          <ConfigPage />
        </BusinessContext.Provider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('ConfigPage', () => {
  it('opens a deep link at the line of its YAML path', async () => {
    fakeServer({ path, valid: true, errors: [], warnings: [] });
    renderPage(`/config?business=himalayan_kitchen&file=${path}&yaml_path=menu.categories.momos.items.veg_momos.price_inr`);
    const note = await screen.findByTestId('yaml-path-note');
    expect(note.textContent).toContain('line 7');
    expect(await screen.findByTestId('live-version')).toHaveProperty('textContent', 'v1abcdef');
    vi.unstubAllGlobals();
  });

  it('says where a deep link that is not in the file leads instead', async () => {
    fakeServer({ path, valid: true, errors: [], warnings: [] });
    renderPage(`/config?business=himalayan_kitchen&yaml_path=/menu/categories/0/items/5`);
    const note = await screen.findByTestId('yaml-path-note');
    expect(note.textContent).toContain('is not in this file; line 5 is the nearest part found (menu.categories.0.items)');
    vi.unstubAllGlobals();
  });

  it("lists a check's problems at their lines and sends the editor's text to the validator", async () => {
    const calls = fakeServer({
      path,
      valid: false,
      errors: [
        { file: path, line: 7, column: 22, pointer: '/menu/categories/0/items/0/price_inr', message: 'expected integer, found string "<b>lots</b>"' },
        { file: 'flows/greeting.yaml', line: 2, pointer: '/steps', message: 'breaks the greeting' },
      ],
      warnings: [],
    });
    renderPage('/config');
    await screen.findByTestId('config-editor');
    await userEvent.click(await screen.findByRole('button', { name: 'Check' }));
    const list = await screen.findByTestId('config-problems');
    const here = within(list).getByText(/expected integer/).closest('button');
    expect(here?.getAttribute('data-problem-line')).toBe('7');
    expect(here?.textContent).toContain('line 7');
    // What the validator says stays text.
    expect(list.querySelector('b')).toBeNull();
    expect(within(list).getByText('flows/greeting.yaml:2')).toBeTruthy();
    const sent = calls.find((c) => c.url.endsWith('/check'));
    expect(sent?.method).toBe('POST');
    expect(sent?.body).toEqual({ content });
    // Nothing was saved by a check.
    expect(calls.some((c) => c.method === 'PUT')).toBe(false);
    vi.unstubAllGlobals();
  });
});

describe('toDiagnostics', () => {
  it('marks each placed problem from its column to the end of its line', () => {
    const text = 'a: 1\nprice_inr: lots\n';
    const diagnostics = toDiagnostics(text, [
      { file: path, line: 2, column: 12, pointer: '/price_inr', message: 'expected integer', severity: 'error' },
      { file: path, line: null, column: null, pointer: '', message: 'unplaced', severity: 'error' },
    ]);
    expect(diagnostics).toEqual([{ from: 16, to: 20, severity: 'error', message: 'expected integer' }]);
    expect(text.slice(16, 20)).toBe('lots');
  });
});

describe('DiffView', () => {
  it('colours added and removed lines and keeps them as text', () => {
    const { container } = render(<DiffView diff={'@@ -1 +1 @@\n-name: <script>x</script>\n+name: Asha\n'} />);
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('[data-diff="removed"]')?.textContent).toBe('-name: <script>x</script>');
    expect(container.querySelector('[data-diff="added"]')?.textContent).toBe('+name: Asha');
  });
});
