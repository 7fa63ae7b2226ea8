/** The machine panel: this process's CPU and memory, the host's load, and GPUs when there are any. */
import type { MachineSection } from '../snapshot-types.js';
import { bytes, percent } from './format.js';

export function MachinePanel({ machine }: { machine: MachineSection }) {
  return (
    <div class="machine" id="machine">
      <dl class="facts">
        <div><dt>host</dt><dd>{machine.hostname}</dd></div>
        <div><dt>process CPU</dt><dd data-field="cpu">{percent(machine.processCpuPercent)}</dd></div>
        <div><dt>RSS</dt><dd data-field="rss">{bytes(machine.rssBytes)}</dd></div>
        <div><dt>heap used</dt><dd>{bytes(machine.heapUsedBytes)}</dd></div>
        <div><dt>load (1/5/15 m)</dt><dd>{machine.loadavg.map((l) => l.toFixed(2)).join(' / ')} on {machine.cpus} CPUs</dd></div>
        <div><dt>memory free</dt><dd>{bytes(machine.freeMemBytes)} of {bytes(machine.totalMemBytes)}</dd></div>
      </dl>
      {machine.gpus.length === 0 ? <p class="muted">No GPU found.</p> : (
        <table class="gpus">
          <thead><tr><th>GPU</th><th class="num">utilization</th><th class="num">memory</th></tr></thead>
          <tbody>
            {machine.gpus.map((g, i) => (
              <tr key={i}><td>{g.name}</td><td class="num">{percent(g.utilizationPercent)}</td><td class="num">{bytes(g.memoryUsedBytes)} / {bytes(g.memoryTotalBytes)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
