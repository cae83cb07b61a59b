import { z } from 'zod';
import { builtinExperiments } from '@axiom/experiments';

interface ParamDoc {
  name: string;
  default: unknown;
  description?: string;
}

function paramDocs(schema: z.ZodType): ParamDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { default?: unknown; description?: string }>;
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({ name, default: property.default, description: property.description }));
}

/**
 * Every built-in experiment's declaration as JSON: name, version, description, parameters with their
 * defaults (the real sweep), presets, headline metrics with their tolerances, and bench workload. The
 * bench's PyTorch counterparts read their parameters from it.
 */
export function experimentCatalogue() {
  return [...builtinExperiments.values()].map((experiment) => ({
    name: experiment.name,
    version: experiment.version,
    description: experiment.description,
    params: paramDocs(experiment.params),
    presets: experiment.presets,
    headline: experiment.headline ?? [],
    bench: experiment.bench,
  }));
}

/** `axiom list`: every built-in experiment, its one-line description, parameters with defaults, and presets. */
export function listCommand(options: { json?: boolean }): string {
  const experiments = experimentCatalogue();
  if (options.json) return JSON.stringify(experiments, null, 2);
  return experiments
    .map((e) =>
      [
        `${e.name} (v${e.version})`,
        `  ${e.description}`,
        '  parameters (defaults are the real sweep):',
        ...e.params.map((p) => `    ${p.name} = ${JSON.stringify(p.default)}${p.description ? `  — ${p.description}` : ''}`),
        `  presets: ${Object.keys(e.presets).join(', ')}`,
      ].join('\n'),
    )
    .join('\n\n');
}
