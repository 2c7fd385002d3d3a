import Table from 'cli-table3';
import type { ModelPrices } from '../config/models.js';

export interface ModelRow {
  id: string;
  maxOutputTokens: number;
  deprecated: boolean;
  prices: ModelPrices;
  /** `project`: the project config's `models` changed at least one of its prices. */
  source: 'shipped' | 'project';
}

export interface ModelTable {
  /** Where the shipped prices come from, and when they were read. */
  source: { pages: readonly string[]; readOn: string; batchDiscount: number };
  /** The project config whose `models` prices were merged over the shipped ones, if any. */
  overriddenBy: string | undefined;
  models: ModelRow[];
}

const usd = (n: number) => `$${Number(n.toFixed(4))}`;

/** The model table as the terminal shows it, with where its prices come from. */
export function formatModels(table: ModelTable): string {
  const out = new Table({
    head: ['model', 'max output', 'input', 'output', 'cache hits', '5m writes', '1h writes', 'notes'],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const m of table.models) {
    const notes = [
      ...(m.prices.tiers ?? []).map(
        (tier) =>
          `prompts over ${tier.abovePromptTokens.toLocaleString('en-US')} tokens: ${usd(tier.prices.inputPerMTok)} / ${usd(tier.prices.outputPerMTok)}, hits ${usd(tier.prices.cacheReadPerMTok)}, writes ${usd(tier.prices.cacheWritePerMTok)} / ${usd(tier.prices.cacheWrite1hPerMTok)}`,
      ),
      ...(m.deprecated ? ['retired or retiring'] : []),
      ...(m.source === 'project' ? ['price from the project config'] : []),
    ];
    const p = m.prices;
    out.push([
      m.id,
      m.maxOutputTokens.toLocaleString('en-US'),
      usd(p.inputPerMTok),
      usd(p.outputPerMTok),
      usd(p.cacheReadPerMTok),
      usd(p.cacheWritePerMTok),
      usd(p.cacheWrite1hPerMTok),
      notes.join('; '),
    ]);
  }
  const lines = [
    'USD per million tokens.',
    out.toString(),
    `Shipped prices read ${table.source.readOn} from ${table.source.pages.join(' and ')}; the Batch API takes ${table.source.batchDiscount * 100}% off input and output (not used by agentperf yet).`,
  ];
  if (table.overriddenBy) lines.push(`Merged over them: the "models" prices in ${table.overriddenBy}.`);
  return lines.join('\n');
}
