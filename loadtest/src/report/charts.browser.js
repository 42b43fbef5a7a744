// Draws the report's charts as inline SVG from the JSON in #report-data. Plain browser JavaScript, inlined
// into the page by render-report.ts, so that the report is one file that fetches nothing.
(() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const WIDTH = 960;
  const HEIGHT = 260;
  const MARGIN = { top: 14, right: 18, bottom: 34, left: 64 };
  const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
  const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
  const PALETTE = ['#d62728', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  const COLOURS = { 'requests/s': '#1f77b4', p50: '#2ca02c', p95: '#ff7f0e', p99: '#d62728' };

  const data = JSON.parse(document.getElementById('report-data').textContent);
  const times = data.times;

  function svgElement(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    parent.appendChild(element);
    return element;
  }

  // The smallest 1, 2 or 5 × 10^k at or above the largest value, so that the axis has round ticks.
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function formatValue(value) {
    if (value >= 1000) return `${Math.round(value).toLocaleString('en')}`;
    if (value >= 10) return `${Math.round(value)}`;
    return `${Math.round(value * 10) / 10}`;
  }

  // UTC wall-clock time, as CloudWatch shows it by default, so that the charts line up with the alarms; a
  // rehearsal's report counts minutes of AWS time from the start of its load instead.
  const elapsed = data.timeAxis === 'elapsed';
  function clock(ms) {
    if (!elapsed) return new Date(ms).toISOString().slice(11, 19);
    const seconds = Math.round(ms / 1000);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }
  const ZONE = elapsed ? '' : ' UTC';

  /** Axes, grid and labels; returns the scales. Periods are evenly spaced, one band each. */
  function frame(svg, yMax, unit) {
    const band = PLOT_W / Math.max(times.length, 1);
    const x = (index) => MARGIN.left + band * (index + 0.5);
    const y = (value) => MARGIN.top + PLOT_H - (value / yMax) * PLOT_H;
    const grid = svgElement('g', { class: 'grid' }, svg);
    // 2 × 10^k splits into quarters, 1 and 5 × 10^k into fifths: every tick is a round number.
    const leadingDigit = Math.round(yMax / 10 ** Math.floor(Math.log10(yMax)));
    const ticks = leadingDigit === 2 ? 4 : 5;
    for (let tick = 0; tick <= ticks; tick++) {
      const value = (yMax * tick) / ticks;
      svgElement('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }, grid);
      const label = svgElement('text', { x: MARGIN.left - 8, y: y(value) + 4, 'text-anchor': 'end' }, grid);
      label.textContent = formatValue(value);
    }
    const unitLabel = svgElement(
      'text',
      {
        x: 14,
        y: MARGIN.top + PLOT_H / 2,
        transform: `rotate(-90 14 ${MARGIN.top + PLOT_H / 2})`,
        'text-anchor': 'middle',
      },
      grid,
    );
    unitLabel.textContent = unit;
    const every = Math.max(1, Math.ceil(times.length / 8));
    times.forEach((time, index) => {
      if (index % every !== 0) return;
      const label = svgElement('text', { x: x(index), y: HEIGHT - 10, 'text-anchor': 'middle' }, grid);
      label.textContent = clock(time);
    });
    svgElement(
      'line',
      { class: 'axis', x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + PLOT_H },
      svg,
    );
    svgElement(
      'line',
      {
        class: 'axis',
        x1: MARGIN.left,
        x2: WIDTH - MARGIN.right,
        y1: MARGIN.top + PLOT_H,
        y2: MARGIN.top + PLOT_H,
      },
      svg,
    );
    return { x, y, band };
  }

  function newChart(id) {
    const figure = document.getElementById(id);
    const svg = svgElement('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img' }, figure);
    svg.setAttribute('aria-label', figure.querySelector('figcaption').textContent);
    return { figure, svg };
  }

  function legend(figure, entries) {
    const list = document.createElement('ul');
    list.className = 'legend';
    for (const { name, colour } of entries) {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.style.background = colour;
      item.append(swatch, name);
      list.appendChild(item);
    }
    figure.appendChild(list);
  }

  function tooltip(element, index, name, value, unit) {
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${clock(times[index])}${ZONE} · ${name}: ${formatValue(value)} ${unit}`;
    element.appendChild(title);
  }

  /** One path per series (broken where a period had no value) and a dot with a tooltip per point. */
  function lineChart(id, series, unit) {
    const { figure, svg } = newChart(id);
    const values = series.flatMap((s) => s.values.filter((v) => v !== null));
    const { x, y } = frame(svg, niceMax(Math.max(0, ...values)), unit);
    let points = 0;
    const colourOf = (name, index) => COLOURS[name] ?? PALETTE[index % PALETTE.length];
    for (const [seriesIndex, { name, values: seriesValues, dashed }] of series.entries()) {
      const colour = colourOf(name, seriesIndex);
      let d = '';
      let pen = 'M';
      seriesValues.forEach((value, index) => {
        if (value === null) {
          pen = 'M';
          return;
        }
        d += `${pen}${x(index).toFixed(1)},${y(value).toFixed(1)} `;
        pen = 'L';
        points++;
        const dot = svgElement(
          'circle',
          { class: 'point', cx: x(index), cy: y(value), r: 2.5, fill: colour },
          svg,
        );
        tooltip(dot, index, name, value, unit);
      });
      const path = svgElement(
        'path',
        { class: 'series', d: d.trim(), stroke: colour, 'data-series': name },
        svg,
      );
      if (dashed) path.setAttribute('stroke-dasharray', '6 4');
    }
    legend(
      figure,
      series.map((s, index) => ({ name: s.name, colour: colourOf(s.name, index) })),
    );
    figure.dataset.drawn = String(points);
  }

  /** Stacked bars per period, one colour per error; says so plainly when there was no error at all. */
  function stackedBarChart(id, series, unit) {
    const { figure, svg } = newChart(id);
    const totals = times.map((_, index) => series.reduce((sum, s) => sum + (s.values[index] ?? 0), 0));
    const { x, y, band } = frame(svg, niceMax(Math.max(0, ...totals)), unit);
    let bars = 0;
    times.forEach((_, index) => {
      let base = 0;
      series.forEach(({ name, values }, seriesIndex) => {
        const value = values[index] ?? 0;
        if (value <= 0) return;
        const width = Math.max(1, band * 0.7);
        const rect = svgElement(
          'rect',
          {
            class: 'bar',
            x: x(index) - width / 2,
            y: y(base + value),
            width,
            height: y(base) - y(base + value),
            fill: PALETTE[seriesIndex % PALETTE.length],
          },
          svg,
        );
        tooltip(rect, index, name, value, unit);
        base += value;
        bars++;
      });
    });
    if (series.length === 0) {
      const note = svgElement(
        'text',
        { class: 'empty', x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle' },
        svg,
      );
      note.textContent = 'no errors';
    }
    legend(
      figure,
      series.map((s, i) => ({ name: s.name, colour: PALETTE[i % PALETTE.length] })),
    );
    figure.dataset.drawn = String(bars);
  }

  /** A vertical mark per event at its period, with the event as tooltip (a rehearsal's timeline). */
  function eventChart(id, events) {
    const { figure, svg } = newChart(id);
    const { x } = frame(svg, 1, '');
    let marks = 0;
    const period = data.periodSeconds * 1000;
    for (const e of events) {
      const index = Math.min(
        times.length - 1,
        Math.max(0, Math.floor((e.t * 1000 - (times[0] ?? 0)) / period)),
      );
      const colour = EVENT_COLOURS[e.kind] ?? '#7f7f7f';
      const mark = svgElement(
        'line',
        {
          class: 'event',
          x1: x(index),
          x2: x(index),
          y1: MARGIN.top,
          y2: MARGIN.top + PLOT_H,
          stroke: colour,
        },
        svg,
      );
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${clock(e.t * 1000)} · ${e.kind}${e.instance ? ` ${e.instance}` : ''}: ${e.text}`;
      mark.appendChild(title);
      marks++;
    }
    legend(
      figure,
      Object.entries(EVENT_COLOURS).map(([name, colour]) => ({ name, colour })),
    );
    figure.dataset.drawn = String(marks);
  }
  const EVENT_COLOURS = {
    alarm: '#d62728',
    policy: '#ff7f0e',
    desired: '#9467bd',
    launch: '#1f77b4',
    signal: '#17becf',
    target: '#2ca02c',
    terminate: '#8c564b',
    drained: '#e377c2',
    terminated: '#7f7f7f',
    fault: '#000000',
    update: '#bcbd22',
  };

  lineChart('chart-throughput', data.requestsPerSecond, 'requests/s');
  lineChart('chart-latency', data.latencyMs, 'ms');
  stackedBarChart('chart-errors', data.errorsByCode, `per ${data.periodSeconds} s`);
  if (data.rehearsal) {
    lineChart('chart-cpu', data.rehearsal.cpu, '% CPU');
    lineChart('chart-alarms', data.rehearsal.alarms, '1 = ALARM');
    lineChart('chart-capacity', data.rehearsal.capacity, 'instances');
    eventChart('chart-events', data.rehearsal.events);
  }
  document.body.dataset.chartsDrawn = 'true';
})();
