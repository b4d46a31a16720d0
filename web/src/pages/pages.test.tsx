import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { LoginPage } from './Login';
import { TurnRow } from './Calls';
import { currentToken } from '../lib/session';

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('LoginPage', () => {
  it('shows the refusal for a wrong password and keeps no token', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => reply(401, { error: 'wrong password' })));
    render(<LoginPage />);
    await userEvent.type(screen.getByLabelText(/Admin password/), 'nope');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'wrong password');
    expect(currentToken()).toBeNull();
    vi.unstubAllGlobals();
  });

  it('keeps the token the server issues for the right password', async () => {
    const fetch = vi.fn(async () => reply(200, { token: 'v1.abc.def', token_type: 'Bearer', expires_at: '2030-01-01T00:00:00Z' }));
    vi.stubGlobal('fetch', fetch);
    render(<LoginPage />);
    await userEvent.type(screen.getByLabelText(/Admin password/), 'correct horse');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    await vi.waitFor(() => expect(currentToken()).toBe('v1.abc.def'));
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/auth/login');
    expect(JSON.parse(String(init.body))).toEqual({ password: 'correct horse' });
    vi.unstubAllGlobals();
  });
});

describe('TurnRow', () => {
  it('shows what a caller said as text, never as HTML, with the turn details', () => {
    const { container } = render(
      <ol>
        <TurnRow
          turn={{
            call_id: 1,
            seq: 2,
            role: 'caller',
            text: '<img src=x onerror="alert(1)"><script>alert(2)</script>',
            language: 'en',
            stt_confidence: 0.42,
            started_at: '2026-12-01T10:00:00Z',
            timings: { stt_ms: 310, llm_first_token_ms: null, tts_first_audio_ms: null, total_ms: 900, engine_ms: 12, first_frame_ms: null },
            handled_by: null,
            interrupted: false,
            played_ms: null,
            intended_text: null,
            tts_fallbacks: [],
            config_errors: [],
            corrected_slots: [],
            created_at: '2026-12-01T10:00:00Z',
          }}
        />
      </ol>,
    );
    expect(container.querySelector('img, script')).toBeNull();
    expect(screen.getByText(/<script>alert\(2\)<\/script>/)).toBeTruthy();
    expect(screen.getByText(/confidence 0.42/)).toBeTruthy();
    expect(screen.getByText(/STT 310 ms · engine 12 ms · total 900 ms/)).toBeTruthy();
  });
});
