// The run's files: run.json read and written, and the reports rendered into place. The
// renderers in report/ only format; the reading and writing is here.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readJsonFile } from '../config/read.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic.js';
import { renderRunMarkdown, type RunFiles } from '../report/run-report.js';
import { renderRunHtml, type UplotAssets } from '../report/run-html.js';
import type { CacheCounts } from '../pipeline/cache-timeline.js';
import { RUN_SCHEMA, type RunRecord } from '../pipeline/record.js';

let assets: Promise<UplotAssets> | undefined;

/** uPlot's script and stylesheet, inlined into every report so that it opens with no network. */
function uplotAssets(): Promise<UplotAssets> {
  const require = createRequire(import.meta.url);
  assets ??= Promise.all([
    readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  ]).then(([js, css]) => ({ js, css }));
  return assets;
}

export type { RunFiles };

/** Writes run.json (unless re-rendering from it), report.html and report.md into `dir`, each atomically. */
export async function writeRunReports(run: RunRecord, dir: string, { json = true } = {}): Promise<RunFiles> {
  const files = { dir, json: join(dir, 'run.json'), html: join(dir, 'report.html'), markdown: join(dir, 'report.md') };
  if (json) await writeFileAtomic(files.json, `${JSON.stringify(run, null, 2)}\n`);
  await writeFileAtomic(files.html, renderRunHtml(run, await uplotAssets()));
  await writeFileAtomic(files.markdown, renderRunMarkdown(run));
  return files;
}

/** Reads a run.json back (for `agentperf report`), refusing anything that is not one. */
export async function readRunRecord(file: string): Promise<RunRecord> {
  const record = upgradeV3((await readJsonFile(file, 'run record', ErrorCode.RUN_RECORD)) as Partial<RunRecord> | null);
  if (!record || typeof record !== 'object' || record.schema !== RUN_SCHEMA) {
    throw new ValidationError(
      ErrorCode.RUN_RECORD,
      'schema',
      `${file}: schema must be "${RUN_SCHEMA}" (a run.json written by agentperf run), got ${JSON.stringify((record as { schema?: unknown } | null)?.schema ?? null)}`,
    );
  }
  for (const field of ['series', 'distribution', 'load', 'phases', 'hdr', 'cache', 'profile', 'leak', 'overhead', 'gate', 'warnings'] as const) {
    if (record[field] === undefined) throw new ValidationError(ErrorCode.RUN_RECORD, field, `${file}: ${field} is missing; the record is incomplete`);
  }
  return record as RunRecord;
}

/**
 * A v3 record (before the cache's hits and HDR gets were kept per tier) read as v4: its memory
 * and disk hit counts become hits by tier, and its one disk histogram the `disk` tier's (when
 * the disk was read at all). Nothing else changed between the two.
 */
function upgradeV3(record: Partial<RunRecord> | null): Partial<RunRecord> | null {
  if ((record as { schema?: unknown } | null)?.schema !== 'agentperf.run/v3' || !record!.hdr) return record;
  const { cacheGetDisk, ...hdr } = record!.hdr as RunRecord['hdr'] & { cacheGetDisk?: RunRecord['hdr']['cacheGetMemory'] };
  const byTier = (counts: CacheCounts & { memoryHits?: number; diskHits?: number }): CacheCounts => {
    const { memoryHits = 0, diskHits = 0, ...rest } = counts;
    return { ...rest, hits: diskHits ? { memory: memoryHits, disk: diskHits } : { memory: memoryHits } };
  };
  return {
    ...record,
    schema: RUN_SCHEMA,
    hdr: { ...hdr, cacheGetTiers: cacheGetDisk?.count ? { disk: cacheGetDisk } : {} },
    series: record!.series?.map((point) => ({ ...point, cache: byTier(point.cache) })),
    cache: record!.cache && { ...record!.cache, totals: byTier(record!.cache.totals) },
  };
}
