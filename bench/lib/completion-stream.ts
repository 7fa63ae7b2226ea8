/**
 * One streamed /v1/completions request as the LLM benchmarks send it, to Forja or to llama-server:
 * the text, the final usage, and the time to the first event that carries text.
 */
import http from 'node:http';

export interface StreamedCompletion {
  ttftMs: number;
  text: string;
  promptTokens: number;
  completionTokens: number;
  /** -1 when the server does not report it. */
  cachedTokens: number;
}

interface CompletionEvent {
  choices?: Array<{ text?: string }>;
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } };
}

export function streamCompletion(agent: http.Agent, base: string, request: Record<string, unknown>, retried = false): Promise<StreamedCompletion> {
  const body = JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } });
  const url = new URL(`${base}/v1/completions`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let answer = '';
        res.on('data', (c: string) => { answer += c; });
        res.on('end', () => reject(new Error(`HTTP ${res.statusCode} from ${base}: ${answer.slice(0, 300)}`)));
        return;
      }
      const result: StreamedCompletion = { ttftMs: -1, text: '', promptTokens: 0, completionTokens: 0, cachedTokens: -1 };
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
          const event = JSON.parse(line.slice(6)) as CompletionEvent;
          const piece = event.choices?.[0]?.text ?? '';
          if (piece && result.ttftMs < 0) result.ttftMs = performance.now() - started;
          result.text += piece;
          if (event.usage) {
            result.promptTokens = event.usage.prompt_tokens;
            result.completionTokens = event.usage.completion_tokens;
            result.cachedTokens = event.usage.prompt_tokens_details?.cached_tokens ?? -1;
          }
        }
      });
      res.on('end', () => resolve(result));
    });
    // A keep-alive socket the server closed while idle fails on reuse before any answer: send again once.
    req.on('error', (err) => {
      if (req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' && !retried) resolve(streamCompletion(agent, base, request, true));
      else reject(err);
    });
    req.end(body);
  });
}
