/** The standard training workloads of the performance issue: SGD on an MLP, synthetic data. */
export interface Workload {
  name: string;
  inputDim: number;
  hidden: number[];
  outputDim: number;
  batchSize: number;
}

export const workloads: Workload[] = [
  { name: 'W1', inputDim: 20, hidden: [32], outputDim: 5, batchSize: 32 },
  { name: 'W2', inputDim: 32, hidden: [128, 128], outputDim: 10, batchSize: 64 },
  { name: 'W3', inputDim: 64, hidden: [512, 512], outputDim: 10, batchSize: 256 },
];

/** Forward (2·fan_in·fan_out per layer) plus backward (twice that): FLOPs for one training sample. */
export function trainingFlopsPerSample(workload: Workload): number {
  const widths = [workload.inputDim, ...workload.hidden, workload.outputDim];
  let flops = 0;
  for (let i = 0; i + 1 < widths.length; i++) flops += 6 * widths[i]! * widths[i + 1]!;
  return flops;
}
