import { z } from 'zod';
import { builtinExperiments } from '@axiom/experiments';
import { AxiomError } from '@axiom/runner/host';

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

/**
 * `axiom list`: one line per built-in experiment, its name and description (wrapped under the name's
 * column on a narrow terminal); `axiom list NAME`: that experiment's parameters with their defaults, and
 * its presets.
 */
export function listCommand(name: string | undefined, options: { json?: boolean }): string {
  const catalogue = experimentCatalogue();
  const experiments = name === undefined ? catalogue : catalogue.filter((e) => e.name === name);
  if (name !== undefined && experiments.length === 0) {
    throw new AxiomError('unknownExperiment', `no built-in experiment "${name}" (axiom list shows them)`);
  }
  if (options.json) return JSON.stringify(experiments, null, 2);
  if (name === undefined) {
    const column = Math.max(...experiments.map((e) => e.name.length)) + 2;
    return [
      ...experiments.map((e) => `${e.name.padEnd(column)}${wrapped(e.description, 0, column).trimStart()}`),
      '',
      wrapped("`axiom list NAME` shows an experiment's parameters and presets; `axiom run NAME --preset smoke` runs it in seconds.", 0),
    ].join('\n');
  }
  return experiments
    .map((e) =>
      [
        wrapped(`${e.name} (v${e.version})`, 0),
        wrapped(e.description, 2),
        '  parameters (defaults are the real sweep):',
        ...e.params.flatMap((p) => [wrapped(`${p.name} = ${JSON.stringify(p.default)}`, 4, 8), ...(p.description ? [wrapped(p.description, 8)] : [])]),
        wrapped(`presets: ${Object.keys(e.presets).join(', ')}`, 2),
      ].join('\n'),
    )
    .join('\n\n');
}

/** The width `axiom list` fits: an 80-column terminal. */
export const LIST_COLUMNS = 80;

/**
 * Text wrapped at spaces to LIST_COLUMNS, its first line indented by `indent`, the rest by `hanging`. (By
 * hand: wrap-ansi would be a second copy under packages/cli/node_modules, outside the sandbox's code root.)
 */
function wrapped(text: string, indent: number, hanging = indent): string {
  const width = LIST_COLUMNS - Math.max(indent, hanging);
  const lines: string[] = [];
  for (const word of text.split(/\s+/)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(...(word.match(new RegExp(`.{1,${width}}`, 'g')) ?? ['']));
  }
  return lines.map((line, i) => ' '.repeat(i === 0 ? indent : hanging) + line).join('\n');
}
