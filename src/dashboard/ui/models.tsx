/** The models panel: one row per model version with its state, device, memory and live figures. */
import type { ModelRow } from '../snapshot-types.js';
import { bytes, deviceClass, millis, rate } from './format.js';

export function ModelsTable({ models }: { models: ModelRow[] }) {
  if (models.length === 0) return <p class="empty">No models in the repository.</p>;
  return (
    <table class="models" id="models-table">
      <thead>
        <tr>
          <th>model</th><th>version</th><th>state</th><th>device</th><th class="num">memory</th><th class="num">in flight</th>
          <th class="num">requests</th><th class="num">req/s</th><th class="num">p50</th><th class="num">p95</th>
          <th class="num">batch</th><th class="num">tokens/s</th>
        </tr>
      </thead>
      <tbody>
        {models.map((m) => (
          <tr key={`${m.name}/${m.version}`} data-model={m.name} data-version={m.version}>
            <td class="name">{m.name}<span class="kind">{m.kind}</span></td>
            <td>{m.version}</td>
            <td><span class={`state state-${m.state.toLowerCase()}`} title={m.reason ?? ''}>{m.state}</span></td>
            <td>{deviceClass(m.device)}</td>
            <td class="num">{m.memoryBytes ? bytes(m.memoryBytes) : '—'}</td>
            <td class="num">{m.inFlight}</td>
            <td class="num" data-field="requests">{m.requests}{m.errors ? <span class="errors"> ({m.errors} failed)</span> : null}</td>
            <td class="num" data-field="rps">{rate(m.requestsPerSec)}</td>
            <td class="num">{millis(m.p50Ms)}</td>
            <td class="num">{millis(m.p95Ms)}</td>
            <td class="num">{rate(m.batchSize)}</td>
            <td class="num">{m.kind === 'llm' ? rate(m.tokensPerSec) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
