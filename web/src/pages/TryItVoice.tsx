/**
 * "Call the bot": the owner talks to their bot with the browser's microphone and speaker,
 * through the same call pipeline a phone call uses (docs/TELEPHONY.md, "Talk to it").
 *
 * The page trades the admin's login for a single-use ticket (`POST /api/talk/tickets`, the
 * generated client), opens the WebSocket the ticket names, sends the microphone as 16 kHz
 * 16-bit PCM, plays the bot's 8 kHz PCM back to back, acknowledges each `mark` once the audio
 * before it has played, drops queued audio on `clear` (the owner interrupted), and shows the
 * transcript lines as the call log stores them — as text, never as HTML.
 */
import { useContext, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { postApiTalkTickets } from '../api/generated/client';
import { Badge, Button, ErrorText } from '../components/ui';
import { LanguageContext } from '../lib/i18n';
import { Downsampler, PlayoutClock, parseTalkMessage, pcm16ToFloat, socketUrl } from '../lib/talkAudio';

/** The microphone rate this page sends (one of the ticket's `input_sample_rates`). */
const SEND_RATE = 16000;

const labels = {
  call: { en: 'Call the bot', hi: 'बॉट को कॉल करें' },
  hangUp: { en: 'Hang up', hi: 'कॉल काटें' },
  connecting: { en: 'Connecting…', hi: 'जुड़ रहा है…' },
  live: { en: 'On the call — speak now', hi: 'कॉल पर — अब बोलिए' },
  ended: { en: 'Call ended', hi: 'कॉल खत्म' },
  voice: { en: 'Talk to it (microphone)', hi: 'बोलकर आज़माएँ (माइक)' },
  openCall: { en: 'Open this call', hi: 'यह कॉल देखें' },
  noRecogniser: {
    en: 'This server has no speech recogniser: the bot will only say it cannot understand.',
    hi: 'इस सर्वर पर आवाज़ पहचानने की सुविधा नहीं है: बॉट केवल कहेगा कि वह समझ नहीं पाया।',
  },
} as const;

type Status = 'idle' | 'connecting' | 'live' | 'ended';

interface Line {
  who: 'caller' | 'bot';
  text: string;
}

/** Everything one call holds open; closed together. */
interface Call {
  socket: WebSocket;
  context: AudioContext;
  media: MediaStream;
  sources: Set<AudioBufferSourceNode>;
  marks: Set<ReturnType<typeof setTimeout>>;
}

function stop(call: Call | null) {
  if (!call) return;
  call.marks.forEach(clearTimeout);
  call.sources.forEach((s) => s.stop());
  call.media.getTracks().forEach((t) => t.stop());
  if (call.socket.readyState <= WebSocket.OPEN) call.socket.close(1000, 'page closed the call');
  void call.context.close().catch(() => {});
}

export function TryItVoice({ business }: { business: string }) {
  const language = useContext(LanguageContext);
  const t = (key: keyof typeof labels) => labels[key][language];
  const [status, setStatus] = useState<Status>('idle');
  const [lines, setLines] = useState<Line[]>([]);
  const [callId, setCallId] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [warning, setWarning] = useState<string | null>(null);
  const call = useRef<Call | null>(null);

  // Leaving the page (or switching business) ends the call.
  useEffect(() => () => stop(call.current), [business]);

  const start = async () => {
    setError(null);
    setWarning(null);
    setLines([]);
    setCallId(null);
    setStatus('connecting');
    try {
      const ticket = await postApiTalkTickets({ business_id: business });
      if (ticket.recogniser === 'none') setWarning(t('noRecogniser'));
      const media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
      // Ask for the sending rate; a browser that cannot will run at its own, downsampled here.
      let context: AudioContext;
      try {
        context = new AudioContext({ sampleRate: SEND_RATE });
      } catch {
        context = new AudioContext();
      }
      const socket = new WebSocket(socketUrl(ticket.socket_path, window.location, SEND_RATE));
      socket.binaryType = 'arraybuffer';
      const current: Call = { socket, context, media, sources: new Set(), marks: new Set() };
      call.current = current;
      const clock = new PlayoutClock();

      socket.onopen = () => {
        const microphone = context.createMediaStreamSource(media);
        // ScriptProcessor is deprecated but everywhere; 1024 frames is 64 ms at 16 kHz.
        const processor = context.createScriptProcessor(1024, 1, 1);
        const down = new Downsampler(context.sampleRate, SEND_RATE);
        processor.onaudioprocess = (event) => {
          const pcm = down.push(event.inputBuffer.getChannelData(0));
          if (socket.readyState === WebSocket.OPEN && pcm.length > 0) socket.send(pcm.buffer);
        };
        microphone.connect(processor);
        // A ScriptProcessor runs only when connected onwards; its output is silence.
        processor.connect(context.destination);
        setStatus('live');
      };
      socket.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
        if (event.data instanceof ArrayBuffer) {
          const samples = pcm16ToFloat(event.data);
          if (samples.length === 0) return;
          const buffer = context.createBuffer(1, samples.length, 8000);
          buffer.copyToChannel(samples, 0);
          const source = context.createBufferSource();
          source.buffer = buffer;
          source.connect(context.destination);
          source.start(clock.enqueue(context.currentTime, buffer.duration));
          current.sources.add(source);
          source.onended = () => current.sources.delete(source);
          return;
        }
        const message = parseTalkMessage(event.data);
        if (!message) return;
        switch (message.type) {
          case 'call':
            setCallId(message.call_id);
            break;
          case 'transcript':
            setLines((l) => [...l, { who: message.role, text: message.text }]);
            break;
          case 'mark': {
            const timer = setTimeout(() => {
              current.marks.delete(timer);
              if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'played', name: message.name }));
            }, clock.msUntilPlayed(context.currentTime));
            current.marks.add(timer);
            break;
          }
          case 'clear':
            current.sources.forEach((s) => s.stop());
            current.sources.clear();
            current.marks.forEach(clearTimeout);
            current.marks.clear();
            clock.clear(context.currentTime);
            break;
          case 'ended':
            if (message.call_id !== null) setCallId(message.call_id);
            break;
        }
      };
      socket.onclose = (event) => {
        // Let the last words finish before the microphone and speaker close.
        const rest = clock.msUntilPlayed(context.currentTime);
        setTimeout(() => stop(current), rest);
        if (call.current === current) call.current = null;
        setStatus('ended');
        if (event.code !== 1000) setError(new Error(`the call ended: ${event.reason || `WebSocket closed with code ${event.code}`}`));
      };
    } catch (e) {
      stop(call.current);
      call.current = null;
      setError(e);
      setStatus('idle');
    }
  };

  const hangUp = () => {
    const socket = call.current?.socket;
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'hangup' }));
  };

  const onCall = status === 'connecting' || status === 'live';
  return (
    <section className="mt-4 border-t border-slate-200 pt-3" aria-label={t('voice')}>
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h3 className="text-sm font-semibold">{t('voice')}</h3>
        {onCall ? (
          <Button tone="danger" onClick={hangUp} disabled={status !== 'live'}>
            {t('hangUp')}
          </Button>
        ) : (
          <Button onClick={start} disabled={!business}>
            {t('call')}
          </Button>
        )}
        {status !== 'idle' && (
          <span role="status" data-testid="voice-status">
            <Badge tone={status === 'live' ? 'green' : 'slate'}>{t(status)}</Badge>
          </span>
        )}
        {callId !== null && status === 'ended' && (
          <Link className="text-sm text-brand-700 underline" to={`/calls/${callId}`} data-testid="voice-call-link">
            {t('openCall')}
          </Link>
        )}
      </div>
      {warning && <p className="mb-2 text-sm text-amber-700">{warning}</p>}
      <ErrorText error={error} />
      <ol className="flex flex-col gap-2" aria-label="Call transcript" data-testid="voice-transcript">
        {lines.map((line, i) => (
          <li key={i} className={`flex ${line.who === 'caller' ? 'justify-end' : 'justify-start'}`} data-who={line.who}>
            <p className={`max-w-[85%] whitespace-pre-wrap break-words rounded-lg p-2 text-sm ${line.who === 'caller' ? 'bg-slate-100' : 'bg-brand-50'}`}>{line.text}</p>
          </li>
        ))}
      </ol>
    </section>
  );
}
