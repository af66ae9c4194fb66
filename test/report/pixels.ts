// What a screenshot of a chart shows: how many pixels carry ink (not the white background) and how many
// are coloured (bars, lines: not the greys and blacks of axes and text). A chart that rendered nothing, or
// only its axes, has no coloured pixels.
import { PNG } from 'pngjs';

export interface Ink {
  width: number;
  height: number;
  /** Share of pixels darker than near-white. */
  ink: number;
  /** Pixels whose channels differ by more than 60 (a colour, not a grey). */
  colored: number;
}

export function inkOf(png: Buffer): Ink {
  const img = PNG.sync.read(png);
  let ink = 0;
  let colored = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    const r = img.data[i]!;
    const g = img.data[i + 1]!;
    const b = img.data[i + 2]!;
    if (Math.min(r, g, b) < 235) ink++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
  }
  const n = img.width * img.height;
  return { width: img.width, height: img.height, ink: n ? ink / n : 0, colored };
}

/** Why a chart's screenshot is not a drawn chart, or null when it is. */
export function chartProblem(i: Ink, minColored = 40): string | null {
  if (i.width < 100 || i.height < 80) return `too small (${i.width} x ${i.height} px)`;
  if (i.ink < 0.01) return `empty (${(i.ink * 100).toFixed(2)}% of pixels drawn)`;
  if (i.colored < minColored) return `no marks drawn (${i.colored} coloured pixels)`;
  return null;
}
