import { modelFlops } from '../wrapper/dist/project/cost-model.js';
import { builtinExperiments } from '@axiom/experiments';
for (const [name, e] of builtinExperiments) console.log(name.padEnd(28), (modelFlops(name, undefined, undefined) / 1e9).toFixed(1), 'GFLOP default;', (e.work.flopsPerSecond / 1e9).toFixed(2), 'declared GFLOP/s');
