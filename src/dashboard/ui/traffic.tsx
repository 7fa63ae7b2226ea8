/**
 * The traffic panel: per model, the streaming sessions open now and the requests over each protocol
 * (REST, gRPC, WebSocket stream messages, and OpenAI and Ollama when a GGUF model is served).
 */
import type { ModelRow, TrafficRow } from '../snapshot-types.js';
import { rate } from './format.js';

/** The request metrics' `protocol` label values, in column order, with the names people know them by. */
const PROTOCOLS = [
  { label: 'v2', name: 'REST' },
  { label: 'grpc', name: 'gRPC' },
  { label: 'websocket', name: 'WebSocket' },
  { label: 'openai', name: 'OpenAI' },
  { label: 'ollama', name: 'Ollama' },
];

/** Columns of the language-model APIs, shown once a GGUF model is served or they have traffic. */
const LLM_PROTOCOLS = new Set(['openai', 'ollama']);

export function TrafficTable({ traffic, models }: { traffic: TrafficRow[]; models: ModelRow[] }) {
  if (traffic.length === 0) return null;
  const columns = PROTOCOLS.filter((p) => !LLM_PROTOCOLS.has(p.label) || models.some((m) => m.kind === 'llm') || traffic.some((t) => t.protocols[p.label]));
  const sessions = traffic.reduce((n, t) => n + t.sessions, 0);
  return (
    <>
      <p class="muted" id="sessions-total">{sessions === 1 ? '1 streaming session open' : `${sessions} streaming sessions open`}</p>
      <table class="traffic" id="traffic-table">
        <thead>
          <tr>
            <th>model</th><th class="num">streaming sessions</th>
            {columns.map((p) => <th key={p.label} class="num" title={`requests (protocol="${p.label}"), and per second`}>{p.name}</th>)}
          </tr>
        </thead>
        <tbody>
          {traffic.map((t) => (
            <tr key={t.model} data-model={t.model}>
              <td class="name">{t.model}</td>
              <td class="num" data-field="sessions">{t.sessions}</td>
              {columns.map((p) => {
                const figures = t.protocols[p.label];
                return (
                  <td key={p.label} class="num" data-protocol={p.label}>
                    {figures?.requests ?? 0}
                    {figures && figures.requestsPerSec > 0 ? <span class="muted"> ({rate(figures.requestsPerSec)}/s)</span> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
