// Small inline SVG charts (no chart library, no CDN): a bar sparkline of
// hourly buckets, built with the DOM so no markup is parsed.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Bars for `values` (oldest first), labelled for screen readers. */
export function bars(values, label, { width = 240, height = 48 } = {}) {
  const n = Math.max(values.length, 1);
  const max = Math.max(1, ...values);
  const w = width / n;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    class: 'chart',
    'aria-label': `${label}: ${values.join(', ')} (last ${values.length} hours, oldest first)`,
  });
  chart.append(svg('title', {}, `${label}, per hour`));
  chart.append(svg('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }));
  values.forEach((v, i) => {
    const bh = v === 0 ? 0 : Math.max(1.5, (v / max) * (height - 4));
    const bar = svg('rect', { x: i * w + 1, y: height - bh, width: Math.max(1, w - 2), height: bh, class: 'bar' });
    bar.append(svg('title', {}, `${v}`));
    chart.append(bar);
  });
  return chart;
}
