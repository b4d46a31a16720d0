import { describe, expect, it } from 'vitest';
import { Downsampler, PlayoutClock, parseTalkMessage, pcm16ToFloat, socketUrl, toInt16 } from './talkAudio';

describe('Downsampler', () => {
  it('turns 48 kHz into 16 kHz whatever the buffer sizes', () => {
    const input = Float32Array.from({ length: 4800 }, (_, i) => Math.sin((i / 48000) * 2 * Math.PI * 300) * 0.5);
    const whole = new Downsampler(48000, 16000).push(input);
    expect(whole.length).toBe(1600);
    const pieces = new Downsampler(48000, 16000);
    const parts = [input.subarray(0, 1000), input.subarray(1000, 1001), input.subarray(1001)].map((p) => pieces.push(p));
    expect(Int16Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(whole);
    // The tone survives (a 300 Hz sine at half scale).
    expect(Math.max(...Array.from(whole))).toBeGreaterThan(15000);
  });

  it('keeps the average rate for ratios that are not whole numbers', () => {
    const d = new Downsampler(44100, 16000);
    let total = 0;
    for (let i = 0; i < 100; i++) total += d.push(new Float32Array(441)).length;
    expect(total).toBe(16000);
  });

  it('passes equal rates through and refuses upsampling', () => {
    expect(new Downsampler(16000, 16000).push(Float32Array.from([0, 1, -1])).length).toBe(3);
    expect(() => new Downsampler(8000, 16000)).toThrow();
  });

  it('clamps and scales samples to 16 bits', () => {
    expect([toInt16(2), toInt16(-2), toInt16(0), toInt16(0.5)]).toEqual([32767, -32768, 0, 16384]);
  });
});

describe('pcm16ToFloat', () => {
  it('reads little-endian samples', () => {
    const bytes = new Uint8Array([0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f]).buffer;
    const f = pcm16ToFloat(bytes);
    expect(Array.from(f)).toEqual([0.5, -0.5, 32767 / 32768]);
  });
});

describe('PlayoutClock', () => {
  it('schedules back to back, never in the past, and says when a mark is heard', () => {
    const clock = new PlayoutClock();
    expect(clock.enqueue(1, 0.02)).toBe(1);
    expect(clock.enqueue(1.005, 0.02)).toBeCloseTo(1.02);
    expect(clock.msUntilPlayed(1.01)).toBe(30);
    // A gap: the next piece starts now, not in the past.
    expect(clock.enqueue(2, 0.02)).toBe(2);
    clock.clear(2.01);
    expect(clock.msUntilPlayed(2.01)).toBe(0);
  });
});

describe('parseTalkMessage', () => {
  it('reads the protocol and ignores the rest', () => {
    expect(parseTalkMessage('{"type":"call","call_id":7}')).toEqual({ type: 'call', call_id: 7 });
    expect(parseTalkMessage('{"type":"transcript","role":"bot","text":"<b>hi</b>","language":"en"}')).toEqual({
      type: 'transcript',
      role: 'bot',
      text: '<b>hi</b>',
      language: 'en',
    });
    expect(parseTalkMessage('{"type":"ended","call_id":null,"outcome":"completed"}')).toEqual({ type: 'ended', call_id: null, outcome: 'completed' });
    expect(parseTalkMessage('{"type":"transcript","role":"admin","text":"x"}')).toBeNull();
    expect(parseTalkMessage('{"type":"surprise"}')).toBeNull();
    expect(parseTalkMessage('not json')).toBeNull();
  });
});

describe('socketUrl', () => {
  it('uses wss behind https and adds the rate', () => {
    expect(socketUrl('/api/talk/socket?ticket=v1.a.b', new URL('https://bot.example/admin/try'), 16000)).toBe(
      'wss://bot.example/api/talk/socket?ticket=v1.a.b&rate=16000',
    );
    expect(socketUrl('/api/talk/socket?ticket=t', new URL('http://127.0.0.1:8080/admin/'), 8000)).toBe('ws://127.0.0.1:8080/api/talk/socket?ticket=t&rate=8000');
  });
});
