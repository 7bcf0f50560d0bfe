import { chinaOffsetMs, type BucketCount } from '../db/console-queries.js';

/** One bar segment, in SVG user units. */
export interface BarSegment {
  x: number;
  y: number;
  width: number;
  height: number;
  series: string;
  colour: string;
  /** What a pointer over it says (the SVG <title>). */
  label: string;
}

/** A stacked bar chart, laid out on the server: the template draws it as SVG, no script involved. */
export interface BarChart {
  width: number;
  height: number;
  /** The plot's bottom edge (the axis). */
  baseline: number;
  segments: BarSegment[];
  /** Labels under some bars. */
  ticks: { x: number; label: string }[];
  max: number;
  legend: { series: string; colour: string }[];
  /** The same numbers as a table, for screen readers and for copying. */
  rows: { label: string; counts: number[]; total: number }[];
  series: string[];
}

/** Colours that stay apart for people with the common colour-vision deficiencies (Okabe–Ito). */
const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

const width = 720;
const height = 220;
const margin = { left: 36, right: 8, top: 8, bottom: 28 };

/**
 * Lays out counts per bucket (`buckets` bucket starts, oldest first, every
 * one shown even when empty) as stacked bars, one series per colour.
 * `labelOf` names a bucket under its bar; every `tickEvery`-th is named.
 */
export function stackedBars(counts: BucketCount[], buckets: number[], labelOf: (bucketMs: number) => string, tickEvery: number): BarChart {
  const series = [...new Set(counts.map((count) => count.series))].sort();
  const colourOf = new Map(series.map((name, index) => [name, palette[index % palette.length]]));
  const table = buckets.map((bucket) => series.map((name) => counts.filter((count) => count.bucketMs === bucket && count.series === name).reduce((sum, count) => sum + count.count, 0)));
  const totals = table.map((row) => row.reduce((sum, count) => sum + count, 0));
  const max = Math.max(1, ...totals);
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const slot = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.8);
  const baseline = margin.top + plotHeight;
  const segments: BarSegment[] = [];
  buckets.forEach((bucket, index) => {
    let top = baseline;
    series.forEach((name, seriesIndex) => {
      const count = table[index][seriesIndex];
      if (count === 0) return;
      const barHeight = (count / max) * plotHeight;
      top -= barHeight;
      segments.push({
        x: round(margin.left + index * slot + (slot - barWidth) / 2),
        y: round(top),
        width: round(barWidth),
        height: round(barHeight),
        series: name,
        colour: colourOf.get(name)!,
        label: `${labelOf(bucket)} · ${name}: ${count}`,
      });
    });
  });
  return {
    width,
    height,
    baseline,
    segments,
    ticks: buckets.flatMap((bucket, index) => (index % tickEvery === 0 ? [{ x: round(margin.left + index * slot + slot / 2), label: labelOf(bucket) }] : [])),
    max,
    legend: series.map((name) => ({ series: name, colour: colourOf.get(name)! })),
    rows: buckets.map((bucket, index) => ({ label: labelOf(bucket), counts: table[index], total: totals[index] })),
    series,
  };
}

/** The starts of the `count` buckets of `sizeMs` (beginning at midnight China time) that end with the one holding `nowMs`. */
export function lastBuckets(nowMs: number, sizeMs: number, count: number): number[] {
  const current = Math.floor((nowMs + chinaOffsetMs) / sizeMs) * sizeMs - chinaOffsetMs;
  return Array.from({ length: count }, (_, index) => current - (count - 1 - index) * sizeMs);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
