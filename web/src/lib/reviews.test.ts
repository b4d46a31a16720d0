import { describe, expect, it } from 'vitest';
import { callbackPatch, configEditorLink, dottedPath, formatMs, topOpenSuggestions } from './reviews';

describe('configEditorLink', () => {
  it('opens the config editor at the file and the dotted YAML path', () => {
    expect(configEditorLink('himalayan_kitchen', { file: 'businesses/himalayan_kitchen.yaml', yaml_path: '/menu/categories/0/items', flow_step: null })).toBe(
      '/config?business=himalayan_kitchen&file=businesses%2Fhimalayan_kitchen.yaml&yaml_path=menu.categories.0.items',
    );
  });

  it('leaves the path out when the suggestion names only a file or a flow step', () => {
    expect(configEditorLink('muskaan_dental', { file: 'flows/book_appointment.yaml', yaml_path: null, flow_step: 'book_appointment.ask_date' })).toBe(
      '/config?business=muskaan_dental&file=flows%2Fbook_appointment.yaml',
    );
    expect(configEditorLink('b', { file: 'businesses/b.yaml', yaml_path: '/', flow_step: null })).toBe('/config?business=b&file=businesses%2Fb.yaml');
  });
});

describe('dottedPath', () => {
  it('turns a JSON pointer into a dotted path, decoding ~1 and ~0', () => {
    expect(dottedPath('/faqs/2/answer')).toBe('faqs.2.answer');
    expect(dottedPath('/prompts/a~1b~0c')).toBe('prompts.a/b~c');
    expect(dottedPath('menu.items')).toBe('menu.items');
  });

  it('keeps a pointer whose segment holds a dot, which a dotted path cannot say', () => {
    expect(dottedPath('/voices/en_US-lessac.medium')).toBe('/voices/en_US-lessac.medium');
  });
});

describe('topOpenSuggestions', () => {
  it('keeps pending ones, priority 1 first, newest first within a priority', () => {
    const items = [
      { id: 1, priority: 3, status: 'pending' },
      { id: 2, priority: 1, status: 'implemented' },
      { id: 3, priority: 1, status: 'pending' },
      { id: 4, priority: 3, status: 'pending' },
      { id: 5, priority: 2, status: 'rejected' },
      { id: 6, priority: 5, status: 'pending' },
    ];
    expect(topOpenSuggestions(items, 3).map((s) => s.id)).toEqual([3, 4, 1]);
    expect(topOpenSuggestions([], 5)).toEqual([]);
  });
});

describe('callbackPatch', () => {
  const before = { status: 'pending', staff_note: null };

  it('sends only what changed, and nothing when nothing did', () => {
    expect(callbackPatch(before, { status: 'pending', note: '' })).toBeNull();
    expect(callbackPatch(before, { status: 'pending', note: '   ' })).toBeNull();
    expect(callbackPatch(before, { status: 'contacted', note: '' })).toEqual({ status: 'contacted' });
    expect(callbackPatch(before, { status: 'pending', note: ' rang twice ' })).toEqual({ note: 'rang twice' });
  });

  it('clears a note with an empty string', () => {
    expect(callbackPatch({ status: 'booked', staff_note: 'table 4' }, { status: 'booked', note: '' })).toEqual({ note: '' });
  });
});

describe('formatMs', () => {
  it('shows milliseconds under a second, seconds above, a dash when unknown', () => {
    expect(formatMs(840)).toBe('840 ms');
    expect(formatMs(1240)).toBe('1.2 s');
    expect(formatMs(null)).toBe('—');
    expect(formatMs(undefined)).toBe('—');
  });
});
