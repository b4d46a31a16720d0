import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { TurnSignals, heard } from './TurnSignals';

afterEach(cleanup);

const quiet = { interrupted: false, played_ms: null, intended_text: null, tts_fallbacks: [], config_errors: [], corrected_slots: [] };

describe('heard', () => {
  it('tells a bot turn heard in full from one the caller cut short; nothing for other turns', () => {
    expect(heard({ role: 'bot', interrupted: false, played_ms: 2400 })).toBe('full');
    expect(heard({ role: 'bot', interrupted: true, played_ms: 800 })).toBe('interrupted');
    // A text chat's reply was never played.
    expect(heard({ role: 'bot', interrupted: false, played_ms: null })).toBeNull();
    expect(heard({ role: 'caller', interrupted: false, played_ms: null })).toBeNull();
  });
});

describe('TurnSignals', () => {
  it('shows nothing for a turn with no signals', () => {
    const { container } = render(<TurnSignals turn={{ role: 'caller', ...quiet }} />);
    expect(container.innerHTML).toBe('');
  });

  it('shows an interrupted reply with what the bot meant to say, as text, and its fallbacks and errors', () => {
    const { container } = render(
      <TurnSignals
        turn={{
          role: 'bot',
          interrupted: true,
          played_ms: 1200,
          intended_text: 'A table for <img src=x onerror="alert(1)">, shall I book it?',
          tts_fallbacks: [{ sentence: 1, failed_voice: 'piper:hi_IN-pratham', used: 'espeak-ng:hi', error: 'model missing' }],
          config_errors: [
            { source: 'template', name: 'ask_party_size', file: 'businesses/himalayan_kitchen.yaml', line: 12, yaml_path: '/prompts/en/ask_party_size', flow: 'make_reservation', step: 'ask_party_size', message: 'unknown variable' },
          ],
          corrected_slots: ['party_size'],
        }}
      />,
    );
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('[data-heard="interrupted"]')?.textContent).toContain('1.2 s');
    expect(screen.getByText(/A table for <img src=x/)).toBeTruthy();
    expect(screen.getByTestId('tts-fallbacks').textContent).toContain('piper:hi_IN-pratham → espeak-ng:hi');
    expect(screen.getByTestId('config-errors').textContent).toContain('businesses/himalayan_kitchen.yaml:12');
    expect(container.querySelector('[data-corrected="party_size"]')).not.toBeNull();
  });
});
