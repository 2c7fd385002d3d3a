import { Command } from 'commander';
import { currentProject } from '../config/project.js';
import { BATCH_DISCOUNT, MODELS, PRICE_SOURCES, PRICES_READ_ON, type ModelPrices } from '../config/models.js';
import { formatModels, type ModelRow, type ModelTable } from '../report/models.js';
import { print } from './options.js';

/** `agentperf models`: the model table in use, the shipped prices with the project's `models` merged over them. */
export async function run(): Promise<ModelTable> {
  const project = await currentProject();
  const overrides = project.config.models ?? {};
  const models = [...MODELS.values()].map((model): ModelRow => {
    const override = overrides[model.id];
    const prices: ModelPrices = { ...model.prices, ...override };
    return { id: model.id, maxOutputTokens: model.maxOutputTokens, deprecated: model.deprecated ?? false, prices, source: override ? 'project' : 'shipped' };
  });
  return {
    source: { pages: PRICE_SOURCES, readOn: PRICES_READ_ON, batchDiscount: BATCH_DISCOUNT },
    overriddenBy: Object.keys(overrides).length > 0 ? project.configFile : undefined,
    models,
  };
}

/** The flags as commander parses them (its action's options are untyped). */
interface ModelsFlags {
  json?: boolean;
}

export const command = new Command('models')
  .description("print the model table in use: output limits and prices (USD per million tokens), the project's `models` merged over the shipped ones")
  .option('--json', 'print the table as JSON')
  .action(async (opts: ModelsFlags) => {
    const table = await run();
    print(opts.json ? JSON.stringify(table, null, 2) : formatModels(table));
  });
