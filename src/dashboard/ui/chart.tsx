/**
 * A small live line chart: uPlot drawn into a div the component owns. The component keeps the last
 * `points` samples per series and hands uPlot the arrays on each new snapshot.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series { label: string; stroke: string }

export interface ChartProps {
  title: string;
  series: Series[];
  /** x: seconds since epoch; ys: one array per series, same length as x. */
  data: [number[], ...Array<Array<number | null>>];
  height?: number;
}

export function Chart({ title, series, data, height = 140 }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current!;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth || 400),
      height,
      legend: { show: false }, // the caption names the series; a hover-less legend would only show "--"
      cursor: { show: false },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, points: { show: false } }))],
      axes: [{ stroke: '#8a94a6', grid: { stroke: '#e8ebf0' } }, { stroke: '#8a94a6', grid: { stroke: '#e8ebf0' }, size: 50 }],
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const resize = () => plot.current?.setSize({ width: Math.max(240, el.clientWidth || 400), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is built once per set of series; new data goes through setData below.
  }, [series.map((s) => s.label).join('|')]);

  useEffect(() => { plot.current?.setData(data as uPlot.AlignedData); }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={host} class="chart-host" />
    </figure>
  );
}
