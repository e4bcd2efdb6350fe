import { dailySvg, precisionRecallSvg } from '../../../src/offline/charts';

describe('charts', () => {
  it('draws one precision–recall line per series, escaping names', () => {
    const svg = precisionRecallSvg('PR <test>', [
      { name: 'rules & co', points: [{ threshold: 0.9, precision: 1, recall: 0.5 }, { threshold: 0.1, precision: 0.5, recall: 1 }] },
      { name: 'model', points: [{ threshold: 0.8, precision: 1, recall: 1 }] },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('PR &lt;test&gt;');
    expect(svg).toContain('rules &amp; co');
    // Recall 0.5 at precision 1 sits half-way across the plot (x 60..550) at its top (y 40); precision 0.5 is half-way down (y 40..390).
    expect(svg).toContain('M305.0,40.0 L550.0,215.0');
  });

  it('draws daily values with a dot per day and dated ticks', () => {
    const day = Date.parse('2026-02-20T00:00:00Z') / 86_400_000;
    const svg = dailySvg('CP@100', 'CP@100', [{ name: 'model', points: [{ day, value: 0.2 }, { day: day + 1, value: 0.4 }] }]);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('>02-20<');
    expect(svg).toContain('>02-21<');
  });
});
