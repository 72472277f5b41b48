import type { Metrics } from './api';
import { svg } from './dom';
import { clockTime } from './format';

const WIDTH = 480;
const HEIGHT = 120;
const PAD = { top: 8, right: 8, bottom: 20, left: 32 };

/** Completed and failed per minute as paired bars, each with its numbers on hover. */
export const throughputChart = (throughput: Metrics['throughput']): SVGElement => {
  const max = Math.max(1, ...throughput.flatMap((m) => [m.completed, m.failed]));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / Math.max(1, throughput.length);
  const bar = Math.max(1, slot / 2 - 1);
  const y = (n: number) => PAD.top + plotHeight - (n / max) * plotHeight;
  const total = throughput.reduce((sum, m) => ({ completed: sum.completed + m.completed, failed: sum.failed + m.failed }), {
    completed: 0,
    failed: 0,
  });
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'chart',
    role: 'img',
    'aria-label': `Completed and failed jobs per minute, last ${throughput.length} minutes: ${total.completed} completed, ${total.failed} failed`,
  });
  chart.append(
    svg('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0), class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: y(max) + 4, 'text-anchor': 'end', class: 'label' }, String(max)),
    svg('text', { x: PAD.left - 4, y: y(0), 'text-anchor': 'end', class: 'label' }, '0'),
  );
  throughput.forEach((minute, i) => {
    const x = PAD.left + i * slot;
    const group = svg('g', {}, svg('title', {}, `${clockTime(minute.minute)}: ${minute.completed} completed, ${minute.failed} failed`));
    // a full-height hit area, so a minute with no jobs still tells its numbers on hover
    group.append(svg('rect', { x, y: PAD.top, width: slot, height: plotHeight, class: 'hit' }));
    group.append(svg('rect', { x: x + 1, y: y(minute.completed), width: bar, height: y(0) - y(minute.completed), class: 'completed' }));
    group.append(svg('rect', { x: x + 1 + bar, y: y(minute.failed), width: bar, height: y(0) - y(minute.failed), class: 'failed' }));
    chart.append(group);
  });
  const first = throughput[0];
  const last = throughput[throughput.length - 1];
  if (first && last) {
    chart.append(
      svg('text', { x: PAD.left, y: HEIGHT - 4, class: 'label' }, clockTime(first.minute)),
      svg('text', { x: WIDTH - PAD.right, y: HEIGHT - 4, 'text-anchor': 'end', class: 'label' }, clockTime(last.minute)),
    );
  }
  return chart;
};
