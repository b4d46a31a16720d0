/**
 * The audio arithmetic of "Talk to it" (docs/TELEPHONY.md, "Talk to it"), kept apart from the
 * Web Audio and WebSocket plumbing so it can be tested: the microphone's float samples become
 * 16-bit PCM at the rate the server asked for, the bot's 16-bit PCM becomes floats to play, and
 * a playout clock says when queued audio will have been heard (to acknowledge `mark`s).
 */

/**
 * Streams float samples in [-1, 1] at `fromRate` into 16-bit PCM at `toRate` (`toRate` ≤
 * `fromRate`). Each output sample is the mean of the input samples since the previous one — a
 * box filter that also keeps most aliasing out of speech — with the rate ratio carried across
 * buffers, so any buffer size gives the same stream.
 */
export class Downsampler {
  private phase = 0;
  private sum = 0;
  private count = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    if (!(toRate > 0 && fromRate >= toRate)) {
      throw new Error(`cannot downsample ${fromRate} Hz to ${toRate} Hz`);
    }
  }

  push(input: Float32Array): Int16Array {
    const out = new Int16Array(Math.ceil(((input.length + this.count + 1) * this.toRate) / this.fromRate));
    let n = 0;
    for (const sample of input) {
      this.sum += sample;
      this.count += 1;
      this.phase += this.toRate;
      if (this.phase >= this.fromRate) {
        this.phase -= this.fromRate;
        out[n++] = toInt16(this.sum / this.count);
        this.sum = 0;
        this.count = 0;
      }
    }
    return out.slice(0, n);
  }
}

/** A float sample in [-1, 1] as a 16-bit integer (clamped). */
export function toInt16(sample: number): number {
  const clamped = Math.max(-1, Math.min(1, sample));
  return Math.round(clamped < 0 ? clamped * 32768 : clamped * 32767);
}

/** 16-bit little-endian PCM bytes (the server's audio messages) as floats in [-1, 1). */
export function pcm16ToFloat(bytes: ArrayBuffer): Float32Array {
  const view = new DataView(bytes);
  const out = new Float32Array(Math.floor(bytes.byteLength / 2));
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

/**
 * When queued audio plays: pieces are scheduled back to back, never in the past. `now` is the
 * audio clock in seconds (an AudioContext's `currentTime`).
 */
export class PlayoutClock {
  private end = 0;

  /** Queues `seconds` of audio at `now`; returns when it starts. */
  enqueue(now: number, seconds: number): number {
    const start = Math.max(now, this.end);
    this.end = start + seconds;
    return start;
  }

  /** Milliseconds from `now` until everything queued has played (0 when nothing is queued). */
  msUntilPlayed(now: number): number {
    return Math.max(0, Math.round((this.end - now) * 1000));
  }

  /** Barge-in: forget what was queued. */
  clear(now: number): void {
    this.end = now;
  }
}

/** A message the server sends as text on the talk socket. */
export type TalkMessage =
  | { type: 'call'; call_id: number }
  | { type: 'transcript'; role: 'caller' | 'bot'; text: string; language: string }
  | { type: 'mark'; name: string }
  | { type: 'clear' }
  | { type: 'ended'; call_id: number | null; outcome: string };

/** Reads one text message; `null` for anything not in the protocol (ignored by the page). */
export function parseTalkMessage(text: string): TalkMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || !('type' in value)) return null;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'call':
      return typeof m.call_id === 'number' ? { type: 'call', call_id: m.call_id } : null;
    case 'transcript':
      return (m.role === 'caller' || m.role === 'bot') && typeof m.text === 'string'
        ? { type: 'transcript', role: m.role, text: m.text, language: typeof m.language === 'string' ? m.language : '' }
        : null;
    case 'mark':
      return typeof m.name === 'string' ? { type: 'mark', name: m.name } : null;
    case 'clear':
      return { type: 'clear' };
    case 'ended':
      return {
        type: 'ended',
        call_id: typeof m.call_id === 'number' ? m.call_id : null,
        outcome: typeof m.outcome === 'string' ? m.outcome : '',
      };
    default:
      return null;
  }
}

/** The socket URL for a ticket's `socket_path`, on the page's own host (wss behind https). */
export function socketUrl(socketPath: string, page: Location | URL, rate: number): string {
  const url = new URL(socketPath, page.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('rate', String(rate));
  return url.toString();
}
